//! The search spaces, one folder each: ops and the text form of an architecture, the search
//! supernet, the standalone network of one architecture.

pub mod darts;
pub mod nb201;
