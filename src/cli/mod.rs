//! Argument structs and handlers of the subcommands that grew past a few flags.

pub mod correlate;
pub mod report;
pub mod score;

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `value` as pretty JSON with a final newline; errors name the flag and the path.
pub fn write_json(path: &Path, flag: &str, value: &impl serde::Serialize) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")
        .with_context(|| format!("cannot write {flag} {}", path.display()))
}
