//! One file per measure; [`all_measures`] is the registry.

pub mod baselines;
pub mod fisher;
pub mod grad_norm;
pub mod grasp;
pub mod jacob_cov;
pub mod meco;
pub mod nwot;
pub mod snip;
pub mod synflow;
pub mod zen;
pub mod zico;

use super::Measure;

/// Every measure, in the order they are listed and written.
pub fn all_measures() -> Vec<&'static dyn Measure> {
    vec![
        &synflow::SynFlow,
        &snip::Snip,
        &grasp::Grasp,
        &fisher::Fisher,
        &grad_norm::GradNorm,
        &jacob_cov::JacobCov,
        &nwot::Nwot,
        &zico::Zico,
        &meco::Meco,
        &zen::Zen,
        &baselines::Params,
        &baselines::Flops,
        &baselines::RandomScore,
    ]
}

/// Looks a measure up by name.
pub fn measure_by_name(name: &str) -> Option<&'static dyn Measure> {
    all_measures().into_iter().find(|m| m.name() == name)
}
