//! The network's numbers as burn `Param`s in a `Module`, kept on the device between passes.
//!
//! Tensors that the forward pass only reads concatenated (a fusion: the convolutions of all
//! edges leaving one node) are stored concatenated, as one `Param`; every registered name maps
//! to a contiguous range of one stored tensor, so loading, saving and counting still go by
//! PyTorch name while no pass has to concatenate anything. burn's optimisers update a stored
//! tensor element-wise, which is the same as updating its members one by one.

use std::sync::Arc;

use burn::module::{Module, Param, ParamId as BurnParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

use super::ctx::{Precision, tensor_from, to_host};
use super::params::{FusedId, HostParams, ParamId, ParamKind, ParamRegistry, TensorRef};

/// Where a registered tensor lives: `len` values from `offset` of stored tensor `storage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    pub storage: usize,
    pub offset: usize,
    pub len: usize,
}

/// One stored tensor: a registered tensor, or the concatenation of a fusion's members.
#[derive(Clone, Debug)]
pub struct Storage {
    pub shape: Vec<usize>,
    /// The members' kind (a fusion joins tensors of one kind).
    pub kind: ParamKind,
    pub members: Vec<ParamId>,
}

/// How registered tensors map onto stored tensors; computed once from the registry.
#[derive(Clone, Debug)]
pub struct Layout {
    pub storages: Vec<Storage>,
    /// Per registered tensor; `None` for `num_batches_tracked`, which is not stored.
    slots: Vec<Option<Slot>>,
    /// Stored tensor of each fusion.
    fusions: Vec<usize>,
}

impl Layout {
    /// Stored tensors in order of their first member, so the store follows construction order.
    pub fn new(registry: &ParamRegistry) -> Self {
        let specs = registry.specs();
        let mut fusion_of = vec![None; specs.len()];
        for (f, members) in registry.fusions().iter().enumerate() {
            for m in members {
                fusion_of[m.0] = Some(f);
            }
        }
        let mut storages = Vec::new();
        let mut slots = vec![None; specs.len()];
        let mut fusions = vec![usize::MAX; registry.fusions().len()];
        for (i, spec) in specs.iter().enumerate() {
            if !spec.kind.is_numeric() || slots[i].is_some() {
                continue;
            }
            let storage = storages.len();
            let (members, shape) = match fusion_of[i] {
                Some(f) => {
                    fusions[f] = storage;
                    (
                        registry.fusions()[f].clone(),
                        registry.fused_shape(FusedId(f)),
                    )
                }
                None => (vec![ParamId(i)], spec.shape.clone()),
            };
            let mut offset = 0;
            for m in &members {
                let len = registry.spec(*m).numel();
                slots[m.0] = Some(Slot {
                    storage,
                    offset,
                    len,
                });
                offset += len;
            }
            storages.push(Storage {
                shape,
                kind: spec.kind,
                members,
            });
        }
        Self {
            storages,
            slots,
            fusions,
        }
    }

    pub fn slot(&self, id: ParamId) -> Option<Slot> {
        self.slots[id.0]
    }

    /// The stored tensor a layer reads through `r`.
    pub fn storage_of(&self, r: TensorRef) -> usize {
        match r {
            TensorRef::Param(id) => {
                let slot = self.slots[id.0].expect("a layer reads only stored tensors");
                debug_assert_eq!(self.storages[slot.storage].members.len(), 1);
                slot.storage
            }
            TensorRef::Fused(f) => self.fusions[f.0],
        }
    }
}

/// A stored tensor at its natural rank (the layers never reshape weights).
#[derive(Clone, Debug)]
pub enum DeviceTensor {
    R1(Tensor<1>),
    R2(Tensor<2>),
    R4(Tensor<4>),
}

impl DeviceTensor {
    pub fn from_values(
        values: Vec<f64>,
        shape: &[usize],
        dtype: Precision,
        device: &Device,
    ) -> Self {
        match *shape {
            [a] => Self::R1(tensor_from(values, [a], dtype, device)),
            [a, b] => Self::R2(tensor_from(values, [a, b], dtype, device)),
            [a, b, c, d] => Self::R4(tensor_from(values, [a, b, c, d], dtype, device)),
            _ => unreachable!("stored tensors have rank 1, 2 or 4, not {}", shape.len()),
        }
    }

    /// Row-major values as one rank-1 tensor.
    pub fn flatten(&self) -> Tensor<1> {
        match self {
            Self::R1(t) => t.clone(),
            Self::R2(t) => t.clone().flatten(0, 1),
            Self::R4(t) => t.clone().flatten(0, 3),
        }
    }

    pub fn r1(self) -> Tensor<1> {
        match self {
            Self::R1(t) => t,
            other => unreachable!("not rank 1: {other:?}"),
        }
    }
    pub fn r2(self) -> Tensor<2> {
        match self {
            Self::R2(t) => t,
            other => unreachable!("not rank 2: {other:?}"),
        }
    }
    pub fn r4(self) -> Tensor<4> {
        match self {
            Self::R4(t) => t,
            other => unreachable!("not rank 4: {other:?}"),
        }
    }

    /// Element-wise `f` on the burn tensor, whatever the rank.
    pub fn apply(self, f: impl TensorFn) -> Self {
        match self {
            Self::R1(t) => Self::R1(f.call(t)),
            Self::R2(t) => Self::R2(f.call(t)),
            Self::R4(t) => Self::R4(f.call(t)),
        }
    }
}

/// A shape-preserving tensor operation usable at every rank.
pub trait TensorFn {
    fn call<const D: usize>(&self, t: Tensor<D>) -> Tensor<D>;
}

/// Every stored tensor as a burn `Param` (so burn's optimisers and records can train and save
/// them), with the map from PyTorch names to stored ranges.
#[derive(Module, Debug)]
pub struct ParamStore {
    r1: Vec<Param<Tensor<1>>>,
    r2: Vec<Param<Tensor<2>>>,
    r4: Vec<Param<Tensor<4>>>,
    /// Per stored tensor: its rank and index in the vector of that rank.
    #[module(skip)]
    index: Vec<(usize, usize)>,
    #[module(skip)]
    layout: Arc<Layout>,
    #[module(skip)]
    dtype: Precision,
}

impl ParamStore {
    /// Uploads host values once. Float32 storage unless a value needs float64 (every value
    /// drawn here or read from a float32 file is exact in float32).
    pub fn new(registry: &ParamRegistry, host: &HostParams, device: &Device) -> Self {
        Self::new_in(registry, host, device, None)
    }

    /// Uploads host values once, stored in `dtype`; `None` picks as [`ParamStore::new`] does.
    /// A given `dtype` must hold every value exactly (float64 always does).
    pub fn new_in(
        registry: &ParamRegistry,
        host: &HostParams,
        device: &Device,
        dtype: Option<Precision>,
    ) -> Self {
        let layout = Arc::new(Layout::new(registry));
        let dtype = dtype.unwrap_or_else(|| {
            let exact_f32 = host
                .values
                .iter()
                .flatten()
                .all(|&v| f64::from(v as f32) == v || v.is_nan());
            if exact_f32 {
                Precision::F32
            } else {
                Precision::F64
            }
        });
        let (mut r1, mut r2, mut r4, mut index) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for storage in &layout.storages {
            // Row-major, so concatenation along dim 0 is appending the members' values.
            let values: Vec<f64> = storage
                .members
                .iter()
                .flat_map(|m| host.get(*m).iter().copied())
                .collect();
            match DeviceTensor::from_values(values, &storage.shape, dtype, device) {
                DeviceTensor::R1(t) => {
                    index.push((1, r1.len()));
                    r1.push(Param::initialized(BurnParamId::new(), t));
                }
                DeviceTensor::R2(t) => {
                    index.push((2, r2.len()));
                    r2.push(Param::initialized(BurnParamId::new(), t));
                }
                DeviceTensor::R4(t) => {
                    index.push((4, r4.len()));
                    r4.push(Param::initialized(BurnParamId::new(), t));
                }
            }
        }
        Self {
            r1,
            r2,
            r4,
            index,
            layout,
            dtype,
        }
    }

    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Float precision the values are stored in.
    pub fn dtype(&self) -> Precision {
        self.dtype
    }

    /// Stored tensor `s`, detached from any autodiff graph.
    pub fn get(&self, s: usize) -> DeviceTensor {
        let (rank, i) = self.index[s];
        match rank {
            1 => DeviceTensor::R1(self.r1[i].val().detach()),
            2 => DeviceTensor::R2(self.r2[i].val().detach()),
            _ => DeviceTensor::R4(self.r4[i].val().detach()),
        }
    }

    /// The burn parameter id of stored tensor `s` (to hand gradients to a burn optimiser).
    pub fn param_id(&self, s: usize) -> BurnParamId {
        let (rank, i) = self.index[s];
        match rank {
            1 => self.r1[i].id,
            2 => self.r2[i].id,
            _ => self.r4[i].id,
        }
    }

    /// Replaces stored tensor `s` (same shape), keeping its parameter id.
    pub fn set(&mut self, s: usize, value: DeviceTensor) {
        let (rank, i) = self.index[s];
        match (rank, value) {
            (1, DeviceTensor::R1(t)) => self.r1[i] = Param::initialized(self.r1[i].id, t),
            (2, DeviceTensor::R2(t)) => self.r2[i] = Param::initialized(self.r2[i].id, t),
            (4, DeviceTensor::R4(t)) => self.r4[i] = Param::initialized(self.r4[i].id, t),
            (rank, value) => unreachable!("stored tensor {s} has rank {rank}, got {value:?}"),
        }
    }

    /// Every registered tensor back on the host (`num_batches_tracked` as 0).
    pub fn to_host(&self, registry: &ParamRegistry) -> HostParams {
        let stored: Vec<Vec<f64>> = (0..self.layout.storages.len())
            .map(|s| to_host(self.get(s).flatten()))
            .collect();
        let values = registry
            .specs()
            .iter()
            .enumerate()
            .map(|(i, spec)| match self.layout.slot(ParamId(i)) {
                Some(slot) => stored[slot.storage][slot.offset..slot.offset + slot.len].to_vec(),
                None => vec![0.0; spec.numel()],
            })
            .collect();
        HostParams { values }
    }

    /// Gradients of stored tensors (row-major, as a pass returns them) keyed by parameter id,
    /// the form burn's optimisers take: `optimizer.step(lr, store, store.gradients(...))`.
    pub fn gradients(
        &self,
        grads: impl IntoIterator<Item = (usize, Tensor<1>)>,
    ) -> GradientsParams {
        let mut out = GradientsParams::new();
        for (s, g) in grads {
            let shape = self.layout.storages[s].shape.clone();
            let g = g.detach().cast(self.dtype.dtype());
            match shape.len() {
                1 => out.register(self.param_id(s), g.inner()),
                2 => out.register(self.param_id(s), g.reshape([shape[0], shape[1]]).inner()),
                _ => out.register(
                    self.param_id(s),
                    g.reshape([shape[0], shape[1], shape[2], shape[3]]).inner(),
                ),
            }
        }
        out
    }

    /// Writes the running statistics a train-mode pass computed (see
    /// [`super::ctx::Forward::take_bn_updates`]) into the store, in the order they were computed.
    pub fn apply_bn_updates(&mut self, updates: Vec<(TensorRef, Tensor<1>)>) {
        for (r, value) in updates {
            let s = self.layout.storage_of(r);
            let value = value.cast(self.dtype.dtype());
            self.set(s, DeviceTensor::R1(value));
        }
    }
}

/// The [`Precision`] of a float tensor's dtype.
pub fn precision_of(dtype: burn::tensor::DType) -> Precision {
    if dtype == burn::tensor::DType::F64 {
        Precision::F64
    } else {
        Precision::F32
    }
}
