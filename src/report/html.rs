//! One self-contained HTML report page.
//!
//! The page carries its style inline and needs no script, font or stylesheet from elsewhere, so
//! it renders the same offline, from a file, as an e-mail attachment or in an archive years
//! later. Everything a caller passes is escaped except [`Body::Html`], which is for fragments
//! the program built itself (such as the SVG pictures of [`super::draw`]).

use std::fmt::Write as _;

/// A titled part of the report; each gets an entry in the table of contents.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    /// Heading of the section (escaped).
    pub title: String,
    /// What the section shows.
    pub body: Body,
}

impl Section {
    /// A section with this title and body.
    pub fn new(title: impl Into<String>, body: Body) -> Self {
        Section {
            title: title.into(),
            body,
        }
    }
}

/// Content of a [`Section`].
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// A trusted fragment, inserted as is (e.g. an inline SVG).
    Html(String),
    /// Plain text, escaped and shown in `<pre>` (long lines wrap).
    Text(String),
    /// A table; every cell is escaped. Rows may be ragged: short rows are padded with empty
    /// cells to the widest row or header. An empty header leaves out the header row.
    Table {
        /// Column headings.
        header: Vec<String>,
        /// Rows of cells.
        rows: Vec<Vec<String>>,
    },
    /// Pairs shown as a definition list; both sides escaped.
    KeyValues(Vec<(String, String)>),
}

/// Escapes text for HTML content and attribute values (`&`, `<`, `>`, `"`, `'`). The SVG
/// escaper serves: HTML needs the same five entities, and control characters other than tab
/// and line breaks are parse errors in HTML too, so they become U+FFFD in both.
pub fn escape(text: &str) -> String {
    super::draw::xml_escape(text)
}

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body {
  margin: 0 auto; max-width: 72rem; padding: 1.5rem 1.25rem 2rem;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.55; color: #1f2328; background: #ffffff;
}
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0 0 0.25rem; }
.subtitle { margin: 0 0 1.5rem; color: #57606a; }
h2 {
  font-size: 1.3rem; line-height: 1.3; margin: 2.2rem 0 0.75rem;
  padding-bottom: 0.3rem; border-bottom: 1px solid #d8dee4;
}
a { color: #0b5cad; }
nav.toc {
  background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px;
  padding: 0.75rem 1.25rem; margin: 0 0 1.5rem;
}
nav.toc h2 { font-size: 1rem; margin: 0 0 0.25rem; padding: 0; border: 0; }
nav.toc ol { margin: 0; padding-left: 1.5rem; }
pre {
  white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.5rem 0 1rem;
  background: #f6f8fa; border: 1px solid #d8dee4; border-radius: 6px; padding: 0.75rem 1rem;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.875rem; line-height: 1.45;
}
.table-wrap { overflow-x: auto; margin: 0.5rem 0 1rem; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
tbody tr:nth-child(even) { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1.25rem; margin: 0.5rem 0 1rem; }
dl.kv dt { font-weight: 600; }
dl.kv dd { margin: 0; overflow-wrap: anywhere; }
.fragment { margin: 0.5rem 0 1rem; overflow-x: auto; }
svg, img { max-width: 100%; height: auto; }
footer {
  margin-top: 3rem; padding-top: 0.75rem; border-top: 1px solid #d8dee4;
  color: #57606a; font-size: 0.85rem;
}
@media print {
  nav.toc { display: none; }
  body { max-width: none; }
  section { break-inside: avoid-page; }
}
"#;

/// Anchor id of the `index`-th section: the position keeps ids unique even when titles repeat
/// or have no ASCII letters, the slug keeps links readable.
fn anchor(index: usize, title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("s{}", index + 1)
    } else {
        format!("s{}-{slug}", index + 1)
    }
}

/// Whether a table cell reads as a number, so that it can be right-aligned.
fn is_number(cell: &str) -> bool {
    let t = cell.trim();
    !t.is_empty() && t.parse::<f64>().is_ok()
}

fn write_table(s: &mut String, header: &[String], rows: &[Vec<String>]) {
    let width = rows.iter().map(Vec::len).fold(header.len(), usize::max);
    s.push_str("<div class=\"table-wrap\">\n<table>\n");
    if !header.is_empty() {
        s.push_str("<thead><tr>");
        for k in 0..width {
            let h = header.get(k).map_or("", String::as_str);
            let _ = write!(s, "<th scope=\"col\">{}</th>", escape(h));
        }
        s.push_str("</tr></thead>\n");
    }
    s.push_str("<tbody>\n");
    for row in rows {
        s.push_str("<tr>");
        for k in 0..width {
            let cell = row.get(k).map_or("", String::as_str);
            if is_number(cell) {
                let _ = write!(s, "<td class=\"num\">{}</td>", escape(cell));
            } else {
                let _ = write!(s, "<td>{}</td>", escape(cell));
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table>\n</div>\n");
}

/// The whole report as one HTML5 document: title, subtitle (left out when empty), a table of
/// contents linking to every section, the sections in order and a footer line.
pub fn page(title: &str, subtitle: &str, sections: &[Section]) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str("<meta name=\"generator\" content=\"freedarts\">\n");
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(s, "<style>{STYLE}</style>");
    s.push_str("</head>\n<body>\n<header>\n");
    let _ = writeln!(s, "<h1>{}</h1>", escape(title));
    if !subtitle.is_empty() {
        let _ = writeln!(s, "<p class=\"subtitle\">{}</p>", escape(subtitle));
    }
    s.push_str("</header>\n");

    let ids: Vec<String> = sections
        .iter()
        .enumerate()
        .map(|(i, sec)| anchor(i, &sec.title))
        .collect();
    if !sections.is_empty() {
        s.push_str("<nav class=\"toc\">\n<h2>Contents</h2>\n<ol>\n");
        for (sec, id) in sections.iter().zip(&ids) {
            let _ = writeln!(s, "<li><a href=\"#{id}\">{}</a></li>", escape(&sec.title));
        }
        s.push_str("</ol>\n</nav>\n");
    }

    s.push_str("<main>\n");
    for (sec, id) in sections.iter().zip(&ids) {
        let _ = writeln!(s, "<section id=\"{id}\">\n<h2>{}</h2>", escape(&sec.title));
        match &sec.body {
            Body::Html(fragment) => {
                let _ = writeln!(s, "<div class=\"fragment\">\n{fragment}\n</div>");
            }
            Body::Text(text) => {
                let _ = writeln!(s, "<pre>{}</pre>", escape(text));
            }
            Body::Table { header, rows } => write_table(&mut s, header, rows),
            Body::KeyValues(pairs) => {
                s.push_str("<dl class=\"kv\">\n");
                for (k, v) in pairs {
                    let _ = writeln!(s, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
                }
                s.push_str("</dl>\n");
            }
        }
        s.push_str("</section>\n");
    }
    s.push_str("</main>\n<footer>generated by freedarts</footer>\n</body>\n</html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Section> {
        vec![
            Section::new(
                "Summary",
                Body::KeyValues(vec![
                    ("space".into(), "nas-bench-201".into()),
                    ("proxy".into(), "synflow <log> & \"grasp\"".into()),
                ]),
            ),
            Section::new(
                "Genotype",
                Body::Text(format!(
                    "|{}|+|none~0|<skip>|",
                    "nor_conv_3x3~0|".repeat(40)
                )),
            ),
            Section::new(
                "Cell",
                Body::Html(
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\" viewBox=\"0 0 10 10\"><rect width=\"10\" height=\"10\" fill=\"#ffffff\"/></svg>"
                        .into(),
                ),
            ),
            Section::new(
                "Scores & ranks",
                Body::Table {
                    header: vec!["edge".into(), "op".into(), "score".into()],
                    rows: vec![
                        vec!["1<-0".into(), "nor_conv_3x3".into(), "1.5e-3".into()],
                        vec!["2<-1".into()],
                        vec![
                            "3<-2".into(),
                            "skip".into(),
                            "2".into(),
                            "extra".into(),
                        ],
                    ],
                },
            ),
            Section::new("Summary", Body::Text(String::new())),
            Section::new("\u{3b1} \u{2192} \u{3b2}", Body::Text("greek".into())),
        ]
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<&>\"'"), "&lt;&amp;&gt;&quot;&#39;");
        assert_eq!(escape("plain text"), "plain text");
        assert_eq!(escape("a\0b"), "a\u{FFFD}b");
    }

    #[test]
    fn document_skeleton() {
        let html = page("FreeDARTS <run>", "seed 0 & more", &sample());
        assert!(html.starts_with("<!DOCTYPE html>\n"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<meta name=\"viewport\""));
        assert!(html.contains("<title>FreeDARTS &lt;run&gt;</title>"));
        assert!(html.contains("<p class=\"subtitle\">seed 0 &amp; more</p>"));
        assert!(html.contains("<style>") && html.contains("white-space: pre-wrap"));
        assert!(html.contains("max-width: 100%; height: auto"));
        assert!(html.contains("tbody tr:nth-child(even)"));
        assert!(html.contains("<footer>generated by freedarts</footer>"));
        assert!(!html.contains("<script"));
        for tag in [
            "html", "head", "body", "main", "section", "table", "nav", "pre",
        ] {
            assert_eq!(
                html.matches(&format!("<{tag}>")).count()
                    + html.matches(&format!("<{tag} ")).count(),
                html.matches(&format!("</{tag}>")).count(),
                "<{tag}> unbalanced"
            );
        }
        // No subtitle paragraph when there is none.
        assert!(!page("t", "", &[]).contains("subtitle\">"));
    }

    #[test]
    fn every_section_has_an_anchor() {
        let sections = sample();
        let html = page("report", "", &sections);
        let mut seen = Vec::new();
        for (i, sec) in sections.iter().enumerate() {
            let id = anchor(i, &sec.title);
            assert!(!seen.contains(&id), "duplicate id {id}");
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            let title = escape(&sec.title);
            assert!(html.contains(&format!("<a href=\"#{id}\">{title}</a>")));
            assert!(html.contains(&format!("<section id=\"{id}\">\n<h2>{title}</h2>")));
            seen.push(id);
        }
        assert_eq!(anchor(3, "Scores & ranks"), "s4-scores-ranks");
        assert_eq!(anchor(5, "\u{3b1}"), "s6");
    }

    #[test]
    fn bodies_are_escaped_except_html() {
        let html = page("t", "", &sample());
        assert!(html.contains("<dd>synflow &lt;log&gt; &amp; &quot;grasp&quot;</dd>"));
        assert!(html.contains("|+|none~0|&lt;skip&gt;|</pre>"));
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\""));
        assert!(html.contains("<td>1&lt;-0</td>"));
        assert!(html.contains("<td class=\"num\">1.5e-3</td>"));
    }

    #[test]
    fn no_external_resources() {
        let html = page("report", "sub", &sample());
        // The SVG namespace is a name, not something fetched; anything else would be.
        let stripped = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for needle in ["http://", "https://", "src=", "@import", "<link", "<script"] {
            assert!(!stripped.contains(needle), "found {needle}");
        }
        let mut rest = stripped.as_str();
        while let Some(k) = rest.find("url(") {
            assert!(
                rest[k + 4..].starts_with('#'),
                "url() to something outside the page"
            );
            rest = &rest[k + 4..];
        }
    }

    #[test]
    fn ragged_tables_are_padded() {
        let html = page("t", "", &sample());
        let table = &html[html.find("<table>").unwrap()..html.find("</table>").unwrap()];
        // Four columns (the widest row), three rows, every row full.
        assert_eq!(table.matches("<th ").count(), 4);
        assert_eq!(table.matches("<tr>").count(), 4);
        assert_eq!(table.matches("<td").count(), 12);
        assert!(table.contains("<td>extra</td>"));
        let odd = [Section::new(
            "odd",
            Body::Table {
                header: vec![],
                rows: vec![vec![], vec!["x".into()], vec![]],
            },
        )];
        let html = page("t", "", &odd);
        assert!(!html.contains("<thead>"));
        assert_eq!(html.matches("<td").count(), 3);
        let empty = [Section::new(
            "empty",
            Body::Table {
                header: vec![],
                rows: vec![],
            },
        )];
        assert!(page("t", "", &empty).contains("<tbody>\n</tbody>"));
    }
}
