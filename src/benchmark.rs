//! NAS-Bench-201 ground-truth accuracies loaded from CSV, with per-column
//! ranks so a searched architecture can be placed within the whole space.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::spaces::nb201::{ArchParseError, Nb201Arch};

/// The accuracy columns a benchmark file may carry.
pub const ACCURACY_COLUMNS: [&str; 6] = [
    "cifar10_valid",
    "cifar10_test",
    "cifar100_valid",
    "cifar100_test",
    "imagenet16_valid",
    "imagenet16_test",
];

/// Why a benchmark file could not be loaded. Line numbers count from 1,
/// the header being line 1.
#[derive(Debug, thiserror::Error)]
pub enum BenchmarkError {
    /// The file cannot be opened.
    #[error("cannot read benchmark file `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The CSV itself is malformed (e.g. rows of different lengths).
    #[error("benchmark file `{}` is not valid CSV: {source}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// The CSV reader's error, which carries the position.
        source: csv::Error,
    },
    /// No header or no data rows.
    #[error("benchmark file `{}` is empty: expected a header line and at least one row", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The header lacks the `arch` column (a joined file: and the `index` column).
    #[error(
        "`{}` line 1: the header has no `arch` column{}",
        path.display(),
        if *or_index { " and no `index` column to join by" } else { "" }
    )]
    MissingArch {
        /// The file.
        path: PathBuf,
        /// Whether an `index` column would have done (a joined file).
        or_index: bool,
    },
    /// The header has none of the accuracy columns.
    #[error(
        "`{}` line 1: the header has no accuracy column (read: {} and the columns asked for \
         by name)",
        path.display(),
        ACCURACY_COLUMNS.join(", ")
    )]
    NoAccuracyColumn {
        /// The file.
        path: PathBuf,
    },
    /// A column named twice in the header.
    #[error("`{}` line 1: column `{column}` appears more than once", path.display())]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
    },
    /// An accuracy that is not a finite number.
    #[error("`{}` line {line}, column `{column}`: `{value}` is not a finite number", path.display())]
    BadNumber {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The column.
        column: String,
        /// The text found.
        value: String,
    },
    /// An accuracy outside [0, 100] (percent).
    #[error(
        "`{}` line {line}, column `{column}`: {value} is not an accuracy in percent (0 to 100)",
        path.display()
    )]
    AccuracyRange {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The column.
        column: String,
        /// The value found.
        value: f64,
    },
    /// An `index` that is not a non-negative integer.
    #[error("`{}` line {line}, column `index`: `{value}` is not a non-negative integer", path.display())]
    BadIndex {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The text found.
        value: String,
    },
    /// An `arch` string that does not parse.
    #[error("`{}` line {line}, column `arch`: {source}", path.display())]
    BadArch {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The parse failure.
        source: ArchParseError,
    },
    /// The same index on two rows.
    #[error("`{}` line {line}, column `index`: {index} already appears on line {first_line}", path.display())]
    DuplicateIndex {
        /// The file.
        path: PathBuf,
        /// The repeated index.
        index: u64,
        /// Line of the first occurrence.
        first_line: u64,
        /// Line of the repeat.
        line: u64,
    },
    /// A joined file's column that an earlier file has too.
    #[error(
        "`{}` line 1: column `{column}` is already read from `{}`",
        path.display(),
        first.display()
    )]
    ColumnInTwoFiles {
        /// The joined file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The first file.
        first: PathBuf,
    },
    /// A file joined by index to a first file without an `index` column.
    #[error(
        "`{}` has no `arch` column, and `{}` has no `index` column to join it by",
        path.display(),
        first.display()
    )]
    NoIndexToJoin {
        /// The joined file.
        path: PathBuf,
        /// The first file.
        first: PathBuf,
    },
    /// A joined file's row with no match in the first file.
    #[error("`{}` line {line}: {key} is not in `{}`", path.display(), first.display())]
    UnknownRow {
        /// The joined file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What it was joined by, e.g. `index 15625`.
        key: String,
        /// The first file.
        first: PathBuf,
    },
    /// A cell of the first file that a joined file lacks.
    #[error(
        "`{}` has no row for {key} (`{}` line {first_line}); a joined file must cover every cell",
        path.display(),
        first.display()
    )]
    MissingRow {
        /// The joined file.
        path: PathBuf,
        /// The cell, e.g. `index 17`.
        key: String,
        /// The first file.
        first: PathBuf,
        /// Its line there.
        first_line: u64,
    },
    /// The same architecture on two rows.
    #[error("`{}` line {line}, column `arch`: {arch} already appears on line {first_line}", path.display())]
    DuplicateArch {
        /// The file.
        path: PathBuf,
        /// The architecture, printed officially.
        arch: String,
        /// Line of the first occurrence.
        first_line: u64,
        /// Line of the repeat.
        line: u64,
    },
}

/// One column's value for an architecture, placed among all cells.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnValue {
    /// Column name, e.g. `cifar10_test`.
    pub column: String,
    /// The architecture's accuracy in this column.
    pub accuracy: f64,
    /// 1 + the number of cells strictly better (ties share a rank).
    pub rank: usize,
    /// Number of cells ranked.
    pub of: usize,
    /// The column maximum.
    pub best: f64,
}

/// Everything the benchmark says about one architecture.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkEntry {
    /// The benchmark's own index, when the file has an `index` column.
    pub index: Option<u64>,
    /// The architecture.
    pub arch: Nb201Arch,
    /// One value per accuracy column, in file order.
    pub values: Vec<ColumnValue>,
}

/// A loaded NAS-Bench-201 accuracy table.
#[derive(Clone, Debug)]
pub struct Nb201Benchmark {
    path: PathBuf,
    /// Files whose columns were joined to the first's, in order.
    joined: Vec<PathBuf>,
    columns: Vec<String>,
    archs: Vec<Nb201Arch>,
    indices: Vec<Option<u64>>,
    /// The first file's line of each architecture.
    lines: Vec<u64>,
    /// Row-major, `columns.len()` values per architecture.
    values: Vec<f64>,
    /// Each column's values sorted ascending, for O(log n) ranks.
    sorted: Vec<Vec<f64>>,
    rows: HashMap<Nb201Arch, usize>,
}

/// Where each needed column sits in a row.
struct Layout {
    arch: Option<usize>,
    index: Option<usize>,
    accuracy: Vec<usize>,
}

/// One file as read, before it becomes a table or joins one.
struct Parsed {
    columns: Vec<String>,
    /// Per row: its architecture (files with an `arch` column), its index (files with an
    /// `index` column) and its line.
    archs: Vec<Option<Nb201Arch>>,
    indices: Vec<Option<u64>>,
    lines: Vec<u64>,
    /// Row-major, `columns.len()` values per row.
    values: Vec<f64>,
}

/// What joins a row of a later file to the first file's rows.
enum JoinKey {
    Arch,
    Index,
}

impl Nb201Benchmark {
    /// Loads a CSV with a required `arch` column, an optional `index` column
    /// and at least one of [`ACCURACY_COLUMNS`]; other columns are ignored.
    ///
    /// # Errors
    /// A [`BenchmarkError`] naming the file and, for content problems, the
    /// line and column: see its variants.
    pub fn load(path: &Path) -> Result<Self, BenchmarkError> {
        Self::load_joined(path, &[], &[])
    }

    /// Loads `first` as [`Nb201Benchmark::load`] does and adds the columns of each of `joined`,
    /// whose rows are matched to `first`'s by `arch` or, in a file without one, by `index`
    /// (so a table keyed by the benchmark's index alone, such as NAS-Bench-201's extra
    /// columns, joins through `first`). Besides [`ACCURACY_COLUMNS`], the columns named in
    /// `wanted` are read, from whichever file has them; any other column is ignored. Every
    /// joined file must cover exactly `first`'s cells and add a column of its own.
    ///
    /// # Errors
    /// A [`BenchmarkError`]: besides [`Nb201Benchmark::load`]'s, a joined row or cell that
    /// the other file lacks, a column in two files, or an index join without indices.
    pub fn load_joined(
        first: &Path,
        joined: &[PathBuf],
        wanted: &[String],
    ) -> Result<Self, BenchmarkError> {
        let parsed = parse(first, wanted, true)?;
        let mut bench = Nb201Benchmark {
            path: first.to_path_buf(),
            joined: Vec::new(),
            columns: parsed.columns,
            archs: parsed.archs.into_iter().flatten().collect(),
            indices: parsed.indices,
            lines: parsed.lines,
            values: parsed.values,
            sorted: Vec::new(),
            rows: HashMap::new(),
        };
        bench.rows = bench
            .archs
            .iter()
            .enumerate()
            .map(|(r, a)| (*a, r))
            .collect();
        for path in joined {
            let parsed = parse(path, wanted, false)?;
            bench.join(path, parsed)?;
        }
        bench.sorted = (0..bench.columns.len())
            .map(|c| {
                let mut column: Vec<f64> = bench.iter().map(|(_, row)| row[c]).collect();
                column.sort_by(f64::total_cmp);
                column
            })
            .collect();
        Ok(bench)
    }

    /// Appends the columns of `other` (read from `path`) to every row.
    fn join(&mut self, path: &Path, other: Parsed) -> Result<(), BenchmarkError> {
        if let Some(column) = other.columns.iter().find(|c| self.columns.contains(c)) {
            return Err(BenchmarkError::ColumnInTwoFiles {
                path: path.to_path_buf(),
                column: column.clone(),
                first: self.path.clone(),
            });
        }
        let key = if other.archs.iter().all(Option::is_some) {
            JoinKey::Arch
        } else {
            JoinKey::Index
        };
        let by_index: HashMap<u64, usize> = match key {
            JoinKey::Arch => HashMap::new(),
            JoinKey::Index => self
                .indices
                .iter()
                .enumerate()
                .map(|(r, i)| {
                    i.map(|i| (i, r))
                        .ok_or_else(|| BenchmarkError::NoIndexToJoin {
                            path: path.to_path_buf(),
                            first: self.path.clone(),
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        // For each of our rows, its row in `other`.
        let mut partner: Vec<Option<usize>> = vec![None; self.archs.len()];
        for (r, line) in other.lines.iter().enumerate() {
            let (ours, key_text) = match key {
                JoinKey::Arch => {
                    let arch = other.archs[r].expect("every row has an arch");
                    (
                        self.rows.get(&arch).copied(),
                        format!("architecture {arch}"),
                    )
                }
                JoinKey::Index => {
                    let index = other.indices[r].expect("an index-keyed file has indices");
                    (by_index.get(&index).copied(), format!("index {index}"))
                }
            };
            let ours = ours.ok_or_else(|| BenchmarkError::UnknownRow {
                path: path.to_path_buf(),
                line: *line,
                key: key_text,
                first: self.path.clone(),
            })?;
            partner[ours] = Some(r);
        }
        if let Some(missing) = partner.iter().position(Option::is_none) {
            return Err(BenchmarkError::MissingRow {
                path: path.to_path_buf(),
                key: match key {
                    JoinKey::Arch => format!("architecture {}", self.archs[missing]),
                    JoinKey::Index => format!("index {}", self.indices[missing].unwrap_or(0)),
                },
                first: self.path.clone(),
                first_line: self.lines[missing],
            });
        }
        let (ours, theirs) = (self.columns.len(), other.columns.len());
        let mut values = Vec::with_capacity(self.archs.len() * (ours + theirs));
        for (r, o) in partner.into_iter().flatten().enumerate() {
            values.extend_from_slice(&self.values[r * ours..(r + 1) * ours]);
            values.extend_from_slice(&other.values[o * theirs..(o + 1) * theirs]);
        }
        self.values = values;
        self.columns.extend(other.columns);
        self.joined.push(path.to_path_buf());
        Ok(())
    }

    /// The file this table was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The files joined to it ([`Nb201Benchmark::load_joined`]), in order.
    pub fn joined(&self) -> &[PathBuf] {
        &self.joined
    }

    /// The accuracy columns present, in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Position of accuracy column `name` in [`Nb201Benchmark::columns`].
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Number of architectures.
    pub fn len(&self) -> usize {
        self.archs.len()
    }

    /// Whether the table has no architectures (never true after a successful load).
    pub fn is_empty(&self) -> bool {
        self.archs.is_empty()
    }

    /// Each architecture with its accuracies (in [`Nb201Benchmark::columns`] order), in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&Nb201Arch, &[f64])> {
        let width = self.columns.len().max(1);
        self.archs.iter().zip(self.values.chunks_exact(width))
    }

    /// The accuracies of `arch`, in [`Nb201Benchmark::columns`] order.
    pub fn accuracies(&self, arch: &Nb201Arch) -> Option<&[f64]> {
        let row = *self.rows.get(arch)?;
        let width = self.columns.len();
        self.values.get(row * width..(row + 1) * width)
    }

    /// The benchmark's values for `arch` with ranks among all cells, in O(log n) per column.
    pub fn lookup(&self, arch: &Nb201Arch) -> Option<BenchmarkEntry> {
        let row = *self.rows.get(arch)?;
        let width = self.columns.len();
        let values = self.values.get(row * width..(row + 1) * width)?;
        let entries = self
            .columns
            .iter()
            .zip(values)
            .zip(&self.sorted)
            .map(|((column, &accuracy), sorted)| {
                let not_better = sorted.partition_point(|&v| v <= accuracy);
                ColumnValue {
                    column: column.clone(),
                    accuracy,
                    rank: 1 + sorted.len() - not_better,
                    of: sorted.len(),
                    best: sorted.last().copied().unwrap_or(accuracy),
                }
            })
            .collect();
        Some(BenchmarkEntry {
            index: self.indices.get(row).copied().flatten(),
            arch: *arch,
            values: entries,
        })
    }
}

/// Reads one file: its `arch` (required when `need_arch`) and `index` columns, and the
/// accuracy columns among [`ACCURACY_COLUMNS`] and `wanted`.
fn parse(path: &Path, wanted: &[String], need_arch: bool) -> Result<Parsed, BenchmarkError> {
    let io_err = |source| BenchmarkError::Io {
        path: path.to_path_buf(),
        source,
    };
    crate::util::input::check_regular_file(path, crate::util::input::limits::BENCHMARK_CSV)
        .map_err(io_err)?;
    let file = File::open(path).map_err(io_err)?;
    let csv_err = |source| BenchmarkError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(file);
    let header = reader.headers().map_err(csv_err)?.clone();
    if header.is_empty() || header.iter().all(str::is_empty) {
        return Err(BenchmarkError::Empty {
            path: path.to_path_buf(),
        });
    }
    let layout = layout(path, &header, wanted, need_arch)?;
    let mut parsed = Parsed {
        columns: layout
            .accuracy
            .iter()
            .map(|&i| header[i].to_string())
            .collect(),
        archs: Vec::new(),
        indices: Vec::new(),
        lines: Vec::new(),
        values: Vec::new(),
    };
    let (mut arch_lines, mut index_lines) = (HashMap::new(), HashMap::new());
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, csv::Position::line);
        let field = |i: usize| record.get(i).unwrap_or("");
        let arch = match layout.arch {
            None => None,
            Some(i) => {
                let arch =
                    Nb201Arch::parse(field(i)).map_err(|source| BenchmarkError::BadArch {
                        path: path.to_path_buf(),
                        line,
                        source,
                    })?;
                if let Some(&first_line) = arch_lines.get(&arch) {
                    return Err(BenchmarkError::DuplicateArch {
                        path: path.to_path_buf(),
                        arch: arch.to_string(),
                        first_line,
                        line,
                    });
                }
                arch_lines.insert(arch, line);
                Some(arch)
            }
        };
        let index = match layout.index {
            None => None,
            Some(i) => {
                let index = field(i)
                    .parse::<u64>()
                    .map_err(|_| BenchmarkError::BadIndex {
                        path: path.to_path_buf(),
                        line,
                        value: field(i).to_string(),
                    })?;
                if let Some(&first_line) = index_lines.get(&index) {
                    return Err(BenchmarkError::DuplicateIndex {
                        path: path.to_path_buf(),
                        index,
                        first_line,
                        line,
                    });
                }
                index_lines.insert(index, line);
                Some(index)
            }
        };
        for (&i, column) in layout.accuracy.iter().zip(&parsed.columns) {
            let value = field(i)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| BenchmarkError::BadNumber {
                    path: path.to_path_buf(),
                    line,
                    column: column.clone(),
                    value: field(i).to_string(),
                })?;
            if !(0.0..=100.0).contains(&value) {
                return Err(BenchmarkError::AccuracyRange {
                    path: path.to_path_buf(),
                    line,
                    column: column.clone(),
                    value,
                });
            }
            parsed.values.push(value);
        }
        parsed.archs.push(arch);
        parsed.indices.push(index);
        parsed.lines.push(line);
    }
    if parsed.lines.is_empty() {
        return Err(BenchmarkError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(parsed)
}

fn layout(
    path: &Path,
    header: &csv::StringRecord,
    wanted: &[String],
    need_arch: bool,
) -> Result<Layout, BenchmarkError> {
    let mut seen = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if seen.insert(name, i).is_some() {
            return Err(BenchmarkError::DuplicateColumn {
                path: path.to_path_buf(),
                column: name.to_string(),
            });
        }
    }
    let (arch, index) = (seen.get("arch").copied(), seen.get("index").copied());
    if arch.is_none() && (need_arch || index.is_none()) {
        return Err(BenchmarkError::MissingArch {
            path: path.to_path_buf(),
            or_index: !need_arch,
        });
    }
    let accuracy: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|&(_, name)| {
            name != "arch"
                && name != "index"
                && (ACCURACY_COLUMNS.contains(&name) || wanted.iter().any(|w| w == name))
        })
        .map(|(i, _)| i)
        .collect();
    if accuracy.is_empty() {
        return Err(BenchmarkError::NoAccuracyColumn {
            path: path.to_path_buf(),
        });
    }
    Ok(Layout {
        arch,
        index,
        accuracy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    const B: &str = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
    const C: &str = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|";
    const D: &str = "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|";

    /// Writes `text` to a per-test temp file.
    fn csv_file(tag: &str, text: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("freedarts-bench-{}-{tag}.csv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load(tag: &str, text: &str) -> Result<Nb201Benchmark, BenchmarkError> {
        let path = csv_file(tag, text);
        let result = Nb201Benchmark::load(&path);
        std::fs::remove_file(path).unwrap();
        result
    }

    fn arch(s: &str) -> Nb201Arch {
        s.parse().unwrap()
    }

    #[test]
    fn ranks_share_ties_and_count_strictly_better() {
        let text = format!(
            "index,arch,extra,cifar10_test,cifar100_test\n0,{A},x,90.5,70\n1,{B},y,10,1\n2,{C},z,90.5,71\n3,{D},w,95,1\n"
        );
        let bench = load("ties", &text).unwrap();
        assert_eq!(bench.len(), 4);
        assert_eq!(bench.columns(), ["cifar10_test", "cifar100_test"]);
        let a = bench.lookup(&arch(A)).unwrap();
        assert_eq!(a.index, Some(0));
        assert_eq!(
            (a.values[0].rank, a.values[0].of, a.values[0].best),
            (2, 4, 95.0)
        );
        assert_eq!(a.values[1].rank, 2);
        let c = bench.lookup(&arch(C)).unwrap();
        assert_eq!((c.values[0].rank, c.values[1].rank), (2, 1));
        let b = bench.lookup(&arch(B)).unwrap();
        assert_eq!((b.values[0].rank, b.values[1].rank), (4, 3));
        assert_eq!(bench.lookup(&arch(D)).unwrap().values[1].rank, 3);
        let other = arch("|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|");
        assert!(bench.lookup(&other).is_none());
        let rows: Vec<_> = bench.iter().map(|(a, v)| (*a, v.to_vec())).collect();
        assert_eq!(rows[3], (arch(D), vec![95.0, 1.0]));
    }

    #[test]
    fn index_column_is_optional() {
        let bench = load("noindex", &format!("arch,imagenet16_valid\n{B},3.5\n")).unwrap();
        let entry = bench.lookup(&arch(B)).unwrap();
        assert_eq!(entry.index, None);
        assert_eq!(entry.values[0].column, "imagenet16_valid");
        assert_eq!(entry.values[0].rank, 1);
    }

    #[test]
    fn missing_arch_column() {
        let err = load("noarch", "index,cifar10_test\n0,90\n").unwrap_err();
        assert!(matches!(err, BenchmarkError::MissingArch { .. }));
        assert!(err.to_string().contains("line 1") && err.to_string().contains("`arch`"));
    }

    #[test]
    fn no_accuracy_column_lists_accepted_names() {
        let err = load("noacc", &format!("arch,cifar10\n{A},90\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cifar10_valid") && err.contains("imagenet16_test"),
            "{err}"
        );
    }

    #[test]
    fn bad_number_names_line_and_column() {
        let text = format!("arch,cifar10_valid,cifar10_test\n{A},1,2\n{B},3,inf\n");
        let err = load("badnum", &text).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("line 3") && msg.contains("`cifar10_test`") && msg.contains("`inf`"),
            "{msg}"
        );
        let err = load("emptynum", &format!("arch,cifar10_test\n{A},\n")).unwrap_err();
        assert!(matches!(err, BenchmarkError::BadNumber { line: 2, .. }));
        let err = load("badindex", &format!("index,arch,cifar10_test\n-1,{A},3\n")).unwrap_err();
        assert!(matches!(err, BenchmarkError::BadIndex { line: 2, .. }));
    }

    #[test]
    fn bad_arch_includes_parse_error() {
        let text = format!(
            "arch,cifar10_test\n{A},1\n|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|,2\n"
        );
        let msg = load("badarch", &text).unwrap_err().to_string();
        assert!(
            msg.contains("line 3") && msg.contains("unknown op `conv`"),
            "{msg}"
        );
    }

    #[test]
    fn duplicate_arch_names_both_lines() {
        let text = format!("arch,cifar10_test\n{A},1\n{B},2\n {A} ,3\n");
        let err = load("dup", &text).unwrap_err();
        assert!(matches!(
            err,
            BenchmarkError::DuplicateArch {
                first_line: 2,
                line: 4,
                ..
            }
        ));
        assert!(err.to_string().contains(A));
    }

    #[test]
    fn empty_files_and_ragged_rows() {
        assert!(matches!(
            load("empty", "").unwrap_err(),
            BenchmarkError::Empty { .. }
        ));
        let header_only = load("header", "arch,cifar10_test\n").unwrap_err();
        assert!(matches!(header_only, BenchmarkError::Empty { .. }));
        let ragged = load("ragged", &format!("arch,cifar10_test\n{A},1,2\n")).unwrap_err();
        assert!(matches!(ragged, BenchmarkError::Csv { .. }));
        let missing = Nb201Benchmark::load(Path::new("/nonexistent/bench.csv")).unwrap_err();
        assert!(missing.to_string().contains("/nonexistent/bench.csv"));
    }

    /// Loads `first` with `joined` joined to it, `wanted` read by name.
    fn joined(
        tag: &str,
        first: &str,
        joined: &[&str],
        wanted: &[&str],
    ) -> Result<Nb201Benchmark, BenchmarkError> {
        let first = csv_file(&format!("{tag}-0"), first);
        let paths: Vec<PathBuf> = joined
            .iter()
            .enumerate()
            .map(|(k, text)| csv_file(&format!("{tag}-{}", k + 1), text))
            .collect();
        let wanted: Vec<String> = wanted.iter().map(|w| w.to_string()).collect();
        let result = Nb201Benchmark::load_joined(&first, &paths, &wanted);
        for p in paths.iter().chain([&first]) {
            std::fs::remove_file(p).unwrap();
        }
        result
    }

    #[test]
    fn joined_files_add_columns_row_by_row() {
        let first = format!("index,arch,cifar10_test,own\n7,{A},90,1\n3,{B},10,2\n5,{C},50,3\n");
        // By index, in another order; by arch, in yet another; `own` is read only by name.
        let by_index = "index,train,ignored\n5,55,x\n7,77,y\n3,33,z\n";
        let by_arch = format!("arch,late\n{B},2\n{C},3\n{A},1\n");
        let bench = joined(
            "join",
            &first,
            &[by_index, &by_arch],
            &["train", "late", "own"],
        )
        .unwrap();
        assert_eq!(bench.columns(), ["cifar10_test", "own", "train", "late"]);
        assert_eq!(bench.joined().len(), 2);
        assert_eq!(bench.accuracies(&arch(A)).unwrap(), [90.0, 1.0, 77.0, 1.0]);
        assert_eq!(bench.accuracies(&arch(B)).unwrap(), [10.0, 2.0, 33.0, 2.0]);
        assert_eq!(bench.accuracies(&arch(C)).unwrap(), [50.0, 3.0, 55.0, 3.0]);
        // Ranks see the joined columns too.
        let c = bench.lookup(&arch(C)).unwrap();
        assert_eq!((c.values[2].rank, c.values[2].best), (2, 77.0));
        // Without being named, a column outside the standard six is not read.
        let plain = joined("plain", &first, &[], &[]).unwrap();
        assert_eq!(plain.columns(), ["cifar10_test"]);
    }

    #[test]
    fn joins_refuse_what_does_not_match() {
        let first = format!("index,arch,cifar10_test\n7,{A},90\n3,{B},10\n");
        let err = |joined_text: &str| {
            joined("bad", &first, &[joined_text], &["train"])
                .unwrap_err()
                .to_string()
        };
        let msg = err("index,train\n7,1\n3,2\n9,3\n");
        assert!(msg.contains("line 4: index 9 is not in"), "{msg}");
        let msg = err("index,train\n7,1\n");
        assert!(
            msg.contains("has no row for index 3") && msg.contains("line 3"),
            "{msg}"
        );
        let msg = err(&format!("arch,train\n{A},1\n{C},2\n"));
        assert!(
            msg.contains(&format!("architecture {C} is not in")),
            "{msg}"
        );
        let msg = err("index,train\n7,1\n7,2\n");
        assert!(msg.contains("7 already appears on line 2"), "{msg}");
        let msg = err("index,cifar10_test\n7,1\n3,2\n");
        assert!(msg.contains("`cifar10_test` is already read from"), "{msg}");
        let msg = err("index,other\n7,1\n3,2\n");
        assert!(msg.contains("no accuracy column"), "{msg}");
        let msg = err("train\n1\n2\n");
        assert!(msg.contains("no `index` column to join by"), "{msg}");
        let no_index = format!("arch,cifar10_test\n{A},90\n");
        let msg = joined("noidx", &no_index, &["index,train\n7,1\n"], &["train"])
            .unwrap_err()
            .to_string();
        assert!(msg.contains("has no `index` column to join it by"), "{msg}");
    }

    #[test]
    fn duplicate_column_is_rejected() {
        let err = load(
            "dupcol",
            &format!("arch,cifar10_test,cifar10_test\n{A},1,2\n"),
        )
        .unwrap_err();
        assert!(matches!(err, BenchmarkError::DuplicateColumn { .. }));
    }
}
