//! `freedarts info`: parameter counts and multiply-adds of supernets and of the evaluation
//! networks of a genotype, counted the way the papers do (trainable parameters, auxiliary
//! head excluded; convolution and linear multiply-adds of one image).

use serde::Serialize;

use crate::nn::model::count_macs;
use crate::search::{SearchError, SearchOptions, SpaceConfig, build_supernet};
use crate::spaces::{Architecture, NetworkSpace, SpaceError};

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

/// Size of the standalone network of `arch` in `space` (DARTS: NetworkCIFAR or
/// NetworkImageNet of a genotype).
pub fn network_size(
    space: &dyn NetworkSpace,
    arch: &Architecture,
) -> Result<NetworkSize, SpaceError> {
    space.validate()?;
    let net = space.network(arch);
    Ok(NetworkSize {
        name: space.describe(),
        parameters: net.registry().trainable_count(),
        alpha: 0,
        macs: count_macs(&*net),
        input_size: space.input_size(),
    })
}
