//! What a search produced: the record written by `--json` and read back by `report`.

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::benchmark::BenchmarkEntry;
use crate::data::cifar::ImageBatch;
use crate::data::preprocess::Preprocessing;
use crate::diagnostics::Warning;
use crate::saliency::alpha::ProxyOutput;
use crate::spaces::derive::Derivation;
use crate::util::{BURN_VERSION, worker_threads};

use super::SearchOptions;

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
    /// The local search of `--refine` (absent without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refine_s: Option<f64>,
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
    /// Fingerprint of that batch as the network saw it ([`ImageBatch::sha256`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_sha256: Option<String>,
    pub threads: usize,
    /// Top-level tensors of `--init-from` that were not model state (reference results etc.).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignored_tensors: Vec<String>,
    pub command_line: Vec<String>,
    /// How the image batch was prepared (CIFAR normalisation constants, augmentation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocessing: Option<Preprocessing>,
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
            batch_sha256: batch.map(ImageBatch::sha256),
            threads: worker_threads(),
            ignored_tensors,
            command_line: std::env::args().collect(),
            preprocessing: None,
        }
    }

    /// The same, recording how the batch was prepared.
    pub fn with_preprocessing(mut self, preprocessing: Option<Preprocessing>) -> Self {
        self.preprocessing = preprocessing;
        self
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
    /// Round by round, what a strategy other than `oneshot` removed (absent for `oneshot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<super::strategy::StrategyTrace>,
    /// What `--refine local` scored and where it went (absent without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refine: Option<super::refine::RefineTrace>,
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
}
