//! Fisher (Theis et al., as in the zero-cost-proxy library): for every conv/linear output
//! channel k, g_nk = sum over positions of a * dL/da for image n; the score is the sum over
//! channels of 0.5 * mean_n g_nk^2. BN stays in (train mode).

use crate::proxy::ProxyError;

use super::{ArchScoring, NetworkProxy, ProxyValue};

#[derive(Clone, Copy, Debug, Default)]
pub struct Fisher;

impl NetworkProxy for Fisher {
    fn name(&self) -> &'static str {
        "fisher"
    }

    fn description(&self) -> &'static str {
        "sum over conv/linear channels of 0.5 mean_n (sum_hw a dL/da)^2, one batch (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError> {
        let pass = s.cross_entropy_pass(self.name())?;
        Ok(ProxyValue::plain(
            pass.probe_sum
                .expect("the cross-entropy pass probes layer outputs"),
        ))
    }
}
