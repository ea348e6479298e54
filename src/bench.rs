//! `freedarts bench`: warm timings of the hot paths, to compare with the PyTorch script in
//! `bench/` on the same machine and the same weights.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use serde::Serialize;

use crate::data::cifar::{self, CifarFormat, Normalization};
use crate::derive::derive_argmax;
use crate::nn::ctx::{BnMode, Precision};
use crate::proxy::{Proxy, ScoreContext, Snip, SynFlow};
use crate::search::SearchError;
use crate::supernet::nb201::{Nb201Config, Nb201Supernet};

/// What to time.
#[derive(Clone, Debug, Serialize)]
pub struct BenchOptions {
    pub config: Nb201Config,
    /// Weights to load; a seed-0 initialisation otherwise.
    pub init_from: Option<PathBuf>,
    /// CIFAR file for the SNIP batch; synthetic images otherwise.
    pub data: Option<PathBuf>,
    pub repeats: usize,
    pub snip_repeats: usize,
    pub batch_size: usize,
}

/// Timings in seconds.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub options: BenchOptions,
    /// First SynFlow search of the process (score + derive).
    pub synflow_cold_s: f64,
    /// Median warm SynFlow search.
    pub synflow_warm_s: f64,
    pub synflow_min_s: f64,
    /// Median warm SNIP pass on one batch (forward + backward + score).
    pub snip_warm_s: f64,
    pub peak_rss_mb: Option<f64>,
    pub threads: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run_bench(opts: &BenchOptions, device: &Device) -> Result<BenchReport, SearchError> {
    crate::search::validate_config(&crate::search::SpaceConfig::Nb201(opts.config))?;
    let net = Nb201Supernet::new(opts.config);
    let state = match &opts.init_from {
        Some(path) => net.load_state(path)?.0,
        None => net.initial_state(0),
    };
    let synflow = SynFlow { alpha_abs: true };
    let ctx = ScoreContext {
        device,
        precision: Precision::F32,
        bn: BnMode::Train,
        batch: None,
    };
    let search_once = || -> Result<f64, SearchError> {
        let t = Instant::now();
        let out = synflow.score(&net, &state, &ctx)?;
        let (arch, _) = derive_argmax(&out.groups[0].score);
        std::hint::black_box(arch);
        Ok(t.elapsed().as_secs_f64())
    };
    let synflow_cold_s = search_once()?;
    for _ in 0..3 {
        search_once()?;
    }
    let times = (0..opts.repeats.max(1))
        .map(|_| search_once())
        .collect::<Result<Vec<_>, _>>()?;
    let synflow_min_s = times.iter().copied().fold(f64::INFINITY, f64::min);
    let synflow_warm_s = median(times);

    let c = &opts.config;
    let batch = match &opts.data {
        Some(path) => {
            let format = CifarFormat::infer(path, c.classes);
            cifar::load_cifar_batch(
                path,
                format,
                opts.batch_size,
                None,
                &Normalization::nb201(format),
            )?
        }
        None => cifar::synthetic_batch(opts.batch_size, c.classes, c.input_size, c.input_size, 0),
    };
    let ctx = ScoreContext {
        batch: Some(&batch),
        ..ctx
    };
    let snip_once = || -> Result<f64, SearchError> {
        let t = Instant::now();
        std::hint::black_box(Snip.score(&net, &state, &ctx)?);
        Ok(t.elapsed().as_secs_f64())
    };
    snip_once()?;
    let snip_times = (0..opts.snip_repeats.max(1))
        .map(|_| snip_once())
        .collect::<Result<Vec<_>, _>>()?;

    Ok(BenchReport {
        options: opts.clone(),
        synflow_cold_s,
        synflow_warm_s,
        synflow_min_s,
        snip_warm_s: median(snip_times),
        peak_rss_mb: crate::report::peak_rss_mb(),
        threads: crate::report::worker_threads(),
    })
}
