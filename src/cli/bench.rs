//! `freedarts bench`: flags, then [`freedarts::bench::run_bench`].

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use freedarts::bench::{BenchOptions, run_bench};
use freedarts::search::validate_config;
use freedarts::sizes::{check_fits, estimate_supernet};

use super::args::device::DeviceArgs;
use super::args::output::{check_paths, write_json};
use super::args::space::SpaceArgs;
use super::args::{bounds, range};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub space: SpaceArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Weights to load (a seed-0 initialisation otherwise).
    #[arg(long, value_name = "FILE.safetensors")]
    pub init_from: Option<PathBuf>,
    /// CIFAR binary file for the SNIP batch (synthetic images otherwise).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Timed SynFlow searches (after 3 warm-ups), 1 to 100000; the median is reported.
    #[arg(long, default_value_t = 20, value_parser = range(1, bounds::REPEATS))]
    pub repeats: usize,
    /// Timed SNIP passes (after 1 warm-up), 0 to 100000; 0 skips SNIP.
    #[arg(long, default_value_t = 5, value_parser = range(0, bounds::REPEATS))]
    pub snip_repeats: usize,
    /// Images in the SNIP batch, 1 to 65536.
    #[arg(long, default_value_t = 64, value_parser = range(1, bounds::BATCH))]
    pub batch_size: usize,
    /// Time burn's own operations (convolution, BatchNorm, pooling, mixed-edge sums) instead of
    /// freedarts' kernels (the baseline of a before/after comparison).
    #[arg(long)]
    pub burn_kernels: bool,
    /// Write the timings as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub fn bench(args: &BenchArgs) -> Result<()> {
    let opts = BenchOptions {
        space: args.space.config()?,
        init_from: args.init_from.clone(),
        data: args.data.clone(),
        repeats: args.repeats,
        snip_repeats: args.snip_repeats,
        batch_size: args.batch_size,
        burn_kernels: args.burn_kernels,
    };
    check_paths(
        &[
            ("--init-from", args.init_from.as_deref()),
            ("--data", args.data.as_deref()),
        ],
        &[("--json", args.json.as_deref())],
    )?;
    validate_config(&opts.space)?;
    check_fits(
        format!(
            "the supernet ({}, batch {})",
            opts.space.describe(),
            opts.batch_size
        ),
        estimate_supernet(&opts.space),
        if opts.snip_repeats > 0 {
            opts.batch_size
        } else {
            1
        },
        1,
    )
    .map_err(|e| {
        anyhow!("invalid setting: {e}; lower --channels, --cells, --input-size or --batch-size")
    })?;
    let r = run_bench(&opts, &args.device.device())?;
    println!(
        "synflow search: cold {:.1} ms, warm median {:.1} ms (min {:.1} ms) over {} runs",
        r.synflow_cold_s * 1e3,
        r.synflow_warm_s * 1e3,
        r.synflow_min_s * 1e3,
        opts.repeats
    );
    if opts.snip_repeats > 0 {
        println!(
            "snip pass, batch {}: warm median {:.3} s over {} runs",
            opts.batch_size, r.snip_warm_s, opts.snip_repeats
        );
    }
    println!(
        "threads {}, peak RSS {}",
        r.threads,
        r.peak_rss_mb
            .map(|m| format!("{m:.0} MB"))
            .unwrap_or_else(|| "unknown".into())
    );
    if let Some(path) = &args.json {
        write_json(path, "--json", &r)?;
    }
    Ok(())
}
