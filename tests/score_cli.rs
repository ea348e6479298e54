//! `freedarts score` and `freedarts correlate` end to end: resuming after a kill, shards,
//! settings checks, error messages.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{freedarts, path, stderr};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("freedarts-score-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

fn score(out: &Path, extra: &[&str]) -> std::process::Output {
    let o = path(out.to_path_buf());
    let mut args = vec![
        "score",
        "--archs",
        "sample:12",
        "--proxy",
        "synflow,params,random",
        "-o",
        &o,
        "-q",
    ];
    args.extend_from_slice(extra);
    freedarts(&args)
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn a_killed_and_resumed_run_writes_the_same_file() {
    let whole = tmp("whole.jsonl");
    let out = score(&whole, &["-j", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lines(&whole).len(), 13, "a header and 12 rows");

    // A real kill, as soon as a few rows are on disk.
    let killed = tmp("killed.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_freedarts"))
        .args([
            "score",
            "--archs",
            "sample:12",
            "--proxy",
            "synflow,params,random",
            "-q",
        ])
        .args(["-o", &path(killed.clone()), "-j", "2"])
        .spawn()
        .unwrap();
    while std::fs::read_to_string(&killed).map_or(0, |t| t.lines().count()) < 4 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("score exited ({status}) before writing 3 rows");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever the kill left, cut it to 3 rows and a torn fourth, as a kill mid-write would.
    let mut kept: String = lines(&killed)[..4]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    kept.push_str(&lines(&whole)[4][..20]);
    std::fs::write(&killed, kept).unwrap();

    let out = score(&killed, &["-j", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("3 already there, 9 scored"), "{report}");
    assert_eq!(
        std::fs::read(&whole).unwrap(),
        std::fs::read(&killed).unwrap(),
        "resumed file differs from the uninterrupted one"
    );
    // Running again has nothing left to do and leaves the file alone.
    let out = score(&killed, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("12 already there, 0 scored"));
    assert_eq!(
        std::fs::read(&whole).unwrap(),
        std::fs::read(&killed).unwrap()
    );
}

#[test]
fn shards_concatenate_into_the_whole_run() {
    let whole = tmp("whole-for-shards.jsonl");
    assert!(score(&whole, &[]).status.success());
    let mut rows = Vec::new();
    for i in 0..3 {
        let shard = tmp(&format!("shard{i}.jsonl"));
        let out = score(&shard, &["--shard", &format!("{i}/3")]);
        assert!(out.status.success(), "{}", stderr(&out));
        let l = lines(&shard);
        assert!(l[0].contains(&format!("\"shard\":\"{i}/3\"")));
        assert_eq!(l.len(), 5, "12 archs / 3 shards = 4 rows each");
        rows.extend(l[1..].to_vec());
    }
    let mut expected = lines(&whole)[1..].to_vec();
    rows.sort();
    expected.sort();
    assert_eq!(rows, expected);
}

#[test]
fn resuming_with_other_settings_is_refused() {
    let out_path = tmp("settings.jsonl");
    assert!(score(&out_path, &[]).status.success());
    let out = score(&out_path, &["--seed", "1"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("other settings") && err.contains("seed"),
        "{err}"
    );
}

#[test]
fn bad_input_is_one_clear_error() {
    let list = tmp("archs.txt");
    std::fs::write(
        &list,
        "# two cells\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|\n",
    )
    .unwrap();
    let out_path = tmp("bad.jsonl");
    let o = path(out_path.clone());
    let l = path(list.clone());
    let cases: Vec<(Vec<&str>, String)> = vec![
        (vec!["score", "--archs", &l, "-o", &o], format!("{l}:3")),
        (
            vec!["score", "--shard", "3/3", "-o", &o],
            "0 <= I < N".into(),
        ),
        (
            vec!["score", "--archs", "sample:0", "-o", &o],
            "sample:N".into(),
        ),
        (
            vec!["score", "--proxy", "synflow,bogus", "-o", &o],
            "unknown proxy `bogus`".into(),
        ),
        (vec!["score", "--proxy", "snip", "-o", &o], "--data".into()),
        (
            vec!["score", "--input-size", "7", "-o", &o],
            "--input-size 7 must be a positive multiple of 4".into(),
        ),
        (
            vec!["score", "--space", "darts", "--channels", "5", "-o", &o],
            "--channels must be even".into(),
        ),
    ];
    for (args, needle) in cases {
        let out = freedarts(&args);
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(&needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn correlate_reports_every_proxy_and_column() {
    let scores = tmp("for-correlate.jsonl");
    let out = freedarts(&[
        "score",
        "--archs",
        "sample:40",
        "--proxy",
        "synflow,params,random",
        "-q",
        "-o",
        &path(scores.clone()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (json, markdown) = (tmp("corr.json"), tmp("corr.md"));
    let bench = path(common::shared().join("data/nb201/accuracies.csv"));
    let out = freedarts(&[
        "correlate",
        &path(scores),
        "--benchmark",
        &bench,
        "-o",
        &path(json.clone()),
        "--markdown",
        &path(markdown.clone()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "cifar10_test",
        "imagenet16_valid",
        "synflow",
        "params",
        "random",
        "tau",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 3 * 6, "3 proxies x 6 accuracy columns");
    let synflow_c10 = results
        .iter()
        .find(|r| r["proxy"] == "synflow" && r["column"] == "cifar10_test")
        .unwrap();
    assert_eq!(synflow_c10["n"], 40);
    // On 40 random cells synflow still ranks clearly better than chance.
    assert!(
        synflow_c10["spearman"].as_f64().unwrap() > 0.4,
        "{synflow_c10}"
    );

    // The Markdown tables hold the JSON's numbers: a row per proxy and column, and the rho
    // table's cells in the order of its header.
    let md = std::fs::read_to_string(&markdown).unwrap();
    let rows: Vec<Vec<&str>> = md
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    assert_eq!(rows.len(), 3 * 6 + 3, "{md}");
    let rho_header: Vec<&str> = md
        .lines()
        .find(|l| l.starts_with("| Spearman rho |"))
        .unwrap()
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    assert_eq!(rho_header.len(), 7, "{md}");
    for r in results {
        let (proxy, column) = (r["proxy"].as_str().unwrap(), r["column"].as_str().unwrap());
        let name = format!("`{proxy}`");
        let rho = format!("{:.3}", r["spearman"].as_f64().unwrap());
        let full = rows
            .iter()
            .filter(|cells| cells[0] == name && cells.len() == 11)
            .nth(rho_header[1..].iter().position(|c| *c == column).unwrap())
            .unwrap();
        assert_eq!(
            (full[1], full[3]),
            (r["n"].to_string().as_str(), rho.as_str())
        );
        let matrix = rows.iter().find(|c| c[0] == name && c.len() == 7).unwrap();
        let at = rho_header.iter().position(|c| *c == column).unwrap();
        assert_eq!(matrix[at], rho, "{proxy} {column}");
    }
}

#[test]
fn correlate_draws_one_panel_per_proxy_with_every_point() {
    let scores = tmp("for-scatter.jsonl");
    let out = freedarts(&[
        "score",
        "--archs",
        "sample:30",
        "--proxy",
        "synflow,params",
        "-q",
        "-o",
        &path(scores.clone()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let bench = path(common::shared().join("data/nb201/accuracies.csv"));
    let svg = tmp("scatter.svg");
    let out = freedarts(&[
        "correlate",
        &path(scores.clone()),
        "--benchmark",
        &bench,
        "--draw",
        &path(svg.clone()),
        "--draw-column",
        "cifar100_test",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"));
    assert!(text.contains("log10(synflow)") && text.contains("cifar100_test accuracy"));
    // Every architecture is a point in both panels, except synflow zeros on the log axis.
    let zeros = lines(&scores)[1..]
        .iter()
        .filter(|l| l.contains("\"synflow\":0.0"))
        .count();
    assert_eq!(text.matches("<circle").count(), 60 - zeros, "{zeros} zeros");
    let out = freedarts(&[
        "correlate",
        &path(scores),
        "--benchmark",
        &bench,
        "--draw",
        &path(svg),
        "--draw-column",
        "bogus",
    ]);
    assert!(
        stderr(&out).contains("no results for accuracy column `bogus`"),
        "{}",
        stderr(&out)
    );
    assert!(!out.status.success());
}

/// DARTS genotypes in NetworkCIFAR: a named genotype's parameter count is the one `info`
/// reports (the official DARTS count), seeded samples repeat, and correlate refuses the file.
#[test]
fn darts_genotypes_score_in_network_cifar() {
    let list = tmp("genotypes.txt");
    std::fs::write(&list, "# the two DARTS cells\nDARTS_V1\nDARTS_V2\n").unwrap();
    let out_path = tmp("darts.jsonl");
    let o = path(out_path.clone());
    let l = path(list);
    let out = freedarts(&[
        "score",
        "--space",
        "darts",
        "--archs",
        &l,
        "--proxy",
        "synflow,params",
        "-q",
        "-o",
        &o,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<serde_json::Value> = lines(&out_path)[1..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let info = freedarts(&["info", "--space", "darts", "--genotype", "DARTS_V2"]);
    let info = String::from_utf8_lossy(&info.stdout).to_string();
    let params = rows[1]["params"].as_f64().unwrap();
    // DARTS reports 3.3M for DARTS_V2 in NetworkCIFAR (C=36, 20 cells).
    assert!(
        (params - 3.349342).abs() < 1e-6,
        "params {params}; info says:\n{info}"
    );
    assert!(
        rows[1]["arch"]
            .as_str()
            .unwrap()
            .starts_with("Genotype(normal=[('sep_conv_3x3', 0)")
    );
    assert!(rows.iter().all(|r| r["synflow"].as_f64().unwrap() > 0.0));

    let sample = |name: &str| {
        let p = tmp(name);
        let out = freedarts(&[
            "score",
            "--space",
            "darts",
            "--archs",
            "sample:3",
            "--proxy",
            "params",
            "--channels",
            "4",
            "--cells",
            "5",
            "-q",
            "-o",
            &path(p.clone()),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        lines(&p)
    };
    let (a, b) = (sample("d1.jsonl"), sample("d2.jsonl"));
    assert_eq!(a, b);
    assert_eq!(a.len(), 4);

    let bench = path(common::shared().join("data/nb201/accuracies.csv"));
    let out = freedarts(&["correlate", &o, "--benchmark", &bench]);
    assert!(!out.status.success() && stderr(&out).contains("darts score file"));
    for (args, needle) in [
        (
            vec!["score", "--space", "darts", "--archs", "all", "-o", &o],
            "NB201 cells only",
        ),
        (
            vec![
                "score",
                "--space",
                "darts",
                "--cells-per-stage",
                "2",
                "-o",
                &o,
            ],
            "--cells-per-stage applies",
        ),
        (vec!["score", "--cells", "8", "-o", &o], "--cells applies"),
    ] {
        let out = freedarts(&args);
        assert!(
            !out.status.success() && stderr(&out).contains(needle),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// A proxy whose header says smaller is better is ranked by its negation: the same numbers
/// negated and declared smaller-is-better give the same metrics.
#[test]
fn smaller_is_better_proxies_are_oriented() {
    let scores = tmp("orient.jsonl");
    let out = freedarts(&[
        "score",
        "--archs",
        "sample:25",
        "--proxy",
        "params",
        "-q",
        "-o",
        &path(scores.clone()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let flipped = tmp("orient-flipped.jsonl");
    let mut text = String::new();
    for (k, line) in lines(&scores).iter().enumerate() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if k == 0 {
            v["header"]["proxies"][0]["larger_is_better"] = false.into();
        } else {
            v["params"] = (-v["params"].as_f64().unwrap()).into();
        }
        text.push_str(&format!("{v}\n"));
    }
    std::fs::write(&flipped, text).unwrap();
    let bench = path(common::shared().join("data/nb201/accuracies.csv"));
    let report = |file: &Path| {
        let json = file.with_extension("corr.json");
        let out = freedarts(&[
            "correlate",
            &path(file.to_path_buf()),
            "--benchmark",
            &bench,
            "-o",
            &path(json.clone()),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        v["results"].clone()
    };
    let (a, b) = (report(&scores), report(&flipped));
    for (a, b) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
        for key in [
            "kendall_tau",
            "spearman",
            "pearson",
            "precision_at",
            "best_in_top",
        ] {
            assert_eq!(a[key], b[key], "{key}");
        }
        assert!(a["spearman"].as_f64().unwrap() > 0.3);
    }
}

/// `--benchmark` given twice joins NAS-Bench-201's index-keyed extra table to the accuracy
/// table: the same metrics as one file holding the column beside its arch (written here by
/// hand, in reverse order), and the standard columns keep theirs.
#[test]
fn a_second_benchmark_file_joins_by_index() {
    let scores = tmp("join.jsonl");
    let out = freedarts(&[
        "score",
        "--archs",
        "sample:40",
        "--proxy",
        "params,synflow",
        "-q",
        "-o",
        &path(scores.clone()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let nb201 = common::shared().join("data/nb201");
    let csv_rows = |name: &str| -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(nb201.join(name)).unwrap();
        text.lines()
            .map(|l| l.split(',').map(String::from).collect())
            .collect()
    };
    let (main, extra) = (csv_rows("accuracies.csv"), csv_rows("accuracies_extra.csv"));
    assert_eq!(
        (main[0][0].as_str(), main[0][1].as_str()),
        ("index", "arch")
    );
    let column = extra[0]
        .iter()
        .position(|c| c == "cifar10valid_test")
        .unwrap();
    let arch_of: std::collections::HashMap<&str, &str> = main[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    let mut by_hand = String::from("arch,cifar10valid_test\n");
    for r in extra[1..].iter().rev() {
        by_hand += &format!("{},{}\n", arch_of[r[0].as_str()], r[column]);
    }
    let hand = tmp("by-hand.csv");
    std::fs::write(&hand, by_hand).unwrap();
    let results = |benchmarks: &[PathBuf], columns: &str, tag: &str| {
        let json = tmp(&format!("join-{tag}.json"));
        let mut args = vec!["correlate".to_string(), path(scores.clone())];
        for b in benchmarks {
            args.extend(["--benchmark".to_string(), path(b.clone())]);
        }
        args.extend([
            "--columns".into(),
            columns.into(),
            "-o".into(),
            path(json.clone()),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = freedarts(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        (v["results"].clone(), v["joined_benchmarks"].clone())
    };
    let pair = [
        nb201.join("accuracies.csv"),
        nb201.join("accuracies_extra.csv"),
    ];
    let (joined, listed) = results(&pair, "cifar10_test,cifar10valid_test", "pair");
    let (alone, none) = results(&[hand], "cifar10valid_test", "hand");
    let (standard, _) = results(&pair[..1], "cifar10_test", "standard");
    assert_eq!(listed, serde_json::json!([path(pair[1].clone())]));
    assert!(none.is_null(), "no joined file, no field");
    let pick = |all: &serde_json::Value, column: &str| -> Vec<serde_json::Value> {
        let rows = all.as_array().unwrap().iter();
        rows.filter(|r| r["column"] == column).cloned().collect()
    };
    assert_eq!(
        pick(&joined, "cifar10valid_test"),
        pick(&alone, "cifar10valid_test")
    );
    assert_eq!(
        pick(&joined, "cifar10_test"),
        pick(&standard, "cifar10_test")
    );
    assert_eq!(
        pick(&joined, "cifar10valid_test").len(),
        2,
        "params and synflow"
    );
    // The two columns differ, so a join that ignored the index could not pass.
    assert_ne!(
        pick(&joined, "cifar10valid_test")[0]["spearman"],
        pick(&joined, "cifar10_test")[0]["spearman"]
    );

    let out = freedarts(&[
        "correlate",
        &path(scores),
        "--benchmark",
        &path(pair[0].clone()),
        "--benchmark",
        &path(pair[1].clone()),
    ]);
    assert!(
        !out.status.success()
            && stderr(&out)
                .contains("accuracies_extra.csv` line 1: the header has no accuracy column"),
        "{}",
        stderr(&out)
    );
}

/// Rewrites the header line `text[0]` as a build that defines `params` otherwise would write it.
fn redefine_params(text: &mut [String]) {
    let mut header: serde_json::Value = serde_json::from_str(&text[0]).unwrap();
    let proxies = header["header"]["proxies"].as_array_mut().unwrap();
    let params = proxies.iter_mut().find(|p| p["name"] == "params").unwrap();
    params["description"] = "parameters, counted another way".into();
    text[0] = header.to_string();
}

/// A file whose header defines a proxy otherwise (written by a build that computes it
/// differently) is not resumed: the error names the proxy and the build, and the file is
/// left as it was. A changed proxy list is named as the list.
#[test]
fn resuming_refuses_another_definition_of_a_proxy() {
    let p = tmp("definition.jsonl");
    let out = score(&p, &["-j", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut text = lines(&p);
    redefine_params(&mut text);
    text.truncate(4);
    let written = text.join("\n") + "\n";
    std::fs::write(&p, &written).unwrap();
    let out = score(&p, &[]);
    let err = stderr(&out);
    assert!(
        !out.status.success()
            && err
                .contains("proxies.params.description: \"parameters, counted another way\" there")
            && err.contains("computes this proxy differently"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&p).unwrap(), written);
    let mut args = vec![
        "score",
        "--archs",
        "sample:12",
        "--proxy",
        "synflow,params",
        "-q",
        "-o",
    ];
    let o = path(p.clone());
    args.push(&o);
    let out = freedarts(&args);
    assert!(
        stderr(&out)
            .contains(r#"proxies: ["synflow","params","random"] there, ["synflow","params"] now"#),
        "{}",
        stderr(&out)
    );
}

/// `score -o` on a file that is not a score file of ours refuses and leaves it untouched
/// (no torn-line truncation, no header appended after foreign rows).
#[test]
fn score_never_touches_a_foreign_file() {
    let cases = [
        ("precious.json", "{\"a\": 1}".to_string()),
        (
            "notes.txt",
            "line one\nline two without newline".to_string(),
        ),
        (
            "headerless.jsonl",
            "{\"arch\":\"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\",\"params\":0.1}\n"
                .into(),
        ),
    ];
    for (name, content) in cases {
        let p = tmp(name);
        std::fs::write(&p, &content).unwrap();
        let out = score(&p, &[]);
        assert!(!out.status.success(), "{name}: scored into a foreign file");
        assert!(
            stderr(&out).contains("is not a freedarts score file"),
            "{}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            content,
            "{name} was modified"
        );
    }
}

/// correlate refuses what it cannot compare: files of different networks or seeds, values
/// that are not numbers, and score files with nothing in the benchmark.
#[test]
fn correlate_refuses_incomparable_input() {
    let bench = path(common::shared().join("data/nb201/accuracies.csv"));
    let run = |name: &str, extra: &[&str]| {
        let p = tmp(name);
        let out = score(&p, extra);
        assert!(out.status.success(), "{}", stderr(&out));
        p
    };
    let (a, b) = (
        run("seed0.jsonl", &[]),
        run("seed1.jsonl", &["--seed", "1"]),
    );
    let out = freedarts(&[
        "correlate",
        &path(a.clone()),
        &path(b),
        "--benchmark",
        &bench,
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("another seed"),
        "{}",
        stderr(&out)
    );

    let mut text: Vec<String> = lines(&a);
    text[1] = text[1].replacen("\"params\":", "\"params\":\"big\",\"x\":", 1);
    let bad = tmp("not-a-number.jsonl");
    std::fs::write(&bad, text.join("\n") + "\n").unwrap();
    let out = freedarts(&["correlate", &path(bad), "--benchmark", &bench]);
    assert!(
        stderr(&out).contains("expected a number or null"),
        "{}",
        stderr(&out)
    );

    let tiny = tmp("tiny-bench.csv");
    std::fs::write(
        &tiny,
        "arch,cifar10_test\n|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_1x1~2|,10.0\n",
    )
    .unwrap();
    let header_only = tmp("header-only.jsonl");
    std::fs::write(&header_only, format!("{}\n", lines(&a)[0])).unwrap();
    for file in [&a, &header_only] {
        let out = freedarts(&[
            "correlate",
            &path(file.clone()),
            "--benchmark",
            &path(tiny.clone()),
        ]);
        assert!(
            !out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(stderr(&out).contains("none of the"), "{}", stderr(&out));
    }

    // A file whose build defined `params` otherwise (its header says so): its rows, of other
    // cells than the first file's, would pool two functions under one name.
    let mut text: Vec<String> = lines(&a);
    redefine_params(&mut text);
    text.truncate(2);
    let other = tmp("other-definition.jsonl");
    std::fs::write(&other, text.join("\n") + "\n").unwrap();
    let mut rows = lines(&a);
    rows.remove(1);
    let rest = tmp("rest.jsonl");
    std::fs::write(&rest, rows.join("\n") + "\n").unwrap();
    for pair in [[&rest, &other], [&other, &rest]] {
        let out = freedarts(&[
            "correlate",
            &path(pair[0].clone()),
            &path(pair[1].clone()),
            "--benchmark",
            &bench,
        ]);
        assert!(
            !out.status.success()
                && stderr(&out).contains("defines `params` as")
                && stderr(&out).contains("counted another way"),
            "{}",
            stderr(&out)
        );
    }
}

/// `--space darts-imagenet` places genotypes in NetworkImageNet (mobile setting): DARTS_V2 has
/// the 4.7 M parameters the DARTS paper reports for ImageNet, and the header names the space.
#[test]
fn darts_genotypes_score_in_network_imagenet() {
    let list = tmp("imagenet-genotypes.txt");
    std::fs::write(&list, "DARTS_V2\n").unwrap();
    let out_path = tmp("imagenet.jsonl");
    let out = freedarts(&[
        "score",
        "--space",
        "darts-imagenet",
        "--archs",
        &path(list),
        "--proxy",
        "params",
        "-q",
        "-o",
        &path(out_path.clone()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = lines(&out_path);
    let header: serde_json::Value = serde_json::from_str(&rows[0]).unwrap();
    assert_eq!(header["header"]["space"], "darts-imagenet");
    assert_eq!(header["header"]["network"]["input_size"], 224);
    let row: serde_json::Value = serde_json::from_str(&rows[1]).unwrap();
    let params = row["params"].as_f64().unwrap();
    assert!(
        (params - 4.7).abs() < 0.05,
        "DARTS_V2 on ImageNet: {params} M"
    );
}

/// A CIFAR batch is normalised with the space's own constants: the DARTS code's in the DARTS
/// space (named in the header), NAS-Bench-201's CIFAR-10 ones in NB201 (which every earlier
/// file used, so the header does not name them and those files still resume).
#[test]
fn score_batches_follow_the_space_normalisation() {
    let data = path(common::shared().join("data/cifar10/train_first200_exact.bin"));
    let header_of = |space: &str, skeleton: &[&str], name: &str| {
        let out_path = tmp(name);
        let mut args = vec![
            "score",
            "--space",
            space,
            "--archs",
            "sample:1",
            "--proxy",
            "snip",
            "--data",
            &data,
            "--batch-size",
            "2",
            "-q",
            "-o",
        ];
        let o = path(out_path.clone());
        args.push(&o);
        args.extend_from_slice(skeleton);
        let out = freedarts(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let h: serde_json::Value = serde_json::from_str(&lines(&out_path)[0]).unwrap();
        h["header"]["data"].clone()
    };
    let darts = header_of(
        "darts",
        &["--channels", "4", "--cells", "3"],
        "norm-darts.jsonl",
    );
    assert_eq!(darts["normalization"], "darts-cifar10");
    let nb201 = header_of(
        "nb201",
        &["--channels", "4", "--cells-per-stage", "1"],
        "norm-nb201.jsonl",
    );
    assert!(nb201.get("normalization").is_none(), "{nb201}");
}

/// A resume compares the image batch by its fingerprint, not by the path it was read from: the
/// same bytes under another path resume, a data file changed under the same path is refused
/// (before, it would have mixed rows of two batches in one file), and a file written before
/// fingerprints still resumes on its other settings. `correlate` merges on the same rule.
#[test]
fn resuming_and_merging_follow_the_images_not_their_path() {
    let original = common::shared().join("data/cifar10/train_first200_exact.bin");
    let (copy, other) = (tmp("batch-copy.bin"), tmp("batch-other.bin"));
    std::fs::copy(&original, &copy).unwrap();
    let mut changed = std::fs::read(&original).unwrap();
    changed[0] = (changed[0] + 1) % 10; // the first record's label
    std::fs::write(&other, changed).unwrap();
    let run_batch = |out: &Path, data: &Path, batch_size: &str| {
        let (o, d) = (path(out.to_path_buf()), path(data.to_path_buf()));
        freedarts(&[
            "score",
            "--archs",
            "sample:3",
            "--proxy",
            "snip,nwot",
            "--channels",
            "4",
            "--cells-per-stage",
            "1",
            "--batch-size",
            batch_size,
            "--data",
            &d,
            "-q",
            "-o",
            &o,
        ])
    };
    let run = |out: &Path, data: &Path| run_batch(out, data, "4");
    let whole = tmp("by-content.jsonl");
    let out = run(&whole, &original);
    assert!(out.status.success(), "{}", stderr(&out));
    let full = lines(&whole);
    let header: serde_json::Value = serde_json::from_str(&full[0]).unwrap();
    let sha = header["header"]["data"]["batch_sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64, "{header}");
    let cut = |file: &Path, text: &[String]| {
        std::fs::write(file, format!("{}\n{}\n", text[0], text[1])).unwrap();
    };

    // The same images read from a copy: resumed, and the file is the uninterrupted run's.
    cut(&whole, &full);
    let out = run(&whole, &copy);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lines(&whole), full);

    // One label changed: refused, naming the fingerprint, and the file is left as it was.
    cut(&whole, &full);
    let out = run(&whole, &other);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("other settings (data.batch_sha256")
            && stderr(&out).contains("has the data file changed?"),
        "{}",
        stderr(&out)
    );
    assert_eq!(lines(&whole).len(), 2);

    // A file from before fingerprints: resumed on the path and indices, header kept.
    let mut old = full.clone();
    old[0] = old[0].replace(&format!("\"batch_sha256\":\"{sha}\","), "");
    assert_ne!(old[0], full[0]);
    cut(&whole, &old);
    let out = run(&whole, &original);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(lines(&whole)[0], old[0]);
    assert_eq!(lines(&whole)[1..], full[1..]);

    // correlate: the old file merges with a run on its path; a run on the copy merges with a
    // run on the original, not with one on the changed batch.
    let fresh = tmp("fresh.jsonl");
    std::fs::write(&fresh, full.join("\n") + "\n").unwrap();
    let (by_copy, by_other) = (tmp("by-copy.jsonl"), tmp("by-other.jsonl"));
    for (out_path, data) in [(&by_copy, &copy), (&by_other, &other)] {
        let out = run(out_path, data);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let bench = path(common::shared().join("data/nb201/accuracies.csv"));
    let correlate = |a: &Path, b: &Path| {
        freedarts(&[
            "correlate",
            &path(a.to_path_buf()),
            &path(b.to_path_buf()),
            "--benchmark",
            &bench,
        ])
    };
    for (a, b) in [(&whole, &fresh), (&fresh, &by_copy)] {
        let out = correlate(a, b);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = correlate(&by_copy, &by_other);
    assert!(
        !out.status.success() && stderr(&out).contains("another data.batch_sha256"),
        "{}",
        stderr(&out)
    );

    // Two batches read from one path at different times, with a file from before fingerprints
    // on that path given first: the two are still compared with each other.
    let (before, after) = (tmp("before-change.jsonl"), tmp("after-change.jsonl"));
    std::fs::copy(&original, &other).unwrap();
    assert!(run(&before, &other).status.success());
    let mut changed = std::fs::read(&original).unwrap();
    changed[0] = (changed[0] + 1) % 10;
    std::fs::write(&other, changed).unwrap();
    assert!(run(&after, &other).status.success());
    let mut unmarked = lines(&before);
    let sha = serde_json::from_str::<serde_json::Value>(&unmarked[0]).unwrap()["header"]["data"]
        ["batch_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    unmarked[0] = unmarked[0].replace(&format!("\"batch_sha256\":\"{sha}\","), "");
    let old_file = tmp("unmarked.jsonl");
    std::fs::write(&old_file, unmarked.join("\n") + "\n").unwrap();
    let out = freedarts(&[
        "correlate",
        &path(old_file),
        &path(before),
        &path(after),
        "--benchmark",
        &bench,
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("another data.batch_sha256"),
        "{}",
        stderr(&out)
    );

    // A changed flag is named, not the fingerprint it also changes (`fresh` has one).
    let out = run_batch(&fresh, &original, "8");
    assert!(
        stderr(&out).contains("other settings (data.batch_size: 4 there, 8 now)"),
        "{}",
        stderr(&out)
    );
}
