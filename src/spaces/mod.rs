//! The search spaces, one folder each: ops and the text form of an architecture, the search
//! supernet, the standalone network of one architecture, and the cell graph for drawings,
//! behind three traits: [`Space`] (what every use shares), [`SearchSpace`] (supernet and
//! derivation) and [`NetworkSpace`] (architectures and their networks, for scoring). Adding a
//! space is adding a folder, implementing the traits and naming the space in
//! `search::SpaceConfig`, [`derive::Derivation`] and the CLI's `--space`.

pub mod darts;
pub mod derive;
pub mod graph;
pub mod nb201;

use crate::data::cifar::CifarFormat;
use crate::data::preprocess::NormalizationName;
use crate::nn::model::Model;
use crate::spaces::derive::Derivation;

/// A skeleton that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SpaceError {
    #[error("channels, cells per stage and classes must be at least 1")]
    Nb201Sizes,
    #[error("channels must be even and at least 2, cells at least 3, classes at least 1")]
    DartsSizes,
    #[error("input size {size} must be a positive multiple of {factor} ({why})")]
    InputSize {
        size: usize,
        factor: usize,
        why: &'static str,
    },
}

/// The network skeleton every use of a space shares: its name, head and input, and the check
/// that it can be built.
pub trait Space {
    /// Name on the command line and in results (`nb201`, `darts`, `darts-imagenet`).
    fn name(&self) -> &'static str;
    /// One-line description of the skeleton for reports.
    fn describe(&self) -> String;
    fn classes(&self) -> usize;
    /// Input height and width.
    fn input_size(&self) -> usize;
    /// Checks the skeleton before anything is built.
    fn validate(&self) -> Result<(), SpaceError>;
    /// The constants this space's official code normalises images of a data set with (CIFAR
    /// files of `format`; 120 classes meaning ImageNet16-120).
    fn normalization(&self, format: CifarFormat, classes: usize) -> NormalizationName;
}

/// What searching, reporting and sizing need from a search space, given its supernet
/// configuration.
pub trait SearchSpace: Space {
    /// The search supernet (alpha registered last).
    fn supernet(&self) -> Box<dyn Model>;
    /// Whether the official code takes |alpha| for SynFlow in this space.
    fn official_alpha_abs(&self) -> bool;
    /// Per-op importances (one row-major matrix per alpha group, with its name) to an
    /// architecture.
    fn derive(&self, groups: &[(String, &[f64])]) -> Derivation;
    /// Indices of the reduction cells of the supernet (none in NB201), for exports.
    fn reduction_cells(&self) -> Vec<usize> {
        Vec::new()
    }
    /// What [`SearchSpace::derive`] chooses from one score matrix, for strategies that prune
    /// step by step.
    fn choices(&self) -> Choices;
}

/// The choices a derivation makes in one alpha matrix (rows are edges, columns ops).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choices {
    /// Columns an edge may keep (DARTS leaves out `none`).
    pub ops: Vec<usize>,
    /// Rows grouped by the node they enter, with how many of them the node keeps; empty when
    /// every edge keeps one op (NB201).
    pub nodes: Vec<(std::ops::Range<usize>, usize)>,
}

/// One architecture of a space, held as its canonical text (the NB201 string, the
/// `Genotype(...)` text). Score files key their rows by this text, and the space that made it
/// parses it back when it builds the network, so nothing above the space folders needs to know
/// what an architecture is made of.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Architecture(String);

impl Architecture {
    /// Only a space makes architectures, from its own canonical printing.
    pub(crate) fn new(text: String) -> Self {
        Self(text)
    }

    pub fn text(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Architecture {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What whole-network scoring needs from a space, given the skeleton each architecture is
/// placed in: reading, listing and drawing architectures, and building one's network.
pub trait NetworkSpace: Space + Send + Sync + std::fmt::Debug {
    /// The skeleton's settings as score files record them.
    fn settings(&self) -> serde_json::Value;
    /// One architecture from its text (or a name the space knows, such as DARTS_V2).
    fn parse(&self, text: &str) -> Result<Architecture, String>;
    /// Every architecture in a fixed order, where the space is small enough to list.
    fn enumerate(&self) -> Option<Vec<Architecture>>;
    /// The most architectures [`NetworkSpace::sample`] may be asked for.
    fn sample_limit(&self) -> usize;
    /// `n` distinct architectures drawn with `seed`, in a fixed order.
    fn sample(&self, n: usize, seed: u64) -> Vec<Architecture>;
    /// The standalone network of an architecture this space made.
    fn network(&self, arch: &Architecture) -> Box<dyn Model>;
    /// The architectures one edit away from `arch` (one edge given another op), each with
    /// the (row, column) of the search supernet's alpha matrix that the edit selects; empty
    /// where the space does not list them (a local search then has nowhere to go).
    fn neighbours(&self, _arch: &Architecture) -> Vec<Neighbour> {
        Vec::new()
    }
}

/// An architecture one edit away from another: edge `row` carries op `col` instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    pub arch: Architecture,
    pub row: usize,
    pub col: usize,
}

/// Checks that `size` is a positive multiple of `factor`.
pub(crate) fn check_input_size(
    size: usize,
    factor: usize,
    why: &'static str,
) -> Result<(), SpaceError> {
    if size < factor || !size.is_multiple_of(factor) {
        return Err(SpaceError::InputSize { size, factor, why });
    }
    Ok(())
}
