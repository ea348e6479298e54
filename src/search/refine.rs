//! `--refine local`: a local search over standalone networks that starts from the cell a
//! strategy derived.
//!
//! A supernet strategy reads one weight draw of a network that is not the one it returns;
//! whole-network proxies rank cells better (README correlation tables) but cost a network
//! each. The refinement spends them where they matter, around the strategy's answer:
//!
//! 1. The start cell and its one-edit neighbours ([`NetworkSpace::neighbours`]) are built as
//!    standalone networks and scored with every measure of the proxy set at `inits` weight
//!    initialisations (initialisation j has seed `seed + j * 2^32`, as `--inits`).
//! 2. Every (measure, initialisation) pair ranks all cells scored so far; the cells' combined
//!    value is the set's aggregate of those ranks (`a*b`: sum of ln(rank / n), `a+b`: mean
//!    rank; a single measure aggregates its initialisations by mean rank).
//! 3. The best cell so far (ties to the one scored first) is expanded: its neighbours not yet
//!    scored are scored, and step 2 is repeated. When the best cell is one already expanded,
//!    the search ends there; every one of its neighbours has then been scored and ranks no
//!    higher. After `steps` expansions the search ends at the best cell scored so far, which
//!    may not have been expanded (`step_limit_reached`); `steps = 1` is "the best single edit
//!    of the strategy's cell, or the cell itself".
//!
//! Ranking within everything scored, rather than within each neighbourhood, gives the search
//! one objective, so it cannot cycle, and the cell it ends at is the best of every cell it
//! saw.
//!
//! The importance matrix the derivation reads holds, for each (edge, op), the combined value
//! of the final cell with that edge given that op, and the final cell's own value where the op
//! is its own. A neighbour that was not scored (after the step limit) counts as the lowest
//! combined value of any scored cell; one that ties with the final cell is written just below
//! it, so the derivation returns the final cell.

use std::collections::HashMap;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::data::cifar::ImageBatch;
use crate::saliency::ensemble::{Aggregate, ProxySet};
use crate::saliency::network::score_all;
use crate::saliency::{SaliencyError, Scoring, storage_precision};
use crate::spaces::derive::argmax_first;
use crate::spaces::{Architecture, NetworkSpace};

use super::inits::{MAX_INITS, init_seed};

/// Settings of `--refine local`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefineOptions {
    /// The whole-network measures and how their ranks combine.
    pub proxy: ProxySet,
    /// Weight initialisations each cell is scored at.
    pub inits: usize,
    /// The most cells expanded (the start cell counts).
    pub steps: usize,
}

/// `--refine-proxy` when not given: SynFlow (capacity) and a low gradient norm (no gradient
/// explosion at initialisation) must both rank well (README, "Refining the found cell").
pub const DEFAULT_REFINE_PROXY: &str = "synflow*-grad_norm";
/// `--refine-inits` when not given.
pub const DEFAULT_REFINE_INITS: usize = 1;
/// `--refine-steps` when not given: the best single edit (more steps drift, see the README).
pub const DEFAULT_REFINE_STEPS: usize = 1;

/// The most expansions a refinement may be asked for.
pub const MAX_STEPS: usize = 100;

/// The documented defaults (`--refine local` with no other `--refine-*` flag).
impl Default for RefineOptions {
    fn default() -> Self {
        Self {
            proxy: ProxySet::parse(DEFAULT_REFINE_PROXY)
                .expect("the default proxies are registered"),
            inits: DEFAULT_REFINE_INITS,
            steps: DEFAULT_REFINE_STEPS,
        }
    }
}

impl RefineOptions {
    /// Why these settings cannot run, if they cannot.
    pub fn problem(&self) -> Option<String> {
        if self.inits == 0 || self.inits > MAX_INITS {
            Some(format!(
                "--refine-inits {} is outside 1..={MAX_INITS}",
                self.inits
            ))
        } else if self.steps == 0 || self.steps > MAX_STEPS {
            Some(format!(
                "--refine-steps {} is outside 1..={MAX_STEPS}",
                self.steps
            ))
        } else {
            None
        }
    }
}

/// One scored cell.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefinedCell {
    pub arch: String,
    /// Combined value among every cell scored (larger is better), as the search ended.
    #[serde(deserialize_with = "crate::util::nan_null::f64")]
    pub score: f64,
    /// Raw values, `values[init][measure]` (null where not finite).
    pub values: Vec<Vec<Option<f64>>>,
}

/// What the refinement did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefineTrace {
    pub proxy: ProxySet,
    pub inits: usize,
    /// The cell the strategy derived.
    pub start: String,
    /// The cell the search ended at.
    pub arch: String,
    /// The cells expanded, in order.
    pub expanded: Vec<String>,
    /// Whether `steps` ended the search at a cell whose neighbours were not all scored.
    pub step_limit_reached: bool,
    /// Every cell scored, in the order scored.
    pub cells: Vec<RefinedCell>,
    /// The importance matrix of the strategy (`proxy.groups[0].score` before refining).
    pub strategy_score: Vec<f64>,
}

/// The cells scored so far and their raw values.
struct Table {
    archs: Vec<Architecture>,
    index: HashMap<Architecture, usize>,
    /// `values[cell][init][measure]`.
    values: Vec<Vec<Vec<f64>>>,
}

impl Table {
    /// Combined value of every cell (see the module comment).
    fn combined(&self, set: &ProxySet, aggregate: Aggregate) -> Vec<f64> {
        let Some(first) = self.values.first() else {
            return Vec::new();
        };
        let columns: Vec<Vec<f64>> = (0..first.len())
            .flat_map(|j| (0..first[j].len()).map(move |m| (j, m)))
            .map(|(j, m)| self.values.iter().map(|v| set.orient(m, v[j][m])).collect())
            .collect();
        aggregate.of_ranks(&columns)
    }
}

/// Scores `arch` at every initialisation with the measures of `set`.
fn score_cell(
    space: &dyn NetworkSpace,
    arch: &Architecture,
    set: &ProxySet,
    seeds: &[u64],
    device: &Device,
    batch: Option<&ImageBatch>,
) -> Result<Vec<Vec<f64>>, SaliencyError> {
    let net = space.network(arch);
    let storage = storage_precision(&set.measures);
    seeds
        .iter()
        .map(|&seed| {
            let host = net.initial_params(seed);
            let mut scoring = Scoring::stored_in(net.as_ref(), host, device, batch, seed, storage);
            Ok(score_all(&mut scoring, &set.measures)?
                .into_iter()
                .map(|(v, _)| v.value)
                .collect())
        })
        .collect()
}

/// Where the search starts: the strategy's cell and the matrix it was derived from, whose
/// layout (`cols` ops per edge) the refined matrix keeps.
pub struct Start {
    pub arch: Architecture,
    pub score: Vec<f64>,
    pub cols: usize,
}

/// Local search from `start` (see the module comment); `seed` is the search's seed. Returns
/// the trace and the importance matrix of the cell it ended at.
pub fn local_search(
    space: &dyn NetworkSpace,
    start: Start,
    opts: &RefineOptions,
    seed: u64,
    device: &Device,
    batch: Option<&ImageBatch>,
) -> Result<(RefineTrace, Vec<f64>), SaliencyError> {
    let seeds: Vec<u64> = (0..opts.inits).map(|j| init_seed(seed, j)).collect();
    let aggregate = match opts.proxy.measures.len() {
        1 => Aggregate::Mean,
        _ => opts.proxy.aggregate,
    };
    let mut table = Table {
        archs: Vec::new(),
        index: HashMap::new(),
        values: Vec::new(),
    };
    let add = |table: &mut Table, arch: &Architecture| -> Result<(), SaliencyError> {
        if !table.index.contains_key(arch) {
            let values = score_cell(space, arch, &opts.proxy, &seeds, device, batch)?;
            table.index.insert(arch.clone(), table.archs.len());
            table.archs.push(arch.clone());
            table.values.push(values);
        }
        Ok(())
    };
    add(&mut table, &start.arch)?;
    let mut expanded: Vec<usize> = Vec::new();
    let mut step_limit_reached = false;
    let (last, combined) = loop {
        let combined = table.combined(&opts.proxy, aggregate);
        let best = argmax_first(&combined);
        if expanded.contains(&best) {
            break (best, combined);
        }
        if expanded.len() == opts.steps {
            step_limit_reached = true;
            break (best, combined);
        }
        let arch = table.archs[best].clone();
        for n in space.neighbours(&arch) {
            add(&mut table, &n.arch)?;
        }
        expanded.push(best);
    };
    let final_arch = table.archs[last].clone();
    let matrix = importance_matrix(space, &final_arch, &table, &combined, &start);
    let trace = RefineTrace {
        proxy: opts.proxy.clone(),
        inits: opts.inits,
        start: start.arch.to_string(),
        arch: final_arch.to_string(),
        expanded: expanded
            .iter()
            .map(|&i| table.archs[i].to_string())
            .collect(),
        step_limit_reached,
        cells: table
            .archs
            .iter()
            .zip(&table.values)
            .zip(&combined)
            .map(|((a, v), &score)| RefinedCell {
                arch: a.to_string(),
                score,
                values: v
                    .iter()
                    .map(|row| row.iter().map(|x| x.is_finite().then_some(*x)).collect())
                    .collect(),
            })
            .collect(),
        strategy_score: start.score,
    };
    Ok((trace, matrix))
}

/// The final cell's neighbourhood as an importance matrix laid out like the strategy's (see
/// the module comment).
fn importance_matrix(
    space: &dyn NetworkSpace,
    arch: &Architecture,
    table: &Table,
    combined: &[f64],
    start: &Start,
) -> Vec<f64> {
    let own = combined[table.index[arch]];
    let floor = combined.iter().copied().fold(own, f64::min);
    let below = own.next_down();
    let mut matrix = vec![own; start.score.len()];
    for n in space.neighbours(arch) {
        let value = table.index.get(&n.arch).map_or(floor, |&i| combined[i]);
        matrix[n.row * start.cols + n.col] = value.min(below);
    }
    matrix
}
