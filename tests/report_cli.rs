//! `freedarts report`: a saved result gives back the page `search --html` wrote, byte for byte;
//! the page parses in a real browser into the document we wrote; bad input is one clear line.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{freedarts, path, stderr};

/// A small DARTS supernet with one alpha per cell: fast, and the most involved result layout.
const SMALL_DARTS_PER_CELL: [&str; 7] = [
    "--space",
    "darts",
    "--cells",
    "5",
    "--channels",
    "4",
    "--alpha-per-cell",
];

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("freedarts-report-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn benchmark() -> String {
    path(common::shared().join("data/nb201/accuracies.csv"))
}

/// Runs a search with `--json` and `--html` and returns (json, html) paths.
fn search(name: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let (json, html) = (
        dir().join(format!("{name}.json")),
        dir().join(format!("{name}.html")),
    );
    let (j, h) = (path(json.clone()), path(html.clone()));
    let mut all = vec!["search", "--json", &j, "--html", &h];
    all.extend_from_slice(args);
    let out = freedarts(&all);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    (json, html)
}

fn report(json: &Path, extra: &[&str]) -> (std::process::Output, PathBuf) {
    let html = json.with_extension("report.html");
    let (j, h) = (path(json.to_path_buf()), path(html.clone()));
    let mut all = vec!["report", &j, "-o", &h];
    all.extend_from_slice(extra);
    (freedarts(&all), html)
}

#[test]
fn report_rebuilds_the_search_page_byte_for_byte() {
    let bench = benchmark();
    let cases: [(&str, Vec<&str>); 4] = [
        ("nb201", vec!["--benchmark", &bench]),
        (
            "refined",
            [&["--preset", "best"], &common::TINY_NB201[..]].concat(),
        ),
        ("darts-per-cell", SMALL_DARTS_PER_CELL.to_vec()),
        (
            "grasp",
            vec!["--proxy", "grasp", "--data", "synthetic", "--channels", "4"],
        ),
    ];
    for (name, args) in cases {
        let (json, html) = search(name, &args);
        let (out, rebuilt) = report(&json, &[]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        // A refined search shows what the local search scored, the found cell among them.
        let page = std::fs::read_to_string(&html).unwrap();
        assert_eq!(
            page.contains("Refinement: synflow*-grad_norm over 25 cell(s)"),
            name == "refined",
            "{name}"
        );
        // The provenance names the image batch by its fingerprint where there is one.
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        match result["provenance"]["batch_sha256"].as_str() {
            Some(sha) => assert!(page.contains(&format!("records, SHA-256 {sha}")), "{name}"),
            None => assert!(page.contains("none (data-free)"), "{name}"),
        }
        assert_eq!(
            result["provenance"]["batch_sha256"].is_string(),
            name == "grasp" || name == "refined",
            "{name}"
        );
        assert!(
            std::fs::read(&html).unwrap() == std::fs::read(&rebuilt).unwrap(),
            "{name}: the page from the saved result differs from the one search wrote"
        );
    }
}

#[test]
fn report_looks_the_cell_up_in_a_benchmark() {
    let (json, _) = search("no-bench", &["--seed", "2"]);
    let (with_bench, _) = search("with-bench", &["--seed", "2", "--benchmark", &benchmark()]);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(with_bench).unwrap()).unwrap();
    let (out, html) = report(&json, &["--benchmark", &benchmark()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(html).unwrap();
    assert!(html.contains("NAS-Bench-201"));
    for v in saved["benchmark"]["values"].as_array().unwrap() {
        let acc = format!("{:.2}", v["accuracy"].as_f64().unwrap());
        assert!(
            html.contains(&format!(">{acc}</td>")),
            "accuracy {acc} missing"
        );
    }
}

#[test]
fn bad_report_input_is_one_clear_error() {
    let d = dir();
    let (darts, _) = search(
        "darts-small",
        &["--space", "darts", "--cells", "5", "--channels", "4"],
    );
    let old = d.join("old.json");
    std::fs::write(&old, r#"{"schema": "freedarts.search/0"}"#).unwrap();
    let truncated = d.join("truncated.json");
    let text = std::fs::read_to_string(&darts).unwrap();
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let cases: Vec<(PathBuf, Vec<&str>, &str)> = vec![
        (d.join("missing.json"), vec![], "cannot read"),
        (old, vec![], "schema `freedarts.search/0`"),
        (truncated.clone(), vec![], "truncated.json:"),
        (
            darts.clone(),
            vec!["--benchmark", "/dev/null"],
            "darts result",
        ),
        (
            common::shared().join("data/nb201/accuracies.csv"),
            vec![],
            "accuracies.csv:1:1",
        ),
    ];
    for (file, extra, needle) in cases {
        let (out, _) = report(&file, &extra);
        let err = stderr(&out);
        assert!(!out.status.success(), "{file:?} succeeded");
        assert!(err.contains(needle), "{file:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let out = freedarts(&["report", &path(darts)]);
    assert!(stderr(&out).contains("nothing to write"));
}

/// Opening tags by name, counted.
fn tag_counts(html: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let b = html.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        if b[i] == b'<' && b[i + 1].is_ascii_alphabetic() {
            let name: String = html[i + 1..]
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            *counts.entry(name).or_insert(0) += 1;
        }
    }
    counts
}

fn chromium() -> Option<PathBuf> {
    let candidates = ["chromium", "chromium-browser", "google-chrome", "chrome"];
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .flat_map(|d| candidates.iter().map(move |c| d.join(c)))
            .find(|p| p.is_file())
    })
}

/// The HTML parser of a real browser repairs broken markup silently (unclosed or misnested
/// tags, stray `<` in text); the page is sound when the document it builds has exactly the
/// elements we wrote. CI installs Debian's chromium and sets FREEDARTS_REQUIRE_BROWSER=1, so
/// there the check cannot be skipped.
#[test]
fn the_page_parses_in_a_headless_browser_into_what_we_wrote() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("FREEDARTS_REQUIRE_BROWSER").is_none(),
            "FREEDARTS_REQUIRE_BROWSER is set but no chromium is on PATH"
        );
        eprintln!("SKIPPED: no chromium on PATH (apt-get install chromium to run this check)");
        return;
    };
    let (_, html) = search("browser", &SMALL_DARTS_PER_CELL);
    let out = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let dom = String::from_utf8_lossy(&out.stdout);
    let written = std::fs::read_to_string(&html).unwrap();
    let (got, want) = (tag_counts(&dom), tag_counts(&written));
    assert!(want["svg"] >= 4 && want["rect"] > 100, "{want:?}");
    assert_eq!(got, want, "the browser built a different document");
}

/// Python reads the exported module, and its namedtuple prints exactly the Genotype text we
/// derived: the DARTS training code will train the cell we found.
#[test]
fn exported_architectures_import_in_python() {
    let d = dir();
    let cases: [(&str, Vec<&str>, &str); 3] = [
        ("nb201", vec![], "print(m.ARCH)"),
        (
            "darts",
            vec![
                "--space",
                "darts",
                "--cells",
                "5",
                "--channels",
                "4",
                "--bn",
                "eval",
            ],
            "print(m.FREEDARTS)",
        ),
        (
            "per-cell",
            SMALL_DARTS_PER_CELL.to_vec(),
            "print(len(m.CELLS), m.REDUCTION_CELLS)",
        ),
    ];
    for (name, args, print) in cases {
        let (json, _) = search(&format!("export-{name}"), &args);
        let py = d.join(format!("export_{}.py", name.replace('-', "_")));
        let txt = d.join(format!("export-{name}.txt"));
        let out = freedarts(&[
            "report",
            &path(json.clone()),
            "--export-arch",
            &path(py.clone()),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = freedarts(&[
            "report",
            &path(json.clone()),
            "--export-arch",
            &path(txt.clone()),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let arch = result["architecture"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(&txt).unwrap(), format!("{arch}\n"));
        let script = format!(
            "import importlib.util as u\ns = u.spec_from_file_location('x', r'{}')\nm = u.module_from_spec(s)\ns.loader.exec_module(m)\n{print}",
            py.display()
        );
        let out = std::process::Command::new("python3")
            .args(["-c", &script])
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
        match name {
            "per-cell" => assert_eq!(printed, "5 [1, 3]"),
            _ => assert_eq!(printed, arch, "{name}"),
        }
    }
}
