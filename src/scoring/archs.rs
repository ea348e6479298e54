//! Which architectures a scoring run covers: `all`, a seeded `sample:N`, or a file with one
//! architecture a line (each read by the run's space), and the `I/N` shard of them this
//! process takes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::spaces::{Architecture, NetworkSpace};

/// The `--archs` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchSelection {
    /// Every architecture of the space (the 15,625 NB201 cells, in `index_in_space` order).
    All,
    /// N distinct architectures drawn with the run's seed (NB201: listed in `index_in_space`
    /// order; DARTS: uniformly random genotypes in drawing order).
    Sample(usize),
    /// One architecture a line (NB201 string; DARTS `Genotype(...)` text or a known name such
    /// as DARTS_V2); blank lines and lines starting with `#` are skipped.
    File(PathBuf),
    /// Architectures given in memory (the Python binding's lists), each already read by the
    /// run's space; never parsed from a flag.
    List(Vec<Architecture>),
}

impl FromStr for ArchSelection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(Self::All);
        }
        if let Some(n) = s.strip_prefix("sample:") {
            return match n.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(Self::Sample(n)),
                _ => Err(format!("`{s}`: expected sample:N with N at least 1")),
            };
        }
        Ok(Self::File(PathBuf::from(s)))
    }
}

impl fmt::Display for ArchSelection {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::All => write!(f, "all"),
            Self::Sample(n) => write!(f, "sample:{n}"),
            Self::File(p) => write!(f, "{}", p.display()),
            Self::List(archs) => write!(f, "list:{}", archs.len()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchListError {
    #[error("cannot read architecture file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// An item of an in-memory list (0-based).
    #[error("archs[{index}]: {message}")]
    Item { index: usize, message: String },
    #[error("archs: the list holds no architectures")]
    EmptyList,
    #[error("architecture file {0} lists no architectures")]
    Empty(PathBuf),
    /// `ArchSelection::All` in a space too large to list (DARTS).
    #[error("the {space} space is too large to list all architectures; give sample:N or a file")]
    NotEnumerable { space: &'static str },
    /// More samples than the space allows.
    #[error("sample:{n} asks for more than the {limit} architectures the {space} space samples")]
    SampleTooLarge {
        n: usize,
        limit: usize,
        space: &'static str,
    },
}

impl ArchSelection {
    /// The architectures of `space`, in a fixed order.
    pub fn resolve(
        &self,
        seed: u64,
        space: &dyn NetworkSpace,
    ) -> Result<Vec<Architecture>, ArchListError> {
        match self {
            Self::All => space.enumerate().ok_or(ArchListError::NotEnumerable {
                space: space.name(),
            }),
            Self::Sample(n) if *n > space.sample_limit() => Err(ArchListError::SampleTooLarge {
                n: *n,
                limit: space.sample_limit(),
                space: space.name(),
            }),
            Self::Sample(n) => Ok(space.sample(*n, seed)),
            Self::File(path) => read_arch_file(path, space),
            Self::List(archs) => Ok(archs.clone()),
        }
    }
}

fn read_arch_file(
    path: &Path,
    space: &dyn NetworkSpace,
) -> Result<Vec<Architecture>, ArchListError> {
    let text = std::fs::read_to_string(path).map_err(|source| ArchListError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut archs = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let err = |message: String| ArchListError::Line {
            path: path.to_path_buf(),
            line: line_no,
            message,
        };
        let arch = space.parse(trimmed).map_err(err)?;
        if let Some(first) = seen.insert(arch.clone(), line_no) {
            return Err(err(format!(
                "{arch} is listed twice (first on line {first})"
            )));
        }
        archs.push(arch);
    }
    if archs.is_empty() {
        return Err(ArchListError::Empty(path.to_path_buf()));
    }
    Ok(archs)
}

/// Reads a list of architecture texts with `space` (the Python binding's `archs=[...]`), refusing
/// an empty list and duplicates as a file of the same lines would be refused.
pub fn parse_list(
    texts: &[String],
    space: &dyn NetworkSpace,
) -> Result<Vec<Architecture>, ArchListError> {
    let mut archs = Vec::with_capacity(texts.len());
    let mut seen = std::collections::HashMap::new();
    for (index, text) in texts.iter().enumerate() {
        let err = |message: String| ArchListError::Item { index, message };
        let arch = space.parse(text.trim()).map_err(err)?;
        if let Some(first) = seen.insert(arch.clone(), index) {
            return Err(err(format!(
                "{arch} is listed twice (first as archs[{first}])"
            )));
        }
        archs.push(arch);
    }
    if archs.is_empty() {
        return Err(ArchListError::EmptyList);
    }
    Ok(archs)
}

/// `--shard I/N`: this process scores positions I, I + N, I + 2N, ... of the list (0 <= I < N),
/// so N processes (a SLURM array with `--array=0-(N-1)`, say) split the work evenly and their
/// files concatenate into the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Default for Shard {
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}`: expected I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    pub fn select<T: Clone>(&self, items: &[T]) -> Vec<T> {
        items
            .iter()
            .skip(self.index)
            .step_by(self.count)
            .cloned()
            .collect()
    }
}
