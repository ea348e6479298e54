//! The one Hessian-vector product: burn has no double backward, so H v is a central difference
//! of two gradients along v, with the ReLU masks and max-pool winners of the pass at the point
//! replayed in both.
//!
//! A plain difference does not converge on a ReLU network: masks flip inside the step and the
//! gradient jumps (a max-pool whose winner changes does the same). PyTorch's double backward
//! treats every mask and winner as a constant, so the replay makes the function smooth and the
//! difference converge to the same second derivative. It
//! runs in float64; a difference quotient in float32 keeps only a few digits.
//!
//! Why central at 1e-6: its error falls as the step squared. Measured on the NB201 reference
//! supernet (alpha): 1.3e-6 of max|Hg| at step 1e-4, 2e-10 at 1e-6. The forward difference the
//! whole-network GraSP used before left 6e-7 of the score at 1e-8 and 6e-5 at 1e-6 (its error
//! falls only linearly, and smaller steps lose digits to round-off); the central difference
//! costs one float64 gradient pass more.

use burn::tensor::{Device, Tensor};

use crate::nn::ctx::{Shift, tensor_from, to_host};
use crate::nn::model::Model;
use crate::nn::store::ParamStore;

use super::SaliencyError;
use super::pass::{PassResult, PassSpec, ReluMasks, run};

/// Step of the difference relative to max|theta| / max|v|: the largest entry of the step
/// along v is `REL_STEP * max|theta|`.
pub const REL_STEP: f64 = 1e-6;

fn max_abs(values: &[Vec<f64>]) -> f64 {
    values.iter().flatten().fold(0.0, |m, v| m.max(v.abs()))
}

/// H v over the tensors `at` differentiated, at the point of `at` (a pass that recorded its
/// ReLU masks and max-pool winners), with v given per selected tensor in `at.selected` order. `spec` builds the
/// pass to repeat from the mask replay. Returns one row-major product per selected tensor.
pub fn hessian_vector<'a>(
    model: &dyn Model,
    store: &ParamStore,
    spec: impl Fn(ReluMasks) -> PassSpec<'a>,
    at: &PassResult,
    v: &[Vec<f64>],
    device: &Device,
) -> Result<Vec<Vec<f64>>, SaliencyError> {
    let theta: Vec<Vec<f64>> = at
        .selected
        .iter()
        .map(|d| to_host(d.value.clone()))
        .collect();
    let (theta_max, v_max) = (max_abs(&theta), max_abs(v));
    if theta_max == 0.0 || v_max == 0.0 {
        return Ok(v.iter().map(|x| vec![0.0; x.len()]).collect());
    }
    let eps = REL_STEP * theta_max / v_max;
    let storages = store.layout().storages.len();
    let mut direction: Vec<Option<Tensor<1>>> = vec![None; storages];
    for (d, values) in at.selected.iter().zip(v) {
        let precision = crate::nn::store::precision_of(d.value.dtype());
        direction[d.storage] = Some(tensor_from(
            values.clone(),
            [values.len()],
            precision,
            device,
        ));
    }
    let gradient_at = |sign: f64| -> Result<Vec<Vec<f64>>, SaliencyError> {
        let shift = Shift {
            step: sign * eps,
            direction: &direction,
        };
        let pass = run(
            model,
            store,
            spec(ReluMasks::Replay(at.masks.clone())),
            Some(&shift),
            device,
        )?;
        Ok(pass.selected.into_iter().map(|d| to_host(d.grad)).collect())
    };
    let plus = gradient_at(1.0)?;
    let minus = gradient_at(-1.0)?;
    Ok(plus
        .iter()
        .zip(&minus)
        .map(|(p, m)| {
            p.iter()
                .zip(m)
                .map(|(p, m)| (p - m) / (2.0 * eps))
                .collect()
        })
        .collect())
}
