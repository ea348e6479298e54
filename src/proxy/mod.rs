//! Saliencies of the architecture parameters. Each proxy lives in its own file behind
//! [`Proxy`]; they share the gradient pass in [`pass`].

pub mod grasp;
pub mod pass;
pub mod snip;
pub mod synflow;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::data::cifar::ImageBatch;
use crate::nn::ctx::{BnMode, Precision};
use crate::supernet::{Supernet, SupernetState};

pub use grasp::Grasp;
pub use snip::Snip;
pub use synflow::SynFlow;

/// Scores of one alpha matrix.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupScores {
    pub name: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// Alpha at which the gradient was taken (after any abs), row-major.
    #[serde(deserialize_with = "crate::util::nan_null::vec")]
    pub alpha: Vec<f64>,
    /// d objective / d alpha.
    #[serde(deserialize_with = "crate::util::nan_null::vec")]
    pub grad: Vec<f64>,
    /// Hessian-gradient product (GraSP only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::util::nan_null::option_vec"
    )]
    pub hessian_grad: Option<Vec<f64>>,
    /// The saliency; larger is better.
    #[serde(deserialize_with = "crate::util::nan_null::vec")]
    pub score: Vec<f64>,
    /// score divided by the largest |score| of its row (0 for an all-zero row): comparable
    /// across edges, which raw scores are not.
    #[serde(deserialize_with = "crate::util::nan_null::vec")]
    pub normalised: Vec<f64>,
    /// Rank of each op within its row, 1 = best (ties share the better rank).
    pub rank: Vec<usize>,
}

impl GroupScores {
    /// Scores of one alpha group; the row-wise normalisation and ranks are derived here.
    pub fn new(
        group: crate::supernet::AlphaGroup,
        alpha: Vec<f64>,
        grad: Vec<f64>,
        hessian_grad: Option<Vec<f64>>,
        score: Vec<f64>,
    ) -> Self {
        let cols = group.cols.len();
        let mut normalised = Vec::with_capacity(score.len());
        let mut rank = Vec::with_capacity(score.len());
        for row in score.chunks(cols) {
            let scale = row.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            normalised.extend(
                row.iter()
                    .map(|v| if scale > 0.0 { v / scale } else { 0.0 }),
            );
            rank.extend(
                row.iter()
                    .map(|v| 1 + row.iter().filter(|w| *w > v).count()),
            );
        }
        Self {
            name: group.name,
            rows: group.rows,
            cols: group.cols.iter().map(|c| c.to_string()).collect(),
            alpha,
            grad,
            hessian_grad,
            score,
            normalised,
            rank,
        }
    }

    pub fn n_cols(&self) -> usize {
        self.cols.len()
    }

    pub fn row(&self, r: usize) -> &[f64] {
        let c = self.n_cols();
        &self.score[r * c..(r + 1) * c]
    }
}

/// Result of scoring a supernet with one proxy.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProxyOutput {
    pub proxy: String,
    /// What was differentiated: `R` (SynFlow's summed logits) or `L` (cross-entropy).
    pub objective_name: String,
    #[serde(deserialize_with = "crate::util::nan_null::f64")]
    pub objective: f64,
    pub groups: Vec<GroupScores>,
    /// Logits of the scoring pass, row-major [N, classes].
    #[serde(skip)]
    pub logits: Vec<f64>,
    /// Precision the numbers were computed in.
    pub precision: Precision,
    /// Notes on how this proxy ran (for the report).
    pub notes: Vec<String>,
}

/// Everything besides the network that a proxy may use.
pub struct ScoreContext<'a> {
    pub device: &'a Device,
    pub precision: Precision,
    pub bn: BnMode,
    /// Real (or synthetic) images for the data-dependent proxies.
    pub batch: Option<&'a ImageBatch>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("proxy `{proxy}` needs a batch of images: pass --data PATH (or --data synthetic)")]
    NeedsData { proxy: &'static str },
    #[error(
        "the image batch is {got:?} (C, H, W) but the supernet expects {expected:?}; check --input-size"
    )]
    InputShape {
        got: [usize; 3],
        expected: [usize; 3],
    },
    #[error(
        "label {label} of image {index} is out of range for {classes} classes; check --classes"
    )]
    Label {
        label: i64,
        index: usize,
        classes: usize,
    },
}

/// A saliency criterion on alpha.
pub trait Proxy {
    /// Name used on the command line and in reports.
    fn name(&self) -> &'static str;
    /// Whether the proxy needs real images.
    fn needs_data(&self) -> bool;
    fn score(
        &self,
        net: &dyn Supernet,
        state: &SupernetState,
        ctx: &ScoreContext,
    ) -> Result<ProxyOutput, ProxyError>;
}
