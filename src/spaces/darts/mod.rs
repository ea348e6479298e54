//! The DARTS space: normal and reduction cells of 2 inputs and 4 intermediate nodes, 8
//! candidate ops per edge, two in-edges kept per node.

mod genotype;
pub mod network;
mod parse;
mod space;
pub mod supernet;

pub use genotype::*;
pub use parse::GenotypeParseError;
