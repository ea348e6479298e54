//! Everything a forward pass needs besides the input: the weights on the device, the float
//! precision, how BatchNorm behaves, and the ReLU-mask tape that makes GraSP's
//! finite-difference Hessian products exact.

use std::cell::{Cell, RefCell};

use burn::tensor::{DType, Device, Gradients, Tensor, TensorCreationOptions, TensorData};
use serde::{Deserialize, Serialize};

use super::params::{HostParams, ParamId, ParamKind, ParamRegistry, TensorRef};

/// Float precision of a scoring run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    F64,
}

impl Precision {
    pub fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::F64 => DType::F64,
        }
    }

    /// Unit round-off of the precision, used to tell signal from round-off.
    pub fn epsilon(self) -> f64 {
        match self {
            Self::F32 => f64::from(f32::EPSILON),
            Self::F64 => f64::EPSILON,
        }
    }
}

/// How BatchNorm layers normalise during scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BnMode {
    /// Batch statistics (biased variance over N x H x W), as `model.train()`: the official setting.
    Train,
    /// Running statistics, as `model.eval()`.
    Eval,
    /// BatchNorm removed (identity), as the zero-cost-proxy library's SynFlow does.
    None,
}

/// Creates a tensor of the given precision from f64 host values (exact for f32-born values).
pub fn tensor_from<const D: usize>(
    values: Vec<f64>,
    shape: [usize; D],
    precision: Precision,
    device: &Device,
) -> Tensor<D> {
    let options = TensorCreationOptions::new(device.clone()).with_dtype(precision.dtype());
    Tensor::from_data(TensorData::new(values, shape), options)
}

/// Reads a tensor back to the host as f64.
pub fn to_host<const D: usize>(tensor: Tensor<D>) -> Vec<f64> {
    tensor
        .into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .expect("a converted tensor holds f64 values")
}

/// One registered tensor on the device, kept at its natural rank so the forward pass never
/// reshapes weights.
#[derive(Clone, Debug)]
enum DeviceTensor {
    R1(Tensor<1>),
    R2(Tensor<2>),
    R4(Tensor<4>),
}

/// The device copy of a network's tensors.
#[derive(Clone, Debug)]
pub struct DeviceParams {
    tensors: Vec<Option<DeviceTensor>>,
    fused: Vec<DeviceTensor>,
}

fn device_tensor(
    values: Vec<f64>,
    s: &[usize],
    precision: Precision,
    device: &Device,
) -> DeviceTensor {
    match s.len() {
        1 => DeviceTensor::R1(tensor_from(values, [s[0]], precision, device)),
        2 => DeviceTensor::R2(tensor_from(values, [s[0], s[1]], precision, device)),
        4 => DeviceTensor::R4(tensor_from(
            values,
            [s[0], s[1], s[2], s[3]],
            precision,
            device,
        )),
        rank => unreachable!("registered tensors have rank 1, 2 or 4, not {rank}"),
    }
}

impl DeviceParams {
    /// Uploads every numeric tensor; `transform` is applied to each host value on the way (the
    /// identity, or `f64::abs` for SynFlow's linearisation).
    pub fn upload(
        registry: &ParamRegistry,
        host: &HostParams,
        precision: Precision,
        device: &Device,
        transform: impl Fn(f64) -> f64,
    ) -> Self {
        let tensors = registry
            .specs()
            .iter()
            .enumerate()
            .zip(&host.values)
            .map(|((i, spec), values)| {
                let direct = spec.kind.is_numeric()
                    && !registry.is_fused_only(crate::nn::params::ParamId(i));
                direct.then(|| {
                    let values = values.iter().map(|&v| transform(v)).collect();
                    device_tensor(values, &spec.shape, precision, device)
                })
            })
            .collect();
        let fused = (0..registry.fusions().len())
            .map(|f| {
                let id = crate::nn::params::FusedId(f);
                // Row-major, so concatenation along dim 0 is appending the members' values.
                let values = registry.fusions()[f]
                    .iter()
                    .flat_map(|m| host.get(*m).iter().map(|&v| transform(v)))
                    .collect();
                device_tensor(values, &registry.fused_shape(id), precision, device)
            })
            .collect();
        Self { tensors, fused }
    }

    /// Tracks the tensors picked by `pick` as autodiff leaves, so their gradients can be read
    /// with [`DeviceParams::grad`] (the whole-network proxies differentiate the weights).
    pub fn require_grad(
        mut self,
        registry: &ParamRegistry,
        pick: impl Fn(ParamKind) -> bool,
    ) -> Self {
        for (slot, spec) in self.tensors.iter_mut().zip(registry.specs()) {
            if !pick(spec.kind) {
                continue;
            }
            *slot = slot.take().map(|t| match t {
                DeviceTensor::R1(t) => DeviceTensor::R1(t.require_grad()),
                DeviceTensor::R2(t) => DeviceTensor::R2(t.require_grad()),
                DeviceTensor::R4(t) => DeviceTensor::R4(t.require_grad()),
            });
        }
        self
    }

    /// Gradient of a tracked tensor as host values (None if it was not tracked or did not
    /// influence the objective).
    pub fn grad(&self, id: ParamId, grads: &Gradients) -> Option<Vec<f64>> {
        match self.tensors[id.0].as_ref()? {
            DeviceTensor::R1(t) => t.grad(grads).map(to_host),
            DeviceTensor::R2(t) => t.grad(grads).map(to_host),
            DeviceTensor::R4(t) => t.grad(grads).map(to_host),
        }
    }

    fn get(&self, r: TensorRef) -> &DeviceTensor {
        match r {
            TensorRef::Param(id) => self.tensors[id.0]
                .as_ref()
                .unwrap_or_else(|| unreachable!("parameter {id:?} is only read fused")),
            TensorRef::Fused(id) => &self.fused[id.0],
        }
    }

    pub fn r1(&self, id: impl Into<TensorRef>) -> Tensor<1> {
        let id = id.into();
        match self.get(id) {
            DeviceTensor::R1(t) => t.clone(),
            other => unreachable!("parameter {id:?} is not rank 1: {other:?}"),
        }
    }

    pub fn r2(&self, id: impl Into<TensorRef>) -> Tensor<2> {
        let id = id.into();
        match self.get(id) {
            DeviceTensor::R2(t) => t.clone(),
            other => unreachable!("parameter {id:?} is not rank 2: {other:?}"),
        }
    }

    pub fn r4(&self, id: impl Into<TensorRef>) -> Tensor<4> {
        let id = id.into();
        match self.get(id) {
            DeviceTensor::R4(t) => t.clone(),
            other => unreachable!("parameter {id:?} is not rank 4: {other:?}"),
        }
    }
}

/// What ReLUs do with their on/off pattern.
enum ReluTape {
    /// Plain ReLU.
    Off,
    /// Plain ReLU, and keep each mask (x > 0) in call order.
    Record(Vec<Tensor<4>>),
    /// Multiply by the recorded masks instead: the network becomes smooth in alpha around the
    /// recorded point, exactly what PyTorch's double backward differentiates.
    Replay { masks: Vec<Tensor<4>>, next: usize },
}

/// State of one forward pass.
pub struct Forward<'a> {
    pub params: &'a DeviceParams,
    pub bn: BnMode,
    relu: RefCell<ReluTape>,
    macs: Cell<u64>,
    /// Layer outputs and the zero leaves added to them (see [`Forward::probe`]), when enabled.
    probes: RefCell<Option<Vec<Probe>>>,
}

/// A conv or linear output and the tracked zero tensor added to it: the gradient of the leaf
/// is the gradient of the output, which burn does not expose for inner nodes.
pub struct Probe {
    pub output: Tensor<4>,
    pub leaf: Tensor<4>,
    /// The bias included in `output`, if the layer has one.
    pub bias: Option<Tensor<1>>,
}

impl<'a> Forward<'a> {
    pub fn new(params: &'a DeviceParams, bn: BnMode) -> Self {
        Self {
            params,
            bn,
            relu: RefCell::new(ReluTape::Off),
            macs: Cell::new(0),
            probes: RefCell::new(None),
        }
    }

    /// A pass that records every ReLU mask; take them with [`Forward::into_masks`].
    pub fn recording(params: &'a DeviceParams, bn: BnMode) -> Self {
        Self {
            params,
            bn,
            relu: RefCell::new(ReluTape::Record(Vec::new())),
            macs: Cell::new(0),
            probes: RefCell::new(None),
        }
    }

    /// A pass whose ReLUs apply the given masks, in the order they were recorded.
    pub fn replaying(params: &'a DeviceParams, bn: BnMode, masks: Vec<Tensor<4>>) -> Self {
        Self {
            params,
            bn,
            relu: RefCell::new(ReluTape::Replay { masks, next: 0 }),
            macs: Cell::new(0),
            probes: RefCell::new(None),
        }
    }

    /// Also probe every conv and linear output (for Fisher); take them with
    /// [`Forward::take_probes`].
    pub fn with_probes(self) -> Self {
        *self.probes.borrow_mut() = Some(Vec::new());
        self
    }

    /// Adds a tracked zero leaf to a layer output (which includes `bias`, if any) when
    /// probing is on.
    pub fn probe(&self, y: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
        match self.probes.borrow_mut().as_mut() {
            None => y,
            Some(probes) => {
                let leaf = y.zeros_like().detach().require_grad();
                probes.push(Probe {
                    output: y.clone().detach(),
                    leaf: leaf.clone(),
                    bias: bias.map(Tensor::detach),
                });
                y + leaf
            }
        }
    }

    pub fn is_probing(&self) -> bool {
        self.probes.borrow().is_some()
    }

    pub fn take_probes(&self) -> Vec<Probe> {
        self.probes.borrow_mut().take().unwrap_or_default()
    }

    /// Records multiply-adds done by a layer (convolutions and linear layers count).
    pub fn add_macs(&self, macs: u64) {
        self.macs.set(self.macs.get() + macs);
    }

    /// Multiply-adds of this pass so far.
    pub fn macs(&self) -> u64 {
        self.macs.get()
    }

    pub fn into_masks(self) -> Vec<Tensor<4>> {
        match self.relu.into_inner() {
            ReluTape::Record(masks) | ReluTape::Replay { masks, .. } => masks,
            ReluTape::Off => Vec::new(),
        }
    }

    /// ReLU, subject to the mask tape.
    pub fn relu(&self, x: Tensor<4>) -> Tensor<4> {
        let mut tape = self.relu.borrow_mut();
        match &mut *tape {
            ReluTape::Off => burn::tensor::activation::relu(x),
            ReluTape::Record(masks) => {
                let dtype = x.dtype();
                let mask = x.clone().detach().greater_elem(0.0).float().cast(dtype);
                masks.push(mask.clone());
                x * mask
            }
            ReluTape::Replay { masks, next } => {
                let mask = masks
                    .get(*next)
                    .expect("replayed forward pass must have the recorded structure")
                    .clone();
                *next += 1;
                x * mask
            }
        }
    }
}
