//! From scores to an architecture. NB201 keeps the best op of each edge (`derive_argmax`);
//! the DARTS space keeps the two strongest in-edges of every node (`derive_top2`).

use serde::{Deserialize, Serialize};

use crate::spaces::nb201::{NB201_EDGES, Nb201Arch, Nb201Op};

/// Why one edge got its op.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EdgeDecision {
    /// Row of the score matrix.
    pub row: usize,
    pub winner: usize,
    #[serde(deserialize_with = "crate::util::nan_null::f64")]
    pub winner_score: f64,
    /// Best other op and its score (`None` for a single-column row).
    pub runner_up: Option<usize>,
    pub runner_up_score: Option<f64>,
    /// winner_score - runner_up_score.
    pub margin: Option<f64>,
    /// The winner was picked by the tie rule (equal top scores).
    pub tie: bool,
}

/// Index of the largest entry; the first one wins ties (and NaN never wins).
pub fn argmax_first(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate().skip(1) {
        if v > row[best] || (row[best].is_nan() && !v.is_nan()) {
            best = i;
        }
    }
    best
}

/// Decision of one row under first-maximum argmax.
pub fn decide_row(row_index: usize, row: &[f64]) -> EdgeDecision {
    let winner = argmax_first(row);
    let runner_up = (0..row.len())
        .filter(|&i| i != winner)
        .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)));
    let runner_up_score = runner_up.map(|i| row[i]);
    EdgeDecision {
        row: row_index,
        winner,
        winner_score: row[winner],
        runner_up,
        runner_up_score,
        margin: runner_up_score.map(|s| row[winner] - s),
        tie: runner_up_score == Some(row[winner]),
    }
}

/// Decision of one row among its non-`none` columns (column 0 is `none`), reported in
/// full-row column numbering.
pub fn decide_row_without_none(row_index: usize, row: &[f64]) -> EdgeDecision {
    let mut d = decide_row(row_index, &row[1..]);
    d.winner += 1;
    d.runner_up = d.runner_up.map(|r| r + 1);
    d
}

/// NB201: per edge the op with the largest score, ties to the lowest op index (`none` first),
/// as the official `genotype_prune` does. `scores` is the row-major 6x5 matrix.
pub fn derive_argmax(scores: &[f64]) -> (Nb201Arch, Vec<EdgeDecision>) {
    let cols = Nb201Op::ALL.len();
    assert_eq!(
        scores.len(),
        NB201_EDGES.len() * cols,
        "NB201 score matrix is 6x5"
    );
    let decisions: Vec<EdgeDecision> = (0..NB201_EDGES.len())
        .map(|e| decide_row(e, &scores[e * cols..(e + 1) * cols]))
        .collect();
    let mut ops = [Nb201Op::None; 6];
    for (op, d) in ops.iter_mut().zip(&decisions) {
        *op = Nb201Op::ALL[d.winner];
    }
    (Nb201Arch { ops }, decisions)
}

/// Why one DARTS node got its two inputs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeDecision {
    /// Node index (2..=5).
    pub node: usize,
    /// Strength of every in-edge (best non-`none` score), by input index.
    #[serde(deserialize_with = "crate::util::nan_null::vec")]
    pub strengths: Vec<f64>,
    /// The two kept inputs, strongest first.
    pub kept: Vec<usize>,
    /// Per kept input: the chosen op column and how it beat the other non-`none` ops.
    pub ops: Vec<EdgeDecision>,
    /// Strength of the weaker kept edge minus the best dropped edge.
    pub edge_margin: Option<f64>,
    /// An edge was kept by the tie rule.
    pub edge_tie: bool,
}

/// The standard DARTS parse applied to a 14x8 score matrix (rows in DARTS edge order, columns
/// in PRIMITIVES order, column 0 = `none`): per node the two in-edges with the largest
/// non-`none` score, ties to the lower input index (a stable sort), and on each kept edge its
/// best non-`none` op, ties to the lower op index. Returns (op column, input) pairs, two per
/// node in the order kept, and the trace.
pub fn derive_top2(
    scores: &[f64],
    cols: usize,
    steps: usize,
) -> (Vec<(usize, usize)>, Vec<NodeDecision>) {
    let mut genes = Vec::with_capacity(2 * steps);
    let mut trace = Vec::with_capacity(steps);
    let mut start = 0;
    for i in 0..steps {
        let n_in = 2 + i;
        let rows: Vec<&[f64]> = (0..n_in)
            .map(|j| &scores[(start + j) * cols..(start + j + 1) * cols])
            .collect();
        // Decide among the non-`none` columns only; report columns in full-row numbering.
        let ops: Vec<EdgeDecision> = rows
            .iter()
            .enumerate()
            .map(|(j, row)| decide_row_without_none(start + j, row))
            .collect();
        let strengths: Vec<f64> = ops.iter().map(|d| d.winner_score).collect();
        let mut order: Vec<usize> = (0..n_in).collect();
        // Stable: equal strengths keep the lower input first, like Python's sorted().
        order.sort_by(|&a, &b| strengths[b].total_cmp(&strengths[a]));
        let kept: Vec<usize> = order[..2].to_vec();
        let dropped_best = order.get(2).map(|&j| strengths[j]);
        for &j in &kept {
            genes.push((ops[j].winner, j));
        }
        trace.push(NodeDecision {
            node: 2 + i,
            edge_margin: dropped_best.map(|d| strengths[kept[1]] - d),
            edge_tie: dropped_best == Some(strengths[kept[1]])
                || strengths[kept[0]] == strengths[kept[1]],
            ops: kept.iter().map(|&j| ops[j].clone()).collect(),
            strengths,
            kept,
        });
        start += n_in;
    }
    (genes, trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_the_lowest_index() {
        assert_eq!(argmax_first(&[0.0, 0.0, 0.0]), 0);
        assert_eq!(argmax_first(&[0.0, 2.0, 2.0]), 1);
        assert_eq!(argmax_first(&[f64::NAN, 1.0]), 1);
        let d = decide_row(0, &[0.0, 3.0, 3.0, 1.0]);
        assert!(d.tie);
        assert_eq!(d.winner, 1);
        assert_eq!(d.runner_up, Some(2));
    }

    #[test]
    fn all_zero_rows_derive_none() {
        let (arch, decisions) = derive_argmax(&[0.0; 30]);
        assert!(arch.ops.iter().all(|&op| op == Nb201Op::None));
        assert!(decisions.iter().all(|d| d.tie));
    }

    #[test]
    fn top2_keeps_two_distinct_earlier_inputs_and_never_none() {
        let mut scores = vec![0.0; 14 * 8];
        for (i, v) in scores.iter_mut().enumerate() {
            *v = ((i * 37) % 11) as f64;
        }
        for e in 0..14 {
            scores[e * 8] = 100.0; // a huge `none` score must not matter
        }
        let (genes, trace) = derive_top2(&scores, 8, 4);
        assert_eq!(genes.len(), 8);
        for (i, pair) in genes.chunks(2).enumerate() {
            assert_ne!(pair[0].1, pair[1].1);
            assert!(pair.iter().all(|&(op, input)| op != 0 && input < 2 + i));
        }
        assert_eq!(trace.len(), 4);
    }

    #[test]
    fn top2_ties_keep_lower_inputs_and_first_op() {
        let (genes, trace) = derive_top2(&[0.0; 14 * 8], 8, 4);
        for pair in genes.chunks(2) {
            assert_eq!(pair, [(1, 0), (1, 1)]);
        }
        assert!(trace.iter().all(|t| t.edge_tie));
    }

    #[test]
    fn picks_the_maximum_per_edge() {
        let mut scores = [0.0; 30];
        for e in 0..6 {
            scores[e * 5 + 1 + e % 4] = 1.0 + e as f64;
        }
        let (arch, _) = derive_argmax(&scores);
        for e in 0..6 {
            assert_eq!(arch.ops[e].index(), 1 + e % 4);
        }
    }
}

/// The derived cell of one alpha group in the DARTS space.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DerivedCell {
    /// Alpha group (`normal`, `reduce`, or `cell{i}`).
    pub group: String,
    pub genes: crate::spaces::darts::CellGenes,
    pub nodes: Vec<NodeDecision>,
}

/// An architecture with the trace of how it was derived.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Derivation {
    /// NAS-Bench-201: the best op per edge.
    Nb201 {
        arch: crate::spaces::nb201::Nb201Arch,
        edges: Vec<EdgeDecision>,
    },
    /// DARTS space: two inputs per node, per alpha group.
    Darts {
        cells: Vec<DerivedCell>,
        /// The Genotype text, when the alphas are the shared normal/reduce pair.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        genotype: Option<crate::spaces::darts::Genotype>,
    },
}

impl Derivation {
    /// NB201: argmax of the single score matrix.
    pub fn nb201(scores: &[f64]) -> Self {
        let (arch, edges) = derive_argmax(scores);
        Self::Nb201 { arch, edges }
    }

    /// DARTS: top-2 parse of each group; `shared` when the groups are (normal, reduce).
    pub fn darts(groups: &[(String, &[f64])], shared: bool) -> Self {
        use crate::spaces::darts::{CellGenes, DARTS_STEPS, DartsOp, Gene, Genotype};
        let cells: Vec<DerivedCell> = groups
            .iter()
            .map(|(name, scores)| {
                let (pairs, nodes) = derive_top2(scores, DartsOp::ALL.len(), DARTS_STEPS);
                let genes = pairs
                    .into_iter()
                    .map(|(op, input)| Gene {
                        op: DartsOp::ALL[op],
                        input,
                    })
                    .collect();
                DerivedCell {
                    group: name.clone(),
                    genes: CellGenes {
                        genes,
                        concat: (2..2 + DARTS_STEPS).collect(),
                    },
                    nodes,
                }
            })
            .collect();
        let genotype = (shared && cells.len() == 2).then(|| Genotype {
            normal: cells[0].genes.clone(),
            reduce: cells[1].genes.clone(),
        });
        Self::Darts { cells, genotype }
    }

    /// The derived cell(s) as graphs, for drawing.
    pub fn cell_graphs(&self) -> Vec<crate::spaces::graph::CellGraph> {
        match self {
            Self::Nb201 { arch, .. } => vec![arch.cell_graph()],
            Self::Darts { cells, .. } => cells
                .iter()
                .map(|cell| cell.genes.cell_graph(format!("{} cell", cell.group)))
                .collect(),
        }
    }

    /// The architecture as Python source that the space's own code base imports: `ARCH` (the
    /// NB201 string for NAS-Bench-201's API), `FREEDARTS` (a `Genotype` namedtuple as DARTS'
    /// `genotypes.py` declares it), or `CELLS` for per-cell alphas (cells `reductions`
    /// reduce). Group names become comments with control characters blanked.
    pub fn python_binding(&self, reductions: &[usize]) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        match self {
            Self::Nb201 { arch, .. } => {
                s.push_str(
                    "# Pass ARCH to api.query_index_by_arch() of NAS-Bench-201 or NATS-Bench.\n",
                );
                let _ = writeln!(s, "\nARCH = \"{arch}\"");
            }
            Self::Darts {
                genotype: Some(g), ..
            } => {
                s.push_str("\nfrom collections import namedtuple\n\n");
                s.push_str(
                    "Genotype = namedtuple(\"Genotype\", \"normal normal_concat reduce reduce_concat\")\n",
                );
                let _ = writeln!(s, "\nFREEDARTS = {g}");
            }
            Self::Darts { cells, .. } => {
                let _ = writeln!(
                    s,
                    "# One alpha per cell: CELLS[i] = (gene list, concat) of cell i; cells {reductions:?} reduce."
                );
                let _ = writeln!(s, "\nREDUCTION_CELLS = {reductions:?}\n\nCELLS = [");
                for c in cells {
                    let _ = writeln!(
                        s,
                        "    ({}, {:?}),  # {group}",
                        c.genes.to_list_string(),
                        c.genes.concat,
                        group = crate::util::one_line(&c.group),
                    );
                }
                s.push_str("]\n");
            }
        }
        s
    }

    /// The architecture in the space's text encoding (one line per cell for per-cell alphas).
    pub fn architecture_text(&self) -> String {
        match self {
            Self::Nb201 { arch, .. } => arch.to_string(),
            Self::Darts {
                genotype: Some(g), ..
            } => g.to_string(),
            Self::Darts { cells, .. } => cells
                .iter()
                .map(|c| format!("{}: {}", c.group, c.genes.to_list_string()))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// Per group, the row decisions the architecture depends on: every edge in NB201, the
    /// op choice on each kept edge in DARTS.
    pub fn decisive_rows(&self) -> Vec<Vec<EdgeDecision>> {
        match self {
            Self::Nb201 { edges, .. } => vec![edges.clone()],
            Self::Darts { cells, .. } => cells
                .iter()
                .map(|c| c.nodes.iter().flat_map(|n| n.ops.iter().cloned()).collect())
                .collect(),
        }
    }
}
