//! One FreeDARTS search: build (or load) the supernet, score alpha with a proxy, derive the
//! architecture, check the numbers, and look the result up in a benchmark.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use serde::Serialize;

use crate::benchmark::{BenchmarkEntry, Nb201Benchmark};
use crate::data::cifar::{self, CifarFormat, ImageBatch, Normalization};
use crate::derive::{EdgeDecision, derive_argmax};
use crate::diagnostics::{self, Warning};
use crate::nn::ctx::{BnMode, Precision};
use crate::proxy::{Grasp, Proxy, ProxyOutput, ScoreContext, Snip, SynFlow};
use crate::report::{Provenance, SearchResult, Timings};
use crate::supernet::nb201::{Nb201Config, Nb201Supernet};

/// The saliency to score alpha with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProxyKind {
    /// |alpha * dR/dalpha|, R = summed logits of an all-ones image through the |weights| net.
    Synflow,
    /// |alpha * dL/dalpha| on one real batch.
    Snip,
    /// -alpha * (H g) on one real batch.
    Grasp,
}

/// Where the images for SNIP/GraSP come from.
#[derive(Clone, Debug, Serialize)]
pub enum DataSource {
    /// A CIFAR binary file or a directory of the official batch files.
    Cifar(PathBuf),
    /// Seeded standard-normal images.
    Synthetic,
}

/// Every setting of a search; recorded verbatim in the result's provenance.
#[derive(Clone, Debug, Serialize)]
pub struct SearchOptions {
    pub space: String,
    pub config: Nb201Config,
    pub proxy: ProxyKind,
    pub dtype: Precision,
    pub bn: BnMode,
    pub alpha_abs: bool,
    pub seed: u64,
    pub init_from: Option<PathBuf>,
    pub data: Option<DataSource>,
    pub batch_size: usize,
    pub shuffle_seed: Option<u64>,
    pub benchmark: Option<PathBuf>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            space: "nb201".into(),
            config: Nb201Config::default(),
            proxy: ProxyKind::Synflow,
            dtype: Precision::F32,
            bn: BnMode::Train,
            alpha_abs: true,
            seed: 0,
            init_from: None,
            data: None,
            batch_size: 64,
            shuffle_seed: None,
            benchmark: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Weights(#[from] crate::supernet::weights::WeightsError),
    #[error(transparent)]
    Data(#[from] crate::data::cifar::DataError),
    #[error(transparent)]
    Proxy(#[from] crate::proxy::ProxyError),
    #[error(transparent)]
    Benchmark(#[from] crate::benchmark::BenchmarkError),
    #[error("invalid setting: {0}")]
    Config(String),
}

/// Checks the macro skeleton before anything is built.
pub fn validate_config(c: &Nb201Config) -> Result<(), SearchError> {
    if c.channels == 0 || c.cells_per_stage == 0 || c.classes == 0 {
        return Err(SearchError::Config(
            "--channels, --cells-per-stage and --classes must be at least 1".into(),
        ));
    }
    if c.input_size < 4 || !c.input_size.is_multiple_of(4) {
        return Err(SearchError::Config(format!(
            "--input-size {} must be a positive multiple of 4 (two stride-2 reductions)",
            c.input_size
        )));
    }
    Ok(())
}

fn load_batch(opts: &SearchOptions) -> Result<Option<ImageBatch>, SearchError> {
    let c = &opts.config;
    Ok(match &opts.data {
        None => None,
        Some(DataSource::Synthetic) => Some(cifar::synthetic_batch(
            opts.batch_size,
            c.classes,
            c.input_size,
            c.input_size,
            opts.shuffle_seed.unwrap_or(opts.seed),
        )),
        Some(DataSource::Cifar(path)) => {
            let format = CifarFormat::infer(path, c.classes);
            let norm = Normalization::nb201(format);
            Some(cifar::load_cifar_batch(
                path,
                format,
                opts.batch_size,
                opts.shuffle_seed,
                &norm,
            )?)
        }
    })
}

/// Runs a whole search on `device` (an autodiff device).
pub fn run_search(opts: &SearchOptions, device: &Device) -> Result<SearchResult, SearchError> {
    let start = Instant::now();
    validate_config(&opts.config)?;
    let net = Nb201Supernet::new(opts.config);
    let (state, ignored) = match &opts.init_from {
        Some(path) => net.load_state(path)?,
        None => (net.initial_state(opts.seed), Vec::new()),
    };
    let build_s = start.elapsed().as_secs_f64();

    let t = Instant::now();
    let proxy: Box<dyn Proxy> = match opts.proxy {
        ProxyKind::Synflow => Box::new(SynFlow {
            alpha_abs: opts.alpha_abs,
        }),
        ProxyKind::Snip => Box::new(Snip),
        ProxyKind::Grasp => Box::new(Grasp::default()),
    };
    let batch = if proxy.needs_data() {
        load_batch(opts)?
    } else {
        None
    };
    let data_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let ctx = ScoreContext {
        device,
        precision: opts.dtype,
        bn: opts.bn,
        batch: batch.as_ref(),
    };
    let output = proxy.score(&net, &state, &ctx)?;
    let score_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (arch, decisions) = derive_argmax(&output.groups[0].score);
    let derive_s = t.elapsed().as_secs_f64();
    let warnings = diagnostics::check(&output, std::slice::from_ref(&decisions));

    let t = Instant::now();
    let benchmark = match &opts.benchmark {
        Some(path) => Nb201Benchmark::load(path)?.lookup(&arch),
        None => None,
    };
    let benchmark_s = t.elapsed().as_secs_f64();

    Ok(assemble(
        opts,
        &net,
        output,
        arch.to_string(),
        decisions,
        warnings,
        benchmark,
        batch.as_ref(),
        ignored,
        Timings {
            build_s,
            data_s,
            score_s,
            derive_s,
            benchmark_s,
            total_s: start.elapsed().as_secs_f64(),
        },
    ))
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    opts: &SearchOptions,
    net: &Nb201Supernet,
    proxy: ProxyOutput,
    architecture: String,
    decisions: Vec<EdgeDecision>,
    warnings: Vec<Warning>,
    benchmark: Option<BenchmarkEntry>,
    batch: Option<&ImageBatch>,
    ignored_tensors: Vec<String>,
    timings: Timings,
) -> SearchResult {
    use crate::supernet::Supernet;
    let [c, h, w] = net.input_shape();
    let input_shape = match batch {
        Some(b) => vec![b.n, b.channels, b.height, b.width],
        None => vec![1, c, h, w],
    };
    SearchResult {
        schema: crate::report::SEARCH_SCHEMA.into(),
        space: opts.space.clone(),
        architecture,
        proxy,
        decisions: vec![decisions],
        warnings,
        benchmark,
        timings,
        peak_rss_mb: crate::report::peak_rss_mb(),
        parameters: net.registry().trainable_count(),
        provenance: Provenance::new(opts, input_shape, batch, ignored_tensors),
    }
}
