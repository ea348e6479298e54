//! SNIP on the weights: sum |W * dL/dW| over conv/linear weights, L the cross-entropy of one
//! batch with train-mode BN.

use crate::proxy::ProxyError;

use super::{ArchScoring, NetworkProxy, ProxyValue, weight_sum};

#[derive(Clone, Copy, Debug, Default)]
pub struct SnipNet;

impl NetworkProxy for SnipNet {
    fn name(&self) -> &'static str {
        "snip"
    }

    fn description(&self) -> &'static str {
        "sum |W * dL/dW| over conv/linear weights, cross-entropy of one batch (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError> {
        let (net, params) = (s.net, s.params.clone());
        let pass = s.cross_entropy_pass(self.name())?;
        Ok(ProxyValue::plain(weight_sum(
            &params,
            net,
            &pass.weight_grads,
            |w, g| (w * g).abs(),
        )))
    }
}
