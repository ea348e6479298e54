//! `freedarts info`: parameter counts and multiply-adds of supernets and of the evaluation
//! networks of a genotype, counted the way the papers do (trainable parameters, auxiliary
//! head excluded; convolution and linear multiply-adds of one image).

use serde::Serialize;

use crate::nn::model::count_macs;
use crate::search::{SearchError, SearchOptions, SpaceConfig, build_supernet};
use crate::spaces::darts::network::EvalConfig;
use crate::spaces::nb201::supernet::Nb201Config;
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

/// A network's size worked out from its skeleton alone, before anything is allocated: an
/// upper-end count of parameters and of the activation values of one image's forward pass
/// (every op output and its intermediates), from which [`Estimate::bytes`] sizes a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub parameters: f64,
    /// Activation values per image.
    pub activations: f64,
}

impl Estimate {
    /// Bytes of a scoring pass on `batch` images: the parameters on the host (f64) and on the
    /// device with their gradient (f32), and four bytes per activation value. Calibrated on
    /// the CPU backend (peak RSS of a DARTS SNIP search, batch 16: 1.35 GB measured, 1.9 GB
    /// estimated): a rough upper end, meant to refuse what clearly cannot fit.
    pub fn bytes(&self, batch: usize) -> f64 {
        16.0 * self.parameters + 4.0 * self.activations * batch.max(1) as f64
    }
}

/// A network that cannot fit in the memory the process may use.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what} would need about {} of memory ({:.3e} parameters, {:.3e} activation values per \
     image), more than the {} this process may use (80 % of the memory available)",
    gib(*.needed), .parameters, .activations, gib(*.available)
)]
pub struct TooLarge {
    pub what: String,
    pub needed: f64,
    pub available: f64,
    pub parameters: f64,
    pub activations: f64,
}

fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1u64 << 30) as f64)
}

/// Refuses `estimate` when `copies` runs of it on `batch` images exceed 80 % of the memory
/// the process may use ([`crate::util::memory_limit_bytes`]; 16 GiB when the OS does not
/// tell): the estimate is rough, and a run that needs nearly all memory ends in the kernel's
/// out-of-memory killer rather than in an error.
pub fn check_fits(
    what: impl Into<String>,
    estimate: Estimate,
    batch: usize,
    copies: usize,
) -> Result<(), TooLarge> {
    let available = 0.8 * crate::util::memory_limit_bytes().unwrap_or(16 << 30) as f64;
    let needed = estimate.bytes(batch) * copies.max(1) as f64;
    if needed > available || !needed.is_finite() {
        return Err(TooLarge {
            what: what.into(),
            needed,
            available,
            parameters: estimate.parameters,
            activations: estimate.activations,
        });
    }
    Ok(())
}

/// Per cell of an NB201 stage of width `c` at side `h`: (parameters, activations) for a
/// supernet (`ops` = 5 per edge) or a single network (1 op per edge, conv 3x3 at worst).
fn nb201_estimate(c: &Nb201Config, supernet: bool) -> Estimate {
    let (p_edge, a_edge) = if supernet { (10.0, 9.0) } else { (9.0, 3.0) };
    let (mut params, mut acts) = (27.0 * c.channels as f64, 0.0);
    let (mut ch, mut h) = (c.channels as f64, c.input_size as f64);
    acts += 3.0 * ch * h * h;
    for stage in 0..3 {
        if stage > 0 {
            // ResNet reduction block: two 3x3 convs and a 1x1 shortcut.
            params += 9.0 * ch * 2.0 * ch + 9.0 * 4.0 * ch * ch + 2.0 * ch * ch;
            ch *= 2.0;
            h = (h / 2.0).ceil();
            acts += 8.0 * ch * h * h;
        }
        let cells = c.cells_per_stage as f64;
        params += cells * 6.0 * p_edge * ch * ch;
        acts += cells * (6.0 * a_edge + 4.0) * ch * h * h;
    }
    params += ch * c.classes as f64;
    Estimate {
        parameters: params,
        activations: acts,
    }
}

/// DARTS cells: `(params per c^2, activations per c*h^2)` of one cell, `stem` and sizes.
fn darts_estimate(
    channels: usize,
    cells: usize,
    classes: usize,
    input_size: usize,
    stem: crate::spaces::darts::supernet::DartsStem,
    per_cell: (f64, f64),
) -> Estimate {
    use crate::spaces::darts::supernet::DartsStem;
    let (mut ch, mut h) = (channels as f64, input_size as f64);
    let (mut params, mut acts);
    match stem {
        DartsStem::Cifar => {
            params = 27.0 * 3.0 * ch;
            acts = 2.0 * 3.0 * ch * h * h;
        }
        DartsStem::ImageNet => {
            params = 27.0 * ch / 2.0 + 9.0 * ch * ch / 2.0 + 9.0 * ch * ch;
            acts = 6.0 * ch * (h / 2.0) * (h / 2.0);
            h = (h / 8.0).ceil();
        }
    }
    for i in 0..cells {
        if i == cells / 3 || i == 2 * cells / 3 {
            ch *= 2.0;
            h = (h / 2.0).ceil();
        }
        params += per_cell.0 * ch * ch;
        acts += per_cell.1 * ch * h * h;
    }
    params += 4.0 * ch * classes as f64;
    Estimate {
        parameters: params,
        activations: acts,
    }
}

/// The estimate of a search supernet.
pub fn estimate_supernet(space: &SpaceConfig) -> Estimate {
    match space {
        SpaceConfig::Nb201(c) => nb201_estimate(c, true),
        // 14 edges x 8 ops: about 6 c^2 weights and 30 intermediate tensors an edge.
        SpaceConfig::Darts(c) => darts_estimate(
            c.channels,
            c.cells,
            c.classes,
            c.input_size,
            c.stem,
            (120.0, 434.0),
        ),
    }
}

/// The estimate of one NB201 network (`score --space nb201`).
pub fn estimate_nb201_network(c: &Nb201Config) -> Estimate {
    nb201_estimate(c, false)
}

/// The estimate of a DARTS evaluation network (`info --genotype`, `score --space darts`):
/// 8 ops a cell, each a 5x5 separable convolution at worst.
pub fn estimate_eval(c: &EvalConfig) -> Estimate {
    darts_estimate(
        c.channels,
        c.cells,
        c.classes,
        c.input_size,
        c.stem,
        (24.0, 78.0),
    )
}
