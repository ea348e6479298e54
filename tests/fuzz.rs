//! Fuzzing every parser and loader on stable Rust (issue 12): random and mutated inputs, seeded
//! with valid files, fed to the NB201 string and Genotype parsers, the benchmark CSV, CIFAR,
//! safetensors, score-file and search-result loaders. Any panic fails the test and prints the
//! input that caused it (saved under the temp folder). Errors are fine; so is success.
//!
//! `cargo test --release --test fuzz` runs each target for a bounded time (about 1.5 s, or
//! `FREEDARTS_FUZZ_SECS` seconds); the longer run is
//! `FREEDARTS_FUZZ_SECS=300 cargo test --release --test fuzz -- --ignored --nocapture`
//! (default 60 s per target). The mutator is a small seeded one (ChaCha8, seed printed), so a
//! failure repeats with `FREEDARTS_FUZZ_SEED`.

mod common;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use freedarts::benchmark::Nb201Benchmark;
use freedarts::data::cifar::{CifarFormat, Normalization, load_cifar_batch};
use freedarts::nn::params::ParamRegistry;
use freedarts::report::load::load_result;
use freedarts::scoring::file::{ScoreWriter, read_score_file};
use freedarts::search::{SearchOptions, SpaceConfig, build_supernet};
use freedarts::spaces::darts::Genotype;
use freedarts::spaces::nb201::Nb201Arch;
use freedarts::spaces::nb201::supernet::Nb201Config;

/// Tokens that parsers trip on, spliced in at random.
const TOKENS: &[&[u8]] = &[
    b"NaN",
    b"nan",
    b"inf",
    b"-inf",
    b"1e309",
    b"-1",
    b"-0",
    b"18446744073709551616",
    b"99999999999999999999",
    b"0",
    b"\0",
    b"\x1b[2J",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"|",
    b"~",
    b"+",
    b",",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"\n",
    b"\r\n",
    b"'",
    b"(",
    b")",
    b"null",
    b"true",
    b"none",
    b"skip_connect",
    b"nor_conv_3x3",
    b"avg_pool_3x3",
    b"sep_conv_5x5",
    b"Genotype(",
    b"normal=",
    b"reduce_concat=",
    b"range(2, 6)",
    b"\"header\"",
    b"\"arch\"",
    b"\"schema\"",
    b"freedarts.search/1",
    b"freedarts.scores/1",
    b"~9",
    b"~18446744073709551615",
    b"\xe2\x80\xae",
];

/// One mutation step of `data`, drawing from `corpus` for splices.
fn mutate(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = data.len();
    match rng.random_range(0..10) {
        0 if len > 0 => {
            let i = rng.random_range(0..len);
            data[i] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let i = rng.random_range(0..len);
            data[i] = rng.random();
        }
        2 => {
            let i = rng.random_range(0..=len);
            let t = TOKENS[rng.random_range(0..TOKENS.len())];
            data.splice(i..i, t.iter().copied());
        }
        3 if len > 0 => {
            let a = rng.random_range(0..len);
            let b = (a + rng.random_range(1..=64)).min(len);
            data.drain(a..b);
        }
        4 if len > 0 => {
            let a = rng.random_range(0..len);
            let b = (a + rng.random_range(1..=64)).min(len);
            let chunk = data[a..b].to_vec();
            let at = rng.random_range(0..=data.len());
            data.splice(at..at, chunk);
        }
        5 => data.truncate(rng.random_range(0..=len)),
        6 if !corpus.is_empty() => {
            let other = &corpus[rng.random_range(0..corpus.len())];
            if !other.is_empty() {
                let a = rng.random_range(0..other.len());
                let b = (a + rng.random_range(1..=256)).min(other.len());
                let at = rng.random_range(0..=data.len());
                data.splice(at..at, other[a..b].iter().copied());
            }
        }
        7 if len >= 8 => {
            // An interesting little-endian integer (a safetensors header length, a size).
            let i = rng.random_range(0..=len - 8);
            let v: u64 = match rng.random_range(0..4) {
                0 => 0,
                1 => u64::MAX,
                2 => rng.random_range(0..(len as u64 * 2 + 1)),
                _ => 1 << rng.random_range(0..64),
            };
            data[i..i + 8].copy_from_slice(&v.to_le_bytes());
        }
        8 => {
            let n = rng.random_range(0..64);
            let at = rng.random_range(0..=len);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            data.splice(at..at, bytes);
        }
        _ if len > 0 => {
            // Swap two bytes that are often structural.
            let (a, b) = (rng.random_range(0..len), rng.random_range(0..len));
            data.swap(a, b);
        }
        _ => data.push(rng.random()),
    }
}

/// An input: a mutated corpus entry (1 to 8 steps), now and then pure random bytes.
fn next_input(rng: &mut ChaCha8Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    if corpus.is_empty() || rng.random_range(0..20) == 0 {
        let n = rng.random_range(0..512);
        let mut v = vec![0u8; n];
        rng.fill_bytes(&mut v);
        return v;
    }
    let mut data = corpus[rng.random_range(0..corpus.len())].clone();
    for _ in 0..rng.random_range(1..=8) {
        mutate(rng, &mut data, corpus);
    }
    data
}

fn budget(default_secs: f64) -> Duration {
    let secs = std::env::var("FREEDARTS_FUZZ_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(default_secs);
    Duration::from_secs_f64(secs)
}

fn seed() -> u64 {
    std::env::var("FREEDARTS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

/// Runs `target` on inputs for `time`; panics (failing the test) on the first input that
/// makes it panic, after saving the input. Returns the number of inputs tried.
fn fuzz(name: &str, corpus: &[Vec<u8>], time: Duration, target: impl Fn(&[u8])) -> usize {
    let seed = seed();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ name.len() as u64);
    let start = Instant::now();
    let mut tried = 0;
    // The corpus itself first, then mutations.
    let mut queue: Vec<Vec<u8>> = corpus.to_vec();
    while start.elapsed() < time || !queue.is_empty() {
        let input = queue.pop().unwrap_or_else(|| next_input(&mut rng, corpus));
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| target(&input)));
        tried += 1;
        if outcome.is_err() {
            let saved = std::env::temp_dir().join(format!("freedarts-fuzz-crash-{name}.bin"));
            let _ = std::fs::write(&saved, &input);
            panic!(
                "{name}: panic on input {tried} (seed {seed}), saved to {}: {:?}",
                saved.display(),
                String::from_utf8_lossy(&input[..input.len().min(300)])
            );
        }
    }
    println!(
        "fuzz {name}: {tried} inputs in {:.1} s, no panic",
        start.elapsed().as_secs_f64()
    );
    tried
}

/// A scratch folder per test.
fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("freedarts-fuzz-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn with_file(path: &Path, bytes: &[u8], f: impl FnOnce(&Path)) {
    std::fs::write(path, bytes).unwrap();
    f(path);
}

fn nb201_corpus() -> Vec<Vec<u8>> {
    vec![
        b"|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|".to_vec(),
        b"|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|none~2|".to_vec(),
    ]
}

fn genotype_corpus() -> Vec<Vec<u8>> {
    let v2 = freedarts::spaces::darts::by_name("DARTS_V2")
        .unwrap()
        .to_string();
    let v1 = freedarts::spaces::darts::by_name("DARTS_V1")
        .unwrap()
        .to_string();
    vec![v2.into_bytes(), v1.into_bytes(), b"DARTS_V2".to_vec()]
}

fn csv_corpus() -> Vec<Vec<u8>> {
    let full = std::fs::read(common::shared().join("data/nb201/accuracies.csv")).unwrap();
    // The first rows keep each load fast.
    let head: Vec<u8> = full
        .split(|&b| b == b'\n')
        .take(40)
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect();
    vec![
        head,
        b"index,arch,cifar10_test\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,10.0\n"
            .to_vec(),
    ]
}

fn cifar_corpus() -> Vec<Vec<u8>> {
    let ten = std::fs::read(common::shared().join("data/cifar10/test_first20_exact.bin")).unwrap();
    let mut hundred = Vec::new();
    for i in 0..3u8 {
        hundred.extend([i, i * 7]);
        hundred.extend(std::iter::repeat_n(i, 3072));
    }
    vec![ten[..3 * 3073].to_vec(), hundred]
}

/// The registry of the tiny NB201 supernet of the reference file.
fn tiny_registry() -> ParamRegistry {
    let opts = SearchOptions {
        space: SpaceConfig::Nb201(Nb201Config {
            channels: 4,
            cells_per_stage: 1,
            classes: 10,
            input_size: 32,
        }),
        ..SearchOptions::default()
    };
    build_supernet(&opts).unwrap().net.registry().clone()
}

fn score_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let out = dir.join("seed.jsonl");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_freedarts"))
        .args([
            "score",
            "--archs",
            "sample:3",
            "--proxy",
            "params,flops",
            "-q",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success());
    vec![std::fs::read(&out).unwrap()]
}

fn result_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let out = dir.join("seed.json");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_freedarts"))
        .args(["search", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success());
    vec![std::fs::read(&out).unwrap()]
}

/// A random JSON value of the kinds a hand edit produces.
fn random_value(rng: &mut ChaCha8Rng) -> serde_json::Value {
    use serde_json::json;
    match rng.random_range(0..12) {
        0 => json!(null),
        1 => json!(-1),
        2 => json!(0),
        3 => json!(u64::MAX),
        4 => json!(rng.random_range(0..100)),
        5 => json!(1e300),
        6 => json!(""),
        7 => json!("\u{1b}[2J\u{0}x"),
        8 => json!([]),
        9 => json!({}),
        10 => json!(true),
        _ => json!("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
    }
}

/// Mutates one randomly chosen node of a JSON tree: replaced, removed, or (for an array)
/// an element duplicated or dropped.
fn mutate_json(rng: &mut ChaCha8Rng, v: &mut serde_json::Value, depth: usize) {
    use serde_json::Value;
    let descend = depth < 12 && rng.random_range(0..4) != 0;
    match v {
        Value::Object(map) if !map.is_empty() => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[rng.random_range(0..keys.len())];
            if descend {
                mutate_json(rng, map.get_mut(key).unwrap(), depth + 1);
            } else if rng.random_range(0..3) == 0 {
                map.remove(key);
            } else {
                map.insert(key.clone(), random_value(rng));
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let i = rng.random_range(0..items.len());
            if descend {
                mutate_json(rng, &mut items[i], depth + 1);
            } else {
                match rng.random_range(0..3) {
                    0 => {
                        items.remove(i);
                    }
                    1 => {
                        let copy = items[i].clone();
                        items.insert(i, copy);
                    }
                    _ => items[i] = random_value(rng),
                }
            }
        }
        _ => *v = random_value(rng),
    }
}

/// Like [`fuzz`], on JSON documents mutated at the value level (what a hand edit does).
fn fuzz_json(
    name: &str,
    seed_doc: &serde_json::Value,
    time: Duration,
    target: impl Fn(&[u8]),
) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed() ^ 0x6a73);
    let start = Instant::now();
    let mut tried = 0;
    while start.elapsed() < time {
        let mut doc = seed_doc.clone();
        for _ in 0..rng.random_range(1..=4) {
            mutate_json(&mut rng, &mut doc, 0);
        }
        let bytes = serde_json::to_vec(&doc).unwrap();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| target(&bytes)));
        tried += 1;
        if outcome.is_err() {
            let saved = std::env::temp_dir().join(format!("freedarts-fuzz-crash-{name}.json"));
            let _ = std::fs::write(&saved, &bytes);
            panic!(
                "{name}: panic on input {tried}, saved to {}",
                saved.display()
            );
        }
    }
    println!(
        "fuzz {name}: {tried} inputs in {:.1} s, no panic",
        start.elapsed().as_secs_f64()
    );
    tried
}

/// Every target for `time` each; returns (name, inputs tried).
fn fuzz_all(time: Duration) -> Vec<(&'static str, usize)> {
    let dir = temp("all");
    let mut counts = Vec::new();
    counts.push((
        "nb201_string",
        fuzz("nb201_string", &nb201_corpus(), time, |b| {
            let _ = Nb201Arch::parse(&String::from_utf8_lossy(b));
        }),
    ));
    counts.push((
        "genotype_text",
        fuzz("genotype_text", &genotype_corpus(), time, |b| {
            let _ = Genotype::parse(&String::from_utf8_lossy(b));
        }),
    ));
    let csv = dir.join("b.csv");
    counts.push((
        "benchmark_csv",
        fuzz("benchmark_csv", &csv_corpus(), time, |b| {
            with_file(&csv, b, |p| {
                let _ = Nb201Benchmark::load(p);
            });
        }),
    ));
    let bin = dir.join("c.bin");
    counts.push((
        "cifar",
        fuzz("cifar", &cifar_corpus(), time, |b| {
            with_file(&bin, b, |p| {
                for format in [CifarFormat::Cifar10, CifarFormat::Cifar100] {
                    for (n, shuffle) in [(1, None), (3, Some(7))] {
                        let _ = load_cifar_batch(p, format, n, shuffle, &Normalization::IDENTITY);
                    }
                }
                let _ = CifarFormat::infer(p, 10);
            });
        }),
    ));
    let registry = tiny_registry();
    let st = dir.join("w.safetensors");
    let weights = vec![std::fs::read(common::reference("nb201_tiny.safetensors")).unwrap()];
    counts.push((
        "safetensors",
        fuzz("safetensors", &weights, time, |b| {
            with_file(&st, b, |p| {
                let _ = freedarts::nn::weights::load_state(p, &registry);
            });
        }),
    ));
    let sf = dir.join("s.jsonl");
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(r#"{"format":"freedarts.scores/1","seed":0}"#).unwrap();
    counts.push((
        "score_file",
        fuzz("score_file", &score_corpus(&dir), time, |b| {
            with_file(&sf, b, |p| {
                let _ = read_score_file(p);
            });
            // Resuming may cut a torn line: work on a fresh copy each time.
            with_file(&sf, b, |p| {
                let _ = ScoreWriter::open(p, &header);
            });
        }),
    ));
    let rj = dir.join("r.json");
    let draw_all = |p: &Path| {
        if let Ok(r) = load_result(p) {
            // What report draws from a result that passed validation must not panic.
            let _ = freedarts::report::figures::html_report(&r);
            let _ = freedarts::report::figures::drawing(&r, false);
            let _ = freedarts::report::figures::drawing(&r, true);
            let _ = freedarts::report::export::architecture_file(&r, true);
            let _ = r.render_text(true);
        }
    };
    let results = result_corpus(&dir);
    counts.push((
        "result_json",
        fuzz("result_json", &results, time, |b| {
            with_file(&rj, b, draw_all)
        }),
    ));
    let doc: serde_json::Value = serde_json::from_slice(&results[0]).unwrap();
    counts.push((
        "result_json_fields",
        fuzz_json("result_json_fields", &doc, time, |b| {
            with_file(&rj, b, draw_all)
        }),
    ));
    let darts = dir.join("darts.json");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_freedarts"))
        .args([
            "search",
            "--space",
            "darts",
            "--channels",
            "4",
            "--cells",
            "5",
            "--json",
        ])
        .arg(&darts)
        .output()
        .unwrap();
    assert!(run.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&darts).unwrap()).unwrap();
    counts.push((
        "darts_result_json_fields",
        fuzz_json("darts_result_json_fields", &doc, time, |b| {
            with_file(&rj, b, draw_all)
        }),
    ));
    let _ = std::fs::remove_dir_all(&dir);
    counts
}

#[test]
fn fuzz_every_parser_briefly() {
    let counts = fuzz_all(budget(1.5));
    for (name, n) in counts {
        assert!(n > 0, "{name} tried nothing");
    }
}

#[test]
#[ignore = "long fuzzing run: FREEDARTS_FUZZ_SECS per target (default 60)"]
fn fuzz_every_parser_long() {
    fuzz_all(budget(60.0));
}
