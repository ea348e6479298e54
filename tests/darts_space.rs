//! DARTS-space properties that need no reference numbers: sizes from the papers, the
//! per-cell alpha space, and the command line.

mod common;

use freedarts::nn::ctx::{BnMode, Precision};
use freedarts::nn::model::Model;
use freedarts::saliency::Target;
use freedarts::search::{SpaceConfig, derive_and_check};
use freedarts::sizes::supernet_size;
use freedarts::spaces::darts::supernet::{DartsConfig, DartsSupernet};

#[test]
fn supernet_parameter_counts_match_the_official_logs() {
    let count = |c: DartsConfig| supernet_size(SpaceConfig::Darts(c)).unwrap().parameters;
    assert_eq!(count(DartsConfig::cifar(8)), 1_930_618);
    assert_eq!(count(DartsConfig::cifar(20)), 4_548_730);
    assert_eq!(count(DartsConfig::imagenet()), 25_512_016);
}

#[test]
fn nb201_supernet_size_matches_the_notebook_log() {
    let size = supernet_size(SpaceConfig::Nb201(Default::default())).unwrap();
    assert_eq!(size.parameters + size.alpha, 1_686_136);
    // The official notebook prints 243.71 MFLOPs (multiply-adds of conv and linear layers).
    assert_eq!((size.macs as f64 / 1e4).round() / 100.0, 243.71);
}

/// With every cell's alpha set to the shared value, the gradient of the shared alpha is the
/// sum of the per-cell gradients of the cells that share it (chain rule), so the per-cell
/// space is the shared space unrolled.
#[test]
fn per_cell_gradients_sum_to_the_shared_gradient() {
    let path = common::reference("darts_tiny.safetensors");
    let shared_cfg = DartsConfig {
        channels: 4,
        cells: 5,
        ..DartsConfig::cifar(5)
    };
    let per_cell_cfg = DartsConfig {
        alpha_per_cell: true,
        ..shared_cfg
    };
    let target = Target::Alpha {
        precision: Precision::F64,
        bn: BnMode::Eval,
        alpha_abs: false,
    };
    let shared_net = DartsSupernet::new(shared_cfg);
    let (shared_state, _) = shared_net.load_params(&path).unwrap();
    let shared = common::score_alpha_of(&shared_net, &shared_state, None, "synflow", target);
    let per_cell_net = DartsSupernet::new(per_cell_cfg);
    // No alpha_cell{i} in the file: every cell falls back to alpha_normal / alpha_reduce.
    let (per_cell_state, _) = per_cell_net.load_params(&path).unwrap();
    let per_cell = common::score_alpha_of(&per_cell_net, &per_cell_state, None, "synflow", target);
    assert_eq!(per_cell.groups.len(), 5);
    for (g, kind) in shared.groups.iter().zip([false, true]) {
        let mut sum = vec![0.0; g.grad.len()];
        for cell in 0..5 {
            if per_cell_net.is_reduction(cell) == kind {
                for (s, v) in sum.iter_mut().zip(&per_cell.groups[cell].grad) {
                    *s += v;
                }
            }
        }
        common::assert_close_to_max(&g.name, &sum, &g.grad, 1e-9);
    }
    let (derivation, _) = derive_and_check(&SpaceConfig::Darts(per_cell_cfg), &per_cell);
    let text = derivation.architecture_text();
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(text.starts_with("cell0: [('"), "{text}");
}

use common::freedarts;

#[test]
fn default_darts_search_prints_a_genotype_and_flags_the_noise() {
    let out = freedarts(&[
        "search",
        "--space",
        "darts",
        "--cells",
        "5",
        "--channels",
        "4",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("architecture: Genotype(normal=[('"), "{text}");
    assert!(text.contains("warning [alpha_insensitive]"), "{text}");
    assert!(text.contains("--bn eval"), "{text}");

    let out = freedarts(&[
        "search",
        "--space",
        "darts",
        "--cells",
        "5",
        "--channels",
        "4",
        "--bn",
        "eval",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(!text.contains("alpha_insensitive"), "{text}");
}

#[test]
fn space_flags_are_checked() {
    let err = |args: &[&str], needle: &str| {
        let out = freedarts(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.starts_with("error: ") && stderr.contains(needle),
            "{stderr}"
        );
    };
    err(
        &["search", "--cells", "20"],
        "--cells applies to --space darts",
    );
    err(
        &["search", "--space", "darts", "--cells-per-stage", "3"],
        "--cells-per-stage applies to --space nb201",
    );
    err(
        &["search", "--space", "darts", "--benchmark", "x.csv"],
        "needs --space nb201",
    );
    err(
        &["search", "--space", "darts", "--channels", "5"],
        "--channels must be even",
    );
    err(
        &["search", "--space", "darts-imagenet", "--input-size", "100"],
        "--input-size 100",
    );
}

/// Evaluation-network sizes against the official count (auxiliary head excluded): the DARTS
/// paper's DARTS_V2 and the FreeDARTS training logs (genotypes committed in the official
/// repository, parameters printed by its train.py).
#[test]
fn evaluation_network_parameter_counts_match_the_logs() {
    use freedarts::sizes::network_size;
    use freedarts::spaces::NetworkSpace;
    use freedarts::spaces::darts::network::EvalConfig;
    use freedarts::spaces::darts::{Genotype, darts_v2};
    let params = |g: &Genotype, c: EvalConfig| {
        let arch = c.parse(&g.to_string()).unwrap();
        network_size(&c, &arch).unwrap().parameters
    };
    assert_eq!(
        (params(&darts_v2(), EvalConfig::cifar()) as f64 / 1e3).round(),
        3349.0
    );
    assert_eq!(
        (params(&darts_v2(), EvalConfig::imagenet()) as f64 / 1e3).round(),
        4719.0
    );

    // SYNFLOW_ImageNet_oneshot_seed3, trained on CIFAR-10 at C=36: "param size = 4.140766MB".
    let imagenet_seed3: Genotype = "Genotype(normal=[('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 3), ('dil_conv_5x5', 0), ('sep_conv_3x3', 2), ('sep_conv_5x5', 1)], normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('dil_conv_5x5', 0), ('max_pool_3x3', 0), ('max_pool_3x3', 2), ('sep_conv_5x5', 0), ('sep_conv_5x5', 2), ('dil_conv_5x5', 4), ('sep_conv_3x3', 0)], reduce_concat=range(2, 6))".parse().unwrap();
    assert_eq!(params(&imagenet_seed3, EvalConfig::cifar()), 4_140_766);
    // SYNFLOW_oneshot_20cells_seed1 at C=38: 3.649872 M (CIFAR-10) and 3.704682 M (CIFAR-100).
    let dagger_seed1: Genotype = "Genotype(normal=[('avg_pool_3x3', 1), ('dil_conv_3x3', 0), ('sep_conv_3x3', 2), ('sep_conv_5x5', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('avg_pool_3x3', 3)], normal_concat=range(2, 6), reduce=[('avg_pool_3x3', 1), ('dil_conv_5x5', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('max_pool_3x3', 2), ('skip_connect', 0), ('sep_conv_5x5', 4)], reduce_concat=range(2, 6))".parse().unwrap();
    let c38 = |classes| EvalConfig {
        channels: 38,
        classes,
        ..EvalConfig::cifar()
    };
    assert_eq!(params(&dagger_seed1, c38(10)), 3_649_872);
    assert_eq!(params(&dagger_seed1, c38(100)), 3_704_682);
}
