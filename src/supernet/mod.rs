//! Search supernets built on burn, and the interface the proxies score them through.

pub mod darts;
pub mod nb201;
pub mod weights;

use burn::tensor::Tensor;

use crate::nn::ctx::Forward;
use crate::nn::params::{HostParams, ParamRegistry};

/// One architecture-parameter matrix of a supernet (NB201 has one, DARTS two).
#[derive(Clone, Debug)]
pub struct AlphaGroup {
    /// Short name used in reports (`alpha`, `normal`, `reduce`).
    pub name: String,
    /// Row labels (edges, e.g. `1<-0`).
    pub rows: Vec<String>,
    /// Column labels (candidate ops, in alpha column order).
    pub cols: Vec<&'static str>,
}

impl AlphaGroup {
    pub fn shape(&self) -> [usize; 2] {
        [self.rows.len(), self.cols.len()]
    }
}

/// What a proxy needs from a supernet.
pub trait Supernet {
    /// Every tensor of the network with its PyTorch name.
    fn registry(&self) -> &ParamRegistry;
    /// The alpha matrices, in the order `forward_logits` takes them.
    fn alpha_groups(&self) -> Vec<AlphaGroup>;
    /// Input image shape [channels, height, width].
    fn input_shape(&self) -> [usize; 3];
    fn num_classes(&self) -> usize;
    /// Logits [N, classes] for `x` under the given alphas.
    fn forward_logits(&self, f: &Forward, alphas: &[Tensor<2>], x: Tensor<4>) -> Tensor<2>;
    /// Where a weights file keeps each alpha group.
    fn alpha_specs(&self) -> Vec<weights::AlphaSpec>;
    /// Scale of the alpha initialisation (alpha = scale * N(0, 1)).
    fn alpha_scale(&self) -> f64;

    /// Fresh initial state: PyTorch-default weights in construction order, then the alphas
    /// (in group order), drawn last, as the official code does.
    fn initial_state(&self, seed: u64) -> SupernetState {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let params = self.registry().initialise(&mut rng);
        let alphas = self
            .alpha_groups()
            .iter()
            .map(|g| {
                let [r, c] = g.shape();
                crate::nn::params::randn_matrix(&mut rng, r, c, self.alpha_scale())
            })
            .collect();
        SupernetState { params, alphas }
    }

    /// Loads every weight, buffer and alpha by PyTorch name; returns the state and the
    /// top-level tensors of the file that were not used.
    fn load_state(
        &self,
        path: &std::path::Path,
    ) -> Result<(SupernetState, Vec<String>), weights::WeightsError> {
        let loaded = weights::load_state(path, self.registry(), &self.alpha_specs())?;
        Ok((
            SupernetState {
                params: loaded.params,
                alphas: loaded.alphas,
            },
            loaded.ignored,
        ))
    }
}

/// Every entry alpha[e, k] of an alpha matrix as a [1, 1, 1, 1] tensor, sliced once per pass;
/// column 0 (`none`, whose output is zero in both spaces) is `None`. Cells sharing the alpha
/// reuse these scalars, so autodiff sums their gradients over the cells exactly as a shared
/// PyTorch parameter does.
pub(crate) fn alpha_scalars(alpha: &Tensor<2>) -> Vec<Vec<Option<Tensor<4>>>> {
    let [rows, cols] = alpha.dims();
    (0..rows)
        .map(|e| {
            (0..cols)
                .map(|k| {
                    (k != 0).then(|| {
                        alpha
                            .clone()
                            .slice([e..e + 1, k..k + 1])
                            .reshape([1, 1, 1, 1])
                    })
                })
                .collect()
        })
        .collect()
}

/// The numbers a supernet is scored at: its weights and its alphas (row-major, one per group).
#[derive(Clone, Debug)]
pub struct SupernetState {
    pub params: HostParams,
    pub alphas: Vec<Vec<f64>>,
}
