//! Hostile and careless input against every subcommand (issue 12): no panic, no hang, no
//! damaged file, no silent nonsense. Every case runs the binary on files this test writes into
//! its own temp folder, under a watchdog (a hang fails the case), and checks the verdict: a
//! refusal is exit status 1 (or clap's 2) with one `error:` line naming the cause and no
//! panic; where the command should succeed, its output is checked.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{path, reference, shared};

/// Runs the binary with a 60 s watchdog (a hang is a failure, not a stuck test).
fn run(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_freedarts"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "hang: `freedarts {}` ran over 60 s; stderr: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A refusal: failure status, `error:` first, the needle present, no panic or raw control
/// character.
#[track_caller]
fn refused(args: &[&str], needle: &str) -> String {
    let out = run(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "`{}` should fail; stderr: {err}",
        args.join(" ")
    );
    assert!(
        matches!(out.status.code(), Some(1 | 2)),
        "`{}`: status {:?} (a crash?); stderr: {err}",
        args.join(" "),
        out.status
    );
    assert!(err.starts_with("error: "), "stderr: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !err.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "raw control character in {err:?}"
    );
    err
}

#[track_caller]
fn succeeds(args: &[&str]) -> String {
    let out = run(args);
    assert!(
        out.status.success(),
        "`{}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh folder for one test.
fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("freedarts-hostile-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn fifo(dir: &Path) -> String {
    let p = dir.join("fifo");
    let status = Command::new("mkfifo")
        .arg(&p)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    path(p)
}

/// A search result of the default search, written by the binary.
fn result_json(dir: &Path) -> PathBuf {
    let p = dir.join("result.json");
    succeeds(&["search", "--json", &path(p.clone())]);
    p
}

/// CIFAR-100 records (3074 bytes) with the given fine labels.
fn cifar100(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for &l in labels {
        bytes.extend([l / 5, l]);
        bytes.extend(std::iter::repeat_n(128u8, 3072));
    }
    bytes
}

/// A copy of a reference weights file with `value` written into the first element of the
/// first F32 tensor whose name `pick` accepts.
fn poisoned_weights(dir: &Path, pick: impl Fn(&str) -> bool, value: f32) -> (PathBuf, String) {
    let mut bytes = std::fs::read(reference("nb201_tiny.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let (name, info) = header
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, v)| pick(k) && v["dtype"] == "F32")
        .expect("a tensor to poison");
    let start = 8 + n + info["data_offsets"][0].as_u64().unwrap() as usize;
    bytes[start..start + 4].copy_from_slice(&value.to_le_bytes());
    let p = dir.join("poisoned.safetensors");
    std::fs::write(&p, bytes).unwrap();
    (p, name.clone())
}

const TINY: [&str; 4] = ["--channels", "4", "--cells-per-stage", "1"];

#[test]
fn no_panic_on_zero_or_odd_sizes() {
    refused(
        &[
            "info",
            "--space",
            "darts",
            "--genotype",
            "DARTS_V2",
            "--eval-channels",
            "0",
        ],
        "--eval-channels",
    );
    refused(
        &[
            "info",
            "--space",
            "darts",
            "--genotype",
            "DARTS_V2",
            "--eval-channels",
            "3",
        ],
        "must be even",
    );
    refused(
        &[
            "info",
            "--space",
            "darts",
            "--genotype",
            "DARTS_V2",
            "--eval-classes",
            "0",
        ],
        "--eval-classes",
    );
    refused(
        &[
            "info",
            "--space",
            "darts",
            "--genotype",
            "DARTS_V2",
            "--eval-cells",
            "0",
        ],
        "--eval-cells",
    );
    let dir = temp("zero");
    let out = path(dir.join("s.jsonl"));
    refused(
        &[
            "score",
            "--data",
            "synthetic",
            "--batch-size",
            "0",
            "--proxy",
            "nwot",
            "-o",
            &out,
        ],
        "--batch-size",
    );
    let err = refused(&["bench", "--repeats", "0"], "0 is not in 1..=100000");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    refused(&["search", "--channels", "0"], "--channels");
    refused(&["search", "--classes", "0"], "--classes");
    refused(&["search", "--space", "darts", "--cells", "0"], "--cells");
    refused(&["score", "--jobs", "0", "-o", &out], "--jobs");
    assert!(!dir.join("s.jsonl").exists());
}

#[test]
fn fifos_devices_and_directories_are_refused_without_reading() {
    let dir = temp("fifo");
    let f = fifo(&dir);
    let out = path(dir.join("s.jsonl"));
    let d = path(dir.clone());
    refused(&["search", "--init-from", &f], "FIFO");
    refused(&["search", "--init-from", "/dev/zero"], "character device");
    refused(&["search", "--init-from", &d], "directory");
    refused(&["search", "--benchmark", &f], "FIFO");
    refused(&["search", "--benchmark", "/dev/zero"], "character device");
    refused(&["search", "--proxy", "snip", "--data", &f], "FIFO");
    refused(
        &["search", "--proxy", "snip", "--data", "/dev/null"],
        "character device",
    );
    refused(&["search", "--json", &f], "--json");
    refused(&["score", "--archs", &f, "-o", &out], "FIFO");
    refused(&["score", "-o", &f], "--output");
    refused(&["score", "-o", "/dev/null"], "--output");
    refused(&["report", &f, "-o", &path(dir.join("o.html"))], "FIFO");
    refused(
        &[
            "correlate",
            &f,
            "--benchmark",
            &path(shared().join("data/nb201/accuracies.csv")),
        ],
        "FIFO",
    );
    refused(&["bench", "--init-from", &f], "FIFO");
}

#[test]
fn oversized_inputs_and_networks_are_refused_up_front() {
    let dir = temp("size");
    // A safetensors header that claims more bytes than the file holds.
    let claim = dir.join("claim.safetensors");
    let mut bytes = (u64::MAX / 2).to_le_bytes().to_vec();
    bytes.extend(b"{}");
    std::fs::write(&claim, bytes).unwrap();
    refused(
        &["search", "--init-from", &path(claim)],
        "the header claims",
    );
    refused(&["search", "--channels", "100000"], "--channels");
    refused(&["search", "--input-size", "100000"], "--input-size");
    refused(
        &[
            "info",
            "--space",
            "darts",
            "--genotype",
            "DARTS_V2",
            "--eval-cells",
            "100000000",
        ],
        "--eval-cells",
    );
    refused(&["search", "--input-size", "4096"], "GiB of memory");
    refused(
        &[
            "search",
            "--space",
            "darts",
            "--cells",
            "1000",
            "--channels",
            "64",
        ],
        "GiB of memory",
    );
    refused(&["info", "--channels", "4096"], "GiB of memory");
    refused(
        &[
            "info",
            "--space",
            "darts",
            "--genotype",
            "DARTS_V2",
            "--eval-channels",
            "4096",
        ],
        "GiB of memory",
    );
    refused(
        &[
            "score",
            "--proxy",
            "snip",
            "--data",
            "synthetic",
            "--batch-size",
            "65536",
            "-o",
            &path(dir.join("s.jsonl")),
        ],
        "lower --jobs",
    );
    assert!(!dir.join("s.jsonl").exists());
}

#[test]
fn outputs_never_overwrite_inputs() {
    let dir = temp("clash");
    let weights = dir.join("w.safetensors");
    std::fs::copy(reference("nb201_tiny.safetensors"), &weights).unwrap();
    let before = std::fs::read(&weights).unwrap();
    let w = path(weights.clone());
    let mut args = vec!["search", "--init-from", &w, "--export-weights", &w];
    args.extend(TINY);
    refused(&args, "is the same file as --init-from");
    // Another spelling of the same file.
    let other = path(dir.join(".").join("w.safetensors"));
    let mut args = vec!["search", "--init-from", &w, "--json", &other];
    args.extend(TINY);
    refused(&args, "same file");
    assert_eq!(std::fs::read(&weights).unwrap(), before);

    let result = result_json(&dir);
    let r = path(result.clone());
    let text = std::fs::read(&result).unwrap();
    refused(&["report", &r, "-o", &r], "same file");
    let html = path(dir.join("o.html"));
    refused(&["report", &r, "-o", &html, "--draw", &html], "same file");
    refused(&["report", &r, "-o", &path(dir.clone())], "directory");
    assert_eq!(std::fs::read(&result).unwrap(), text);

    let data = dir.join("d.bin");
    std::fs::write(&data, cifar100(&[1, 2])).unwrap();
    let d = path(data.clone());
    refused(
        &[
            "search",
            "--proxy",
            "snip",
            "--data",
            &d,
            "--batch-size",
            "1",
            "--json",
            &d,
        ],
        "same file",
    );
    assert_eq!(std::fs::read(&data).unwrap(), cifar100(&[1, 2]));

    let scores = dir.join("s.jsonl");
    let s = path(scores.clone());
    succeeds(&[
        "score", "--archs", "sample:2", "--proxy", "params", "-o", &s, "-q",
    ]);
    let csv = path(shared().join("data/nb201/accuracies.csv"));
    let kept = std::fs::read(&scores).unwrap();
    refused(
        &["correlate", &s, "--benchmark", &csv, "-o", &s],
        "same file",
    );
    refused(
        &["correlate", &s, "--benchmark", &csv, "--draw", &csv],
        "same file",
    );
    refused(
        &["correlate", &s, "--benchmark", &csv, "--markdown", &s],
        "same file",
    );
    assert_eq!(std::fs::read(&scores).unwrap(), kept);
    // A score file with someone's text appended (no final newline) is not cut.
    let mut edited = kept.clone();
    edited.extend(b"my notes about this run");
    std::fs::write(&scores, &edited).unwrap();
    let err = refused(
        &[
            "score", "--archs", "sample:2", "--proxy", "params", "-o", &s, "-q",
        ],
        "not a torn row",
    );
    assert!(!err.contains("remove"), "{err}");
    assert_eq!(std::fs::read(&scores).unwrap(), edited);
}

#[test]
fn refused_score_runs_leave_no_file() {
    let dir = temp("score");
    let data = dir.join("c100.bin");
    std::fs::write(&data, cifar100(&[50, 60, 70, 80])).unwrap();
    let d = path(data);
    let out = dir.join("s.jsonl");
    let o = path(out.clone());
    let base = [
        "score",
        "--archs",
        "sample:2",
        "--proxy",
        "snip",
        "--data",
        &d,
        "--batch-size",
        "4",
        "-o",
        &o,
        "-q",
    ];
    let mut args = base.to_vec();
    args.extend(["--classes", "10"]);
    refused(&args, "--classes");
    assert!(!out.exists(), "a refused run left {}", out.display());
    // The corrected rerun works (the file format comes from the size, not the head).
    let mut args = base.to_vec();
    args.extend(["--classes", "100"]);
    succeeds(&args);
    assert!(out.exists());
}

#[test]
fn loaded_numbers_are_checked() {
    let dir = temp("numbers");
    let (w, name) = poisoned_weights(&dir, |n| n.contains('.'), f32::NAN);
    let w = path(w);
    let mut args = vec!["search", "--init-from", &w];
    args.extend(TINY);
    refused(&args, &format!("tensor `{name}` holds 1 NaN or infinite"));
    let (w, name) = poisoned_weights(&dir, |n| n.starts_with("arch"), f32::INFINITY);
    let w = path(w);
    let mut args = vec!["search", "--init-from", &w];
    args.extend(TINY);
    let err = refused(&args, &format!("alpha `{name}` holds 1 NaN or infinite"));
    assert!(!err.contains("differ"), "{err}");

    let csv = dir.join("b.csv");
    std::fs::write(
        &csv,
        "arch,cifar10_test\n|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|,150\n",
    )
    .unwrap();
    refused(
        &["search", "--benchmark", &path(csv.clone())],
        "line 2, column `cifar10_test`: 150",
    );
    std::fs::write(
        &csv,
        "arch,cifar10_test\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,-1\n",
    )
    .unwrap();
    refused(&["search", "--benchmark", &path(csv)], "0 to 100");
}

/// Edits one field of a good result and expects `report` to refuse it, naming `needle`.
fn edited_result(dir: &Path, tag: &str, edit: impl Fn(&mut serde_json::Value), needle: &str) {
    let good: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("result.json")).unwrap()).unwrap();
    let mut v = good.clone();
    edit(&mut v);
    let p = dir.join(format!("{tag}.json"));
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let html = dir.join(format!("{tag}.html"));
    refused(&["report", &path(p), "-o", &path(html.clone())], needle);
    assert!(!html.exists(), "{tag}: a page was written");
}

#[test]
fn report_validates_hand_edited_results() {
    let dir = temp("report");
    let result = result_json(&dir);
    // A BOM is accepted, like every other reader.
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend(std::fs::read(&result).unwrap());
    let with_bom = dir.join("bom.json");
    std::fs::write(&with_bom, bom).unwrap();
    succeeds(&["report", &path(with_bom), "-o", &path(dir.join("bom.html"))]);

    edited_result(&dir, "schema7", |v| v["schema"] = 7.into(), "schema `7`");
    edited_result(
        &dir,
        "space",
        |v| v["space"] = "foo".into(),
        "unknown space `foo`",
    );
    edited_result(
        &dir,
        "arch",
        |v| v["architecture"] = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|".into(),
        "differs from the derived cell",
    );
    edited_result(
        &dir,
        "badarch",
        |v| v["architecture"] = "|conv_9x9~0|".into(),
        "not a NAS-Bench-201 cell",
    );
    edited_result(
        &dir,
        "winner",
        |v| v["derivation"]["edges"][0]["winner"] = 99.into(),
        "outside the 6x5 matrix",
    );
    edited_result(
        &dir,
        "labels",
        |v| {
            let rows: Vec<serde_json::Value> =
                (0..100_000).map(|i| format!("r{i}").into()).collect();
            v["proxy"]["groups"][0]["rows"] = rows.into();
        },
        "is 100000x5",
    );
    edited_result(
        &dir,
        "scores",
        |v| v["proxy"]["groups"][0]["score"] = serde_json::json!([1.0]),
        "`score` holds 1 values",
    );
    edited_result(
        &dir,
        "escape",
        |v| v["space"] = "\u{1b}[2J\u{0}".into(),
        "\\u{1b}[2J\\u{0}",
    );
}

#[test]
fn messages_name_the_cause_and_escape_control_characters() {
    let dir = temp("messages");
    let archs = dir.join("archs.txt");
    std::fs::write(
        &archs,
        "Genotype(normal=[('avg_pool_3x3\0', 0), ('skip_connect', 1)], normal_concat=[2], reduce=[], reduce_concat=[2])\n",
    )
    .unwrap();
    let err = refused(
        &[
            "score",
            "--space",
            "darts",
            "--archs",
            &path(archs),
            "-o",
            &path(dir.join("s.jsonl")),
        ],
        "\\u{0}",
    );
    assert!(!dir.join("s.jsonl").exists(), "{err}");
    let empty = dir.join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    refused(
        &["search", "--proxy", "snip", "--data", &path(empty)],
        "is empty",
    );

    // correlate never advises removing its input.
    let junk = dir.join("junk.jsonl");
    std::fs::write(&junk, "{\"header\": {\"format\": \"other\"}}\n").unwrap();
    let csv = path(shared().join("data/nb201/accuracies.csv"));
    let err = refused(
        &["correlate", &path(junk), "--benchmark", &csv],
        "not a freedarts score file",
    );
    assert!(!err.contains("remove"), "{err}");

    // A write failure of --export-weights is worded as one.
    let missing = path(dir.join("no/such/dir/w.safetensors"));
    let mut args = vec!["search", "--export-weights", &missing];
    args.extend(TINY);
    let err = refused(&args, "cannot write --export-weights");
    assert!(!err.contains("not a valid safetensors"), "{err}");
}

#[test]
fn a_cifar10_file_serves_any_head_size() {
    let cifar = path(shared().join("data/cifar10/train_first200_exact.bin"));
    let mut args = vec![
        "search",
        "--proxy",
        "snip",
        "--data",
        &cifar,
        "--batch-size",
        "4",
    ];
    args.extend(TINY);
    args.extend(["--classes", "100"]);
    succeeds(&args);
    // Told explicitly, the layout is taken as given: right, it runs; wrong, the file's size
    // does not fit it and the run is refused naming the file.
    args.extend(["--cifar-format", "cifar10"]);
    succeeds(&args);
    let n = args.len();
    args[n - 1] = "cifar100";
    refused(&args, "train_first200_exact.bin");
}
