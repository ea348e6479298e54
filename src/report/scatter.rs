//! Score against accuracy, one panel per proxy: the picture behind a rank correlation.

use plotters::prelude::*;

use crate::correlate::{Correlation, CorrelationReport};

/// Proxies spanning more than this ratio (all values positive) are drawn on a log10 axis;
/// synflow covers dozens of decades and would otherwise be a single column of points.
const LOG_SPAN: f64 = 1e3;

#[derive(Debug, thiserror::Error)]
pub enum ScatterError {
    #[error("no results for accuracy column `{column}`; the report has {available}")]
    Column { column: String, available: String },
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// An SVG with one scatter panel per proxy for `column`, titled with the panel's Kendall tau
/// and Spearman rho.
pub fn scatter_svg(report: &CorrelationReport, column: &str) -> Result<String, ScatterError> {
    let panels: Vec<(&Correlation, &crate::correlate::Sample)> = report
        .results
        .iter()
        .zip(&report.samples)
        .filter(|(r, _)| r.column == column)
        .collect();
    if panels.is_empty() {
        let mut available: Vec<&str> = report.results.iter().map(|r| r.column.as_str()).collect();
        available.dedup();
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
    let (lo, hi) = range(scores);
    let log = lo > 0.0 && hi / lo > LOG_SPAN;
    let x: Vec<f64> = if log {
        scores.iter().map(|v| v.log10()).collect()
    } else {
        scores.to_vec()
    };
    let (x0, x1) = padded(range(&x));
    let (y0, y1) = padded(range(accuracies));
    let caption = format!(
        "{}: tau {:.3}, rho {:.3} (n = {})",
        result.proxy, result.kendall_tau, result.spearman, result.n
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
        .draw()
        .map_err(draw)?;
    let colour = RGBColor(0x0b, 0x5c, 0xad).mix(0.35).filled();
    chart
        .draw_series(
            x.iter()
                .zip(accuracies)
                .map(|(&a, &b)| Circle::new((a, b), 1, colour)),
        )
        .map_err(draw)?;
    Ok(())
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
