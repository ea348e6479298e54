//! SynFlow on the whole network (Tanaka et al.; the zero-cost-proxy library's variant): BN
//! removed, weights made absolute, float64, one all-ones image, R = sum of logits, score
//! = sum over conv/linear weights of |W * dR/dW|. Raw sums reach 1e60 on NB201, so the natural
//! log is written too.

use crate::proxy::ProxyError;

use super::pass::{self, PassSpec};
use super::{ArchScoring, NetworkProxy, ProxyValue};

#[derive(Clone, Copy, Debug, Default)]
pub struct SynFlowNet;

impl NetworkProxy for SynFlowNet {
    fn name(&self) -> &'static str {
        "synflow"
    }

    fn description(&self) -> &'static str {
        "sum |W * dR/dW|, R = summed logits of an all-ones image, |W|, no BN, float64 (larger is better; synflow_log = ln of it)"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError> {
        let spec = PassSpec::synflow();
        let result = pass::run(s.net, &s.params, spec, s.settings.device)?;
        // With |W|, an all-ones input and no BN every activation is >= 0, so every term
        // |W * dR/dW| is W * dR/dW, and a layer's sum is (output - bias) . dR/doutput.
        let value = result.probe_sum.expect("the pass probes layer outputs");
        Ok(ProxyValue {
            value,
            extra: vec![("log", value.ln())],
        })
    }
}
