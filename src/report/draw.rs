//! Pictures of search results: derived cells and score matrices, as SVG text and Graphviz DOT
//! text.
//!
//! Everything is plain string building with no external resources (no fonts, scripts or style
//! sheets from elsewhere), so the pictures render offline. The SVG carries no XML declaration,
//! so the same text can be written to a `.svg` file or inlined into the HTML report as it is.
//! Ids inside an SVG (arrow markers, gradients, hatching) carry a prefix derived from the
//! picture's content: several pictures inlined into one page would otherwise resolve each
//! other's `url(#...)` references.
//!
//! Text widths are estimated from character counts (there is no font metrics at hand); the
//! estimate is deliberately generous so that boxes never clip their text.

use std::fmt::Write as _;

/// A derived cell as a graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CellGraph {
    /// Caption drawn above the cell (may be empty).
    pub title: String,
    /// Labels of the input nodes (NB201: ["0"]; DARTS: ["c_{k-2}", "c_{k-1}"]).
    pub inputs: Vec<String>,
    /// Labels of the intermediate nodes, in order (NB201: ["1","2"]; DARTS: ["0","1","2","3"]).
    pub intermediates: Vec<String>,
    /// Label of the output node if the cell has one separate from the intermediates (DARTS:
    /// "c_{k}", fed by every node in `concat`), or None (NB201: the last intermediate is the
    /// output).
    pub output: Option<String>,
    /// Indices (into inputs ++ intermediates) of the nodes concatenated into the output.
    pub concat: Vec<usize>,
    /// Edges (from, to, op label) with from/to indexing inputs ++ intermediates.
    pub edges: Vec<(usize, usize, String)>,
}

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

    /// Short ASCII key used in ids and class names.
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

const MARGIN: f64 = 16.0;
const FONT_TITLE: f64 = 15.0;
const FONT_NODE: f64 = 13.0;
const FONT_OP: f64 = 11.0;
const FONT_SMALL: f64 = 11.0;
/// Average advance of a sans-serif glyph in em; on the generous side so boxes fit the text.
const CHAR_EM: f64 = 0.62;
const NODE_H: f64 = 36.0;
const INPUT_PITCH: f64 = 80.0;
/// Distance from the band of nodes to the first lane of arcs, and between lanes: leaves room
/// for an op label (LABEL_H) centred on each lane.
const LANE_FIRST: f64 = 28.0;
const LANE_GAP: f64 = 22.0;
const LABEL_H: f64 = 15.0;
const CORNER: f64 = 8.0;
/// Control-point distance (as a fraction of the radius) of a cubic approximating a quarter
/// circle.
const KAPPA: f64 = 0.5523;
const TITLE_H: f64 = 28.0;

/// Escapes text for XML content and attribute values; characters XML 1.0 forbids become U+FFFD
/// because a single stray control character would make the whole picture unreadable.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
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

fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * CHAR_EM
}

/// Coordinates with one decimal keep the files small and diffs readable.
fn num(x: f64) -> String {
    format!("{x:.1}")
}

/// FNV-1a: a stable content fingerprint for id prefixes (std's hasher is not guaranteed
/// stable across releases, and the pictures should be reproducible byte for byte).
fn id_prefix(kind: &str, content: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in kind.bytes().chain(content.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fd{kind}{:08x}", (h ^ (h >> 32)) as u32)
}

// ---------------------------------------------------------------------------------------------
// DOT

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

// ---------------------------------------------------------------------------------------------
// Cell layout

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeKind {
    Input,
    Intermediate,
    Output,
}

#[derive(Clone, Debug)]
struct LNode {
    label: String,
    kind: NodeKind,
    col: usize,
    cx: f64,
    cy: f64,
    w: f64,
    h: f64,
}

impl LNode {
    fn rect(&self) -> Rect {
        Rect {
            x: self.cx - self.w / 2.0,
            y: self.cy - self.h / 2.0,
            w: self.w,
            h: self.h,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdgeKind {
    Op(OpFamily),
    Concat,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Route {
    /// Between adjacent columns: one S-shaped cubic from side to side.
    Side,
    /// Over (or under) the columns in between, on a horizontal lane.
    Arc { above: bool, lane: usize, ya: f64 },
}

#[derive(Clone, Debug)]
struct LEdge {
    from: usize,
    to: usize,
    kind: EdgeKind,
    op: String,
    route: Route,
    start: (f64, f64),
    end: (f64, f64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn centred(cx: f64, cy: f64, w: f64, h: f64) -> Self {
        Rect {
            x: cx - w / 2.0,
            y: cy - h / 2.0,
            w,
            h,
        }
    }

    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

#[derive(Clone, Debug)]
struct LLabel {
    text: String,
    family: OpFamily,
    rect: Rect,
}

#[derive(Clone, Debug)]
struct CellLayout {
    nodes: Vec<LNode>,
    edges: Vec<LEdge>,
    labels: Vec<LLabel>,
    /// Extents of everything drawn, in layout coordinates (the band of nodes is centred on y = 0).
    right: f64,
    top: f64,
    bottom: f64,
}

fn label_box_w(op: &str) -> f64 {
    text_width(op, FONT_OP) + 8.0
}

/// Lane for an arc over columns `lo..hi` on one side: above every arc it encloses (so the
/// enclosed arc's risers never cross it) and different from every arc it partly overlaps.
fn lane_for(placed: &[(bool, usize, usize, usize)], above: bool, lo: usize, hi: usize) -> usize {
    let mut nested = 0;
    let mut used = Vec::new();
    for &(a, plo, phi, lane) in placed {
        if a != above {
            continue;
        }
        if plo >= lo && phi <= hi {
            nested = nested.max(lane);
        } else if plo < hi && lo < phi {
            used.push(lane);
        }
    }
    let mut lane = nested + 1;
    while used.contains(&lane) {
        lane += 1;
    }
    lane
}

fn layout_cell(g: &CellGraph) -> CellLayout {
    let n_in = g.inputs.len();
    let n_mid = g.intermediates.len();
    let n_graph = n_in + n_mid;
    let node_w = g
        .inputs
        .iter()
        .chain(&g.intermediates)
        .chain(g.output.iter())
        .map(|l| text_width(l, FONT_NODE) + 24.0)
        .fold(84.0, f64::max);
    let op_w = g
        .edges
        .iter()
        .map(|e| label_box_w(&e.2))
        .fold(0.0, f64::max);
    // The gap between columns holds the labels of edges between adjacent columns.
    let gap = (op_w + 36.0).max(110.0);
    let pitch = node_w + gap;
    let col_cx = |col: usize| MARGIN + node_w / 2.0 + col as f64 * pitch;

    let mut nodes = Vec::with_capacity(n_graph + 1);
    for (i, label) in g.inputs.iter().enumerate() {
        nodes.push(LNode {
            label: label.clone(),
            kind: NodeKind::Input,
            col: 0,
            cx: col_cx(0),
            cy: (i as f64 - (n_in as f64 - 1.0) / 2.0) * INPUT_PITCH,
            w: node_w,
            h: NODE_H,
        });
    }
    for (k, label) in g.intermediates.iter().enumerate() {
        nodes.push(LNode {
            label: label.clone(),
            kind: NodeKind::Intermediate,
            col: 1 + k,
            cx: col_cx(1 + k),
            cy: 0.0,
            w: node_w,
            h: NODE_H,
        });
    }
    let out = g.output.as_ref().map(|label| {
        nodes.push(LNode {
            label: label.clone(),
            kind: NodeKind::Output,
            col: 1 + n_mid,
            cx: col_cx(1 + n_mid),
            cy: 0.0,
            w: node_w,
            h: NODE_H,
        });
        nodes.len() - 1
    });

    let mut edges = Vec::new();
    for (from, to, op) in &g.edges {
        // Edges within one column (self-loops, input to input) have no place in a layered
        // picture; the DOT output still shows them.
        if *from >= n_graph || *to >= n_graph || nodes[*from].col == nodes[*to].col {
            continue;
        }
        edges.push(LEdge {
            from: *from,
            to: *to,
            kind: EdgeKind::Op(OpFamily::of(op)),
            op: op.clone(),
            route: Route::Side,
            start: (0.0, 0.0),
            end: (0.0, 0.0),
        });
    }
    if let Some(out) = out {
        for c in dedup_in_range(&g.concat, n_graph) {
            edges.push(LEdge {
                from: c,
                to: out,
                kind: EdgeKind::Concat,
                op: String::new(),
                route: Route::Side,
                start: (0.0, 0.0),
                end: (0.0, 0.0),
            });
        }
    }

    // Lanes: shorter arcs first, so that an enclosing arc always sits above what it encloses.
    let interval = |e: &LEdge| {
        let (a, b) = (nodes[e.from].col, nodes[e.to].col);
        (a.min(b), a.max(b))
    };
    let mut order: Vec<usize> = (0..edges.len())
        .filter(|&i| {
            let (lo, hi) = interval(&edges[i]);
            hi - lo > 1
        })
        .collect();
    order.sort_by_key(|&i| {
        let (lo, hi) = interval(&edges[i]);
        (hi - lo, lo, i)
    });
    let mut placed: Vec<(bool, usize, usize, usize)> = Vec::new();
    for i in order {
        let (lo, hi) = interval(&edges[i]);
        // An input above (below) the band can only reach the lanes above (below) without
        // crossing the other inputs.
        let forced = [edges[i].from, edges[i].to].iter().find_map(|&n| {
            let cy = nodes[n].cy;
            if cy < 0.0 {
                Some(true)
            } else if cy > 0.0 {
                Some(false)
            } else {
                None
            }
        });
        let (above, lane) = match forced {
            Some(a) => (a, lane_for(&placed, a, lo, hi)),
            None => {
                let up = lane_for(&placed, true, lo, hi);
                let down = lane_for(&placed, false, lo, hi);
                // Concat edges all end at the output; sending them below by default keeps them
                // apart from the op edges.
                let prefer_up = edges[i].kind != EdgeKind::Concat;
                if up < down || (up == down && prefer_up) {
                    (true, up)
                } else {
                    (false, down)
                }
            }
        };
        placed.push((above, lo, hi, lane));
        edges[i].route = Route::Arc {
            above,
            lane,
            ya: 0.0,
        };
    }

    let band_top = nodes
        .iter()
        .map(|n| n.cy - n.h / 2.0)
        .fold(-NODE_H / 2.0, f64::min);
    let band_bottom = nodes
        .iter()
        .map(|n| n.cy + n.h / 2.0)
        .fold(NODE_H / 2.0, f64::max);
    for e in &mut edges {
        if let Route::Arc { above, lane, ya } = &mut e.route {
            let off = LANE_FIRST + (*lane as f64 - 1.0) * LANE_GAP;
            *ya = if *above {
                band_top - off
            } else {
                band_bottom + off
            };
        }
    }

    assign_ports(&nodes, &mut edges);

    // Arc labels first: by construction they never collide (one gap per arc on a lane of its
    // own), so the side labels are fitted around them.
    let mut labels: Vec<LLabel> = Vec::new();
    let obstacles: Vec<Rect> = nodes.iter().map(LNode::rect).collect();
    for pass_arcs in [true, false] {
        for e in &edges {
            let EdgeKind::Op(family) = e.kind else {
                continue;
            };
            let (cx, cy) = match e.route {
                Route::Arc { ya, .. } if pass_arcs => {
                    // In the middle of a gap between columns: no node and no riser is there.
                    let (lo, hi) = interval(e);
                    let mid = (e.start.0 + e.end.0) / 2.0;
                    let gx = (lo..hi)
                        .map(|k| col_cx(k) + pitch / 2.0)
                        .min_by(|a, b| (a - mid).abs().total_cmp(&(b - mid).abs()))
                        .unwrap_or(mid);
                    (gx, ya)
                }
                Route::Side if !pass_arcs => {
                    ((e.start.0 + e.end.0) / 2.0, (e.start.1 + e.end.1) / 2.0)
                }
                _ => continue,
            };
            let w = label_box_w(&e.op);
            let rect = place_label(cx, cy, w, &obstacles, &labels);
            labels.push(LLabel {
                text: e.op.clone(),
                family,
                rect,
            });
        }
    }

    let mut right = nodes
        .iter()
        .map(|n| n.cx + n.w / 2.0)
        .fold(MARGIN, f64::max);
    let mut top = band_top;
    let mut bottom = band_bottom;
    for e in &edges {
        if let Route::Arc { ya, .. } = e.route {
            top = top.min(ya);
            bottom = bottom.max(ya);
        }
    }
    for l in &labels {
        right = right.max(l.rect.x + l.rect.w);
        top = top.min(l.rect.y);
        bottom = bottom.max(l.rect.y + l.rect.h);
    }
    CellLayout {
        nodes,
        edges,
        labels,
        right: right + MARGIN,
        top,
        bottom,
    }
}

/// Places a label centred at (cx, cy), or staggered up and down from there until it clears the
/// nodes and the labels already placed (parallel edges would otherwise stack their labels
/// exactly on top of each other).
fn place_label(cx: f64, cy: f64, w: f64, nodes: &[Rect], placed: &[LLabel]) -> Rect {
    let step = LABEL_H + 3.0;
    for k in 0..9 {
        let dy = match k % 2 {
            0 => (k / 2) as f64 * step,
            _ => -(((k + 1) / 2) as f64) * step,
        };
        let r = Rect::centred(cx, cy + dy, w, LABEL_H);
        let free =
            nodes.iter().all(|n| !n.overlaps(&r)) && placed.iter().all(|l| !l.rect.overlaps(&r));
        if free {
            return r;
        }
    }
    Rect::centred(cx, cy, w, LABEL_H)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Face {
    Left,
    Right,
    Top,
    Bottom,
}

/// Spreads the edge ends over the node's faces so arrowheads don't pile up on one point.
fn assign_ports(nodes: &[LNode], edges: &mut [LEdge]) {
    // (edge, is start, face, sort key)
    let mut atts: Vec<Vec<(usize, bool, Face, f64)>> = vec![Vec::new(); nodes.len()];
    for (i, e) in edges.iter().enumerate() {
        for (node, other, is_start) in [(e.from, e.to, true), (e.to, e.from, false)] {
            let (face, key) = match e.route {
                Route::Side => {
                    let face = if nodes[other].cx > nodes[node].cx {
                        Face::Right
                    } else {
                        Face::Left
                    };
                    (face, nodes[other].cy)
                }
                Route::Arc { above, lane, .. } => {
                    let face = if above { Face::Top } else { Face::Bottom };
                    (face, lane as f64)
                }
            };
            atts[node].push((i, is_start, face, key));
        }
    }
    for (ni, list) in atts.iter().enumerate() {
        let n = &nodes[ni];
        for face in [Face::Left, Face::Right] {
            // Top to bottom by the other end's height, so side edges don't cross at the node.
            let mut side: Vec<_> = list.iter().filter(|a| a.2 == face).collect();
            side.sort_by(|a, b| a.3.total_cmp(&b.3).then(a.0.cmp(&b.0)));
            let count = side.len() as f64;
            let x = if face == Face::Left {
                n.cx - n.w / 2.0
            } else {
                n.cx + n.w / 2.0
            };
            for (k, a) in side.iter().enumerate() {
                let y = n.cy - n.h / 2.0 + n.h * (k as f64 + 1.0) / (count + 1.0);
                set_end(&mut edges[a.0], a.1, (x, y));
            }
        }
        for face in [Face::Top, Face::Bottom] {
            let y = if face == Face::Top {
                n.cy - n.h / 2.0
            } else {
                n.cy + n.h / 2.0
            };
            for dir in [1.0, -1.0] {
                // Higher lanes nearest the centre: a higher arc then passes over the lower
                // arc's riser instead of crossing it.
                let mut half: Vec<_> = list
                    .iter()
                    .filter(|a| {
                        let e = &edges[a.0];
                        let other = if a.1 { e.to } else { e.from };
                        a.2 == face && (nodes[other].cx - n.cx) * dir > 0.0
                    })
                    .collect();
                half.sort_by(|a, b| b.3.total_cmp(&a.3).then(a.0.cmp(&b.0)));
                let step = if half.len() > 1 {
                    ((n.w / 2.0 - 20.0) / (half.len() as f64 - 1.0)).min(12.0)
                } else {
                    0.0
                };
                for (k, a) in half.iter().enumerate() {
                    let x = n.cx + dir * (12.0 + k as f64 * step);
                    set_end(&mut edges[a.0], a.1, (x, y));
                }
            }
        }
    }
}

fn set_end(e: &mut LEdge, is_start: bool, p: (f64, f64)) {
    if is_start {
        e.start = p;
    } else {
        e.end = p;
    }
}

/// SVG path data for an edge.
fn edge_path(e: &LEdge) -> String {
    let ((x1, y1), (x2, y2)) = (e.start, e.end);
    match e.route {
        Route::Side => {
            let c = (x2 - x1) * 0.5;
            format!(
                "M{},{} C{},{} {},{} {},{}",
                num(x1),
                num(y1),
                num(x1 + c),
                num(y1),
                num(x2 - c),
                num(y2),
                num(x2),
                num(y2)
            )
        }
        Route::Arc { ya, .. } => {
            // Up (or down) to the lane, along it, and back: two rounded corners at each end.
            let dir = if x2 >= x1 { 1.0 } else { -1.0 };
            let v = if ya < y1 { -1.0 } else { 1.0 };
            let r = CORNER
                .min((x2 - x1).abs() / 2.0)
                .min((ya - y1).abs())
                .min((ya - y2).abs());
            let k = r * (1.0 - KAPPA);
            format!(
                "M{},{} L{},{} C{},{} {},{} {},{} L{},{} C{},{} {},{} {},{} L{},{}",
                num(x1),
                num(y1),
                num(x1),
                num(ya - v * r),
                num(x1),
                num(ya - v * k),
                num(x1 + dir * k),
                num(ya),
                num(x1 + dir * r),
                num(ya),
                num(x2 - dir * r),
                num(ya),
                num(x2 - dir * k),
                num(ya),
                num(x2),
                num(ya - v * k),
                num(x2),
                num(ya - v * r),
                num(x2),
                num(y2)
            )
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Legends

enum Swatch {
    Line { colour: &'static str, dashed: bool },
    Fill(String),
    Outline,
}

/// Legend items left to right, wrapping at `max_w`; returns the SVG and its height.
fn legend(items: &[(Swatch, String)], x0: f64, y0: f64, max_w: f64) -> (String, f64) {
    let row_h = 18.0;
    let mut s = String::from("<g class=\"legend\">\n");
    let (mut x, mut y) = (x0, y0);
    let mut rows = 0.0_f64;
    for (swatch, text) in items {
        let item_w = 22.0 + 6.0 + text_width(text, FONT_SMALL);
        if x > x0 && x + item_w > x0 + max_w {
            x = x0;
            y += row_h;
        }
        rows = rows.max(y - y0 + row_h);
        let mid = y + row_h / 2.0;
        match swatch {
            Swatch::Line { colour, dashed } => {
                let dash = if *dashed {
                    " stroke-dasharray=\"5,3\""
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>",
                    num(x),
                    num(mid),
                    num(x + 22.0),
                    num(mid)
                );
            }
            Swatch::Fill(fill) => {
                let _ = writeln!(
                    s,
                    "<rect class=\"swatch\" x=\"{}\" y=\"{}\" width=\"22\" height=\"12\" fill=\"{fill}\" stroke=\"#999999\" stroke-width=\"0.5\"/>",
                    num(x),
                    num(mid - 6.0)
                );
            }
            Swatch::Outline => {
                let _ = writeln!(
                    s,
                    "<rect class=\"swatch\" x=\"{}\" y=\"{}\" width=\"20\" height=\"10\" fill=\"none\" stroke=\"#111111\" stroke-width=\"2.5\"/>",
                    num(x + 1.0),
                    num(mid - 5.0)
                );
            }
        }
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"{FONT_SMALL}\" fill=\"#333333\">{}</text>",
            num(x + 28.0),
            num(mid + 4.0),
            xml_escape(text)
        );
        x += item_w + 16.0;
    }
    s.push_str("</g>\n");
    (s, rows)
}

fn legend_width(items: &[(Swatch, String)]) -> f64 {
    items
        .iter()
        .map(|(_, t)| 22.0 + 6.0 + text_width(t, FONT_SMALL) + 16.0)
        .sum::<f64>()
}

fn svg_open(s: &mut String, width: f64, height: f64, title: &str) {
    let (w, h) = (width.ceil(), height.ceil());
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" role=\"img\">"
    );
    let _ = writeln!(s, "<title>{}</title>", xml_escape(title));
    // A white ground so the picture stays readable on dark pages and viewers.
    let _ = writeln!(
        s,
        "<rect class=\"background\" x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>"
    );
}

fn svg_title(s: &mut String, title: &str) {
    if !title.is_empty() {
        let _ = writeln!(
            s,
            "<text x=\"{MARGIN}\" y=\"{}\" font-size=\"{FONT_TITLE}\" font-weight=\"bold\" fill=\"#222222\">{}</text>",
            num(MARGIN + FONT_TITLE),
            xml_escape(title)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Cell SVG

/// The cell as an SVG picture with a layered layout of its own.
///
/// Inputs sit in column 0 (stacked), each intermediate in its own column to the right and the
/// output (if any) in the last column. Edges between adjacent columns are single cubic Bézier
/// curves; longer edges run along horizontal lanes above or below the nodes with rounded
/// (cubic) corners, enclosing lanes above enclosed ones. Op labels sit on their edges, on a
/// white plate, staggered vertically where they would collide. Edge colours follow
/// [`OpFamily`]; `none` edges are light grey and dashed; concat edges into the output are dark
/// grey and dashed. Edges with out-of-range indices and edges within one column are not drawn.
pub fn cell_svg(g: &CellGraph) -> String {
    let lay = layout_cell(g);
    let p = id_prefix("cell", &cell_dot(g));
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
    let mut items: Vec<(Swatch, String)> = families
        .iter()
        .map(|f| {
            (
                Swatch::Line {
                    colour: f.colour(),
                    dashed: *f == OpFamily::Zero,
                },
                f.legend().to_string(),
            )
        })
        .collect();
    if g.output.is_some() {
        items.push((
            Swatch::Line {
                colour: CONCAT_COLOUR,
                dashed: true,
            },
            "concatenated into the output".to_string(),
        ));
    }

    let title_w = 2.0 * MARGIN + text_width(&g.title, FONT_TITLE) * 1.1;
    let width = lay
        .right
        .max(title_w)
        .max(2.0 * MARGIN + legend_width(&items).min(640.0))
        .max(240.0);
    let legend_y = dy + lay.bottom + 20.0;
    let (legend_svg, legend_h) = legend(&items, MARGIN, legend_y, width - 2.0 * MARGIN);
    let height = legend_y + legend_h + MARGIN;

    let mut s = String::new();
    svg_open(&mut s, width, height, &g.title);
    s.push_str("<defs>\n");
    let mut marker_kinds: Vec<(String, &str)> = families
        .iter()
        .map(|f| (f.key().to_string(), f.colour()))
        .collect();
    marker_kinds.push(("concat".to_string(), CONCAT_COLOUR));
    for (key, colour) in &marker_kinds {
        let _ = writeln!(
            s,
            "<marker id=\"{p}-arrow-{key}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker>"
        );
    }
    s.push_str("</defs>\n");
    svg_title(&mut s, &g.title);

    let _ = writeln!(s, "<g transform=\"translate(0,{})\">", num(dy));
    for e in &lay.edges {
        let (class, colour, dash, key, tip) = match e.kind {
            EdgeKind::Op(f) => (
                format!("edge op-{}", f.key()),
                f.colour(),
                f == OpFamily::Zero,
                f.key(),
                format!(
                    "{} \u{2192} {}: {}",
                    lay.nodes[e.from].label, lay.nodes[e.to].label, e.op
                ),
            ),
            EdgeKind::Concat => (
                "edge concat".to_string(),
                CONCAT_COLOUR,
                true,
                "concat",
                format!(
                    "{} \u{2192} {} (concat)",
                    lay.nodes[e.from].label, lay.nodes[e.to].label
                ),
            ),
        };
        let dash = if dash {
            " stroke-dasharray=\"5,3\""
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "<path class=\"{class}\" d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.6\"{dash} marker-end=\"url(#{p}-arrow-{key})\"><title>{}</title></path>",
            edge_path(e),
            xml_escape(&tip)
        );
    }
    for n in &lay.nodes {
        let (fill, stroke) = match n.kind {
            NodeKind::Input => (INPUT_FILL, INPUT_STROKE),
            NodeKind::Intermediate => (MID_FILL, MID_STROKE),
            NodeKind::Output => (OUTPUT_FILL, OUTPUT_STROKE),
        };
        let r = n.rect();
        let _ = writeln!(
            s,
            "<g class=\"node\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.2\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{FONT_NODE}\" fill=\"#1a1a1a\">{}</text></g>",
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h),
            num(n.cx),
            // Baseline a third of the font size below the centre centres the x-height
            // without relying on dominant-baseline, which some renderers ignore.
            num(n.cy + FONT_NODE * 0.35),
            xml_escape(&n.label)
        );
    }
    for l in &lay.labels {
        let r = l.rect;
        let _ = writeln!(
            s,
            "<g class=\"op-label\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\" fill=\"#ffffff\" fill-opacity=\"0.92\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{FONT_OP}\" fill=\"{}\">{}</text></g>",
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h),
            num(r.x + r.w / 2.0),
            num(r.y + r.h / 2.0 + FONT_OP * 0.35),
            l.family.text_colour(),
            xml_escape(&l.text)
        );
    }
    s.push_str("</g>\n");
    s.push_str(&legend_svg);
    s.push_str("</svg>\n");
    s
}

// ---------------------------------------------------------------------------------------------
// Heatmap

const SEQUENTIAL: [[u8; 3]; 9] = [
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
const DIVERGING: [[u8; 3]; 9] = [
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
const ZERO_FILL: &str = "#a8a8a8";
const NAN_FILL: &str = "#ff00ff";
/// The colour bar when there is nothing to scale.
const EMPTY_FILL: &str = "#eeeeee";

fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

fn ramp(anchors: &[[u8; 3]; 9], t: f64) -> String {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let pos = t * (anchors.len() - 1) as f64;
    let i = (pos.floor() as usize).min(anchors.len() - 2);
    let f = pos - i as f64;
    let mut c = [0u8; 3];
    for (k, ck) in c.iter_mut().enumerate() {
        let a = f64::from(anchors[i][k]);
        let b = f64::from(anchors[i + 1][k]);
        *ck = (a + (b - a) * f).round() as u8;
    }
    hex(c)
}

/// How values map to colours. Only finite nonzero values are placed on the scale; zeros and
/// non-finite values have colours of their own.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scale {
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
    fn for_values(values: impl Iterator<Item = f64>) -> Self {
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

    fn diverging(self) -> bool {
        matches!(self, Self::Diverging { .. } | Self::SymLog { .. })
    }

    /// Position of a finite nonzero value on the colour ramp, in 0..=1.
    fn position(self, v: f64) -> f64 {
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

    fn anchors(self) -> &'static [[u8; 3]; 9] {
        if self.diverging() {
            &DIVERGING
        } else {
            &SEQUENTIAL
        }
    }

    fn colour(self, v: f64) -> String {
        ramp(self.anchors(), self.position(v))
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
    fn ticks(self) -> Vec<(f64, String)> {
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

/// A value for tooltips and ticks: four significant digits, scientific outside 1e-3..1e5.
fn fmt_value(v: f64) -> String {
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

/// A matrix of scores as an SVG heatmap.
///
/// `values` is row-major with `rows.len() * cols.len()` entries; missing entries are drawn like
/// NaN and extra ones ignored. Finite nonzero values are coloured on a sequential (viridis)
/// scale, logarithmic in |value| when they span more than three decades and linear otherwise;
/// if any value is negative the scale is diverging blue-white-red and symmetric about 0,
/// linear or, over more than three decades, on sign(v)·log10(1 + |v|/s) with s the smallest
/// nonzero |v|. Exact zeros are grey, NaN and infinities magenta with white hatching; both are
/// counted in the legend. Each cell carries its value as a tooltip; the `kept` cells (row,
/// column) are outlined thickly (out-of-range entries are ignored). A colour bar shows the
/// scale's ends.
pub fn heatmap_svg(
    title: &str,
    rows: &[String],
    cols: &[String],
    values: &[f64],
    kept: &[(usize, usize)],
) -> String {
    let (nr, nc) = (rows.len(), cols.len());
    let cell_w = 44.0;
    let cell_h = 24.0;
    let get = |r: usize, c: usize| values.get(r * nc + c).copied();
    let scale = Scale::for_values((0..nr * nc).filter_map(|i| values.get(i).copied()));

    let (mut zeros, mut nans, mut infs, mut missing) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..nr * nc {
        match values.get(i) {
            None => missing += 1,
            Some(v) if v.is_nan() => nans += 1,
            Some(v) if v.is_infinite() => infs += 1,
            Some(v) if *v == 0.0 => zeros += 1,
            Some(_) => {}
        }
    }
    let mut kept_cells: Vec<(usize, usize)> = kept
        .iter()
        .copied()
        .filter(|&(r, c)| r < nr && c < nc)
        .collect();
    kept_cells.sort_unstable();
    kept_cells.dedup();

    let p = id_prefix(
        "heat",
        &format!("{title}|{rows:?}|{cols:?}|{values:?}|{kept_cells:?}"),
    );
    let title_h = if title.is_empty() { 0.0 } else { TITLE_H };
    let row_w = rows
        .iter()
        .map(|r| text_width(r, FONT_SMALL))
        .fold(0.0, f64::max);
    let col_w = cols
        .iter()
        .map(|c| text_width(c, FONT_SMALL))
        .fold(0.0, f64::max);
    let diag = std::f64::consts::FRAC_1_SQRT_2;
    let grid_left = MARGIN + row_w + 8.0;
    let grid_top = MARGIN + title_h + col_w * diag + FONT_SMALL + 6.0;
    let grid_w = nc as f64 * cell_w;
    let grid_h = nr as f64 * cell_h;
    let bar_x = grid_left + grid_w + 24.0;
    let bar_w = 14.0;
    let bar_h = grid_h.max(96.0);
    let ticks = scale.ticks();
    let tick_w = ticks
        .iter()
        .map(|t| text_width(&t.1, FONT_SMALL))
        .fold(0.0, f64::max);
    let last_col_right = if nc > 0 {
        grid_left + (nc as f64 - 0.5) * cell_w + col_w * diag + FONT_SMALL
    } else {
        grid_left
    };

    let scale_swatch = if scale == Scale::Empty {
        EMPTY_FILL.to_string()
    } else {
        format!("url(#{p}-ramp-h)")
    };
    let mut items: Vec<(Swatch, String)> =
        vec![(Swatch::Fill(scale_swatch), scale.describe().to_string())];
    if zeros > 0 {
        items.push((
            Swatch::Fill(ZERO_FILL.to_string()),
            format!("exact zero ({zeros})"),
        ));
    }
    if nans + infs + missing > 0 {
        let mut kinds = Vec::new();
        for (n, name) in [(nans, "NaN"), (infs, "\u{b1}inf"), (missing, "missing")] {
            if n > 0 {
                kinds.push(name);
            }
        }
        items.push((
            Swatch::Fill(format!("url(#{p}-nan)")),
            format!("{} ({})", kinds.join(" / "), nans + infs + missing),
        ));
    }
    if !kept_cells.is_empty() {
        items.push((Swatch::Outline, format!("kept ({})", kept_cells.len())));
    }

    let content_right = (bar_x + bar_w + 6.0 + tick_w).max(last_col_right);
    let title_w = 2.0 * MARGIN + text_width(title, FONT_TITLE) * 1.1;
    let width = (content_right + MARGIN)
        .max(title_w)
        .max(2.0 * MARGIN + legend_width(&items).min(560.0))
        .max(200.0);
    let legend_y = grid_top + grid_h.max(bar_h) + 18.0;
    let (legend_svg, legend_h) = legend(&items, MARGIN, legend_y, width - 2.0 * MARGIN);
    let height = legend_y + legend_h + MARGIN;

    let mut s = String::new();
    svg_open(&mut s, width, height, title);
    s.push_str("<defs>\n");
    // The bar runs bottom to top, the legend swatch left to right.
    for (suffix, x2, y1) in [("", 0, 1), ("-h", 1, 0)] {
        let _ = writeln!(
            s,
            "<linearGradient id=\"{p}-ramp{suffix}\" x1=\"0\" y1=\"{y1}\" x2=\"{x2}\" y2=\"0\">"
        );
        let anchors = scale.anchors();
        for (k, c) in anchors.iter().enumerate() {
            let _ = writeln!(
                s,
                "<stop offset=\"{}%\" stop-color=\"{}\"/>",
                num(k as f64 / (anchors.len() - 1) as f64 * 100.0),
                hex(*c)
            );
        }
        s.push_str("</linearGradient>\n");
    }
    let _ = writeln!(
        s,
        "<pattern id=\"{p}-nan\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect x=\"0\" y=\"0\" width=\"6\" height=\"6\" fill=\"{NAN_FILL}\"/><rect x=\"0\" y=\"0\" width=\"2\" height=\"6\" fill=\"#ffffff\"/></pattern>"
    );
    s.push_str("</defs>\n");
    svg_title(&mut s, title);

    for (r, label) in rows.iter().enumerate() {
        let _ = writeln!(
            s,
            "<text class=\"row-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"{FONT_SMALL}\" fill=\"#222222\">{}</text>",
            num(grid_left - 6.0),
            num(grid_top + (r as f64 + 0.5) * cell_h + FONT_SMALL * 0.35),
            xml_escape(label)
        );
    }
    for (c, label) in cols.iter().enumerate() {
        let x = grid_left + (c as f64 + 0.5) * cell_w;
        let y = grid_top - 6.0;
        let _ = writeln!(
            s,
            "<text class=\"col-label\" x=\"{}\" y=\"{}\" transform=\"rotate(-45 {} {})\" font-size=\"{FONT_SMALL}\" fill=\"#222222\">{}</text>",
            num(x),
            num(y),
            num(x),
            num(y),
            xml_escape(label)
        );
    }

    s.push_str("<g class=\"cells\">\n");
    for (r, row_label) in rows.iter().enumerate() {
        for (c, col_label) in cols.iter().enumerate() {
            let v = get(r, c);
            let fill = match v {
                Some(v) if v.is_finite() && v != 0.0 => scale.colour(v),
                Some(v) if v.is_finite() => ZERO_FILL.to_string(),
                _ => format!("url(#{p}-nan)"),
            };
            let shown = v.map_or_else(|| "missing".to_string(), fmt_value);
            let _ = writeln!(
                s,
                "<rect class=\"cell\" x=\"{}\" y=\"{}\" width=\"{cell_w}\" height=\"{cell_h}\" fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"1\"><title>{} / {}: {}</title></rect>",
                num(grid_left + c as f64 * cell_w),
                num(grid_top + r as f64 * cell_h),
                xml_escape(row_label),
                xml_escape(col_label),
                xml_escape(&shown)
            );
        }
    }
    s.push_str("</g>\n");
    for &(r, c) in &kept_cells {
        // Inset by half the stroke so neighbouring outlines stay distinct.
        let _ = writeln!(
            s,
            "<rect class=\"kept\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#111111\" stroke-width=\"3\"/>",
            num(grid_left + c as f64 * cell_w + 1.5),
            num(grid_top + r as f64 * cell_h + 1.5),
            num(cell_w - 3.0),
            num(cell_h - 3.0)
        );
    }

    // Colour bar.
    let bar_fill = if scale == Scale::Empty {
        EMPTY_FILL.to_string()
    } else {
        format!("url(#{p}-ramp)")
    };
    let _ = writeln!(
        s,
        "<rect class=\"colour-bar\" x=\"{}\" y=\"{}\" width=\"{bar_w}\" height=\"{}\" fill=\"{bar_fill}\" stroke=\"#777777\" stroke-width=\"0.5\"/>",
        num(bar_x),
        num(grid_top),
        num(bar_h)
    );
    for (t, text) in &ticks {
        let y = grid_top + (1.0 - t) * bar_h;
        let _ = writeln!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#444444\" stroke-width=\"1\"/><text class=\"tick\" x=\"{}\" y=\"{}\" font-size=\"{FONT_SMALL}\" fill=\"#222222\">{}</text>",
            num(bar_x + bar_w),
            num(y),
            num(bar_x + bar_w + 3.0),
            num(y),
            num(bar_x + bar_w + 6.0),
            num(y + FONT_SMALL * 0.35),
            xml_escape(text)
        );
    }
    s.push_str(&legend_svg);
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal well-formedness check: tags balance and nest, attributes are quoted, `&` only
    /// starts a known entity or character reference, and `<` never appears in text.
    fn check_xml(s: &str) -> Result<(), String> {
        let b = s.as_bytes();
        let mut stack: Vec<String> = Vec::new();
        let mut i = 0;
        let mut roots = 0;
        let check_entities = |text: &str| -> Result<(), String> {
            let mut rest = text;
            while let Some(k) = rest.find('&') {
                let tail = &rest[k + 1..];
                let end = tail
                    .find(';')
                    .ok_or_else(|| format!("unterminated entity in {text:?}"))?;
                let name = &tail[..end];
                let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                    || (name.starts_with("#x")
                        && name.len() > 2
                        && name[2..].chars().all(|c| c.is_ascii_hexdigit()))
                    || (name.starts_with('#')
                        && name.len() > 1
                        && name[1..].chars().all(|c| c.is_ascii_digit()));
                if !ok {
                    return Err(format!("bad entity &{name};"));
                }
                rest = &tail[end + 1..];
            }
            Ok(())
        };
        while i < b.len() {
            if b[i] == b'<' {
                if s[i..].starts_with("<?") {
                    i += s[i..].find("?>").ok_or("unterminated <?")? + 2;
                    continue;
                }
                if s[i..].starts_with("<!--") {
                    i += s[i..].find("-->").ok_or("unterminated comment")? + 3;
                    continue;
                }
                let end = i + s[i..].find('>').ok_or("unterminated tag")?;
                let tag = &s[i + 1..end];
                if let Some(name) = tag.strip_prefix('/') {
                    let open = stack.pop().ok_or(format!("stray </{name}>"))?;
                    if open != name.trim() {
                        return Err(format!("<{open}> closed by </{name}>"));
                    }
                } else {
                    let self_closing = tag.ends_with('/');
                    let body = tag.trim_end_matches('/');
                    let name_end = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
                    let name = &body[..name_end];
                    if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '-') {
                        return Err(format!("bad tag name in <{tag}>"));
                    }
                    // attributes: name="value" pairs
                    let mut rest = body[name_end..].trim();
                    while !rest.is_empty() {
                        let eq = rest
                            .find('=')
                            .ok_or(format!("attribute without = in <{tag}>"))?;
                        let after = &rest[eq + 1..];
                        if !after.starts_with('"') {
                            return Err(format!("unquoted attribute in <{tag}>"));
                        }
                        let close = after[1..].find('"').ok_or("unterminated attribute")?;
                        let value = &after[1..1 + close];
                        if value.contains('<') {
                            return Err(format!("< in attribute of <{tag}>"));
                        }
                        check_entities(value)?;
                        rest = after[close + 2..].trim_start();
                    }
                    if stack.is_empty() {
                        roots += 1;
                    }
                    if !self_closing {
                        stack.push(name.to_string());
                    }
                }
                i = end + 1;
            } else {
                let end = s[i..].find('<').map_or(b.len(), |k| i + k);
                let text = &s[i..end];
                if stack.is_empty() && !text.trim().is_empty() {
                    return Err(format!("text outside the root: {text:?}"));
                }
                if text.contains('>') {
                    return Err(format!("raw > in text {text:?}"));
                }
                check_entities(text)?;
                i = end;
            }
        }
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(())
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// The full NAS-Bench-201 cell: four nodes, six edges.
    fn nb201() -> CellGraph {
        CellGraph {
            title: "NB201 cell".into(),
            inputs: strings(&["0"]),
            intermediates: strings(&["1", "2", "3"]),
            output: None,
            concat: vec![],
            edges: vec![
                (0, 1, "nor_conv_3x3".into()),
                (0, 2, "skip_connect".into()),
                (1, 2, "none".into()),
                (0, 3, "avg_pool_3x3".into()),
                (1, 3, "nor_conv_1x1".into()),
                (2, 3, "nor_conv_3x3".into()),
            ],
        }
    }

    /// The DARTS supernet cell: every one of the 14 edges.
    fn darts_full() -> CellGraph {
        let ops = [
            "sep_conv_3x3",
            "sep_conv_5x5",
            "dil_conv_3x3",
            "dil_conv_5x5",
            "max_pool_3x3",
            "avg_pool_3x3",
            "skip_connect",
        ];
        let mut edges = Vec::new();
        for to in 0..4 {
            for from in 0..to + 2 {
                edges.push((from, to + 2, ops[edges.len() % ops.len()].to_string()));
            }
        }
        assert_eq!(edges.len(), 14);
        CellGraph {
            title: "DARTS normal cell (all edges)".into(),
            inputs: strings(&["c_{k-2}", "c_{k-1}"]),
            intermediates: strings(&["0", "1", "2", "3"]),
            output: Some("c_{k}".into()),
            concat: vec![2, 3, 4, 5],
            edges,
        }
    }

    /// A derived DARTS cell (DARTS V2 normal cell).
    fn darts_derived() -> CellGraph {
        CellGraph {
            title: "DARTS_V2 normal".into(),
            inputs: strings(&["c_{k-2}", "c_{k-1}"]),
            intermediates: strings(&["0", "1", "2", "3"]),
            output: Some("c_{k}".into()),
            concat: vec![2, 3, 4, 5],
            edges: vec![
                (0, 2, "sep_conv_3x3".into()),
                (1, 2, "sep_conv_3x3".into()),
                (0, 3, "sep_conv_3x3".into()),
                (1, 3, "sep_conv_3x3".into()),
                (1, 4, "sep_conv_3x3".into()),
                (0, 4, "skip_connect".into()),
                (0, 5, "skip_connect".into()),
                (2, 5, "dil_conv_3x3".into()),
            ],
        }
    }

    fn assert_clean(g: &CellGraph) {
        let lay = layout_cell(g);
        let nodes: Vec<Rect> = lay.nodes.iter().map(LNode::rect).collect();
        for (i, a) in lay.labels.iter().enumerate() {
            for n in &nodes {
                assert!(!a.rect.overlaps(n), "label {} over a node", a.text);
            }
            for b in &lay.labels[i + 1..] {
                assert!(
                    !a.rect.overlaps(&b.rect),
                    "labels {} and {} overlap",
                    a.text,
                    b.text
                );
            }
        }
        for e in &lay.edges {
            if let Route::Arc { ya, .. } = e.route {
                // The lane is clear of every node, so the arc passes over the columns between.
                for n in &nodes {
                    assert!(ya < n.y || ya > n.y + n.h, "lane through a node");
                }
            }
            for p in [e.start, e.end] {
                assert!(p.0 != 0.0 || p.1 != 0.0, "edge end without a port");
            }
        }
    }

    #[test]
    fn op_families() {
        assert_eq!(OpFamily::of("nor_conv_3x3"), OpFamily::Conv);
        assert_eq!(OpFamily::of("dil_conv_5x5"), OpFamily::Conv);
        assert_eq!(OpFamily::of("avg_pool_3x3"), OpFamily::Pool);
        assert_eq!(OpFamily::of("skip_connect"), OpFamily::Skip);
        assert_eq!(OpFamily::of("none"), OpFamily::Zero);
        assert_eq!(OpFamily::of("mystery"), OpFamily::Other);
    }

    #[test]
    fn cell_svgs_are_well_formed_and_complete() {
        for g in [nb201(), darts_full(), darts_derived()] {
            let svg = cell_svg(&g);
            check_xml(&svg).unwrap_or_else(|e| panic!("{}: {e}\n{svg}", g.title));
            assert!(svg.starts_with("<svg "));
            assert!(svg.contains("viewBox=\"0 0 "));
            assert!(svg.contains(" width=\"") && svg.contains(" height=\""));
            let concat = if g.output.is_some() {
                g.concat.len()
            } else {
                0
            };
            assert_eq!(
                svg.matches("<path class=\"edge").count(),
                g.edges.len() + concat
            );
            assert_eq!(svg.matches("class=\"op-label\"").count(), g.edges.len());
            for (_, _, op) in &g.edges {
                assert!(svg.contains(&format!(">{op}</text>")));
            }
            for l in g.inputs.iter().chain(&g.intermediates).chain(&g.output) {
                assert!(svg.contains(&format!(">{l}</text>")));
            }
            assert!(svg.contains("class=\"legend\""));
            assert_clean(&g);
        }
    }

    #[test]
    fn none_edges_are_grey_and_dashed() {
        let svg = cell_svg(&nb201());
        let line = svg
            .lines()
            .find(|l| l.contains("class=\"edge op-none\""))
            .unwrap();
        assert!(line.contains(OpFamily::Zero.colour()) && line.contains("stroke-dasharray"));
        let dot = cell_dot(&nb201());
        let line = dot.lines().find(|l| l.contains("\"none\"")).unwrap();
        assert!(line.contains("style=dashed"));
    }

    #[test]
    fn lanes_nest() {
        let lay = layout_cell(&darts_full());
        let arcs: Vec<_> = lay
            .edges
            .iter()
            .filter_map(|e| match e.route {
                Route::Arc { above, lane, .. } => {
                    let (a, b) = (lay.nodes[e.from].col, lay.nodes[e.to].col);
                    Some((above, a.min(b), a.max(b), lane))
                }
                Route::Side => None,
            })
            .collect();
        assert!(!arcs.is_empty());
        for &(s1, lo1, hi1, l1) in &arcs {
            for &(s2, lo2, hi2, l2) in &arcs {
                let strictly_inside = lo2 >= lo1 && hi2 <= hi1 && (lo2, hi2) != (lo1, hi1);
                if s1 == s2 && strictly_inside {
                    assert!(l1 > l2, "enclosing arc not above the enclosed one");
                }
                if s1 == s2 && lo1 < hi2 && lo2 < hi1 && (lo1, hi1, l1) != (lo2, hi2, l2) {
                    assert_ne!(l1, l2, "overlapping arcs share a lane");
                }
            }
        }
    }

    #[test]
    fn dot_has_every_node_and_edge() {
        for g in [nb201(), darts_full(), darts_derived()] {
            let dot = cell_dot(&g);
            assert!(dot.starts_with("digraph "));
            assert!(dot.contains("rankdir=LR"));
            for (from, to, op) in &g.edges {
                assert!(
                    dot.contains(&format!("\"v{from}\" -> \"v{to}\" [label=\"{op}\"")),
                    "{op}"
                );
            }
            for l in g.inputs.iter().chain(&g.intermediates).chain(&g.output) {
                assert!(dot.contains(&format!("label=\"{l}\"")));
            }
            if g.output.is_some() {
                for c in &g.concat {
                    assert!(dot.contains(&format!("\"v{c}\" -> \"out\" [style=dashed")));
                }
            }
            check_dot_syntax(&dot);
        }
    }

    /// Quotes pair up and braces balance outside quoted strings.
    fn check_dot_syntax(dot: &str) {
        let mut depth = 0i32;
        let mut in_str = false;
        let mut chars = dot.chars();
        while let Some(c) = chars.next() {
            match (in_str, c) {
                (true, '\\') => {
                    chars.next();
                }
                (_, '"') => in_str = !in_str,
                (false, '{') => depth += 1,
                (false, '}') => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0);
        }
        assert!(!in_str, "unterminated string");
        assert_eq!(depth, 0);
    }

    #[test]
    fn special_characters_are_escaped() {
        let nasty = "a<b & \"c\" \\d 'e'";
        let g = CellGraph {
            title: nasty.into(),
            inputs: vec![nasty.into()],
            intermediates: vec!["x>y".into()],
            output: Some("}{".into()),
            concat: vec![1],
            edges: vec![(0, 1, nasty.into())],
        };
        let svg = cell_svg(&g);
        check_xml(&svg).unwrap();
        assert!(svg.contains("a&lt;b &amp; &quot;c&quot; \\d &#39;e&#39;"));
        assert!(!svg.contains("a<b"));
        assert!(svg.contains("x&gt;y"));
        let dot = cell_dot(&g);
        check_dot_syntax(&dot);
        assert!(dot.contains(r#""a<b & \"c\" \\d 'e'""#));
        let heat = heatmap_svg(nasty, &[nasty.into()], &["<&>".into()], &[1.0], &[(0, 0)]);
        check_xml(&heat).unwrap();
        assert!(heat.contains("&lt;&amp;&gt;"));
        // Control characters are not allowed in XML at all.
        let svg = cell_svg(&CellGraph {
            title: "bell\u{7}".into(),
            ..CellGraph::default()
        });
        check_xml(&svg).unwrap();
        assert!(!svg.contains('\u{7}'));
    }

    #[test]
    fn bad_indices_and_empty_graphs_do_not_panic() {
        let g = CellGraph {
            title: String::new(),
            inputs: strings(&["0"]),
            intermediates: strings(&["1"]),
            output: Some("out".into()),
            concat: vec![1, 1, 7],
            edges: vec![
                (0, 9, "nor_conv_3x3".into()),
                (1, 1, "skip_connect".into()),
                (0, 1, "x".into()),
            ],
        };
        let svg = cell_svg(&g);
        check_xml(&svg).unwrap();
        // Out-of-range edge and self-loop skipped; the duplicate concat entry drawn once.
        assert_eq!(svg.matches("<path class=\"edge").count(), 2);
        let dot = cell_dot(&g);
        check_dot_syntax(&dot);
        assert!(!dot.contains("v9"));
        assert_eq!(dot.matches("-> \"out\"").count(), 1);
        for g in [
            CellGraph::default(),
            CellGraph {
                intermediates: strings(&["1", "2", "3", "4"]),
                ..CellGraph::default()
            },
        ] {
            check_xml(&cell_svg(&g)).unwrap();
            check_dot_syntax(&cell_dot(&g));
        }
    }

    #[test]
    fn parallel_edges_get_staggered_labels() {
        let g = CellGraph {
            title: "multi".into(),
            inputs: strings(&["0"]),
            intermediates: strings(&["1", "2"]),
            output: None,
            concat: vec![],
            edges: vec![
                (0, 1, "nor_conv_3x3".into()),
                (0, 1, "avg_pool_3x3".into()),
                (0, 1, "skip_connect".into()),
                (0, 2, "nor_conv_1x1".into()),
                (0, 2, "none".into()),
            ],
        };
        assert_clean(&g);
        check_xml(&cell_svg(&g)).unwrap();
    }

    fn labels(n: usize, stem: &str) -> Vec<String> {
        (0..n).map(|i| format!("{stem}{i}")).collect()
    }

    #[test]
    fn heatmaps_have_one_rect_per_cell() {
        for (nr, nc) in [(6, 5), (14, 8)] {
            let values: Vec<f64> = (0..nr * nc).map(|i| 1.0 + i as f64).collect();
            let svg = heatmap_svg(
                "scores",
                &labels(nr, "edge "),
                &labels(nc, "op "),
                &values,
                &[(0, 0), (1, 2)],
            );
            check_xml(&svg).unwrap();
            assert_eq!(svg.matches("<rect class=\"cell\"").count(), nr * nc);
            assert_eq!(svg.matches("<rect class=\"kept\"").count(), 2);
            assert_eq!(svg.matches("<title>").count(), nr * nc + 1);
            assert!(svg.contains("kept (2)"));
            assert!(svg.contains("linear scale"));
        }
        assert_eq!(6 * 5, 30);
        assert_eq!(14 * 8, 112);
    }

    #[test]
    fn heatmap_special_values() {
        let rows = labels(2, "r");
        let cols = labels(3, "c");
        // NaN and infinities: hatched, counted, shown in the tooltip.
        let svg = heatmap_svg(
            "nan",
            &rows,
            &cols,
            &[1.0, f64::NAN, 2.0, f64::INFINITY, 0.5, f64::NAN],
            &[],
        );
        check_xml(&svg).unwrap();
        assert!(svg.contains("NaN / \u{b1}inf (3)"), "{svg}");
        assert!(svg.contains(": NaN</title>"));
        assert_eq!(
            svg.lines()
                .filter(|l| l.contains("class=\"cell\"") && l.contains("-nan)"))
                .count(),
            3
        );
        // Zeros only: no scale, a zero entry in the legend.
        let svg = heatmap_svg("zeros", &rows, &cols, &[0.0; 6], &[(5, 5)]);
        check_xml(&svg).unwrap();
        assert!(svg.contains("exact zero (6)"));
        assert!(svg.contains("no nonzero finite values"));
        assert!(!svg.contains("class=\"kept\""));
        // Negative: diverging, with 0 in the middle of the bar.
        let svg = heatmap_svg(
            "grasp",
            &rows,
            &cols,
            &[-3.0, -1.0, 0.0, 1.0, 2.0, 4.0],
            &[],
        );
        check_xml(&svg).unwrap();
        assert!(svg.contains("diverging linear scale"));
        assert!(svg.contains("exact zero (1)"));
        assert!(svg.contains(">-4</text>") && svg.contains(">4</text>"));
        // Short value slice and empty matrix.
        let svg = heatmap_svg("short", &rows, &cols, &[1.0, 2.0], &[]);
        check_xml(&svg).unwrap();
        assert!(svg.contains("missing (4)"));
        check_xml(&heatmap_svg("", &[], &[], &[], &[(0, 0)])).unwrap();
    }

    #[test]
    fn scale_choice() {
        assert_eq!(
            Scale::for_values([1.0, 2.0, 500.0].into_iter()),
            Scale::Linear { lo: 1.0, hi: 500.0 }
        );
        assert!(matches!(
            Scale::for_values([1e-6, 1.0, f64::NAN, 0.0].into_iter()),
            Scale::Log { .. }
        ));
        assert!(matches!(
            Scale::for_values([-1e-6, 1.0].into_iter()),
            Scale::SymLog { .. }
        ));
        assert_eq!(Scale::for_values([0.0, f64::NAN].into_iter()), Scale::Empty);
        let d = Scale::for_values([-2.0, 1.0].into_iter());
        assert_eq!(d, Scale::Diverging { max: 2.0 });
        assert_eq!(d.position(-2.0), 0.0);
        assert_eq!(d.position(2.0), 1.0);
        let sl = Scale::SymLog { s: 1e-6, max: 1.0 };
        assert!((sl.position(1e-3) + sl.position(-1e-3) - 1.0).abs() < 1e-12);
        let log = Scale::Log { lo: -6.0, hi: 0.0 };
        assert!((log.position(1e-3) - 0.5).abs() < 1e-12);
        let texts: Vec<String> = log.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(
            texts,
            ["1.000e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1", "1"]
        );
        let wide = Scale::Log { lo: -20.0, hi: 4.0 };
        assert!(wide.ticks().len() <= 10);
        assert_eq!(ramp(&SEQUENTIAL, 0.0), "#440154");
        assert_eq!(ramp(&SEQUENTIAL, 1.0), "#fde725");
        assert_eq!(ramp(&DIVERGING, 0.5), "#f7f7f7");
    }

    #[test]
    fn value_formatting() {
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_value(1.5), "1.5");
        assert_eq!(fmt_value(123.456), "123.5");
        assert_eq!(fmt_value(-0.0123456), "-0.01235");
        assert_eq!(fmt_value(2.5e-7), "2.500e-7");
        assert_eq!(fmt_value(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn id_prefixes_differ_between_pictures() {
        let a = cell_svg(&nb201());
        let b = cell_svg(&darts_derived());
        let id = |s: &str| {
            s.split("id=\"")
                .nth(1)
                .unwrap()
                .split('-')
                .next()
                .unwrap()
                .to_string()
        };
        assert_ne!(id(&a), id(&b));
        assert_eq!(a, cell_svg(&nb201()), "output must be deterministic");
    }
}
