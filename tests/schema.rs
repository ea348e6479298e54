//! Real `search --json` output validates against the documented schema
//! (docs/schema/search-result.v1.json), and the validator does reject broken output.

mod common;

fn schema() -> jsonschema::Validator {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema/search-result.v1.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn search_json(args: &[&str]) -> serde_json::Value {
    // A fresh folder per call: the tests of this file run in parallel.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("freedarts-schema-{}-{call}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = common::path(dir.join("out.json"));
    let mut full = vec!["search"];
    full.extend_from_slice(args);
    full.extend(["--json", &json]);
    let out = common::freedarts(&full);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let v = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    v
}

fn assert_valid(v: &serde_json::Value) {
    let validator = schema();
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "schema violations: {errors:#?}");
}

#[test]
fn search_outputs_match_the_schema() {
    let bench = common::shared().join("data/nb201/accuracies.csv");
    let small_nb201 = ["--channels", "4", "--cells-per-stage", "1"];
    let mut runs: Vec<Vec<String>> = vec![
        vec!["--benchmark".into(), bench.to_string_lossy().into()],
        [
            &small_nb201[..],
            &[
                "--proxy",
                "grasp",
                "--data",
                "synthetic",
                "--batch-size",
                "4",
            ],
        ]
        .concat()
        .iter()
        .map(|s| s.to_string())
        .collect(),
        [
            "--space",
            "darts",
            "--cells",
            "5",
            "--channels",
            "4",
            "--cross-check-f64",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        [
            "--space",
            "darts",
            "--cells",
            "5",
            "--channels",
            "4",
            "--alpha-per-cell",
            "--bn",
            "eval",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        [&small_nb201[..], &["--strategy", "iterative"]]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect(),
        [
            &small_nb201[..],
            &[
                "--refine",
                "local",
                "--refine-proxy",
                "synflow",
                "--refine-steps",
                "2",
            ],
        ]
        .concat()
        .iter()
        .map(|s| s.to_string())
        .collect(),
    ];
    for args in runs.drain(..) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = search_json(&args);
        assert_valid(&v);
    }
}

#[test]
fn the_validator_rejects_broken_results() {
    let mut v = search_json(&["--channels", "4", "--cells-per-stage", "1"]);
    assert_valid(&v);
    let validator = schema();
    v["proxy"]["groups"][0]
        .as_object_mut()
        .unwrap()
        .remove("score");
    assert!(!validator.is_valid(&v), "a group without scores passed");
    let mut v2 = search_json(&["--channels", "4", "--cells-per-stage", "1"]);
    v2["derivation"]["edges"].as_array_mut().unwrap().pop();
    assert!(
        !validator.is_valid(&v2),
        "an NB201 derivation with 5 edges passed"
    );
}

fn score_file_schema() -> jsonschema::Validator {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema/score-file.v1.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// Every line of real `score` files (both spaces, with and without images) validates, and
/// broken lines do not.
#[test]
fn score_files_match_the_schema() {
    let dir = std::env::temp_dir().join(format!("freedarts-schema-score-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let validator = score_file_schema();
    let runs: [&[&str]; 5] = [
        &[
            "--archs",
            "sample:5",
            "--proxy",
            "synflow,params,flops,random",
        ],
        &[
            "--archs",
            "sample:2",
            "--proxy",
            "snip,grasp,fisher,grad_norm,jacob_cov,nwot",
            "--data",
            "synthetic",
            "--batch-size",
            "4",
            "--channels",
            "4",
            "--cells-per-stage",
            "1",
        ],
        &[
            "--space",
            "darts",
            "--archs",
            "sample:2",
            "--proxy",
            "synflow,params",
            "--channels",
            "4",
            "--cells",
            "5",
        ],
        // The optional header keys: a preset and its rank aggregate.
        &[
            "--preset",
            "best",
            "--archs",
            "sample:2",
            "--batch-size",
            "4",
            "--channels",
            "4",
            "--cells-per-stage",
            "1",
        ],
        &[
            "--space",
            "darts-imagenet",
            "--archs",
            "sample:1",
            "--proxy",
            "synflow,params",
            "--channels",
            "4",
            "--cells",
            "3",
        ],
    ];
    let mut lines = Vec::new();
    for (k, args) in runs.iter().enumerate() {
        let out_path = dir.join(format!("s{k}.jsonl"));
        let o = common::path(out_path.clone());
        let mut all = vec!["score", "-q", "-o", &o];
        all.extend_from_slice(args);
        let out = common::freedarts(&all);
        assert!(out.status.success(), "{}", common::stderr(&out));
        for line in std::fs::read_to_string(&out_path).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&v)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{line}: {errors:#?}");
            lines.push(v);
        }
    }
    let mut header = lines[0].clone();
    header["header"]["shard"] = "1 of 4".into();
    let mut row = lines[1].clone();
    row["synflow"] = "big".into();
    let mut arch = lines[1].clone();
    arch["arch"] = "|conv~0|".into();
    let mut preset = lines
        .iter()
        .find(|v| v["header"]["preset"] == "best")
        .expect("the preset run's header")
        .clone();
    preset["header"]["ensembles"] = serde_json::json!(["synflow"]);
    for bad in [header, row, arch, preset] {
        assert!(!validator.is_valid(&bad), "accepted {bad}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
