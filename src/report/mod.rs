//! Search results: the record written by `--json` and the text report printed to the terminal.

pub mod draw;
pub mod export;
pub mod figures;
pub mod html;
pub mod load;
pub mod scatter;

use std::fmt::Write as _;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::benchmark::BenchmarkEntry;
use crate::data::cifar::ImageBatch;
use crate::derive::Derivation;
use crate::diagnostics::Warning;
use crate::proxy::ProxyOutput;
use crate::search::SearchOptions;
use crate::util::{BURN_VERSION, worker_threads};

/// Identifier and version of the JSON layout of [`SearchResult`].
pub const SEARCH_SCHEMA: &str = "freedarts.search/1";

/// Wall-clock time of each stage, in seconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Timings {
    pub build_s: f64,
    pub data_s: f64,
    pub score_s: f64,
    pub derive_s: f64,
    pub benchmark_s: f64,
    pub total_s: f64,
}

/// What is needed to repeat a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Provenance {
    pub seed: u64,
    pub options: SearchOptions,
    pub freedarts_version: String,
    pub burn_version: String,
    pub backend: String,
    /// Shape of the scoring input [N, C, H, W].
    pub input_shape: Vec<usize>,
    /// Record indices of the image batch, when one was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_indices: Option<Vec<usize>>,
    pub threads: usize,
    /// Top-level tensors of `--init-from` that were not model state (reference results etc.).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_tensors: Vec<String>,
    pub command_line: Vec<String>,
}

impl Provenance {
    /// `device` is the one the run computed on; its backend is named from the device itself.
    pub fn new(
        opts: &SearchOptions,
        device: &Device,
        input_shape: Vec<usize>,
        batch: Option<&ImageBatch>,
        ignored_tensors: Vec<String>,
    ) -> Self {
        Self {
            seed: opts.seed,
            options: opts.clone(),
            freedarts_version: env!("CARGO_PKG_VERSION").into(),
            burn_version: BURN_VERSION.into(),
            backend: crate::device::describe(device),
            input_shape,
            batch_indices: batch.map(|b| b.indices.clone()),
            threads: worker_threads(),
            ignored_tensors,
            command_line: std::env::args().collect(),
        }
    }
}

/// Everything a search produced.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchResult {
    pub schema: String,
    pub space: String,
    /// The derived architecture in the space's text encoding.
    pub architecture: String,
    pub proxy: ProxyOutput,
    /// How the architecture followed from the scores.
    pub derivation: Derivation,
    pub warnings: Vec<Warning>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub benchmark: Option<BenchmarkEntry>,
    pub timings: Timings,
    pub peak_rss_mb: Option<f64>,
    /// Trainable parameters of the supernet (alpha excluded).
    pub parameters: usize,
    pub provenance: Provenance,
}

impl SearchResult {
    /// The (row, column) cells of each alpha group that the derivation kept, with the margin
    /// of each kept op over the runner-up.
    pub fn kept_cells(&self) -> Vec<Vec<(usize, usize, Option<f64>)>> {
        match &self.derivation {
            Derivation::Nb201 { edges, .. } => {
                vec![edges.iter().map(|d| (d.row, d.winner, d.margin)).collect()]
            }
            Derivation::Darts { cells, .. } => cells
                .iter()
                .map(|cell| {
                    cell.nodes
                        .iter()
                        .flat_map(|n| n.ops.iter().map(|d| (d.row, d.winner, d.margin)))
                        .collect()
                })
                .collect(),
        }
    }

    /// The human-readable report; `verbose` prints every score table even for many groups.
    pub fn render_text(&self, verbose: bool) -> String {
        let mut s = String::new();
        let p = &self.proxy;
        let o = &self.provenance.options;
        let _ = writeln!(
            s,
            "FreeDARTS search: space {}, proxy {}, {:?}, BN {:?}, seed {}{}",
            self.space,
            p.proxy,
            p.precision,
            o.bn,
            o.seed,
            o.init_from
                .as_ref()
                .map(|f| format!(", weights {}", f.display()))
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "{}, {} parameters (+ alpha), scoring input {:?}",
            o.space.describe(),
            self.parameters,
            self.provenance.input_shape
        );
        let _ = writeln!(s, "objective {} = {:.7e}", p.objective_name, p.objective);
        let kept = self.kept_cells();
        if verbose || p.groups.len() <= 2 {
            for (group, kept) in p.groups.iter().zip(&kept) {
                let _ = writeln!(s, "\nscores ({}), * marks a kept op:", group.name);
                let _ = write!(s, "{:>6}", "edge");
                for c in &group.cols {
                    let _ = write!(s, " {c:>13}");
                }
                let _ = writeln!(s, " {:>10}", "margin");
                for (r, label) in group.rows.iter().enumerate() {
                    let _ = write!(s, "{label:>6}");
                    let mark = kept.iter().find(|(row, _, _)| *row == r);
                    for (k, v) in group.row(r).iter().enumerate() {
                        let m = if mark.is_some_and(|&(_, col, _)| col == k) {
                            '*'
                        } else {
                            ' '
                        };
                        let _ = write!(s, " {v:>12.4e}{m}");
                    }
                    let margin = mark
                        .and_then(|&(_, _, m)| m)
                        .map(|m| format!("{m:.2e}"))
                        .unwrap_or_else(|| "-".into());
                    let _ = writeln!(s, " {margin:>10}");
                }
            }
        }
        let _ = writeln!(s, "\narchitecture: {}", self.architecture);
        if let Some(b) = &self.benchmark {
            let index = b.index.map(|i| format!(" (index {i})")).unwrap_or_default();
            let _ = writeln!(s, "benchmark{index}:");
            for v in &b.values {
                let _ = writeln!(
                    s,
                    "  {:<17} {:>7.2}  rank {:>5} of {} (best {:.2})",
                    v.column, v.accuracy, v.rank, v.of, v.best
                );
            }
        } else if o.benchmark.is_some() {
            let _ = writeln!(s, "benchmark: architecture not found in the file");
        }
        for w in &self.warnings {
            let level = match w.level {
                crate::diagnostics::Level::Warning => "warning",
                crate::diagnostics::Level::Note => "note",
            };
            let _ = writeln!(s, "{level} [{}]: {}", w.code, w.message);
            if let Some(r) = &w.remedy {
                let _ = writeln!(s, "  remedy: {r}");
            }
        }
        for n in &p.notes {
            let _ = writeln!(s, "note: {n}");
        }
        let t = &self.timings;
        let _ = writeln!(
            s,
            "\ntime: build {:.3}s, data {:.3}s, score {:.3}s, derive {:.4}s, benchmark {:.3}s, total {:.3}s; peak RSS {}",
            t.build_s,
            t.data_s,
            t.score_s,
            t.derive_s,
            t.benchmark_s,
            t.total_s,
            self.peak_rss_mb
                .map(|m| format!("{m:.0} MB"))
                .unwrap_or_else(|| "unknown".into())
        );
        s
    }
}
