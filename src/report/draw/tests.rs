use super::cell::{Edge, EdgeKind, Rect, Route, layout};
use super::heatmap::{Scale, fmt_value, ramp};
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
            if text.chars().any(|c| xml_char(c) != c) {
                return Err(format!("character XML forbids in {text:?}"));
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

fn overlaps(a: &Rect, b: &Rect) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

/// Op labels clear the nodes and each other, and no two arc ends share a point.
fn assert_clean(g: &CellGraph) {
    let lay = layout(g);
    let nodes: Vec<Rect> = (0..lay.nodes.len()).map(|i| lay.node_rect(i)).collect();
    let labels: Vec<(&str, Rect)> = lay
        .edges
        .iter()
        .filter(|a| matches!(a.kind, EdgeKind::Op(_)))
        .map(|a| (a.op.as_str(), lay.label_rect(a)))
        .collect();
    for (i, (a, ra)) in labels.iter().enumerate() {
        for n in &nodes {
            assert!(!overlaps(ra, n), "label {a} over a node");
        }
        for (b, rb) in &labels[i + 1..] {
            assert!(!overlaps(ra, rb), "labels {a} and {b} overlap");
        }
    }
    let mut ends: Vec<(i64, i64)> = Vec::new();
    for e in &lay.edges {
        for (x, y) in e.ends() {
            assert!(x != 0.0, "edge end without a place");
            ends.push(((x * 10.0).round() as i64, (y * 10.0).round() as i64));
        }
    }
    let n = ends.len();
    ends.sort_unstable();
    ends.dedup();
    assert_eq!(ends.len(), n, "two edge ends at one point");
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
        assert_eq!(svg, cell_svg(&g), "output must be deterministic");
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

/// Of two arcs on one face with a common end, the higher one spans the lower one: they nest
/// instead of crossing.
#[test]
fn arcs_sharing_an_end_nest() {
    for g in [nb201(), darts_full(), darts_derived()] {
        let lay = layout(&g);
        let arcs: Vec<(&Edge, bool, usize)> = lay
            .edges
            .iter()
            .filter_map(|e| match e.route {
                Route::Arc { above, level } => Some((e, above, level)),
                Route::Straight => None,
            })
            .collect();
        assert!(!arcs.is_empty());
        let span = |e: &Edge| (e.x1.min(e.x2), e.x1.max(e.x2));
        for &(a, a_above, a_level) in &arcs {
            for &(b, b_above, b_level) in &arcs {
                let shared = a.from == b.from || a.to == b.to;
                if a_above == b_above && shared && a_level > b_level {
                    let ((alo, ahi), (blo, bhi)) = (span(a), span(b));
                    assert!(
                        alo < blo && ahi > bhi,
                        "{}: {} over {}",
                        g.title,
                        a.op,
                        b.op
                    );
                }
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
    let bell = "bell\u{7}";
    let svg = cell_svg(&CellGraph {
        title: bell.into(),
        ..CellGraph::default()
    });
    check_xml(&svg).unwrap();
    let heat = heatmap_svg(bell, &[bell.into()], &[bell.into()], &[1.0], &[]);
    check_xml(&heat).unwrap();
    assert!(!svg.contains('\u{7}') && !heat.contains('\u{7}'));
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
fn repeated_and_backward_edges_stay_apart() {
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
            (2, 1, "nor_conv_3x3".into()),
            (2, 0, "avg_pool_3x3".into()),
            (1, 0, "skip_connect".into()),
        ],
    };
    assert_clean(&g);
    check_xml(&cell_svg(&g)).unwrap();
}

fn labels(n: usize, stem: &str) -> Vec<String> {
    (0..n).map(|i| format!("{stem}{i}")).collect()
}

/// The text of plotters' `<text>` elements (it puts the text on a line of its own).
fn texts(svg: &str) -> Vec<&str> {
    svg.split("<text ")
        .skip(1)
        .filter_map(|t| t.split_once(">\n")?.1.split_once("\n</text>"))
        .map(|(t, _)| t)
        .collect()
}

/// Kept cells and the legend's swatch for them are the only strokes 3 wide.
fn outlines(svg: &str) -> usize {
    svg.matches("stroke-width=\"3\"").count()
}

#[test]
fn heatmaps_show_every_value_and_the_kept_cells() {
    for (nr, nc) in [(6, 5), (14, 8)] {
        let values: Vec<f64> = (0..nr * nc).map(|i| 1.0 + i as f64).collect();
        let svg = heatmap_svg(
            "scores",
            &labels(nr, "edge "),
            &labels(nc, "op "),
            &values,
            &[(0, 0), (1, 2), (1, 2), (nr, 0)],
        );
        check_xml(&svg).unwrap();
        let shown = texts(&svg);
        for v in &values {
            assert!(shown.contains(&fmt_value(*v).as_str()), "{v}");
        }
        for l in labels(nr, "edge ").iter().chain(&labels(nc, "op ")) {
            assert!(shown.contains(&l.as_str()), "{l}");
        }
        // One rect per cell (the only ones 20 high), the kept cells outlined once each.
        assert_eq!(svg.matches("height=\"20\"").count(), nr * nc);
        assert_eq!(outlines(&svg), 2 + 1);
        assert!(shown.contains(&"kept (2)"));
        assert!(shown.contains(&"colours: linear scale"));
        assert_eq!(
            svg,
            heatmap_svg(
                "scores",
                &labels(nr, "edge "),
                &labels(nc, "op "),
                &values,
                &[(0, 0), (1, 2), (1, 2), (nr, 0)],
            ),
            "output must be deterministic"
        );
    }
}

#[test]
fn heatmap_special_values() {
    let rows = labels(2, "r");
    let cols = labels(3, "c");
    // NaN and infinities: magenta, counted, named in their cells.
    let svg = heatmap_svg(
        "nan",
        &rows,
        &cols,
        &[1.0, f64::NAN, 2.0, f64::INFINITY, 0.5, f64::NAN],
        &[],
    );
    check_xml(&svg).unwrap();
    let shown = texts(&svg);
    assert!(shown.contains(&"NaN / \u{b1}inf (3)"), "{svg}");
    assert_eq!(shown.iter().filter(|t| **t == "NaN").count(), 2);
    assert!(shown.contains(&"+inf"));
    // Three cells and the legend's swatch.
    assert_eq!(svg.matches("fill=\"#FF00FF\"").count(), 4);
    // Zeros only: no scale, a zero entry in the legend.
    let svg = heatmap_svg("zeros", &rows, &cols, &[0.0; 6], &[(5, 5)]);
    check_xml(&svg).unwrap();
    let shown = texts(&svg);
    assert!(shown.contains(&"exact zero (6)"));
    assert!(shown.contains(&"colours: no nonzero finite values"));
    assert_eq!(outlines(&svg), 0);
    // Negative: diverging, with 0 in the middle of the bar.
    let svg = heatmap_svg(
        "grasp",
        &rows,
        &cols,
        &[-3.0, -1.0, 0.0, 1.0, 2.0, 4.0],
        &[],
    );
    check_xml(&svg).unwrap();
    let shown = texts(&svg);
    assert!(shown.contains(&"colours: diverging linear scale, symmetric about 0"));
    assert!(shown.contains(&"exact zero (1)"));
    assert!(shown.contains(&"-4") && shown.contains(&"4"));
    // Short value slice and empty matrix.
    let svg = heatmap_svg("short", &rows, &cols, &[1.0, 2.0], &[]);
    check_xml(&svg).unwrap();
    assert!(texts(&svg).contains(&"missing (4)"));
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
    use plotters::style::RGBColor;
    assert_eq!(
        ramp(&super::heatmap::SEQUENTIAL, 0.0),
        RGBColor(0x44, 0x01, 0x54)
    );
    assert_eq!(
        ramp(&super::heatmap::SEQUENTIAL, 1.0),
        RGBColor(0xfd, 0xe7, 0x25)
    );
    assert_eq!(
        ramp(&super::heatmap::DIVERGING, 0.5),
        RGBColor(0xf7, 0xf7, 0xf7)
    );
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
