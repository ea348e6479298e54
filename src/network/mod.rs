//! Standalone (one op per edge) networks built from an architecture: what gets trained after
//! the search, here for sizes, forward passes and the whole-network zero-cost proxies.

pub mod darts;
pub mod nb201;

use burn::tensor::Tensor;

use crate::nn::ctx::Forward;
use crate::nn::params::{HostParams, ParamRegistry};

/// What a whole-network proxy needs from a network.
pub trait Network {
    /// The architecture, as its usual text form.
    fn name(&self) -> String;
    /// Every tensor of the network with its PyTorch name.
    fn registry(&self) -> &ParamRegistry;
    /// Input image shape [channels, height, width].
    fn input_shape(&self) -> [usize; 3];
    fn num_classes(&self) -> usize;
    /// Logits [N, classes] of `x`.
    fn forward_logits(&self, f: &Forward, x: Tensor<4>) -> Tensor<2>;

    /// PyTorch-default initial weights drawn from `seed`, in construction order: every
    /// network of a run starts from the same random stream, as in the zero-cost-proxy code.
    fn initial_params(&self, seed: u64) -> HostParams {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        self.registry().initialise(&mut rng)
    }
}

impl Network for darts::DartsEvalNet {
    fn name(&self) -> String {
        "DARTS evaluation network".into()
    }

    fn registry(&self) -> &ParamRegistry {
        self.registry()
    }

    fn input_shape(&self) -> [usize; 3] {
        let s = self.config.input_size;
        [3, s, s]
    }

    fn num_classes(&self) -> usize {
        self.config.classes
    }

    fn forward_logits(&self, f: &Forward, x: Tensor<4>) -> Tensor<2> {
        self.forward(f, x)
    }
}
