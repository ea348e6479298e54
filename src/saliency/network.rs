//! A whole network's score: the sum of a measure's per-element saliencies over the selected
//! tensors (or the measure's own total), the number the zero-cost literature ranks by.

use serde::Serialize;

use crate::nn::params::ParamId;

use super::{Measure, SaliencyError, Scoring, Target, TensorSaliency};

/// One measure's value for one network.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkScore {
    /// The score that ranks networks.
    pub value: f64,
    /// Extra detail written under `<measure>_<key>` (e.g. `synflow_log`).
    pub extra: Vec<(&'static str, f64)>,
}

/// The registered tensors inside `tensors` (a fused stored tensor split back into its
/// members), in registration order: `pick` chooses which numbers of each.
pub fn by_member<'t>(
    s: &Scoring,
    tensors: &'t [TensorSaliency],
    pick: fn(&TensorSaliency) -> &[f64],
) -> Vec<&'t [f64]> {
    let layout = s.store.layout();
    let mut members: Vec<(ParamId, &[f64])> = Vec::new();
    for t in tensors {
        for &m in &layout.storages[t.storage].members {
            let slot = layout.slot(m).expect("a selected tensor is stored");
            members.push((m, &pick(t)[slot.offset..slot.offset + slot.len]));
        }
    }
    members.sort_by_key(|(id, _)| id.0);
    members.into_iter().map(|(_, v)| v).collect()
}

/// Sum of per-element saliencies, registered tensor by registered tensor in registration
/// order, each summed in order: the order the zero-cost-proxy code sums its layers in.
pub fn sum_by_tensor(s: &Scoring, tensors: &[TensorSaliency]) -> f64 {
    by_member(s, tensors, |t| &t.score)
        .iter()
        .map(|values| values.iter().sum::<f64>())
        .sum()
}

/// Scores the network of `s` with `measure`.
pub fn score_network(
    measure: &dyn Measure,
    s: &mut Scoring,
) -> Result<NetworkScore, SaliencyError> {
    let saliency = measure.score(s, Target::Network)?;
    let value = match saliency.total {
        Some(v) => v,
        None => sum_by_tensor(s, &saliency.tensors),
    };
    Ok(NetworkScore {
        value,
        extra: saliency.extra,
    })
}

/// Runs `measures` on one network, in order, each with the seconds it took (a pass shared by
/// several measures counts for the first that needs it).
pub fn score_all(
    s: &mut Scoring,
    measures: &[&dyn Measure],
) -> Result<Vec<(NetworkScore, f64)>, SaliencyError> {
    s.expect_measures(measures);
    measures
        .iter()
        .map(|m| {
            let t = std::time::Instant::now();
            score_network(*m, s).map(|v| (v, t.elapsed().as_secs_f64()))
        })
        .collect()
}
