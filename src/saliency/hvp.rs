//! The one masked finite-difference routine for second derivatives (burn has no double
//! backward): H v as a central difference of two gradients along v ([`hessian_vector`]), or
//! the form u^T H v as a mixed difference of four objectives ([`hessian_form`]), with the ReLU
//! masks and max-pool winners of the pass at the point replayed in every pass.
//!
//! A plain difference does not converge on a ReLU network: masks flip inside the step and the
//! gradient jumps (a max-pool whose winner changes does the same). PyTorch's double backward
//! treats every mask and winner as a constant, so the replay makes the function smooth and the
//! difference converge to the same second derivative. Both run in float64; a difference
//! quotient in float32 keeps only a few digits (whole-network GraSP with float32 gradients at
//! the best step, 1e-4: up to 20 % off on a strongly curved network).
//!
//! Why central: its error falls as the step squared. Measured on the NB201 reference supernet
//! (alpha): 1.3e-6 of max|Hg| at step 1e-4, 2e-10 at 1e-6. The forward difference the
//! whole-network GraSP used before left 6e-7 of the score at 1e-8 and 6e-5 at 1e-6 (its error
//! falls only linearly, and smaller steps lose digits to round-off).
//!
//! Why a form as well: H v costs two forward and backward passes; u^T H v by objectives alone
//! costs four forward passes without a graph, about a third less here, and a network's GraSP
//! needs only the form -theta^T H g.

use burn::tensor::{Device, Tensor};

use crate::nn::ctx::{Precision, Shift, tensor_from, to_host};
use crate::nn::model::Model;
use crate::nn::store::{DeviceTensor, ParamStore};

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

/// A copy of `store` with the stored tensors `storages` replaced by `values` (float64).
pub fn with_values(
    store: &ParamStore,
    storages: impl IntoIterator<Item = usize>,
    values: &[Vec<f64>],
    device: &Device,
) -> ParamStore {
    let mut moved = store.clone();
    for (s, v) in storages.into_iter().zip(values) {
        let shape = match store.get(s) {
            DeviceTensor::R1(x) => x.dims().to_vec(),
            DeviceTensor::R2(x) => x.dims().to_vec(),
            DeviceTensor::R4(x) => x.dims().to_vec(),
        };
        moved.set(
            s,
            DeviceTensor::from_values(v.clone(), &shape, Precision::F64, device),
        );
    }
    moved
}

/// Relative step of [`hessian_form`], in float64. Its four-point difference subtracts whole
/// objectives, so round-off grows as 1/step^2 as the step falls, and truncation as step^2 as
/// it grows. Measured on 16 sampled NB201 networks (whole-network GraSP, the point and masks
/// of a float64 pass, against [`hessian_vector`] at 1e-6): relative errors at 1e-5 are 1e-7 to
/// 1e-5 on most and 2e-3 on the most curved network; at 1e-4 up to 20 % there (truncation); at
/// 1e-6 4e-4 on a small score (round-off).
pub const FORM_REL_STEP: f64 = 1e-5;

/// u^T H v over the tensors `at` differentiated, at the point of `at` (a pass that recorded
/// its ReLU masks and max-pool winners), u and v given per selected tensor in `at.selected`
/// order, by the mixed central difference of the objective alone:
/// [L(+u+v) - L(+u-v) - L(-u+v) + L(-u-v)] / (4 eps_u eps_v), the masks and winners replayed.
/// Four forward passes of `spec` (which selects nothing), in float64, where H v would take two
/// forward and backward passes: the cheaper route when only the form is wanted (a network's
/// GraSP is -theta^T H g).
pub fn hessian_form<'a>(
    model: &dyn Model,
    store: &ParamStore,
    spec: impl Fn(ReluMasks) -> PassSpec<'a>,
    at: &PassResult,
    u: &[Vec<f64>],
    v: &[Vec<f64>],
    device: &Device,
) -> Result<f64, SaliencyError> {
    let theta: Vec<Vec<f64>> = at
        .selected
        .iter()
        .map(|d| to_host(d.value.clone()))
        .collect();
    let (theta_max, u_max, v_max) = (max_abs(&theta), max_abs(u), max_abs(v));
    if theta_max == 0.0 || u_max == 0.0 || v_max == 0.0 {
        return Ok(0.0);
    }
    let (eps_u, eps_v) = (
        FORM_REL_STEP * theta_max / u_max,
        FORM_REL_STEP * theta_max / v_max,
    );
    let probe = spec(ReluMasks::Plain);
    let tape = at.masks.cast(probe.precision);
    let storages: Vec<usize> = at.selected.iter().map(|d| d.storage).collect();
    let objective_at = |su: f64, sv: f64| -> Result<f64, SaliencyError> {
        let moved: Vec<Vec<f64>> = theta
            .iter()
            .zip(u.iter().zip(v))
            .map(|(t, (u, v))| {
                t.iter()
                    .zip(u.iter().zip(v))
                    .map(|(t, (u, v))| t + su * eps_u * u + sv * eps_v * v)
                    .collect()
            })
            .collect();
        let store = with_values(store, storages.iter().copied(), &moved, device);
        let pass = run(
            model,
            &store,
            spec(ReluMasks::Replay(tape.clone())),
            None,
            device,
        )?;
        Ok(pass.objective)
    };
    let corners = [
        objective_at(1.0, 1.0)?,
        objective_at(1.0, -1.0)?,
        objective_at(-1.0, 1.0)?,
        objective_at(-1.0, -1.0)?,
    ];
    Ok(((corners[0] - corners[1]) - (corners[2] - corners[3])) / (4.0 * eps_u * eps_v))
}
