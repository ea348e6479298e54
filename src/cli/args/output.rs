//! Writing the files that output flags name, and checking them before a run starts: an output
//! is never one of the command's inputs (or another output), never a directory, FIFO or
//! device, and is written to a temporary file renamed into place, so a failure leaves the old
//! file as it was. A failure names the flag and the path.

use std::path::Path;

use anyhow::{Context, Result, bail};

use freedarts::util::output::{check_output_path, find_clash, write_atomic};

/// Writes `value` as pretty JSON with a final newline.
pub fn write_json(path: &Path, flag: &str, value: &impl serde::Serialize) -> Result<()> {
    write_text(path, flag, serde_json::to_string_pretty(value)? + "\n")
}

/// Writes `text` as it is, atomically.
pub fn write_text(path: &Path, flag: &str, text: impl AsRef<[u8]>) -> Result<()> {
    write_atomic(path, text.as_ref())
        .with_context(|| format!("cannot write {flag} {}", path.display()))
}

/// Checks the paths of a command before anything runs: every output can be replaced by a
/// file, and no output names an input or another output. Each pair is (flag, path); `None`
/// paths are flags not given.
pub fn check_paths(
    inputs: &[(&str, Option<&Path>)],
    outputs: &[(&str, Option<&Path>)],
) -> Result<()> {
    let given = |list: &[(&str, Option<&Path>)]| -> Vec<(String, std::path::PathBuf)> {
        list.iter()
            .filter_map(|(flag, p)| p.map(|p| (flag.to_string(), p.to_path_buf())))
            .collect()
    };
    let (inputs, outputs) = (given(inputs), given(outputs));
    for (flag, path) in &outputs {
        check_output_path(path)
            .with_context(|| format!("cannot write {flag} {}", path.display()))?;
    }
    let ins: Vec<(&str, &Path)> = inputs
        .iter()
        .map(|(f, p)| (f.as_str(), p.as_path()))
        .collect();
    let outs: Vec<(&str, &Path)> = outputs
        .iter()
        .map(|(f, p)| (f.as_str(), p.as_path()))
        .collect();
    if let Some(((out_flag, out), (in_flag, input))) = find_clash(&ins, &outs) {
        bail!(
            "{out_flag} {} is the same file as {in_flag} {}: pick another {out_flag} (a \
             command never overwrites its own inputs or writes two outputs to one file)",
            out.display(),
            input.display()
        );
    }
    Ok(())
}
