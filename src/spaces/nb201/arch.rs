//! The NAS-Bench-201 cell search space: its five candidate operations, the six
//! edges of the four-node cell, and the official architecture string format
//! `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One candidate operation on a NAS-Bench-201 edge.
///
/// The declaration order is the column order of the architecture parameters
/// (alpha), so [`Nb201Op::index`] doubles as the alpha column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Nb201Op {
    /// The zero operation (the edge is absent).
    #[serde(rename = "none")]
    None,
    /// Identity.
    #[serde(rename = "skip_connect")]
    SkipConnect,
    /// ReLU, 1x1 convolution, batch norm.
    #[serde(rename = "nor_conv_1x1")]
    NorConv1x1,
    /// ReLU, 3x3 convolution, batch norm.
    #[serde(rename = "nor_conv_3x3")]
    NorConv3x3,
    /// 3x3 average pooling (stride 1, padding 1).
    #[serde(rename = "avg_pool_3x3")]
    AvgPool3x3,
}

/// The valid op names, listed in error messages.
const VALID_OP_NAMES: &str = "none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3";

impl Nb201Op {
    /// All operations in alpha column order.
    pub const ALL: [Nb201Op; 5] = [
        Nb201Op::None,
        Nb201Op::SkipConnect,
        Nb201Op::NorConv1x1,
        Nb201Op::NorConv3x3,
        Nb201Op::AvgPool3x3,
    ];

    /// The official NAS-Bench-201 name, e.g. `nor_conv_3x3`.
    pub fn name(self) -> &'static str {
        match self {
            Nb201Op::None => "none",
            Nb201Op::SkipConnect => "skip_connect",
            Nb201Op::NorConv1x1 => "nor_conv_1x1",
            Nb201Op::NorConv3x3 => "nor_conv_3x3",
            Nb201Op::AvgPool3x3 => "avg_pool_3x3",
        }
    }

    /// The alpha column of this operation (0..5).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The operation in alpha column `index`, if `index < 5`.
    pub fn from_index(index: usize) -> Option<Self> {
        Self::ALL.get(index).copied()
    }

    /// The operation with the official name `name` (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Whether the operation has trainable weights (the two convolutions).
    pub fn has_params(self) -> bool {
        matches!(self, Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3)
    }
}

impl fmt::Display for Nb201Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Nodes in a cell: node 0 is the cell input, node 3 the output.
pub const NB201_NODES: usize = 4;

/// The cell's edges as `(to, from)` pairs, in alpha row order
/// (`1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2`).
pub const NB201_EDGES: [(usize, usize); 6] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// Number of cells in the space (5^6).
pub const NB201_NUM_ARCHS: usize = 15_625;

/// The label `to<-from` of edge row `e` (e.g. `"2<-1"`); `"?"` outside 0..6.
pub fn edge_label(e: usize) -> String {
    match NB201_EDGES.get(e) {
        Some((to, from)) => format!("{to}<-{from}"),
        None => "?".to_string(),
    }
}

/// A NAS-Bench-201 cell: one operation per edge, in [`NB201_EDGES`] order.
///
/// Serialises as its official string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Nb201Arch {
    /// The operation on each edge, indexed like [`NB201_EDGES`].
    pub ops: [Nb201Op; 6],
}

/// Why an architecture string was rejected. Positions are byte offsets into
/// the string as given (before trimming); groups and tokens count from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchParseError {
    /// Nothing but whitespace.
    #[error("empty architecture string (expected `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`)")]
    Empty,
    /// Not exactly three `+`-separated node groups.
    #[error("expected 3 `+`-separated node groups, found {found}")]
    GroupCount {
        /// Number of groups present.
        found: usize,
    },
    /// A group that does not start and end with `|`.
    #[error("group {group} at byte {pos} is not wrapped in `|`: `{text}`")]
    Unwrapped {
        /// 1-based group number (= the node it feeds).
        group: usize,
        /// Byte offset of the group.
        pos: usize,
        /// The group as written.
        text: String,
    },
    /// A group with the wrong number of `op~input` tokens.
    #[error("group {group} at byte {pos} has {found} tokens, expected {expected}")]
    TokenCount {
        /// 1-based group number.
        group: usize,
        /// Byte offset of the group.
        pos: usize,
        /// Tokens present.
        found: usize,
        /// Tokens required (equal to the group number).
        expected: usize,
    },
    /// A token lacking the `~` between op and input index.
    #[error("group {group} token {token} at byte {pos} has no `~`: `{text}` (expected `op~input`)")]
    MissingTilde {
        /// 1-based group number.
        group: usize,
        /// 1-based token number within the group.
        token: usize,
        /// Byte offset of the token.
        pos: usize,
        /// The token as written.
        text: String,
    },
    /// An op name outside the search space.
    #[error(
        "group {group} token {token} at byte {pos}: unknown op `{name}` (valid ops: {VALID_OP_NAMES})"
    )]
    UnknownOp {
        /// 1-based group number.
        group: usize,
        /// 1-based token number within the group.
        token: usize,
        /// Byte offset of the op name.
        pos: usize,
        /// The op name as written.
        name: String,
    },
    /// An input index that is not a plain decimal number.
    #[error(
        "group {group} token {token} at byte {pos}: input index `{text}` is not a number (edge {group}<-{expected} needs `{expected}`)"
    )]
    BadInput {
        /// 1-based group number.
        group: usize,
        /// 1-based token number within the group.
        token: usize,
        /// Byte offset of the index.
        pos: usize,
        /// The index as written.
        text: String,
        /// The index this token must carry.
        expected: usize,
    },
    /// An input index out of order: token j of group k must read from node j-1.
    #[error(
        "group {group} token {token} at byte {pos}: input index {found} is out of order (edge {group}<-{expected} needs `{expected}`)"
    )]
    InputOutOfOrder {
        /// 1-based group number.
        group: usize,
        /// 1-based token number within the group.
        token: usize,
        /// Byte offset of the index.
        pos: usize,
        /// The index as written.
        found: String,
        /// The index this token must carry.
        expected: usize,
    },
}

impl Nb201Arch {
    /// Parses the official string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`,
    /// ignoring surrounding whitespace. Never panics.
    ///
    /// # Errors
    /// An [`ArchParseError`] naming the first problem and its byte position.
    pub fn parse(s: &str) -> Result<Self, ArchParseError> {
        let body = s.trim_start();
        let lead = s.len() - body.len();
        let body = body.trim_end();
        if body.is_empty() {
            return Err(ArchParseError::Empty);
        }
        let found = body.split('+').count();
        if found != 3 {
            return Err(ArchParseError::GroupCount { found });
        }

        let mut ops = [Nb201Op::None; 6];
        let mut group_pos = lead;
        for (g, group) in body.split('+').enumerate() {
            let node = g + 1;
            // Slicing at the `|` delimiters is safe: they are single-byte ASCII.
            if group.len() < 2 || !group.starts_with('|') || !group.ends_with('|') {
                return Err(ArchParseError::Unwrapped {
                    group: node,
                    pos: group_pos,
                    text: group.to_string(),
                });
            }
            let inner = &group[1..group.len() - 1];
            let found = inner.split('|').count();
            if found != node {
                return Err(ArchParseError::TokenCount {
                    group: node,
                    pos: group_pos,
                    found,
                    expected: node,
                });
            }
            let mut token_pos = group_pos + 1;
            for (j, token) in inner.split('|').enumerate() {
                let edge = node * (node - 1) / 2 + j;
                ops[edge] = parse_token(token, node, j, token_pos)?;
                token_pos += token.len() + 1;
            }
            group_pos += group.len() + 1;
        }
        Ok(Nb201Arch { ops })
    }

    /// A base-5 code of the cell: `sum ops[e].index() * 5^e`, in 0..15625.
    ///
    /// This is a convenience ordering of the space and is NOT the
    /// NAS-Bench-201 benchmark index (that one comes from the benchmark file).
    pub fn index_in_space(&self) -> usize {
        self.ops
            .iter()
            .rev()
            .fold(0, |code, op| code * Nb201Op::ALL.len() + op.index())
    }

    /// The cell whose [`Nb201Arch::index_in_space`] is `code`, if `code < 15625`.
    pub fn from_index_in_space(code: usize) -> Option<Self> {
        if code >= NB201_NUM_ARCHS {
            return None;
        }
        let mut ops = [Nb201Op::None; 6];
        let mut rest = code;
        for op in &mut ops {
            *op = Nb201Op::ALL[rest % Nb201Op::ALL.len()];
            rest /= Nb201Op::ALL.len();
        }
        Some(Nb201Arch { ops })
    }

    /// Every cell of the space, in [`Nb201Arch::index_in_space`] order.
    pub fn all() -> impl Iterator<Item = Nb201Arch> {
        (0..NB201_NUM_ARCHS).filter_map(Self::from_index_in_space)
    }
}

/// Parses token `j` (0-based) of the group feeding `node`, located at byte `pos`.
fn parse_token(token: &str, node: usize, j: usize, pos: usize) -> Result<Nb201Op, ArchParseError> {
    let Some((name, input)) = token.split_once('~') else {
        return Err(ArchParseError::MissingTilde {
            group: node,
            token: j + 1,
            pos,
            text: token.to_string(),
        });
    };
    let op = Nb201Op::from_name(name).ok_or_else(|| ArchParseError::UnknownOp {
        group: node,
        token: j + 1,
        pos,
        name: name.to_string(),
    })?;
    let input_pos = pos + name.len() + 1;
    // Only canonical decimals count, so `00` or `0~0` cannot sneak through.
    if input.is_empty() || !input.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ArchParseError::BadInput {
            group: node,
            token: j + 1,
            pos: input_pos,
            text: input.to_string(),
            expected: j,
        });
    }
    if input != j.to_string() {
        return Err(ArchParseError::InputOutOfOrder {
            group: node,
            token: j + 1,
            pos: input_pos,
            found: input.to_string(),
            expected: j,
        });
    }
    Ok(op)
}

impl FromStr for Nb201Arch {
    type Err = ArchParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Nb201Arch::parse(s)
    }
}

impl fmt::Display for Nb201Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for node in 1..NB201_NODES {
            if node > 1 {
                f.write_str("+")?;
            }
            f.write_str("|")?;
            for j in 0..node {
                let op = self.ops[node * (node - 1) / 2 + j];
                write!(f, "{op}~{j}|")?;
            }
        }
        Ok(())
    }
}

impl Serialize for Nb201Arch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Nb201Arch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const EXAMPLES: [&str; 4] = [
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    ];

    #[test]
    fn op_names_indices_round_trip() {
        for (i, op) in Nb201Op::ALL.into_iter().enumerate() {
            assert_eq!(op.index(), i);
            assert_eq!(Nb201Op::from_index(i), Some(op));
            assert_eq!(Nb201Op::from_name(op.name()), Some(op));
            assert_eq!(op.to_string(), op.name());
        }
        assert_eq!(Nb201Op::from_index(5), None);
        assert_eq!(Nb201Op::from_name("conv_3x3"), None);
        let with_params: Vec<_> = Nb201Op::ALL
            .into_iter()
            .filter(|op| op.has_params())
            .collect();
        assert_eq!(with_params, [Nb201Op::NorConv1x1, Nb201Op::NorConv3x3]);
    }

    #[test]
    fn edge_labels_follow_alpha_rows() {
        let labels: Vec<_> = (0..6).map(edge_label).collect();
        assert_eq!(labels, ["1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2"]);
        assert_eq!(edge_label(6), "?");
    }

    #[test]
    fn parse_print_round_trip() {
        for s in EXAMPLES {
            let arch = Nb201Arch::parse(s).unwrap();
            assert_eq!(arch.to_string(), s);
            assert_eq!(s.parse::<Nb201Arch>().unwrap(), arch);
        }
        let padded = format!("  \t{}\n", EXAMPLES[0]);
        assert_eq!(Nb201Arch::parse(&padded).unwrap().to_string(), EXAMPLES[0]);
    }

    #[test]
    fn tokens_land_on_their_edges() {
        let arch = Nb201Arch::parse(EXAMPLES[2]).unwrap();
        use Nb201Op::*;
        assert_eq!(
            arch.ops,
            [
                AvgPool3x3,
                NorConv1x1,
                SkipConnect,
                NorConv1x1,
                SkipConnect,
                SkipConnect
            ]
        );
    }

    #[test]
    fn malformed_strings_are_errors() {
        let bad = [
            "",
            "   ",
            "|",
            "||",
            "+",
            "++",
            "|+|+|",
            "||+||+||",
            "|none~0|+|",
            "|none~0|+|none~0|none~1|",
            "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|",
            "none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~0+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~0|+|none~0|+|none~0|none~1|none~2|",
            "|none~0|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~0|+|none~0|none~1|+|none~0|none~1|none~2||",
            "|none0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|nonsense~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|NONE~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~0|+|none~1|none~0|+|none~0|none~1|none~2|",
            "|none~00|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~0~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~-0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~99999999999999999999999|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|ñone~0|+|none~0|none~1|+|none~0|none~1|none~2|",
            "|none~٠|+|none~0|none~1|+|none~0|none~1|none~2|",
            "é+ü+🙂",
            "|🙂|+|🙂|🙂|+|🙂|🙂|🙂|",
            "|none~0| + |none~0|none~1| + |none~0|none~1|none~2|",
            "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\0",
        ];
        for s in bad {
            let err = Nb201Arch::parse(s);
            assert!(err.is_err(), "accepted malformed {s:?}");
            // Every message must be printable without panicking.
            let _ = err.unwrap_err().to_string();
        }
    }

    #[test]
    fn truncations_and_substitutions_never_panic() {
        let valid = EXAMPLES[0];
        for end in 0..valid.len() {
            assert!(
                Nb201Arch::parse(&valid[..end]).is_err(),
                "prefix {end} accepted"
            );
        }
        for (at, _) in valid.char_indices() {
            for c in ['|', '+', '~', '0', '9', ' ', 'é', '🙂'] {
                let mut s = valid.to_string();
                s.replace_range(at..at + 1, c.encode_utf8(&mut [0; 4]));
                let _ = Nb201Arch::parse(&s);
            }
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        let msg = |s: &str| Nb201Arch::parse(s).unwrap_err().to_string();
        assert!(msg("|none~0|+|none~0|none~1|").contains("expected 3"));
        let unknown = msg("|none~0|+|none~0|conv~1|+|none~0|none~1|none~2|");
        assert!(unknown.contains("`conv`") && unknown.contains("group 2 token 2"));
        assert!(unknown.contains("byte 17") && unknown.contains(VALID_OP_NAMES));
        let order =
            Nb201Arch::parse("|none~0|+|none~0|none~1|+|none~0|none~2|none~1|").unwrap_err();
        assert_eq!(
            order,
            ArchParseError::InputOutOfOrder {
                group: 3,
                token: 2,
                pos: 38,
                found: "2".into(),
                expected: 1
            }
        );
        let tokens = Nb201Arch::parse("|none~0|+|none~0|+|none~0|none~1|none~2|").unwrap_err();
        assert!(matches!(
            tokens,
            ArchParseError::TokenCount {
                group: 2,
                pos: 9,
                found: 1,
                expected: 2
            }
        ));
        let wrap =
            Nb201Arch::parse("  |none~0|+none~0|none~1|+|none~0|none~1|none~2|").unwrap_err();
        assert!(matches!(
            wrap,
            ArchParseError::Unwrapped {
                group: 2,
                pos: 11,
                ..
            }
        ));
    }

    #[test]
    fn all_enumerates_the_space_in_code_order() {
        let mut seen = HashSet::new();
        for (code, arch) in Nb201Arch::all().enumerate() {
            assert_eq!(arch.index_in_space(), code);
            assert_eq!(Nb201Arch::parse(&arch.to_string()).unwrap(), arch);
            assert!(seen.insert(arch));
        }
        assert_eq!(seen.len(), NB201_NUM_ARCHS);
        assert_eq!(Nb201Arch::from_index_in_space(NB201_NUM_ARCHS), None);
        let last = Nb201Arch::from_index_in_space(NB201_NUM_ARCHS - 1).unwrap();
        assert_eq!(last.ops, [Nb201Op::AvgPool3x3; 6]);
    }

    #[test]
    fn index_in_space_weights_edges_by_powers_of_five() {
        let mut ops = [Nb201Op::None; 6];
        ops[1] = Nb201Op::SkipConnect;
        ops[5] = Nb201Op::NorConv1x1;
        assert_eq!(Nb201Arch { ops }.index_in_space(), 5 + 2 * 3125);
    }
}
