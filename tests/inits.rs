//! `search --inits K`: the scores are the mean, over K weight initialisations, of the ln
//! saliencies that K plain searches at the documented seeds write; and bad settings get one
//! line.

mod common;

use serde_json::Value;

fn search(dir: &std::path::Path, name: &str, args: &[&str]) -> Value {
    let json = dir.join(name);
    let mut all = vec!["search", "--json", json.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = common::freedarts(&all);
    assert!(o.status.success(), "{args:?}: {}", common::stderr(&o));
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

fn scores(v: &Value) -> Vec<Vec<f64>> {
    v["proxy"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            g["score"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// Repeats the definition with plain searches: initialisation j has seed `seed + j * 2^32`,
/// and each op's importance is the mean of ln(max(saliency, smallest normal float64)).
#[test]
fn inits_average_the_log_saliencies_of_plain_searches() {
    let dir = common::temp_dir("inits");
    let seed: u64 = 5;
    let spaces: [&[&str]; 2] = [
        &["--channels", "4", "--cells-per-stage", "1"],
        &[
            "--space",
            "darts",
            "--channels",
            "4",
            "--cells",
            "3",
            "--bn",
            "eval",
            "--alpha-abs",
            "true",
        ],
    ];
    for (i, space) in spaces.iter().enumerate() {
        let seed_text = seed.to_string();
        let mut args = space.to_vec();
        args.extend_from_slice(&["--inits", "3", "--seed", &seed_text]);
        let combined = search(&dir, &format!("c{i}.json"), &args);
        assert_eq!(combined["provenance"]["options"]["inits"], 3);
        assert_eq!(combined["proxy"]["gradients"], false);
        let plain: Vec<Vec<Vec<f64>>> = (0..3u64)
            .map(|j| {
                let s = (seed + (j << 32)).to_string();
                let mut args = space.to_vec();
                args.extend_from_slice(&["--seed", &s]);
                scores(&search(&dir, &format!("p{i}_{j}.json"), &args))
            })
            .collect();
        let got = scores(&combined);
        let mut zero_seen = false;
        for (g, group) in got.iter().enumerate() {
            for (e, value) in group.iter().enumerate() {
                let logs: Vec<f64> = plain
                    .iter()
                    .map(|p| p[g][e].max(f64::MIN_POSITIVE).ln())
                    .collect();
                zero_seen |= plain.iter().all(|p| p[g][e] == 0.0);
                let want = logs.iter().sum::<f64>() / 3.0;
                assert!(
                    (value - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "space {i}, group {g}, entry {e}: {value} vs {want}"
                );
            }
        }
        // `none` passes nothing on, so its saliency is 0 in every draw: the floor is exercised.
        assert!(zero_seen, "space {i}: no op with a zero saliency");
        // Initialisation 0 is the plain search's own seed, alpha included.
        let alpha0 = &combined["proxy"]["groups"][0]["alpha"];
        let plain0: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("p{i}_0.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(alpha0, &plain0["proxy"]["groups"][0]["alpha"]);
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The DARTS space's `best` is one-shot SynFlow at eight initialisations, and says so.
#[test]
fn darts_best_preset_scores_eight_initialisations() {
    let dir = common::temp_dir("inits-preset");
    let v = search(
        &dir,
        "best.json",
        &[
            "--space",
            "darts",
            "--preset",
            "best",
            "--channels",
            "4",
            "--cells",
            "3",
        ],
    );
    assert_eq!(v["provenance"]["options"]["inits"], 8);
    let note = v["proxy"]["notes"][0].as_str().unwrap();
    assert!(note.contains("--inits 8"), "{note}");
    assert!(
        v["proxy"]["notes"][1]
            .as_str()
            .unwrap()
            .contains("mean over 8 weight initialisations"),
        "{}",
        v["proxy"]["notes"]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_inits_settings_get_one_line() {
    let reference = common::shared()
        .join("reference")
        .join("nb201_c10_seed4.safetensors");
    let reference = common::path(reference);
    for (args, want) in [
        (vec!["--inits", "0"], "0 is not in 1..=1000"),
        (vec!["--inits", "1001"], "1001 is not in 1..=1000"),
        (
            vec!["--inits", "2", "--strategy", "iterative"],
            "error: invalid setting: --inits applies to --strategy oneshot only",
        ),
        (
            vec!["--inits", "2", "--cross-check-f64"],
            "error: invalid setting: --cross-check-f64",
        ),
        (
            vec!["--inits", "2", "--init-from", &reference],
            "error: invalid setting: --inits draws its own weights",
        ),
        (
            vec!["--preset", "best", "--inits", "4"],
            "cannot be used with",
        ),
        (
            vec![
                "--inits",
                "2",
                "--proxy",
                "grasp",
                "--data",
                "synthetic",
                "--channels",
                "4",
                "--cells-per-stage",
                "1",
                "--batch-size",
                "4",
            ],
            "needs non-negative saliencies; grasp gave",
        ),
    ] {
        let mut all = vec!["search"];
        all.extend_from_slice(&args);
        let o = common::freedarts(&all);
        assert!(!o.status.success(), "{args:?}");
        let err = common::stderr(&o);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(err.starts_with("error:"), "{args:?}: {err}");
    }
}
