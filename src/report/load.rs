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
    #[error(transparent)]
    Benchmark(#[from] BenchmarkError),
}

/// Reads a search result written by `search --json`, checking its schema version first so an
/// old or foreign file fails with one line naming the version rather than a missing field.
pub fn load_result(path: &Path) -> Result<SearchResult, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
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
    let found = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if found != SEARCH_SCHEMA {
        return Err(LoadError::Schema {
            path: path.into(),
            found: if found.is_empty() {
                "(none)".into()
            } else {
                found.into()
            },
        });
    }
    serde_json::from_str(&text).map_err(json_error)
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
