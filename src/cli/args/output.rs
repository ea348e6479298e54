//! Writing the files that output flags name; a failure names the flag and the path.

use std::path::Path;

use anyhow::{Context, Result};

/// Writes `value` as pretty JSON with a final newline.
pub fn write_json(path: &Path, flag: &str, value: &impl serde::Serialize) -> Result<()> {
    write_text(path, flag, serde_json::to_string_pretty(value)? + "\n")
}

/// Writes `text` as it is.
pub fn write_text(path: &Path, flag: &str, text: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {flag} {}", path.display()))
}
