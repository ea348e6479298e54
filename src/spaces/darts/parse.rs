//! Reading the DARTS `Genotype(...)` text: a recursive-descent parser that never panics and
//! says where it stopped.

use std::str::FromStr;

use super::genotype::*;

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
