//! `freedarts.correlate` and the architecture helpers: the library reads and prints every
//! architecture, so Python's Genotype and NB201 strings agree with the command line's.

use std::path::PathBuf;

use pyo3::prelude::*;
use serde_json::json;

use freedarts::spaces::darts::{CellGenes, Genotype, by_name};
use freedarts::spaces::nb201::Nb201Arch;

use crate::errors::to_py;

/// Rank correlations of score files with NAS-Bench-201 accuracy CSVs (the first, then those
/// joined to it, as the CLI's repeated `--benchmark`): the report as JSON (the CLI's
/// `--output`), as the table the CLI prints, and as its `--markdown` file.
#[pyfunction]
#[pyo3(signature = (scores, benchmarks, columns=Vec::new()))]
pub fn correlate(
    py: Python<'_>,
    scores: Vec<PathBuf>,
    benchmarks: Vec<PathBuf>,
    columns: Vec<String>,
) -> PyResult<(String, String, String)> {
    crate::run::run(py, None, move |_| {
        let (benchmark, joined) = benchmarks
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("no accuracy file given"))?;
        let report = freedarts::correlate::correlate(&scores, benchmark, joined, &columns, &[])?;
        Ok((
            serde_json::to_string_pretty(&report)? + "\n",
            report.render_text(),
            report.render_markdown(),
        ))
    })
}

fn cell_json(cell: &CellGenes) -> serde_json::Value {
    let genes: Vec<_> = cell
        .genes
        .iter()
        .map(|g| json!([g.op.name(), g.input]))
        .collect();
    json!({"genes": genes, "concat": cell.concat})
}

/// A DARTS genotype from its text (`Genotype(...)`, with lists or `range(2, 6)`) or a known
/// name (`DARTS_V1`, `DARTS_V2`): its canonical text and its cells as JSON.
#[pyfunction]
pub fn parse_genotype(text: &str) -> PyResult<(String, String)> {
    let genotype = match by_name(text.trim()) {
        Some(g) => g,
        None => {
            Genotype::parse(text).map_err(|e| to_py(&anyhow::anyhow!("invalid genotype: {e}")))?
        }
    };
    let cells =
        json!({"normal": cell_json(&genotype.normal), "reduce": cell_json(&genotype.reduce)});
    Ok((genotype.to_string(), cells.to_string()))
}

/// An NB201 cell from its string: the canonical string and the op of each of the 6 edges
/// (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2).
#[pyfunction]
pub fn parse_nb201(text: &str) -> PyResult<(String, Vec<&'static str>)> {
    let arch = Nb201Arch::parse(text)
        .map_err(|e| to_py(&anyhow::anyhow!("invalid NB201 architecture: {e}")))?;
    Ok((
        arch.to_string(),
        arch.ops.iter().map(|op| op.name()).collect(),
    ))
}
