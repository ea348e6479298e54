//! Acceptance test of the NB201 engine: on the weights of the official code, our objective,
//! gradients, scores and architectures match the stored results (reference README §5.3).

mod common;

use burn::tensor::Device;
use common::{Golden, assert_close_to_max, assert_rel};
use freedarts::data::cifar::ImageBatch;
use freedarts::nn::ctx::{BnMode, Forward, PassParams, Precision, Transform, tensor_from, to_host};
use freedarts::nn::model::Model;
use freedarts::nn::params::HostParams;
use freedarts::nn::store::ParamStore;
use freedarts::saliency::alpha::{ProxyOutput, score_alpha};
use freedarts::saliency::{Scoring, Target, measure_by_name};
use freedarts::spaces::derive::derive_argmax;
use freedarts::spaces::nb201::supernet::{Nb201Config, Nb201Supernet};

struct Case {
    golden: Golden,
    net: Nb201Supernet,
    state: HostParams,
    batch: ImageBatch,
    device: Device,
    /// C16 N5 (SNIP/GraSP there come from heavy cancellation and get looser float32 bounds).
    large: bool,
}

fn case(file: &str) -> Case {
    let golden = Golden::open(file);
    let cfg = golden.config();
    let config = Nb201Config {
        channels: cfg["C"].as_u64().unwrap() as usize,
        cells_per_stage: cfg["N"].as_u64().unwrap() as usize,
        classes: cfg["num_classes"].as_u64().unwrap() as usize,
        input_size: 32,
    };
    let net = Nb201Supernet::new(config);
    let (state, ignored) = net.load_params(&golden.path).expect("golden weights load");
    assert!(ignored.iter().any(|n| n == "synflow_R"));
    let labels: Vec<i64> = golden.get("batch_y").iter().map(|&v| v as i64).collect();
    let batch = ImageBatch {
        images: golden.get("batch_x").iter().map(|&v| v as f32).collect(),
        n: labels.len(),
        labels,
        channels: 3,
        height: 32,
        width: 32,
        indices: (0..64).collect(),
    };
    Case {
        large: config.channels >= 16,
        golden,
        net,
        state,
        batch,
        device: Device::flex().autodiff(),
    }
}

impl Case {
    fn score(&self, measure: &str, precision: Precision, bn: BnMode) -> ProxyOutput {
        let measure = measure_by_name(measure).expect("a registered measure");
        let mut s = Scoring::new(
            &self.net,
            self.state.clone(),
            &self.device,
            Some(&self.batch),
            0,
        );
        let target = Target::Alpha {
            precision,
            bn,
            alpha_abs: true,
        };
        score_alpha(measure, &mut s, target).expect("scoring runs")
    }

    fn arch(&self, out: &ProxyOutput) -> String {
        derive_argmax(&out.groups[0].score).0.to_string()
    }

    /// The stored architecture also follows from the stored scores under our derivation.
    fn check_stored_derivation(&self, proc: &str, suffix: &str) {
        let stored = derive_argmax(self.golden.get(&format!("{proc}_score{suffix}"))).0;
        assert_eq!(
            stored.to_string(),
            self.golden.meta(&format!("arch_{proc}{suffix}"))
        );
    }
}

fn synflow_checks(file: &str) {
    let c = case(file);
    let g = &c.golden;
    for (suffix, precision, bn) in [
        ("", Precision::F32, BnMode::Train),
        ("_f64", Precision::F64, BnMode::Train),
        ("_bneval", Precision::F32, BnMode::Eval),
        ("_bneval_f64", Precision::F64, BnMode::Eval),
    ] {
        let out = c.score("synflow", precision, bn);
        let proc_name = "synflow";
        let name = |q: &str| format!("synflow_{q}{suffix}");
        let arch_key = format!("arch_synflow{suffix}");
        let f64_run = precision == Precision::F64;
        let bneval = bn == BnMode::Eval;
        let (value_tol, grad_tol) = match (f64_run, bneval) {
            (false, false) => (1e-5, 1e-4),
            (true, false) => (1e-10, 1e-9),
            (true, true) => (1e-10, 1e-8),
            (false, true) => (1e-5, f64::INFINITY), // architecture only (README §5.2 d)
        };
        assert_rel(
            &format!("{file} {}", name("R")),
            &[out.objective],
            &[g.scalar(&name("R"))],
            value_tol,
        );
        assert_rel(
            &format!("{file} {}", name("logits")),
            &out.logits,
            g.get(&name("logits")),
            value_tol,
        );
        if grad_tol.is_finite() {
            let grp = &out.groups[0];
            assert_close_to_max(
                &format!("{file} {}", name("grad")),
                &grp.grad,
                g.get(&name("grad")),
                grad_tol,
            );
            assert_close_to_max(
                &format!("{file} {}", name("score")),
                &grp.score,
                g.get(&name("score")),
                grad_tol,
            );
        }
        assert_eq!(c.arch(&out), g.meta(&arch_key), "{file} {arch_key}");
        c.check_stored_derivation(proc_name, suffix);
    }
}

#[test]
fn synflow_tiny_matches_reference() {
    synflow_checks("nb201_tiny.safetensors");
}

#[test]
fn synflow_c16_seed4_matches_reference_and_is_index_10400() {
    synflow_checks("nb201_c10_seed4.safetensors");
    let c = case("nb201_c10_seed4.safetensors");
    assert_eq!(
        c.golden.meta("arch_synflow"),
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|"
    );
}

#[test]
fn synflow_feature_matches_reference() {
    let c = case("nb201_tiny.safetensors");
    let store = ParamStore::new(c.net.registry(), &c.state, &c.device);
    let params = PassParams::new(&store, Precision::F64, |_| Transform::Abs, |_| false, None);
    let f = Forward::new(&params, BnMode::Train);
    let x = tensor_from(
        vec![1.0; 3 * 32 * 32],
        [1, 3, 32, 32],
        Precision::F64,
        &c.device,
    );
    let out = c.net.forward(&f, x);
    assert_rel(
        "synflow_feat_f64",
        &to_host(out.feature),
        c.golden.get("synflow_feat_f64"),
        1e-10,
    );
}

fn data_proxy_checks(file: &str) {
    let c = case(file);
    let g = &c.golden;
    for (suffix, precision) in [("", Precision::F32), ("_f64", Precision::F64)] {
        let out = c.score("snip", precision, BnMode::Train);
        let proc_name = "snip";
        let name = |q: &str| format!("snip_{q}{suffix}");
        let arch_key = format!("arch_snip{suffix}");
        let value_tol = if precision == Precision::F64 {
            1e-10
        } else {
            1e-5
        };
        let grad_tol = match (precision, c.large) {
            (Precision::F64, true) => 1e-7,
            (Precision::F64, false) => 1e-9,
            (Precision::F32, true) => 3e-2,
            (Precision::F32, false) => 1e-4,
        };
        assert_rel(
            &format!("{file} {}", name("L")),
            &[out.objective],
            &[g.scalar(&name("L"))],
            value_tol,
        );
        assert_close_to_max(
            &format!("{file} {}", name("logits")),
            &out.logits,
            g.get(&name("logits")),
            value_tol * 10.0,
        );
        assert_close_to_max(
            &format!("{file} {}", name("grad")),
            &out.groups[0].grad,
            g.get(&name("grad")),
            grad_tol,
        );
        assert_close_to_max(
            &format!("{file} {}", name("score")),
            &out.groups[0].score,
            g.get(&name("score")),
            grad_tol,
        );
        assert_eq!(c.arch(&out), g.meta(&arch_key), "{file} {arch_key}");
        c.check_stored_derivation(proc_name, suffix);
    }

    // GraSP always runs in float64: compare with the float64 reference to 1e-6 relative
    // (of the largest entry) and with the float32 one to the README's float32 bound.
    let out = c.score("grasp", Precision::F64, BnMode::Train);
    let grp = &out.groups[0];
    assert_rel(
        &format!("{file} grasp_L_f64"),
        &[out.objective],
        &[g.scalar("grasp_L_f64")],
        1e-10,
    );
    assert_close_to_max(
        &format!("{file} grasp_grad_f64"),
        &grp.grad,
        g.get("grasp_grad_f64"),
        1e-7,
    );
    let hg = grp.hessian_grad.as_ref().expect("GraSP reports H g");
    assert_close_to_max(
        &format!("{file} grasp_Hg_f64"),
        hg,
        g.get("grasp_Hg_f64"),
        1e-6,
    );
    assert_close_to_max(
        &format!("{file} grasp_score_f64"),
        &grp.score,
        g.get("grasp_score_f64"),
        1e-6,
    );
    let f32_tol = if c.large { 3e-2 } else { 1e-4 };
    assert_close_to_max(
        &format!("{file} grasp_score"),
        &grp.score,
        g.get("grasp_score"),
        f32_tol,
    );
    assert_eq!(
        c.arch(&out),
        g.meta("arch_grasp_f64"),
        "{file} grasp architecture"
    );
    assert_eq!(
        c.arch(&out),
        g.meta("arch_grasp"),
        "{file} grasp architecture"
    );
    c.check_stored_derivation("grasp", "");
    c.check_stored_derivation("grasp", "_f64");
}

#[test]
fn snip_and_grasp_tiny_match_reference() {
    data_proxy_checks("nb201_tiny.safetensors");
}

#[test]
fn snip_and_grasp_c16_seed4_match_reference() {
    data_proxy_checks("nb201_c10_seed4.safetensors");
}

#[test]
fn parameter_count_matches_official() {
    for (file, with_alpha) in [
        ("nb201_tiny.safetensors", 25_084),
        ("nb201_c10_seed4.safetensors", 1_686_136),
    ] {
        let c = case(file);
        assert_eq!(
            c.net.registry().trainable_count() + 30,
            with_alpha,
            "{file}"
        );
        assert_eq!(
            c.golden.meta("param_count").parse::<usize>().unwrap(),
            with_alpha
        );
    }
}
