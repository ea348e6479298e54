//! Library errors as Python exceptions carrying the command line's one-line message: the
//! wording comes from the CLI's own table (included below, not copied), the exception class
//! from what went wrong (a missing file is a `FileNotFoundError`, a bad setting a
//! `ValueError`).

use std::io::ErrorKind;

use pyo3::PyErr;
use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyKeyboardInterrupt, PyOSError, PyPermissionError,
    PyRuntimeError, PyValueError,
};

use freedarts::scoring::ScoreError;

// The CLI's table of library errors in flag words. It is included rather than copied so that a
// message changed for the command line changes here too; it uses only `freedarts::` paths.
#[allow(dead_code)]
#[path = "../../src/cli/errors.rs"]
mod cli_words;

pub use cli_words::{one_line, score_error, supernet_fits};

/// The Python exception for a failed call. An I/O error anywhere in the chain decides the
/// class (the message names the argument and the path); a stopped run is a
/// `KeyboardInterrupt`; everything else the library refuses is a bad value.
pub fn to_py(e: &anyhow::Error) -> PyErr {
    let msg = one_line(e);
    for cause in e.chain() {
        if let Some(ScoreError::Interrupted { .. }) = cause.downcast_ref::<ScoreError>() {
            return PyKeyboardInterrupt::new_err(msg);
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
                ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
                ErrorKind::IsADirectory => PyIsADirectoryError::new_err(msg),
                // Refused paths (a directory or FIFO where a file belongs, bad data) are values.
                ErrorKind::InvalidInput | ErrorKind::InvalidData => PyValueError::new_err(msg),
                _ => PyOSError::new_err(msg),
            };
        }
    }
    PyValueError::new_err(msg)
}

/// A panic in the library (a bug: every known bad input is an error) as a `RuntimeError`
/// rather than a crashed interpreter.
pub fn panic_to_py(payload: &(dyn std::any::Any + Send)) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    PyRuntimeError::new_err(format!(
        "internal error in freedarts (please report): {what}"
    ))
}
