//! `freedarts bench`: warm timings of the hot paths, to compare with the PyTorch script in
//! `bench/` on the same machine and the same weights.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use serde::Serialize;

use crate::data::cifar::{self, CifarFormat, Normalization};
use crate::nn::ctx::{BnMode, Precision};
use crate::nn::model::Model;
use crate::saliency::alpha::score_alpha;
use crate::saliency::{Scoring, Target, measure_by_name};
use crate::search::{SearchError, SearchOptions, SpaceConfig, build_supernet, derive};

/// What to time.
#[derive(Clone, Debug, Serialize)]
pub struct BenchOptions {
    pub space: SpaceConfig,
    /// Weights to load; a seed-0 initialisation otherwise.
    pub init_from: Option<PathBuf>,
    /// CIFAR file for the SNIP batch; synthetic images otherwise.
    pub data: Option<PathBuf>,
    pub repeats: usize,
    pub snip_repeats: usize,
    pub batch_size: usize,
    /// Time burn's own operations instead of the kernels of
    /// [`crate::nn::kernels`] (the before of a before/after comparison in one build).
    pub burn_kernels: bool,
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
    /// What the timings ran on ([`crate::device::describe`]).
    pub backend: String,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run_bench(opts: &BenchOptions, device: &Device) -> Result<BenchReport, SearchError> {
    crate::nn::kernels::use_own_kernels(!opts.burn_kernels);
    let built = build_supernet(&SearchOptions {
        space: opts.space,
        init_from: opts.init_from.clone(),
        ..SearchOptions::default()
    })?;
    let net: &dyn Model = &*built.net;
    let synflow = measure_by_name("synflow").expect("synflow is registered");
    let snip = measure_by_name("snip").expect("snip is registered");
    let target = Target::Alpha {
        precision: Precision::F32,
        bn: BnMode::Train,
        alpha_abs: opts.space.official_alpha_abs(),
    };
    // The store is built once, as a search builds it: passes reuse the device tensors.
    let mut scoring = Scoring::new(net, built.state.clone(), device, None, 0);
    let mut search_once = || -> Result<f64, SearchError> {
        let t = Instant::now();
        let out = score_alpha(synflow, &mut scoring, target)?;
        std::hint::black_box(derive(&opts.space, &out));
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
    // The SNIP pass's peak memory is its own: the SynFlow store goes first.
    drop(scoring);

    let (classes, size) = (opts.space.classes(), opts.space.input_size());
    let batch = match &opts.data {
        Some(path) => {
            let format = CifarFormat::infer(path, classes);
            cifar::load_cifar_batch(
                path,
                format,
                opts.batch_size,
                None,
                &Normalization::nb201(format),
            )?
        }
        None => cifar::synthetic_batch(opts.batch_size, classes, size, size, 0),
    };
    let mut scoring = Scoring::new(net, built.state.clone(), device, Some(&batch), 0);
    if opts.snip_repeats == 0 {
        return Ok(BenchReport {
            options: opts.clone(),
            synflow_cold_s,
            synflow_warm_s,
            synflow_min_s,
            snip_warm_s: f64::NAN,
            peak_rss_mb: crate::util::peak_rss_mb(),
            threads: crate::util::worker_threads(),
            backend: crate::device::describe(device),
        });
    }
    let mut snip_once = || -> Result<f64, SearchError> {
        let t = Instant::now();
        std::hint::black_box(score_alpha(snip, &mut scoring, target)?);
        Ok(t.elapsed().as_secs_f64())
    };
    snip_once()?;
    let snip_times = (0..opts.snip_repeats)
        .map(|_| snip_once())
        .collect::<Result<Vec<_>, _>>()?;

    Ok(BenchReport {
        options: opts.clone(),
        synflow_cold_s,
        synflow_warm_s,
        synflow_min_s,
        snip_warm_s: median(snip_times),
        peak_rss_mb: crate::util::peak_rss_mb(),
        threads: crate::util::worker_threads(),
        backend: crate::device::describe(device),
    })
}
