//! FreeDARTS: training-free differentiable architecture search.
//!
//! Layers, bottom up (a module uses only those listed before it):
//! [`util`] (JSON floats, process resources), [`device`] (the backend) -> [`nn`] (parameters as burn `Param`s, the
//! forward context, layers, the [`nn::model::Model`] trait) -> [`spaces`] (one folder per
//! search space: ops, architecture text, supernet, standalone network, derivation) -> [`data`] ->
//! [`saliency`] (the engine: one differentiated pass over any selection of tensors, one
//! Hessian-vector product, one file per measure) -> [`diagnostics`] -> [`search`],
//! [`scoring`], [`correlate`], [`seeds`], [`benchmark`], [`sizes`], [`bench`](mod@bench) -> [`report`].
//! The command line lives in the binary and is the only place that knows about flags.

pub mod bench;
pub mod benchmark;
pub mod correlate;
pub mod data;

pub mod device;
pub mod diagnostics;
pub mod nn;
pub mod report;
pub mod saliency;
pub mod scoring;
pub mod search;
pub mod seeds;
pub mod sizes;
pub mod spaces;
pub mod util;
