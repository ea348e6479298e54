//! The saliency engine: one differentiated pass ([`pass`]) over any selection of a model's
//! tensors, one Hessian-vector product ([`hvp`]), and one file per measure ([`measures`]).
//!
//! A measure scores a [`Target`]: the architecture parameters of a supernet (alpha is a mask on
//! op outputs exactly as SNIP's weight mask is a mask on weights), or a whole network. It
//! returns per-element saliencies of the selected tensors; the caller reduces them: the alpha
//! matrices for a derivation ([`alpha`]), a sum for a network score ([`network`]).

pub mod alpha;
pub mod ensemble;
pub mod hvp;
pub mod linalg;
pub mod measures;
pub mod network;
pub mod pass;

use burn::tensor::Device;

use crate::data::cifar::ImageBatch;
use crate::nn::ctx::{BnMode, Precision};
use crate::nn::model::Model;
use crate::nn::params::HostParams;
use crate::nn::store::ParamStore;

use pass::{Input, Objective, PassResult, PassSpec, ProbeSum, ReluMasks};

pub use measures::{all_measures, measure_by_name};

#[derive(Debug, thiserror::Error)]
pub enum SaliencyError {
    #[error("proxy `{measure}` needs a batch of images")]
    NeedsData { measure: &'static str },
    #[error("the image batch is {got:?} (C, H, W) but the network expects {expected:?}")]
    InputShape {
        got: [usize; 3],
        expected: [usize; 3],
    },
    #[error("label {label} of image {index} is out of range for {classes} classes")]
    Label {
        label: i64,
        index: usize,
        classes: usize,
    },
    #[error("proxy `{measure}` scores whole networks only, not the alpha of a supernet")]
    NetworkOnly { measure: &'static str },
}

/// Which procedure a measure follows on alpha: the method as defined, or what the official
/// FreeDARTS notebooks of a space computed (see docs/METHOD.md 2.3 and 2.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Procedure {
    /// The methods as their papers define them (the default).
    #[default]
    Defined,
    /// The official notebooks' code in the given space.
    Official(OfficialCode),
}

/// Whose notebook an official procedure repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfficialCode {
    /// `NAS_Bench201/exps/algos/FreeDARTS_*_oneshot.ipynb`.
    Nb201,
    /// `DARTS_CNN/FreeDARTS_*_oneshot.ipynb`.
    Darts,
}

impl Procedure {
    /// Name in results and reports: `defined`, `official-nb201` or `official-darts`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Defined => "defined",
            Self::Official(OfficialCode::Nb201) => "official-nb201",
            Self::Official(OfficialCode::Darts) => "official-darts",
        }
    }
}

/// What a measure scores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// Every entry of alpha, in the precision and BatchNorm mode of the search, as the
    /// official FreeDARTS code takes it. `alpha_abs` makes alpha absolute as well (SynFlow).
    Alpha {
        precision: Precision,
        bn: BnMode,
        alpha_abs: bool,
    },
    /// The conv and linear weights of a standalone network, as the zero-cost-proxy library
    /// takes them (each measure's own precision and BatchNorm mode).
    Network,
}

/// Per-element saliency of one selected stored tensor.
#[derive(Clone, Debug)]
pub struct TensorSaliency {
    /// Index of the stored tensor.
    pub storage: usize,
    /// The values the saliency was taken at (after any abs), row-major.
    pub value: Vec<f64>,
    /// d objective / d value.
    pub grad: Vec<f64>,
    /// H g (GraSP only).
    pub hessian_grad: Option<Vec<f64>>,
    /// The saliency; larger is better.
    pub score: Vec<f64>,
}

/// What a measure returns.
#[derive(Clone, Debug, Default)]
pub struct Saliency {
    /// What was differentiated (`R`, SynFlow's summed logits, or `L`, the cross-entropy) and
    /// its value, when a gradient was taken.
    pub objective: Option<(&'static str, f64)>,
    /// Logits of the scoring pass, row-major [N, classes].
    pub logits: Vec<f64>,
    /// Precision the numbers were computed in.
    pub precision: Option<Precision>,
    /// Per-element saliencies of the selected tensors, in store order.
    pub tensors: Vec<TensorSaliency>,
    /// The network score when the measure is not a sum of per-element saliencies, or computed
    /// the sum by a cheaper exact route.
    pub total: Option<f64>,
    /// Extra detail written under `<measure>_<key>` (e.g. `synflow_log`).
    pub extra: Vec<(&'static str, f64)>,
    /// How the measure ran (for reports).
    pub notes: Vec<String>,
}

impl Saliency {
    /// A network-level value.
    pub fn total(value: f64) -> Self {
        Self {
            total: Some(value),
            ..Self::default()
        }
    }
}

/// A saliency criterion: one file each under [`measures`].
pub trait Measure: Sync {
    /// Name on the command line and the key in score files.
    fn name(&self) -> &'static str;
    /// One line for `--help` and reports.
    fn description(&self) -> &'static str;
    /// Whether a larger value predicts a better network (true for every measure here; the
    /// random baseline has no direction, and says so in its description).
    fn larger_is_better(&self) -> bool {
        true
    }
    fn needs_data(&self) -> bool;
    /// Whether it scores single tensor entries, and so alpha in a supernet.
    fn per_element(&self) -> bool {
        false
    }
    /// Precision of its passes on a whole network (`None`: it runs none, or takes the
    /// precision a caller gives). Scoring stores a network in the precision its measures
    /// want, so that no pass converts every tensor first.
    fn network_precision(&self) -> Option<Precision> {
        None
    }
    /// What it reads from the passes several measures share ([`Scoring::cross_entropy_pass`],
    /// [`Scoring::input_jacobian_pass`]) beyond what every reader of the pass gets.
    fn shared_reads(&self) -> SharedReads {
        SharedReads::default()
    }
    fn score(&self, s: &mut Scoring, target: Target) -> Result<Saliency, SaliencyError>;
}

/// What measures read from the shared passes beyond what every reader gets (the weights'
/// gradients of the cross-entropy pass, the input's gradient of the input-Jacobian pass); each
/// costs memory and time, so a pass keeps only what the announced measures read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SharedReads {
    /// The gradient of every conv and linear output, probed (Fisher). A probe is a zero map
    /// added to each output (burn exposes gradients of leaves only): per layer two maps more
    /// to keep, and about 8 % of the pass.
    pub layer_gradients: bool,
    /// The input's gradient of the summed logits (jacob_cov): a second shared pass,
    /// [`Scoring::input_jacobian_pass`].
    pub input_jacobian: bool,
    /// The ReLU masks of a forward pass of the batch (nwot): taken from the input-Jacobian
    /// pass, which has the same forward, when a measure reads that pass; else a forward pass
    /// of their own.
    pub relu_codes: bool,
}

impl SharedReads {
    /// Both reads.
    pub fn union(self, other: Self) -> Self {
        Self {
            layer_gradients: self.layer_gradients || other.layer_gradients,
            input_jacobian: self.input_jacobian || other.input_jacobian,
            relu_codes: self.relu_codes || other.relu_codes,
        }
    }

    /// Whether every read of `other` is one of these.
    pub fn covers(self, other: Self) -> bool {
        self.union(other) == self
    }
}

/// Storage precision for scoring a network with `measures`: float64 when any of them runs
/// float64 passes (values drawn or loaded in float32 convert to either exactly, so the choice
/// changes speed only).
pub fn storage_precision(measures: &[&dyn Measure]) -> Option<Precision> {
    let wanted: Vec<Precision> = measures
        .iter()
        .filter_map(|m| m.network_precision())
        .collect();
    if wanted.contains(&Precision::F64) {
        Some(Precision::F64)
    } else {
        wanted.first().copied()
    }
}

/// One model being scored: its tensors on the device and passes that several measures share.
/// The host values are dropped once uploaded (every measure reads the store).
pub struct Scoring<'a> {
    pub model: &'a dyn Model,
    pub store: ParamStore,
    pub device: &'a Device,
    /// One batch of images for the data-dependent measures.
    pub batch: Option<&'a ImageBatch>,
    /// Seed of the initial values (the random baseline uses it).
    pub seed: u64,
    /// Defined or official procedure (alpha targets only; [`Scoring::new`] picks defined).
    pub procedure: Procedure,
    /// The shared passes, each with the reads it was run for.
    cross_entropy: Option<(PassResult, SharedReads)>,
    input_jacobian: Option<(PassResult, SharedReads)>,
    /// What the shared passes keep (see [`Scoring::expect_measures`]).
    shared_reads: SharedReads,
}

impl<'a> Scoring<'a> {
    pub fn new(
        model: &'a dyn Model,
        host: HostParams,
        device: &'a Device,
        batch: Option<&'a ImageBatch>,
        seed: u64,
    ) -> Self {
        Self::stored_in(model, host, device, batch, seed, None)
    }

    /// As [`Scoring::new`], with the values stored in `dtype` (`None`: float32 unless a value
    /// needs float64). They must be exact in `dtype`.
    pub fn stored_in(
        model: &'a dyn Model,
        host: HostParams,
        device: &'a Device,
        batch: Option<&'a ImageBatch>,
        seed: u64,
        dtype: Option<Precision>,
    ) -> Self {
        Self {
            store: ParamStore::new_in(model.registry(), &host, device, dtype),
            model,
            device,
            batch,
            seed,
            procedure: Procedure::Defined,
            cross_entropy: None,
            input_jacobian: None,
            shared_reads: SharedReads {
                layer_gradients: true,
                ..SharedReads::default()
            },
        }
    }

    /// The same, following `procedure` on alpha.
    pub fn with_procedure(mut self, procedure: Procedure) -> Self {
        self.procedure = procedure;
        self
    }

    pub fn batch(&self, measure: &'static str) -> Result<&'a ImageBatch, SaliencyError> {
        self.batch.ok_or(SaliencyError::NeedsData { measure })
    }

    /// Announces the measures this scoring will run, so the shared cross-entropy pass keeps
    /// only what they read ([`SharedReads`]). Without an announcement it probes the layer
    /// outputs and records no masks.
    pub fn expect_measures(&mut self, measures: &[&dyn Measure]) {
        self.shared_reads = measures
            .iter()
            .fold(SharedReads::default(), |r, m| r.union(m.shared_reads()));
    }

    /// Forgets the passes shared between measures: the store changed.
    pub fn reset_passes(&mut self) {
        self.cross_entropy = None;
        self.input_jacobian = None;
    }

    /// Whether an announced measure reads the input-Jacobian pass, so that nwot's ReLU codes
    /// come from it instead of a forward pass of their own.
    pub fn expects_input_jacobian(&self) -> bool {
        self.shared_reads.input_jacobian
    }

    /// Runs one pass on this model.
    pub fn run(&self, spec: PassSpec) -> Result<PassResult, SaliencyError> {
        pass::run(self.model, &self.store, spec, None, self.device)
    }

    /// The cross-entropy pass of the batch through the network (float32, train-mode BN,
    /// weight gradients, and what the announced measures read), shared by snip, grad_norm and
    /// fisher as in the zero-cost-proxy code. A measure whose `reads` the shared
    /// pass lacks gets a pass that has them (rerun, keeping what it had).
    pub fn cross_entropy_pass(
        &mut self,
        measure: &'static str,
        reads: SharedReads,
    ) -> Result<&PassResult, SaliencyError> {
        let batch = self.batch(measure)?;
        let (model, store, device) = (self.model, &self.store, self.device);
        shared_pass(
            &mut self.cross_entropy,
            &mut self.shared_reads,
            reads,
            |reads| PassSpec {
                precision: Precision::F32,
                bn: BnMode::Train,
                transform: &pass::untouched,
                select: pass::weights,
                input: Input::Batch(batch),
                objective: Objective::CrossEntropy,
                input_grad: false,
                probe: reads.layer_gradients.then_some(ProbeSum::Fisher),
                relu: ReluMasks::Plain,
            },
            |spec| pass::run(model, store, spec, None, device),
        )
    }

    /// The pass of the batch that differentiates the summed logits with respect to the input
    /// (float32, train-mode BN, nothing else differentiated), shared by jacob_cov and nwot:
    /// its ReLU masks are recorded when an announced measure reads them (`reads.relu_codes`),
    /// and a pass without them is rerun when a measure asks for them.
    pub fn input_jacobian_pass(
        &mut self,
        measure: &'static str,
        reads: SharedReads,
    ) -> Result<&PassResult, SaliencyError> {
        let batch = self.batch(measure)?;
        let (model, store, device) = (self.model, &self.store, self.device);
        shared_pass(
            &mut self.input_jacobian,
            &mut self.shared_reads,
            reads,
            |reads| PassSpec {
                precision: Precision::F32,
                bn: BnMode::Train,
                transform: &pass::untouched,
                select: pass::nothing,
                input: Input::Batch(batch),
                objective: Objective::SumLogits,
                input_grad: true,
                probe: None,
                relu: if reads.relu_codes {
                    ReluMasks::Record
                } else {
                    ReluMasks::Plain
                },
            },
            |spec| pass::run(model, store, spec, None, device),
        )
    }
}

/// The shared pass in `slot`, run for the announced reads and `reads`, or rerun when the one
/// there was run without some of `reads` (which are then announced too).
fn shared_pass<'s, 'b>(
    slot: &'s mut Option<(PassResult, SharedReads)>,
    announced: &mut SharedReads,
    reads: SharedReads,
    spec: impl FnOnce(SharedReads) -> PassSpec<'b>,
    run: impl FnOnce(PassSpec<'b>) -> Result<PassResult, SaliencyError>,
) -> Result<&'s PassResult, SaliencyError> {
    if slot.as_ref().is_some_and(|(_, had)| !had.covers(reads)) {
        *announced = announced.union(reads);
        *slot = None;
    }
    if slot.is_none() {
        let reads = announced.union(reads);
        *slot = Some((run(spec(reads))?, reads));
    }
    Ok(&slot.as_ref().expect("computed above").0)
}

/// Element-wise saliencies of every tensor a pass differentiated: `f(value, grad)`.
pub fn per_element(pass: &PassResult, f: impl Fn(f64, f64) -> f64) -> Vec<TensorSaliency> {
    use crate::nn::ctx::to_host;
    pass.selected
        .iter()
        .map(|d| {
            let value = to_host(d.value.clone());
            let grad = to_host(d.grad.clone());
            let score = value.iter().zip(&grad).map(|(&v, &g)| f(v, g)).collect();
            TensorSaliency {
                storage: d.storage,
                value,
                grad,
                hessian_grad: None,
                score,
            }
        })
        .collect()
}
