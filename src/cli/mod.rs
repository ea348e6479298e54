//! Argument structs and handlers of the subcommands that grew past a few flags.

pub mod correlate;
pub mod report;
pub mod score;
