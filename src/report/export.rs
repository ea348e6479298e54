//! The derived architecture as a file another code base reads: the NB201 string for the
//! NAS-Bench-201 / NATS-Bench API, the `Genotype(...)` text for the DARTS PyTorch code.

use std::fmt::Write as _;

use super::SearchResult;
use crate::spaces::derive::Derivation;

/// One `#` comment line. The text may come from any JSON file given to `report`, so every
/// control character (a newline would end the comment and start code) becomes a space.
fn comment(text: &str) -> String {
    format!("# {}\n", one_line(text))
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// The architecture as text (`.txt` and anything else) or as an importable Python module
/// (`python = true`: a `Genotype` namedtuple as DARTS' `genotypes.py` declares it, and the
/// result bound to `FREEDARTS`; per-cell results bind `CELLS`, one gene list per cell).
pub fn architecture_file(result: &SearchResult, python: bool) -> String {
    if !python {
        return format!("{}\n", result.architecture);
    }
    let p = &result.provenance;
    let mut s = comment(&format!(
        "FreeDARTS search result: space {}, proxy {}, seed {}, freedarts {}.",
        result.space, result.proxy.proxy, p.seed, p.freedarts_version
    ));
    s.push_str(&comment(&format!("Command: {}", p.command_line.join(" "))));
    for w in &result.warnings {
        if w.level == crate::diagnostics::Level::Warning {
            s.push_str(&comment(&format!("WARNING [{}]: {}", w.code, w.message)));
        }
    }
    match &result.derivation {
        Derivation::Nb201 { arch, .. } => {
            let _ = writeln!(
                s,
                "# Pass ARCH to api.query_index_by_arch() of NAS-Bench-201 or NATS-Bench."
            );
            let _ = writeln!(s, "\nARCH = \"{arch}\"");
        }
        Derivation::Darts {
            genotype: Some(g), ..
        } => {
            s.push_str("\nfrom collections import namedtuple\n\n");
            s.push_str(
                "Genotype = namedtuple(\"Genotype\", \"normal normal_concat reduce reduce_concat\")\n",
            );
            let _ = writeln!(s, "\nFREEDARTS = {g}");
        }
        Derivation::Darts { cells, .. } => {
            let reductions = p.options.space.space().reduction_cells();
            let _ = writeln!(
                s,
                "# One alpha per cell: CELLS[i] = (gene list, concat) of cell i; cells {reductions:?} reduce."
            );
            let _ = writeln!(s, "\nREDUCTION_CELLS = {reductions:?}\n\nCELLS = [");
            for c in cells {
                let _ = writeln!(
                    s,
                    "    ({}, {:?}),  # {}",
                    c.genes.to_list_string(),
                    c.genes.concat,
                    one_line(&c.group)
                );
            }
            s.push_str("]\n");
        }
    }
    s
}
