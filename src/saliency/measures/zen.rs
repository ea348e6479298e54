//! Zen-score (Lin et al., "Zen-NAS", ICCV 2021): data-free expressivity. With every conv and
//! linear weight at unit variance and BatchNorm in train mode, x and eps standard normal:
//! Zen = ln(mean over images of sum |f(x) - f(x + 0.01 eps)|) + sum over BatchNorms of
//! ln sqrt(mean over channels of the batch variance), f the feature map entering global
//! average pooling.
//!
//! Zen-NAS draws N(0, 1) weights; here the stored (PyTorch-default, uniform) weights are
//! scaled to unit variance, which gives the BatchNorm term the same value in expectation and
//! keeps one initial state per seed for every measure. The BatchNorm term uses the batch
//! variances of the clean pass, as the paper defines it (the Zen-NAS code reads running
//! variances after its passes). The difference is the L1 norm of the code, not divided by 0.01
//! (a constant shift of the logarithm).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::nn::ctx::{BnMode, Precision, Transform, tensor_from};
use crate::nn::params::ParamKind;

use super::super::pass::feature_pass;
use super::super::{Measure, Saliency, SaliencyError, Scoring, Target};

/// Scale of the input perturbation.
const PERTURBATION: f64 = 0.01;
/// Images drawn when the scoring run has no batch to take the count from.
const DEFAULT_IMAGES: usize = 16;

#[derive(Clone, Copy, Debug, Default)]
pub struct Zen;

/// Unit-variance weights: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) times sqrt(3 fan_in).
fn unit_variance(kind: ParamKind) -> Transform {
    match kind {
        ParamKind::Weight { fan_in } => Transform::Scale((3.0 * fan_in as f64).sqrt()),
        _ => Transform::Identity,
    }
}

impl Measure for Zen {
    fn name(&self) -> &'static str {
        "zen"
    }

    fn description(&self) -> &'static str {
        "Zen-score: ln E|f(x) - f(x + 0.01 eps)| + sum ln sqrt(mean BN batch variance), Gaussian inputs, data-free (larger is better)"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F32)
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        let [c, h, w] = s.model.input_shape();
        let n = s.batch.map_or(DEFAULT_IMAGES, |b| b.n).max(2);
        // Its own stream, so the draw does not depend on which other measures ran.
        let mut rng = ChaCha8Rng::seed_from_u64(s.seed ^ 0x7a65_6e5f_7363_6f72);
        let len = n * c * h * w;
        let x: Vec<f64> = (0..len).map(|_| rng.sample(StandardNormal)).collect();
        let moved: Vec<f64> = x
            .iter()
            .map(|v| v + PERTURBATION * rng.sample::<f64, _>(StandardNormal))
            .collect();
        let run = |values: Vec<f64>| {
            let input = tensor_from(values, [n, c, h, w], Precision::F32, s.device);
            feature_pass(
                s.model,
                &s.store,
                input,
                BnMode::Train,
                &unit_variance,
                false,
            )
        };
        let clean = run(x);
        let perturbed = run(moved);
        let (Some((a, _)), Some((b, _))) = (&clean.features, &perturbed.features) else {
            return Ok(Saliency::total(f64::NAN));
        };
        let difference = a.iter().zip(b).map(|(p, q)| (p - q).abs()).sum::<f64>() / n as f64;
        let bn_term: f64 = clean
            .bn_variance
            .iter()
            .map(|v| (v.iter().sum::<f64>() / v.len() as f64).sqrt().ln())
            .sum();
        let mut out = Saliency::total(difference.ln() + bn_term);
        out.extra = vec![("expressivity", difference.ln()), ("bn", bn_term)];
        Ok(out)
    }
}
