//! The DARTS (NASNet-style) cell search space: its eight candidate operations,
//! the fourteen edges of the cell, and the `Genotype(...)` text that the DARTS
//! PyTorch code prints for a derived architecture.
//!
//! A cell has two input nodes (0 = output of the cell two back, 1 = output of
//! the previous cell) and [`DARTS_STEPS`] intermediate nodes `2..=5`. In the
//! supernet every intermediate node sums a mixed op over each earlier node; a
//! derived cell keeps two `(op, input)` genes per intermediate node.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// One candidate operation on a DARTS edge.
///
/// The declaration order is the column order of the architecture parameters
/// (alpha), i.e. DARTS `PRIMITIVES`, so [`DartsOp::index`] doubles as the alpha
/// column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DartsOp {
    /// The zero operation (the edge is absent).
    #[serde(rename = "none")]
    None,
    /// 3x3 max pooling.
    #[serde(rename = "max_pool_3x3")]
    MaxPool3x3,
    /// 3x3 average pooling (padding not counted).
    #[serde(rename = "avg_pool_3x3")]
    AvgPool3x3,
    /// Identity (a factorized reduction on stride-2 edges).
    #[serde(rename = "skip_connect")]
    SkipConnect,
    /// Two stacked depthwise-separable 3x3 convolutions.
    #[serde(rename = "sep_conv_3x3")]
    SepConv3x3,
    /// Two stacked depthwise-separable 5x5 convolutions.
    #[serde(rename = "sep_conv_5x5")]
    SepConv5x5,
    /// Dilated (rate 2) depthwise-separable 3x3 convolution.
    #[serde(rename = "dil_conv_3x3")]
    DilConv3x3,
    /// Dilated (rate 2) depthwise-separable 5x5 convolution.
    #[serde(rename = "dil_conv_5x5")]
    DilConv5x5,
}

/// The valid op names, listed in error messages.
pub(super) const VALID_OP_NAMES: &str = "none, max_pool_3x3, avg_pool_3x3, skip_connect, \
                              sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5";

impl DartsOp {
    /// All operations in alpha column order.
    pub const ALL: [DartsOp; 8] = [
        DartsOp::None,
        DartsOp::MaxPool3x3,
        DartsOp::AvgPool3x3,
        DartsOp::SkipConnect,
        DartsOp::SepConv3x3,
        DartsOp::SepConv5x5,
        DartsOp::DilConv3x3,
        DartsOp::DilConv5x5,
    ];

    /// The DARTS name, e.g. `sep_conv_3x3`.
    pub fn name(self) -> &'static str {
        match self {
            DartsOp::None => "none",
            DartsOp::MaxPool3x3 => "max_pool_3x3",
            DartsOp::AvgPool3x3 => "avg_pool_3x3",
            DartsOp::SkipConnect => "skip_connect",
            DartsOp::SepConv3x3 => "sep_conv_3x3",
            DartsOp::SepConv5x5 => "sep_conv_5x5",
            DartsOp::DilConv3x3 => "dil_conv_3x3",
            DartsOp::DilConv5x5 => "dil_conv_5x5",
        }
    }

    /// The alpha column of this operation (0..8).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The operation in alpha column `index`, if `index < 8`.
    pub fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// The operation with the DARTS name `name` (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }
}

impl fmt::Display for DartsOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Intermediate nodes per cell (nodes `2..2 + DARTS_STEPS`).
pub const DARTS_STEPS: usize = 4;

/// The cell's edges as `(to, from)` pairs, in alpha row order: node 2 first
/// (rows 0-1), then node 3 (rows 2-4), node 4 (rows 5-8) and node 5 (rows 9-13).
pub const DARTS_EDGES: [(usize, usize); 14] = [
    (2, 0),
    (2, 1),
    (3, 0),
    (3, 1),
    (3, 2),
    (4, 0),
    (4, 1),
    (4, 2),
    (4, 3),
    (5, 0),
    (5, 1),
    (5, 2),
    (5, 3),
    (5, 4),
];

/// The label `to<-from` of alpha row `e` (e.g. `"2<-0"`); `"?"` outside 0..14.
pub fn edge_label(e: usize) -> String {
    match DARTS_EDGES.get(e) {
        Some((to, from)) => format!("{to}<-{from}"),
        None => "?".to_string(),
    }
}

/// The alpha rows of the edges into intermediate node `node`
/// (2 -> `0..2`, 3 -> `2..5`, 4 -> `5..9`, 5 -> `9..14`).
///
/// Nodes that are not intermediate (0, 1, or past the last) have no incoming
/// edges and get the empty range `0..0`.
pub fn node_rows(node: usize) -> Range<usize> {
    if !(2..2 + DARTS_STEPS).contains(&node) {
        return 0..0;
    }
    // Node k has k incoming rows, so it starts after 2 + 3 + ... + (k - 1) rows.
    let start = node * (node - 1) / 2 - 1;
    start..start + node
}

/// One kept edge of a derived cell: `op` applied to node `input`.
///
/// Inputs 0 and 1 are the two cell inputs; `2 + i` is intermediate node `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Gene {
    /// The operation on the edge.
    pub op: DartsOp,
    /// The node the edge reads from.
    pub input: usize,
}

impl fmt::Display for Gene {
    /// The Python tuple form `('sep_conv_3x3', 0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "('{}', {})", self.op.name(), self.input)
    }
}

/// A derived cell: the genes of its intermediate nodes and the nodes
/// concatenated into its output.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CellGenes {
    /// Two genes per intermediate node: genes `2i` and `2i + 1` feed node `2 + i`.
    pub genes: Vec<Gene>,
    /// The intermediate nodes whose outputs form the cell output, usually `[2, 3, 4, 5]`.
    pub concat: Vec<usize>,
}

impl CellGenes {
    /// The gene list in DARTS text form: `[('sep_conv_3x3', 0), ('skip_connect', 1), ...]`.
    pub fn to_list_string(&self) -> String {
        GeneList(&self.genes).to_string()
    }
}

/// Writes genes as a Python list of tuples.
struct GeneList<'a>(&'a [Gene]);

impl fmt::Display for GeneList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, gene) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{gene}")?;
        }
        f.write_str("]")
    }
}

/// Writes node indices as a Python list.
struct IndexList<'a>(&'a [usize]);

impl fmt::Display for IndexList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, index) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{index}")?;
        }
        f.write_str("]")
    }
}

/// A DARTS architecture: one normal and one reduction cell, shared by all
/// cells of that kind in the network.
///
/// Displays as the text the DARTS PyTorch code prints,
/// `Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])`,
/// and parses it back with [`Genotype::parse`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Genotype {
    /// The stride-1 cell.
    pub normal: CellGenes,
    /// The stride-2 cell.
    pub reduce: CellGenes,
}

impl fmt::Display for Genotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Genotype(normal={}, normal_concat={}, reduce={}, reduce_concat={})",
            GeneList(&self.normal.genes),
            IndexList(&self.normal.concat),
            GeneList(&self.reduce.genes),
            IndexList(&self.reduce.concat),
        )
    }
}

/// Which of the two cells of a [`Genotype`] an error refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CellKind {
    /// The normal cell (`normal`, `normal_concat`).
    Normal,
    /// The reduction cell (`reduce`, `reduce_concat`).
    Reduce,
}

impl CellKind {
    /// The keyword of the cell's gene list: `normal` or `reduce`.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Normal => "normal",
            CellKind::Reduce => "reduce",
        }
    }
}

impl fmt::Display for CellKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A cell of the well-known genotypes; they all concatenate every intermediate node.
fn known_cell(genes: [(DartsOp, usize); 8]) -> CellGenes {
    CellGenes {
        genes: genes
            .into_iter()
            .map(|(op, input)| Gene { op, input })
            .collect(),
        concat: (2..2 + DARTS_STEPS).collect(),
    }
}

/// `DARTS_V1` from the DARTS code (`genotypes.py`): first-order DARTS on CIFAR-10.
pub fn darts_v1() -> Genotype {
    use DartsOp::{AvgPool3x3, MaxPool3x3, SepConv3x3, SkipConnect};
    Genotype {
        normal: known_cell([
            (SepConv3x3, 1),
            (SepConv3x3, 0),
            (SkipConnect, 0),
            (SepConv3x3, 1),
            (SkipConnect, 0),
            (SepConv3x3, 1),
            (SepConv3x3, 0),
            (SkipConnect, 2),
        ]),
        reduce: known_cell([
            (MaxPool3x3, 0),
            (MaxPool3x3, 1),
            (SkipConnect, 2),
            (MaxPool3x3, 0),
            (MaxPool3x3, 0),
            (SkipConnect, 2),
            (SkipConnect, 2),
            (AvgPool3x3, 0),
        ]),
    }
}

/// `DARTS_V2` from the DARTS code (`genotypes.py`): second-order DARTS on
/// CIFAR-10, the cell the DARTS paper reports (also exported there as `DARTS`).
pub fn darts_v2() -> Genotype {
    use DartsOp::{DilConv3x3, MaxPool3x3, SepConv3x3, SkipConnect};
    Genotype {
        normal: known_cell([
            (SepConv3x3, 0),
            (SepConv3x3, 1),
            (SepConv3x3, 0),
            (SepConv3x3, 1),
            (SepConv3x3, 1),
            (SkipConnect, 0),
            (SkipConnect, 0),
            (DilConv3x3, 2),
        ]),
        reduce: known_cell([
            (MaxPool3x3, 0),
            (MaxPool3x3, 1),
            (SkipConnect, 2),
            (MaxPool3x3, 1),
            (MaxPool3x3, 0),
            (SkipConnect, 2),
            (SkipConnect, 2),
            (MaxPool3x3, 1),
        ]),
    }
}

/// A well-known genotype by its `genotypes.py` name: `DARTS_V1`, `DARTS_V2`, or
/// `DARTS` (an alias of `DARTS_V2`, as in the DARTS code). Case-sensitive.
pub fn by_name(name: &str) -> Option<Genotype> {
    match name {
        "DARTS_V1" => Some(darts_v1()),
        "DARTS_V2" | "DARTS" => Some(darts_v2()),
        _ => None,
    }
}

impl Genotype {
    /// A uniformly random genotype, the baseline sampler of DARTS-space studies: every node
    /// takes two distinct inputs among the cell inputs and earlier nodes, each with one of the
    /// seven non-`none` ops; both cells concatenate all four nodes.
    pub fn random(rng: &mut impl rand::Rng) -> Self {
        let mut cell = || {
            let mut genes = Vec::with_capacity(2 * DARTS_STEPS);
            for node in 0..DARTS_STEPS {
                let inputs = rand::seq::index::sample(rng, node + 2, 2);
                for input in inputs.iter() {
                    let op = DartsOp::ALL[rng.random_range(1..DartsOp::ALL.len())];
                    genes.push(Gene { op, input });
                }
            }
            CellGenes {
                genes,
                concat: (2..2 + DARTS_STEPS).collect(),
            }
        };
        let normal = cell();
        Genotype {
            normal,
            reduce: cell(),
        }
    }
}

#[cfg(test)]
#[path = "genotype_tests.rs"]
mod tests;
