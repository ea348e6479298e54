//! Numerical health checks on a proxy's output. A score that is round-off, NaN or a pure
//! tie-break is reported, never silently turned into an architecture.

use serde::{Deserialize, Serialize};

use crate::saliency::alpha::ProxyOutput;
use crate::spaces::derive::{Derivation, EdgeDecision};

/// How serious a finding is.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The architecture may not mean what it seems to.
    Warning,
    /// A check passed; reported so the reader knows it was made.
    Note,
}

/// One finding, with what to do about it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Warning {
    pub level: Level,
    /// Stable identifier: `non_finite`, `alpha_insensitive`, `zero_row`, `tie`,
    /// `precision_agrees` or `precision_disagrees`.
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// Headroom over the unit round-off before a first-order effect counts as signal: a sum over
/// a few thousand terms can accumulate this much error.
const ROUNDOFF_FACTOR: f64 = 64.0;

/// Checks the objective, gradients and scores, and the per-row decisions of each group
/// (`decisions[g]` belongs to `output.groups[g]`).
pub fn check(output: &ProxyOutput, decisions: &[Vec<EdgeDecision>]) -> Vec<Warning> {
    let mut warnings = Vec::new();
    // Without a gradient (perturb) only the scores are numbers the derivation depends on.
    let non_finite = if output.gradients {
        !output.objective.is_finite()
            || output
                .groups
                .iter()
                .any(|g| g.grad.iter().chain(&g.score).any(|v| !v.is_finite()))
    } else {
        output
            .groups
            .iter()
            .any(|g| g.score.iter().any(|v| !v.is_finite()))
    };
    if non_finite {
        warnings.push(Warning {
            level: Level::Warning,
            code: "non_finite".into(),
            message: format!(
                "{} produced NaN or infinite values (objective {} = {}); the derived \
                 architecture is meaningless",
                output.proxy, output.objective_name, output.objective
            ),
            remedy: Some(
                "use the default alpha initialisation (1e-3 * N(0,1)) or --dtype f64".into(),
            ),
        });
        return warnings;
    }

    // First-order change of the objective if every alpha went to zero: when it is below the
    // round-off of the objective itself, the gradients carry no information about alpha.
    let sensitivity = output
        .groups
        .iter()
        .flat_map(|g| g.alpha.iter().zip(&g.grad).map(|(a, d)| (a * d).abs()))
        .fold(0.0, f64::max);
    let roundoff = output.objective.abs() * output.precision.epsilon() * ROUNDOFF_FACTOR;
    if output.gradients && sensitivity <= roundoff {
        warnings.push(Warning {
            level: Level::Warning,
            code: "alpha_insensitive".into(),
            message: format!(
                "the objective barely depends on alpha: max |alpha * d{0}/dalpha| = {1:.3e} is \
                 below the round-off of {0} = {2:.6e} ({3:.1e}); the scores are round-off, \
                 not signal",
                output.objective_name, sensitivity, output.objective, roundoff
            ),
            remedy: Some(
                "score with --bn eval or --bn none, or check with --dtype f64 whether the \
                 architecture changes"
                    .into(),
            ),
        });
    }

    for (group, rows) in output.groups.iter().zip(decisions) {
        let zero_rows: Vec<usize> = (0..group.rows.len())
            .filter(|&r| group.row(r).iter().all(|&v| v == 0.0))
            .collect();
        if !zero_rows.is_empty() {
            let labels: Vec<&str> = zero_rows.iter().map(|&r| group.rows[r].as_str()).collect();
            let decided: Vec<String> = rows
                .iter()
                .filter(|d| zero_rows.contains(&d.row))
                .map(|d| format!("{} on {}", group.cols[d.winner], group.rows[d.row]))
                .collect();
            let consequence = if decided.is_empty() {
                "no kept op depends on them".to_string()
            } else {
                format!(
                    "these choices are only the tie-break: {}",
                    decided.join(", ")
                )
            };
            warnings.push(Warning {
                level: Level::Warning,
                code: "zero_row".into(),
                message: format!(
                    "{}: every score of edge(s) {} is exactly 0; {consequence}",
                    group.name,
                    labels.join(", ")
                ),
                remedy: None,
            });
        }
        for d in rows.iter().filter(|d| d.tie && !zero_rows.contains(&d.row)) {
            warnings.push(Warning {
                level: Level::Warning,
                code: "tie".into(),
                message: format!(
                    "{} edge {}: {} and {} tie at {:.6e}; the first one was kept",
                    group.name,
                    group.rows[d.row],
                    group.cols[d.winner],
                    group.cols[d.runner_up.unwrap_or(d.winner)],
                    d.winner_score
                ),
                remedy: None,
            });
        }
    }
    warnings
}

/// Compares a run with its float64 repeat: a changed architecture means the float32 scores
/// decided on round-off. Always reports how far the scores moved.
pub fn compare_precisions(
    run: &ProxyOutput,
    run_derivation: &Derivation,
    exact: &ProxyOutput,
    exact_derivation: &Derivation,
) -> Vec<Warning> {
    let mut worst = 0.0_f64;
    for (a, b) in run.groups.iter().zip(&exact.groups) {
        let scale = b.score.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        for (x, y) in a.score.iter().zip(&b.score) {
            if scale > 0.0 {
                worst = worst.max((x - y).abs() / scale);
            }
        }
    }
    let (ours, theirs) = (
        run_derivation.architecture_text(),
        exact_derivation.architecture_text(),
    );
    if ours == theirs {
        vec![Warning {
            level: Level::Note,
            code: "precision_agrees".into(),
            message: format!(
                "float64 repeat derives the same architecture (scores differ by at most {worst:.1e} of the largest)"
            ),
            remedy: None,
        }]
    } else {
        vec![Warning {
            level: Level::Warning,
            code: "precision_disagrees".into(),
            message: format!(
                "float64 repeat derives a different architecture (scores differ by up to {worst:.1e} of the largest): {theirs}"
            ),
            remedy: Some("the float32 decisions rest on round-off: use --dtype f64, or --bn eval / --bn none".into()),
        }]
    }
}
