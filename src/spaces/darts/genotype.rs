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
use std::str::FromStr;

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
const VALID_OP_NAMES: &str = "none, max_pool_3x3, avg_pool_3x3, skip_connect, \
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

/// Why a genotype text was rejected. Positions are byte offsets into the text
/// as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenotypeParseError {
    /// A syntax error: the next token is not what the grammar allows here.
    #[error("expected {expected} at byte {pos}, found {}", describe_found(*.found))]
    Expected {
        /// What would have been accepted, e.g. `',' or ']'`.
        expected: &'static str,
        /// Byte offset of the offending character (the text length at end of input).
        pos: usize,
        /// The offending character; `None` at end of input.
        found: Option<char>,
    },
    /// A quoted op name outside the search space.
    #[error("unknown op '{name}' at byte {pos} (valid: {VALID_OP_NAMES})")]
    UnknownOp {
        /// The name as written, without quotes.
        name: String,
        /// Byte offset of the name (just after the opening quote).
        pos: usize,
    },
    /// A keyword argument that `Genotype` does not have.
    #[error(
        "unknown keyword '{name}' at byte {pos} (valid: normal, normal_concat, reduce, reduce_concat)"
    )]
    UnknownKeyword {
        /// The keyword as written.
        name: String,
        /// Byte offset of the keyword.
        pos: usize,
    },
    /// A keyword argument given twice.
    #[error("duplicate keyword {keyword} at byte {pos}")]
    DuplicateKeyword {
        /// The repeated keyword.
        keyword: &'static str,
        /// Byte offset of its second occurrence.
        pos: usize,
    },
    /// A keyword argument that never appeared.
    #[error("missing keyword {keyword} (argument list ends at byte {pos})")]
    MissingKeyword {
        /// The absent keyword.
        keyword: &'static str,
        /// Byte offset of the closing `)` of `Genotype(...)`.
        pos: usize,
    },
    /// A decimal number that does not fit in `usize`.
    #[error("number at byte {pos} is too large")]
    NumberTooLarge {
        /// Byte offset of the number's first digit.
        pos: usize,
    },
    /// A gene list whose length is not two per intermediate node.
    #[error(
        "{cell} has {found} genes (list at byte {pos}), expected {expected} (2 for each of the {DARTS_STEPS} intermediate nodes)"
    )]
    GeneCount {
        /// The cell.
        cell: CellKind,
        /// Genes present.
        found: usize,
        /// Genes required (`2 * DARTS_STEPS`).
        expected: usize,
        /// Byte offset of the list's `[`.
        pos: usize,
    },
    /// A gene reading from a node that is not earlier than the node it feeds.
    #[error(
        "{cell} gene {gene} (node {node}) has input {input}, but node {node} only sees inputs 0..={} (at byte {pos})",
        .node - 1
    )]
    InputOutOfRange {
        /// The cell.
        cell: CellKind,
        /// 0-based gene number in the list.
        gene: usize,
        /// The node the gene feeds (`2 + gene / 2`).
        node: usize,
        /// The input as written.
        input: usize,
        /// Byte offset of the input index.
        pos: usize,
    },
    /// A concat entry that is not an intermediate node.
    #[error("{cell}_concat entry {index} at byte {pos} is not an intermediate node (valid: 2..={})", 1 + DARTS_STEPS)]
    ConcatOutOfRange {
        /// The cell.
        cell: CellKind,
        /// The entry as written.
        index: usize,
        /// Byte offset of the entry (of `range` for the range form).
        pos: usize,
    },
    /// A concat list naming a node twice.
    #[error("{cell}_concat lists node {index} twice (at byte {pos})")]
    ConcatDuplicate {
        /// The cell.
        cell: CellKind,
        /// The repeated node.
        index: usize,
        /// Byte offset of the repetition.
        pos: usize,
    },
    /// A concat with no nodes, which would leave the cell without an output.
    #[error("{cell}_concat at byte {pos} is empty, but the cell needs at least one output node")]
    ConcatEmpty {
        /// The cell.
        cell: CellKind,
        /// Byte offset of the concat value.
        pos: usize,
    },
}

impl GenotypeParseError {
    /// The byte offset the error refers to.
    pub fn pos(&self) -> usize {
        match self {
            Self::Expected { pos, .. }
            | Self::UnknownOp { pos, .. }
            | Self::UnknownKeyword { pos, .. }
            | Self::DuplicateKeyword { pos, .. }
            | Self::MissingKeyword { pos, .. }
            | Self::NumberTooLarge { pos }
            | Self::GeneCount { pos, .. }
            | Self::InputOutOfRange { pos, .. }
            | Self::ConcatOutOfRange { pos, .. }
            | Self::ConcatDuplicate { pos, .. }
            | Self::ConcatEmpty { pos, .. } => *pos,
        }
    }
}

fn describe_found(found: Option<char>) -> String {
    match found {
        Some(c) => format!("'{}'", c.escape_debug()),
        None => "end of input".to_string(),
    }
}

/// The four keyword arguments of `Genotype(...)`, in canonical order.
const KEYWORDS: [&str; 4] = ["normal", "normal_concat", "reduce", "reduce_concat"];

impl Genotype {
    /// Parses the DARTS text `Genotype(normal=[('op', input), ...],
    /// normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[...])`.
    ///
    /// Besides the exact printed form it accepts the usual Python spellings:
    /// single or double quotes, any whitespace between tokens, trailing
    /// commas, keywords in any order, and a concat written as `range(a, b)`. Each cell must have two
    /// genes per intermediate node, each reading from an earlier node, and a
    /// non-empty concat of distinct intermediate nodes. Never panics.
    ///
    /// # Errors
    /// A [`GenotypeParseError`] for the first problem in reading order, with
    /// its byte offset.
    pub fn parse(s: &str) -> Result<Self, GenotypeParseError> {
        Parser { src: s, pos: 0 }.genotype()
    }
}

impl FromStr for Genotype {
    type Err = GenotypeParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Genotype::parse(s)
    }
}

/// A hand-written recursive-descent reader over the text; it keeps a byte
/// cursor so that every error can point at where reading stopped.
struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// A syntax error at the cursor.
    fn expected(&self, expected: &'static str) -> GenotypeParseError {
        GenotypeParseError::Expected {
            expected,
            pos: self.pos,
            // `get` rather than indexing: the cursor only ever stops on char
            // boundaries, but a wrong guess here must not turn into a panic.
            found: self
                .src
                .get(self.pos..)
                .and_then(|rest| rest.chars().next()),
        }
    }

    /// Consumes `b` (after whitespace) if it is next.
    fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8, expected: &'static str) -> Result<(), GenotypeParseError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.expected(expected))
        }
    }

    /// A Python identifier made of ASCII letters, digits and `_`, with its offset.
    fn ident(&mut self) -> Option<(&'a str, usize)> {
        self.skip_ws();
        let start = self.pos;
        if !self
            .peek()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        {
            return None;
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        // Both ends sit next to ASCII bytes, so the slice is on char boundaries.
        Some((&self.src[start..self.pos], start))
    }

    /// A non-negative decimal integer, with its offset.
    fn number(&mut self) -> Result<(usize, usize), GenotypeParseError> {
        self.skip_ws();
        let start = self.pos;
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.expected("a non-negative integer"));
        }
        let mut value: Option<usize> = Some(0);
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            // Keep consuming after an overflow so the error can name the start.
            value = value
                .and_then(|v| v.checked_mul(10))
                .and_then(|v| v.checked_add(usize::from(b - b'0')));
            self.pos += 1;
        }
        match value {
            Some(v) => Ok((v, start)),
            None => Err(GenotypeParseError::NumberTooLarge { pos: start }),
        }
    }

    /// A quoted op name.
    fn op(&mut self) -> Result<DartsOp, GenotypeParseError> {
        self.skip_ws();
        let (quote, closing) = match self.peek() {
            Some(b'\'') => ('\'', "a closing '"),
            Some(b'"') => ('"', "a closing \""),
            _ => return Err(self.expected("a quoted op name")),
        };
        self.pos += 1;
        let start = self.pos;
        let rest = self.src.get(start..).unwrap_or("");
        let Some(len) = rest.find(quote) else {
            self.pos = self.src.len();
            return Err(self.expected(closing));
        };
        let name = &rest[..len];
        self.pos = start + len + 1;
        DartsOp::from_name(name).ok_or_else(|| GenotypeParseError::UnknownOp {
            name: name.to_string(),
            pos: start,
        })
    }

    /// `Genotype( keyword=value, ... )` and nothing after it but whitespace.
    fn genotype(mut self) -> Result<Genotype, GenotypeParseError> {
        let before = self.pos;
        if !matches!(self.ident(), Some(("Genotype", _))) {
            self.pos = before;
            self.skip_ws();
            return Err(self.expected("'Genotype('"));
        }
        self.expect(b'(', "'('")?;

        let mut normal = None;
        let mut normal_concat = None;
        let mut reduce = None;
        let mut reduce_concat = None;
        loop {
            if self.eat(b')') {
                break;
            }
            let Some((name, kw_pos)) = self.ident() else {
                return Err(self.expected(
                    "a keyword (normal, normal_concat, reduce or reduce_concat) or ')'",
                ));
            };
            let Some(keyword) = KEYWORDS.into_iter().find(|k| *k == name) else {
                return Err(GenotypeParseError::UnknownKeyword {
                    name: name.to_string(),
                    pos: kw_pos,
                });
            };
            let already = match keyword {
                "normal" => normal.is_some(),
                "normal_concat" => normal_concat.is_some(),
                "reduce" => reduce.is_some(),
                _ => reduce_concat.is_some(),
            };
            if already {
                return Err(GenotypeParseError::DuplicateKeyword {
                    keyword,
                    pos: kw_pos,
                });
            }
            self.expect(b'=', "'='")?;
            match keyword {
                "normal" => normal = Some(self.genes(CellKind::Normal)?),
                "normal_concat" => normal_concat = Some(self.concat(CellKind::Normal)?),
                "reduce" => reduce = Some(self.genes(CellKind::Reduce)?),
                _ => reduce_concat = Some(self.concat(CellKind::Reduce)?),
            }
            if self.eat(b',') {
                continue;
            }
            if self.eat(b')') {
                break;
            }
            return Err(self.expected("',' or ')'"));
        }
        let close = self.pos - 1;

        let missing = |keyword| GenotypeParseError::MissingKeyword {
            keyword,
            pos: close,
        };
        let normal = normal.ok_or_else(|| missing("normal"))?;
        let normal_concat = normal_concat.ok_or_else(|| missing("normal_concat"))?;
        let reduce = reduce.ok_or_else(|| missing("reduce"))?;
        let reduce_concat = reduce_concat.ok_or_else(|| missing("reduce_concat"))?;

        self.skip_ws();
        if self.pos != self.src.len() {
            return Err(self.expected("end of input"));
        }
        Ok(Genotype {
            normal: CellGenes {
                genes: normal,
                concat: normal_concat,
            },
            reduce: CellGenes {
                genes: reduce,
                concat: reduce_concat,
            },
        })
    }

    /// `[('op', input), ...]`, checked against the cell's node structure.
    fn genes(&mut self, cell: CellKind) -> Result<Vec<Gene>, GenotypeParseError> {
        self.skip_ws();
        let list_pos = self.pos;
        self.expect(b'[', "'['")?;
        let mut genes = Vec::new();
        loop {
            if self.eat(b']') {
                break;
            }
            self.expect(b'(', "'(' or ']'")?;
            let op = self.op()?;
            self.expect(b',', "','")?;
            let (input, input_pos) = self.number()?;
            // Python allows a trailing comma in a tuple.
            self.eat(b',');
            self.expect(b')', "')'")?;

            let gene = genes.len();
            let node = 2 + gene / 2;
            // Surplus genes feed no node; the count check at the end reports them.
            if gene < 2 * DARTS_STEPS && input >= node {
                return Err(GenotypeParseError::InputOutOfRange {
                    cell,
                    gene,
                    node,
                    input,
                    pos: input_pos,
                });
            }
            genes.push(Gene { op, input });

            if self.eat(b',') {
                continue;
            }
            if self.eat(b']') {
                break;
            }
            return Err(self.expected("',' or ']'"));
        }
        if genes.len() != 2 * DARTS_STEPS {
            return Err(GenotypeParseError::GeneCount {
                cell,
                found: genes.len(),
                expected: 2 * DARTS_STEPS,
                pos: list_pos,
            });
        }
        Ok(genes)
    }

    /// `[2, 3, 4, 5]` or `range(2, 6)`: distinct intermediate nodes, at least one.
    fn concat(&mut self, cell: CellKind) -> Result<Vec<usize>, GenotypeParseError> {
        let nodes = 2..2 + DARTS_STEPS;
        self.skip_ws();
        let value_pos = self.pos;
        let mut concat = Vec::new();
        if self.eat(b'[') {
            loop {
                if self.eat(b']') {
                    break;
                }
                let (index, pos) = self.number()?;
                if !nodes.contains(&index) {
                    return Err(GenotypeParseError::ConcatOutOfRange { cell, index, pos });
                }
                if concat.contains(&index) {
                    return Err(GenotypeParseError::ConcatDuplicate { cell, index, pos });
                }
                concat.push(index);
                if self.eat(b',') {
                    continue;
                }
                if self.eat(b']') {
                    break;
                }
                return Err(self.expected("',' or ']'"));
            }
        } else if let Some(("range", _)) = self.ident() {
            self.expect(b'(', "'('")?;
            let (start, _) = self.number()?;
            self.expect(b',', "','")?;
            let (stop, _) = self.number()?;
            self.eat(b',');
            self.expect(b')', "')'")?;
            // Check the bounds before materialising, so `range(2, 10**18)`-sized
            // inputs cannot allocate.
            if start < stop {
                for index in [start, stop - 1] {
                    if !nodes.contains(&index) {
                        return Err(GenotypeParseError::ConcatOutOfRange {
                            cell,
                            index,
                            pos: value_pos,
                        });
                    }
                }
                concat.extend(start..stop);
            }
        } else {
            self.pos = value_pos;
            return Err(self.expected("'[' or 'range('"));
        }
        if concat.is_empty() {
            return Err(GenotypeParseError::ConcatEmpty {
                cell,
                pos: value_pos,
            });
        }
        Ok(concat)
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
mod tests {
    use super::*;

    const V2_TEXT: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), \
        ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), \
        ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], \
        reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), \
        ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), \
        ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

    fn err(s: &str) -> GenotypeParseError {
        Genotype::parse(s).expect_err(s)
    }

    #[test]
    fn op_names_indices_round_trip() {
        for (i, op) in DartsOp::ALL.into_iter().enumerate() {
            assert_eq!(op.index(), i);
            assert_eq!(DartsOp::from_index(i), Some(op));
            assert_eq!(DartsOp::from_name(op.name()), Some(op));
            assert_eq!(op.to_string(), op.name());
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(json, format!("\"{}\"", op.name()));
            assert_eq!(serde_json::from_str::<DartsOp>(&json).unwrap(), op);
        }
        assert_eq!(DartsOp::from_index(8), None);
        assert_eq!(DartsOp::from_name("Sep_conv_3x3"), None);
        let names: Vec<_> = DartsOp::ALL.iter().map(|op| op.name()).collect();
        assert_eq!(names.join(", "), VALID_OP_NAMES);
    }

    #[test]
    fn edges_and_node_rows_follow_alpha_rows() {
        let labels: Vec<_> = (0..14).map(edge_label).collect();
        assert_eq!(
            labels,
            [
                "2<-0", "2<-1", "3<-0", "3<-1", "3<-2", "4<-0", "4<-1", "4<-2", "4<-3", "5<-0",
                "5<-1", "5<-2", "5<-3", "5<-4"
            ]
        );
        assert_eq!(edge_label(14), "?");
        assert_eq!(node_rows(2), 0..2);
        assert_eq!(node_rows(3), 2..5);
        assert_eq!(node_rows(4), 5..9);
        assert_eq!(node_rows(5), 9..14);
        for node in 2..2 + DARTS_STEPS {
            for (j, row) in node_rows(node).enumerate() {
                assert_eq!(DARTS_EDGES[row], (node, j));
            }
        }
        for node in [0, 1, 6, usize::MAX] {
            assert!(node_rows(node).is_empty());
        }
    }

    #[test]
    fn prints_darts_text() {
        assert_eq!(darts_v2().to_string(), V2_TEXT);
        assert_eq!(
            darts_v1().normal.to_list_string(),
            "[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), \
             ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), \
             ('sep_conv_3x3', 0), ('skip_connect', 2)]"
        );
        assert_eq!(
            Gene {
                op: DartsOp::None,
                input: 3
            }
            .to_string(),
            "('none', 3)"
        );
    }

    #[test]
    fn known_genotypes_round_trip() {
        for g in [darts_v1(), darts_v2()] {
            let text = g.to_string();
            assert_eq!(Genotype::parse(&text).unwrap(), g);
            assert_eq!(text.parse::<Genotype>().unwrap().to_string(), text);
        }
        assert_eq!(by_name("DARTS_V1"), Some(darts_v1()));
        assert_eq!(by_name("DARTS_V2"), Some(darts_v2()));
        assert_eq!(by_name("DARTS"), Some(darts_v2()));
        assert_eq!(by_name("darts"), None);
        assert_ne!(darts_v1(), darts_v2());
    }

    #[test]
    fn accepts_python_variants() {
        let expected = darts_v2();
        let variants = [
            V2_TEXT.replace("[2, 3, 4, 5]", "range(2, 6)"),
            V2_TEXT.replace("[2, 3, 4, 5]", "range(2,6)"),
            V2_TEXT.replace("[2, 3, 4, 5]", "range( 2 , 6 , )"),
            V2_TEXT.replace('\'', "\""),
            V2_TEXT.replace(", ", ",\n\t  "),
            V2_TEXT.replace(", ", ",").replace('=', " = "),
            V2_TEXT.replace(")]", "),]").replace("5]", "5,]"),
            V2_TEXT.replace("', ", "',").replace(')', ",)"),
            format!("  \n{V2_TEXT}\r\n "),
            V2_TEXT.replacen("Genotype(", "Genotype (", 1),
            V2_TEXT.replace(')', ", )").replacen(", )", ")", 16),
        ];
        for v in &variants {
            assert_eq!(Genotype::parse(v).as_ref(), Ok(&expected), "{v}");
        }
        // Keyword order does not matter.
        let g = darts_v1();
        let reordered = format!(
            "Genotype(reduce_concat=[2, 3, 4, 5], reduce={}, normal_concat=range(2, 6), normal={})",
            g.reduce.to_list_string(),
            g.normal.to_list_string()
        );
        assert_eq!(Genotype::parse(&reordered).unwrap(), g);
        // Concat subsets in any order, and `none` genes, are legal.
        let odd = V2_TEXT.replacen("[2, 3, 4, 5]", "[5, 3]", 1).replacen(
            "('skip_connect', 0)",
            "('none', 0)",
            1,
        );
        let parsed = Genotype::parse(&odd).unwrap();
        assert_eq!(parsed.normal.concat, [5, 3]);
        assert_eq!(parsed.normal.genes[5].op, DartsOp::None);
        assert_eq!(parsed.to_string(), odd);
    }

    #[test]
    fn syntax_errors_name_expectation_and_position() {
        let bad = V2_TEXT.replacen("), ('sep", ") x ('sep", 1);
        let pos = bad.find(" x").unwrap() + 1;
        assert_eq!(
            err(&bad).to_string(),
            format!("expected ',' or ']' at byte {pos}, found 'x'")
        );
        assert_eq!(
            err(""),
            GenotypeParseError::Expected {
                expected: "'Genotype('",
                pos: 0,
                found: None
            }
        );
        assert_eq!(
            err("  Genotype").to_string(),
            "expected '(' at byte 10, found end of input"
        );
        assert_eq!(
            err("genotype(").to_string(),
            "expected 'Genotype(' at byte 0, found 'g'"
        );
        let trailing = format!("{V2_TEXT} x");
        assert_eq!(
            err(&trailing),
            GenotypeParseError::Expected {
                expected: "end of input",
                pos: V2_TEXT.len() + 1,
                found: Some('x')
            }
        );
        let unterminated = "Genotype(normal=[('sep_conv_3x3, 0)";
        assert_eq!(
            err(unterminated).to_string(),
            format!(
                "expected a closing ' at byte {}, found end of input",
                unterminated.len()
            )
        );
        let mixed = V2_TEXT.replacen("'sep_conv_3x3'", "'sep_conv_3x3\"", 1);
        assert!(matches!(
            err(&mixed),
            GenotypeParseError::UnknownOp { .. } | GenotypeParseError::Expected { .. }
        ));
    }

    #[test]
    fn semantic_errors() {
        let bad = V2_TEXT.replacen("sep_conv_3x3", "conv_7x7", 1);
        assert_eq!(
            err(&bad).to_string(),
            format!("unknown op 'conv_7x7' at byte 19 (valid: {VALID_OP_NAMES})")
        );

        // Reduce gene 5 feeds node 4, which can read nodes 0..=3.
        let g = darts_v2();
        let mut text = String::from("Genotype(normal=");
        text += &g.normal.to_list_string();
        text += ", normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), \
                 ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', ";
        let pos = text.len();
        text += "6), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";
        assert_eq!(
            err(&text),
            GenotypeParseError::InputOutOfRange {
                cell: CellKind::Reduce,
                gene: 5,
                node: 4,
                input: 6,
                pos
            }
        );
        assert!(
            err(&text).to_string().starts_with(
                "reduce gene 5 (node 4) has input 6, but node 4 only sees inputs 0..=3"
            )
        );
        // The first gene of node 2 may not read node 2 itself.
        let self_loop = V2_TEXT.replacen("('sep_conv_3x3', 0)", "('sep_conv_3x3', 2)", 1);
        assert!(matches!(
            err(&self_loop),
            GenotypeParseError::InputOutOfRange {
                cell: CellKind::Normal,
                gene: 0,
                node: 2,
                input: 2,
                ..
            }
        ));

        let missing = V2_TEXT.replace(", reduce_concat=[2, 3, 4, 5]", "");
        assert_eq!(
            err(&missing),
            GenotypeParseError::MissingKeyword {
                keyword: "reduce_concat",
                pos: missing.len() - 1
            }
        );
        assert!(
            err(&missing)
                .to_string()
                .starts_with("missing keyword reduce_concat")
        );
        let dup = V2_TEXT.replace("reduce_concat", "normal");
        assert!(
            err(&dup)
                .to_string()
                .starts_with("duplicate keyword normal")
        );
        let unknown = V2_TEXT.replace("reduce_concat", "reduction_concat");
        assert!(matches!(
            err(&unknown),
            GenotypeParseError::UnknownKeyword { ref name, .. } if name == "reduction_concat"
        ));

        let seven = V2_TEXT
            .replacen("('dil_conv_3x3', 2)", "", 1)
            .replacen(", ]", "]", 1);
        assert!(matches!(
            err(&seven),
            GenotypeParseError::GeneCount {
                cell: CellKind::Normal,
                found: 7,
                expected: 8,
                pos: 16
            }
        ));
        let nine = V2_TEXT.replacen("('dil_conv_3x3', 2)", "('dil_conv_3x3', 2), ('none', 7)", 1);
        assert!(matches!(
            err(&nine),
            GenotypeParseError::GeneCount { found: 9, .. }
        ));

        for (concat, index) in [
            ("[2, 3, 4, 6]", Some(6)),
            ("[1, 2]", Some(1)),
            ("range(2, 7)", Some(6)),
            ("range(0, 6)", Some(0)),
            ("[2, 3, 3]", None),
            ("[]", None),
            ("range(6, 2)", None),
        ] {
            let text = V2_TEXT.replacen("[2, 3, 4, 5]", concat, 1);
            let e = err(&text);
            match (index, &e) {
                (Some(i), GenotypeParseError::ConcatOutOfRange { index, .. }) => {
                    assert_eq!(*index, i);
                }
                (
                    None,
                    GenotypeParseError::ConcatDuplicate { index: 3, .. }
                    | GenotypeParseError::ConcatEmpty { .. },
                ) => {}
                _ => panic!("{concat}: {e}"),
            }
        }
    }

    #[test]
    fn numbers_are_bounded_and_non_negative() {
        let huge = V2_TEXT.replacen("0)", "99999999999999999999)", 1);
        let pos = huge.find("9999").unwrap();
        assert_eq!(err(&huge), GenotypeParseError::NumberTooLarge { pos });
        let huge_range = V2_TEXT.replacen("[2, 3, 4, 5]", "range(2, 18446744073709551615)", 1);
        assert!(matches!(
            err(&huge_range),
            GenotypeParseError::ConcatOutOfRange { .. }
        ));
        let negative = V2_TEXT.replacen("0)", "-1)", 1);
        assert!(matches!(
            err(&negative),
            GenotypeParseError::Expected {
                expected: "a non-negative integer",
                found: Some('-'),
                ..
            }
        ));
    }

    #[test]
    fn malformed_inputs_never_panic() {
        // Every proper prefix lacks the closing ')', so each must be rejected.
        let texts = [
            V2_TEXT.to_string(),
            V2_TEXT
                .replace('\'', "\"")
                .replace("[2, 3, 4, 5]", "range(2, 6)"),
            V2_TEXT.replacen("sep_conv_3x3", "sép_cönv_3×3", 2),
        ];
        for text in &texts {
            for (cut, _) in text.char_indices() {
                let prefix = &text[..cut];
                let e = Genotype::parse(prefix).expect_err(prefix);
                assert!(e.pos() <= prefix.len(), "{prefix}: {e}");
            }
        }
        // Single-character substitutions and deletions anywhere.
        let replacements = [
            "",
            " ",
            "(",
            ")",
            "[",
            "]",
            ",",
            "'",
            "\"",
            "=",
            "-",
            "0",
            "9",
            "x",
            "é",
            "😀",
            "\0",
            "\u{2003}",
            "99999999999999999999",
        ];
        for (at, ch) in V2_TEXT.char_indices() {
            for r in replacements {
                let mut s = String::with_capacity(V2_TEXT.len() + r.len());
                s.push_str(&V2_TEXT[..at]);
                s.push_str(r);
                s.push_str(&V2_TEXT[at + ch.len_utf8()..]);
                if let Err(e) = Genotype::parse(&s) {
                    assert!(e.pos() <= s.len());
                    assert!(!e.to_string().is_empty());
                }
            }
        }
        for s in [
            "",
            " ",
            "\u{feff}Genotype()",
            "Genotype()",
            "Genotype(,)",
            "Genotype(normal)",
            "Genotype(normal=)",
            "Genotype(normal=[(",
            "Genotype(normal=[('",
            "Genotype(normal=[(''",
            "Genotype(normal=[('none', -0)])",
            "Genotype(normal_concat=range(",
            "Genotype(normal_concat=range(99999999999999999999, 1))",
            "Genotype(normal_concat=rang(2, 6))",
            "Genotype(((((((((((((((((((((((((((((((((((((((",
            "Генотип(normal=[])",
            "😀😀😀",
            "Genotype(normal=[('none', 0)]",
        ] {
            assert!(Genotype::parse(s).is_err(), "{s}");
        }
    }
}
