//! GraSP on the weights (Wang et al., as in the zero-cost-proxy library): score = sum over
//! conv/linear weights of -W * (H g), g = dL/dW. burn has no double backward, so H g is a
//! float64 forward difference of the gradient along g with the ReLU masks of the first pass
//! held fixed: the same second derivative PyTorch's double backward takes.

use crate::nn::params::HostParams;
use crate::proxy::ProxyError;
use crate::proxy::pass::ReluMasks;

use super::pass::{self, PassSpec, weight_ids};
use super::{ArchScoring, NetworkProxy, ProxyValue, weight_sum};

#[derive(Clone, Copy, Debug, Default)]
pub struct GraspNet;

/// Step along g, relative to max|W| / max|g|. The forward difference's truncation error
/// shrinks with the step (measured relative error of the score: 6e-5 at 1e-6, 6e-7 at 1e-8,
/// tests/zerocost.rs) while float64 round-off (1e-16 / step) stays far below it. A central
/// difference would be more exact at the price of a third float64 pass, which a ranking score
/// has no use for (the official code takes H g in float32).
const REL_STEP: f64 = 1e-8;

fn max_abs(values: &[Vec<f64>]) -> f64 {
    values.iter().flatten().fold(0.0, |m, v| m.max(v.abs()))
}

impl NetworkProxy for GraspNet {
    fn name(&self) -> &'static str {
        "grasp"
    }

    fn description(&self) -> &'static str {
        "sum -W * (H g) over conv/linear weights, g = dL/dW on one batch, float64 (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError> {
        let batch = s.batch(self.name())?;
        let device = s.settings.device;
        let spec = |relu| PassSpec::weight_grads_f64(batch, relu);
        let at = pass::run(s.net, &s.params, spec(ReluMasks::Record), device)?;
        let ids = weight_ids(s.net);
        let g_max = max_abs(&at.weight_grads);
        let w_max = max_abs(
            &ids.iter()
                .map(|id| s.params.get(*id).to_vec())
                .collect::<Vec<_>>(),
        );
        if g_max == 0.0 || w_max == 0.0 {
            return Ok(ProxyValue::plain(0.0));
        }
        let eps = REL_STEP * w_max / g_max;
        let mut shifted: HostParams = s.params.clone();
        for (id, g) in ids.iter().zip(&at.weight_grads) {
            for (w, g) in shifted.values[id.0].iter_mut().zip(g) {
                *w += eps * g;
            }
        }
        let plus = pass::run(s.net, &shifted, spec(ReluMasks::Replay(at.masks)), device)?;
        let hessian_grad: Vec<Vec<f64>> = plus
            .weight_grads
            .iter()
            .zip(&at.weight_grads)
            .map(|(p, g)| p.iter().zip(g).map(|(p, g)| (p - g) / eps).collect())
            .collect();
        Ok(ProxyValue::plain(weight_sum(
            &s.params,
            s.net,
            &hessian_grad,
            |w, hg| -w * hg,
        )))
    }
}
