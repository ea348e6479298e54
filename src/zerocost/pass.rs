//! One forward/backward pass through a standalone network with its weights tracked: every
//! whole-network proxy reads what it needs (weight gradients, the input gradient, layer-output
//! gradients, ReLU patterns) from one of these.

use burn::tensor::{DType, Device, Tensor};

use crate::data::cifar::ImageBatch;
use crate::network::Network;
use crate::nn::ctx::{BnMode, DeviceParams, Forward, Precision, tensor_from, to_host};
use crate::nn::params::{HostParams, ParamId, ParamKind};
use crate::proxy::ProxyError;
use crate::proxy::pass::{Objective, ReluMasks, batch_input, objective_value, ones_input};

/// The input of a pass.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// One all-ones image (SynFlow).
    Ones,
    Batch(&'a ImageBatch),
}

/// What to run and what to keep.
pub struct PassSpec<'a> {
    pub precision: Precision,
    pub bn: BnMode,
    /// Applied to every weight on upload (`f64::abs` for SynFlow).
    pub transform: fn(f64) -> f64,
    pub input: Input<'a>,
    /// Sum of logits, or cross-entropy against the batch labels.
    pub cross_entropy: bool,
    /// Keep d objective / d input.
    pub input_grad: bool,
    /// Track the conv/linear weights and return their gradients.
    pub weight_grads: bool,
    /// Probe every conv/linear output and reduce (output, gradient) pairs to one number.
    pub probe: Option<ProbeSum>,
    /// Plain ReLUs, or record / replay their masks (GraSP's Hessian product).
    pub relu: ReluMasks,
}

impl<'a> PassSpec<'a> {
    /// SynFlow's pass: float64, BN removed, |W|, one all-ones image, summed logits, reduced
    /// by the weight-saliency probe (no weight gradients kept).
    pub fn synflow() -> Self {
        Self {
            precision: Precision::F64,
            bn: BnMode::None,
            transform: f64::abs,
            input: Input::Ones,
            cross_entropy: false,
            input_grad: false,
            weight_grads: false,
            probe: Some(ProbeSum::WeightSaliency),
            relu: ReluMasks::Plain,
        }
    }

    /// The float64 cross-entropy pass of one batch (train-mode BN) that returns the weight
    /// gradients: GraSP's gradient, taken at the weights and again along g.
    pub fn weight_grads_f64(batch: &'a ImageBatch, relu: ReluMasks) -> Self {
        Self {
            precision: Precision::F64,
            bn: BnMode::Train,
            transform: |v| v,
            input: Input::Batch(batch),
            cross_entropy: true,
            input_grad: false,
            weight_grads: true,
            probe: None,
            relu,
        }
    }
}

/// A reduction over every conv/linear layer of its output a and the gradient da of the
/// objective with respect to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProbeSum {
    /// Sum over channels of 0.5 * mean_n (sum_hw a * da)^2 (Fisher).
    Fisher,
    /// Sum of (a - bias) * da: for a layer linear in its weight W, this equals
    /// sum W * dObjective/dW without computing weight gradients (SynFlow's fast path).
    WeightSaliency,
}

/// What a pass returns.
pub struct PassResult {
    pub objective: f64,
    /// d objective / d W for every conv and linear weight, in [`weight_ids`] order (zeros for
    /// a weight that does not reach the output).
    pub weight_grads: Vec<Vec<f64>>,
    pub input_grad: Option<Vec<f64>>,
    /// The [`ProbeSum`] asked for.
    pub probe_sum: Option<f64>,
    /// The masks of a recording pass.
    pub masks: Vec<Tensor<4>>,
}

/// The conv and linear weights: the tensors the zero-cost library scores ("prunable layers").
pub fn weight_ids(net: &dyn Network) -> Vec<ParamId> {
    net.registry()
        .specs()
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s.kind, ParamKind::Weight { .. }))
        .map(|(i, _)| ParamId(i))
        .collect()
}

/// Uploads `input` for `net`.
pub fn upload_input(
    net: &dyn Network,
    input: Input,
    precision: Precision,
    device: &Device,
) -> Result<Tensor<4>, ProxyError> {
    match input {
        Input::Ones => Ok(ones_input(net.input_shape(), precision, device)),
        Input::Batch(batch) => batch_input(
            net.input_shape(),
            net.num_classes(),
            batch,
            precision,
            device,
        ),
    }
}

/// Runs forward and backward with weights `params`.
pub fn run(
    net: &dyn Network,
    params: &HostParams,
    spec: PassSpec,
    device: &Device,
) -> Result<PassResult, ProxyError> {
    let registry = net.registry();
    let device_params =
        DeviceParams::upload(registry, params, spec.precision, device, spec.transform)
            .require_grad(registry, |k| {
                spec.weight_grads && matches!(k, ParamKind::Weight { .. })
            });
    let mut x = upload_input(net, spec.input, spec.precision, device)?;
    if spec.input_grad {
        x = x.require_grad();
    }
    let f = match spec.relu {
        ReluMasks::Plain => Forward::new(&device_params, spec.bn),
        ReluMasks::Record => Forward::recording(&device_params, spec.bn),
        ReluMasks::Replay(masks) => Forward::replaying(&device_params, spec.bn, masks),
    };
    let f = if spec.probe.is_some() {
        f.with_probes()
    } else {
        f
    };
    let logits = net.forward_logits(&f, x.clone());
    let objective = match (spec.cross_entropy, spec.input) {
        (true, Input::Batch(batch)) => Objective::CrossEntropy {
            labels: &batch.labels,
        },
        (true, Input::Ones) => {
            return Err(ProxyError::NeedsData {
                proxy: "cross-entropy",
            });
        }
        (false, _) => Objective::SumLogits,
    };
    let value = objective_value(logits, &objective, spec.precision, device);
    let grads = value.backward();
    let weight_grads = if spec.weight_grads {
        weight_ids(net)
            .into_iter()
            .map(|id| {
                device_params
                    .grad(id, &grads)
                    .unwrap_or_else(|| vec![0.0; registry.spec(id).numel()])
            })
            .collect()
    } else {
        Vec::new()
    };
    let input_grad = spec
        .input_grad
        .then(|| x.grad(&grads).map(to_host))
        .flatten();
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
                    let g_nk = (output * grad).reshape([n, c, h * w]).sum_dim(2);
                    (g_nk.powf_scalar(2.0).sum() / n as f64) * 0.5
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
        weight_grads,
        input_grad,
        probe_sum,
        masks: f.into_masks(),
    })
}

/// ReLU on/off kernel of a batch (NASWOT): K[i, j] = sum over ReLUs of the number of units on
/// which images i and j agree, i.e. c c^T + (1 - c)(1 - c)^T of the binary codes.
pub fn relu_agreement_kernel(
    net: &dyn Network,
    params: &HostParams,
    batch: &ImageBatch,
    precision: Precision,
    bn: BnMode,
    device: &Device,
) -> Result<Vec<f64>, ProxyError> {
    let device_params = DeviceParams::upload(net.registry(), params, precision, device, |v| v);
    let x = upload_input(net, Input::Batch(batch), precision, device)?;
    let f = Forward::recording(&device_params, bn);
    net.forward_logits(&f, x);
    let n = batch.n;
    // Counts reach millions: accumulate in f64 so they stay exact integers.
    let mut kernel = tensor_from(vec![0.0; n * n], [n, n], Precision::F64, device);
    for mask in f.into_masks() {
        let [_, c, h, w] = mask.dims();
        let codes = mask.reshape([n, c * h * w]).cast(DType::F64);
        let off = codes.clone().neg() + 1.0;
        kernel =
            kernel + codes.clone().matmul(codes.transpose()) + off.clone().matmul(off.transpose());
    }
    Ok(to_host(kernel))
}
