//! Which architectures a scoring run covers: `all`, a seeded `sample:N`, or a file with one
//! arch string a line; and the `I/N` shard of them this process takes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::space::nb201::Nb201Arch;

/// The `--archs` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchSelection {
    /// All 15,625 cells, in `index_in_space` order.
    All,
    /// N distinct cells drawn with the run's seed, in `index_in_space` order.
    Sample(usize),
    /// One arch string a line; blank lines and lines starting with `#` are skipped.
    File(PathBuf),
}

impl FromStr for ArchSelection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(Self::All);
        }
        if let Some(n) = s.strip_prefix("sample:") {
            return match n.parse::<usize>() {
                Ok(n) if (1..=crate::space::nb201::NB201_NUM_ARCHS).contains(&n) => {
                    Ok(Self::Sample(n))
                }
                _ => Err(format!(
                    "`{s}`: expected sample:N with N from 1 to {}",
                    crate::space::nb201::NB201_NUM_ARCHS
                )),
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
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ArchListError {
    #[error("cannot read --archs file {path}: {source}")]
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
    #[error("--archs file {0} lists no architectures")]
    Empty(PathBuf),
}

impl ArchSelection {
    /// The architectures, in a fixed order.
    pub fn resolve(&self, seed: u64) -> Result<Vec<Nb201Arch>, ArchListError> {
        match self {
            Self::All => Ok(Nb201Arch::all().collect()),
            Self::Sample(n) => {
                let mut all: Vec<Nb201Arch> = Nb201Arch::all().collect();
                all.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
                all.truncate(*n);
                all.sort_by_key(Nb201Arch::index_in_space);
                Ok(all)
            }
            Self::File(path) => read_arch_file(path),
        }
    }
}

fn read_arch_file(path: &Path) -> Result<Vec<Nb201Arch>, ArchListError> {
    let text = std::fs::read_to_string(path).map_err(|source| ArchListError::Io {
        path: path.to_path_buf(),
        source,
    })?;
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
        let arch = Nb201Arch::parse(trimmed).map_err(|e| err(e.to_string()))?;
        if let Some(first) = seen.insert(arch, line_no) {
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
