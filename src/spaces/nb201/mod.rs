//! NAS-Bench-201: one cell of 4 nodes and 6 edges, 5 candidate ops per edge.

mod arch;
pub mod network;
mod space;
pub mod supernet;

pub use arch::*;
