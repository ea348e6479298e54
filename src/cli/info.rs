//! `freedarts info`: sizes of a supernet and of a genotype's evaluation networks.

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use freedarts::sizes::{network_size, supernet_size};
use freedarts::spaces::NetworkSpace;
use freedarts::spaces::darts::network::EvalConfig;

use super::args::output::write_json;
use super::args::space::SpaceArgs;

#[derive(clap::Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub space: SpaceArgs,
    /// A DARTS genotype (the `Genotype(normal=[...], ...)` text, or DARTS_V1 / DARTS_V2):
    /// also size its evaluation networks.
    #[arg(long, value_name = "TEXT|NAME")]
    pub genotype: Option<String>,
    /// Width of the CIFAR evaluation network.
    #[arg(long, default_value_t = 36)]
    pub eval_channels: usize,
    /// Cells of the CIFAR evaluation network.
    #[arg(long, default_value_t = 20)]
    pub eval_cells: usize,
    /// Classes of the CIFAR evaluation network.
    #[arg(long, default_value_t = 10)]
    pub eval_classes: usize,
    /// Write the sizes as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub fn info(args: &InfoArgs) -> Result<()> {
    let mut sizes = vec![supernet_size(args.space.config()?)?];
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
