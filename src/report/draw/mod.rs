//! Pictures of search results: derived cells (SVG and Graphviz DOT) and score matrices (SVG).
//!
//! The score heatmaps are drawn with `plotters`, like the correlation scatter plots; the cell
//! pictures are a small hand-written SVG of their own, because a graph with curved, dashed,
//! arrow-headed edges is not a chart and plotters has none of those primitives. Neither needs a
//! font, script or style sheet from elsewhere, so the pictures render offline; neither carries
//! an XML declaration, so the same text can be written to a `.svg` file or inlined into the HTML
//! report as it is. Neither defines ids either, so several pictures on one page cannot resolve
//! each other's references.

mod cell;
mod heatmap;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

pub use cell::cell_svg;
pub use heatmap::heatmap_svg;

pub use crate::spaces::graph::CellGraph;

/// Broad kind of a candidate operation; edges are coloured by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpFamily {
    /// Convolutions (`nor_conv_3x3`, `sep_conv_5x5`, `dil_conv_3x3`, ...).
    Conv,
    /// Pooling (`avg_pool_3x3`, `max_pool_3x3`).
    Pool,
    /// Identity (`skip_connect`).
    Skip,
    /// The `none` op, which means "no connection".
    Zero,
    /// Any op name not recognised above.
    Other,
}

impl OpFamily {
    /// Family of an op as NAS-Bench-201 and DARTS spell op names.
    pub fn of(op: &str) -> Self {
        let op = op.trim().to_ascii_lowercase();
        if matches!(op.as_str(), "none" | "zero" | "zeroize") {
            Self::Zero
        } else if op.contains("skip") || op == "identity" {
            Self::Skip
        } else if op.contains("pool") {
            Self::Pool
        } else if op.contains("conv") {
            Self::Conv
        } else {
            Self::Other
        }
    }

    /// Stroke colour of edges of this family (hex RGB, shared by the SVG and DOT pictures).
    pub fn colour(self) -> &'static str {
        match self {
            Self::Conv => "#2b6cb0",
            Self::Pool => "#2f855a",
            Self::Skip => "#dd6b20",
            Self::Zero => "#b5b5b5",
            Self::Other => "#805ad5",
        }
    }

    /// Name shown in legends.
    pub fn legend(self) -> &'static str {
        match self {
            Self::Conv => "convolution",
            Self::Pool => "pooling",
            Self::Skip => "skip",
            Self::Zero => "none (no connection)",
            Self::Other => "other op",
        }
    }

    /// Short ASCII key used in class names.
    fn key(self) -> &'static str {
        match self {
            Self::Conv => "conv",
            Self::Pool => "pool",
            Self::Skip => "skip",
            Self::Zero => "none",
            Self::Other => "other",
        }
    }

    /// Text colour for op labels: the `none` grey is too pale to read as text.
    fn text_colour(self) -> &'static str {
        match self {
            Self::Zero => "#8a8a8a",
            other => other.colour(),
        }
    }
}

const INPUT_FILL: &str = "#d6e8fa";
const INPUT_STROKE: &str = "#3b73b9";
const MID_FILL: &str = "#ececec";
const MID_STROKE: &str = "#808080";
const OUTPUT_FILL: &str = "#ffe97a";
const OUTPUT_STROKE: &str = "#b7950b";
const CONCAT_COLOUR: &str = "#555555";

/// Average advance of a sans-serif glyph in em. There are no font metrics at hand, so widths
/// are estimated from character counts, on the generous side so that boxes never clip text.
const CHAR_EM: f64 = 0.62;

fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * CHAR_EM
}

/// The character XML 1.0 allows in place of `c`: a single stray control character would make
/// the whole picture unreadable, so those become U+FFFD.
fn xml_char(c: char) -> char {
    let forbidden = ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
        || c == '\u{FFFE}'
        || c == '\u{FFFF}';
    if forbidden { '\u{FFFD}' } else { c }
}

/// Escapes text for XML content and attribute values; characters XML 1.0 forbids become U+FFFD.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().map(xml_char) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Quotes a string as a DOT id: everything is quoted so that keywords (`node`, `edge`) and
/// punctuation in labels can't change the meaning of the file.
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            // Graphviz expands `\N`, `\G`, `\l` etc. inside labels; a doubled backslash keeps
            // a literal one.
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The cell as a Graphviz `digraph` (left to right).
///
/// Inputs are light-blue boxes, intermediates light-grey ellipses, the output (if any) a yellow
/// box fed by dashed edges from the `concat` nodes; edge labels are op names and edge colours
/// follow [`OpFamily`]. Edges whose op is `none` are drawn, greyed and dashed, rather than
/// omitted: in NAS-Bench-201 a `none` edge is part of the architecture string and hiding it
/// would make two different cells look alike. Edges or concat entries whose indices are out of
/// range are skipped.
pub fn cell_dot(g: &CellGraph) -> String {
    let n_graph = g.inputs.len() + g.intermediates.len();
    let id = |i: usize| dot_quote(&format!("v{i}"));
    let mut s = String::new();
    let _ = writeln!(s, "digraph {} {{", dot_quote(&g.title));
    let _ = writeln!(
        s,
        "  graph [rankdir=LR, label={}, labelloc=t, fontname=\"sans-serif\", nodesep=0.35, ranksep=0.7];",
        dot_quote(&g.title)
    );
    let _ = writeln!(s, "  node [fontname=\"sans-serif\", fontsize=12];");
    let _ = writeln!(s, "  edge [fontname=\"sans-serif\", fontsize=10];");
    for (i, label) in g.inputs.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {} [label={}, shape=box, style=\"filled,rounded\", fillcolor=\"{INPUT_FILL}\", color=\"{INPUT_STROKE}\"];",
            id(i),
            dot_quote(label)
        );
    }
    if g.inputs.len() > 1 {
        // Inputs side by side in the first rank, as in the DARTS paper's figures.
        let ids: Vec<String> = (0..g.inputs.len()).map(id).collect();
        let _ = writeln!(s, "  {{ rank=same; {}; }}", ids.join("; "));
    }
    for (k, label) in g.intermediates.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {} [label={}, shape=ellipse, style=filled, fillcolor=\"{MID_FILL}\", color=\"{MID_STROKE}\"];",
            id(g.inputs.len() + k),
            dot_quote(label)
        );
    }
    let out_id = dot_quote("out");
    if let Some(label) = &g.output {
        let _ = writeln!(
            s,
            "  {out_id} [label={}, shape=box, style=filled, fillcolor=\"{OUTPUT_FILL}\", color=\"{OUTPUT_STROKE}\"];",
            dot_quote(label)
        );
    }
    for (from, to, op) in &g.edges {
        if *from >= n_graph || *to >= n_graph {
            continue;
        }
        let fam = OpFamily::of(op);
        let style = if fam == OpFamily::Zero {
            ", style=dashed"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "  {} -> {} [label={}, color=\"{}\", fontcolor=\"{}\"{style}];",
            id(*from),
            id(*to),
            dot_quote(op),
            fam.colour(),
            fam.text_colour()
        );
    }
    if g.output.is_some() {
        for c in dedup_in_range(&g.concat, n_graph) {
            let _ = writeln!(
                s,
                "  {} -> {out_id} [style=dashed, color=\"{CONCAT_COLOUR}\"];",
                id(c)
            );
        }
    }
    s.push_str("}\n");
    s
}

/// Concat indices in range, each once, in first-seen order.
fn dedup_in_range(concat: &[usize], n: usize) -> Vec<usize> {
    let mut seen = vec![false; n];
    let mut out = Vec::new();
    for &c in concat {
        if c < n && !seen[c] {
            seen[c] = true;
            out.push(c);
        }
    }
    out
}
