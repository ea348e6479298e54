//! SNIP on alpha: mean cross-entropy of one real batch through the untouched network
//! (train-mode BN, signed alpha), score |alpha * dL/dalpha|.

use crate::nn::ctx::DeviceParams;
use crate::supernet::{Supernet, SupernetState};

use super::pass::{Objective, PassSetup, ReluMasks, abs_product, batch_input};
use super::{GroupScores, Proxy, ProxyError, ProxyOutput, ScoreContext};

#[derive(Clone, Copy, Debug, Default)]
pub struct Snip;

impl Proxy for Snip {
    fn name(&self) -> &'static str {
        "snip"
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
        let batch = ctx.batch.ok_or(ProxyError::NeedsData { proxy: "snip" })?;
        let x = batch_input(
            net.input_shape(),
            net.num_classes(),
            batch,
            ctx.precision,
            ctx.device,
        )?;
        let params = DeviceParams::upload(
            net.registry(),
            &state.params,
            ctx.precision,
            ctx.device,
            |v| v,
        );
        let setup = PassSetup {
            net,
            params: &params,
            device: ctx.device,
            precision: ctx.precision,
            bn: ctx.bn,
        };
        let objective = Objective::CrossEntropy {
            labels: &batch.labels,
        };
        let pass = setup.run(&state.alphas, x, &objective, ReluMasks::Plain);
        let groups = net
            .alpha_groups()
            .into_iter()
            .zip(&state.alphas)
            .zip(pass.grads)
            .map(|((g, alpha), grad)| {
                let score = abs_product(alpha, &grad);
                GroupScores::new(g, alpha.clone(), grad, None, score)
            })
            .collect();
        Ok(ProxyOutput {
            proxy: self.name().into(),
            objective_name: "L".into(),
            objective: pass.objective,
            groups,
            logits: pass.logits,
            precision: ctx.precision,
            notes: Vec::new(),
        })
    }
}
