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
    /// The header lacks the `arch` column.
    #[error("`{}` line 1: the header has no `arch` column", path.display())]
    MissingArch {
        /// The file.
        path: PathBuf,
    },
    /// The header has none of the accuracy columns.
    #[error(
        "`{}` line 1: the header has no accuracy column (accepted: {})",
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
    columns: Vec<String>,
    archs: Vec<Nb201Arch>,
    indices: Vec<Option<u64>>,
    /// Row-major, `columns.len()` values per architecture.
    values: Vec<f64>,
    /// Each column's values sorted ascending, for O(log n) ranks.
    sorted: Vec<Vec<f64>>,
    rows: HashMap<Nb201Arch, usize>,
}

/// Where each needed column sits in a row.
struct Layout {
    arch: usize,
    index: Option<usize>,
    accuracy: Vec<usize>,
}

impl Nb201Benchmark {
    /// Loads a CSV with a required `arch` column, an optional `index` column
    /// and at least one of [`ACCURACY_COLUMNS`]; other columns are ignored.
    ///
    /// # Errors
    /// A [`BenchmarkError`] naming the file and, for content problems, the
    /// line and column: see its variants.
    pub fn load(path: &Path) -> Result<Self, BenchmarkError> {
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
        let layout = Self::layout(path, &header)?;
        let columns: Vec<String> = layout
            .accuracy
            .iter()
            .map(|&i| header[i].to_string())
            .collect();

        let mut bench = Nb201Benchmark {
            path: path.to_path_buf(),
            columns,
            archs: Vec::new(),
            indices: Vec::new(),
            values: Vec::new(),
            sorted: Vec::new(),
            rows: HashMap::new(),
        };
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(csv_err)?;
            let line = record.position().map_or(0, csv::Position::line);
            bench.push_row(&layout, &record, line, &lines)?;
            lines.push(line);
        }
        if bench.archs.is_empty() {
            return Err(BenchmarkError::Empty {
                path: path.to_path_buf(),
            });
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

    fn layout(path: &Path, header: &csv::StringRecord) -> Result<Layout, BenchmarkError> {
        let mut seen = HashMap::new();
        for (i, name) in header.iter().enumerate() {
            if seen.insert(name, i).is_some() {
                return Err(BenchmarkError::DuplicateColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                });
            }
        }
        let arch = *seen
            .get("arch")
            .ok_or_else(|| BenchmarkError::MissingArch {
                path: path.to_path_buf(),
            })?;
        let accuracy: Vec<usize> = header
            .iter()
            .enumerate()
            .filter(|(_, name)| ACCURACY_COLUMNS.contains(name))
            .map(|(i, _)| i)
            .collect();
        if accuracy.is_empty() {
            return Err(BenchmarkError::NoAccuracyColumn {
                path: path.to_path_buf(),
            });
        }
        Ok(Layout {
            arch,
            index: seen.get("index").copied(),
            accuracy,
        })
    }

    /// Parses one data row; `lines[r]` is the line of already-loaded row `r`.
    fn push_row(
        &mut self,
        layout: &Layout,
        record: &csv::StringRecord,
        line: u64,
        lines: &[u64],
    ) -> Result<(), BenchmarkError> {
        let field = |i: usize| record.get(i).unwrap_or("");
        let arch =
            Nb201Arch::parse(field(layout.arch)).map_err(|source| BenchmarkError::BadArch {
                path: self.path.clone(),
                line,
                source,
            })?;
        if let Some(&row) = self.rows.get(&arch) {
            return Err(BenchmarkError::DuplicateArch {
                path: self.path.clone(),
                arch: arch.to_string(),
                first_line: lines.get(row).copied().unwrap_or(0),
                line,
            });
        }
        let index = match layout.index {
            None => None,
            Some(i) => Some(
                field(i)
                    .parse::<u64>()
                    .map_err(|_| BenchmarkError::BadIndex {
                        path: self.path.clone(),
                        line,
                        value: field(i).to_string(),
                    })?,
            ),
        };
        for (&i, column) in layout.accuracy.iter().zip(&self.columns) {
            let value = field(i)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| BenchmarkError::BadNumber {
                    path: self.path.clone(),
                    line,
                    column: column.clone(),
                    value: field(i).to_string(),
                })?;
            if !(0.0..=100.0).contains(&value) {
                return Err(BenchmarkError::AccuracyRange {
                    path: self.path.clone(),
                    line,
                    column: column.clone(),
                    value,
                });
            }
            self.values.push(value);
        }
        self.rows.insert(arch, self.archs.len());
        self.archs.push(arch);
        self.indices.push(index);
        Ok(())
    }

    /// The file this table was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
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
