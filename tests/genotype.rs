//! The DARTS genotype text: the well-known genotypes, the strings stored in the
//! reference files, and the parser's error reporting.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use freedarts::spaces::darts::{
    CellKind, DartsOp, Genotype, GenotypeParseError, by_name, darts_v1, darts_v2,
};

const REFERENCE_FILES: [&str; 2] = ["darts_tiny.safetensors", "darts8_seed0.safetensors"];
const ARCH_KEYS: [&str; 4] = [
    "arch_synflow",
    "arch_synflow_f64",
    "arch_synflow_bneval",
    "arch_synflow_bneval_f64",
];

/// Whether an error is the one a malformed input should give.
type ErrorCheck = fn(&GenotypeParseError) -> bool;

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference")
        .join(name)
}

/// The `__metadata__` strings of a safetensors file. Only the header is read:
/// the tensors behind it are megabytes this test has no use for.
fn metadata(name: &str) -> HashMap<String, String> {
    let path = reference(name);
    let mut file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut len = [0u8; 8];
    file.read_exact(&mut len).expect("header length");
    let len = usize::try_from(u64::from_le_bytes(len)).expect("header length fits usize");
    assert!(
        len < 1 << 24,
        "{}: implausible header length {len}",
        path.display()
    );
    let mut header = vec![0u8; len];
    file.read_exact(&mut header).expect("header");
    let header: serde_json::Value = serde_json::from_slice(&header).expect("header is JSON");
    let meta = header["__metadata__"]
        .as_object()
        .unwrap_or_else(|| panic!("{} has no __metadata__", path.display()));
    meta.iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

#[test]
fn reference_genotypes_parse_and_print_back_identically() {
    for file in REFERENCE_FILES {
        let meta = metadata(file);
        for key in ARCH_KEYS {
            let text = meta
                .get(key)
                .unwrap_or_else(|| panic!("{file} has no metadata {key}"));
            let genotype = Genotype::parse(text).unwrap_or_else(|e| panic!("{file} {key}: {e}"));
            assert_eq!(&genotype.to_string(), text, "{file} {key}");
            assert_eq!(genotype.normal.genes.len(), 8);
            assert_eq!(genotype.reduce.concat, [2, 3, 4, 5]);
            let python_range = text.replace("[2, 3, 4, 5]", "range(2, 6)");
            assert_eq!(python_range.parse::<Genotype>().as_ref(), Ok(&genotype));
        }
    }
}

#[test]
fn well_known_genotypes_round_trip() {
    for (name, genotype) in [("DARTS_V1", darts_v1()), ("DARTS_V2", darts_v2())] {
        let text = genotype.to_string();
        assert_eq!(Genotype::parse(&text).as_ref(), Ok(&genotype), "{name}");
        assert_eq!(by_name(name).as_ref(), Some(&genotype));
    }
    assert_eq!(by_name("DARTS"), Some(darts_v2()));
    assert_eq!(by_name("ENAS"), None);
    assert_eq!(
        darts_v1().to_string(),
        "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), \
         ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), \
         ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), \
         ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), \
         ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], \
         reduce_concat=[2, 3, 4, 5])"
    );
}

#[test]
fn range_concat_and_python_spellings_parse_like_the_list_form() {
    let list = darts_v2().to_string();
    let python = "Genotype(\n    normal=[\n        (\"sep_conv_3x3\", 0), (\"sep_conv_3x3\", 1),\n        \
        (\"sep_conv_3x3\", 0), (\"sep_conv_3x3\", 1),\n        (\"sep_conv_3x3\", 1), \
        (\"skip_connect\", 0),\n        (\"skip_connect\", 0), (\"dil_conv_3x3\", 2),\n    ],\n    \
        normal_concat=range(2, 6),\n    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), \
        ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), \
        ('skip_connect', 2), ('max_pool_3x3', 1)],\n    reduce_concat=range(2,6),\n)\n";
    assert_eq!(Genotype::parse(python).unwrap(), darts_v2());
    assert_eq!(Genotype::parse(python).unwrap().to_string(), list);
}

#[test]
fn malformed_inputs_give_the_right_error() {
    let v2 = darts_v2().to_string();
    let cases: [(String, ErrorCheck); 9] = [
        (String::new(), |e| {
            matches!(
                e,
                GenotypeParseError::Expected {
                    pos: 0,
                    found: None,
                    ..
                }
            )
        }),
        (
            v2.replacen("sep_conv_3x3", "conv_7x7", 1),
            |e| matches!(e, GenotypeParseError::UnknownOp { name, pos: 19 } if name == "conv_7x7"),
        ),
        (
            v2.replacen("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)", 1),
            |e| {
                matches!(
                    e,
                    GenotypeParseError::InputOutOfRange {
                        cell: CellKind::Normal,
                        gene: 7,
                        node: 5,
                        input: 5,
                        ..
                    }
                )
            },
        ),
        (v2.replace(", reduce_concat=[2, 3, 4, 5]", ""), |e| {
            matches!(
                e,
                GenotypeParseError::MissingKeyword {
                    keyword: "reduce_concat",
                    ..
                }
            )
        }),
        (v2.replace("reduce_concat", "normal"), |e| {
            matches!(
                e,
                GenotypeParseError::DuplicateKeyword {
                    keyword: "normal",
                    ..
                }
            )
        }),
        (v2.replacen(", ('dil_conv_3x3', 2)", "", 1), |e| {
            matches!(
                e,
                GenotypeParseError::GeneCount {
                    cell: CellKind::Normal,
                    found: 7,
                    ..
                }
            )
        }),
        (v2.replacen("0)", "99999999999999999999)", 1), |e| {
            matches!(e, GenotypeParseError::NumberTooLarge { .. })
        }),
        (v2.replacen("0)", "-1)", 1), |e| {
            matches!(
                e,
                GenotypeParseError::Expected {
                    found: Some('-'),
                    ..
                }
            )
        }),
        (v2.replacen("[2, 3, 4, 5]", "[2, 3, 4, 5, 6]", 1), |e| {
            matches!(e, GenotypeParseError::ConcatOutOfRange { index: 6, .. })
        }),
    ];
    for (text, is_expected) in &cases {
        let e = Genotype::parse(text).expect_err(text);
        assert!(is_expected(&e), "{text}\n  gave: {e}");
        assert!(e.pos() <= text.len());
    }

    let e = Genotype::parse(&v2.replacen(", ('sep", " x ('sep", 1)).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("expected ',' or ']' at byte {}, found 'x'", e.pos())
    );
    assert!(
        Genotype::parse(&v2.replacen("sep_conv_3x3", "conv_7x7", 1))
            .unwrap_err()
            .to_string()
            .contains("(valid: none, max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5)")
    );
}

#[test]
fn every_truncation_of_a_reference_genotype_is_rejected() {
    let meta = metadata(REFERENCE_FILES[1]);
    let text = &meta["arch_synflow"];
    for cut in 0..text.len() {
        // The text is ASCII, so every byte offset is a char boundary.
        let e = Genotype::parse(&text[..cut]).expect_err(&text[..cut]);
        assert!(e.pos() <= cut);
    }
    assert!(Genotype::parse(text).is_ok());
    assert!(
        DartsOp::ALL
            .iter()
            .all(|op| DartsOp::from_name(op.name()) == Some(*op))
    );
}
