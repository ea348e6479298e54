//! MeCo (Jiang et al., "Zero-shot NAS via the minimum eigenvalue of Pearson correlation",
//! NeurIPS 2023): for every conv and linear output, the Pearson correlation matrix between
//! its channels over the spatial positions of the first image of the batch (BatchNorm in train
//! mode over the whole batch); score = sum over layers of that matrix's smallest eigenvalue.
//!
//! The MeCo code hooks every module; here the layers are the conv and linear outputs, the
//! layers every network here has. As in that code, undefined correlations (a constant channel)
//! count as 0, and so does a layer with one position (the classifier).

use crate::nn::ctx::{BnMode, Precision};

use super::super::linalg::{correlation_matrix, symmetric_eigenvalues};
use super::super::pass::{self, Input, feature_pass, upload_input};
use super::super::{Measure, Saliency, SaliencyError, Scoring, Target};

#[derive(Clone, Copy, Debug, Default)]
pub struct Meco;

/// Smallest eigenvalue of the channel correlation of one feature map [C, positions].
pub fn min_correlation_eigenvalue(map: &[f64], channels: usize) -> f64 {
    let mut corr = correlation_matrix(map, channels);
    for v in &mut corr {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
    symmetric_eigenvalues(&corr, channels)
        .into_iter()
        .fold(f64::INFINITY, f64::min)
}

impl Measure for Meco {
    fn name(&self) -> &'static str {
        "meco"
    }

    fn description(&self) -> &'static str {
        "sum over conv/linear outputs of the smallest eigenvalue of the channel correlation matrix of one image (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F32)
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        let batch = s.batch(self.name())?;
        let x = upload_input(s.model, Input::Batch(batch), Precision::F32, s.device)?;
        let seen = feature_pass(s.model, &s.store, x, BnMode::Train, &pass::untouched, true);
        let mut total = 0.0;
        for (values, [_, c, h, w]) in &seen.layer_outputs {
            if h * w < 2 {
                continue;
            }
            let v = min_correlation_eigenvalue(values, *c);
            if v.is_finite() {
                total += v;
            }
        }
        Ok(Saliency::total(total))
    }
}

#[cfg(test)]
mod tests {
    use super::min_correlation_eigenvalue;

    #[test]
    fn smallest_eigenvalue_by_hand() {
        // Two channels over four positions.
        // Proportional channels: correlation [[1, 1], [1, 1]], eigenvalues 0 and 2.
        let same = [1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, 8.0];
        assert!(min_correlation_eigenvalue(&same, 2).abs() < 1e-12);
        // Uncorrelated channels: the identity, eigenvalues 1 and 1.
        let orthogonal = [1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0];
        assert!((min_correlation_eigenvalue(&orthogonal, 2) - 1.0).abs() < 1e-12);
        // Correlation r: eigenvalues 1 - r and 1 + r. Here r = 0.8.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [2.0, 1.0, 4.0, 3.0, 5.0];
        let map: Vec<f64> = a.iter().chain(&b).copied().collect();
        assert!((min_correlation_eigenvalue(&map, 2) - 0.2).abs() < 1e-12);
        // A constant channel has no correlation: it counts as 0, the other entry as 1 on the
        // diagonal, so the eigenvalues are 0 and 1.
        let constant = [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0];
        assert!(min_correlation_eigenvalue(&constant, 2).abs() < 1e-12);
    }
}
