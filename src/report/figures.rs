//! Search results as pictures and as one self-contained HTML page, built from the drawing
//! primitives in [`super::draw`] and [`super::html`].

use super::SearchResult;
use super::draw::{CellGraph, cell_dot, cell_svg, heatmap_svg};
use super::html::{Body, Section, page};
use crate::search::refine::{RefineTrace, RefinedCell};
use crate::search::strategy::{Pruned, StrategyTrace};

/// The derived cell(s) of a result as graphs.
pub fn cell_graphs(result: &SearchResult) -> Vec<CellGraph> {
    result.derivation.cell_graphs()
}

/// One heatmap per alpha group, with the kept ops outlined.
pub fn heatmaps(result: &SearchResult) -> Vec<String> {
    result
        .proxy
        .groups
        .iter()
        .zip(result.kept_cells())
        .map(|(g, kept)| {
            let kept: Vec<(usize, usize)> = kept.iter().map(|&(r, c, _)| (r, c)).collect();
            heatmap_svg(
                &format!("{} scores ({})", result.proxy.proxy, g.name),
                &g.rows,
                &g.cols,
                &g.score,
                &kept,
            )
        })
        .collect()
}

/// The file written by `--draw`: DOT for `.dot` (cells only), SVG otherwise (cells, then
/// heatmaps, stacked vertically).
pub fn drawing(result: &SearchResult, dot: bool) -> String {
    let cells = cell_graphs(result);
    if dot {
        return cells.iter().map(cell_dot).collect::<Vec<_>>().join("\n");
    }
    let parts: Vec<String> = cells.iter().map(cell_svg).chain(heatmaps(result)).collect();
    stack_svgs(&parts)
}

/// Stacks SVG documents vertically in one SVG by nesting them.
fn stack_svgs(parts: &[String]) -> String {
    let dims = |svg: &str| -> (f64, f64) {
        let attr = |name: &str| {
            svg.split_once(&format!(" {name}=\""))
                .and_then(|(_, rest)| rest.split_once('"'))
                .and_then(|(v, _)| v.trim_end_matches("px").parse::<f64>().ok())
                .unwrap_or(400.0)
        };
        (attr("width"), attr("height"))
    };
    let mut y = 0.0;
    let mut width: f64 = 0.0;
    let mut body = String::new();
    for part in parts {
        let (w, h) = dims(part);
        width = width.max(w);
        // A nested <svg> keeps each picture's own coordinate system.
        body.push_str(&part.replacen("<svg", &format!("<svg y=\"{y}\""), 1));
        body.push('\n');
        y += h + 20.0;
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{y}\" viewBox=\"0 0 {width} {y}\">\n{body}</svg>\n"
    )
}

/// The self-contained HTML report of a search.
pub fn html_report(result: &SearchResult) -> String {
    let p = &result.provenance;
    let mut sections = vec![Section {
        title: "Architecture".into(),
        body: Body::Text(result.architecture.clone()),
    }];
    for (graph, svg) in cell_graphs(result).iter().map(|g| (g, cell_svg(g))) {
        sections.push(Section {
            title: graph.title.clone(),
            body: Body::Html(svg),
        });
    }
    for svg in heatmaps(result) {
        sections.push(Section {
            title: "Scores".into(),
            body: Body::Html(svg),
        });
    }
    if let Some(b) = &result.benchmark {
        sections.push(Section {
            title: "NAS-Bench-201".into(),
            body: Body::Table {
                header: vec![
                    "column".into(),
                    "accuracy".into(),
                    "rank".into(),
                    "best".into(),
                ],
                rows: b
                    .values
                    .iter()
                    .map(|v| {
                        vec![
                            v.column.clone(),
                            format!("{:.2}", v.accuracy),
                            format!("{} of {}", v.rank, v.of),
                            format!("{:.2}", v.best),
                        ]
                    })
                    .collect(),
            },
        });
    }
    if let Some(trace) = &result.strategy {
        sections.push(strategy_section(result, trace));
    }
    if let Some(trace) = &result.refine {
        sections.push(refine_section(trace));
    }
    if !result.warnings.is_empty() {
        sections.push(Section {
            title: "Findings".into(),
            body: Body::Table {
                header: vec!["code".into(), "message".into(), "remedy".into()],
                rows: result
                    .warnings
                    .iter()
                    .map(|w| {
                        vec![
                            w.code.clone(),
                            w.message.clone(),
                            w.remedy.clone().unwrap_or_default(),
                        ]
                    })
                    .collect(),
            },
        });
    }
    sections.push(Section {
        title: "Provenance".into(),
        body: Body::KeyValues(vec![
            ("seed".into(), p.seed.to_string()),
            (
                "options".into(),
                serde_json::to_string(&p.options).unwrap_or_default(),
            ),
            ("freedarts".into(), p.freedarts_version.clone()),
            ("burn".into(), p.burn_version.clone()),
            ("backend".into(), p.backend.clone()),
            ("input shape".into(), format!("{:?}", p.input_shape)),
            (
                "image batch".into(),
                match (&p.batch_indices, &p.batch_sha256) {
                    (Some(i), Some(sha)) => format!("{} records, SHA-256 {sha}", i.len()),
                    (Some(i), None) => format!("{} records", i.len()),
                    _ => "none (data-free)".into(),
                },
            ),
            ("threads".into(), p.threads.to_string()),
            ("command line".into(), p.command_line.join(" ")),
            (
                "score time".into(),
                format!("{:.3} s", result.timings.score_s),
            ),
        ]),
    });
    page(
        &format!(
            "FreeDARTS search: {} / {}",
            result.space, result.proxy.proxy
        ),
        &format!(
            "objective {} = {:.6e}, {} precision{}",
            result.proxy.objective_name,
            result.proxy.objective,
            serde_json::to_string(&result.proxy.precision)
                .unwrap_or_default()
                .trim_matches('"'),
            how_searched(result)
        ),
        &sections,
    )
}

/// The procedure and strategy, where they are not the defaults (so default pages read as
/// they always did).
fn how_searched(result: &SearchResult) -> String {
    let mut s = String::new();
    if result.proxy.procedure != "defined" {
        s.push_str(&format!(", procedure {}", result.proxy.procedure));
    }
    if let Some(t) = &result.strategy {
        s.push_str(&format!(
            ", strategy {} ({} rounds)",
            t.strategy.name(),
            t.rounds.len()
        ));
    }
    if let Some(r) = &result.refine {
        s.push_str(&format!(
            ", refined by a local search ({}, {} expansion(s))",
            r.proxy,
            r.expanded.len()
        ));
    }
    s
}

/// The cells `--refine local` scored, best first (the ten best, and the start cell).
fn refine_section(trace: &RefineTrace) -> Section {
    let mut order: Vec<&RefinedCell> = trace.cells.iter().collect();
    order.sort_by(|a, b| b.score.total_cmp(&a.score));
    let role = |c: &RefinedCell| {
        let mut words = Vec::new();
        if c.arch == trace.arch {
            words.push("found");
        }
        if c.arch == trace.start {
            words.push("start");
        }
        if trace.expanded.contains(&c.arch) {
            words.push("expanded");
        }
        words.join(", ")
    };
    let rows = order
        .iter()
        .enumerate()
        .filter(|(i, c)| *i < 10 || c.arch == trace.start)
        .map(|(i, c)| {
            vec![
                (i + 1).to_string(),
                c.arch.clone(),
                format!("{:.4}", c.score),
                role(c),
            ]
        })
        .collect();
    Section {
        title: format!(
            "Refinement: {} over {} cell(s), {} initialisation(s)",
            trace.proxy,
            trace.cells.len(),
            trace.inits
        ),
        body: Body::Table {
            header: vec!["rank".into(), "cell".into(), "combined".into(), "".into()],
            rows,
        },
    }
}

/// One row per round of a strategy: its objective and what it removed, by name.
fn strategy_section(result: &SearchResult, trace: &StrategyTrace) -> Section {
    let label = |p: &Pruned| {
        let g = result.proxy.groups.get(p.group);
        let name = |v: Option<&String>| v.cloned().unwrap_or_else(|| "?".into());
        let group = name(g.map(|g| &g.name));
        let row = name(g.and_then(|g| g.rows.get(p.row)));
        let col = name(g.and_then(|g| g.cols.get(p.col)));
        let what = if p.edge { "edge " } else { "" };
        format!("{group} {what}{row} {col}")
    };
    Section {
        title: format!("Strategy: {}", trace.strategy.name()),
        body: Body::Table {
            header: vec!["round".into(), "objective".into(), "removed".into()],
            rows: trace
                .rounds
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    vec![
                        (i + 1).to_string(),
                        format!("{:.6e}", r.objective),
                        r.pruned.iter().map(label).collect::<Vec<_>>().join(", "),
                    ]
                })
                .collect(),
        },
    }
}
