//! Baselines every proxy has to beat: parameter count, multiply-adds, and a seeded random
//! score (the chance level of the correlation table).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::network::darts::count_macs;
use crate::proxy::ProxyError;

use super::{ArchScoring, NetworkProxy, ProxyValue};

#[derive(Clone, Copy, Debug, Default)]
pub struct Params;

impl NetworkProxy for Params {
    fn name(&self) -> &'static str {
        "params"
    }

    fn description(&self) -> &'static str {
        "trainable parameters in millions (larger is better; a strong baseline)"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError> {
        Ok(ProxyValue::plain(
            s.net.registry().trainable_count() as f64 / 1e6,
        ))
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Flops;

impl NetworkProxy for Flops {
    fn name(&self) -> &'static str {
        "flops"
    }

    fn description(&self) -> &'static str {
        "conv and linear multiply-adds of one image, in millions (larger is better; a baseline)"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError> {
        let [_, size, _] = s.net.input_shape();
        let net = s.net;
        let macs = count_macs(net.registry(), size, |f, x| {
            net.forward_logits(f, x);
        });
        Ok(ProxyValue::plain(macs as f64 / 1e6))
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

impl NetworkProxy for RandomScore {
    fn name(&self) -> &'static str {
        "random"
    }

    fn description(&self) -> &'static str {
        "uniform [0, 1) from the seed and the architecture (no direction: the chance baseline)"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError> {
        let mut rng = ChaCha8Rng::seed_from_u64(s.settings.seed ^ fnv1a(&s.net.name()));
        Ok(ProxyValue::plain(rng.random::<f64>()))
    }
}
