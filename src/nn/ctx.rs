//! Everything a forward pass needs besides the input: the weights on the device, the float
//! precision, how BatchNorm behaves, and the tape of ReLU masks and max-pool winners that
//! makes GraSP's finite-difference Hessian products exact.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use burn::tensor::module::max_pool2d_with_indices;
use burn::tensor::{DType, Device, Gradients, Int, Tensor, TensorCreationOptions, TensorData};
use serde::{Deserialize, Serialize};

use super::params::{ParamKind, TensorRef};
use super::store::{DeviceTensor, Layout, ParamStore, TensorFn};

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

impl BnMode {
    /// The name on the command line and in results.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Eval => "eval",
            Self::None => "none",
        }
    }
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

/// How a pass sees one kind of stored tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Transform {
    Identity,
    /// |x|: SynFlow's linearised network.
    Abs,
    /// x times a constant (Zen-score's unit-variance weights).
    Scale(f64),
}

/// The stored tensors as one pass reads them: cast to the pass precision, transformed, and,
/// for the selected ones, made fresh autodiff leaves (so the backward pass computes exactly the
/// gradients asked for and no others). Building one is cheap: the values stay on the device.
#[derive(Clone, Debug)]
pub struct PassParams {
    tensors: Vec<DeviceTensor>,
    selected: Vec<bool>,
    layout: Arc<Layout>,
}

/// A step added to the selected tensors: `theta + step * direction[s]` (a finite difference).
pub struct Shift<'a> {
    pub step: f64,
    /// One row-major direction per selected stored tensor, indexed by stored tensor.
    pub direction: &'a [Option<Tensor<1>>],
}

struct AddScaled<'a> {
    step: f64,
    direction: &'a Tensor<1>,
}

impl TensorFn for AddScaled<'_> {
    fn call<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        let shape = t.shape();
        t + self.direction.clone().reshape(shape) * self.step
    }
}

struct Cast(Precision);

impl TensorFn for Cast {
    fn call<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        if t.dtype() == self.0.dtype() {
            t
        } else {
            t.cast(self.0.dtype())
        }
    }
}

struct Abs;

impl TensorFn for Abs {
    fn call<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        t.abs()
    }
}

struct Scale(f64);

impl TensorFn for Scale {
    fn call<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        t * self.0
    }
}

struct Leaf;

impl TensorFn for Leaf {
    fn call<const D: usize>(&self, t: Tensor<D>) -> Tensor<D> {
        t.require_grad()
    }
}

impl PassParams {
    /// The view of `store` in `precision`; `transform` says what each kind goes through and
    /// `select` which kinds are differentiated; `shift` moves the selected ones.
    pub fn new(
        store: &ParamStore,
        precision: Precision,
        transform: impl Fn(ParamKind) -> Transform,
        select: impl Fn(ParamKind) -> bool,
        shift: Option<&Shift>,
    ) -> Self {
        let layout = store.layout().clone();
        let mut selected = Vec::with_capacity(layout.storages.len());
        let tensors = layout
            .storages
            .iter()
            .enumerate()
            .map(|(s, storage)| {
                let mut t = store.get(s).apply(Cast(precision));
                match transform(storage.kind) {
                    Transform::Identity => {}
                    Transform::Abs => t = t.apply(Abs),
                    Transform::Scale(k) => t = t.apply(Scale(k)),
                }
                let chosen = select(storage.kind);
                selected.push(chosen);
                if chosen {
                    if let Some(sh) = shift
                        && let Some(direction) = &sh.direction[s]
                    {
                        t = t.apply(AddScaled {
                            step: sh.step,
                            direction,
                        });
                    }
                    t = t.apply(Leaf);
                }
                t
            })
            .collect();
        Self {
            tensors,
            selected,
            layout,
        }
    }

    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Whether stored tensor `s` is differentiated in this pass.
    pub fn is_selected(&self, s: usize) -> bool {
        self.selected[s]
    }

    /// Stored tensor `s` as the pass used it, row-major.
    pub fn value(&self, s: usize) -> Tensor<1> {
        self.tensors[s].flatten().detach()
    }

    /// Gradient of selected tensor `s`, row-major (zeros if it did not reach the objective).
    pub fn grad(&self, s: usize, grads: &Gradients) -> Tensor<1> {
        let t = &self.tensors[s];
        let g = match t {
            DeviceTensor::R1(t) => t.grad(grads),
            DeviceTensor::R2(t) => t.grad(grads).map(|g| g.flatten(0, 1)),
            DeviceTensor::R4(t) => t.grad(grads).map(|g| g.flatten(0, 3)),
        };
        g.unwrap_or_else(|| self.value(s).zeros_like())
    }

    fn get(&self, r: TensorRef) -> &DeviceTensor {
        &self.tensors[self.layout.storage_of(r)]
    }

    pub fn r1(&self, id: impl Into<TensorRef>) -> Tensor<1> {
        self.get(id.into()).clone().r1()
    }

    pub fn r2(&self, id: impl Into<TensorRef>) -> Tensor<2> {
        self.get(id.into()).clone().r2()
    }

    pub fn r4(&self, id: impl Into<TensorRef>) -> Tensor<4> {
        self.get(id.into()).clone().r4()
    }
}

/// The non-smooth choices of one forward pass, in call order: each ReLU's on/off mask and
/// each max-pool's winning positions. Replaying them makes the network smooth around the
/// recorded point, exactly what PyTorch's double backward differentiates.
#[derive(Clone, Debug, Default)]
pub struct Tape {
    /// ReLU masks (x > 0), in the pass's precision.
    pub relu: Vec<Tensor<4>>,
    /// Max-pool winners: per output element, the flat index (h * W + w) of the input element
    /// that won, within its image and channel.
    pub pool: Vec<Tensor<4, Int>>,
}

/// What ReLUs and max-pools do with their choices.
enum ReluTape {
    /// Plain ReLU and max-pool.
    Off,
    /// Plain ReLU and max-pool, and keep each choice in call order.
    Record(Tape),
    /// Apply the recorded choices instead.
    Replay {
        tape: Tape,
        next_relu: usize,
        next_pool: usize,
    },
}

/// State of one forward pass.
pub struct Forward<'a> {
    pub params: &'a PassParams,
    pub bn: BnMode,
    relu: RefCell<ReluTape>,
    macs: Cell<u64>,
    /// Layer outputs and the zero leaves added to them (see [`Forward::probe`]), when enabled.
    probes: RefCell<Option<Vec<Probe>>>,
    /// New BatchNorm running statistics computed by train-mode layers, in call order.
    bn_updates: RefCell<Vec<(TensorRef, Tensor<1>)>>,
    track_bn: bool,
    /// What the feature-statistics measures read (see [`Forward::with_stats`]), when enabled.
    stats: RefCell<Option<Stats>>,
}

/// Statistics of one forward pass that some measures read instead of a gradient.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Per-channel batch variance (biased) of the input of every train-mode BatchNorm, in call
    /// order.
    pub bn_variance: Vec<Tensor<1>>,
    /// The feature map entering global average pooling (the last one, if several).
    pub features: Option<Tensor<4>>,
}

/// A conv or linear output and the tracked zero tensor added to it: the gradient of the leaf
/// is the gradient of the output, which burn does not expose for inner nodes.
pub struct Probe {
    pub output: Tensor<4>,
    pub leaf: Tensor<4>,
    /// The bias included in `output`, if the layer has one.
    pub bias: Option<Tensor<1>>,
    /// Weights per output channel (`c_in / groups * kh * kw`; a linear layer's `d_in`).
    pub fan_in: usize,
}

impl<'a> Forward<'a> {
    pub fn new(params: &'a PassParams, bn: BnMode) -> Self {
        Self {
            params,
            bn,
            relu: RefCell::new(ReluTape::Off),
            macs: Cell::new(0),
            probes: RefCell::new(None),
            bn_updates: RefCell::new(Vec::new()),
            track_bn: false,
            stats: RefCell::new(None),
        }
    }

    /// A pass that records every ReLU mask; take them with [`Forward::into_masks`].
    pub fn recording(params: &'a PassParams, bn: BnMode) -> Self {
        Self {
            params,
            bn,
            relu: RefCell::new(ReluTape::Record(Tape::default())),
            macs: Cell::new(0),
            probes: RefCell::new(None),
            bn_updates: RefCell::new(Vec::new()),
            track_bn: false,
            stats: RefCell::new(None),
        }
    }

    /// A pass whose ReLUs and max-pools apply the given choices, in the order they were
    /// recorded.
    pub fn replaying(params: &'a PassParams, bn: BnMode, tape: Tape) -> Self {
        Self {
            params,
            bn,
            relu: RefCell::new(ReluTape::Replay {
                tape,
                next_relu: 0,
                next_pool: 0,
            }),
            macs: Cell::new(0),
            probes: RefCell::new(None),
            bn_updates: RefCell::new(Vec::new()),
            track_bn: false,
            stats: RefCell::new(None),
        }
    }

    /// Also probe every conv and linear output (for Fisher); take them with
    /// [`Forward::take_probes`].
    pub fn with_probes(self) -> Self {
        *self.probes.borrow_mut() = Some(Vec::new());
        self
    }

    /// Whether layer outputs are probed ([`Forward::probe`]).
    pub fn probing(&self) -> bool {
        self.probes.borrow().is_some()
    }

    /// Adds a tracked zero leaf to a layer output (which includes `bias`, if any) when
    /// probing is on; `fan_in` is the layer's number of weights per output channel.
    pub fn probe(&self, y: Tensor<4>, bias: Option<Tensor<1>>, fan_in: usize) -> Tensor<4> {
        match self.probes.borrow_mut().as_mut() {
            None => y,
            Some(probes) => {
                let leaf = y.zeros_like().detach().require_grad();
                probes.push(Probe {
                    output: y.clone().detach(),
                    leaf: leaf.clone(),
                    bias: bias.map(Tensor::detach),
                    fan_in,
                });
                y + leaf
            }
        }
    }

    /// Also keep the [`Stats`] of the pass; take them with [`Forward::take_stats`].
    pub fn with_stats(self) -> Self {
        *self.stats.borrow_mut() = Some(Stats::default());
        self
    }

    /// Whether the pass keeps [`Stats`].
    pub fn keeps_stats(&self) -> bool {
        self.stats.borrow().is_some()
    }

    /// Records the batch variance a train-mode BatchNorm computed.
    pub fn record_bn_variance(&self, variance: Tensor<1>) {
        if let Some(stats) = self.stats.borrow_mut().as_mut() {
            stats.bn_variance.push(variance.detach());
        }
    }

    pub fn take_stats(&self) -> Stats {
        self.stats.borrow_mut().take().unwrap_or_default()
    }

    /// Global average pooling to [N, C]; the pooled feature map is kept when stats are on.
    pub fn global_avg_pool(&self, x: Tensor<4>) -> Tensor<2> {
        if let Some(stats) = self.stats.borrow_mut().as_mut() {
            stats.features = Some(x.clone().detach());
        }
        super::layers::global_avg_pool(x)
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

    /// Also compute the new BatchNorm running statistics (train mode); take them with
    /// [`Forward::take_bn_updates`].
    pub fn tracking_bn(mut self) -> Self {
        self.track_bn = true;
        self
    }

    pub fn tracks_bn(&self) -> bool {
        self.track_bn
    }

    /// Records the running statistics a train-mode BatchNorm computed.
    pub fn push_bn_update(&self, r: TensorRef, value: Tensor<1>) {
        self.bn_updates.borrow_mut().push((r, value));
    }

    /// The running-statistic updates of this pass, for [`ParamStore::apply_bn_updates`]
    /// (scoring passes leave the store as it is; training applies them).
    pub fn take_bn_updates(&self) -> Vec<(TensorRef, Tensor<1>)> {
        std::mem::take(&mut *self.bn_updates.borrow_mut())
    }

    /// The ReLU masks of a recording (or replaying) pass.
    pub fn into_masks(self) -> Vec<Tensor<4>> {
        self.into_tape().relu
    }

    /// Every choice of a recording (or replaying) pass.
    pub fn into_tape(self) -> Tape {
        match self.relu.into_inner() {
            ReluTape::Record(tape) | ReluTape::Replay { tape, .. } => tape,
            ReluTape::Off => Tape::default(),
        }
    }

    /// Max pooling, square window, PyTorch's -inf padding; subject to the tape like ReLU.
    pub fn max_pool(
        &self,
        x: Tensor<4>,
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Tensor<4> {
        let mut tape = self.relu.borrow_mut();
        match &mut *tape {
            ReluTape::Off => super::layers::max_pool(x, kernel, stride, padding),
            ReluTape::Record(tape) => {
                let options = super::layers::max_pool_options(kernel, stride, padding);
                let (_, winners) = max_pool2d_with_indices(x.clone().detach(), options);
                tape.pool.push(winners);
                super::layers::max_pool(x, kernel, stride, padding)
            }
            ReluTape::Replay {
                tape, next_pool, ..
            } => {
                let winners = tape
                    .pool
                    .get(*next_pool)
                    .expect("replayed forward pass must have the recorded structure")
                    .clone();
                *next_pool += 1;
                let [n, c, h, w] = x.dims();
                let [_, _, ho, wo] = winners.dims();
                x.reshape([n, c, h * w])
                    .gather(2, winners.reshape([n, c, ho * wo]))
                    .reshape([n, c, ho, wo])
            }
        }
    }

    /// Whether ReLUs are plain (no mask tape), so a kernel may apply one inside another
    /// operation ([`crate::nn::layers::ReluConvBn::forward_shared`]).
    pub fn plain_relu(&self) -> bool {
        matches!(*self.relu.borrow(), ReluTape::Off)
    }

    /// ReLU, subject to the mask tape.
    pub fn relu(&self, x: Tensor<4>) -> Tensor<4> {
        let mut tape = self.relu.borrow_mut();
        match &mut *tape {
            ReluTape::Off => burn::tensor::activation::relu(x),
            ReluTape::Record(tape) => {
                let dtype = x.dtype();
                let mask = x.clone().detach().greater_elem(0.0).float().cast(dtype);
                tape.relu.push(mask.clone());
                x * mask
            }
            ReluTape::Replay {
                tape, next_relu, ..
            } => {
                let mask = tape
                    .relu
                    .get(*next_relu)
                    .expect("replayed forward pass must have the recorded structure")
                    .clone();
                *next_relu += 1;
                x * mask
            }
        }
    }
}
