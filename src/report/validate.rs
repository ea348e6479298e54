//! Checks a search result read back from JSON before anything is drawn from it: a file edited
//! by hand (or by another program) must either describe one consistent search or be refused
//! with the field that is wrong. The HTML page, the drawings and the exported architecture all
//! come from a result that passed these checks, so they cannot disagree.

use super::SearchResult;
use crate::spaces::darts::{CellGenes, DARTS_STEPS, DartsOp, Genotype};
use crate::spaces::derive::{Derivation, EdgeDecision};
use crate::spaces::nb201::Nb201Arch;

/// Longest row, column or group label accepted.
pub const MAX_LABEL_CHARS: usize = 64;
/// Most alpha groups (one per cell with `--alpha-per-cell`, 1000 cells at most).
pub const MAX_GROUPS: usize = 1000;

/// The shape of the alpha matrices of each space: (rows, columns).
fn expected_shape(space: &str) -> Option<(usize, usize)> {
    match space {
        "nb201" => Some((6, 5)),
        "darts" | "darts-imagenet" => Some((14, DartsOp::ALL.len())),
        _ => None,
    }
}

/// Everything wrong with `r`, first problem first; `Ok` when it is one consistent search.
pub fn validate(r: &SearchResult) -> Result<(), String> {
    let space = r.space.as_str();
    let Some((rows, cols)) = expected_shape(space) else {
        return Err(format!(
            "unknown space `{}` (this freedarts writes nb201, darts and darts-imagenet)",
            crate::util::input::escape_control(space, 40)
        ));
    };
    let options_space = r.provenance.options.space.name();
    if options_space != space {
        return Err(format!(
            "`space` is {space} but the options describe a {options_space} supernet"
        ));
    }
    let groups = &r.proxy.groups;
    if groups.is_empty() || groups.len() > MAX_GROUPS {
        return Err(format!(
            "{} score groups (expected 1 to {MAX_GROUPS})",
            groups.len()
        ));
    }
    for g in groups {
        let name = crate::util::input::escape_control(&g.name, MAX_LABEL_CHARS);
        if g.rows.len() != rows || g.cols.len() != cols {
            return Err(format!(
                "score group `{name}` is {}x{}, but {space} matrices are {rows}x{cols}",
                g.rows.len(),
                g.cols.len()
            ));
        }
        let labels = std::iter::once(&g.name).chain(&g.rows).chain(&g.cols);
        if let Some(long) = labels
            .into_iter()
            .find(|l| l.chars().count() > MAX_LABEL_CHARS)
        {
            return Err(format!(
                "score group `{name}`: label `{}` is longer than {MAX_LABEL_CHARS} characters",
                crate::util::input::escape_control(long, MAX_LABEL_CHARS)
            ));
        }
        let n = rows * cols;
        let lengths = [
            ("alpha", g.alpha.len()),
            ("grad", g.grad.len()),
            ("score", g.score.len()),
            ("normalised", g.normalised.len()),
            ("rank", g.rank.len()),
            ("hessian_grad", g.hessian_grad.as_ref().map_or(n, Vec::len)),
        ];
        if let Some((field, len)) = lengths.iter().find(|(_, len)| *len != n) {
            return Err(format!(
                "score group `{name}`: `{field}` holds {len} values, expected {rows}x{cols} = {n}"
            ));
        }
        if let Some(rank) = g.rank.iter().find(|&&k| k == 0 || k > cols) {
            return Err(format!(
                "score group `{name}`: rank {rank} is outside 1..={cols}"
            ));
        }
    }
    match &r.derivation {
        Derivation::Nb201 { arch, edges } => {
            if space != "nb201" {
                return Err(format!("an NB201 derivation in a {space} result"));
            }
            check_decisions(edges, rows, cols, "the derivation")?;
            let parsed = Nb201Arch::parse(&r.architecture)
                .map_err(|e| format!("`architecture` is not a NAS-Bench-201 cell: {e}"))?;
            if parsed != *arch {
                return Err(format!(
                    "`architecture` {parsed} differs from the derived cell {arch}"
                ));
            }
        }
        Derivation::Darts { cells, genotype } => {
            if space == "nb201" {
                return Err("a DARTS derivation in an nb201 result".into());
            }
            if cells.len() != groups.len() {
                return Err(format!(
                    "{} derived cells for {} score groups",
                    cells.len(),
                    groups.len()
                ));
            }
            for cell in cells {
                let what = format!(
                    "derived cell `{}`",
                    crate::util::input::escape_control(&cell.group, MAX_LABEL_CHARS)
                );
                check_genes(&cell.genes, &what)?;
                if cell.nodes.len() > DARTS_STEPS {
                    return Err(format!("{what} has {} nodes", cell.nodes.len()));
                }
                for node in &cell.nodes {
                    if !(2..2 + DARTS_STEPS).contains(&node.node)
                        || node.kept.iter().any(|&k| k >= node.node)
                    {
                        return Err(format!(
                            "{what}: node {} or its kept inputs {:?} are out of range",
                            node.node, node.kept
                        ));
                    }
                    check_decisions(&node.ops, rows, cols, &what)?;
                }
            }
            if let Some(g) = genotype {
                check_genes(&g.normal, "the genotype's normal cell")?;
                check_genes(&g.reduce, "the genotype's reduction cell")?;
                let parsed = Genotype::parse(&r.architecture)
                    .map_err(|e| format!("`architecture` is not a valid Genotype: {e}"))?;
                if parsed != *g {
                    return Err("`architecture` differs from the derived genotype".into());
                }
            }
        }
    }
    if r.architecture != r.derivation.architecture_text() {
        return Err("`architecture` differs from what the derivation gives".into());
    }
    if let Some(t) = &r.strategy {
        // A strategy removes at most one op per entry of every group, so no trace is longer.
        let entries = groups.len() * rows * cols;
        if t.rounds.is_empty() || t.rounds.len() > entries {
            return Err(format!(
                "{} strategy rounds (expected 1 to {entries})",
                t.rounds.len()
            ));
        }
        let pruned = t.rounds.iter().flat_map(|round| &round.pruned);
        if let Some(p) = pruned
            .clone()
            .find(|p| p.group >= groups.len() || p.row >= rows || p.col >= cols)
        {
            return Err(format!(
                "strategy removal (group {}, row {}, column {}) lies outside the score matrices",
                p.group, p.row, p.col
            ));
        }
        if pruned.count() > entries {
            return Err(format!(
                "more strategy removals than the {entries} score entries"
            ));
        }
    }
    if let Some(b) = &r.benchmark {
        for v in &b.values {
            if !(0.0..=100.0).contains(&v.accuracy)
                || !(0.0..=100.0).contains(&v.best)
                || v.rank == 0
                || v.rank > v.of
            {
                return Err(format!(
                    "benchmark column `{}`: accuracy {} (best {}), rank {} of {} is impossible",
                    crate::util::input::escape_control(&v.column, MAX_LABEL_CHARS),
                    v.accuracy,
                    v.best,
                    v.rank,
                    v.of
                ));
            }
        }
    }
    Ok(())
}

/// Row decisions: rows, winners and runners-up inside the matrix.
fn check_decisions(
    decisions: &[EdgeDecision],
    rows: usize,
    cols: usize,
    what: &str,
) -> Result<(), String> {
    for d in decisions {
        if d.row >= rows || d.winner >= cols || d.runner_up.is_some_and(|c| c >= cols) {
            return Err(format!(
                "{what}: row {} winner {} runner-up {:?} is outside the {rows}x{cols} matrix",
                d.row, d.winner, d.runner_up
            ));
        }
    }
    Ok(())
}

/// A cell's genes: two per node, each reading an earlier node; the concat lists nodes.
fn check_genes(genes: &CellGenes, what: &str) -> Result<(), String> {
    if genes.genes.len() != 2 * DARTS_STEPS {
        return Err(format!(
            "{what} has {} genes, expected {}",
            genes.genes.len(),
            2 * DARTS_STEPS
        ));
    }
    for (i, g) in genes.genes.iter().enumerate() {
        let node = 2 + i / 2;
        if g.input >= node {
            return Err(format!(
                "{what}: gene {i} of node {node} reads node {}, which is not before it",
                g.input
            ));
        }
    }
    if genes.concat.is_empty()
        || genes.concat.len() > DARTS_STEPS
        || genes
            .concat
            .iter()
            .any(|&c| !(2..2 + DARTS_STEPS).contains(&c))
    {
        return Err(format!(
            "{what}: concat {:?} is not a list of intermediate nodes 2..={}",
            genes.concat,
            1 + DARTS_STEPS
        ));
    }
    Ok(())
}
