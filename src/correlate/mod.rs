//! `freedarts correlate`: how well each proxy of one or more score files ranks architectures
//! against NAS-Bench-201 accuracies.

mod markdown;
pub mod metrics;
pub mod supernet;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::benchmark::{BenchmarkError, Nb201Benchmark};
use crate::saliency::ensemble::ProxySet;
use crate::scoring::file::{ScoreFileError, ScoreLine, batch_difference, read_score_file};
use crate::spaces::nb201::Nb201Arch;

/// The top fractions the table reports.
pub const TOP_FRACTIONS: [f64; 3] = [0.01, 0.05, 0.10];

/// Metrics of one proxy against one accuracy column.
#[derive(Clone, Debug, Serialize)]
pub struct Correlation {
    pub proxy: String,
    pub column: String,
    /// Architectures with both a finite score and an accuracy.
    pub n: usize,
    /// Rows skipped because the score was missing or not finite.
    pub skipped: usize,
    /// Rank and linear correlations of the score oriented so that larger predicts better
    /// (negated for a proxy whose header says smaller is better).
    pub kendall_tau: f64,
    pub spearman: f64,
    /// Pearson's r of the (oriented) values (dominated by outliers for proxies spanning decades,
    /// like synflow; the rank metrics are the ones to read).
    pub pearson: f64,
    /// Share of the top 1%, 5%, 10% by score that are in the top 1%, 5%, 10% by accuracy.
    pub precision_at: Vec<f64>,
    /// Best accuracy among the top 1%, 5%, 10% by score.
    pub best_in_top: Vec<f64>,
    /// Best accuracy among all scored architectures in the benchmark (what a perfect proxy finds).
    pub best_possible: f64,
}

/// Everything `correlate` computed, as written to `--output`.
#[derive(Clone, Debug, Serialize)]
pub struct CorrelationReport {
    pub format: &'static str,
    pub score_files: Vec<PathBuf>,
    pub benchmark: PathBuf,
    /// Tables whose columns were joined to `benchmark`'s (`--benchmark` given again).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub joined_benchmarks: Vec<PathBuf>,
    pub top_fractions: Vec<f64>,
    /// Whether a larger value of each proxy predicts a better network, from the headers.
    pub larger_is_better: Vec<(String, bool)>,
    pub results: Vec<Correlation>,
    /// Architectures in the score files that the benchmark does not hold.
    pub unmatched: usize,
    pub freedarts_version: String,
    /// The (score, accuracy) pairs behind each result, in the same order, for plots.
    #[serde(skip)]
    pub samples: Vec<Sample>,
}

/// The finite scores of one proxy and the matching accuracies of one column.
#[derive(Clone, Debug)]
pub struct Sample {
    pub proxy: String,
    pub column: String,
    pub scores: Vec<f64>,
    pub accuracies: Vec<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum CorrelateError {
    #[error(transparent)]
    File(#[from] ScoreFileError),
    #[error(transparent)]
    Benchmark(#[from] BenchmarkError),
    #[error("{path}: `{arch}` is not an NB201 architecture string: {message}")]
    Arch {
        path: PathBuf,
        arch: String,
        message: String,
    },
    #[error(
        "{path} defines `{proxy}` as {this}, {first} as {was}: the builds that wrote them compute it differently; score one again with this build"
    )]
    ProxyDefinition {
        path: PathBuf,
        first: PathBuf,
        proxy: String,
        this: String,
        was: String,
    },
    #[error("{path}: {arch} scored twice with different values for `{proxy}`")]
    Conflict {
        path: PathBuf,
        arch: String,
        proxy: String,
    },
    #[error(
        "{path}: a {space} score file; correlate looks accuracies up in NAS-Bench-201 and needs nb201 scores"
    )]
    Space { path: PathBuf, space: String },
    #[error(
        "{path} was scored with another {key} ({this}) than {first} ({was}): only files of one network, seed and image batch can be compared"
    )]
    Mismatch {
        path: PathBuf,
        first: PathBuf,
        key: String,
        this: String,
        was: String,
    },
    #[error("{path}: `{arch}` has {proxy} = {value}; expected a number or null")]
    NotANumber {
        path: PathBuf,
        arch: String,
        proxy: String,
        value: String,
    },
    #[error("none of the {scored} scored architectures is in {benchmark}")]
    NoMatch { scored: usize, benchmark: PathBuf },
    #[error("no proxy column found in {0:?}: are these `freedarts score` files?")]
    NoProxies(Vec<PathBuf>),
    #[error("{path}: header ensemble {value} is not a proxy aggregate this freedarts knows")]
    Ensemble { path: PathBuf, value: String },
    #[error(
        "--ensemble {ensemble}: the score files have no `{member}` column (they have {available})"
    )]
    EnsembleMember {
        ensemble: String,
        member: String,
        available: String,
    },
    #[error("unknown accuracy column `{column}`; the benchmark has {available}")]
    Column { column: String, available: String },
}

/// Scores by proxy name, for each architecture.
struct Scores {
    proxies: Vec<(String, bool)>,
    /// Rank aggregates the headers ask for.
    ensembles: Vec<ProxySet>,
    rows: HashMap<Nb201Arch, HashMap<String, Option<f64>>>,
}

fn read_scores(paths: &[PathBuf]) -> Result<Scores, CorrelateError> {
    let mut proxies: Vec<(String, bool)> = Vec::new();
    let mut ensembles: Vec<ProxySet> = Vec::new();
    let mut rows: HashMap<Nb201Arch, HashMap<String, Option<f64>>> = HashMap::new();
    let mut raw_rows = Vec::new();
    // Every header is checked against every earlier one, not only the first: a file written
    // before fingerprints, given first, would compare the others by path alone.
    let mut earlier: Vec<(PathBuf, Map<String, Value>)> = Vec::new();
    for path in paths {
        for line in read_score_file(path)? {
            match line {
                ScoreLine::Header(h) => {
                    let space = h.get("space").and_then(Value::as_str).unwrap_or("nb201");
                    if space != "nb201" {
                        return Err(CorrelateError::Space {
                            path: path.clone(),
                            space: space.into(),
                        });
                    }
                    for (earlier_path, e) in &earlier {
                        same_run(path, &h, earlier_path, e)?;
                        same_proxies(path, &h, earlier_path, e)?;
                    }
                    earlier.push((path.clone(), h.clone()));
                    for e in h
                        .get("ensembles")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let set = e
                            .as_str()
                            .and_then(|t| ProxySet::parse(t).ok())
                            .ok_or_else(|| CorrelateError::Ensemble {
                                path: path.clone(),
                                value: e.to_string(),
                            })?;
                        if !ensembles.contains(&set) {
                            ensembles.push(set);
                        }
                    }
                    for p in h
                        .get("proxies")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let Some(name) = p.get("name").and_then(Value::as_str) else {
                            continue;
                        };
                        let larger = p.get("larger_is_better").and_then(Value::as_bool);
                        if !proxies.iter().any(|(n, _)| n == name) {
                            proxies.push((name.to_string(), larger.unwrap_or(true)));
                        }
                    }
                }
                ScoreLine::Row(r) => raw_rows.push((path.clone(), r)),
            }
        }
    }
    if proxies.is_empty() {
        return Err(CorrelateError::NoProxies(paths.to_vec()));
    }
    for (path, row) in raw_rows {
        let text = row["arch"].as_str().unwrap_or_default();
        let arch = Nb201Arch::parse(text).map_err(|e| CorrelateError::Arch {
            path: path.clone(),
            arch: text.to_string(),
            message: e.to_string(),
        })?;
        let entry = rows.entry(arch).or_default();
        for (name, _) in &proxies {
            let Some(value) = row.get(name) else { continue };
            if !(value.is_number() || value.is_null()) {
                return Err(CorrelateError::NotANumber {
                    path,
                    arch: arch.to_string(),
                    proxy: name.clone(),
                    value: value.to_string(),
                });
            }
            let value = value.as_f64();
            if let Some(old) = entry.insert(name.clone(), value)
                && old != value
            {
                return Err(CorrelateError::Conflict {
                    path,
                    arch: arch.to_string(),
                    proxy: name.clone(),
                });
            }
        }
    }
    Ok(Scores {
        proxies,
        ensembles,
        rows,
    })
}

/// Adds the rank aggregate `set` of the files' proxies as a proxy of its own, over the
/// architectures that have a finite value of every member (each oriented larger-is-better).
fn add_ensemble(scores: &mut Scores, set: &ProxySet) -> Result<(), CorrelateError> {
    let mut members = Vec::new();
    for m in &set.measures {
        let found = scores.proxies.iter().find(|(n, _)| n == m.name());
        let Some((name, larger)) = found else {
            return Err(CorrelateError::EnsembleMember {
                ensemble: set.to_string(),
                member: m.name().into(),
                available: scores
                    .proxies
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        members.push((name.clone(), *larger));
    }
    let mut archs: Vec<Nb201Arch> = scores
        .rows
        .iter()
        .filter(|(_, row)| {
            members
                .iter()
                .all(|(n, _)| row.get(n).copied().flatten().is_some_and(f64::is_finite))
        })
        .map(|(a, _)| *a)
        .collect();
    archs.sort_by_key(|a| a.to_string());
    let values: Vec<Vec<f64>> = members
        .iter()
        .map(|(n, larger)| {
            archs
                .iter()
                .map(|a| {
                    let v = scores.rows[a][n].unwrap_or(f64::NAN);
                    if *larger { v } else { -v }
                })
                .collect()
        })
        .collect();
    let combined = set.combine(&values);
    let name = set.to_string();
    for row in scores.rows.values_mut() {
        row.insert(name.clone(), None);
    }
    for (a, v) in archs.iter().zip(combined) {
        scores
            .rows
            .get_mut(a)
            .expect("listed above")
            .insert(name.clone(), Some(v));
    }
    if !scores.proxies.iter().any(|(n, _)| *n == name) {
        scores.proxies.push((name, true));
    }
    Ok(())
}

/// Files can only be merged when their networks were the same: same skeleton and seed, and
/// the same image batch where both used one. Proxies and shards may differ, but a proxy in
/// both must be defined alike (its description and direction in the headers): a build that
/// changed what `fisher` computes must not have its rows pooled with an older build's.
fn same_run(
    path: &Path,
    h: &Map<String, Value>,
    first_path: &Path,
    first: &Map<String, Value>,
) -> Result<(), CorrelateError> {
    for key in ["network", "seed", "data"] {
        let (this, was) = (h.get(key), first.get(key));
        let show = |v: Option<&Value>| v.map_or("absent".into(), Value::to_string);
        let difference = if key == "data" {
            // A file without an image batch (SynFlow, say) merges with any.
            match (this, was) {
                (Some(this), Some(was)) if !this.is_null() && !was.is_null() => {
                    batch_difference(was, this).map(|(key, was, this)| (key, this, was))
                }
                _ => None,
            }
        } else {
            (this != was).then(|| (key.to_string(), show(this), show(was)))
        };
        if let Some((key, this, was)) = difference {
            return Err(CorrelateError::Mismatch {
                path: path.into(),
                first: first_path.into(),
                key,
                this,
                was,
            });
        }
    }
    Ok(())
}

/// The first proxy that headers `h` and `first` both list but define differently.
fn same_proxies(
    path: &Path,
    h: &Map<String, Value>,
    first_path: &Path,
    first: &Map<String, Value>,
) -> Result<(), CorrelateError> {
    let listed = |h: &Map<String, Value>| -> Vec<Value> {
        h.get("proxies")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let earlier = listed(first);
    for p in listed(h) {
        let name = p.get("name").and_then(Value::as_str);
        let Some(was) = earlier
            .iter()
            .find(|e| name.is_some() && e.get("name").and_then(Value::as_str) == name)
        else {
            continue;
        };
        if *was != p {
            let show = |v: &Value| {
                let description = v.get("description").map_or("none".into(), Value::to_string);
                match v.get("larger_is_better").and_then(Value::as_bool) {
                    Some(false) => format!("{description} (smaller is better)"),
                    _ => description,
                }
            };
            return Err(CorrelateError::ProxyDefinition {
                path: path.into(),
                first: first_path.into(),
                proxy: name.unwrap_or_default().to_string(),
                this: show(&p),
                was: show(was),
            });
        }
    }
    Ok(())
}

/// Correlates every proxy of `score_files` with the benchmark's accuracy `columns` (all of
/// them when empty). `benchmark` is the accuracy table, `joined` more tables whose columns
/// join it ([`Nb201Benchmark::load_joined`]); `columns` may name any column of either.
pub fn correlate(
    score_files: &[PathBuf],
    benchmark_path: &Path,
    joined: &[PathBuf],
    columns: &[String],
    ensembles: &[ProxySet],
) -> Result<CorrelationReport, CorrelateError> {
    let mut scores = read_scores(score_files)?;
    let mut sets: Vec<ProxySet> = scores.ensembles.clone();
    for set in ensembles {
        if !sets.contains(set) {
            sets.push(set.clone());
        }
    }
    for set in &sets {
        add_ensemble(&mut scores, set)?;
    }
    let bench = Nb201Benchmark::load_joined(benchmark_path, joined, columns)?;
    let columns: Vec<String> = if columns.is_empty() {
        bench.columns().to_vec()
    } else {
        columns.to_vec()
    };
    let column_ids = columns
        .iter()
        .map(|c| {
            bench.column_index(c).ok_or_else(|| CorrelateError::Column {
                column: c.clone(),
                available: bench.columns().join(", "),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // A fixed order (by arch string) so ties at a top-k boundary always break the same way.
    let mut archs: Vec<(&Nb201Arch, &[f64])> = scores
        .rows
        .keys()
        .filter_map(|a| bench.accuracies(a).map(|acc| (a, acc)))
        .collect();
    archs.sort_by_key(|(a, _)| a.to_string());
    let unmatched = scores.rows.len() - archs.len();
    if archs.is_empty() {
        return Err(CorrelateError::NoMatch {
            scored: scores.rows.len(),
            benchmark: benchmark_path.into(),
        });
    }

    let mut results = Vec::new();
    let mut samples = Vec::new();
    for (proxy, larger_is_better) in &scores.proxies {
        // Metrics rank by predicted quality: a smaller-is-better proxy is negated first, so
        // its tau, rho and top-k sets mean the same as everyone else's.
        let sign = if *larger_is_better { 1.0 } else { -1.0 };
        for (column, &c) in columns.iter().zip(&column_ids) {
            let (mut raw, mut acc) = (Vec::new(), Vec::new());
            for (arch, accs) in &archs {
                match scores.rows[*arch].get(proxy).copied().flatten() {
                    Some(v) if v.is_finite() => {
                        raw.push(v);
                        acc.push(accs[c]);
                    }
                    _ => {}
                }
            }
            let s: Vec<f64> = raw.iter().map(|v| sign * v).collect();
            results.push(Correlation {
                proxy: proxy.clone(),
                column: column.clone(),
                n: s.len(),
                skipped: archs.len() - s.len(),
                kendall_tau: metrics::kendall_tau_b(&s, &acc),
                spearman: metrics::spearman(&s, &acc),
                pearson: metrics::pearson(&s, &acc),
                precision_at: TOP_FRACTIONS
                    .iter()
                    .map(|&f| metrics::precision_at(&s, &acc, f))
                    .collect(),
                best_in_top: TOP_FRACTIONS
                    .iter()
                    .map(|&f| metrics::best_in_top(&s, &acc, f))
                    .collect(),
                best_possible: archs
                    .iter()
                    .map(|(_, a)| a[c])
                    .fold(f64::NEG_INFINITY, f64::max),
            });
            samples.push(Sample {
                proxy: proxy.clone(),
                column: column.clone(),
                scores: raw,
                accuracies: acc,
            });
        }
    }
    Ok(CorrelationReport {
        format: "freedarts.correlation/1",
        score_files: score_files.to_vec(),
        benchmark: benchmark_path.to_path_buf(),
        joined_benchmarks: joined.to_vec(),
        top_fractions: TOP_FRACTIONS.to_vec(),
        larger_is_better: scores.proxies,
        results,
        unmatched,
        freedarts_version: env!("CARGO_PKG_VERSION").into(),
        samples,
    })
}

impl CorrelationReport {
    /// The accuracy columns, in the order of the results.
    pub fn columns(&self) -> Vec<&str> {
        let mut columns: Vec<&str> = Vec::new();
        for r in &self.results {
            if !columns.contains(&r.column.as_str()) {
                columns.push(&r.column);
            }
        }
        columns
    }

    /// Each proxy that lost cells to a non-finite score, with how many, in the order of the
    /// results (the count is the same for every column).
    pub fn left_out(&self) -> Vec<(&str, usize)> {
        let mut left_out: Vec<(&str, usize)> = Vec::new();
        for r in self.results.iter().filter(|r| r.skipped > 0) {
            if !left_out.iter().any(|(p, _)| *p == r.proxy) {
                left_out.push((&r.proxy, r.skipped));
            }
        }
        left_out
    }

    /// One table per accuracy column, one row per proxy.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let direction: Vec<String> = self
            .larger_is_better
            .iter()
            .map(|(p, larger)| format!("{p} {}", if *larger { "larger" } else { "smaller" }))
            .collect();
        out.push_str(&format!(
            "better is (from the score files): {}\n",
            direction.join(", ")
        ));
        for column in self.columns() {
            out.push_str(&format!(
                "{column}\n  {:<10} {:>6} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>7} {:>7}\n",
                "proxy", "n", "tau", "rho", "r", "P@1%", "P@5%", "P@10%", "best1%", "best10%"
            ));
            for r in self.results.iter().filter(|r| r.column == column) {
                out.push_str(&format!(
                    "  {:<10} {:>6} {:>7.3} {:>7.3} {:>7.3} {:>6.3} {:>6.3} {:>6.3} {:>7.2} {:>7.2}\n",
                    r.proxy,
                    r.n,
                    r.kendall_tau,
                    r.spearman,
                    r.pearson,
                    r.precision_at[0],
                    r.precision_at[1],
                    r.precision_at[2],
                    r.best_in_top[0],
                    r.best_in_top[2],
                ));
            }
            if let Some(r) = self.results.iter().find(|r| r.column == column) {
                out.push_str(&format!("  best possible: {:.2}\n", r.best_possible));
            }
        }
        if self.unmatched > 0 {
            out.push_str(&format!(
                "{} scored architectures are not in the benchmark and were left out\n",
                self.unmatched
            ));
        }
        for (proxy, skipped) in self.left_out() {
            out.push_str(&format!(
                "{proxy}: {skipped} architectures without a finite score (null, NaN or infinite) were left out\n"
            ));
        }
        out
    }
}
