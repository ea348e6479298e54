//! Search results: the record written by `--json` and the text report printed to the terminal.

pub mod draw;
pub mod export;
pub mod figures;
pub mod html;
pub mod load;
pub mod scatter;
pub mod validate;

use std::fmt::Write as _;

pub use crate::search::result::{Provenance, SEARCH_SCHEMA, SearchResult, Timings};

impl SearchResult {
    /// The human-readable report; `verbose` prints every score table even for many groups.
    pub fn render_text(&self, verbose: bool) -> String {
        let mut s = String::new();
        let p = &self.proxy;
        let o = &self.provenance.options;
        let _ = writeln!(
            s,
            "FreeDARTS search: space {}, proxy {}, {:?}, BN {:?}, seed {}{}",
            self.space,
            p.proxy,
            p.precision,
            o.bn,
            o.seed,
            o.init_from
                .as_ref()
                .map(|f| format!(", weights {}", f.display()))
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "{}, {} parameters (+ alpha), scoring input {:?}",
            o.space.describe(),
            self.parameters,
            self.provenance.input_shape
        );
        if p.procedure != "defined" {
            let _ = writeln!(
                s,
                "procedure {} (the official notebook's code)",
                p.procedure
            );
        }
        if let Some(prep) = &self.provenance.preprocessing {
            let name = serde_json::to_string(&prep.normalization).unwrap_or_default();
            let _ = writeln!(
                s,
                "batch normalisation {} (mean {:?}, std {:?}){}",
                name.trim_matches('"'),
                prep.mean,
                prep.std,
                prep.augmentation
                    .map(|a| format!(
                        ", augmented: crop with padding {}, flip {}, seed {}",
                        a.padding, a.flip, a.seed
                    ))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(s, "objective {} = {:.7e}", p.objective_name, p.objective);
        let kept = self.kept_cells();
        if verbose || p.groups.len() <= 2 {
            for (group, kept) in p.groups.iter().zip(&kept) {
                let _ = writeln!(s, "\nscores ({}), * marks a kept op:", group.name);
                let _ = write!(s, "{:>6}", "edge");
                for c in &group.cols {
                    let _ = write!(s, " {c:>13}");
                }
                let _ = writeln!(s, " {:>10}", "margin");
                for (r, label) in group.rows.iter().enumerate() {
                    let _ = write!(s, "{label:>6}");
                    let mark = kept.iter().find(|(row, _, _)| *row == r);
                    for (k, v) in group.row(r).iter().enumerate() {
                        let m = if mark.is_some_and(|&(_, col, _)| col == k) {
                            '*'
                        } else {
                            ' '
                        };
                        let _ = write!(s, " {v:>12.4e}{m}");
                    }
                    let margin = mark
                        .and_then(|&(_, _, m)| m)
                        .map(|m| format!("{m:.2e}"))
                        .unwrap_or_else(|| "-".into());
                    let _ = writeln!(s, " {margin:>10}");
                }
            }
        }
        let _ = writeln!(s, "\narchitecture: {}", self.architecture);
        if let Some(b) = &self.benchmark {
            let index = b.index.map(|i| format!(" (index {i})")).unwrap_or_default();
            let _ = writeln!(s, "benchmark{index}:");
            for v in &b.values {
                let _ = writeln!(
                    s,
                    "  {:<17} {:>7.2}  rank {:>5} of {} (best {:.2})",
                    v.column, v.accuracy, v.rank, v.of, v.best
                );
            }
        } else if o.benchmark.is_some() {
            let _ = writeln!(s, "benchmark: architecture not found in the file");
        }
        for w in &self.warnings {
            let level = match w.level {
                crate::diagnostics::Level::Warning => "warning",
                crate::diagnostics::Level::Note => "note",
            };
            let _ = writeln!(s, "{level} [{}]: {}", w.code, w.message);
            if let Some(r) = &w.remedy {
                let _ = writeln!(s, "  remedy: {r}");
            }
        }
        for n in &p.notes {
            let _ = writeln!(s, "note: {n}");
        }
        let t = &self.timings;
        let _ = writeln!(
            s,
            "\ntime: build {:.3}s, data {:.3}s, score {:.3}s, derive {:.4}s, benchmark {:.3}s, total {:.3}s; peak RSS {}",
            t.build_s,
            t.data_s,
            t.score_s,
            t.derive_s,
            t.benchmark_s,
            t.total_s,
            self.peak_rss_mb
                .map(|m| format!("{m:.0} MB"))
                .unwrap_or_else(|| "unknown".into())
        );
        s
    }
}
