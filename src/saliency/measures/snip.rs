//! SNIP (Lee et al.): saliency |theta * dL/dtheta|, L the cross-entropy of one batch through the
//! untouched network. On alpha: the search's precision and BatchNorm mode, signed alpha. On a
//! network: the conv/linear weights, float32, train-mode BatchNorm (the pass fisher and
//! grad_norm share).
//!
//! The official procedure ([`Procedure::Official`]): the DARTS-space notebook makes every
//! state entry absolute first (weights and BatchNorm tensors, not alpha); the NB201 notebook
//! scores the network as it is, which is the defined procedure (its batch differs, not its
//! computation).

use crate::nn::ctx::Precision;

use super::super::pass::{self, Input, Objective, PassSpec, ReluMasks};
use super::super::{
    Measure, OfficialCode, Procedure, Saliency, SaliencyError, Scoring, SharedReads, Target,
    per_element,
};

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
                let abs_state = s.procedure == Procedure::Official(OfficialCode::Darts);
                let spec = PassSpec {
                    precision,
                    bn,
                    transform: if abs_state {
                        &pass::absolute_state
                    } else {
                        &pass::untouched
                    },
                    select: pass::alpha,
                    input: Input::Batch(s.batch(self.name())?),
                    objective: Objective::CrossEntropy,
                    input_grad: false,
                    probe: None,
                    relu: ReluMasks::Plain,
                };
                let result = s.run(spec)?;
                let notes = match s.procedure {
                    Procedure::Defined => Vec::new(),
                    Procedure::Official(OfficialCode::Darts) => vec![
                        "official DARTS notebook: every weight and BatchNorm tensor made absolute \
                         before the pass (alpha stays signed)"
                            .to_string(),
                    ],
                    Procedure::Official(OfficialCode::Nb201) => vec![
                        "official NB201 notebook: the same computation as the defined SNIP"
                            .to_string(),
                    ],
                };
                Ok(Saliency {
                    objective: Some(("L", result.objective)),
                    tensors: per_element(&result, abs_product),
                    logits: result.logits,
                    precision: Some(precision),
                    notes,
                    ..Saliency::default()
                })
            }
            Target::Network => {
                let result = s.cross_entropy_pass(self.name(), SharedReads::default())?;
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
