//! Saliencies of the architecture parameters: a measure's per-element scores laid out as the
//! supernet's alpha matrices, what a search derives its architecture from.

use serde::{Deserialize, Serialize};

use crate::nn::ctx::Precision;
use crate::nn::model::AlphaGroup;

use super::{Measure, SaliencyError, Scoring, Target};

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
        group: AlphaGroup,
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
    /// The procedure followed: `defined`, `official-nb201` or `official-darts`.
    #[serde(default = "defined")]
    pub procedure: String,
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
    /// Whether `grad` holds gradients; false for a strategy that scores without one
    /// (`perturb`), whose `grad` is NaN throughout.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub gradients: bool,
}

fn defined() -> String {
    "defined".into()
}

fn yes() -> bool {
    true
}

fn is_true(v: &bool) -> bool {
    *v
}

/// Scores every alpha of the supernet of `s` with `measure`.
pub fn score_alpha(
    measure: &dyn Measure,
    s: &mut Scoring,
    target: Target,
) -> Result<ProxyOutput, SaliencyError> {
    if !measure.per_element() {
        return Err(SaliencyError::NetworkOnly {
            measure: measure.name(),
        });
    }
    let mut saliency = measure.score(s, target)?;
    if s.procedure != super::Procedure::Defined
        && !saliency.notes.iter().any(|n| n.starts_with("official"))
    {
        saliency.notes.push(format!(
            "official notebook: the same computation as the defined {}",
            measure.name()
        ));
    }
    let layout = s.store.layout().clone();
    let groups = s
        .model
        .alpha_groups()
        .into_iter()
        .map(|g| {
            let storage = layout.slot(g.id).expect("alpha is stored").storage;
            let t = saliency
                .tensors
                .iter()
                .find(|t| t.storage == storage)
                .expect("the measure differentiated every alpha");
            GroupScores::new(
                g,
                t.value.clone(),
                t.grad.clone(),
                t.hessian_grad.clone(),
                t.score.clone(),
            )
        })
        .collect();
    let (objective_name, objective) = saliency.objective.unwrap_or(("", f64::NAN));
    Ok(ProxyOutput {
        proxy: measure.name().into(),
        procedure: s.procedure.name().into(),
        objective_name: objective_name.into(),
        objective,
        groups,
        logits: saliency.logits,
        precision: saliency.precision.unwrap_or(Precision::F32),
        notes: saliency.notes,
        gradients: true,
    })
}
