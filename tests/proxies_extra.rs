//! The issue-10 additions end to end: ZiCo, MeCo and Zen-score in `score`, rank aggregates in
//! `correlate`, the per-op importance measure `correlate --supernet`, the presets, and their
//! refusals of bad flags.

mod common;

use serde_json::Value;

use freedarts::spaces::darts::{Genotype, node_rows};

fn rows(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Three cells, three new proxies, twice: the same numbers, all finite.
#[test]
fn new_proxies_are_deterministic_and_finite() {
    let dir = common::temp_dir("newproxies");
    let run = |name: &str| {
        let out = dir.join(name);
        let o = common::freedarts(&[
            "score",
            "--archs",
            "sample:3",
            "--channels",
            "4",
            "--cells-per-stage",
            "1",
            "--proxy",
            "zico,meco,zen",
            "--data",
            "synthetic",
            "--batch-size",
            "8",
            "-q",
            "-o",
            &common::path(out.clone()),
        ]);
        assert!(o.status.success(), "{}", common::stderr(&o));
        rows(&out)
    };
    let a = run("a.jsonl");
    assert_eq!(a, run("b.jsonl"));
    for row in &a {
        for p in ["zico", "meco", "zen", "zen_expressivity", "zen_bn"] {
            assert!(row[p].as_f64().is_some_and(f64::is_finite), "{p}: {row}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// An aggregate recorded by `score --ensemble` is the mean of its members' ranks over the
/// cells, recomputed here from the rows.
#[test]
fn correlate_adds_rank_aggregates() {
    let dir = common::temp_dir("ensemble");
    let scores = dir.join("s.jsonl");
    let o = common::freedarts(&[
        "score",
        "--archs",
        "sample:12",
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
        "--proxy",
        "synflow,params",
        "--ensemble",
        "synflow+params",
        "-q",
        "-o",
        &common::path(scores.clone()),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let report = dir.join("c.json");
    let bench = common::shared().join("data/nb201/accuracies.csv");
    let o = common::freedarts(&[
        "correlate",
        &common::path(scores.clone()),
        "--benchmark",
        &common::path(bench),
        "--columns",
        "cifar10_test",
        "-o",
        &common::path(report.clone()),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(text.contains("synflow+params"), "{text}");
    // Ranks by hand: 1 = lowest; ties share the mean.
    let rs = rows(&scores);
    let rank = |key: &str| {
        let v: Vec<f64> = rs.iter().map(|r| r[key].as_f64().unwrap()).collect();
        v.iter()
            .map(|x| {
                let below = v.iter().filter(|y| *y < x).count() as f64;
                let equal = v.iter().filter(|y| *y == x).count() as f64;
                below + (equal + 1.0) / 2.0
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (rank("synflow"), rank("params"));
    let mean: Vec<f64> = a.iter().zip(&b).map(|(x, y)| (x + y) / 2.0).collect();
    let acc = freedarts::benchmark::Nb201Benchmark::load(
        &common::shared().join("data/nb201/accuracies.csv"),
    )
    .unwrap();
    let column = acc.column_index("cifar10_test").unwrap();
    let accuracy: Vec<f64> = rs
        .iter()
        .map(|r| {
            let arch =
                freedarts::spaces::nb201::Nb201Arch::parse(r["arch"].as_str().unwrap()).unwrap();
            acc.accuracies(&arch).unwrap()[column]
        })
        .collect();
    let want = freedarts::correlate::metrics::spearman(&mean, &accuracy);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let got = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["proxy"] == "synflow+params")
        .expect("the aggregate is a result")["spearman"]
        .as_f64()
        .unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    // An aggregate of a proxy the files do not have is refused with one line.
    let o = common::freedarts(&[
        "correlate",
        &common::path(scores),
        "--benchmark",
        &common::path(common::shared().join("data/nb201/accuracies.csv")),
        "--ensemble",
        "synflow+nwot",
    ]);
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).starts_with("error: --ensemble synflow+nwot"),
        "{}",
        common::stderr(&o)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `correlate --supernet` sums the result's importances over each genotype's 16 choices.
#[test]
fn supernet_correlation_sums_importances() {
    let dir = common::temp_dir("supernet");
    let json = dir.join("r.json");
    let o = common::freedarts(&[
        "search",
        "--space",
        "darts",
        "--channels",
        "4",
        "--cells",
        "3",
        "--json",
        &common::path(json.clone()),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let genotypes = common::shared().join("data/nb301/dev.csv");
    let out = dir.join("c.json");
    let o = common::freedarts(&[
        "correlate",
        "--supernet",
        &common::path(json.clone()),
        "--genotypes",
        &common::path(genotypes.clone()),
        "-o",
        &common::path(out.clone()),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let c: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(c["n"], 363);
    assert!(c["spearman"].as_f64().unwrap().abs() <= 1.0);
    // The first genotype's sum, by hand from the result's matrices.
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut reader = csv::Reader::from_path(&genotypes).unwrap();
    let first = reader.records().next().unwrap().unwrap();
    let g = Genotype::parse(&first[0]).unwrap();
    let mut want = 0.0;
    for (name, cell) in [("normal", &g.normal), ("reduce", &g.reduce)] {
        let group = r["proxy"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap();
        let cols: Vec<&str> = group["cols"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        for (k, gene) in cell.genes.iter().enumerate() {
            let row = node_rows(2 + k / 2).start + gene.input;
            let col = cols.iter().position(|c| *c == gene.op.name()).unwrap();
            want += group["score"][row * cols.len() + col].as_f64().unwrap();
        }
    }
    let got = c["scores"][0].as_f64().unwrap();
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{got} vs {want}"
    );
    // An NB201 result is refused.
    let nb = dir.join("nb.json");
    let o = common::freedarts(&[
        "search",
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
        "--json",
        &common::path(nb.clone()),
    ]);
    assert!(o.status.success());
    let o = common::freedarts(&[
        "correlate",
        "--supernet",
        &common::path(nb),
        "--genotypes",
        &common::path(genotypes),
    ]);
    assert!(!o.status.success());
    assert!(
        common::stderr(&o).starts_with("error:"),
        "{}",
        common::stderr(&o)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A preset runs with no other flag, and the result says what it expanded to.
#[test]
fn presets_record_their_expansion() {
    let dir = common::temp_dir("preset");
    let json = dir.join("best.json");
    // `search --preset best` on a tiny skeleton with `extra` flags; its JSON result.
    let best = |extra: &[&str]| -> Value {
        let json_path = common::path(json.clone());
        let mut args = vec![
            "search",
            "--preset",
            "best",
            "--channels",
            "4",
            "--cells-per-stage",
            "1",
            "--json",
            &json_path,
        ];
        args.extend_from_slice(extra);
        let o = common::freedarts(&args);
        assert!(o.status.success(), "{}", common::stderr(&o));
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
    };
    let v = best(&[]);
    assert_eq!(v["provenance"]["options"]["preset"], "best");
    let note = v["proxy"]["notes"][0].as_str().unwrap();
    assert!(note.starts_with("preset best: --strategy"), "{note}");
    // NB201's best refines the perturb search's cell by its best single edit, on 16
    // generated images.
    assert!(
        note.contains(
            "--refine local --refine-proxy synflow*-grad_norm --refine-inits 1 --refine-steps 1"
        ) && note.contains("--data synthetic --batch-size 16"),
        "{note}"
    );
    assert_eq!(v["refine"]["expanded"].as_array().unwrap().len(), 1);
    assert_eq!(v["refine"]["arch"], v["architecture"]);
    // A batch size given replaces the preset's, even when it is the default one (64 was once
    // taken for "not given" and silently became 16).
    let v = best(&["--batch-size", "64"]);
    let note = v["proxy"]["notes"][0].as_str().unwrap();
    assert!(note.contains("--batch-size 64"), "{note}");
    assert_eq!(v["provenance"]["options"]["batch_size"], 64);
    let scores = dir.join("s.jsonl");
    let o = common::freedarts(&[
        "score",
        "--preset",
        "best",
        "--archs",
        "sample:2",
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
        "--batch-size",
        "8",
        "-q",
        "-o",
        &common::path(scores.clone()),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = std::fs::read_to_string(&scores).unwrap();
    let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["header"]["preset"], "best");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_strategy_flags_get_one_line() {
    for (args, want) in [
        (
            vec!["search", "--strategy", "perturb"],
            "error: invalid setting: --strategy perturb",
        ),
        (
            vec!["search", "--perturb-proxy", "nwot"],
            "error: invalid setting: --strategy perturb",
        ),
        (
            vec![
                "search",
                "--strategy",
                "perturb",
                "--perturb-proxy",
                "bogus",
            ],
            "unknown proxy `bogus`",
        ),
        (
            vec![
                "search",
                "--strategy",
                "perturb",
                "--perturb-proxy",
                "nwot+zen*snip",
            ],
            "mixes `+` and `*`",
        ),
        (
            vec!["search", "--preset", "best", "--proxy", "snip"],
            "cannot be used with",
        ),
        // Every other setting a preset makes is refused beside it too, not silently replaced.
        (
            vec!["search", "--preset", "best", "--bn", "eval"],
            "cannot be used with",
        ),
        (
            vec!["search", "--preset", "best", "--alpha-abs", "false"],
            "cannot be used with",
        ),
        (
            vec!["search", "--preset", "best", "--refine-proxy", "nwot"],
            "cannot be used with",
        ),
        (
            vec!["search", "--preset", "freedarts", "--refine-steps", "2"],
            "cannot be used with",
        ),
        (
            vec![
                "score",
                "-o",
                "never-written.jsonl",
                "--ensemble",
                "synflow+nwot",
            ],
            "not among the scored proxies",
        ),
        (
            vec!["score", "-o", "never-written.jsonl", "--ensemble=-synflow"],
            "needs two proxies or more",
        ),
    ] {
        let o = common::freedarts(&args);
        assert!(!o.status.success(), "{args:?}");
        let err = common::stderr(&o);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(err.contains("error:"), "{args:?}: {err}");
    }
}

/// A cell whose output ignores its input (every edge `none`) gets a number or null from every
/// proxy, never a crash: nothing reaches the objective, so every gradient is zero.
#[test]
fn a_cell_of_none_scores_with_every_proxy() {
    let dir = common::temp_dir("nonecell");
    let archs = dir.join("a.txt");
    std::fs::write(&archs, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n").unwrap();
    let out = dir.join("s.jsonl");
    let o = common::freedarts(&[
        "score",
        "--archs",
        &common::path(archs),
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
        "--proxy",
        "all",
        "--data",
        "synthetic",
        "--batch-size",
        "8",
        "-q",
        "-o",
        &common::path(out.clone()),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert_eq!(rows(&out).len(), 1);
    std::fs::remove_dir_all(&dir).ok();
}
