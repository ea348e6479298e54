//! Which architectures a scoring run covers: `all`, a seeded `sample:N`, or a file with one
//! architecture a line; the network each is placed in; and the `I/N` shard of them this
//! process takes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use serde::Serialize;

use crate::nn::model::Model;
use crate::spaces::darts::Genotype;
use crate::spaces::darts::network::{DartsEvalNet, EvalConfig};
use crate::spaces::nb201::Nb201Arch;
use crate::spaces::nb201::network::Nb201Network;
use crate::spaces::nb201::supernet::Nb201Config;

/// The space of the scored architectures and the network skeleton each is placed in.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ScoreSpace {
    /// NAS-Bench-201's TinyNetwork (C, N, classes, input size).
    Nb201(Nb201Config),
    /// DARTS' NetworkCIFAR / NetworkImageNet of a genotype.
    Darts(EvalConfig),
}

impl ScoreSpace {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Nb201(_) => "nb201",
            Self::Darts(_) => "darts",
        }
    }

    pub fn classes(&self) -> usize {
        match self {
            Self::Nb201(c) => c.classes,
            Self::Darts(c) => c.classes,
        }
    }

    pub fn input_size(&self) -> usize {
        match self {
            Self::Nb201(c) => c.input_size,
            Self::Darts(c) => c.input_size,
        }
    }

    /// Checks the skeleton can be built: both networks halve the image twice (and the DARTS
    /// factorized reduction halves the channels).
    pub fn validate(&self) -> Result<(), NetworkError> {
        let size = self.input_size();
        if size < 4 || !size.is_multiple_of(4) {
            return Err(NetworkError::InputSize { size });
        }
        if let Self::Darts(c) = self
            && (c.channels < 2 || !c.channels.is_multiple_of(2) || c.cells < 3)
        {
            return Err(NetworkError::DartsShape {
                channels: c.channels,
                cells: c.cells,
            });
        }
        Ok(())
    }

    /// The standalone network of `arch`; `None` when the arch belongs to the other space.
    pub fn build(&self, arch: &Architecture) -> Option<Box<dyn Model>> {
        match (self, arch) {
            (Self::Nb201(c), Architecture::Nb201(a)) => Some(Box::new(Nb201Network::new(*c, *a))),
            (Self::Darts(c), Architecture::Darts(g)) => Some(Box::new(DartsEvalNet::new(*c, g))),
            _ => None,
        }
    }
}

/// One architecture of either space.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Architecture {
    Nb201(Nb201Arch),
    Darts(Genotype),
}

impl fmt::Display for Architecture {
    /// The NB201 string or the `Genotype(...)` text.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Self::Nb201(a) => write!(f, "{a}"),
            Self::Darts(g) => write!(f, "{g}"),
        }
    }
}

/// The `--archs` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArchSelection {
    /// All 15,625 NB201 cells, in `index_in_space` order.
    All,
    /// N distinct NB201 cells drawn with the run's seed, in `index_in_space` order; in the
    /// DARTS space N distinct uniformly random genotypes, in drawing order.
    Sample(usize),
    /// One architecture a line (NB201 string; DARTS `Genotype(...)` text or a known name such
    /// as DARTS_V2); blank lines and lines starting with `#` are skipped.
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
                Ok(n) if (1..=crate::spaces::nb201::NB201_NUM_ARCHS).contains(&n) => {
                    Ok(Self::Sample(n))
                }
                _ => Err(format!(
                    "`{s}`: expected sample:N with N from 1 to {}",
                    crate::spaces::nb201::NB201_NUM_ARCHS
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

/// A network skeleton that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("input size {size} must be a positive multiple of 4 (two stride-2 reductions)")]
    InputSize { size: usize },
    #[error(
        "a DARTS network needs an even width of at least 2 and at least 3 cells \
         (got width {channels}, {cells} cells)"
    )]
    DartsShape { channels: usize, cells: usize },
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
    #[error("architecture file {0} lists no architectures")]
    Empty(PathBuf),
    /// `ArchSelection::All` in the DARTS space, which has too many cells to list.
    #[error("`all` enumerates the NB201 cells only; in the DARTS space give sample:N or a file")]
    AllDarts,
}

impl ArchSelection {
    /// The architectures of `space`, in a fixed order.
    pub fn resolve(
        &self,
        seed: u64,
        space: &ScoreSpace,
    ) -> Result<Vec<Architecture>, ArchListError> {
        let darts = matches!(space, ScoreSpace::Darts(_));
        match self {
            Self::All if darts => Err(ArchListError::AllDarts),
            Self::All => Ok(Nb201Arch::all().map(Architecture::Nb201).collect()),
            Self::Sample(n) if darts => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut seen = std::collections::HashSet::new();
                let mut archs = Vec::with_capacity(*n);
                while archs.len() < *n {
                    let g = Genotype::random(&mut rng);
                    if seen.insert(g.clone()) {
                        archs.push(Architecture::Darts(g));
                    }
                }
                Ok(archs)
            }
            Self::Sample(n) => {
                let mut all: Vec<Nb201Arch> = Nb201Arch::all().collect();
                all.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
                all.truncate(*n);
                all.sort_by_key(Nb201Arch::index_in_space);
                Ok(all.into_iter().map(Architecture::Nb201).collect())
            }
            Self::File(path) => read_arch_file(path, darts),
        }
    }
}

fn parse_line(text: &str, darts: bool) -> Result<Architecture, String> {
    if darts {
        match crate::spaces::darts::by_name(text) {
            Some(g) => Ok(Architecture::Darts(g)),
            None => Genotype::parse(text)
                .map(Architecture::Darts)
                .map_err(|e| e.to_string()),
        }
    } else {
        Nb201Arch::parse(text)
            .map(Architecture::Nb201)
            .map_err(|e| e.to_string())
    }
}

fn read_arch_file(path: &Path, darts: bool) -> Result<Vec<Architecture>, ArchListError> {
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
        let arch = parse_line(trimmed, darts).map_err(err)?;
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
