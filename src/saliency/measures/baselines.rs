//! Baselines every proxy has to beat: parameter count, multiply-adds, and a seeded random
//! score (the chance level of the correlation table).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::nn::model::count_macs;

use super::super::{Measure, Saliency, SaliencyError, Scoring, Target};

#[derive(Clone, Copy, Debug, Default)]
pub struct Params;

impl Measure for Params {
    fn name(&self) -> &'static str {
        "params"
    }

    fn description(&self) -> &'static str {
        "trainable parameters in millions (larger is better; a strong baseline)"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        Ok(Saliency::total(
            s.model.registry().trainable_count() as f64 / 1e6,
        ))
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Flops;

impl Measure for Flops {
    fn name(&self) -> &'static str {
        "flops"
    }

    fn description(&self) -> &'static str {
        "conv and linear multiply-adds of one image, in millions (larger is better; a baseline)"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        let macs = count_macs(s.model);
        Ok(Saliency::total(macs as f64 / 1e6))
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RandomScore;

/// FNV-1a: a fixed, documented string hash, so the random baseline of a network does not
/// depend on the Rust version or on the order networks are scored in.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Measure for RandomScore {
    fn name(&self) -> &'static str {
        "random"
    }

    fn description(&self) -> &'static str {
        "uniform [0, 1) from the seed and the architecture (no direction: the chance baseline)"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        let mut rng = ChaCha8Rng::seed_from_u64(s.seed ^ fnv1a(&s.model.name()));
        Ok(Saliency::total(rng.random::<f64>()))
    }
}
