//! Search spaces: cell topologies, candidate op sets and their text encodings.

mod darts_stub;
pub mod nb201;
pub mod darts {
    pub use super::darts_stub::*;
}
