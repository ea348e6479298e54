//! `freedarts info`: sizes of a supernet and of a genotype's evaluation networks.

use std::path::PathBuf;

use anyhow::{Result, anyhow, ensure};

use freedarts::search::validate_config;
use freedarts::sizes::{check_fits, estimate_eval, estimate_supernet, network_size, supernet_size};
use freedarts::spaces::NetworkSpace;
use freedarts::spaces::darts::network::EvalConfig;

use super::args::output::{check_paths, write_json};
use super::args::space::SpaceArgs;
use super::args::{bounds, range};

#[derive(clap::Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub space: SpaceArgs,
    /// A DARTS genotype (the `Genotype(normal=[...], ...)` text, or DARTS_V1 / DARTS_V2):
    /// also size its evaluation networks.
    #[arg(long, value_name = "TEXT|NAME")]
    pub genotype: Option<String>,
    /// Width of the CIFAR evaluation network, an even number from 2 to 4096.
    #[arg(long, default_value_t = 36, value_parser = range(2, bounds::CHANNELS))]
    pub eval_channels: usize,
    /// Cells of the CIFAR evaluation network, 3 to 1000.
    #[arg(long, default_value_t = 20, value_parser = range(3, bounds::CELLS))]
    pub eval_cells: usize,
    /// Classes of the CIFAR evaluation network, 1 to 100000.
    #[arg(long, default_value_t = 10, value_parser = range(1, bounds::CLASSES))]
    pub eval_classes: usize,
    /// Write the sizes as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub fn info(args: &InfoArgs) -> Result<()> {
    check_paths(&[], &[("--json", args.json.as_deref())])?;
    let space = args.space.config()?;
    validate_config(&space)?;
    // The network is built and run on one image to count its multiply-adds.
    check_fits(
        format!("the supernet ({})", space.describe()),
        estimate_supernet(&space),
        1,
        1,
    )
    .map_err(|e| anyhow!("invalid setting: {e}; lower --channels, --cells or --input-size"))?;
    if args.genotype.is_some() {
        ensure!(
            args.eval_channels.is_multiple_of(2),
            "invalid setting: --eval-channels {} must be even (the reduction cells halve it)",
            args.eval_channels
        );
    }
    let mut sizes = vec![supernet_size(space)?];
    if let Some(text) = &args.genotype {
        let cifar = EvalConfig {
            channels: args.eval_channels,
            cells: args.eval_cells,
            classes: args.eval_classes,
            ..EvalConfig::cifar()
        };
        let arch = cifar.parse(text).map_err(|e| {
            anyhow!("--genotype is neither a known name nor a valid Genotype(...) text: {e}")
        })?;
        check_fits("the evaluation network", estimate_eval(&cifar), 1, 1)
            .map_err(|e| anyhow!("invalid setting: {e}; lower --eval-channels or --eval-cells"))?;
        for space in [cifar, EvalConfig::imagenet()] {
            sizes.push(network_size(&space, &arch).map_err(|_| {
                anyhow!(
                    "invalid setting: --eval-channels must be even and at least 2, --eval-cells \
                     at least 3, --eval-classes at least 1"
                )
            })?);
        }
    }
    for s in &sizes {
        println!("{}", s.name);
        println!(
            "  parameters {:.6} M ({}){}, {:.2} M multiply-adds per {}x{} image",
            s.parameters as f64 / 1e6,
            s.parameters,
            if s.alpha > 0 {
                format!(" + {} alpha", s.alpha)
            } else {
                String::new()
            },
            s.macs as f64 / 1e6,
            s.input_size,
            s.input_size
        );
    }
    if let Some(path) = &args.json {
        write_json(path, "--json", &sizes)?;
    }
    Ok(())
}
