//! From scores to an architecture. NB201 keeps the best op of each edge (`derive_argmax`).

use serde::Serialize;

use crate::space::nb201::{NB201_EDGES, Nb201Arch, Nb201Op};

/// Why one edge got its op.
#[derive(Clone, Debug, Serialize)]
pub struct EdgeDecision {
    /// Row of the score matrix.
    pub row: usize,
    pub winner: usize,
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
