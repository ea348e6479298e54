//! The one gradient pass every proxy is built from: upload alphas as tracked leaves, run the
//! supernet, differentiate an objective and read d objective / d alpha back.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};

use crate::data::cifar::ImageBatch;
use crate::nn::ctx::{BnMode, DeviceParams, Forward, Precision, tensor_from, to_host};
use crate::supernet::Supernet;

use super::ProxyError;

/// What to differentiate.
pub enum Objective<'a> {
    /// R = sum of all logits (SynFlow).
    SumLogits,
    /// Mean cross-entropy against integer labels (SNIP, GraSP).
    CrossEntropy { labels: &'a [i64] },
}

/// How the pass treats ReLU masks (see [`Forward`]).
pub enum ReluMasks {
    Plain,
    Record,
    Replay(Vec<Tensor<4>>),
}

/// Result of one pass.
pub struct GradPass {
    pub objective: f64,
    /// One row-major gradient per alpha group.
    pub grads: Vec<Vec<f64>>,
    pub logits: Vec<f64>,
    /// The masks recorded by a [`ReluMasks::Record`] pass.
    pub masks: Vec<Tensor<4>>,
}

/// Settings shared by the passes of one proxy run.
pub struct PassSetup<'a> {
    pub net: &'a dyn Supernet,
    pub params: &'a DeviceParams,
    pub device: &'a Device,
    pub precision: Precision,
    pub bn: BnMode,
}

impl PassSetup<'_> {
    /// Runs forward and backward at the given alphas.
    pub fn run(
        &self,
        alphas: &[Vec<f64>],
        x: Tensor<4>,
        objective: &Objective,
        relu: ReluMasks,
    ) -> GradPass {
        let groups = self.net.alpha_groups();
        let leaves: Vec<Tensor<2>> = groups
            .iter()
            .zip(alphas)
            .map(|(g, a)| {
                tensor_from(a.clone(), g.shape(), self.precision, self.device).require_grad()
            })
            .collect();
        let f = match relu {
            ReluMasks::Plain => Forward::new(self.params, self.bn),
            ReluMasks::Record => Forward::recording(self.params, self.bn),
            ReluMasks::Replay(masks) => Forward::replaying(self.params, self.bn, masks),
        };
        let logits = self.net.forward_logits(&f, &leaves, x);
        let value = objective_value(logits.clone(), objective, self.precision, self.device);
        let grads = value.backward();
        let grad_values = leaves
            .iter()
            .map(|leaf| {
                leaf.grad(&grads)
                    .map(to_host)
                    .unwrap_or_else(|| vec![0.0; leaf.dims().iter().product()])
            })
            .collect();
        GradPass {
            objective: to_host(value.detach())[0],
            grads: grad_values,
            logits: to_host(logits.detach()),
            masks: f.into_masks(),
        }
    }
}

/// The scalar to differentiate, from logits [N, classes].
pub fn objective_value(
    logits: Tensor<2>,
    objective: &Objective,
    precision: Precision,
    device: &Device,
) -> Tensor<1> {
    match objective {
        Objective::SumLogits => logits.sum(),
        Objective::CrossEntropy { labels } => {
            let [n, k] = logits.dims();
            let mut one_hot = vec![0.0; n * k];
            for (i, &y) in labels.iter().enumerate() {
                one_hot[i * k + y as usize] = 1.0;
            }
            let one_hot = tensor_from(one_hot, [n, k], precision, device);
            (log_softmax(logits, 1) * one_hot).sum().neg() / n as f64
        }
    }
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
) -> Result<Tensor<4>, ProxyError> {
    let got = [batch.channels, batch.height, batch.width];
    if got != expected {
        return Err(ProxyError::InputShape { got, expected });
    }
    if let Some((index, &label)) = batch
        .labels
        .iter()
        .enumerate()
        .find(|&(_, &y)| y < 0 || y as usize >= classes)
    {
        return Err(ProxyError::Label {
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

/// Element-wise |a * g|: the SNIP/SynFlow saliency.
pub fn abs_product(alpha: &[f64], grad: &[f64]) -> Vec<f64> {
    alpha.iter().zip(grad).map(|(a, g)| (a * g).abs()).collect()
}
