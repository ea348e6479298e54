//! `--inits K`: a one-shot search scored at K independent weight initialisations.
//!
//! One draw's saliencies carry that draw's noise: the random weights, and the random alpha that
//! |alpha * dR/dalpha| multiplies in. Scoring at several initialisations and averaging removes
//! much of it. The average is geometric (the mean of ln saliency): SynFlow-type saliencies are
//! products over layers, so they differ by orders of magnitude between ops and between draws,
//! and an arithmetic mean would be one draw's largest entries. The importance written to
//! `proxy.groups[*].score` is that mean log-saliency, so sums of importances (`correlate
//! --supernet`) are logs of products of saliencies. ln is monotone, so with K = 1 the derivation
//! would be the plain search's; K = 1 is the plain search itself.
//!
//! Measured in the DARTS space (`correlate --supernet` on the 363 development genotypes; README):
//! the mean log-saliency of 8 initialisations ranks them better than one draw's raw or log
//! saliencies.

use crate::nn::model::Model;
use crate::nn::params::HostParams;
use crate::saliency::alpha::{GroupScores, ProxyOutput, score_alpha};
use crate::saliency::{Measure, Procedure, Scoring, Target};
use crate::search::SearchError;

/// More initialisations than any search needs; a typo is refused before anything is built.
pub const MAX_INITS: usize = 1000;

/// Weight seed of initialisation `j` of a search with seed `seed`: the search's own seed
/// first (so initialisation 0 is the plain search), then seeds 2^32 apart, so that the searches
/// of a `--seeds` series never share an initialisation.
pub fn init_seed(seed: u64, j: usize) -> u64 {
    seed.wrapping_add((j as u64) << 32)
}

/// ln of a saliency; a zero saliency (an op that passes nothing on, such as `none`) maps to
/// ln of the smallest positive normal float64 (about -708), below every op that does something.
fn log_saliency(v: f64) -> f64 {
    if v.is_nan() {
        v
    } else {
        v.max(f64::MIN_POSITIVE).ln()
    }
}

/// Scores the supernet `net` at `inits` initialisations (the first is `first`, built from the
/// search's seed) and returns the mean log-saliency per op.
#[allow(clippy::too_many_arguments)]
pub fn score_inits(
    measure: &dyn Measure,
    net: &dyn Model,
    first: &mut Scoring,
    inits: usize,
    seed: u64,
    procedure: Procedure,
    target: Target,
) -> Result<ProxyOutput, SearchError> {
    let (device, batch) = (first.device, first.batch);
    let mut outputs = vec![non_negative(score_alpha(measure, first, target)?)?];
    for j in 1..inits {
        let state: HostParams = net.initial_params(init_seed(seed, j));
        let mut scoring = Scoring::new(net, state, device, batch, seed).with_procedure(procedure);
        outputs.push(non_negative(score_alpha(measure, &mut scoring, target)?)?);
    }
    Ok(combine(net, outputs, seed))
}

/// `out`, refused when a saliency is negative (ln needs none; GraSP's are signed); checked
/// after every initialisation, so a refusal costs one scoring, not K.
fn non_negative(out: ProxyOutput) -> Result<ProxyOutput, SearchError> {
    for g in &out.groups {
        if let Some(v) = g.score.iter().find(|v| **v < 0.0) {
            return Err(SearchError::Inits(format!(
                "--inits averages ln saliency and needs non-negative saliencies; {} gave \
                 {v:.3e} (use it without --inits)",
                out.proxy
            )));
        }
    }
    Ok(out)
}

/// The mean over `outputs` of ln saliency, op by op; alpha is the first draw's, the gradients
/// are not kept (each draw has its own).
fn combine(net: &dyn Model, mut outputs: Vec<ProxyOutput>, seed: u64) -> ProxyOutput {
    let k = outputs.len();
    let groups: Vec<GroupScores> = net
        .alpha_groups()
        .into_iter()
        .enumerate()
        .map(|(i, group)| {
            let n = outputs[0].groups[i].score.len();
            let mean: Vec<f64> = (0..n)
                .map(|e| {
                    outputs
                        .iter()
                        .map(|o| log_saliency(o.groups[i].score[e]))
                        .sum::<f64>()
                        / k as f64
                })
                .collect();
            let alpha = outputs[0].groups[i].alpha.clone();
            GroupScores::new(group, alpha, vec![f64::NAN; n], None, mean)
        })
        .collect();
    let objectives: Vec<String> = outputs
        .iter()
        .map(|o| format!("{:.6e}", o.objective))
        .collect();
    let objective = outputs.iter().map(|o| o.objective).sum::<f64>() / k as f64;
    let mut first = outputs.swap_remove(0);
    first.groups = groups;
    first.objective = objective;
    first.gradients = false;
    first.logits = Vec::new();
    first.notes.insert(
        0,
        format!(
            "scores are the mean over {k} weight initialisations of ln({proxy} saliency) \
             (seeds {seed} + j * 2^32, j = 0..{last}; a zero saliency counts as ln of the \
             smallest float64, about -708); alpha is the first initialisation's, no gradient is \
             kept; objective {name} is the mean of {objectives}",
            proxy = first.proxy,
            last = k - 1,
            name = first.objective_name,
            objectives = objectives.join(", "),
        ),
    );
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_initialisation_is_the_search_seed_and_series_never_share_one() {
        assert_eq!(init_seed(7, 0), 7);
        let a: Vec<u64> = (0..8).map(|j| init_seed(0, j)).collect();
        let b: Vec<u64> = (0..8).map(|j| init_seed(1, j)).collect();
        assert!(a.iter().all(|s| !b.contains(s)));
        let mut all = a.clone();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 8);
    }

    #[test]
    fn zero_saliency_sits_below_every_positive_one_and_nan_stays_nan() {
        assert!(log_saliency(0.0) < log_saliency(1e-300));
        assert!((log_saliency(0.0) - f64::MIN_POSITIVE.ln()).abs() < 1e-12);
        assert!((log_saliency(std::f64::consts::E) - 1.0).abs() < 1e-15);
        assert!(log_saliency(f64::NAN).is_nan());
    }
}
