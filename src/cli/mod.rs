//! The command line: every subcommand's flags and handler, and the argument groups they share.
//! Flag names live here only; the library reports typed errors that the handlers put in the
//! words of their flags.

pub mod args;
pub mod bench;
pub mod correlate;
pub mod errors;
pub mod info;
pub mod report;
pub mod score;
pub mod search;

pub use errors::one_line;
