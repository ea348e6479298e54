//! GraSP (Wang et al.): saliency -theta * (H g), g = dL/dtheta, H the Hessian of the batch
//! cross-entropy in theta, at the initial values (no optimiser step). Always float64: H g is a
//! difference quotient ([`crate::saliency::hvp`]). On alpha: the search's BatchNorm mode; on a
//! network: the conv/linear weights with train-mode BatchNorm, as the zero-cost-proxy library.

use crate::nn::ctx::{BnMode, Precision, to_host};

use super::super::hvp::hessian_vector;
use super::super::pass::{self, Input, Objective, PassSpec, ReluMasks, Selection};
use super::super::{Measure, Saliency, SaliencyError, Scoring, Target, per_element};

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
            "H g by a float64 central difference with the ReLU masks of the initial pass held fixed"
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
