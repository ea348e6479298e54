//! Named search configurations: `freedarts`, the paper's one-shot SynFlow search, and `best`,
//! the most accurate training-free configuration measured here for each space (the README's
//! search-quality table has the numbers). A preset fills the strategy, the proxies and, where
//! its proxy needs images and none are given, generated ones; the result records the preset
//! and what it expanded to.

use serde::{Deserialize, Serialize};

use super::perturb::EdgeOrder;
use super::refine::RefineOptions;
use super::strategy::Strategy;
use super::{DataSource, ProxyKind, SearchOptions, SpaceConfig};
use crate::nn::ctx::BnMode;
use crate::saliency::ensemble::ProxySet;

/// A named configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// FreeDARTS as published: one-shot SynFlow (the defaults).
    Freedarts,
    /// The most accurate training-free configuration measured for the space.
    Best,
}

/// What a preset sets.
struct Expansion {
    strategy: Strategy,
    proxy: ProxyKind,
    perturb_proxy: Option<&'static str>,
    edge_order: EdgeOrder,
    batch_size: Option<usize>,
    bn: BnMode,
    /// `None`: the space's official choice.
    alpha_abs: Option<bool>,
    /// Weight initialisations of a one-shot search (see [`super::inits`]).
    inits: usize,
    /// `--refine local` with its defaults after the strategy.
    refine: bool,
}

impl Preset {
    /// The proxy (or rank aggregate) `score --preset` computes: FreeDARTS' SynFlow, or the
    /// one that ranked NAS-Bench-201 cells best here.
    pub fn score_proxies(self) -> &'static str {
        match self {
            Self::Freedarts => "synflow",
            Self::Best => SCORE_BEST,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Freedarts => "freedarts",
            Self::Best => "best",
        }
    }

    fn expansion(self, space: &SpaceConfig) -> Expansion {
        let freedarts = Expansion {
            strategy: Strategy::Oneshot,
            proxy: ProxyKind::Synflow,
            perturb_proxy: None,
            edge_order: EdgeOrder::Random,
            batch_size: None,
            bn: BnMode::Train,
            alpha_abs: None,
            inits: 1,
            refine: false,
        };
        match (self, space) {
            (Self::Freedarts, _) => freedarts,
            (Self::Best, SpaceConfig::Nb201(_)) => Expansion {
                strategy: Strategy::Perturb,
                perturb_proxy: Some(NB201_BEST),
                edge_order: EdgeOrder::Fixed,
                refine: true,
                batch_size: Some(NB201_BEST_BATCH),
                ..freedarts
            },
            (Self::Best, SpaceConfig::Darts(_)) => Expansion {
                bn: BnMode::Eval,
                alpha_abs: Some(true),
                inits: DARTS_BEST_INITS,
                ..freedarts
            },
        }
    }

    /// Sets the preset's choices in `opts` (its space, seed, skeleton and outputs stay; the
    /// preset's strategy, proxies, BatchNorm mode, |alpha|, initialisations, refinement and
    /// batch size replace what `opts` had). A caller that lets the user override one of them
    /// (a batch size given, Python's keywords) sets it again afterwards.
    pub fn apply(self, opts: &mut SearchOptions) {
        let e = self.expansion(&opts.space);
        opts.strategy = e.strategy;
        opts.proxy = e.proxy;
        opts.perturb_proxy = e
            .perturb_proxy
            .map(|p| ProxySet::parse(p).expect("preset proxies are registered"));
        opts.edge_order = e.edge_order;
        opts.bn = e.bn;
        opts.alpha_abs = e.alpha_abs.unwrap_or(opts.space.official_alpha_abs());
        opts.inits = e.inits;
        opts.refine = e.refine.then(RefineOptions::default);
        if let Some(b) = e.batch_size {
            opts.batch_size = b;
        }
        if opts.needs_data() && opts.data.is_none() {
            opts.data = Some(DataSource::Synthetic);
        }
        opts.preset = Some(self);
    }

    /// What the preset of `opts` expanded to, as flags (for reports).
    pub fn describe(opts: &SearchOptions) -> Option<String> {
        let preset = opts.preset?;
        let mut words = format!("--strategy {}", opts.strategy.name());
        if opts.bn != BnMode::Train {
            words.push_str(&format!(" --bn {}", opts.bn.name()));
        }
        if opts.alpha_abs != opts.space.official_alpha_abs() {
            words.push_str(&format!(" --alpha-abs {}", opts.alpha_abs));
        }
        if opts.inits != 1 {
            words.push_str(&format!(" --inits {}", opts.inits));
        }
        match &opts.perturb_proxy {
            Some(p) => words.push_str(&format!(
                " --perturb-proxy {p} --edge-order {}",
                match opts.edge_order {
                    EdgeOrder::Random => "random",
                    EdgeOrder::Fixed => "fixed",
                }
            )),
            None => words.push_str(&format!(" --proxy {}", opts.proxy.measure().name())),
        }
        if let Some(r) = &opts.refine {
            words.push_str(&format!(
                " --refine local --refine-proxy {} --refine-inits {} --refine-steps {}",
                r.proxy, r.inits, r.steps
            ));
        }
        if opts.needs_data() {
            let data = match &opts.data {
                Some(DataSource::Cifar(p)) => p.display().to_string(),
                _ => "synthetic".into(),
            };
            words.push_str(&format!(" --data {data} --batch-size {}", opts.batch_size));
        }
        Some(format!("preset {}: {words}", preset.name()))
    }
}

/// NAS-Bench-201's `best` network-level proxy for `perturb`.
pub const NB201_BEST: &str = "synflow";
/// Batch of NAS-Bench-201's `best` refinement, whose gradient norm reads images (generated
/// unless `--data` is given).
pub const NB201_BEST_BATCH: usize = 16;
/// Weight initialisations of the DARTS space's `best` (one-shot SynFlow, mean log-saliency).
pub const DARTS_BEST_INITS: usize = 8;
/// `score --preset best`.
pub const SCORE_BEST: &str = "synflow*meco*jacob_cov";
