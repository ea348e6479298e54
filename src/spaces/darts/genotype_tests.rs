//! Unit tests of the Genotype text: printing, parsing, errors.
use super::*;
use crate::spaces::darts::GenotypeParseError;

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
            "2<-0", "2<-1", "3<-0", "3<-1", "3<-2", "4<-0", "4<-1", "4<-2", "4<-3", "5<-0", "5<-1",
            "5<-2", "5<-3", "5<-4"
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
        err(&text)
            .to_string()
            .starts_with("reduce gene 5 (node 4) has input 6, but node 4 only sees inputs 0..=3")
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
