//! `perturb`: perturbation-based op scoring on the supernet, after Zero-Cost-PT (Xiang et al.,
//! arXiv 2106.06799, AAAI 2023). Every op of an undecided edge weighs 1 / K (K columns: the
//! softmax of equal alpha, the DARTS supernet Zero-Cost-PT perturbs), the op a decided edge
//! kept weighs 1 and a removed op 0; a network-level proxy (or a rank aggregate of several)
//! scores the whole supernet. Progressively, edge by edge, each remaining op of the edge is
//! removed in turn (its alpha set to 0) and the supernet rescored; the op whose removal
//! lowers the score most is the one the supernet needs, and the edge keeps it alone before the
//! next edge is visited. In the DARTS space a second phase then visits every node: each of
//! its in-edges is removed in turn and the node keeps the two whose removal hurts most, as
//! Zero-Cost-PT selects the topology.
//!
//! Edge order: a random permutation drawn from the search seed (Zero-Cost-PT visits edges in
//! random order), or the edges' own order with `fixed`. Nodes are visited in order.
//!
//! The matrix the derivation reads holds importances, larger is better: on every edge, the
//! scores of its ops' removals mapped to [0, 1] (1 for the removal that hurt most); the op the
//! edge kept gets 1 more; in the DARTS space the kept op of an edge its node keeps gets 2 more
//! again, plus its edge's removal score mapped to [0, 1] within the node (the kept op of a
//! dropped edge gets that in place of the 2). Columns a derivation never keeps stay 0.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::nn::ctx::Precision;
use crate::saliency::alpha::{GroupScores, ProxyOutput};
use crate::saliency::ensemble::ProxySet;
use crate::saliency::network::score_network;
use crate::saliency::{SaliencyError, Scoring};
use crate::spaces::Choices;

use super::strategy::{AlphaSlot, Pruned, Round, Strategy, StrategyTrace, alpha_slots, set_alpha};

/// In which order `perturb` visits the edges.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeOrder {
    /// A permutation drawn from the search seed (Zero-Cost-PT).
    #[default]
    Random,
    /// Group by group, edge by edge.
    Fixed,
}

/// Removal state of one alpha group.
struct Group {
    slot: AlphaSlot,
    /// The edge has kept its op.
    decided: Vec<bool>,
    importance: Vec<f64>,
}

impl Group {
    /// The mixing weights: 1 / (columns) for every op still in the supernet on an undecided
    /// edge (the softmax of equal alpha), 1 for the op a decided edge kept, 0 elsewhere.
    fn alpha(&self, choices: &Choices) -> Vec<f64> {
        let mut a = vec![0.0; self.slot.rows * self.slot.cols];
        let share = 1.0 / self.slot.cols as f64;
        for row in 0..self.slot.rows {
            for &c in &choices.ops {
                let i = row * self.slot.cols + c;
                if self.slot.alive[i] && self.slot.edge_alive[row] {
                    a[i] = if self.decided[row] { 1.0 } else { share };
                }
            }
        }
        a
    }
}

/// Values of `combined` mapped to [0, 1], 1 for the smallest (the removal that hurt most)
/// and 0 for the largest, over the finite values; all 1 when they are equal. NaN and +inf map
/// to 0, -inf to 1.
fn hurt(combined: &[f64]) -> Vec<f64> {
    let finite = || combined.iter().copied().filter(|v| v.is_finite());
    let lo = finite().fold(f64::INFINITY, f64::min);
    let hi = finite().fold(f64::NEG_INFINITY, f64::max);
    combined
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                // NaN or +inf: nothing in the op's favour; -inf: its removal broke the network.
                if v == f64::NEG_INFINITY { 1.0 } else { 0.0 }
            } else if hi == lo {
                1.0
            } else {
                (hi - v) / (hi - lo)
            }
        })
        .collect()
}

/// The `keep` candidates whose removal hurt most (smallest combined score; the earlier on
/// ties, as a derivation's first maximum).
fn most_hurt(combined: &[f64], keep: usize) -> Vec<usize> {
    let key = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
    let mut order: Vec<usize> = (0..combined.len()).collect();
    order.sort_by(|&a, &b| {
        key(combined[a])
            .total_cmp(&key(combined[b]))
            .then(a.cmp(&b))
    });
    order.truncate(keep);
    order
}

struct Perturb<'s, 'a> {
    s: &'s mut Scoring<'a>,
    proxy: &'s ProxySet,
    choices: &'s Choices,
    groups: Vec<Group>,
    evaluations: usize,
}

impl Perturb<'_, '_> {
    /// Uploads the current alpha masks and scores the supernet with every measure.
    fn evaluate(&mut self) -> Result<Vec<f64>, SaliencyError> {
        for g in &self.groups {
            set_alpha(self.s, g.slot.storage, &g.slot.shape, g.alpha(self.choices));
        }
        self.s.reset_passes();
        self.evaluations += 1;
        self.proxy
            .measures
            .iter()
            .map(|m| score_network(*m, self.s).map(|v| v.value))
            .collect()
    }

    /// Scores each of `count` candidate removals (`apply(groups, k, false)` removes candidate
    /// k, `apply(groups, k, true)` puts it back) and combines the measures' values into one
    /// score per candidate (larger: the supernet did better without it).
    fn removals(
        &mut self,
        count: usize,
        apply: impl Fn(&mut Vec<Group>, usize, bool),
    ) -> Result<Vec<f64>, SaliencyError> {
        let mut values = vec![Vec::with_capacity(count); self.proxy.measures.len()];
        for k in 0..count {
            apply(&mut self.groups, k, false);
            let scored = self.evaluate();
            apply(&mut self.groups, k, true);
            for (m, v) in scored?.into_iter().enumerate() {
                values[m].push(v);
            }
        }
        Ok(self.proxy.combine(&values))
    }
}

/// Runs `perturb` with `proxy` on the supernet of `s`. The store's alpha is restored
/// afterwards.
pub fn perturb(
    proxy: &ProxySet,
    s: &mut Scoring,
    choices: &Choices,
    order: EdgeOrder,
    seed: u64,
) -> Result<(ProxyOutput, StrategyTrace), SaliencyError> {
    let groups: Vec<Group> = alpha_slots(s, choices)
        .into_iter()
        .map(|slot| Group {
            importance: vec![0.0; slot.rows * slot.cols],
            decided: vec![false; slot.rows],
            slot,
        })
        .collect();
    let mut edges: Vec<(usize, usize)> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, gr)| (0..gr.slot.rows).map(move |r| (g, r)))
        .collect();
    if order == EdgeOrder::Random {
        edges.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    }
    let mut run = Perturb {
        s,
        proxy,
        choices,
        groups,
        evaluations: 0,
    };
    let result = search(&mut run, &edges);
    let Perturb {
        s,
        groups,
        evaluations,
        ..
    } = run;
    for g in &groups {
        set_alpha(s, g.slot.storage, &g.slot.shape, g.slot.original.clone());
    }
    s.reset_passes();
    let (objective, rounds) = result?;
    let output_groups = s
        .model
        .alpha_groups()
        .into_iter()
        .zip(&groups)
        .map(|(group, g)| {
            let nan = vec![f64::NAN; g.slot.rows * g.slot.cols];
            GroupScores::new(
                group,
                g.slot.original.clone(),
                nan,
                None,
                g.importance.clone(),
            )
        })
        .collect();
    let output = ProxyOutput {
        proxy: proxy.to_string(),
        procedure: "defined".into(),
        objective_name: proxy.to_string(),
        objective,
        groups: output_groups,
        logits: Vec::new(),
        precision: Precision::F32,
        gradients: false,
        notes: vec![format!(
            "perturb search (Zero-Cost-PT): {} edges visited in {} order, {evaluations} \
             scorings of the supernet by {proxy}; scores are importances (how much removing an \
             op lowered the score, mapped to [0, 1] per edge, + 1 for the op kept{}); alpha is \
             as drawn, no gradient is taken",
            edges.len(),
            match order {
                EdgeOrder::Random => "seeded random",
                EdgeOrder::Fixed => "fixed",
            },
            if choices.nodes.is_empty() {
                ""
            } else {
                ", + 2 and the edge's own removal score for the edges a node keeps"
            }
        )],
    };
    Ok((
        output,
        StrategyTrace {
            strategy: Strategy::Perturb,
            rounds,
        },
    ))
}

/// Both phases; returns the full supernet's combined score (the single measure's value, or
/// NaN for an aggregate) and one round per visited edge and node.
fn search(run: &mut Perturb, edges: &[(usize, usize)]) -> Result<(f64, Vec<Round>), SaliencyError> {
    let full = run.evaluate()?;
    let objective = if let [only] = full.as_slice() {
        *only
    } else {
        f64::NAN
    };
    let choices = run.choices;
    let mut rounds = Vec::new();
    for &(g, row) in edges {
        let ops = run.groups[g].slot.alive_ops(row, choices);
        if ops.len() < 2 {
            continue;
        }
        let cols = run.groups[g].slot.cols;
        let combined = run.removals(ops.len(), |groups, k, restore| {
            groups[g].slot.alive[row * cols + ops[k]] = restore;
        })?;
        let kept = most_hurt(&combined, 1)[0];
        let mapped = hurt(&combined);
        let group = &mut run.groups[g];
        group.decided[row] = true;
        let mut pruned = Vec::new();
        for (k, &c) in ops.iter().enumerate() {
            let i = row * cols + c;
            group.importance[i] = mapped[k];
            if k == kept {
                group.importance[i] += 1.0;
            } else {
                group.slot.alive[i] = false;
                pruned.push(Pruned {
                    group: g,
                    row,
                    col: c,
                    edge: false,
                    score: combined[k],
                });
            }
        }
        rounds.push(Round {
            objective: combined[kept],
            pruned,
        });
    }
    for g in 0..run.groups.len() {
        for (rows, keep) in &choices.nodes {
            let live: Vec<usize> = rows
                .clone()
                .filter(|&r| run.groups[g].slot.edge_alive[r])
                .collect();
            if live.len() <= *keep {
                continue;
            }
            let combined = run.removals(live.len(), |groups, k, restore| {
                groups[g].slot.edge_alive[live[k]] = restore;
            })?;
            let kept = most_hurt(&combined, *keep);
            let mapped = hurt(&combined);
            let group = &mut run.groups[g];
            let mut pruned = Vec::new();
            for (k, &row) in live.iter().enumerate() {
                let col = group.slot.alive_ops(row, choices)[0];
                let i = row * group.slot.cols + col;
                group.importance[i] += mapped[k];
                if kept.contains(&k) {
                    group.importance[i] += 2.0;
                } else {
                    group.slot.edge_alive[row] = false;
                    pruned.push(Pruned {
                        group: g,
                        row,
                        col,
                        edge: true,
                        score: combined[k],
                    });
                }
            }
            let worst_kept = kept.iter().map(|&k| combined[k]).fold(f64::NAN, f64::max);
            rounds.push(Round {
                objective: worst_kept,
                pruned,
            });
        }
    }
    Ok((objective, rounds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hurt_maps_the_most_harmful_removal_to_one() {
        assert_eq!(hurt(&[3.0, 1.0, 2.0]), vec![0.0, 1.0, 0.5]);
        assert_eq!(hurt(&[2.0, 2.0]), vec![1.0, 1.0]);
        assert_eq!(hurt(&[f64::NAN, 1.0]), vec![0.0, 1.0]);
    }

    #[test]
    fn most_hurt_takes_the_smallest_first_on_ties() {
        assert_eq!(most_hurt(&[3.0, 1.0, 1.0, 0.5], 2), vec![3, 1]);
        assert_eq!(most_hurt(&[f64::NAN, 2.0], 1), vec![1]);
    }
}
