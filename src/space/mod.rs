//! Search spaces: cell topologies, candidate op sets and their text encodings.

pub mod darts;
pub mod nb201;
