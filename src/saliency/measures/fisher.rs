//! Fisher (Turner et al., as in the zero-cost-proxy library): per channel of every conv and
//! linear output a, 0.5 * mean over images of (sum over positions of a * dL/da)^2. The
//! library's `fisher.py` then copies each channel's value onto every weight of the channel
//! (`reshape_elements` to `weight.shape[1:]`) and the network score sums those copies, so a
//! channel counts fan_in times (c_in / groups * kh * kw, a linear layer's d_in): a 3x3 conv
//! nine times as much as a 1x1 conv of the same width. Network-level only.

use crate::nn::ctx::Precision;

use super::super::{Measure, Saliency, SaliencyError, Scoring, SharedReads, Target};

#[derive(Clone, Copy, Debug, Default)]
pub struct Fisher;

impl Measure for Fisher {
    fn name(&self) -> &'static str {
        "fisher"
    }

    fn description(&self) -> &'static str {
        "sum over conv/linear channels of fan_in * 0.5 mean_n (sum_hw a dL/da)^2, one batch (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F32)
    }

    fn shared_reads(&self) -> SharedReads {
        SharedReads {
            layer_gradients: true,
            ..SharedReads::default()
        }
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        let pass = s.cross_entropy_pass(self.name(), self.shared_reads())?;
        Ok(Saliency::total(
            pass.probe_sum
                .expect("the cross-entropy pass probes layer outputs"),
        ))
    }
}
