//! SNIP (Lee et al.): saliency |theta * dL/dtheta|, L the cross-entropy of one batch through the
//! untouched network. On alpha: the search's precision and BatchNorm mode, signed alpha. On a
//! network: the conv/linear weights, float32, train-mode BatchNorm (the pass fisher and
//! grad_norm share).

use crate::nn::ctx::Precision;

use super::super::pass::{self, Input, Objective, PassSpec, ReluMasks};
use super::super::{Measure, Saliency, SaliencyError, Scoring, Target, per_element};

#[derive(Clone, Copy, Debug, Default)]
pub struct Snip;

impl Measure for Snip {
    fn name(&self) -> &'static str {
        "snip"
    }

    fn description(&self) -> &'static str {
        "sum |W * dL/dW| over conv/linear weights, cross-entropy of one batch (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn per_element(&self) -> bool {
        true
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F32)
    }

    fn score(&self, s: &mut Scoring, target: Target) -> Result<Saliency, SaliencyError> {
        let abs_product = |w: f64, g: f64| (w * g).abs();
        match target {
            Target::Alpha { precision, bn, .. } => {
                let spec = PassSpec {
                    precision,
                    bn,
                    transform: &pass::untouched,
                    select: pass::alpha,
                    input: Input::Batch(s.batch(self.name())?),
                    objective: Objective::CrossEntropy,
                    input_grad: false,
                    probe: None,
                    relu: ReluMasks::Plain,
                };
                let result = s.run(spec)?;
                Ok(Saliency {
                    objective: Some(("L", result.objective)),
                    tensors: per_element(&result, abs_product),
                    logits: result.logits,
                    precision: Some(precision),
                    ..Saliency::default()
                })
            }
            Target::Network => {
                let result = s.cross_entropy_pass(self.name())?;
                Ok(Saliency {
                    objective: Some(("L", result.objective)),
                    tensors: per_element(result, abs_product),
                    precision: Some(Precision::F32),
                    ..Saliency::default()
                })
            }
        }
    }
}
