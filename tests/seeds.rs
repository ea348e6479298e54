//! The property the official code shows: SynFlow-FreeDARTS on NB201 (C=16, N=5, CIFAR-10
//! head, train-mode BN, |alpha|) picks conv-only cells, whatever the seed.

mod common;

use burn::tensor::Device;
use freedarts::search::{SearchOptions, run_search};
use freedarts::spaces::nb201::Nb201Op;

#[test]
fn synflow_picks_conv_only_cells_for_seeds_0_to_9() {
    let device = Device::flex().autodiff();
    for seed in 0..10 {
        let opts = SearchOptions {
            seed,
            ..SearchOptions::default()
        };
        let result = run_search(&opts, &device).expect("search runs");
        let arch = freedarts::spaces::nb201::Nb201Arch::parse(&result.architecture).unwrap();
        assert!(
            arch.ops
                .iter()
                .all(|op| matches!(op, Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3)),
            "seed {seed}: {}",
            result.architecture
        );
        assert!(
            result.warnings.is_empty(),
            "seed {seed}: {:?}",
            result.warnings
        );
    }
}

#[test]
fn seeds_flag_reports_accuracy_spread_and_op_wins() {
    let json = std::env::temp_dir().join(format!("freedarts-seeds-{}.json", std::process::id()));
    let bench = common::path(common::shared().join("data/nb201/accuracies.csv"));
    let out = common::freedarts(&[
        "search",
        "--seeds",
        "0..3",
        "--benchmark",
        &bench,
        "--json",
        &common::path(json.clone()),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("over 4 seeds") && text.contains("cifar10_test"),
        "{text}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["seeds"], serde_json::json!([0, 1, 2, 3]));
    let runs = report["runs"].as_array().unwrap();
    // Each run is the same search as `--seed k` alone.
    for (k, run) in runs.iter().enumerate() {
        let single = run_search(
            &SearchOptions {
                seed: k as u64,
                ..SearchOptions::default()
            },
            &Device::flex().autodiff(),
        )
        .unwrap();
        assert_eq!(run["architecture"], single.architecture.as_str());
    }
    // Every edge was won by exactly one op per seed.
    let wins = &report["op_wins"][0];
    let cols = wins["cols"].as_array().unwrap().len();
    for row in wins["counts"].as_array().unwrap().chunks(cols) {
        assert_eq!(row.iter().map(|c| c.as_u64().unwrap()).sum::<u64>(), 4);
    }
    let c10 = report["accuracy"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == "cifar10_test")
        .unwrap();
    let accs: Vec<f64> = runs
        .iter()
        .map(|r| {
            r["accuracies"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p[0] == "cifar10_test")
                .unwrap()[1]
                .as_f64()
                .unwrap()
        })
        .collect();
    let mean = accs.iter().sum::<f64>() / 4.0;
    assert!((c10["mean"].as_f64().unwrap() - mean).abs() < 1e-9);
    let out = common::freedarts(&["search", "--seeds", "3..1"]);
    assert!(!out.status.success() && common::stderr(&out).contains("--seeds"));
}

/// A benchmark file holding only some of the found cells: the statistics cover the seeds it
/// holds and the others are named, never a crash.
#[test]
fn seeds_with_a_partial_benchmark_name_the_missing_cells() {
    let dir = std::env::temp_dir().join(format!("freedarts-seeds-part-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let full = std::fs::read_to_string(common::shared().join("data/nb201/accuracies.csv")).unwrap();
    let seed0 = run_search(&SearchOptions::default(), &Device::flex().autodiff()).unwrap();
    let mut lines = full.lines();
    let mut part = format!("{}\n", lines.next().unwrap());
    part.extend(
        lines
            .filter(|l| l.contains(&format!(",{},", seed0.architecture)))
            .map(|l| format!("{l}\n")),
    );
    let csv = dir.join("part.csv");
    std::fs::write(&csv, part).unwrap();
    let out = common::freedarts(&[
        "search",
        "--seeds",
        "0..1",
        "--benchmark",
        &common::path(csv),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(over 1 seeds)") && text.contains("seeds [1] are not in the benchmark"),
        "{text}"
    );
    let out = common::freedarts(&["search", "--seeds", "0..100000000"]);
    assert!(!out.status.success() && common::stderr(&out).contains("at most 10000 seeds"));
}
