//! `freedarts info`: parameter counts and multiply-adds of supernets and of the evaluation
//! networks of a genotype, counted the way the papers do (trainable parameters, auxiliary
//! head excluded; convolution and linear multiply-adds of one image).

use serde::Serialize;

use crate::nn::model::count_macs;
use crate::search::{SearchError, SearchOptions, SpaceConfig, build_supernet};
use crate::spaces::darts::Genotype;
use crate::spaces::darts::network::{DartsEvalNet, EvalConfig};

/// Size of one network.
#[derive(Clone, Debug, Serialize)]
pub struct NetworkSize {
    pub name: String,
    /// Trainable parameters (`sum(p.numel() for p in model.parameters())`, alpha excluded).
    pub parameters: usize,
    /// Architecture parameters (alpha entries).
    pub alpha: usize,
    /// Multiply-adds of one forward pass on one image (conv + linear), the unit papers call
    /// FLOPs.
    pub macs: u64,
    pub input_size: usize,
}

/// Size of the supernet of a space.
pub fn supernet_size(space: SpaceConfig) -> Result<NetworkSize, SearchError> {
    let opts = SearchOptions {
        space,
        ..SearchOptions::default()
    };
    let net = build_supernet(&opts)?.net;
    let groups = net.alpha_groups();
    let macs = count_macs(&*net);
    Ok(NetworkSize {
        name: space.describe(),
        parameters: net.registry().trainable_count(),
        alpha: groups.iter().map(|g| g.shape()[0] * g.shape()[1]).sum(),
        macs,
        input_size: space.input_size(),
    })
}

/// Size of the evaluation network of `genotype` under `config`.
pub fn eval_size(genotype: &Genotype, config: EvalConfig) -> NetworkSize {
    let net = DartsEvalNet::new(config, genotype);
    let macs = count_macs(&net);
    NetworkSize {
        name: format!(
            "{} evaluation network: C={} cells={} classes={} input {}x{}",
            match config.stem {
                crate::spaces::darts::supernet::DartsStem::Cifar => "NetworkCIFAR",
                crate::spaces::darts::supernet::DartsStem::ImageNet => "NetworkImageNet",
            },
            config.channels,
            config.cells,
            config.classes,
            config.input_size,
            config.input_size
        ),
        parameters: net.registry().trainable_count(),
        alpha: 0,
        macs,
        input_size: config.input_size,
    }
}
