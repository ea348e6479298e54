//! Argument groups that several subcommands flatten into theirs, each parsed in one place.

pub mod data;
pub mod device;
pub mod output;
pub mod space;
