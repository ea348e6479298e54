//! `freedarts search`: flags, then [`freedarts::search::run_search`] (or
//! [`freedarts::seeds::run_seeds`] for a seed series).

use std::path::PathBuf;

use anyhow::{Result, anyhow};

use freedarts::data::preprocess::NormalizationName;
use freedarts::nn::ctx::{BnMode, Precision};
use freedarts::saliency::ensemble::ProxySet;
use freedarts::search::inits::MAX_INITS;
use freedarts::search::perturb::EdgeOrder;
use freedarts::search::preset::Preset;
use freedarts::search::refine::{
    DEFAULT_REFINE_INITS, DEFAULT_REFINE_PROXY, DEFAULT_REFINE_STEPS, MAX_STEPS, RefineOptions,
};
use freedarts::search::strategy::Strategy;
use freedarts::search::{DataSource, ProcedureKind, ProxyKind, SearchOptions, run_search};
use freedarts::seeds::{SeedList, SeedsError, run_seeds};

use super::args::data::DataArgs;
use super::args::device::DeviceArgs;
use super::args::output::{check_paths, write_json};
use super::args::space::SpaceArgs;
use super::report::{Artifacts, write_artifacts};

/// [`ProxyKind`] on the command line (the library stays free of clap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProxyArg {
    /// |alpha * dR/dalpha|, R = summed logits of an all-ones image through the |weights| net.
    Synflow,
    /// |alpha * dL/dalpha| on one real batch.
    Snip,
    /// -alpha * (H g) on one real batch.
    Grasp,
}

impl From<ProxyArg> for ProxyKind {
    fn from(arg: ProxyArg) -> Self {
        match arg {
            ProxyArg::Synflow => Self::Synflow,
            ProxyArg::Snip => Self::Snip,
            ProxyArg::Grasp => Self::Grasp,
        }
    }
}

/// [`Strategy`] on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StrategyArg {
    /// Score the whole supernet once and derive (FreeDARTS, the default).
    Oneshot,
    /// Prune the weakest op of every edge (DARTS: then the weakest in-edge of every node down
    /// to two), rescore the reduced supernet, repeat until one choice is left.
    Iterative,
    /// Zero-Cost-PT: edge by edge, remove each op in turn, score the supernet with
    /// --perturb-proxy, keep the op whose removal hurts most (DARTS: then each node keeps the
    /// two in-edges whose removal hurts most).
    Perturb,
}

impl From<StrategyArg> for Strategy {
    fn from(arg: StrategyArg) -> Self {
        match arg {
            StrategyArg::Oneshot => Self::Oneshot,
            StrategyArg::Iterative => Self::Iterative,
            StrategyArg::Perturb => Self::Perturb,
        }
    }
}

/// `--refine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RefineArg {
    /// Best-first local search over one-edit neighbours, scored as standalone networks.
    Local,
}

/// [`Preset`] on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PresetArg {
    /// FreeDARTS as published (one-shot SynFlow).
    Freedarts,
    /// The most accurate training-free configuration measured for the space.
    Best,
}

impl From<PresetArg> for Preset {
    fn from(arg: PresetArg) -> Self {
        match arg {
            PresetArg::Freedarts => Self::Freedarts,
            PresetArg::Best => Self::Best,
        }
    }
}

/// [`EdgeOrder`] on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum EdgeOrderArg {
    /// A permutation drawn from the seed.
    Random,
    /// The edges' own order.
    Fixed,
}

impl From<EdgeOrderArg> for EdgeOrder {
    fn from(arg: EdgeOrderArg) -> Self {
        match arg {
            EdgeOrderArg::Random => Self::Random,
            EdgeOrderArg::Fixed => Self::Fixed,
        }
    }
}

/// [`ProcedureKind`] on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ProcedureArg {
    /// The methods as defined (SNIP |alpha * g|, GraSP -alpha * H g, no optimiser step).
    Defined,
    /// What the space's official notebook computed: DARTS SNIP on |state|; GraSP after one
    /// Adam step on alpha (NB201: alpha * H g; DARTS: |alpha * (H alpha + g)| on |state|).
    Official,
}

impl From<ProcedureArg> for ProcedureKind {
    fn from(arg: ProcedureArg) -> Self {
        match arg {
            ProcedureArg::Defined => Self::Defined,
            ProcedureArg::Official => Self::Official,
        }
    }
}

/// [`NormalizationName`] on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NormalizeArg {
    /// NAS-Bench-201 CIFAR-10: mean (125.3, 123.0, 113.9)/255, std (63.0, 62.1, 66.7)/255.
    Nb201Cifar10,
    /// NAS-Bench-201 CIFAR-100: mean (129.3, 124.1, 112.4)/255, std (68.2, 65.4, 70.4)/255.
    Nb201Cifar100,
    /// NAS-Bench-201 ImageNet16-120: mean (122.68, 116.66, 104.01)/255, std (63.22, 61.26, 65.09)/255.
    Nb201Imagenet16,
    /// DARTS CIFAR-10: mean (0.49139968, 0.48215827, 0.44653124), std (0.24703233, 0.24348505, 0.26158768).
    DartsCifar10,
    /// No normalisation: bytes / 255.
    None,
}

impl From<NormalizeArg> for NormalizationName {
    fn from(arg: NormalizeArg) -> Self {
        match arg {
            NormalizeArg::Nb201Cifar10 => Self::Nb201Cifar10,
            NormalizeArg::Nb201Cifar100 => Self::Nb201Cifar100,
            NormalizeArg::Nb201Imagenet16 => Self::Nb201Imagenet16,
            NormalizeArg::DartsCifar10 => Self::DartsCifar10,
            NormalizeArg::None => Self::None,
        }
    }
}

/// [`Precision`] on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PrecisionArg {
    F32,
    F64,
}

impl From<PrecisionArg> for Precision {
    fn from(arg: PrecisionArg) -> Self {
        match arg {
            PrecisionArg::F32 => Self::F32,
            PrecisionArg::F64 => Self::F64,
        }
    }
}

/// [`BnMode`] on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BnArg {
    /// Batch statistics (biased variance over N x H x W), as `model.train()`: the official setting.
    Train,
    /// Running statistics, as `model.eval()`.
    Eval,
    /// BatchNorm removed (identity), as the zero-cost-proxy library's SynFlow does.
    None,
}

impl From<BnArg> for BnMode {
    fn from(arg: BnArg) -> Self {
        match arg {
            BnArg::Train => Self::Train,
            BnArg::Eval => Self::Eval,
            BnArg::None => Self::None,
        }
    }
}

#[derive(clap::Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub space: SpaceArgs,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Seed of the weight and alpha initialisation (ignored with --init-from).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Search once per seed and report mean +- std of the found cells' benchmark accuracies
    /// and how often each op won each edge: `0..9` (ten seeds, inclusive) or `0,3,7`.
    #[arg(
        long,
        value_name = "A..B|LIST",
        conflicts_with_all = ["seed", "init_from", "draw", "html", "export_weights", "export_arch", "cross_check_f64"]
    )]
    pub seeds: Option<SeedList>,
    /// Load every weight, BN buffer and alpha from a safetensors file with PyTorch names.
    #[arg(long, value_name = "FILE.safetensors")]
    pub init_from: Option<PathBuf>,
    /// A named configuration: freedarts (the paper: one-shot SynFlow, the defaults) or best
    /// (the most accurate training-free search measured for the space; it generates its images
    /// when --data is not given). The result says what it expanded to.
    #[arg(long, value_enum, conflicts_with_all = PRESET_SETS)]
    pub preset: Option<PresetArg>,
    /// Saliency: synflow (data-free, the FreeDARTS default), snip or grasp (one real batch).
    #[arg(long, value_enum, default_value_t = ProxyArg::Synflow)]
    pub proxy: ProxyArg,
    /// Search strategy over the supernet.
    #[arg(long, value_enum, default_value_t = StrategyArg::Oneshot)]
    pub strategy: StrategyArg,
    /// Network-level proxy for --strategy perturb: one of `freedarts score`'s proxies (nwot,
    /// zen, zico, meco, synflow, ...), or several ranked together: `a+b` (mean rank) or `a*b`
    /// (product of ranks, AZ-NAS).
    #[arg(long, value_name = "PROXY|A+B|A*B", value_parser = super::args::parse_proxy_set)]
    pub perturb_proxy: Option<ProxySet>,
    /// Order in which --strategy perturb visits the edges: random (drawn from --seed, as
    /// Zero-Cost-PT) or fixed (edge order).
    #[arg(long, value_enum, default_value_t = EdgeOrderArg::Random)]
    pub edge_order: EdgeOrderArg,
    /// Score a one-shot search at K weight initialisations (the first from --seed) and keep the
    /// mean of ln saliency per op: less of one draw's noise (README, "Several
    /// initialisations").
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=MAX_INITS as i64))]
    pub inits: u16,
    /// After the strategy, a local search over standalone networks: `local` scores the found
    /// cell and its one-edit neighbours with --refine-proxy at --refine-inits weight
    /// initialisations, moves to the best cell and repeats (NB201; README, "Refining the
    /// found cell").
    #[arg(long, value_enum)]
    pub refine: Option<RefineArg>,
    /// Whole-network proxy (or rank aggregate `a*b`, `a+b`) of --refine.
    #[arg(long, value_name = "PROXY|A+B|A*B", value_parser = super::args::parse_proxy_set, requires = "refine", default_value = DEFAULT_REFINE_PROXY)]
    pub refine_proxy: ProxySet,
    /// Weight initialisations every cell of --refine is scored at.
    #[arg(long, value_name = "K", requires = "refine", default_value_t = DEFAULT_REFINE_INITS as u16, value_parser = clap::value_parser!(u16).range(1..=MAX_INITS as i64))]
    pub refine_inits: u16,
    /// The most cells --refine expands (scores the neighbours of).
    #[arg(long, value_name = "N", requires = "refine", default_value_t = DEFAULT_REFINE_STEPS as u16, value_parser = clap::value_parser!(u16).range(1..=MAX_STEPS as i64))]
    pub refine_steps: u16,
    /// SNIP/GraSP procedure: defined (the methods as published) or official (what the space's
    /// FreeDARTS notebook computed; see the README's table).
    #[arg(long, value_enum, default_value_t = ProcedureArg::Defined)]
    pub procedure: ProcedureArg,
    /// Normalisation of CIFAR batches [default: the space's own constants for the data set:
    /// darts-cifar10 in the DARTS space, nb201-cifar10 / nb201-cifar100 / nb201-imagenet16
    /// (120 classes) in NB201].
    #[arg(long, value_enum)]
    pub normalize: Option<NormalizeArg>,
    /// Augment the scoring batch as the official loaders do (random crop 32 with padding 4,
    /// horizontal flip), drawn from this seed [default: no augmentation].
    #[arg(long, value_name = "SEED")]
    pub augment_seed: Option<u64>,
    /// Float precision of the scoring pass (GraSP always uses f64).
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    pub dtype: PrecisionArg,
    /// BatchNorm during scoring: train (batch statistics, official), eval (running stats), none.
    #[arg(long, value_enum, default_value_t = BnArg::Train)]
    pub bn: BnArg,
    /// SynFlow: take |alpha| before scoring [default: true for nb201, false for darts, as in
    /// the official code].
    #[arg(long, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub alpha_abs: Option<bool>,
    #[command(flatten)]
    pub data: DataArgs,
    /// NAS-Bench-201 accuracy CSV (columns arch, cifar10_valid, ...): report the found cell's
    /// accuracies and ranks.
    #[arg(long, value_name = "FILE.csv")]
    pub benchmark: Option<PathBuf>,
    /// Write the full result (scores, decisions, warnings, provenance) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Score again in float64 and report whether the architecture changes.
    #[arg(long)]
    pub cross_check_f64: bool,
    /// Draw the derived cell(s) and the score heatmaps: FILE.svg, or FILE.dot (cells only,
    /// Graphviz).
    #[arg(long, value_name = "FILE.svg|FILE.dot")]
    pub draw: Option<PathBuf>,
    /// Write the initial supernet (weights, BN buffers, alpha) as safetensors with PyTorch
    /// state_dict names, to repeat the run in PyTorch or with --init-from.
    #[arg(long, value_name = "FILE.safetensors")]
    pub export_weights: Option<PathBuf>,
    /// Write the derived architecture for training elsewhere: FILE.py (an importable DARTS
    /// `Genotype` or NB201 string) or any other name for the bare text.
    #[arg(long, value_name = "FILE.py|FILE.txt")]
    pub export_arch: Option<PathBuf>,
    /// Write a self-contained HTML report (cells, heatmaps, benchmark, findings, provenance).
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Print every score table.
    #[arg(long, short)]
    pub verbose: bool,
}

/// The flags a preset sets, refused beside `--preset` (a batch size is the exception: one given
/// replaces the preset's).
const PRESET_SETS: [&str; 11] = [
    "proxy",
    "strategy",
    "perturb_proxy",
    "edge_order",
    "inits",
    "refine",
    "refine_proxy",
    "refine_inits",
    "refine_steps",
    "bn",
    "alpha_abs",
];

impl SearchArgs {
    fn options(&self) -> Result<SearchOptions> {
        let space = self.space.config()?;
        // The float64 repeat re-derives one scoring; a strategy's rounds would each need one.
        anyhow::ensure!(
            !self.cross_check_f64 || self.strategy == StrategyArg::Oneshot,
            "--cross-check-f64 repeats one scoring in float64 and applies to --strategy oneshot \
             only; for --strategy iterative run the search again with --dtype f64"
        );
        let perturb = self.strategy == StrategyArg::Perturb;
        anyhow::ensure!(
            self.preset.is_some() || perturb == self.perturb_proxy.is_some(),
            "invalid setting: --strategy perturb and --perturb-proxy go together (the proxy \
             scores the supernet with each op removed)"
        );
        let mut opts = SearchOptions {
            alpha_abs: self.alpha_abs.unwrap_or(space.official_alpha_abs()),
            space,
            proxy: self.proxy.into(),
            dtype: self.dtype.into(),
            bn: self.bn.into(),
            seed: self.seed,
            init_from: self.init_from.clone(),
            data: self.data.data.clone(),
            batch_size: self.data.batch(),
            shuffle_seed: self.data.shuffle_seed,
            benchmark: self.benchmark.clone(),
            cross_check_f64: self.cross_check_f64,
            export_weights: self.export_weights.clone(),
            strategy: self.strategy.into(),
            perturb_proxy: self.perturb_proxy.clone(),
            edge_order: self.edge_order.into(),
            procedure: self.procedure.into(),
            normalization: self.normalize.map(Into::into),
            augment_seed: self.augment_seed,
            cifar_format: self.data.cifar_format(),
            inits: self.inits.into(),
            refine: self.refine.map(|RefineArg::Local| RefineOptions {
                proxy: self.refine_proxy.clone(),
                inits: self.refine_inits.into(),
                steps: self.refine_steps.into(),
            }),
            ..SearchOptions::default()
        };
        if let Some(preset) = self.preset {
            Preset::from(preset).apply(&mut opts);
            // A batch size given is the user's; the preset's applies when none is.
            if let Some(b) = self.data.batch_size {
                opts.batch_size = b;
            }
        }
        Ok(opts)
    }
}

impl SearchArgs {
    /// Paths and sizes, checked before anything is built or read.
    fn preflight(&self, opts: &SearchOptions) -> Result<()> {
        let data = match &self.data.data {
            Some(DataSource::Cifar(p)) => Some(p.as_path()),
            _ => None,
        };
        check_paths(
            &[
                ("--init-from", self.init_from.as_deref()),
                ("--data", data),
                ("--benchmark", self.benchmark.as_deref()),
            ],
            &[
                ("--json", self.json.as_deref()),
                ("--html", self.html.as_deref()),
                ("--draw", self.draw.as_deref()),
                ("--export-weights", self.export_weights.as_deref()),
                ("--export-arch", self.export_arch.as_deref()),
            ],
        )?;
        super::errors::supernet_fits(opts)?;
        Ok(())
    }
}

pub fn search(args: &SearchArgs) -> Result<()> {
    let device = args.device.device();
    args.preflight(&args.options()?)?;
    if let Some(seeds) = &args.seeds {
        let report = run_seeds(&args.options()?, &seeds.0, &device).map_err(seeds_error)?;
        print!("{}", report.render_text());
        if let Some(path) = &args.json {
            write_json(path, "--json", &report)?;
        }
        return Ok(());
    }
    let result = run_search(&args.options()?, &device)?;
    print!("{}", result.render_text(args.verbose));
    if let Some(path) = &args.json {
        write_json(path, "--json", &result)?;
    }
    write_artifacts(
        &result,
        &Artifacts {
            html: args.html.as_deref(),
            html_flag: "--html",
            draw: args.draw.as_deref(),
            export_arch: args.export_arch.as_deref(),
        },
    )
}

/// A seed-series error in the words of the flags that caused it.
fn seeds_error(e: SeedsError) -> anyhow::Error {
    match e {
        SeedsError::LoadedWeights => anyhow!(
            "invalid setting: --seeds draws fresh weights per seed and cannot be combined with \
             --init-from"
        ),
        SeedsError::Search(e) => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    /// The flag values are the library's serde names, so a value read back from a result's
    /// options is the one to pass again.
    #[test]
    fn flag_values_are_the_library_names() {
        fn check<A: ValueEnum + Copy, L: serde::Serialize + From<A>>() {
            for v in A::value_variants() {
                let name = v.to_possible_value().unwrap().get_name().to_string();
                assert_eq!(serde_json::to_value(L::from(*v)).unwrap(), name);
            }
        }
        check::<ProxyArg, ProxyKind>();
        check::<ProcedureArg, ProcedureKind>();
        check::<NormalizeArg, NormalizationName>();
        check::<PrecisionArg, Precision>();
        check::<BnArg, BnMode>();
    }
}
