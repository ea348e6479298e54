//! Jacobian covariance (Mellor et al. v1, as in the zero-cost-proxy library): the input
//! gradients J of the summed logits, one row per image; with v the eigenvalues of the
//! correlation matrix of those rows, score = -sum(ln(v + k) + 1 / (v + k)), k = 1e-5.

use crate::nn::ctx::Precision;

use super::super::linalg::{correlation_matrix, symmetric_eigenvalues};
use super::super::{Measure, Saliency, SaliencyError, Scoring, SharedReads, Target};

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

impl Measure for JacobCov {
    fn name(&self) -> &'static str {
        "jacob_cov"
    }

    fn description(&self) -> &'static str {
        "-sum(ln(v+1e-5) + 1/(v+1e-5)), v eigenvalues of the correlation of per-image input gradients (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F32)
    }

    fn shared_reads(&self) -> SharedReads {
        SharedReads {
            input_jacobian: true,
            ..SharedReads::default()
        }
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        let n = s.batch(self.name())?.n;
        let result = s.input_jacobian_pass(self.name(), self.shared_reads())?;
        let jacobian = result.input_grad.as_deref().unwrap_or_default();
        let corr = correlation_matrix(jacobian, n);
        Ok(Saliency::total(jacob_cov_score(&symmetric_eigenvalues(
            &corr, n,
        ))))
    }
}
