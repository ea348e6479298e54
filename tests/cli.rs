//! The command line as a user meets it: the README's search, benchmark lookups, JSON output,
//! and one clear error line (never a panic) for bad input.

mod common;

use std::process::Output;

use common::{freedarts, path, stderr};

/// Fails, with one `error:` line first and no panic or backtrace.
fn assert_clean_error(out: &Output, needle: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected failure, stderr: {err}");
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[test]
fn default_search_with_benchmark_prints_three_datasets() {
    let bench = path(common::shared().join("data/nb201/accuracies.csv"));
    let out = freedarts(&["search", "--benchmark", &bench]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("architecture: |nor_conv_"), "{text}");
    for column in ["cifar10_test", "cifar100_test", "imagenet16_test"] {
        assert!(text.contains(column), "{column} missing: {text}");
    }
}

#[test]
fn json_result_reproduces_the_reference_and_records_provenance() {
    let weights = path(common::reference("nb201_c10_seed4.safetensors"));
    let dir = std::env::temp_dir().join(format!("freedarts-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json_path = dir.join("result.json");
    let mut results = Vec::new();
    for _ in 0..2 {
        let out = freedarts(&[
            "search",
            "--init-from",
            &weights,
            "--json",
            &path(json_path.clone()),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
        results.push(v);
    }
    let v = &results[0];
    assert_eq!(v["schema"], "freedarts.search/1");
    let golden = common::Golden::open("nb201_c10_seed4.safetensors");
    assert_eq!(v["architecture"], golden.meta("arch_synflow"));
    assert_eq!(v["provenance"]["options"]["proxy"], "synflow");
    assert_eq!(v["provenance"]["options"]["dtype"], "f32");
    assert!(v["provenance"]["freedarts_version"].is_string());
    assert_eq!(
        v["proxy"]["groups"][0]["score"].as_array().unwrap().len(),
        30
    );
    // Same inputs, same numbers.
    assert_eq!(results[0]["proxy"], results[1]["proxy"]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_inputs_are_one_clear_error() {
    let tiny = path(common::reference("nb201_tiny.safetensors"));
    let darts = path(common::reference("darts_tiny.safetensors"));
    let csv = path(common::shared().join("data/nb201/accuracies.csv"));
    let cifar = path(common::shared().join("data/cifar10/train_first200_exact.bin"));

    assert_clean_error(
        &freedarts(&["search", "--init-from", &tiny]),
        "has shape [4, 3, 3, 3], expected [16, 3, 3, 3]",
    );
    assert_clean_error(
        &freedarts(&[
            "search",
            "--init-from",
            &darts,
            "--channels",
            "4",
            "--cells-per-stage",
            "1",
        ]),
        "unexpected tensor `cells.0._ops",
    );
    assert_clean_error(
        &freedarts(&["search", "--init-from", &csv]),
        "not a valid safetensors file",
    );
    assert_clean_error(
        &freedarts(&["search", "--init-from", "/no/such/file.safetensors"]),
        "/no/such/file.safetensors",
    );
    assert_clean_error(&freedarts(&["search", "--proxy", "snip"]), "--data");
    assert_clean_error(
        &freedarts(&["search", "--proxy", "snip", "--data", "/no/such.bin"]),
        "/no/such.bin",
    );
    assert_clean_error(
        &freedarts(&[
            "search",
            "--proxy",
            "snip",
            "--data",
            &cifar,
            "--classes",
            "5",
        ]),
        "out of range for 5 classes",
    );
    assert_clean_error(
        &freedarts(&["search", "--input-size", "30"]),
        "--input-size 30",
    );
    assert_clean_error(&freedarts(&["search", "--benchmark", &tiny]), &tiny);

    // clap rejects unknown values itself, naming the flag.
    let out = freedarts(&["search", "--proxy", "nope"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--proxy"), "{}", stderr(&out));
}

#[test]
fn snip_runs_on_real_data_and_grasp_on_synthetic() {
    let cifar = path(common::shared().join("data/cifar10/train_first200_exact.bin"));
    let out = freedarts(&[
        "search",
        "--proxy",
        "snip",
        "--data",
        &cifar,
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = freedarts(&[
        "search",
        "--proxy",
        "grasp",
        "--data",
        "synthetic",
        "--batch-size",
        "8",
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("float64 central difference"));
}

#[test]
fn draw_and_html_outputs_are_written_and_self_contained() {
    let dir = std::env::temp_dir().join(format!("freedarts-draw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (svg, dot, html) = (dir.join("c.svg"), dir.join("c.dot"), dir.join("r.html"));
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
        "--draw",
        &path(svg.clone()),
        "--html",
        &path(html.clone()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("sep_conv") && svg.trim_end().ends_with("</svg>")
    );
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.contains("Genotype(normal=") && html.contains("<svg"));
    let without_ns = html.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !without_ns.contains("http://")
            && !without_ns.contains("https://")
            && !without_ns.contains("src=")
    );
    let out = freedarts(&[
        "search",
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
        "--draw",
        &path(dot.clone()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dot = std::fs::read_to_string(dot).unwrap();
    assert!(
        dot.starts_with("digraph") && dot.matches("->").count() >= 6,
        "{dot}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn exported_weights_reproduce_the_run() {
    let dir = std::env::temp_dir().join(format!("freedarts-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for space in [
        vec!["--channels", "4", "--cells-per-stage", "1", "--seed", "3"],
        vec![
            "--space",
            "darts",
            "--cells",
            "5",
            "--channels",
            "4",
            "--seed",
            "3",
            "--bn",
            "eval",
        ],
    ] {
        let weights = path(dir.join("w.safetensors"));
        let (a, b) = (path(dir.join("a.json")), path(dir.join("b.json")));
        let mut first = vec!["search"];
        first.extend(&space);
        first.extend(["--export-weights", &weights, "--json", &a]);
        let out = freedarts(&first);
        assert!(out.status.success(), "{}", stderr(&out));
        let mut second = vec!["search"];
        second.extend(&space);
        second.extend(["--init-from", &weights, "--json", &b]);
        let out = freedarts(&second);
        assert!(out.status.success(), "{}", stderr(&out));
        let read = |p: &str| -> serde_json::Value {
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
        };
        let (va, vb) = (read(&a), read(&b));
        assert_eq!(va["proxy"], vb["proxy"], "{space:?}");
        assert_eq!(va["architecture"], vb["architecture"]);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `info` sizes the evaluation networks through the space: a skeleton that cannot be built is
/// refused before anything is built (these panicked once: a division by zero, an index out of
/// bounds), and DARTS_V2 has the parameter counts of the DARTS paper (3.3 M CIFAR, 4.7 M
/// ImageNet).
#[test]
fn info_sizes_genotypes_and_refuses_impossible_networks() {
    let out = freedarts(&["info", "--space", "darts", "--genotype", "DARTS_V2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NetworkCIFAR evaluation network") && text.contains("(3349342)"));
    assert!(text.contains("NetworkImageNet evaluation network") && text.contains("(4718752)"));
    for flag in ["--eval-channels", "--eval-cells", "--eval-classes"] {
        let out = freedarts(&["info", "--genotype", "DARTS_V2", flag, "0"]);
        assert_clean_error(&out, flag);
    }
}
