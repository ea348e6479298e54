//! FreeDARTS: training-free differentiable architecture search.
//!
//! The crate follows the data: [`space`] (cell topologies and op sets) -> [`supernet`] (the
//! weight-sharing network, on burn) -> [`proxy`] (saliencies of the architecture parameters)
//! -> [`derive`] (scores to an architecture) -> [`report`] and [`benchmark`] (results and
//! NAS-Bench-201 lookups). [`search`] ties them together for the command line.

pub mod bench;
pub mod benchmark;
pub mod correlate;
pub mod data;
pub mod derive;
pub mod device;
pub mod diagnostics;
pub mod network;
pub mod nn;
pub mod proxy;
pub mod report;
pub mod scoring;
pub mod search;
pub mod seeds;
pub mod sizes;
pub mod space;
pub mod supernet;
pub mod util;
pub mod zerocost;
