//! The one differentiated pass every measure is built from: run a model forward on an input,
//! take an objective, and differentiate it with respect to a chosen selection of the model's
//! tensors (alpha, the conv/linear weights, or any other kinds), the input, or probed layer
//! outputs.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};

use crate::data::cifar::ImageBatch;
use crate::nn::ctx::{
    BnMode, Forward, PassParams, Precision, Shift, Tape, Transform, tensor_from, to_host,
};
use crate::nn::model::Model;
use crate::nn::params::ParamKind;
use crate::nn::store::ParamStore;

use super::SaliencyError;

/// The input of a pass.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// One all-ones image (SynFlow).
    Ones,
    Batch(&'a ImageBatch),
}

/// The scalar that is differentiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// R = sum of all logits (SynFlow).
    SumLogits,
    /// Mean cross-entropy against the batch labels (SNIP, GraSP, ...).
    CrossEntropy,
}

/// How the pass treats ReLU masks and max-pool winners (see [`Forward`]).
pub enum ReluMasks {
    Plain,
    Record,
    Replay(Tape),
}

/// A reduction over every conv/linear layer of its output a and the gradient da of the
/// objective with respect to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeSum {
    /// Sum over channels of fan_in * 0.5 * mean_n (sum_hw a * da)^2 (Fisher).
    Fisher,
    /// Sum of (a - bias) * da: for a layer linear in its weight W, this equals
    /// sum W * dObjective/dW without computing weight gradients (SynFlow's fast path).
    WeightSaliency,
}

/// Which stored tensors a pass differentiates.
pub type Selection = fn(ParamKind) -> bool;

/// Differentiate alpha only.
pub fn alpha(kind: ParamKind) -> bool {
    kind.is_alpha()
}

/// Differentiate the conv and linear weights only.
pub fn weights(kind: ParamKind) -> bool {
    kind.is_weight()
}

/// Differentiate nothing.
pub fn nothing(_: ParamKind) -> bool {
    false
}

/// What to run and what to keep.
pub struct PassSpec<'a> {
    pub precision: Precision,
    pub bn: BnMode,
    /// What each kind of tensor goes through on its way into the pass.
    pub transform: &'a dyn Fn(ParamKind) -> Transform,
    pub select: Selection,
    pub input: Input<'a>,
    pub objective: Objective,
    /// Keep d objective / d input.
    pub input_grad: bool,
    /// Probe every conv/linear output and reduce (output, gradient) pairs to one number.
    pub probe: Option<ProbeSum>,
    /// Plain ReLUs, or record / replay their masks (Hessian products).
    pub relu: ReluMasks,
}

/// |x| for every kind but alpha: the official DARTS-space SNIP and GraSP notebooks abs every
/// entry of `model.state_dict()`, which holds the weights and BatchNorm tensors but not alpha.
pub fn absolute_state(kind: ParamKind) -> Transform {
    if kind.is_alpha() {
        Transform::Identity
    } else {
        Transform::Abs
    }
}

/// Identity for every kind.
pub fn untouched(_: ParamKind) -> Transform {
    Transform::Identity
}

/// |x| for every kind (SynFlow's linearised network, alpha included).
pub fn absolute(_: ParamKind) -> Transform {
    Transform::Abs
}

/// One differentiated stored tensor.
pub struct Differentiated {
    /// Index of the stored tensor (see [`crate::nn::store::Layout`]).
    pub storage: usize,
    /// Its values as the pass used them, row-major.
    pub value: Tensor<1>,
    /// d objective / d value, row-major (zeros where it does not reach the objective).
    pub grad: Tensor<1>,
}

/// What a pass returns.
pub struct PassResult {
    pub objective: f64,
    /// Logits, row-major [N, classes].
    pub logits: Vec<f64>,
    /// The selected tensors, in store order.
    pub selected: Vec<Differentiated>,
    pub input_grad: Option<Vec<f64>>,
    /// The [`ProbeSum`] asked for.
    pub probe_sum: Option<f64>,
    /// The ReLU masks and max-pool winners of a recording pass.
    pub masks: Tape,
}

/// The SynFlow input: one all-ones image.
pub fn ones_input(shape: [usize; 3], precision: Precision, device: &Device) -> Tensor<4> {
    let [c, h, w] = shape;
    tensor_from(vec![1.0; c * h * w], [1, c, h, w], precision, device)
}

/// Checks a batch against a network's input shape [C, H, W] and class count, and uploads it.
pub fn batch_input(
    expected: [usize; 3],
    classes: usize,
    batch: &ImageBatch,
    precision: Precision,
    device: &Device,
) -> Result<Tensor<4>, SaliencyError> {
    let got = [batch.channels, batch.height, batch.width];
    if got != expected {
        return Err(SaliencyError::InputShape { got, expected });
    }
    if let Some((index, &label)) = batch
        .labels
        .iter()
        .enumerate()
        .find(|&(_, &y)| y < 0 || y as usize >= classes)
    {
        return Err(SaliencyError::Label {
            label,
            index,
            classes,
        });
    }
    let values = batch.images.iter().map(|&v| f64::from(v)).collect();
    Ok(tensor_from(
        values,
        [batch.n, batch.channels, batch.height, batch.width],
        precision,
        device,
    ))
}

/// Uploads `input` for `model`.
pub fn upload_input(
    model: &dyn Model,
    input: Input,
    precision: Precision,
    device: &Device,
) -> Result<Tensor<4>, SaliencyError> {
    match input {
        Input::Ones => Ok(ones_input(model.input_shape(), precision, device)),
        Input::Batch(batch) => batch_input(
            model.input_shape(),
            model.num_classes(),
            batch,
            precision,
            device,
        ),
    }
}

/// The scalar to differentiate, from logits [N, classes].
fn objective_value(
    logits: Tensor<2>,
    objective: Objective,
    input: Input,
    precision: Precision,
    device: &Device,
) -> Result<Tensor<1>, SaliencyError> {
    Ok(match (objective, input) {
        (Objective::SumLogits, _) => logits.sum(),
        (Objective::CrossEntropy, Input::Batch(batch)) => {
            let [n, k] = logits.dims();
            let mut one_hot = vec![0.0; n * k];
            for (i, &y) in batch.labels.iter().enumerate() {
                one_hot[i * k + y as usize] = 1.0;
            }
            let one_hot = tensor_from(one_hot, [n, k], precision, device);
            (log_softmax(logits, 1) * one_hot).sum().neg() / n as f64
        }
        (Objective::CrossEntropy, Input::Ones) => {
            return Err(SaliencyError::NeedsData {
                measure: "cross-entropy",
            });
        }
    })
}

/// Runs forward and backward once; `shift` moves the selected tensors first (finite
/// differences).
pub fn run(
    model: &dyn Model,
    store: &ParamStore,
    spec: PassSpec,
    shift: Option<&Shift>,
    device: &Device,
) -> Result<PassResult, SaliencyError> {
    let params = PassParams::new(store, spec.precision, spec.transform, spec.select, shift);
    let mut x = upload_input(model, spec.input, spec.precision, device)?;
    if spec.input_grad {
        x = x.require_grad();
    }
    let f = match spec.relu {
        ReluMasks::Plain => Forward::new(&params, spec.bn),
        ReluMasks::Record => Forward::recording(&params, spec.bn),
        ReluMasks::Replay(masks) => Forward::replaying(&params, spec.bn, masks),
    };
    let f = if spec.probe.is_some() {
        f.with_probes()
    } else {
        f
    };
    let logits = model.forward_logits(&f, x.clone());
    let value = objective_value(
        logits.clone(),
        spec.objective,
        spec.input,
        spec.precision,
        device,
    )?;
    // When nothing tracked reaches the objective (a cell whose output ignores its input, with
    // only the input differentiated), every gradient is zero; a tracked zero term keeps the
    // backward pass defined instead of burn's panic.
    let value = if value.is_tracked() {
        value
    } else {
        let zero = value.zeros_like().detach().require_grad();
        value + zero
    };
    let grads = value.backward();
    let selected = (0..params.layout().storages.len())
        .filter(|&s| params.is_selected(s))
        .map(|s| Differentiated {
            storage: s,
            value: params.value(s),
            grad: params.grad(s, &grads),
        })
        .collect();
    let input_grad = spec.input_grad.then(|| {
        x.grad(&grads)
            .map(to_host)
            .unwrap_or_else(|| vec![0.0; x.shape().num_elements()])
    });
    let probe_sum = spec.probe.map(|kind| {
        let mut total = 0.0;
        for p in f.take_probes() {
            // A layer whose output does not reach the objective has no gradient: it adds 0.
            let Some(grad) = p.leaf.grad(&grads) else {
                continue;
            };
            let [n, c, h, w] = grad.dims();
            let output = p.output.inner();
            let term = match kind {
                ProbeSum::Fisher => {
                    // The zero-cost-proxy code spreads each channel's value over the
                    // channel's weights and sums those: fan_in copies of it.
                    let g_nk = (output * grad).reshape([n, c, h * w]).sum_dim(2);
                    (g_nk.powf_scalar(2.0).sum() / n as f64) * (0.5 * p.fan_in as f64)
                }
                ProbeSum::WeightSaliency => {
                    let output = match p.bias {
                        Some(b) => output - b.inner().reshape([1, c, 1, 1]),
                        None => output,
                    };
                    (output * grad).sum()
                }
            };
            total += to_host(term)[0];
        }
        total
    });
    Ok(PassResult {
        objective: to_host(value.detach())[0],
        logits: to_host(logits.detach()),
        selected,
        input_grad,
        probe_sum,
        masks: f.into_tape(),
    })
}

/// ReLU on/off kernel of a batch (NASWOT): K[i, j] = sum over ReLUs of the number of units on
/// which images i and j agree, i.e. c c^T + (1 - c)(1 - c)^T of the binary codes. The codes
/// are packed into bits and the agreements counted in integers ([`agreement_counts`]): the
/// same exact integers as the two products in float64, a small part of their arithmetic.
pub fn relu_agreement_kernel(
    model: &dyn Model,
    store: &ParamStore,
    batch: &ImageBatch,
    precision: Precision,
    bn: BnMode,
    device: &Device,
) -> Result<Vec<f64>, SaliencyError> {
    let params = PassParams::new(store, precision, untouched, nothing, None);
    let x = upload_input(model, Input::Batch(batch), precision, device)?;
    let f = Forward::recording(&params, bn);
    model.forward_logits(&f, x);
    Ok(agreement_kernel(&f.into_masks(), batch.n))
}

/// The agreement kernel of [`relu_agreement_kernel`] from the ReLU masks a recording pass of
/// an `n`-image batch kept (any pass whose forward is the same: the same masks).
pub fn agreement_kernel(masks: &[Tensor<4>], n: usize) -> Vec<f64> {
    let mut counts = vec![0u64; n * n];
    for mask in masks {
        let on: Vec<bool> = mask
            .clone()
            .greater_elem(0.5)
            .into_data()
            .try_into_vec::<bool>()
            .expect("a comparison holds booleans");
        agreement_counts(&on, n, &mut counts);
    }
    // Counts stay far below 2^53, so the conversion is exact.
    counts.into_iter().map(|c| c as f64).collect()
}

/// Adds to the `n x n` row-major `counts` the number of units on which each pair of rows of
/// `codes` (`n` rows of on/off units) agree.
pub fn agreement_counts(codes: &[bool], n: usize, counts: &mut [u64]) {
    let units = codes.len() / n.max(1);
    let words = units.div_ceil(64);
    let mut bits = vec![0u64; n * words];
    for (row, code) in bits.chunks_mut(words).zip(codes.chunks(units.max(1))) {
        for (word, chunk) in row.iter_mut().zip(code.chunks(64)) {
            *word = chunk
                .iter()
                .enumerate()
                .fold(0, |w, (b, &on)| w | (u64::from(on) << b));
        }
    }
    for i in 0..n {
        let a = &bits[i * words..(i + 1) * words];
        for j in i..n {
            let b = &bits[j * words..(j + 1) * words];
            let differ: u64 = a
                .iter()
                .zip(b)
                .map(|(x, y)| u64::from((x ^ y).count_ones()))
                .sum();
            let agree = units as u64 - differ;
            counts[i * n + j] += agree;
            if j != i {
                counts[j * n + i] += agree;
            }
        }
    }
}

/// What a forward-only pass saw (see [`feature_pass`]).
pub struct FeaturePass {
    /// Per-channel batch variances of every train-mode BatchNorm input, host copies.
    pub bn_variance: Vec<Vec<f64>>,
    /// The feature map entering global average pooling, [N, C, H, W] row-major, with its dims.
    pub features: Option<(Vec<f64>, [usize; 4])>,
    /// Every conv and linear output of the first image, [1, C, H, W], with its dims (when
    /// asked for).
    pub layer_outputs: Vec<(Vec<f64>, [usize; 4])>,
}

/// A forward pass without a gradient that keeps feature statistics: the BatchNorm batch
/// variances, the pooled feature map and, with `layers`, every conv/linear output of the first
/// image (Zen-score, MeCo).
pub fn feature_pass(
    model: &dyn Model,
    store: &ParamStore,
    input: Tensor<4>,
    bn: BnMode,
    transform: &dyn Fn(ParamKind) -> Transform,
    layers: bool,
) -> FeaturePass {
    let precision = crate::nn::store::precision_of(input.dtype());
    let params = PassParams::new(store, precision, transform, nothing, None);
    let f = Forward::new(&params, bn).with_stats();
    let f = if layers { f.with_probes() } else { f };
    model.forward_logits(&f, input);
    let stats = f.take_stats();
    let layer_outputs = f
        .take_probes()
        .into_iter()
        .map(|p| {
            let [_, c, h, w] = p.output.dims();
            let first = p.output.slice([0..1, 0..c, 0..h, 0..w]);
            let dims = first.dims();
            (to_host(first), dims)
        })
        .collect();
    FeaturePass {
        bn_variance: stats.bn_variance.into_iter().map(to_host).collect(),
        features: stats.features.map(|t| {
            let dims = t.dims();
            (to_host(t), dims)
        }),
        layer_outputs,
    }
}
