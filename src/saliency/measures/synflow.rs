//! SynFlow (Tanaka et al.): linearise the network by taking the absolute value of its tensors,
//! feed one all-ones image, R = sum of logits, saliency |theta * dR/dtheta|. No data.
//!
//! On alpha (FreeDARTS' default) it runs as the official code does: the search's precision
//! and BatchNorm mode, every weight and BatchNorm tensor absolute, alpha too in NB201. On a
//! whole network it runs as the zero-cost-proxy library does: float64, BatchNorm removed, and
//! the sum over conv/linear weights; raw sums reach 1e50 on NB201 (ln 114.8), so the natural
//! log is written too.

use crate::nn::ctx::{BnMode, Precision, Transform};
use crate::nn::params::ParamKind;

use super::super::pass::{self, Input, Objective, PassSpec, ProbeSum, ReluMasks};
use super::super::{Measure, Saliency, SaliencyError, Scoring, Target, per_element};

#[derive(Clone, Copy, Debug, Default)]
pub struct SynFlow;

impl Measure for SynFlow {
    fn name(&self) -> &'static str {
        "synflow"
    }

    fn description(&self) -> &'static str {
        "sum |W * dR/dW|, R = summed logits of an all-ones image, |W|, no BN, float64 (larger is better; synflow_log = ln of it)"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn per_element(&self) -> bool {
        true
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F64)
    }

    fn score(&self, s: &mut Scoring, target: Target) -> Result<Saliency, SaliencyError> {
        match target {
            Target::Alpha {
                precision,
                bn,
                alpha_abs,
            } => {
                let transform = move |kind: ParamKind| {
                    if kind.is_alpha() && !alpha_abs {
                        Transform::Identity
                    } else {
                        Transform::Abs
                    }
                };
                let spec = PassSpec {
                    precision,
                    bn,
                    transform: &transform,
                    select: pass::alpha,
                    input: Input::Ones,
                    objective: Objective::SumLogits,
                    input_grad: false,
                    probe: None,
                    relu: ReluMasks::Plain,
                };
                let result = s.run(spec)?;
                Ok(Saliency {
                    objective: Some(("R", result.objective)),
                    tensors: per_element(&result, |a, g| (a * g).abs()),
                    logits: result.logits,
                    precision: Some(precision),
                    ..Saliency::default()
                })
            }
            Target::Network => {
                let spec = PassSpec {
                    precision: Precision::F64,
                    bn: BnMode::None,
                    transform: &pass::absolute,
                    select: pass::nothing,
                    input: Input::Ones,
                    objective: Objective::SumLogits,
                    input_grad: false,
                    probe: Some(ProbeSum::WeightSaliency),
                    relu: ReluMasks::Plain,
                };
                let result = s.run(spec)?;
                // With |W|, an all-ones input and no BN every activation is >= 0, so every
                // term |W * dR/dW| is W * dR/dW, and a layer's sum is (output - bias) .
                // dR/doutput: the sum without weight gradients.
                let value = result.probe_sum.expect("the pass probes layer outputs");
                Ok(Saliency {
                    total: Some(value),
                    extra: vec![("log", value.ln())],
                    ..Saliency::default()
                })
            }
        }
    }
}
