//! Jacobian covariance (Mellor et al. v1, as in the zero-cost-proxy library): the input
//! gradients J of the summed logits, one row per image; with v the eigenvalues of the
//! correlation matrix of those rows, score = -sum(ln(v + k) + 1 / (v + k)), k = 1e-5.

use crate::nn::ctx::{BnMode, Precision};
use crate::proxy::ProxyError;
use crate::proxy::pass::ReluMasks;

use super::linalg::{correlation_matrix, symmetric_eigenvalues};
use super::pass::{self, Input, PassSpec};
use super::{ArchScoring, NetworkProxy, ProxyValue};

const K: f64 = 1e-5;

#[derive(Clone, Copy, Debug, Default)]
pub struct JacobCov;

/// The score of eigenvalues `v`.
pub fn jacob_cov_score(eigenvalues: &[f64]) -> f64 {
    -eigenvalues
        .iter()
        .map(|v| (v + K).ln() + 1.0 / (v + K))
        .sum::<f64>()
}

impl NetworkProxy for JacobCov {
    fn name(&self) -> &'static str {
        "jacob_cov"
    }

    fn description(&self) -> &'static str {
        "-sum(ln(v+1e-5) + 1/(v+1e-5)), v eigenvalues of the correlation of per-image input gradients (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError> {
        let batch = s.batch(self.name())?;
        let spec = PassSpec {
            precision: Precision::F32,
            bn: BnMode::Train,
            transform: |v| v,
            input: Input::Batch(batch),
            cross_entropy: false,
            input_grad: true,
            weight_grads: false,
            probe: None,
            relu: ReluMasks::Plain,
        };
        let result = pass::run(s.net, &s.params, spec, s.settings.device)?;
        let jacobian = result.input_grad.unwrap_or_default();
        let n = batch.n;
        let corr = correlation_matrix(&jacobian, n);
        Ok(ProxyValue::plain(jacob_cov_score(&symmetric_eigenvalues(
            &corr, n,
        ))))
    }
}
