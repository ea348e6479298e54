//! How well a DARTS-space search's per-op importances rank a set of trained genotypes: each
//! genotype scores the sum, over its 16 (edge, op) choices (8 in the normal cell, 8 in the
//! reduction cell), of the importance the search wrote for that op on that edge
//! (`proxy.groups[*].score`, larger is better, every strategy); Spearman of that sum with the
//! genotypes' accuracies. A search that knows which ops matter ranks trained networks well.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::metrics::{kendall_tau_b, pearson, spearman};
use crate::saliency::alpha::GroupScores;
use crate::search::result::SearchResult;
use crate::spaces::darts::{CellGenes, Genotype, node_rows};

/// Why the genotypes could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum SupernetError {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    Row {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: no `{column}` column (columns: {available})")]
    Column {
        path: PathBuf,
        column: String,
        available: String,
    },
    #[error("{path}: no genotypes")]
    Empty { path: PathBuf },
    #[error(
        "{path}: a {space} result; --supernet needs a DARTS-space search with one normal and one reduce alpha (not --alpha-per-cell)"
    )]
    NotDarts { path: PathBuf, space: String },
}

/// The result of `correlate --supernet`.
#[derive(Clone, Debug, Serialize)]
pub struct SupernetCorrelation {
    pub result: PathBuf,
    pub genotypes: PathBuf,
    pub column: String,
    pub n: usize,
    pub spearman: f64,
    pub kendall_tau: f64,
    pub pearson: f64,
    /// Each genotype's summed importance, in file order.
    pub scores: Vec<f64>,
}

/// Reads a CSV with a `genotype` column (DARTS `Genotype(...)` text) and the accuracy column.
pub fn read_genotypes(path: &Path, column: &str) -> Result<Vec<(Genotype, f64)>, SupernetError> {
    let read = |message: String| SupernetError::Read {
        path: path.into(),
        message,
    };
    let text = crate::util::input::read_text(path, crate::util::input::limits::BENCHMARK_CSV)
        .map_err(|e| read(e.to_string()))?;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| read(e.to_string()))?.clone();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| SupernetError::Column {
                path: path.into(),
                column: name.into(),
                available: headers.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let (g, a) = (find("genotype")?, find(column)?);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let row_error = |message: String| SupernetError::Row {
            path: path.into(),
            line,
            message,
        };
        let record = record.map_err(|e| row_error(e.to_string()))?;
        let genotype = Genotype::parse(record.get(g).unwrap_or_default())
            .map_err(|e| row_error(format!("genotype: {e}")))?;
        let text = record.get(a).unwrap_or_default();
        let accuracy: f64 = text
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| row_error(format!("{column} `{text}` is not a number")))?;
        rows.push((genotype, accuracy));
    }
    if rows.is_empty() {
        return Err(SupernetError::Empty { path: path.into() });
    }
    Ok(rows)
}

/// Sum of one cell's importances in `group`.
fn cell_sum(group: &GroupScores, cell: &CellGenes) -> f64 {
    cell.genes
        .iter()
        .enumerate()
        .map(|(k, gene)| {
            let row = node_rows(2 + k / 2).start + gene.input;
            let col = group.cols.iter().position(|c| c == gene.op.name());
            match col {
                Some(col) if row < group.rows.len() => group.score[row * group.n_cols() + col],
                _ => f64::NAN,
            }
        })
        .sum()
}

/// Scores every genotype of `rows` with the importances of `result` and correlates.
pub fn supernet_correlation(
    result: &SearchResult,
    result_path: &Path,
    rows: &[(Genotype, f64)],
    genotypes_path: &Path,
    column: &str,
) -> Result<SupernetCorrelation, SupernetError> {
    let group = |name: &str| result.proxy.groups.iter().find(|g| g.name == name);
    let (Some(normal), Some(reduce)) = (group("normal"), group("reduce")) else {
        return Err(SupernetError::NotDarts {
            path: result_path.into(),
            space: result.space.clone(),
        });
    };
    let scores: Vec<f64> = rows
        .iter()
        .map(|(g, _)| cell_sum(normal, &g.normal) + cell_sum(reduce, &g.reduce))
        .collect();
    let accuracy: Vec<f64> = rows.iter().map(|(_, a)| *a).collect();
    Ok(SupernetCorrelation {
        result: result_path.into(),
        genotypes: genotypes_path.into(),
        column: column.into(),
        n: rows.len(),
        spearman: spearman(&scores, &accuracy),
        kendall_tau: kendall_tau_b(&scores, &accuracy),
        pearson: pearson(&scores, &accuracy),
        scores,
    })
}
