//! `correlate --markdown`: the report as Markdown tables, to paste into a README or a paper
//! without retyping a number.

use super::CorrelationReport;

impl CorrelationReport {
    /// One table of every metric per accuracy column, then Spearman's rho of every proxy
    /// against every column, then what was left out. Numbers are rounded as in the text
    /// output (three decimals; accuracies two); proxy names are code spans, so an ensemble's
    /// `*` is not read as emphasis.
    pub fn render_markdown(&self) -> String {
        let columns = self.columns();
        let fractions: Vec<String> = self
            .top_fractions
            .iter()
            .map(|f| format!("{}%", f * 100.0))
            .collect();
        let mut out = String::new();
        for column in &columns {
            let rows: Vec<_> = self
                .results
                .iter()
                .filter(|r| r.column == *column)
                .collect();
            let best = rows.first().map_or(f64::NAN, |r| r.best_possible);
            out.push_str(&format!(
                "| proxy vs {column} | n | tau | rho | r |{}|{}|\n",
                fractions
                    .iter()
                    .map(|f| format!(" P@{f} "))
                    .collect::<Vec<_>>()
                    .join("|"),
                fractions
                    .iter()
                    .map(|f| format!(" best in top {f} "))
                    .collect::<Vec<_>>()
                    .join("|"),
            ));
            out.push_str(&format!(
                "|---|{}\n",
                "---|".repeat(4 + 2 * fractions.len())
            ));
            for r in rows {
                let precision: Vec<String> =
                    r.precision_at.iter().map(|p| format!(" {p:.3} ")).collect();
                let best_in: Vec<String> =
                    r.best_in_top.iter().map(|a| format!(" {a:.2} ")).collect();
                out.push_str(&format!(
                    "| `{}` | {} | {:.3} | {:.3} | {:.3} |{}|{}|\n",
                    r.proxy,
                    r.n,
                    r.kendall_tau,
                    r.spearman,
                    r.pearson,
                    precision.join("|"),
                    best_in.join("|"),
                ));
            }
            out.push_str(&format!("\nBest possible {column}: {best:.2}.\n\n"));
        }
        out.push_str(&format!(
            "| Spearman rho | {} |\n|---|{}\n",
            columns.join(" | "),
            "---|".repeat(columns.len())
        ));
        for (proxy, _) in &self.larger_is_better {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| {
                    self.results
                        .iter()
                        .find(|r| r.proxy == *proxy && r.column == *c)
                        .map_or("".into(), |r| format!("{:.3}", r.spearman))
                })
                .collect();
            out.push_str(&format!("| `{proxy}` | {} |\n", cells.join(" | ")));
        }
        let mut notes = Vec::new();
        let negated: Vec<String> = self
            .larger_is_better
            .iter()
            .filter(|(_, larger)| !larger)
            .map(|(p, _)| format!("`{p}`"))
            .collect();
        if !negated.is_empty() {
            notes.push(format!(
                "Smaller is better for {} (from the score files), so it is negated before ranking.",
                negated.join(", ")
            ));
        }
        if self.unmatched > 0 {
            notes.push(format!(
                "{} scored architectures are not in the benchmark and were left out.",
                self.unmatched
            ));
        }
        for (proxy, skipped) in self.left_out() {
            notes.push(format!(
                "`{proxy}`: {skipped} architectures without a finite score (null, NaN or infinite) were left out."
            ));
        }
        if !notes.is_empty() {
            out.push('\n');
            out.push_str(&notes.join("\n"));
            out.push('\n');
        }
        out
    }
}
