//! `search --seeds`: one search per seed and the reproducibility table a paper reports, the
//! mean and standard deviation of the found cells' benchmark accuracies and how often each op
//! won each edge.

use std::fmt::Write as _;

use burn::tensor::Device;
use serde::Serialize;

use crate::search::{SearchError, SearchOptions, run_search};

/// More seeds than any table needs; a typo like 0..1000000000 is refused before it allocates.
const MAX_SEEDS: u64 = 10_000;

/// Parses `A..B` (A to B inclusive, as papers write "seeds 0..9"), `A,B,C`, or one seed.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("`{text}`: expected A..B (inclusive), a list like 0,3,7, or one seed");
    let seeds: Vec<u64> = if let Some((a, b)) = text.split_once("..") {
        let a: u64 = a.trim().parse().map_err(|_| bad())?;
        let b: u64 = b
            .trim()
            .trim_start_matches('=')
            .parse()
            .map_err(|_| bad())?;
        if b < a {
            return Err(bad());
        }
        if b - a >= MAX_SEEDS {
            return Err(format!("`{text}`: at most {MAX_SEEDS} seeds in one series"));
        }
        (a..=b).collect()
    } else {
        text.split(',')
            .map(|s| s.trim().parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()?
    };
    let mut sorted = seeds.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != seeds.len() {
        return Err(format!("`{text}` lists a seed twice"));
    }
    Ok(seeds)
}

/// A parsed `--seeds` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedList(pub Vec<u64>);

impl std::str::FromStr for SeedList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_seeds(s).map(Self)
    }
}

/// One search of the series.
#[derive(Clone, Debug, Serialize)]
pub struct SeedRun {
    pub seed: u64,
    pub architecture: String,
    /// (column, accuracy) of the found cell, with `--benchmark`.
    pub accuracies: Vec<(String, f64)>,
    /// Codes of the warnings the run raised.
    pub warnings: Vec<String>,
}

/// Mean and spread of one accuracy column over the seeds.
#[derive(Clone, Debug, Serialize)]
pub struct ColumnStats {
    pub column: String,
    /// Seeds whose cell the benchmark holds (the statistics are over these).
    pub n: usize,
    pub mean: f64,
    /// Population standard deviation (numpy's default, ddof = 0).
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

/// How often each op was kept on each row of one alpha group.
#[derive(Clone, Debug, Serialize)]
pub struct OpWins {
    pub group: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// Row-major counts, rows x cols.
    pub counts: Vec<usize>,
}

/// The whole series.
#[derive(Clone, Debug, Serialize)]
pub struct SeedsReport {
    pub schema: &'static str,
    pub space: String,
    pub proxy: String,
    pub seeds: Vec<u64>,
    pub runs: Vec<SeedRun>,
    pub accuracy: Vec<ColumnStats>,
    pub op_wins: Vec<OpWins>,
    /// Seeds whose found cell is not in the benchmark file (with --benchmark).
    pub not_in_benchmark: Vec<u64>,
    pub distinct_architectures: usize,
    pub options: SearchOptions,
    pub freedarts_version: String,
    pub total_s: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedsError {
    /// Loaded weights would make every seed the same run.
    #[error(
        "invalid setting: a seed series draws fresh weights per seed and cannot start from \
         loaded weights"
    )]
    LoadedWeights,
    #[error(transparent)]
    Search(#[from] SearchError),
}

/// Runs `opts` once per seed (the seed replaces `opts.seed`).
pub fn run_seeds(
    opts: &SearchOptions,
    seeds: &[u64],
    device: &Device,
) -> Result<SeedsReport, SeedsError> {
    if opts.init_from.is_some() {
        return Err(SeedsError::LoadedWeights);
    }
    let start = std::time::Instant::now();
    let mut runs = Vec::new();
    let mut op_wins: Vec<OpWins> = Vec::new();
    let mut proxy = String::new();
    for &seed in seeds {
        let result = run_search(
            &SearchOptions {
                seed,
                ..opts.clone()
            },
            device,
        )?;
        proxy.clone_from(&result.proxy.proxy);
        if op_wins.is_empty() {
            op_wins = result
                .proxy
                .groups
                .iter()
                .map(|g| OpWins {
                    group: g.name.clone(),
                    rows: g.rows.clone(),
                    cols: g.cols.clone(),
                    counts: vec![0; g.rows.len() * g.cols.len()],
                })
                .collect();
        }
        for (wins, kept) in op_wins.iter_mut().zip(result.kept_cells()) {
            for (row, col, _) in kept {
                wins.counts[row * wins.cols.len() + col] += 1;
            }
        }
        runs.push(SeedRun {
            seed,
            architecture: result.architecture.clone(),
            accuracies: result
                .benchmark
                .iter()
                .flat_map(|b| b.values.iter().map(|v| (v.column.clone(), v.accuracy)))
                .collect(),
            warnings: result.warnings.iter().map(|w| w.code.to_string()).collect(),
        });
    }
    // Columns by name, in the order first seen: a partial benchmark file may hold the cell
    // of one seed and not of another.
    let mut columns: Vec<String> = Vec::new();
    for (c, _) in runs.iter().flat_map(|r| &r.accuracies) {
        if !columns.contains(c) {
            columns.push(c.clone());
        }
    }
    let accuracy = columns
        .iter()
        .map(|column| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.accuracies.iter().find(|(c, _)| c == column))
                .map(|(_, a)| *a)
                .collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
            ColumnStats {
                column: column.clone(),
                n: v.len(),
                mean,
                std: var.sqrt(),
                min: v.iter().copied().fold(f64::INFINITY, f64::min),
                max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect();
    let not_in_benchmark = if opts.benchmark.is_some() {
        runs.iter()
            .filter(|r| r.accuracies.is_empty())
            .map(|r| r.seed)
            .collect()
    } else {
        Vec::new()
    };
    let mut distinct: Vec<&str> = runs.iter().map(|r| r.architecture.as_str()).collect();
    distinct.sort_unstable();
    distinct.dedup();
    Ok(SeedsReport {
        schema: "freedarts.seeds/1",
        space: opts.space.name().into(),
        proxy,
        seeds: seeds.to_vec(),
        distinct_architectures: distinct.len(),
        runs,
        accuracy,
        op_wins,
        not_in_benchmark,
        options: opts.clone(),
        freedarts_version: env!("CARGO_PKG_VERSION").into(),
        total_s: start.elapsed().as_secs_f64(),
    })
}

impl SeedsReport {
    pub fn render_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "FreeDARTS search over {} seeds: space {}, proxy {}",
            self.seeds.len(),
            self.space,
            self.proxy
        );
        for r in &self.runs {
            let warn = if r.warnings.is_empty() {
                String::new()
            } else {
                format!("  [{}]", r.warnings.join(", "))
            };
            let _ = writeln!(s, "  seed {:>3}: {}{warn}", r.seed, r.architecture);
        }
        let _ = writeln!(
            s,
            "{} distinct architecture(s)",
            self.distinct_architectures
        );
        if !self.accuracy.is_empty() {
            let _ = writeln!(
                s,
                "\nbenchmark accuracy of the found cells (mean +- std, min..max):"
            );
            for c in &self.accuracy {
                let over = if c.n < self.seeds.len() {
                    format!("  (over {} seeds)", c.n)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    s,
                    "  {:<17} {:>6.2} +- {:<5.2} {:.2}..{:.2}{over}",
                    c.column, c.mean, c.std, c.min, c.max
                );
            }
        }
        if !self.not_in_benchmark.is_empty() {
            let _ = writeln!(
                s,
                "warning: the cells of seeds {:?} are not in the benchmark file; the accuracy \
                 statistics leave them out",
                self.not_in_benchmark
            );
        }
        for w in &self.op_wins {
            let _ = writeln!(
                s,
                "\nop wins per edge ({}), out of {} seeds:",
                w.group,
                self.seeds.len()
            );
            let _ = write!(s, "{:>8}", "edge");
            for c in &w.cols {
                let _ = write!(s, " {c:>13}");
            }
            let _ = writeln!(s);
            for (r, label) in w.rows.iter().enumerate() {
                let _ = write!(s, "{label:>8}");
                for k in 0..w.cols.len() {
                    let _ = write!(s, " {:>13}", w.counts[r * w.cols.len() + k]);
                }
                let _ = writeln!(s);
            }
        }
        let _ = writeln!(s, "\ntime: {:.2} s", self.total_s);
        s
    }
}
