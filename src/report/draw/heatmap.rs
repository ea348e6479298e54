//! A matrix of scores as a heatmap, drawn with plotters (as the correlation scatter plots are).
//!
//! plotters without its font features writes text as SVG `<text>` and leaves the glyphs to
//! the viewer, so label widths here are estimated from character counts, as in the cells. It
//! has no gradients, so the colour bar is a stack of thin slices.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{text_width, xml_char};

pub(super) const SEQUENTIAL: [[u8; 3]; 9] = [
    // viridis, sampled at nine points: perceptually even and readable in greyscale
    [0x44, 0x01, 0x54],
    [0x47, 0x2d, 0x7b],
    [0x3b, 0x52, 0x8b],
    [0x2c, 0x72, 0x8e],
    [0x21, 0x91, 0x8c],
    [0x28, 0xae, 0x80],
    [0x5e, 0xc9, 0x62],
    [0xad, 0xdc, 0x30],
    [0xfd, 0xe7, 0x25],
];
pub(super) const DIVERGING: [[u8; 3]; 9] = [
    // blue (negative) - white - red (positive), after ColorBrewer RdBu
    [0x21, 0x66, 0xac],
    [0x43, 0x93, 0xc3],
    [0x92, 0xc5, 0xde],
    [0xd1, 0xe5, 0xf0],
    [0xf7, 0xf7, 0xf7],
    [0xfd, 0xdb, 0xc7],
    [0xf4, 0xa5, 0x82],
    [0xd6, 0x60, 0x4d],
    [0xb2, 0x18, 0x2b],
];
/// Exact zeros: a mid grey, distinct from both ramps (the diverging ramp's centre is white).
const ZERO_FILL: RGBColor = RGBColor(0xa8, 0xa8, 0xa8);
const NAN_FILL: RGBColor = RGBColor(0xff, 0x00, 0xff);
const TEXT: RGBColor = RGBColor(0x22, 0x22, 0x22);
const KEPT: RGBColor = RGBColor(0x11, 0x11, 0x11);

const MARGIN: i32 = 16;
const CELL_H: i32 = 22;
const BAR_W: i32 = 14;
/// Height of one slice of the colour bar.
const SLICE: i32 = 3;
/// Font sizes in pixels. The SVG backend writes a font's size divided by 1.24 (its em box),
/// so [`font`] multiplies by that; these sizes come out as whole numbers.
const FONT_TITLE: f64 = 14.0;
const FONT_LABEL: f64 = 11.0;
const FONT_VALUE: f64 = 10.0;

pub(super) fn ramp(anchors: &[[u8; 3]; 9], t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let pos = t * (anchors.len() - 1) as f64;
    let i = (pos.floor() as usize).min(anchors.len() - 2);
    let f = pos - i as f64;
    let mix = |k: usize| {
        let (a, b) = (f64::from(anchors[i][k]), f64::from(anchors[i + 1][k]));
        (a + (b - a) * f).round() as u8
    };
    RGBColor(mix(0), mix(1), mix(2))
}

/// How values map to colours. Only finite nonzero values are placed on the scale; zeros and
/// non-finite values have colours of their own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Scale {
    /// No finite nonzero value to scale.
    Empty,
    /// Sequential, linear between the smallest and the largest value.
    Linear { lo: f64, hi: f64 },
    /// Sequential on log10 of the values (all positive), between these exponents.
    Log { lo: f64, hi: f64 },
    /// Diverging, linear and symmetric about 0: v / max|v|.
    Diverging { max: f64 },
    /// Diverging on sign(v) * log10(1 + |v| / s), with s the smallest nonzero |v|, normalised
    /// by the same of max|v|: symmetric about 0, and still resolving small values when they
    /// span many decades.
    SymLog { s: f64, max: f64 },
}

impl Scale {
    /// Chooses the scale: diverging if any value is negative (the GraSP score is signed),
    /// logarithmic when the magnitudes span more than three decades, linear otherwise.
    pub fn for_values(values: impl Iterator<Item = f64>) -> Self {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut min_abs, mut max_abs) = (f64::INFINITY, 0.0_f64);
        let mut any = false;
        for v in values.filter(|v| v.is_finite() && *v != 0.0) {
            any = true;
            lo = lo.min(v);
            hi = hi.max(v);
            min_abs = min_abs.min(v.abs());
            max_abs = max_abs.max(v.abs());
        }
        if !any {
            return Self::Empty;
        }
        let wide = max_abs / min_abs > 1e3;
        match (lo < 0.0, wide) {
            (true, true) => Self::SymLog {
                s: min_abs,
                max: max_abs,
            },
            (true, false) => Self::Diverging { max: max_abs },
            (false, true) => Self::Log {
                lo: lo.log10(),
                hi: hi.log10(),
            },
            (false, false) => Self::Linear { lo, hi },
        }
    }

    /// Position of a finite nonzero value on the colour ramp, in 0..=1.
    pub fn position(self, v: f64) -> f64 {
        let t = match self {
            Self::Empty => 0.5,
            Self::Linear { lo, hi } if hi > lo => (v - lo) / (hi - lo),
            Self::Log { lo, hi } if hi > lo => (v.abs().log10() - lo) / (hi - lo),
            Self::Linear { .. } | Self::Log { .. } => 0.5,
            Self::Diverging { max } => 0.5 + 0.5 * v / max,
            Self::SymLog { s, max } => {
                0.5 + 0.5 * v.signum() * (v.abs() / s).ln_1p() / (max / s).ln_1p()
            }
        };
        t.clamp(0.0, 1.0)
    }

    /// The colour at a position of the ramp.
    fn at(self, t: f64) -> RGBColor {
        match self {
            Self::Diverging { .. } | Self::SymLog { .. } => ramp(&DIVERGING, t),
            _ => ramp(&SEQUENTIAL, t),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Empty => "no nonzero finite values",
            Self::Linear { .. } => "linear scale",
            Self::Log { .. } => "log10 scale",
            Self::Diverging { .. } => "diverging linear scale, symmetric about 0",
            Self::SymLog { .. } => {
                "diverging scale on sign(v)\u{b7}log10(1+|v|/s), symmetric about 0"
            }
        }
    }

    /// Colour-bar ticks, bottom to top, as (position 0..=1, text).
    pub fn ticks(self) -> Vec<(f64, String)> {
        match self {
            Self::Empty => Vec::new(),
            Self::Linear { lo, hi } => vec![(0.0, fmt_value(lo)), (1.0, fmt_value(hi))],
            Self::Log { lo, hi } => {
                let mut ticks = vec![(0.0, fmt_value(10f64.powf(lo)))];
                // Whole decades in between, at most about eight, and not so close to the ends
                // that their labels would run into the min/max labels.
                let (first, last) = (lo.ceil() as i32, hi.floor() as i32);
                let step = (((hi - lo) / 8.0).ceil() as i32).max(1);
                let mut e = first;
                while e <= last {
                    let t = (f64::from(e) - lo) / (hi - lo);
                    if (0.07..=0.93).contains(&t) {
                        let text = if (-3..5).contains(&e) {
                            fmt_value(10f64.powi(e))
                        } else {
                            format!("1e{e}")
                        };
                        ticks.push((t, text));
                    }
                    e += step;
                }
                ticks.push((1.0, fmt_value(10f64.powf(hi))));
                ticks
            }
            Self::Diverging { max } | Self::SymLog { max, .. } => vec![
                (0.0, fmt_value(-max)),
                (0.5, "0".to_string()),
                (1.0, fmt_value(max)),
            ],
        }
    }
}

/// A value for cells and ticks: four significant digits, scientific outside 1e-3..1e5.
pub(super) fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+inf" } else { "-inf" }.to_string();
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{v:.3e}")
    }
}

/// A font of `px` pixels as the SVG will state it.
fn font(px: f64) -> FontDesc<'static> {
    ("sans-serif", px * 1.24).into_font()
}

fn width(text: &str, px: f64) -> i32 {
    text_width(text, px).ceil() as i32
}

/// plotters escapes the five XML entities itself but passes control characters through.
fn clean(text: &str) -> String {
    text.chars().map(xml_char).collect()
}

/// Black text on light fills, white on dark ones.
fn ink(fill: RGBColor) -> RGBColor {
    let RGBColor(r, g, b) = fill;
    let luma = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
    if luma < 130.0 { WHITE } else { TEXT }
}

/// What drawing on the SVG backend returns; its errors are the backend's I/O errors.
type Drawn = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// The drawing area, with the few shapes a heatmap is made of, in pixels from the top left.
struct Canvas<'a>(DrawingArea<SVGBackend<'a>, plotters::coord::Shift>);

impl Canvas<'_> {
    fn text(
        &self,
        s: &str,
        at: (i32, i32),
        f: FontDesc,
        ink: RGBColor,
        anchor: (HPos, VPos),
    ) -> Drawn {
        let style = f.color(&ink).pos(Pos::new(anchor.0, anchor.1));
        self.0.draw(&Text::new(clean(s), at, style))
    }

    fn fill(&self, from: (i32, i32), to: (i32, i32), colour: RGBColor) -> Drawn {
        self.0.draw(&Rectangle::new([from, to], colour.filled()))
    }

    /// A rectangle's outline. plotters' own outlined rectangle has no stroke width, so this is
    /// a closed line, taken round once more to the second corner so that the first corner is
    /// joined like the others.
    fn outline(
        &self,
        (x0, y0): (i32, i32),
        (x1, y1): (i32, i32),
        colour: RGBColor,
        stroke: u32,
    ) -> Drawn {
        let path = vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0), (x1, y0)];
        self.0
            .draw(&PathElement::new(path, colour.stroke_width(stroke)))
    }
}

enum Swatch {
    /// Text only.
    None,
    Fill(RGBColor),
    /// The outline of the kept cells.
    Outline,
}

/// A matrix of scores as an SVG heatmap.
///
/// `values` is row-major with `rows.len() * cols.len()` entries; missing entries are drawn like
/// NaN and extra ones ignored. Each cell shows its value. Finite nonzero values are coloured on
/// a sequential (viridis) scale, logarithmic in |value| when they span more than three decades
/// and linear otherwise; if any value is negative the scale is diverging blue-white-red and
/// symmetric about 0, linear or, over more than three decades, on sign(v)·log10(1 + |v|/s) with
/// s the smallest nonzero |v|. Exact zeros are grey, NaN, infinities and missing entries
/// magenta; both are counted in the legend. The `kept` cells (row, column) are outlined
/// thickly (out-of-range entries are ignored). A colour bar shows the scale.
pub fn heatmap_svg(
    title: &str,
    rows: &[String],
    cols: &[String],
    values: &[f64],
    kept: &[(usize, usize)],
) -> String {
    let (nr, nc) = (rows.len(), cols.len());
    let scale = Scale::for_values((0..nr * nc).filter_map(|i| values.get(i).copied()));
    let (mut zeros, mut bad) = (0usize, Vec::new());
    for i in 0..nr * nc {
        match values.get(i) {
            None => bad.push("missing"),
            Some(v) if v.is_nan() => bad.push("NaN"),
            Some(v) if v.is_infinite() => bad.push("\u{b1}inf"),
            Some(v) if *v == 0.0 => zeros += 1,
            Some(_) => {}
        }
    }
    let mut kept: Vec<(usize, usize)> = kept
        .iter()
        .copied()
        .filter(|&(r, c)| r < nr && c < nc)
        .collect();
    kept.sort_unstable();
    kept.dedup();

    let mut legend = vec![(Swatch::None, format!("colours: {}", scale.describe()))];
    if zeros > 0 {
        legend.push((Swatch::Fill(ZERO_FILL), format!("exact zero ({zeros})")));
    }
    if !bad.is_empty() {
        let kinds: Vec<&str> = ["NaN", "\u{b1}inf", "missing"]
            .into_iter()
            .filter(|k| bad.contains(k))
            .collect();
        let text = format!("{} ({})", kinds.join(" / "), bad.len());
        legend.push((Swatch::Fill(NAN_FILL), text));
    }
    if !kept.is_empty() {
        legend.push((Swatch::Outline, format!("kept ({})", kept.len())));
    }

    let texts: Vec<String> = (0..nr * nc)
        .map(|i| {
            values
                .get(i)
                .map_or_else(|| "missing".into(), |v| fmt_value(*v))
        })
        .collect();
    let cell_w = cols
        .iter()
        .map(|c| width(c, FONT_LABEL) + 10)
        .chain(texts.iter().map(|t| width(t, FONT_VALUE) + 8))
        .fold(52, i32::max);
    let row_w = rows.iter().map(|r| width(r, FONT_LABEL)).fold(0, i32::max);
    let title_h = if title.is_empty() { 0 } else { 26 };
    let grid_left = MARGIN + row_w + 8;
    let grid_top = MARGIN + title_h + 20;
    let (grid_w, grid_h) = (nc as i32 * cell_w, nr as i32 * CELL_H);
    let bar_x = grid_left + grid_w + 20;
    let slices = (grid_h.max(96) + SLICE - 1) / SLICE;
    let bar_h = slices * SLICE;
    let ticks = scale.ticks();
    let tick_w = ticks
        .iter()
        .map(|t| width(&t.1, FONT_LABEL))
        .fold(0, i32::max);
    let swatch_w = |s: &Swatch| if matches!(s, Swatch::None) { 0 } else { 28 };
    let item_w = |(s, t): &(Swatch, String)| swatch_w(s) + width(t, FONT_LABEL) + 16;
    let w = (bar_x + BAR_W + 7 + tick_w + MARGIN)
        .max(2 * MARGIN + width(title, FONT_TITLE))
        .max(2 * MARGIN + legend.iter().map(item_w).sum::<i32>().min(560))
        .max(200);
    // The legend wraps at the picture's width: lay it out first to know the height.
    let mut at = Vec::new();
    let (mut x, mut y) = (MARGIN, grid_top + grid_h.max(bar_h) + 16);
    for item in &legend {
        if x > MARGIN && x + item_w(item) > w - MARGIN {
            x = MARGIN;
            y += 18;
        }
        at.push((x, y));
        x += item_w(item);
    }
    let h = y + 18 + MARGIN;

    let mut svg = String::new();
    {
        let canvas =
            Canvas(SVGBackend::with_string(&mut svg, (w as u32, h as u32)).into_drawing_area());
        let draw = || -> Drawn {
            let (label, centre) = (font(FONT_LABEL), (HPos::Center, VPos::Center));
            let (left, right) = ((HPos::Left, VPos::Center), (HPos::Right, VPos::Center));
            canvas.0.fill(&WHITE)?;
            if !title.is_empty() {
                let bold = font(FONT_TITLE).style(FontStyle::Bold);
                canvas.text(title, (MARGIN, MARGIN + 9), bold, TEXT, left)?;
            }
            for (c, name) in cols.iter().enumerate() {
                let x = grid_left + c as i32 * cell_w + cell_w / 2;
                canvas.text(name, (x, grid_top - 10), label.clone(), TEXT, centre)?;
            }
            for (r, name) in rows.iter().enumerate() {
                let y = grid_top + r as i32 * CELL_H + CELL_H / 2;
                canvas.text(name, (grid_left - 6, y), label.clone(), TEXT, right)?;
            }
            for r in 0..nr {
                for c in 0..nc {
                    let fill = match values.get(r * nc + c) {
                        Some(&v) if v.is_finite() && v != 0.0 => scale.at(scale.position(v)),
                        Some(v) if v.is_finite() => ZERO_FILL,
                        _ => NAN_FILL,
                    };
                    let (x, y) = (grid_left + c as i32 * cell_w, grid_top + r as i32 * CELL_H);
                    // One pixel short on each side: a white grid between the cells.
                    canvas.fill((x + 1, y + 1), (x + cell_w - 1, y + CELL_H - 1), fill)?;
                    let mid = (x + cell_w / 2, y + CELL_H / 2);
                    canvas.text(&texts[r * nc + c], mid, font(FONT_VALUE), ink(fill), centre)?;
                }
            }
            for &(r, c) in &kept {
                let (x, y) = (grid_left + c as i32 * cell_w, grid_top + r as i32 * CELL_H);
                // Inside the cell, so that the outlines of neighbouring kept cells stay apart.
                canvas.outline((x + 2, y + 2), (x + cell_w - 2, y + CELL_H - 2), KEPT, 3)?;
            }
            if scale != Scale::Empty {
                for k in 0..slices {
                    let t = (f64::from(k) + 0.5) / f64::from(slices);
                    let y = grid_top + bar_h - k * SLICE;
                    canvas.fill((bar_x, y - SLICE), (bar_x + BAR_W, y), scale.at(t))?;
                }
            }
            let frame = RGBColor(0x77, 0x77, 0x77);
            canvas.outline(
                (bar_x, grid_top),
                (bar_x + BAR_W, grid_top + bar_h),
                frame,
                1,
            )?;
            for (t, tick) in &ticks {
                let y = grid_top + ((1.0 - t) * f64::from(bar_h)).round() as i32;
                canvas.fill((bar_x + BAR_W, y), (bar_x + BAR_W + 4, y + 1), TEXT)?;
                canvas.text(tick, (bar_x + BAR_W + 7, y), label.clone(), TEXT, left)?;
            }
            for ((swatch, text), &(x, y)) in legend.iter().zip(&at) {
                let mid = y + 9;
                match swatch {
                    Swatch::None => {}
                    Swatch::Fill(c) => canvas.fill((x, mid - 6), (x + 22, mid + 6), *c)?,
                    Swatch::Outline => {
                        canvas.outline((x + 1, mid - 5), (x + 21, mid + 5), KEPT, 3)?
                    }
                }
                let x = x + swatch_w(swatch);
                canvas.text(text, (x, mid), label.clone(), TEXT, left)?;
            }
            canvas.0.present()
        };
        // The backend writes into memory and the fonts are the viewer's: nothing can fail.
        draw().expect("drawing an SVG into a string");
    }
    svg
}
