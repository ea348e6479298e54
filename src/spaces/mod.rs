//! The search spaces, one folder each: ops and the text form of an architecture, the search
//! supernet, the standalone network of one architecture, and the [`SearchSpace`] that ties
//! them together. Adding a space is adding a folder, implementing [`SearchSpace`] for its
//! supernet configuration and naming it in [`crate::search::SpaceConfig`].

pub mod darts;
pub mod derive;
pub mod nb201;

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

/// What searching, reporting and sizing need from a search space, given its supernet
/// configuration.
pub trait SearchSpace {
    /// Name on the command line and in results (`nb201`, `darts`, `darts-imagenet`).
    fn name(&self) -> &'static str;
    /// One-line description of the skeleton for reports.
    fn describe(&self) -> String;
    fn classes(&self) -> usize;
    /// Input height and width.
    fn input_size(&self) -> usize;
    /// Checks the skeleton before anything is built.
    fn validate(&self) -> Result<(), SpaceError>;
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
