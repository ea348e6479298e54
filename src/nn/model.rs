//! What every network is to the saliency engine: named tensors, a forward pass, and, for a
//! supernet, the architecture parameters among those tensors. A supernet is a network whose
//! registry also holds alpha (kind [`ParamKind::Alpha`](super::params::ParamKind::Alpha)), so one engine differentiates
//! either.

use std::path::Path;

use burn::tensor::{Device, Tensor};

use super::ctx::{BnMode, Forward, PassParams, Precision, Transform, tensor_from};
use super::params::{HostParams, ParamId, ParamRegistry};
use super::store::ParamStore;
use super::weights::{WeightsError, load_state};

/// One architecture-parameter matrix of a supernet (NB201 has one, DARTS two or one per cell).
#[derive(Clone, Debug)]
pub struct AlphaGroup {
    /// Short name used in reports (`alpha`, `normal`, `reduce`, `cell3`).
    pub name: String,
    /// Row labels (edges, e.g. `1<-0`).
    pub rows: Vec<String>,
    /// Column labels (candidate ops, in alpha column order).
    pub cols: Vec<&'static str>,
    /// The registered tensor.
    pub id: ParamId,
}

impl AlphaGroup {
    pub fn shape(&self) -> [usize; 2] {
        [self.rows.len(), self.cols.len()]
    }
}

/// A network the engine can run and differentiate.
pub trait Model: Sync {
    /// The architecture (or supernet), in words.
    fn name(&self) -> String;
    /// Every tensor of the network with its PyTorch name (alpha included, last).
    fn registry(&self) -> &ParamRegistry;
    /// Input image shape [channels, height, width].
    fn input_shape(&self) -> [usize; 3];
    fn num_classes(&self) -> usize;
    /// Logits [N, classes] of `x`; every tensor, alpha included, is read from `f.params`.
    fn forward_logits(&self, f: &Forward, x: Tensor<4>) -> Tensor<2>;
    /// The alpha matrices (none for a standalone network).
    fn alpha_groups(&self) -> Vec<AlphaGroup> {
        Vec::new()
    }

    /// PyTorch-default initial values drawn from `seed` in registration order: weights first,
    /// then alpha, as the official code draws them. Every network of a scoring run starts
    /// from the same random stream, as in the zero-cost-proxy code.
    fn initial_params(&self, seed: u64) -> HostParams {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        self.registry().initialise(&mut rng)
    }

    /// Loads every tensor by PyTorch name; returns them and the top-level tensors of the file
    /// that were not used.
    fn load_params(&self, path: &Path) -> Result<(HostParams, Vec<String>), WeightsError> {
        let loaded = load_state(path, self.registry())?;
        Ok((loaded.params, loaded.ignored))
    }
}

/// Multiply-adds of one forward pass on a single image, counted on a plain (no autodiff) CPU
/// device with zero tensors; convolutions and linear layers only.
pub fn count_macs(model: &dyn Model) -> u64 {
    let device = Device::flex();
    let registry = model.registry();
    let zeros = HostParams {
        values: registry
            .specs()
            .iter()
            .map(|s| vec![0.0; s.numel()])
            .collect(),
    };
    let store = ParamStore::new(registry, &zeros, &device);
    let params = PassParams::new(
        &store,
        Precision::F32,
        |_| Transform::Identity,
        |_| false,
        None,
    );
    let f = Forward::new(&params, BnMode::Eval);
    let [c, h, w] = model.input_shape();
    let x = tensor_from(vec![0.0; c * h * w], [1, c, h, w], Precision::F32, &device);
    model.forward_logits(&f, x);
    f.macs()
}
