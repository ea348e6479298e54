//! One FreeDARTS search: build (or load) the supernet, score alpha with a proxy, derive the
//! architecture, check the numbers, and look the result up in a benchmark.

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::benchmark::Nb201Benchmark;
use crate::data::cifar::{self, CifarFormat, ImageBatch};
use crate::data::preprocess::{self, Augmentation, NormalizationName, Preprocessing};
use crate::diagnostics::{self, Warning};
use crate::nn::ctx::{BnMode, Precision};
use crate::nn::model::Model;
use crate::nn::params::HostParams;
use crate::saliency::alpha::{ProxyOutput, score_alpha};
use crate::saliency::ensemble::ProxySet;
use crate::saliency::{Measure, OfficialCode, Procedure, Scoring, Target, measure_by_name};
use crate::spaces::derive::Derivation;
use crate::spaces::{NetworkSpace, SearchSpace, Space};
pub mod inits;
pub mod perturb;
pub mod preset;
pub mod refine;
pub mod result;
pub mod strategy;

use crate::spaces::darts::supernet::DartsConfig;
use crate::spaces::nb201::supernet::Nb201Config;
use perturb::EdgeOrder;
use result::{Provenance, SearchResult, Timings};
use strategy::Strategy;

/// A search space with its macro skeleton.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "space", rename_all = "snake_case")]
pub enum SpaceConfig {
    Nb201(Nb201Config),
    Darts(DartsConfig),
}

impl ProxyKind {
    /// The measure that scores alpha.
    pub fn measure(self) -> &'static dyn Measure {
        let name = match self {
            Self::Synflow => "synflow",
            Self::Snip => "snip",
            Self::Grasp => "grasp",
        };
        measure_by_name(name).expect("every search proxy is a registered measure")
    }
}

impl SpaceConfig {
    /// The space behind this configuration: the one place a space is picked.
    pub fn space(&self) -> &dyn SearchSpace {
        match self {
            Self::Nb201(c) => c,
            Self::Darts(c) => c,
        }
    }

    pub fn name(&self) -> &'static str {
        self.space().name()
    }

    pub fn classes(&self) -> usize {
        self.space().classes()
    }

    pub fn input_size(&self) -> usize {
        self.space().input_size()
    }

    /// One-line description of the skeleton for reports.
    pub fn describe(&self) -> String {
        self.space().describe()
    }

    /// Whether the official code takes |alpha| for SynFlow in this space.
    pub fn official_alpha_abs(&self) -> bool {
        self.space().official_alpha_abs()
    }

    /// The space of standalone networks whose cells the supernet derives, where the two
    /// share one skeleton (NB201; the DARTS search supernet and its evaluation network
    /// differ).
    pub fn network_space(&self) -> Option<&dyn NetworkSpace> {
        match self {
            Self::Nb201(c) => Some(c),
            Self::Darts(_) => None,
        }
    }
}

/// The saliency to score alpha with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyKind {
    /// |alpha * dR/dalpha|, R = summed logits of an all-ones image through the |weights| net.
    Synflow,
    /// |alpha * dL/dalpha| on one real batch.
    Snip,
    /// -alpha * (H g) on one real batch.
    Grasp,
}

/// Which procedure scores alpha.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcedureKind {
    /// The methods as defined (SNIP |alpha * g|, GraSP -alpha * H g at the initial alpha).
    #[default]
    Defined,
    /// What the official notebooks of the space computed (docs/METHOD.md 2.3, 2.4).
    Official,
}

impl ProcedureKind {
    /// The procedure in `space`: the official one is the notebook code of that space.
    pub fn resolve(self, space: &SpaceConfig) -> Procedure {
        match (self, space) {
            (Self::Defined, _) => Procedure::Defined,
            (Self::Official, SpaceConfig::Nb201(_)) => Procedure::Official(OfficialCode::Nb201),
            (Self::Official, SpaceConfig::Darts(_)) => Procedure::Official(OfficialCode::Darts),
        }
    }
}

/// Where the images for SNIP/GraSP come from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum DataSource {
    /// A CIFAR binary file or a directory of the official batch files.
    Cifar(PathBuf),
    /// Seeded standard-normal images.
    Synthetic,
}

/// Every setting of a search; recorded verbatim in the result's provenance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SearchOptions {
    pub space: SpaceConfig,
    pub proxy: ProxyKind,
    pub dtype: Precision,
    pub bn: BnMode,
    pub alpha_abs: bool,
    pub seed: u64,
    pub init_from: Option<PathBuf>,
    pub data: Option<DataSource>,
    pub batch_size: usize,
    pub shuffle_seed: Option<u64>,
    pub benchmark: Option<PathBuf>,
    /// Score again in float64 and warn if the architecture changes (a direct test of whether
    /// the float32 scores are signal or round-off).
    pub cross_check_f64: bool,
    /// Write the initial supernet (weights, BN buffers, alphas) as safetensors with PyTorch
    /// names, so the run can be repeated in PyTorch or with `--init-from`.
    pub export_weights: Option<PathBuf>,
    /// How the supernet is searched; left out of results for `oneshot` (FreeDARTS), so those
    /// read as they always did.
    #[serde(default, skip_serializing_if = "Strategy::is_oneshot")]
    pub strategy: Strategy,
    /// The network-level proxy (or rank aggregate) `perturb` scores the supernet with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturb_proxy: Option<ProxySet>,
    /// The order `perturb` visits the edges in.
    #[serde(default, skip_serializing_if = "is_default_order")]
    pub edge_order: EdgeOrder,
    /// The preset the settings came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<preset::Preset>,
    /// Defined or official scoring procedure.
    #[serde(default)]
    pub procedure: ProcedureKind,
    /// Normalisation of CIFAR batches; `None`: the space's own constants for the data set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalization: Option<NormalizationName>,
    /// Augment the scoring batch (random crop 32 with padding 4, horizontal flip) from this seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augment_seed: Option<u64>,
    /// Record layout of a CIFAR file; `None`: told by the file's name or size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cifar_format: Option<CifarFormat>,
    /// Weight initialisations a one-shot search is scored at; the importances are the mean
    /// log-saliency over them (see [`inits`]). 1: the plain search, left out of results.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub inits: usize,
    /// A local search over standalone networks after the strategy (`--refine local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refine: Option<refine::RefineOptions>,
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            space: SpaceConfig::Nb201(Nb201Config::default()),
            proxy: ProxyKind::Synflow,
            dtype: Precision::F32,
            bn: BnMode::Train,
            alpha_abs: true,
            seed: 0,
            init_from: None,
            data: None,
            batch_size: 64,
            shuffle_seed: None,
            benchmark: None,
            cross_check_f64: false,
            export_weights: None,
            strategy: Strategy::Oneshot,
            perturb_proxy: None,
            edge_order: EdgeOrder::Random,
            preset: None,
            procedure: ProcedureKind::Defined,
            normalization: None,
            augment_seed: None,
            cifar_format: None,
            inits: 1,
            refine: None,
        }
    }
}

fn is_default_order(order: &EdgeOrder) -> bool {
    *order == EdgeOrder::Random
}

impl SearchOptions {
    /// `inits` other than 1 goes with a one-shot search that draws its own weights.
    pub fn check_inits(&self) -> Result<(), SearchError> {
        let problem = if self.inits == 0 || self.inits > inits::MAX_INITS {
            format!("--inits {} is outside 1..={}", self.inits, inits::MAX_INITS)
        } else if self.inits == 1 {
            return Ok(());
        } else if self.strategy != Strategy::Oneshot {
            "--inits applies to --strategy oneshot only".into()
        } else if self.init_from.is_some() {
            "--inits draws its own weights and cannot start from --init-from".into()
        } else if self.cross_check_f64 {
            "--cross-check-f64 repeats one scoring and does not combine with --inits".into()
        } else {
            return Ok(());
        };
        Err(SearchError::Inits(problem))
    }

    /// `refine` runs in a space that lists neighbours, with settings in range.
    pub fn check_refine(&self) -> Result<(), SearchError> {
        let Some(r) = &self.refine else {
            return Ok(());
        };
        let problem = match (r.problem(), self.space.network_space()) {
            (Some(p), _) => p,
            (None, None) => format!(
                "--refine local needs a space whose cells are standalone networks of the same skeleton (nb201), not {}",
                self.space.name()
            ),
            (None, Some(_)) => return Ok(()),
        };
        Err(SearchError::Refine(problem))
    }

    /// Whether the search reads a batch of images.
    pub fn needs_data(&self) -> bool {
        let strategy = match (self.strategy, &self.perturb_proxy) {
            (Strategy::Perturb, Some(p)) => p.needs_data(),
            _ => self.proxy.measure().needs_data(),
        };
        strategy || self.refine.as_ref().is_some_and(|r| r.proxy.needs_data())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Weights(#[from] crate::nn::weights::WeightsError),
    #[error(transparent)]
    Data(#[from] crate::data::cifar::DataError),
    #[error(transparent)]
    Proxy(#[from] crate::saliency::SaliencyError),
    #[error(transparent)]
    Benchmark(#[from] crate::benchmark::BenchmarkError),
    #[error("invalid setting: {0}")]
    Space(#[from] crate::spaces::SpaceError),
    #[error("invalid setting: the NAS-Bench-201 lookup needs the nb201 space")]
    BenchmarkNeedsNb201,
    #[error("invalid setting: the perturb strategy needs a network-level proxy (--perturb-proxy)")]
    PerturbNeedsProxy,
    #[error("invalid setting: {0}")]
    Inits(String),
    #[error("invalid setting: {0}")]
    Refine(String),
}

/// Checks the macro skeleton before anything is built.
pub fn validate_config(space: &SpaceConfig) -> Result<(), SearchError> {
    space.space().validate().map_err(SearchError::Space)
}

/// A supernet ready to score.
pub struct BuiltSupernet {
    pub net: Box<dyn Model>,
    /// Every tensor, alpha included (last).
    pub state: HostParams,
    /// Top-level tensors of `--init-from` that were not model state.
    pub ignored: Vec<String>,
}

/// The supernet of a space, with its initial (or loaded) state.
pub fn build_supernet(opts: &SearchOptions) -> Result<BuiltSupernet, SearchError> {
    validate_config(&opts.space)?;
    let net = opts.space.space().supernet();
    let (state, ignored) = match &opts.init_from {
        Some(path) => net.load_params(path)?,
        None => (net.initial_params(opts.seed), Vec::new()),
    };
    Ok(BuiltSupernet {
        net,
        state,
        ignored,
    })
}

/// Scale of the alpha initialisation of a supernet (alpha = scale * N(0, 1)).
fn alpha_scale(net: &dyn Model) -> f64 {
    net.registry()
        .specs()
        .iter()
        .find_map(|s| match s.kind {
            crate::nn::params::ParamKind::Alpha { scale } => Some(scale),
            _ => None,
        })
        .unwrap_or(0.0)
}

/// Scores to architecture for the space of `opts`.
pub fn derive(space: &SpaceConfig, output: &ProxyOutput) -> Derivation {
    let groups: Vec<(String, &[f64])> = output
        .groups
        .iter()
        .map(|g| (g.name.clone(), g.score.as_slice()))
        .collect();
    space.space().derive(&groups)
}

/// Derivation and numerical checks of a proxy output.
pub fn derive_and_check(space: &SpaceConfig, output: &ProxyOutput) -> (Derivation, Vec<Warning>) {
    let derivation = derive(space, output);
    let warnings = diagnostics::check(output, &derivation.decisive_rows());
    (derivation, warnings)
}

/// The scoring batch of a search and how it was prepared: CIFAR records normalised with the
/// space's own constants for the data set (or `opts.normalization`), then augmented when
/// `opts.augment_seed` is set.
/// `given` (images already in memory, with the normalisation they carry) replaces the file.
fn load_batch(
    opts: &SearchOptions,
    given: Option<(ImageBatch, Option<NormalizationName>)>,
) -> Result<Option<(ImageBatch, Option<Preprocessing>)>, SearchError> {
    let (mut batch, normalization) = match (given, &opts.data) {
        (Some(given), _) => given,
        (None, None) => return Ok(None),
        (None, Some(data)) => load_images(
            data,
            opts.space.space(),
            opts.batch_size,
            opts.shuffle_seed,
            opts.seed,
            opts.cifar_format,
            opts.normalization,
        )?,
    };
    let augmentation = opts.augment_seed.map(Augmentation::official);
    // Synthetic images are not normalised; augmented, they are recorded as such.
    let prep = match (normalization, augmentation) {
        (Some(name), aug) => Some(Preprocessing::new(name, aug)),
        (None, Some(aug)) => Some(Preprocessing::new(NormalizationName::None, Some(aug))),
        (None, None) => None,
    };
    if let (Some(prep), Some(aug)) = (&prep, &augmentation) {
        preprocess::augment(&mut batch, &prep.constants(), aug);
    }
    Ok(Some((batch, prep)))
}

/// Loads `batch_size` images for a network of `space`: the first records of a CIFAR file (a
/// seeded random subset with `shuffle_seed`; record layout `format`, else told by the file),
/// normalised with `normalization`, else the space's own constants for the data set, which it
/// also returns; or synthetic images drawn from `shuffle_seed` (else `seed`), not normalised.
pub fn load_images(
    data: &DataSource,
    space: &dyn Space,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    seed: u64,
    format: Option<CifarFormat>,
    normalization: Option<NormalizationName>,
) -> Result<(ImageBatch, Option<NormalizationName>), cifar::DataError> {
    let (classes, size) = (space.classes(), space.input_size());
    Ok(match data {
        DataSource::Synthetic => (
            cifar::synthetic_batch(
                batch_size,
                classes,
                size,
                size,
                shuffle_seed.unwrap_or(seed),
            ),
            None,
        ),
        DataSource::Cifar(path) => {
            let format = format.unwrap_or_else(|| CifarFormat::infer(path, classes));
            let name = normalization.unwrap_or_else(|| space.normalization(format, classes));
            let batch =
                cifar::load_cifar_batch(path, format, batch_size, shuffle_seed, &name.constants())?;
            (batch, Some(name))
        }
    })
}

/// Runs a whole search on `device` (an autodiff device).
pub fn run_search(opts: &SearchOptions, device: &Device) -> Result<SearchResult, SearchError> {
    run_search_on(opts, device, None)
}

/// [`run_search`] on a batch already in memory (the Python binding's arrays) instead of
/// `opts.data`, with the normalisation it was given (`None`: taken as it is); the batch is
/// augmented as a loaded one would be.
pub fn run_search_on(
    opts: &SearchOptions,
    device: &Device,
    images: Option<(ImageBatch, Option<NormalizationName>)>,
) -> Result<SearchResult, SearchError> {
    let start = Instant::now();
    if opts.benchmark.is_some() && !matches!(opts.space, SpaceConfig::Nb201(_)) {
        return Err(SearchError::BenchmarkNeedsNb201);
    }
    opts.check_inits()?;
    opts.check_refine()?;
    let BuiltSupernet {
        net,
        state,
        ignored,
    } = build_supernet(opts)?;
    if let Some(path) = &opts.export_weights {
        let metadata = [
            ("seed".to_string(), opts.seed.to_string()),
            (
                "config".into(),
                serde_json::to_string(&opts.space).unwrap_or_default(),
            ),
            ("freedarts_version".into(), env!("CARGO_PKG_VERSION").into()),
            (
                "alpha_init".into(),
                format!("{} * N(0,1), drawn last", alpha_scale(&*net)),
            ),
        ]
        .into_iter()
        .collect();
        crate::nn::weights::save_state(path, net.registry(), &state, metadata)?;
    }
    let build_s = start.elapsed().as_secs_f64();

    let t = Instant::now();
    let proxy = opts.proxy.measure();
    let (batch, preprocessing) = match opts
        .needs_data()
        .then(|| load_batch(opts, images))
        .transpose()?
    {
        Some(Some((batch, prep))) => (Some(batch), prep),
        _ => (None, None),
    };
    let data_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let target = |precision| Target::Alpha {
        precision,
        bn: opts.bn,
        alpha_abs: opts.alpha_abs,
    };
    let procedure = opts.procedure.resolve(&opts.space);
    let mut scoring =
        Scoring::new(&*net, state, device, batch.as_ref(), opts.seed).with_procedure(procedure);
    let (output, trace) = match opts.strategy {
        Strategy::Oneshot if opts.inits > 1 => {
            let output = inits::score_inits(
                proxy,
                &*net,
                &mut scoring,
                opts.inits,
                opts.seed,
                procedure,
                target(opts.dtype),
            )?;
            (output, None)
        }
        Strategy::Oneshot => (score_alpha(proxy, &mut scoring, target(opts.dtype))?, None),
        Strategy::Iterative => {
            let choices = opts.space.space().choices();
            let (output, trace) =
                strategy::iterative(proxy, &mut scoring, target(opts.dtype), &choices)?;
            (output, Some(trace))
        }
        Strategy::Perturb => {
            let set = opts
                .perturb_proxy
                .as_ref()
                .ok_or(SearchError::PerturbNeedsProxy)?;
            let choices = opts.space.space().choices();
            let (output, trace) =
                perturb::perturb(set, &mut scoring, &choices, opts.edge_order, opts.seed)?;
            (output, Some(trace))
        }
    };
    let mut output = output;
    if let Some(words) = preset::Preset::describe(opts) {
        output.notes.insert(0, words);
    }
    let score_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (derivation, mut warnings) = derive_and_check(&opts.space, &output);
    // The float64 repeat checks one scoring; a strategy's rounds would each need their own.
    if opts.cross_check_f64 && trace.is_none() && output.precision != Precision::F64 {
        let exact = score_alpha(proxy, &mut scoring, target(Precision::F64))?;
        warnings.extend(diagnostics::compare_precisions(
            &output,
            &derivation,
            &exact,
            &derive(&opts.space, &exact),
        ));
    }
    let derive_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (derivation, warnings, refined) = match (&opts.refine, opts.space.network_space()) {
        (Some(r), Some(space)) => {
            let group = &mut output.groups[0];
            let start = refine::Start {
                arch: space
                    .parse(&derivation.architecture_text())
                    .expect("a derived cell parses in its own space"),
                score: group.score.clone(),
                cols: group.cols.len(),
            };
            let (trace, matrix) =
                refine::local_search(space, start, r, opts.seed, device, batch.as_ref())?;
            group.score = matrix;
            output.notes.push(format!(
                "refined by a local search over standalone networks ({}, {} initialisation(s), {} expansion(s)): {} -> {}",
                r.proxy,
                r.inits,
                trace.expanded.len(),
                trace.start,
                trace.arch
            ));
            let (derivation, warnings) = derive_and_check(&opts.space, &output);
            (derivation, warnings, Some(trace))
        }
        _ => (derivation, warnings, None),
    };
    let refine_s = refined.is_some().then(|| t.elapsed().as_secs_f64());

    let t = Instant::now();
    let benchmark = match (&opts.benchmark, &derivation) {
        (Some(path), Derivation::Nb201 { arch, .. }) => Nb201Benchmark::load(path)?.lookup(arch),
        _ => None,
    };
    let benchmark_s = t.elapsed().as_secs_f64();

    let [c, h, w] = net.input_shape();
    let input_shape = match &batch {
        Some(b) => vec![b.n, b.channels, b.height, b.width],
        None => vec![1, c, h, w],
    };
    Ok(SearchResult {
        schema: result::SEARCH_SCHEMA.into(),
        space: opts.space.name().into(),
        architecture: derivation.architecture_text(),
        proxy: output,
        strategy: trace,
        refine: refined,
        derivation,
        warnings,
        benchmark,
        timings: Timings {
            build_s,
            data_s,
            score_s,
            derive_s,
            benchmark_s,
            refine_s,
            total_s: start.elapsed().as_secs_f64(),
        },
        peak_rss_mb: crate::util::peak_rss_mb(),
        parameters: net.registry().trainable_count(),
        provenance: Provenance::new(opts, device, input_shape, batch.as_ref(), ignored)
            .with_preprocessing(preprocessing),
    })
}
