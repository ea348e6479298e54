//! Search strategies: how the supernet's alpha saliencies become the matrix a derivation
//! reads.
//!
//! - `oneshot`: FreeDARTS as published (arXiv 2106.11542 v1): the whole supernet is scored
//!   once and the derivation reads those scores.
//! - `iterative`: prune and rescore, in the spirit of the paper's later version (v4), which
//!   moves to iterative, operation-level sensitivity. Every round scores the reduced supernet
//!   and removes, on every edge that still has a choice, its weakest remaining op; in the DARTS
//!   space, once every edge is down to one op, every node with more than two in-edges loses
//!   its weakest edge (the score of the edge's remaining op) per round. Removing an op sets its
//!   alpha to zero, which drops its term from the mixed op exactly (the supernets use alpha
//!   without softmax). One removal per edge (node) per round, so NB201 takes 4 rounds and the
//!   DARTS space 9.
//!
//! Every strategy hands the derivation a matrix of per-op importances, larger is better:
//! for `iterative` an op removed in round r scores `r + 0.5 + 0.5 s`, where s is its score in
//! that round divided by the largest |score| of its alpha group then, and the ops that are
//! never removed score as if removed in round R + 1 (R rounds in all), so the derivation
//! keeps exactly the survivors. Ops a derivation never keeps (DARTS' `none`) score 0.

use serde::{Deserialize, Serialize};

use crate::nn::ctx::to_host;
use crate::nn::store::DeviceTensor;
use crate::saliency::alpha::{GroupScores, ProxyOutput, score_alpha};
use crate::saliency::{Measure, SaliencyError, Scoring, Target};
use crate::spaces::Choices;

/// How the supernet is searched.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Score once, derive (FreeDARTS).
    #[default]
    Oneshot,
    /// Prune the weakest op of every edge (then the weakest edge of every node), rescore,
    /// repeat.
    Iterative,
    /// Remove each op of an edge in turn, score the supernet with a network-level proxy, keep
    /// the op whose removal hurts most (Zero-Cost-PT); see [`super::perturb`].
    Perturb,
}

impl Strategy {
    pub fn is_oneshot(&self) -> bool {
        *self == Self::Oneshot
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Oneshot => "oneshot",
            Self::Iterative => "iterative",
            Self::Perturb => "perturb",
        }
    }
}

/// One removal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pruned {
    /// Index of the alpha group (`proxy.groups`).
    pub group: usize,
    pub row: usize,
    /// Column of the removed op; for a removed edge, the column of its remaining op.
    pub col: usize,
    /// The whole edge left its node (DARTS), not one op.
    pub edge: bool,
    /// Its score in this round.
    #[serde(deserialize_with = "crate::util::nan_null::f64")]
    pub score: f64,
}

/// One scoring of the reduced supernet and what it removed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Round {
    #[serde(deserialize_with = "crate::util::nan_null::f64")]
    pub objective: f64,
    pub pruned: Vec<Pruned>,
}

/// What a strategy other than `oneshot` did, round by round.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StrategyTrace {
    pub strategy: Strategy,
    pub rounds: Vec<Round>,
}

/// Pruning state of one alpha group.
struct GroupState {
    slot: AlphaSlot,
    /// Round an entry left (1-based) and its group-normalised score then (or in the last
    /// round, for survivors).
    removed_in: Vec<Option<usize>>,
    last: Vec<f64>,
}

impl GroupState {
    /// Whether an edge still in its node has two ops left.
    fn ops_left(&self, choices: &Choices) -> bool {
        (0..self.slot.rows)
            .any(|r| self.slot.edge_alive[r] && self.slot.alive_ops(r, choices).len() > 1)
    }

    /// Whether a node still has more in-edges than it keeps.
    fn edges_left(&self, choices: &Choices) -> bool {
        choices
            .nodes
            .iter()
            .any(|(rows, keep)| rows.clone().filter(|&r| self.slot.edge_alive[r]).count() > *keep)
    }

    /// Marks entry (`row`, `col`) removed in `round` (with its whole edge for `edge`).
    fn remove(
        &mut self,
        group: usize,
        row: usize,
        col: usize,
        edge: bool,
        round: usize,
        score: f64,
    ) -> Pruned {
        let i = row * self.slot.cols + col;
        if edge {
            self.slot.edge_alive[row] = false;
        } else {
            self.slot.alive[i] = false;
        }
        self.removed_in[i] = Some(round);
        Pruned {
            group,
            row,
            col,
            edge,
            score,
        }
    }

    /// Alpha with every removed op (and every op of a removed edge) at zero.
    fn masked_alpha(&self, choices: &Choices) -> Vec<f64> {
        let mut a = self.slot.original.clone();
        for row in 0..self.slot.rows {
            for &c in &choices.ops {
                let i = row * self.slot.cols + c;
                if !self.slot.alive[i] || !self.slot.edge_alive[row] {
                    a[i] = 0.0;
                }
            }
        }
        a
    }
}

/// Lowest score first; NaN counts as lowest; among equals the later index goes (so the
/// earlier one survives, as the first maximum wins in a derivation).
fn weakest(candidates: &[usize], score: impl Fn(usize) -> f64) -> usize {
    let key = |i: usize| {
        let s = score(i);
        if s.is_nan() { f64::NEG_INFINITY } else { s }
    };
    let mut worst = candidates[0];
    for &c in &candidates[1..] {
        if key(c) <= key(worst) {
            worst = c;
        }
    }
    worst
}

/// Removals of one round, given this round's scores; empty when nothing is left to prune.
fn prune_round(
    states: &mut [GroupState],
    scores: &[&[f64]],
    choices: &Choices,
    round: usize,
) -> Vec<Pruned> {
    let mut pruned = Vec::new();
    let op_phase = states.iter().any(|st| st.ops_left(choices));
    for (g, st) in states.iter_mut().enumerate() {
        let score = scores[g];
        let cols = st.slot.cols;
        if op_phase {
            for row in 0..st.slot.rows {
                let ops = st.slot.alive_ops(row, choices);
                if !st.slot.edge_alive[row] || ops.len() < 2 {
                    continue;
                }
                let col = weakest(&ops, |c| score[row * cols + c]);
                pruned.push(st.remove(g, row, col, false, round, score[row * cols + col]));
            }
        } else {
            for (rows, keep) in &choices.nodes {
                let live: Vec<usize> = rows.clone().filter(|&r| st.slot.edge_alive[r]).collect();
                if live.len() <= *keep {
                    continue;
                }
                let op_of = |r: usize| st.slot.alive_ops(r, choices)[0];
                let row = weakest(&live, |r| score[r * cols + op_of(r)]);
                let col = op_of(row);
                pruned.push(st.remove(g, row, col, true, round, score[row * cols + col]));
            }
        }
    }
    pruned
}

/// Whether any edge still has two ops, or any node more in-edges than it keeps.
fn work_left(states: &[GroupState], choices: &Choices) -> bool {
    states
        .iter()
        .any(|st| st.ops_left(choices) || st.edges_left(choices))
}

/// Where one alpha group lives in the store and what it held: the common state of every
/// strategy that removes ops.
pub(super) struct AlphaSlot {
    pub rows: usize,
    pub cols: usize,
    pub storage: usize,
    pub shape: Vec<usize>,
    /// Alpha as drawn (or loaded), row-major.
    pub original: Vec<f64>,
    /// Still in the supernet (entries of `choices.ops` only; other columns stay as drawn).
    pub alive: Vec<bool>,
    /// The edge is still among its node's in-edges.
    pub edge_alive: Vec<bool>,
}

impl AlphaSlot {
    /// The columns of `choices.ops` still alive on `row`.
    pub fn alive_ops(&self, row: usize, choices: &Choices) -> Vec<usize> {
        choices
            .ops
            .iter()
            .copied()
            .filter(|&c| self.alive[row * self.cols + c])
            .collect()
    }
}

/// The alpha groups of the supernet of `s`.
pub(super) fn alpha_slots(s: &Scoring, choices: &Choices) -> Vec<AlphaSlot> {
    let layout = s.store.layout().clone();
    s.model
        .alpha_groups()
        .iter()
        .map(|g| {
            let storage = layout.slot(g.id).expect("alpha is stored").storage;
            let [rows, cols] = g.shape();
            let mut alive = vec![false; rows * cols];
            for row in 0..rows {
                for &c in &choices.ops {
                    alive[row * cols + c] = true;
                }
            }
            AlphaSlot {
                rows,
                cols,
                storage,
                shape: layout.storages[storage].shape.clone(),
                original: to_host(s.store.get(storage).flatten()),
                alive,
                edge_alive: vec![true; rows],
            }
        })
        .collect()
}

/// Writes `values` as alpha group `storage` (of `shape`) into the store of `s`.
pub(super) fn set_alpha(s: &mut Scoring, storage: usize, shape: &[usize], values: Vec<f64>) {
    let t = DeviceTensor::from_values(values, shape, s.store.dtype(), s.device);
    s.store.set(storage, t);
}

/// Runs `iterative` with `measure` on the supernet of `s`. Returns the output the derivation
/// reads (alpha, gradients and Hessian products of the first round, the full supernet; scores
/// the importances above) and the trace. The store's alpha is restored afterwards.
pub fn iterative(
    measure: &dyn Measure,
    s: &mut Scoring,
    target: Target,
    choices: &Choices,
) -> Result<(ProxyOutput, StrategyTrace), SaliencyError> {
    let mut states: Vec<GroupState> = alpha_slots(s, choices)
        .into_iter()
        .map(|slot| GroupState {
            removed_in: vec![None; slot.rows * slot.cols],
            last: vec![0.0; slot.rows * slot.cols],
            slot,
        })
        .collect();
    let mut first: Option<ProxyOutput> = None;
    let mut rounds = Vec::new();
    let result = loop {
        let round = rounds.len() + 1;
        if round > 1 {
            upload(s, &states, choices, false);
        }
        let out = match score_alpha(measure, s, target) {
            Ok(out) => out,
            Err(e) => break Err(e),
        };
        for (st, g) in states.iter_mut().zip(&out.groups) {
            let scale = g.score.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            for (i, v) in g.score.iter().enumerate() {
                if st.slot.alive[i] && st.removed_in[i].is_none() {
                    st.last[i] = if scale > 0.0 { v / scale } else { 0.0 };
                }
            }
        }
        let scores: Vec<&[f64]> = out.groups.iter().map(|g| g.score.as_slice()).collect();
        let pruned = prune_round(&mut states, &scores, choices, round);
        rounds.push(Round {
            objective: out.objective,
            pruned,
        });
        first.get_or_insert(out);
        if !work_left(&states, choices) {
            break Ok(());
        }
    };
    upload(s, &states, choices, true);
    result?;
    let mut output = first.expect("at least one round ran");
    let total = rounds.len();
    let groups = s.model.alpha_groups();
    output.groups = output
        .groups
        .into_iter()
        .zip(groups)
        .zip(&states)
        .map(|((g, group), st)| {
            let mut importance = vec![0.0; st.slot.rows * st.slot.cols];
            for row in 0..st.slot.rows {
                for &c in &choices.ops {
                    let i = row * st.slot.cols + c;
                    let r = st.removed_in[i].unwrap_or(total + 1);
                    importance[i] = r as f64 + 0.5 + 0.5 * st.last[i];
                }
            }
            GroupScores::new(group, g.alpha, g.grad, g.hessian_grad, importance)
        })
        .collect();
    output.notes.push(format!(
        "iterative search: {total} rounds of pruning and rescoring; scores are importances \
         (round an op was removed + 0.5 + 0.5 x its group-normalised score then; survivors \
         as round {}); alpha and gradients are those of the full supernet",
        total + 1
    ));
    Ok((
        output,
        StrategyTrace {
            strategy: Strategy::Iterative,
            rounds,
        },
    ))
}

/// Writes the pruned alpha (or, with `restore`, the original) into the store.
fn upload(s: &mut Scoring, states: &[GroupState], choices: &Choices, restore: bool) {
    for st in states {
        let values = if restore {
            st.slot.original.clone()
        } else {
            st.masked_alpha(choices)
        };
        set_alpha(s, st.slot.storage, &st.slot.shape, values);
    }
}
