//! NASWOT (Mellor et al.): K[i, j] = number of ReLU units on which images i and j share their
//! on/off state, summed over every ReLU of the network; score = ln|det K|.

use crate::nn::ctx::{BnMode, Precision};

use super::super::linalg::log_abs_det;
use super::super::pass::{agreement_kernel, relu_agreement_kernel};
use super::super::{Measure, Saliency, SaliencyError, Scoring, SharedReads, Target};

#[derive(Clone, Copy, Debug, Default)]
pub struct Nwot;

impl Measure for Nwot {
    fn name(&self) -> &'static str {
        "nwot"
    }

    fn description(&self) -> &'static str {
        "ln|det K| of the ReLU-pattern agreement kernel of one batch (larger is better)"
    }

    fn needs_data(&self) -> bool {
        true
    }

    fn network_precision(&self) -> Option<Precision> {
        Some(Precision::F32)
    }

    fn shared_reads(&self) -> SharedReads {
        SharedReads {
            relu_codes: true,
            ..SharedReads::default()
        }
    }

    fn score(&self, s: &mut Scoring, _: Target) -> Result<Saliency, SaliencyError> {
        let batch = s.batch(self.name())?;
        // With jacob_cov the codes come from its pass (the same forward); alone, a forward
        // pass without a graph is cheaper.
        let kernel = if s.expects_input_jacobian() {
            let pass = s.input_jacobian_pass(self.name(), self.shared_reads())?;
            agreement_kernel(&pass.masks.relu, batch.n)
        } else {
            relu_agreement_kernel(
                s.model,
                &s.store,
                batch,
                Precision::F32,
                BnMode::Train,
                s.device,
            )?
        };
        Ok(Saliency::total(log_abs_det(&kernel, batch.n)))
    }
}
