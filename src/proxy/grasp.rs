//! GraSP on alpha: score = -alpha * (H g), with g = dL/dalpha and H the Hessian of the batch
//! cross-entropy in alpha, both at the initial alpha (no optimiser step).
//!
//! burn has no double backward, so H g is a central difference of two alpha-gradients along
//! g. A plain difference does not converge on a ReLU network: the masks flip inside the step
//! and the gradient jumps. PyTorch's double backward treats every mask as a constant, so we
//! do the same: the masks of the pass at alpha are recorded and replayed in the two perturbed
//! passes, which makes the function smooth and the difference converge. It always runs in
//! float64, since a difference quotient in float32 keeps only a few digits.

use crate::nn::ctx::{DeviceParams, Precision};
use crate::supernet::{Supernet, SupernetState};

use super::pass::{Objective, PassSetup, ReluMasks, batch_input};
use super::{GroupScores, Proxy, ProxyError, ProxyOutput, ScoreContext};

#[derive(Clone, Copy, Debug)]
pub struct Grasp {
    /// Step of the central difference, relative to max|alpha| (the step along g is scaled so
    /// that its largest entry is `rel_step * max|alpha|`). Measured on the C16 N5 reference:
    /// the error falls as the step squared, 1.3e-6 of max|Hg| at 1e-4 and 2e-10 at 1e-6.
    pub rel_step: f64,
}

impl Default for Grasp {
    fn default() -> Self {
        Self { rel_step: 1e-6 }
    }
}

fn max_abs(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |m, v| m.max(v.abs()))
}

impl Proxy for Grasp {
    fn name(&self) -> &'static str {
        "grasp"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn score(
        &self,
        net: &dyn Supernet,
        state: &SupernetState,
        ctx: &ScoreContext,
    ) -> Result<ProxyOutput, ProxyError> {
        let precision = Precision::F64;
        let batch = ctx.batch.ok_or(ProxyError::NeedsData { proxy: "grasp" })?;
        let x = batch_input(
            net.input_shape(),
            net.num_classes(),
            batch,
            precision,
            ctx.device,
        )?;
        let params =
            DeviceParams::upload(net.registry(), &state.params, precision, ctx.device, |v| v);
        let setup = PassSetup {
            net,
            params: &params,
            device: ctx.device,
            precision,
            bn: ctx.bn,
        };
        let objective = Objective::CrossEntropy {
            labels: &batch.labels,
        };
        let at = setup.run(&state.alphas, x.clone(), &objective, ReluMasks::Record);

        let g_max = at.grads.iter().map(|g| max_abs(g)).fold(0.0, f64::max);
        let a_max = state.alphas.iter().map(|a| max_abs(a)).fold(0.0, f64::max);
        let hessian_grads: Vec<Vec<f64>> = if g_max == 0.0 || a_max == 0.0 {
            at.grads.iter().map(|g| vec![0.0; g.len()]).collect()
        } else {
            let eps = self.rel_step * a_max / g_max;
            let shifted = |sign: f64| -> Vec<Vec<f64>> {
                state
                    .alphas
                    .iter()
                    .zip(&at.grads)
                    .map(|(a, g)| a.iter().zip(g).map(|(a, g)| a + sign * eps * g).collect())
                    .collect()
            };
            let plus = setup.run(
                &shifted(1.0),
                x.clone(),
                &objective,
                ReluMasks::Replay(at.masks.clone()),
            );
            let minus = setup.run(&shifted(-1.0), x, &objective, ReluMasks::Replay(at.masks));
            plus.grads
                .iter()
                .zip(&minus.grads)
                .map(|(p, m)| {
                    p.iter()
                        .zip(m)
                        .map(|(p, m)| (p - m) / (2.0 * eps))
                        .collect()
                })
                .collect()
        };

        let groups = net
            .alpha_groups()
            .into_iter()
            .zip(&state.alphas)
            .zip(at.grads.into_iter().zip(hessian_grads))
            .map(|((g, alpha), (grad, hg))| {
                let score = alpha.iter().zip(&hg).map(|(a, h)| -a * h).collect();
                GroupScores::new(g, alpha.clone(), grad, Some(hg), score)
            })
            .collect();
        let mut notes = vec![
            "H g by a float64 central difference with the ReLU masks of the initial pass held fixed"
                .to_string(),
        ];
        if ctx.precision != Precision::F64 {
            notes.push("GraSP always runs in float64; --dtype was ignored".into());
        }
        Ok(ProxyOutput {
            proxy: self.name().into(),
            objective_name: "L".into(),
            objective: at.objective,
            groups,
            logits: at.logits,
            precision,
            notes,
        })
    }
}
