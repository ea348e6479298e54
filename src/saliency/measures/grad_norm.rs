//! grad_norm (Abdelfattah et al.): the sum over conv/linear layers of the Euclidean norm of
//! dL/dW on one batch. Network-level only.

use crate::nn::ctx::Precision;

use super::super::network::by_member;
use super::super::{Measure, Saliency, SaliencyError, Scoring, SharedReads, Target, per_element};

#[derive(Clone, Copy, Debug, Default)]
pub struct GradNorm;

impl Measure for GradNorm {
    fn name(&self) -> &'static str {
        "grad_norm"
    }

    fn description(&self) -> &'static str {
        "sum over conv/linear layers of ||dL/dW||_2, cross-entropy of one batch (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F32)
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        let tensors = per_element(
            s.cross_entropy_pass(self.name(), SharedReads::default())?,
            |_, _| 0.0,
        );
        let value = by_member(s, &tensors, |t| &t.grad)
            .iter()
            .map(|g| g.iter().map(|v| v * v).sum::<f64>().sqrt())
            .sum();
        Ok(Saliency::total(value))
    }
}
