//! The DARTS-space supernet against the official code's golden files (reference README §4
//! and §5.2-5.3): parameter counts, the alpha-independent train-mode objective, and the
//! well-conditioned eval-mode BN scores.

mod common;

use burn::tensor::Device;
use common::{Golden, assert_close_to_max, assert_rel, max_abs};
use freedarts::nn::ctx::{BnMode, Precision};
use freedarts::nn::model::Model;
use freedarts::nn::params::HostParams;
use freedarts::saliency::Target;
use freedarts::saliency::alpha::ProxyOutput;
use freedarts::search::{SpaceConfig, derive_and_check};
use freedarts::spaces::darts::supernet::{DartsConfig, DartsSupernet};
use freedarts::spaces::derive::Derivation;

pub struct Case {
    pub golden: Golden,
    pub net: DartsSupernet,
    pub state: HostParams,
    pub device: Device,
}

pub fn case(file: &str) -> Case {
    let golden = Golden::open(file);
    let cfg = golden.config();
    let config = DartsConfig {
        channels: cfg["C"].as_u64().unwrap() as usize,
        cells: cfg["layers"].as_u64().unwrap() as usize,
        classes: cfg["num_classes"].as_u64().unwrap() as usize,
        ..DartsConfig::cifar(8)
    };
    let net = DartsSupernet::new(config);
    let (state, _) = net.load_params(&golden.path).expect("golden weights load");
    Case {
        golden,
        net,
        state,
        device: Device::flex().autodiff(),
    }
}

impl Case {
    pub fn synflow(&self, precision: Precision, bn: BnMode) -> ProxyOutput {
        let target = Target::Alpha {
            precision,
            bn,
            alpha_abs: false,
        };
        common::score_alpha_of(&self.net, &self.state, None, "synflow", target)
    }
}

fn check_file(file: &str) {
    let c = case(file);
    let g = &c.golden;
    assert_eq!(
        c.net.registry().trainable_count(),
        g.meta("param_count").parse::<usize>().unwrap(),
        "{file} parameter count"
    );

    // Train-mode BN: R is the sum of |classifier bias| whatever alpha is, and the gradients
    // are round-off; the diagnostics must say so.
    for (suffix, precision) in [("", Precision::F32), ("_f64", Precision::F64)] {
        let out = c.synflow(precision, BnMode::Train);
        let bias_sum: f64 = g
            .meta(&format!("sum_abs_classifier_bias{suffix}"))
            .parse()
            .unwrap();
        assert_rel(
            &format!("{file} R{suffix}"),
            &[out.objective],
            &[bias_sum],
            1e-6,
        );
        assert_rel(
            &format!("{file} stored R{suffix}"),
            &[g.scalar(&format!("synflow_R{suffix}"))],
            &[bias_sum],
            1e-6,
        );
        let grad_max = out
            .groups
            .iter()
            .map(|gr| max_abs(&gr.grad))
            .fold(0.0, f64::max);
        let stored_max = max_abs(g.get(&format!("synflow_grad_normal{suffix}")));
        let bneval_max = max_abs(g.get(&format!("synflow_grad_normal_bneval{suffix}")));
        assert!(
            grad_max < 1e3 * stored_max.max(f64::MIN_POSITIVE),
            "{file}{suffix}: {grad_max:e} vs stored {stored_max:e}"
        );
        assert!(
            grad_max < 1e-3 * bneval_max,
            "{file}{suffix}: train-mode gradients are not tiny: {grad_max:e}"
        );
        let (_, warnings) = derive_and_check(&SpaceConfig::Darts(c.net.config), &out);
        assert!(
            warnings.iter().any(|w| w.code == "alpha_insensitive"),
            "{file}{suffix}: noise detector silent: {warnings:?}"
        );
    }

    // Eval-mode BN: well conditioned; float32 to 1e-4 of max, float64 to 1e-9 of max.
    for (suffix, precision, tol) in [
        ("_bneval", Precision::F32, 1e-4),
        ("_bneval_f64", Precision::F64, 1e-9),
    ] {
        let out = c.synflow(precision, BnMode::Eval);
        assert_rel(
            &format!("{file} R{suffix}"),
            &[out.objective],
            &[g.scalar(&format!("synflow_R{suffix}"))],
            1e-5,
        );
        assert_close_to_max(
            &format!("{file} logits{suffix}"),
            &out.logits,
            g.get(&format!("synflow_logits{suffix}")),
            1e-5,
        );
        for (group, name) in out.groups.iter().zip(["normal", "reduce"]) {
            assert_close_to_max(
                &format!("{file} grad_{name}{suffix}"),
                &group.grad,
                g.get(&format!("synflow_grad_{name}{suffix}")),
                tol,
            );
            assert_close_to_max(
                &format!("{file} score_{name}{suffix}"),
                &group.score,
                g.get(&format!("synflow_score_{name}{suffix}")),
                tol,
            );
        }
        let (derivation, _) = derive_and_check(&SpaceConfig::Darts(c.net.config), &out);
        assert_eq!(
            derivation.architecture_text(),
            g.meta(&format!("arch_synflow{suffix}")),
            "{file}{suffix} genotype"
        );
    }
}

/// The parse of the stored score matrices gives the stored genotype strings, for all four
/// variants (the train-mode ones are round-off, but the parse must still reproduce them).
fn check_stored_derivations(file: &str) {
    let g = Golden::open(file);
    for suffix in ["", "_f64", "_bneval", "_bneval_f64"] {
        let normal = g.get(&format!("synflow_score_normal{suffix}")).to_vec();
        let reduce = g.get(&format!("synflow_score_reduce{suffix}")).to_vec();
        let d = Derivation::darts(
            &[("normal".into(), &normal), ("reduce".into(), &reduce)],
            true,
        );
        assert_eq!(
            d.architecture_text(),
            g.meta(&format!("arch_synflow{suffix}")),
            "{file}{suffix}"
        );
    }
}

#[test]
fn stored_scores_derive_the_stored_genotypes() {
    check_stored_derivations("darts_tiny.safetensors");
    check_stored_derivations("darts8_seed0.safetensors");
}

#[test]
fn darts_tiny_matches_reference() {
    check_file("darts_tiny.safetensors");
}

#[test]
fn darts8_seed0_matches_reference() {
    check_file("darts8_seed0.safetensors");
}
