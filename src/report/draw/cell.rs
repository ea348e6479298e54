//! The cell picture: every node in one row in index order (inputs, intermediates, the output).
//!
//! Node indices of a cell are already topological (an edge only reads earlier nodes), so one
//! row in index order is a layered layout with one node per layer. An edge between neighbours
//! is a straight arrow with its op label in the gap; a longer edge is an arc over or under the
//! row (see [`choose_sides`]). An arc rises higher the more nodes it spans: arcs that share an
//! end then nest, and op labels (at the arcs' tops) of different spans sit at different
//! heights; the gap between nodes is wider than any label, so labels of equal span sit side by
//! side.

use std::fmt::Write as _;

use super::{
    CONCAT_COLOUR, CellGraph, INPUT_FILL, INPUT_STROKE, MID_FILL, MID_STROKE, OUTPUT_FILL,
    OUTPUT_STROKE, OpFamily, dedup_in_range, text_width, xml_escape,
};

const MARGIN: f64 = 16.0;
const TITLE_H: f64 = 28.0;
const FONT_TITLE: f64 = 15.0;
const FONT_NODE: f64 = 13.0;
const FONT_OP: f64 = 11.0;
const FONT_LEGEND: f64 = 11.0;
const NODE_H: f64 = 34.0;
const LABEL_H: f64 = 15.0;
/// An arc's top is RISE_BASE + level * RISE_STEP from the row; the step is more than a label's
/// height, so labels of different levels never touch.
const RISE_BASE: f64 = 14.0;
const RISE_STEP: f64 = 22.0;
const ARROW: f64 = 8.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EdgeKind {
    Op(OpFamily),
    Concat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Route {
    /// From the right side of a node to the left side of the next one.
    Straight,
    /// Over (or under) the row; `level` is the span, raised further for repeats of an edge.
    Arc { above: bool, level: usize },
}

/// One edge as drawn, from x1 to x2 (on the nodes' sides or their top or bottom faces).
#[derive(Clone, Debug)]
pub(super) struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    pub op: String,
    pub route: Route,
    pub x1: f64,
    pub x2: f64,
}

impl Edge {
    /// The face the edge leaves and meets (y, with the row's top at 0), the outward direction
    /// (-1 is up) and how far the arc's top is from it.
    fn face(&self) -> (f64, f64, f64) {
        match self.route {
            Route::Straight => (NODE_H / 2.0, 0.0, 0.0),
            Route::Arc { above, level } => {
                let rise = RISE_BASE + level as f64 * RISE_STEP;
                if above {
                    (0.0, -1.0, rise)
                } else {
                    (NODE_H, 1.0, rise)
                }
            }
        }
    }

    /// Both ends, as points.
    #[cfg(test)]
    pub fn ends(&self) -> [(f64, f64); 2] {
        let y = self.face().0;
        [(self.x1, y), (self.x2, y)]
    }

    /// Centre of the edge's label: the middle of a straight edge, the top of an arc.
    pub fn middle(&self) -> (f64, f64) {
        let (y, out, rise) = self.face();
        ((self.x1 + self.x2) / 2.0, y + out * rise)
    }

    /// SVG path data of the line, and of the arrowhead at its end.
    fn path(&self) -> (String, String) {
        let (x1, x2) = (self.x1, self.x2);
        let (y, out, rise) = self.face();
        let half = ARROW / 2.0;
        match self.route {
            Route::Straight => {
                let base = x2 - (x2 - x1).signum() * ARROW;
                let (top, bottom) = (y - half, y + half);
                (
                    format!("M{x1:.1},{y:.1} L{base:.1},{y:.1}"),
                    format!("M{base:.1},{top:.1} L{x2:.1},{y:.1} L{base:.1},{bottom:.1} z"),
                )
            }
            Route::Arc { .. } => {
                // One cubic whose ends leave and meet the face at right angles; its midpoint
                // lies at three quarters of the control points' offset.
                let (c, base) = (y + out * rise / 0.75, y + out * ARROW);
                let (left, right) = (x2 - half, x2 + half);
                (
                    format!("M{x1:.1},{y:.1} C{x1:.1},{c:.1} {x2:.1},{c:.1} {x2:.1},{base:.1}"),
                    format!("M{left:.1},{base:.1} L{x2:.1},{y:.1} L{right:.1},{base:.1} z"),
                )
            }
        }
    }
}

/// Axis-aligned box of a node or a label plate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

pub(super) struct Layout {
    /// Node labels and centres (x); all nodes span y = 0..NODE_H.
    pub nodes: Vec<(String, f64)>,
    pub node_w: f64,
    pub edges: Vec<Edge>,
    /// Extents of everything drawn, in layout coordinates.
    pub top: f64,
    pub bottom: f64,
    pub right: f64,
}

impl Layout {
    pub fn node_rect(&self, i: usize) -> Rect {
        Rect {
            x: self.nodes[i].1 - self.node_w / 2.0,
            y: 0.0,
            w: self.node_w,
            h: NODE_H,
        }
    }

    /// The white plate behind an op label.
    pub fn label_rect(&self, e: &Edge) -> Rect {
        let (cx, cy) = e.middle();
        let w = label_w(&e.op);
        Rect {
            x: cx - w / 2.0,
            y: cy - LABEL_H / 2.0,
            w,
            h: LABEL_H,
        }
    }
}

fn label_w(op: &str) -> f64 {
    text_width(op, FONT_OP) + 8.0
}

/// Lays the cell out; edges with an out-of-range end and self-loops are left out (the DOT
/// output still has them).
pub(super) fn layout(g: &CellGraph) -> Layout {
    let n_graph = g.inputs.len() + g.intermediates.len();
    let labels: Vec<&String> = g
        .inputs
        .iter()
        .chain(&g.intermediates)
        .chain(&g.output)
        .collect();
    let node_w = labels
        .iter()
        .map(|l| text_width(l, FONT_NODE) + 20.0)
        .fold(72.0, f64::max);
    let widest_op = g.edges.iter().map(|e| label_w(&e.2)).fold(0.0, f64::max);
    // Room for a label and an arrowhead between neighbours; arc labels of one level are then
    // a pitch apart, so they never touch either.
    let pitch = node_w + (widest_op + 30.0).max(56.0);
    let nodes: Vec<(String, f64)> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| ((*l).clone(), MARGIN + node_w / 2.0 + i as f64 * pitch))
        .collect();

    let mut edges: Vec<Edge> = Vec::new();
    let mut add = |from: usize, to: usize, kind: EdgeKind, op: &str| {
        // An edge repeating the ends of an earlier one (either way round) would put its label
        // on the earlier one's; it is raised past every span, to a level of its own.
        let repeats = edges
            .iter()
            .filter(|e| (e.from.min(e.to), e.from.max(e.to)) == (from.min(to), from.max(to)))
            .count();
        let route = if to == from + 1 && repeats == 0 {
            Route::Straight
        } else {
            // The side is chosen once all arcs are known.
            Route::Arc {
                above: true,
                level: from.abs_diff(to) + repeats * labels.len(),
            }
        };
        edges.push(Edge {
            from,
            to,
            kind,
            op: op.to_string(),
            route,
            x1: 0.0,
            x2: 0.0,
        });
    };
    for (from, to, op) in &g.edges {
        if *from < n_graph && *to < n_graph && from != to {
            add(*from, *to, EdgeKind::Op(OpFamily::of(op)), op);
        }
    }
    if g.output.is_some() {
        for c in dedup_in_range(&g.concat, n_graph) {
            add(c, n_graph, EdgeKind::Concat, "");
        }
    }
    choose_sides(&mut edges, g.inputs.len());
    place_ends(&nodes, node_w, &mut edges);

    let (mut top, mut bottom) = (0.0_f64, NODE_H);
    for e in &edges {
        // Half a label beyond the arc's top; concat arcs have none, but the margin is harmless.
        let y = e.middle().1;
        match e.route {
            Route::Arc { above: true, .. } => top = top.min(y - LABEL_H / 2.0),
            Route::Arc { above: false, .. } => bottom = bottom.max(y + LABEL_H / 2.0),
            Route::Straight => {}
        }
    }
    let right = nodes.last().map_or(MARGIN, |n| n.1 + node_w / 2.0) + MARGIN;
    Layout {
        nodes,
        node_w,
        edges,
        top,
        bottom,
        right,
    }
}

/// Puts each arc over or under the row. The arcs leaving an input get a side of their own
/// (even inputs over, odd ones under): arcs from two inputs to two later nodes would always
/// cross on one side. Every other arc, shortest first, goes to the side where it crosses fewer
/// arcs placed so far; on a tie op arcs go over the row and concat arcs under it. Two arcs on
/// one side cross when exactly one end of one lies strictly between the ends of the other
/// (arcs sharing an end nest, see [`place_ends`]).
fn choose_sides(edges: &mut [Edge], inputs: usize) {
    let ends = |e: &Edge| (e.from.min(e.to), e.from.max(e.to));
    let cross = |(a0, a1): (usize, usize), (b0, b1): (usize, usize)| {
        (a0 < b0 && b0 < a1 && a1 < b1) || (b0 < a0 && a0 < b1 && b1 < a1)
    };
    let (mut placed, mut rest) = (Vec::new(), Vec::new());
    for (i, e) in edges.iter_mut().enumerate() {
        let start = ends(e).0;
        if let Route::Arc { above, .. } = &mut e.route {
            if start < inputs {
                *above = start % 2 == 0;
                placed.push(i);
            } else {
                rest.push(i);
            }
        }
    }
    rest.sort_by_key(|&i| (ends(&edges[i]).1 - ends(&edges[i]).0, i));
    for i in rest {
        let crossings = |side: bool| {
            let on_side =
                |j: &&usize| matches!(edges[**j].route, Route::Arc { above, .. } if above == side);
            let crossed = |j: &&usize| cross(ends(&edges[i]), ends(&edges[**j]));
            placed.iter().filter(on_side).filter(crossed).count()
        };
        let (over, under) = (crossings(true), crossings(false));
        let up = over < under || (over == under && edges[i].kind != EdgeKind::Concat);
        if let Route::Arc { above, .. } = &mut edges[i].route {
            *above = up;
        }
        placed.push(i);
    }
}

/// Places the edge ends. Straight edges meet the middle of the nodes' sides. Arc ends are
/// spread over the top (bottom) face: ends towards the right on its right half, ends towards
/// the left on its left half, higher arcs nearer the centre. A higher arc then encloses the
/// lower arcs that share its end instead of crossing them.
fn place_ends(nodes: &[(String, f64)], node_w: f64, edges: &mut [Edge]) {
    for e in edges.iter_mut() {
        if e.route == Route::Straight {
            e.x1 = nodes[e.from].1 + node_w / 2.0;
            e.x2 = nodes[e.to].1 - node_w / 2.0;
        }
    }
    for (n, &(_, cx)) in nodes.iter().enumerate() {
        for above in [true, false] {
            for dir in [1.0, -1.0] {
                // (edge, is its start, level)
                let mut ends: Vec<(usize, bool, usize)> = Vec::new();
                for (i, e) in edges.iter().enumerate() {
                    let Route::Arc { above: a, level } = e.route else {
                        continue;
                    };
                    for (node, other, start) in [(e.from, e.to, true), (e.to, e.from, false)] {
                        let towards = if other > node { 1.0 } else { -1.0 };
                        if node == n && a == above && towards == dir {
                            ends.push((i, start, level));
                        }
                    }
                }
                ends.sort_by_key(|&(i, _, level)| (std::cmp::Reverse(level), i));
                let step = if ends.len() > 1 {
                    ((node_w / 2.0 - 16.0) / (ends.len() - 1) as f64).min(12.0)
                } else {
                    0.0
                };
                for (k, &(i, start, _)) in ends.iter().enumerate() {
                    let x = cx + dir * (8.0 + k as f64 * step);
                    if start {
                        edges[i].x1 = x;
                    } else {
                        edges[i].x2 = x;
                    }
                }
            }
        }
    }
}

/// A `<rect>` with one-decimal coordinates (small files, readable diffs) and more attributes.
fn rect(Rect { x, y, w, h }: Rect, rest: &str) -> String {
    format!("<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" {rest}/>")
}

/// A `<text>` with its baseline at `y`.
fn text(x: f64, y: f64, size: f64, rest: &str, content: &str) -> String {
    let content = xml_escape(content);
    format!("<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"{size}\" {rest}>{content}</text>")
}

/// The cell as an SVG picture (see the module notes for the layout).
///
/// Edge colours follow [`OpFamily`]; `none` edges are light grey and dashed, concat edges into
/// the output dark grey and dashed; each op edge carries its op name on a white plate, in the
/// gap or at the arc's top. Edges with an out-of-range end and self-loops are not drawn.
pub fn cell_svg(g: &CellGraph) -> String {
    let lay = layout(g);
    let title_h = if g.title.is_empty() { 0.0 } else { TITLE_H };
    let dy = MARGIN + title_h - lay.top;

    let mut families = vec![
        OpFamily::Conv,
        OpFamily::Pool,
        OpFamily::Skip,
        OpFamily::Zero,
    ];
    if lay
        .edges
        .iter()
        .any(|e| e.kind == EdgeKind::Op(OpFamily::Other))
    {
        families.push(OpFamily::Other);
    }
    let mut items: Vec<(&str, bool, &str)> = families
        .iter()
        .map(|f| (f.colour(), *f == OpFamily::Zero, f.legend()))
        .collect();
    if g.output.is_some() {
        items.push((CONCAT_COLOUR, true, "concatenated into the output"));
    }
    let item_w = |text: &str| 22.0 + 6.0 + text_width(text, FONT_LEGEND) + 16.0;
    let legend_w: f64 = items.iter().map(|i| item_w(i.2)).sum();
    let width = lay
        .right
        .max(2.0 * MARGIN + text_width(&g.title, FONT_TITLE) * 1.1)
        .max(2.0 * MARGIN + legend_w.min(640.0))
        .ceil();

    // The legend, left to right, wrapping at the picture's width.
    let mut legend = String::new();
    let (mut x, mut y) = (MARGIN, dy + lay.bottom + 18.0);
    for (colour, dashed, label) in &items {
        if x > MARGIN && x + item_w(label) > width - MARGIN {
            x = MARGIN;
            y += 18.0;
        }
        let (x2, mid) = (x + 22.0, y + 9.0);
        let _ = writeln!(
            legend,
            "<line x1=\"{x:.1}\" y1=\"{mid:.1}\" x2=\"{x2:.1}\" y2=\"{mid:.1}\" stroke=\"{colour}\" stroke-width=\"2\"{}/>{}",
            dash(*dashed),
            text(x + 28.0, y + 13.0, FONT_LEGEND, "fill=\"#333333\"", label)
        );
        x += item_w(label);
    }
    let height = (y + 18.0 + MARGIN).ceil();

    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\">"
    );
    // A white ground so the picture stays readable on dark pages and viewers.
    let ground = Rect {
        x: 0.0,
        y: 0.0,
        w: width,
        h: height,
    };
    let _ = writeln!(s, "{}", rect(ground, "fill=\"#ffffff\""));
    if !g.title.is_empty() {
        let bold = "font-weight=\"bold\" fill=\"#222222\"";
        let _ = writeln!(
            s,
            "{}",
            text(MARGIN, MARGIN + FONT_TITLE, FONT_TITLE, bold, &g.title)
        );
    }
    let _ = writeln!(s, "<g transform=\"translate(0,{dy:.1})\">");
    for e in &lay.edges {
        let (class, colour, dashed) = match e.kind {
            EdgeKind::Op(f) => (
                format!("edge op-{}", f.key()),
                f.colour(),
                f == OpFamily::Zero,
            ),
            EdgeKind::Concat => ("edge concat".to_string(), CONCAT_COLOUR, true),
        };
        let (line, arrow) = e.path();
        let _ = writeln!(
            s,
            "<path class=\"{class}\" d=\"{line}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"{}/><path d=\"{arrow}\" fill=\"{colour}\"/>",
            dash(dashed)
        );
    }
    // A baseline a third of the font size below the centre centres the x-height without
    // dominant-baseline, which some renderers ignore.
    let centred = |size: f64| size * 0.35;
    for (i, (label, cx)) in lay.nodes.iter().enumerate() {
        let (fill, stroke) = if i < g.inputs.len() {
            (INPUT_FILL, INPUT_STROKE)
        } else if i < g.inputs.len() + g.intermediates.len() {
            (MID_FILL, MID_STROKE)
        } else {
            (OUTPUT_FILL, OUTPUT_STROKE)
        };
        let style = format!("rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.2\"");
        let baseline = NODE_H / 2.0 + centred(FONT_NODE);
        let ink = "text-anchor=\"middle\" fill=\"#1a1a1a\"";
        let _ = writeln!(
            s,
            "<g class=\"node\">{}{}</g>",
            rect(lay.node_rect(i), &style),
            text(*cx, baseline, FONT_NODE, ink, label)
        );
    }
    for e in &lay.edges {
        let EdgeKind::Op(family) = e.kind else {
            continue;
        };
        let (r, (cx, cy)) = (lay.label_rect(e), e.middle());
        let plate = "rx=\"3\" fill=\"#ffffff\" fill-opacity=\"0.92\"";
        let ink = format!("text-anchor=\"middle\" fill=\"{}\"", family.text_colour());
        let _ = writeln!(
            s,
            "<g class=\"op-label\">{}{}</g>",
            rect(r, plate),
            text(cx, cy + centred(FONT_OP), FONT_OP, &ink, &e.op)
        );
    }
    s.push_str("</g>\n<g class=\"legend\">\n");
    s.push_str(&legend);
    s.push_str("</g>\n</svg>\n");
    s
}

fn dash(dashed: bool) -> &'static str {
    if dashed {
        " stroke-dasharray=\"5,3\""
    } else {
        ""
    }
}
