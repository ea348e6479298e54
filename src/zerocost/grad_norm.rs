//! Gradient norm: sum over conv/linear layers of the Euclidean norm of dL/dW.

use crate::proxy::ProxyError;

use super::{ArchScoring, NetworkProxy, ProxyValue};

#[derive(Clone, Copy, Debug, Default)]
pub struct GradNorm;

impl NetworkProxy for GradNorm {
    fn name(&self) -> &'static str {
        "grad_norm"
    }

    fn description(&self) -> &'static str {
        "sum over conv/linear layers of ||dL/dW||_2, cross-entropy of one batch (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError> {
        let pass = s.cross_entropy_pass(self.name())?;
        let value = pass
            .weight_grads
            .iter()
            .map(|g| g.iter().map(|v| v * v).sum::<f64>().sqrt())
            .sum();
        Ok(ProxyValue::plain(value))
    }
}
