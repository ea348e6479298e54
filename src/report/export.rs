//! The derived architecture as a file another code base reads: the NB201 string for the
//! NAS-Bench-201 / NATS-Bench API, the `Genotype(...)` text for the DARTS PyTorch code.

use super::SearchResult;

/// One `#` comment line. The text may come from any JSON file given to `report`, so every
/// control character (a newline would end the comment and start code) becomes a space.
fn comment(text: &str) -> String {
    format!("# {}\n", crate::util::one_line(text))
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
    let reductions = p.options.space.space().reduction_cells();
    s.push_str(&result.derivation.python_binding(&reductions));
    s
}
