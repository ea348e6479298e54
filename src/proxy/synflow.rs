//! SynFlow on alpha (FreeDARTS' default): linearise the network by taking the absolute value
//! of every weight and BatchNorm tensor, feed one all-ones image, R = sum of logits, score
//! |alpha * dR/dalpha|. No data and no labels.

use crate::nn::ctx::DeviceParams;
use crate::supernet::{Supernet, SupernetState};

use super::pass::{Objective, PassSetup, ReluMasks, abs_product, ones_input};
use super::{GroupScores, Proxy, ProxyError, ProxyOutput, ScoreContext};

/// SynFlow settings.
#[derive(Clone, Copy, Debug)]
pub struct SynFlow {
    /// Take |alpha| before scoring. The official NB201 code does (alpha is in the model state
    /// it abs-es); the DARTS code does not.
    pub alpha_abs: bool,
}

impl Proxy for SynFlow {
    fn name(&self) -> &'static str {
        "synflow"
    }

    fn needs_data(&self) -> bool {
        false
    }

    fn score(
        &self,
        net: &dyn Supernet,
        state: &SupernetState,
        ctx: &ScoreContext,
    ) -> Result<ProxyOutput, ProxyError> {
        let params = DeviceParams::upload(
            net.registry(),
            &state.params,
            ctx.precision,
            ctx.device,
            f64::abs,
        );
        let alphas: Vec<Vec<f64>> = state
            .alphas
            .iter()
            .map(|a| {
                if self.alpha_abs {
                    a.iter().map(|v| v.abs()).collect()
                } else {
                    a.clone()
                }
            })
            .collect();
        let setup = PassSetup {
            net,
            params: &params,
            device: ctx.device,
            precision: ctx.precision,
            bn: ctx.bn,
        };
        let x = ones_input(net.input_shape(), ctx.precision, ctx.device);
        let pass = setup.run(&alphas, x, &Objective::SumLogits, ReluMasks::Plain);
        let groups = net
            .alpha_groups()
            .into_iter()
            .zip(alphas)
            .zip(pass.grads)
            .map(|((g, alpha), grad)| {
                let score = abs_product(&alpha, &grad);
                GroupScores::new(g, alpha, grad, None, score)
            })
            .collect();
        Ok(ProxyOutput {
            proxy: self.name().into(),
            objective_name: "R".into(),
            objective: pass.objective,
            groups,
            logits: pass.logits,
            precision: ctx.precision,
            notes: Vec::new(),
        })
    }
}
