//! Score against accuracy, one panel per proxy: the picture behind a rank correlation.

use plotters::prelude::*;

use crate::correlate::{Correlation, CorrelationReport};

/// A proxy whose largest value exceeds its median by more than this factor (and has no
/// negative values) is drawn on a log10 axis: synflow covers dozens of decades and would
/// otherwise be one column of points at zero.
const LOG_SPAN: f64 = 1e3;

#[derive(Debug, thiserror::Error)]
pub enum ScatterError {
    #[error("no results for accuracy column `{column}`; the report has {available}")]
    Column { column: String, available: String },
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// An SVG with one scatter panel per proxy for `column` (default: `cifar10_test` if the report
/// has it, else its first column), titled with the panel's Kendall tau and Spearman rho.
pub fn scatter_svg(
    report: &CorrelationReport,
    column: Option<&str>,
) -> Result<String, ScatterError> {
    let has = |c: &str| report.results.iter().any(|r| r.column == c);
    let column = match column {
        Some(c) => c,
        None if has("cifar10_test") => "cifar10_test",
        None => report.results.first().map_or("", |r| r.column.as_str()),
    };
    let panels: Vec<(&Correlation, &crate::correlate::Sample)> = report
        .results
        .iter()
        .zip(&report.samples)
        .filter(|(r, _)| r.column == column)
        .collect();
    if panels.is_empty() {
        let mut available: Vec<&str> = Vec::new();
        for r in &report.results {
            if !available.contains(&r.column.as_str()) {
                available.push(&r.column);
            }
        }
        return Err(ScatterError::Column {
            column: column.into(),
            available: available.join(", "),
        });
    }
    let cols = panels.len().min(3);
    let rows = panels.len().div_ceil(cols);
    let (w, h) = (420 * cols as u32, 340 * rows as u32);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw)?;
        for (area, (result, sample)) in root.split_evenly((rows, cols)).iter().zip(&panels) {
            panel(area, result, &sample.scores, &sample.accuracies, column)?;
        }
        root.present().map_err(draw)?;
    }
    Ok(svg)
}

fn draw(e: impl std::fmt::Display) -> ScatterError {
    ScatterError::Draw(e.to_string())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    result: &Correlation,
    scores: &[f64],
    accuracies: &[f64],
    column: &str,
) -> Result<(), ScatterError> {
    let log = wants_log(scores);
    // On a log axis exact zeros (a cell cut off from its input has synflow 0) have no place;
    // they are counted in the caption instead.
    let (x, y): (Vec<f64>, Vec<f64>) = scores
        .iter()
        .zip(accuracies)
        .filter(|&(&v, _)| !log || v > 0.0)
        .map(|(&v, &a)| (if log { v.log10() } else { v }, a))
        .unzip();
    let (x0, x1) = padded(range(&x));
    let (y0, y1) = padded(range(&y));
    let hidden = scores.len() - x.len();
    let caption = format!(
        "{}: tau {:.3}, rho {:.3} (n = {}{})",
        result.proxy,
        result.kendall_tau,
        result.spearman,
        result.n,
        if hidden > 0 {
            format!(", {hidden} at 0 not drawn")
        } else {
            String::new()
        }
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw)?;
    let x_desc = if log {
        format!("log10({})", result.proxy)
    } else {
        result.proxy.clone()
    };
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc(x_desc)
        .y_desc(format!("{column} accuracy (%)"))
        .label_style(("sans-serif", 11))
        .x_label_formatter(&|v| tick(*v))
        .x_labels(6)
        .draw()
        .map_err(draw)?;
    let colour = RGBColor(0x0b, 0x5c, 0xad).mix(0.35).filled();
    chart
        .draw_series(
            x.iter()
                .zip(&y)
                .map(|(&a, &b)| Circle::new((a, b), 1, colour)),
        )
        .map_err(draw)?;
    Ok(())
}

fn wants_log(scores: &[f64]) -> bool {
    let mut sorted: Vec<f64> = scores.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else {
        return false;
    };
    let median = sorted[sorted.len() / 2];
    lo >= 0.0 && median > 0.0 && hi / median > LOG_SPAN
}

/// Short tick labels: plain for ordinary magnitudes, scientific otherwise.
fn tick(v: f64) -> String {
    if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) {
        format!("{v:.1e}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn range(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// 3% headroom on each side; an empty or single-valued range gets a unit width.
fn padded((lo, hi): (f64, f64)) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { 0.03 * (hi - lo) } else { 0.5 };
    (lo - pad, hi + pad)
}
