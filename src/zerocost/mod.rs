//! Whole-network zero-cost proxies: one number per standalone network, the scores the
//! zero-cost-proxy literature ranks architectures by (METHOD.md 2.5). Each proxy lives in its
//! own file behind [`NetworkProxy`]; passes several proxies share are computed once per
//! network by [`ArchScoring`].

pub mod baseline;
pub mod fisher;
pub mod grad_norm;
pub mod grasp;
pub mod jacob_cov;
pub mod linalg;
pub mod nwot;
pub mod pass;
pub mod snip;
pub mod synflow;

use burn::tensor::Device;
use serde::Serialize;

use crate::data::cifar::ImageBatch;
use crate::network::Network;
use crate::nn::ctx::{BnMode, Precision};
use crate::nn::params::HostParams;
use crate::proxy::ProxyError;
use crate::proxy::pass::ReluMasks;

use pass::{Input, PassResult, PassSpec, ProbeSum};

/// One proxy's value for one network.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProxyValue {
    /// The score that ranks networks.
    pub value: f64,
    /// Extra detail written under `<proxy>_<key>` (e.g. `synflow_log`).
    pub extra: Vec<(&'static str, f64)>,
}

impl ProxyValue {
    pub fn plain(value: f64) -> Self {
        Self {
            value,
            extra: Vec::new(),
        }
    }
}

/// A score of a whole network at initialisation.
pub trait NetworkProxy: Sync {
    /// Name on the command line and the key in score files.
    fn name(&self) -> &'static str;
    /// One line for `--help` and reports.
    fn description(&self) -> &'static str;
    /// Whether a larger value predicts a better network (true for every proxy here; the
    /// random baseline has no direction, and says so in its description).
    fn larger_is_better(&self) -> bool {
        true
    }
    fn needs_data(&self) -> bool;
    fn score(&self, s: &mut ArchScoring) -> Result<ProxyValue, ProxyError>;
}

/// Every proxy, in the order they are listed and written.
pub fn all_proxies() -> Vec<&'static dyn NetworkProxy> {
    vec![
        &synflow::SynFlowNet,
        &snip::SnipNet,
        &grasp::GraspNet,
        &fisher::Fisher,
        &grad_norm::GradNorm,
        &jacob_cov::JacobCov,
        &nwot::Nwot,
        &baseline::Params,
        &baseline::Flops,
        &baseline::RandomScore,
    ]
}

/// Looks a proxy up by name.
pub fn proxy_by_name(name: &str) -> Option<&'static dyn NetworkProxy> {
    all_proxies().into_iter().find(|p| p.name() == name)
}

/// Settings shared by every network of a scoring run.
pub struct ScoreSettings<'a> {
    pub device: &'a Device,
    /// One batch of real images for the data-dependent proxies.
    pub batch: Option<&'a ImageBatch>,
    /// Seed of every network's initial weights (the same stream for each network).
    pub seed: u64,
}

/// One network being scored: its initial weights and the passes already computed.
pub struct ArchScoring<'a> {
    pub net: &'a dyn Network,
    pub settings: &'a ScoreSettings<'a>,
    pub params: HostParams,
    cross_entropy: Option<PassResult>,
}

impl<'a> ArchScoring<'a> {
    pub fn new(net: &'a dyn Network, settings: &'a ScoreSettings<'a>) -> Self {
        Self {
            net,
            params: net.initial_params(settings.seed),
            settings,
            cross_entropy: None,
        }
    }

    pub fn batch(&self, proxy: &'static str) -> Result<&'a ImageBatch, ProxyError> {
        self.settings.batch.ok_or(ProxyError::NeedsData { proxy })
    }

    /// The cross-entropy pass of the batch (float32, train-mode BN, layer outputs probed),
    /// shared by snip, grad_norm and fisher as in the zero-cost-proxy code.
    pub fn cross_entropy_pass(&mut self, proxy: &'static str) -> Result<&PassResult, ProxyError> {
        if self.cross_entropy.is_none() {
            let spec = PassSpec {
                precision: Precision::F32,
                bn: BnMode::Train,
                transform: |v| v,
                input: Input::Batch(self.batch(proxy)?),
                cross_entropy: true,
                input_grad: false,
                weight_grads: true,
                probe: Some(ProbeSum::Fisher),
                relu: ReluMasks::Plain,
            };
            self.cross_entropy = Some(pass::run(
                self.net,
                &self.params,
                spec,
                self.settings.device,
            )?);
        }
        Ok(self.cross_entropy.as_ref().expect("computed above"))
    }

    /// Runs `proxies` on this network, in order, each with the seconds it took (a pass
    /// shared by several proxies counts for the first that needs it).
    pub fn score_all(
        &mut self,
        proxies: &[&dyn NetworkProxy],
    ) -> Result<Vec<(ProxyValue, f64)>, ProxyError> {
        proxies
            .iter()
            .map(|p| {
                let t = std::time::Instant::now();
                p.score(self).map(|v| (v, t.elapsed().as_secs_f64()))
            })
            .collect()
    }
}

/// Sum over all weights of `f(w, g)`.
pub fn weight_sum(
    params: &HostParams,
    net: &dyn Network,
    grads: &[Vec<f64>],
    f: impl Fn(f64, f64) -> f64,
) -> f64 {
    pass::weight_ids(net)
        .iter()
        .zip(grads)
        .map(|(id, g)| {
            params
                .get(*id)
                .iter()
                .zip(g)
                .map(|(&w, &g)| f(w, g))
                .sum::<f64>()
        })
        .sum()
}
