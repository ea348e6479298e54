//! GraSP (Wang et al.): saliency -theta * (H g), g = dL/dtheta, H the Hessian of the batch
//! cross-entropy in theta, at the initial values (no optimiser step). Always float64: H g is a
//! difference quotient ([`crate::saliency::hvp`]). On alpha: the search's BatchNorm mode; on a
//! network: the conv/linear weights with train-mode BatchNorm, as the zero-cost-proxy library.
//!
//! The official procedures ([`Procedure::Official`], alpha only; docs/METHOD.md 2.4) take one
//! Adam step on alpha first, from g at the initial alpha, and take the Hessian product at the
//! updated alpha a':
//! - NB201 notebook: score = alpha * (H(a') g), signed, no minus.
//! - DARTS notebook: every state entry but alpha made absolute first; the product is
//!   d/da' sum(dL/da' * a') = H(a') a' + g(a') (alpha is not detached there), and
//!   score = |alpha * (H(a') a' + g(a'))|.

use burn::tensor::Device;

use crate::nn::ctx::{BnMode, Precision, to_host};
use crate::nn::store::{DeviceTensor, ParamStore};

use super::super::hvp::hessian_vector;
use super::super::pass::{self, Input, Objective, PassSpec, ReluMasks, Selection};
use super::super::{
    Measure, OfficialCode, Procedure, Saliency, SaliencyError, Scoring, Target, TensorSaliency,
    per_element,
};

/// The notebooks' architecture optimiser: `torch.optim.Adam(lr, betas=(0.5, 0.999),
/// weight_decay=1e-3)`, eps 1e-8 (the default).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
    pub eps: f64,
}

impl AdamStep {
    /// NB201 notebook: `--arch_learning_rate 3e-2`.
    pub const NB201: AdamStep = AdamStep {
        lr: 3e-2,
        beta1: 0.5,
        beta2: 0.999,
        weight_decay: 1e-3,
        eps: 1e-8,
    };
    /// DARTS notebook: `--arch_learning_rate 3e-4`.
    pub const DARTS: AdamStep = AdamStep {
        lr: 3e-4,
        ..Self::NB201
    };

    /// The first step of PyTorch's Adam from zero moments, in its operation order.
    pub fn first_step(&self, theta: &[f64], grad: &[f64]) -> Vec<f64> {
        let bias_correction1 = 1.0 - self.beta1;
        let bias_correction2 = 1.0 - self.beta2;
        let step_size = self.lr / bias_correction1;
        theta
            .iter()
            .zip(grad)
            .map(|(&p, &g)| {
                let g = g + self.weight_decay * p;
                let exp_avg = (1.0 - self.beta1) * g;
                let exp_avg_sq = (1.0 - self.beta2) * g * g;
                let denom = exp_avg_sq.sqrt() / bias_correction2.sqrt() + self.eps;
                p - step_size * (exp_avg / denom)
            })
            .collect()
    }
}

/// A copy of `store` with the selected tensors of a pass replaced by `values` (float64).
fn with_values(
    store: &ParamStore,
    selected: &[TensorSaliency],
    values: &[Vec<f64>],
    device: &Device,
) -> ParamStore {
    let mut moved = store.clone();
    for (t, v) in selected.iter().zip(values) {
        let shape = match store.get(t.storage) {
            DeviceTensor::R1(x) => x.dims().to_vec(),
            DeviceTensor::R2(x) => x.dims().to_vec(),
            DeviceTensor::R4(x) => x.dims().to_vec(),
        };
        moved.set(
            t.storage,
            DeviceTensor::from_values(v.clone(), &shape, Precision::F64, device),
        );
    }
    moved
}

/// The official GraSP of `code` on alpha (see the module notes).
fn official(s: &Scoring, bn: BnMode, code: OfficialCode) -> Result<Saliency, SaliencyError> {
    let batch = s.batch("grasp")?;
    let (transform, adam): (&dyn Fn(_) -> _, AdamStep) = match code {
        OfficialCode::Nb201 => (&pass::untouched, AdamStep::NB201),
        OfficialCode::Darts => (&pass::absolute_state, AdamStep::DARTS),
    };
    let spec = |relu| PassSpec {
        precision: Precision::F64,
        bn,
        transform,
        select: pass::alpha,
        input: Input::Batch(batch),
        objective: Objective::CrossEntropy,
        input_grad: false,
        probe: None,
        relu,
    };
    // g at the initial alpha, then the Adam step the notebooks take as a side effect.
    let first = s.run(spec(ReluMasks::Plain))?;
    let mut tensors = per_element(&first, |_, _| 0.0);
    let moved: Vec<Vec<f64>> = tensors
        .iter()
        .map(|t| adam.first_step(&t.value, &t.grad))
        .collect();
    let store = with_values(&s.store, &tensors, &moved, s.device);
    // The deep copy: loss, gradient and Hessian product at the updated alpha.
    let at = super::super::pass::run(s.model, &store, spec(ReluMasks::Record), None, s.device)?;
    let v: Vec<Vec<f64>> = match code {
        OfficialCode::Nb201 => tensors.iter().map(|t| t.grad.clone()).collect(),
        OfficialCode::Darts => moved.clone(),
    };
    let hv = hessian_vector(s.model, &store, spec, &at, &v, s.device)?;
    for ((t, hv), d) in tensors.iter_mut().zip(hv).zip(&at.selected) {
        t.score = match code {
            OfficialCode::Nb201 => t.value.iter().zip(&hv).map(|(a, h)| a * h).collect(),
            OfficialCode::Darts => {
                let g_moved = to_host(d.grad.clone());
                t.value
                    .iter()
                    .zip(&hv)
                    .zip(&g_moved)
                    .map(|((a, h), g)| (a * (h + g)).abs())
                    .collect()
            }
        };
        t.hessian_grad = Some(hv);
    }
    let notes = vec![
        match code {
            OfficialCode::Nb201 => format!(
                "official NB201 notebook: one Adam step on alpha (lr {}, betas ({}, {}), weight \
                 decay {}), then H g at the updated alpha a' with g from the initial alpha; \
                 score alpha * H g, signed (hessian_grad holds H(a') g)",
                adam.lr, adam.beta1, adam.beta2, adam.weight_decay
            ),
            OfficialCode::Darts => format!(
                "official DARTS notebook: weights and BatchNorm tensors absolute, one Adam step \
                 on alpha (lr {}, betas ({}, {}), weight decay {}), then d/da' sum(dL/da' * a') \
                 = H(a') a' + g(a') at the updated alpha a'; score |alpha * (H a' + g)| \
                 (hessian_grad holds H(a') a')",
                adam.lr, adam.beta1, adam.beta2, adam.weight_decay
            ),
        },
        "Hessian product by a float64 central difference with the ReLU masks and max-pool \
         winners of the pass at a' held fixed"
            .to_string(),
    ];
    Ok(Saliency {
        objective: Some(("L", first.objective)),
        logits: first.logits,
        precision: Some(Precision::F64),
        tensors,
        notes,
        ..Saliency::default()
    })
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Grasp;

impl Measure for Grasp {
    fn name(&self) -> &'static str {
        "grasp"
    }

    fn description(&self) -> &'static str {
        "sum -W * (H g) over conv/linear weights, g = dL/dW on one batch, float64 (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn per_element(&self) -> bool {
        true
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F64)
    }

    fn score(&self, s: &mut Scoring, target: Target) -> Result<Saliency, SaliencyError> {
        if let (Target::Alpha { precision, bn, .. }, Procedure::Official(code)) =
            (target, s.procedure)
        {
            let mut out = official(s, bn, code)?;
            if precision != Precision::F64 {
                out.notes
                    .push("GraSP always runs in float64; --dtype was ignored".into());
            }
            return Ok(out);
        }
        let (bn, select, asked): (BnMode, Selection, Option<Precision>) = match target {
            Target::Alpha { precision, bn, .. } => (bn, pass::alpha, Some(precision)),
            Target::Network => (BnMode::Train, pass::weights, None),
        };
        let batch = s.batch(self.name())?;
        let spec = |relu| PassSpec {
            precision: Precision::F64,
            bn,
            transform: &pass::untouched,
            select,
            input: Input::Batch(batch),
            objective: Objective::CrossEntropy,
            input_grad: false,
            probe: None,
            relu,
        };
        let at = s.run(spec(ReluMasks::Record))?;
        let g: Vec<Vec<f64>> = at
            .selected
            .iter()
            .map(|d| to_host(d.grad.clone()))
            .collect();
        let hg = hessian_vector(s.model, &s.store, spec, &at, &g, s.device)?;
        let mut tensors = per_element(&at, |_, _| 0.0);
        for (t, hg) in tensors.iter_mut().zip(hg) {
            t.score = t.value.iter().zip(&hg).map(|(a, h)| -a * h).collect();
            t.hessian_grad = Some(hg);
        }
        let mut notes = vec![
            "H g by a float64 central difference with the ReLU masks and max-pool winners of the initial pass held fixed"
                .to_string(),
        ];
        if asked.is_some_and(|p| p != Precision::F64) {
            notes.push("GraSP always runs in float64; --dtype was ignored".into());
        }
        Ok(Saliency {
            objective: Some(("L", at.objective)),
            logits: at.logits,
            precision: Some(Precision::F64),
            tensors,
            notes,
            ..Saliency::default()
        })
    }
}
