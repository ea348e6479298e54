//! Reading a `search --json` result back, for `freedarts report`.

use std::path::{Path, PathBuf};

use super::{SEARCH_SCHEMA, SearchResult};
use crate::benchmark::{BenchmarkError, Nb201Benchmark};
use crate::spaces::derive::Derivation;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: not a freedarts search result: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: schema `{found}`, but this freedarts reads `{SEARCH_SCHEMA}`; \
         rerun the search with this version"
    )]
    Schema { path: PathBuf, found: String },
    /// A benchmark lookup asked of a result that is not an NB201 cell.
    #[error("{path}: the benchmark holds NAS-Bench-201 cells, but this is a {space} result")]
    NotNb201 { path: PathBuf, space: String },
    /// A result whose fields do not describe one consistent search.
    #[error("{path}: not a consistent freedarts search result: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(transparent)]
    Benchmark(#[from] BenchmarkError),
}

/// Reads a search result written by `search --json`, checking its schema version first so an
/// old or foreign file fails with one line naming the version rather than a missing field.
pub fn load_result(path: &Path) -> Result<SearchResult, LoadError> {
    let text = crate::util::input::read_text(path, crate::util::input::limits::RESULT_JSON)
        .map_err(|source| LoadError::Io {
            path: path.into(),
            source,
        })?;
    let json_error = |e: serde_json::Error| LoadError::Json {
        path: path.into(),
        line: e.line(),
        column: e.column(),
        message: {
            let m = e.to_string();
            m.rsplit_once(" at line ")
                .map_or(m.clone(), |(head, _)| head.to_string())
        },
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(json_error)?;
    let found = match value.get("schema") {
        None => "(none)".to_string(),
        Some(serde_json::Value::String(s)) => crate::util::input::escape_control(s, 60),
        Some(other) => crate::util::input::escape_control(&other.to_string(), 60),
    };
    if found != SEARCH_SCHEMA {
        return Err(LoadError::Schema {
            path: path.into(),
            found,
        });
    }
    let result: SearchResult = serde_json::from_str(&text).map_err(json_error)?;
    super::validate::validate(&result).map_err(|message| LoadError::Invalid {
        path: path.into(),
        message,
    })?;
    Ok(result)
}

/// Fills in (or replaces) the benchmark accuracies of an NB201 result from a benchmark file.
pub fn attach_benchmark(
    result: &mut SearchResult,
    result_path: &Path,
    benchmark: &Path,
) -> Result<(), LoadError> {
    let Derivation::Nb201 { arch, .. } = &result.derivation else {
        return Err(LoadError::NotNb201 {
            path: result_path.into(),
            space: result.space.clone(),
        });
    };
    result.benchmark = Nb201Benchmark::load(benchmark)?.lookup(arch);
    Ok(())
}
