//! Search strategies against their definitions, replayed step by step with plain passes on
//! tiny supernets: each round builds the supernet afresh with the removed ops' alphas at zero,
//! scores it, and removes what the definition says.

mod common;

use burn::tensor::Device;

use freedarts::nn::ctx::{BnMode, Precision};
use freedarts::saliency::alpha::score_alpha;
use freedarts::saliency::{Scoring, Target};
use freedarts::search::strategy::Strategy;
use freedarts::search::{ProxyKind, SearchOptions, SpaceConfig, build_supernet, run_search};
use freedarts::spaces::darts::supernet::DartsConfig;
use freedarts::spaces::nb201::supernet::Nb201Config;

/// (group, row, col, whole edge) removed in each round.
type Removals = Vec<Vec<(usize, usize, usize, bool)>>;

/// The definition: ops `ops` compete on every edge; one removal per edge with a choice left
/// (the lowest score, the later column among equals) per round; when every edge is down to
/// one op, one removal per node with more than `keep` in-edges (the edge whose op scores
/// lowest, the later row among equals). Returns the removals and the surviving (row, col) of
/// each group.
fn replay(
    opts: &SearchOptions,
    ops: &[usize],
    nodes: &[(std::ops::Range<usize>, usize)],
) -> (Removals, Vec<Vec<(usize, usize)>>) {
    let device = Device::flex().autodiff();
    let built = build_supernet(opts).unwrap();
    let groups = built.net.alpha_groups();
    let shapes: Vec<[usize; 2]> = groups.iter().map(|g| g.shape()).collect();
    // alive[g][row] = the ops still on that edge; None once the edge left its node.
    let mut alive: Vec<Vec<Option<Vec<usize>>>> = shapes
        .iter()
        .map(|[rows, _]| vec![Some(ops.to_vec()); *rows])
        .collect();
    let mut removals = Vec::new();
    loop {
        let mut state = built.state.clone();
        for (g, group) in groups.iter().enumerate() {
            let cols = shapes[g][1];
            for (row, edge) in alive[g].iter().enumerate() {
                for &c in ops {
                    let kept = edge.as_ref().is_some_and(|e| e.contains(&c));
                    if !kept {
                        state.values[group.id.0][row * cols + c] = 0.0;
                    }
                }
            }
        }
        let mut s = Scoring::new(&*built.net, state, &device, None, opts.seed);
        let target = Target::Alpha {
            precision: opts.dtype,
            bn: opts.bn,
            alpha_abs: opts.alpha_abs,
        };
        let out = score_alpha(opts.proxy.measure(), &mut s, target).unwrap();
        let mut round = Vec::new();
        let ops_left = alive
            .iter()
            .flatten()
            .any(|e| e.as_ref().is_some_and(|e| e.len() > 1));
        for (g, group) in out.groups.iter().enumerate() {
            let cols = shapes[g][1];
            let score = |row: usize, c: usize| {
                let v = group.score[row * cols + c];
                if v.is_nan() { f64::NEG_INFINITY } else { v }
            };
            if ops_left {
                for (row, edge) in alive[g].iter_mut().enumerate() {
                    let Some(edge) = edge.as_mut().filter(|e| e.len() > 1) else {
                        continue;
                    };
                    let lowest = edge
                        .iter()
                        .map(|&c| score(row, c))
                        .fold(f64::INFINITY, f64::min);
                    let col = *edge
                        .iter()
                        .rev()
                        .find(|&&c| score(row, c) == lowest)
                        .unwrap();
                    edge.retain(|&c| c != col);
                    round.push((g, row, col, false));
                }
            } else {
                for (rows, keep) in nodes {
                    let live: Vec<usize> =
                        rows.clone().filter(|&r| alive[g][r].is_some()).collect();
                    if live.len() <= *keep {
                        continue;
                    }
                    let op = |r: usize| alive[g][r].as_ref().unwrap()[0];
                    let lowest = live
                        .iter()
                        .map(|&r| score(r, op(r)))
                        .fold(f64::INFINITY, f64::min);
                    let row = *live
                        .iter()
                        .rev()
                        .find(|&&r| score(r, op(r)) == lowest)
                        .unwrap();
                    round.push((g, row, op(row), true));
                    alive[g][row] = None;
                }
            }
        }
        let done = round.is_empty();
        if !done {
            removals.push(round);
        }
        let nodes_left = nodes.iter().any(|(rows, keep)| {
            alive
                .iter()
                .any(|a| rows.clone().filter(|&r| a[r].is_some()).count() > *keep)
        });
        let ops_left = alive
            .iter()
            .flatten()
            .any(|e| e.as_ref().is_some_and(|e| e.len() > 1));
        if done || (!ops_left && !nodes_left) {
            break;
        }
    }
    let survivors = alive
        .iter()
        .map(|a| {
            a.iter()
                .enumerate()
                .filter_map(|(row, e)| e.as_ref().map(|e| (row, e[0])))
                .collect()
        })
        .collect();
    (removals, survivors)
}

/// The strategy's trace and the cells its derivation kept.
fn run(opts: &SearchOptions) -> (Removals, Vec<Vec<(usize, usize)>>) {
    let result = run_search(opts, &Device::flex().autodiff()).unwrap();
    let trace = result.strategy.as_ref().expect("a strategy trace");
    assert_eq!(trace.strategy, Strategy::Iterative);
    let removals = trace
        .rounds
        .iter()
        .map(|r| {
            r.pruned
                .iter()
                .map(|p| (p.group, p.row, p.col, p.edge))
                .collect()
        })
        .collect();
    let kept = result
        .kept_cells()
        .into_iter()
        .map(|cells| {
            let mut cells: Vec<(usize, usize)> =
                cells.into_iter().map(|(r, c, _)| (r, c)).collect();
            cells.sort();
            cells
        })
        .collect();
    (removals, kept)
}

#[test]
fn iterative_nb201_follows_its_definition() {
    for (proxy, seed) in [(ProxyKind::Synflow, 0), (ProxyKind::Synflow, 3)] {
        let opts = SearchOptions {
            space: SpaceConfig::Nb201(Nb201Config {
                channels: 4,
                cells_per_stage: 1,
                ..Nb201Config::default()
            }),
            proxy,
            seed,
            strategy: Strategy::Iterative,
            ..SearchOptions::default()
        };
        let (removals, kept) = run(&opts);
        let (expected, survivors) = replay(&opts, &[0, 1, 2, 3, 4], &[]);
        // Five ops per edge: four rounds, one removal on each of the six edges per round.
        assert_eq!(removals.len(), 4);
        assert!(removals.iter().all(|r| r.len() == 6));
        assert_eq!(removals, expected, "seed {seed}");
        assert_eq!(kept, survivors, "seed {seed}");
    }
}

#[test]
fn iterative_darts_follows_its_definition() {
    let opts = SearchOptions {
        space: SpaceConfig::Darts(DartsConfig {
            channels: 4,
            cells: 3,
            ..DartsConfig::cifar(3)
        }),
        bn: BnMode::Eval,
        dtype: Precision::F64,
        alpha_abs: false,
        strategy: Strategy::Iterative,
        ..SearchOptions::default()
    };
    let (removals, kept) = run(&opts);
    let nodes: Vec<_> = (2..6)
        .map(|n| (freedarts::spaces::darts::node_rows(n), 2))
        .collect();
    let (expected, survivors) = replay(&opts, &[1, 2, 3, 4, 5, 6, 7], &nodes);
    // Seven ops per edge: six op rounds; then nodes of 3, 4 and 5 in-edges lose 1, 2 and 3.
    assert_eq!(removals.len(), 9);
    assert_eq!(
        removals.iter().map(Vec::len).collect::<Vec<_>>(),
        [28, 28, 28, 28, 28, 28, 6, 4, 2]
    );
    assert_eq!(removals, expected);
    assert_eq!(kept, survivors);
}

/// The page and the saved result say how the search ran, and `report` refuses a trace whose
/// removals point outside the score matrices.
#[test]
fn iterative_results_report_their_rounds() {
    let dir = std::env::temp_dir().join(format!("freedarts-strategy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("it.json");
    let html = dir.join("it.html");
    let out = common::freedarts(&[
        "search",
        "--channels",
        "4",
        "--cells-per-stage",
        "1",
        "--strategy",
        "iterative",
        "--json",
        &common::path(json.clone()),
        "--html",
        &common::path(html.clone()),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("strategy iterative (4 rounds)"), "subtitle");
    assert!(page.contains("Strategy: iterative"), "rounds table");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["provenance"]["options"]["strategy"], "iterative");
    assert_eq!(v["strategy"]["rounds"].as_array().unwrap().len(), 4);
    v["strategy"]["rounds"][0]["pruned"][0]["row"] = 99.into();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, v.to_string()).unwrap();
    let page = common::path(dir.join("bad.html"));
    let out = common::freedarts(&["report", &common::path(bad), "-o", &page]);
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("outside the score matrices"),
        "{}",
        common::stderr(&out)
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The float64 repeat checks one scoring, so it is refused with a strategy of several.
#[test]
fn cross_check_applies_to_oneshot_only() {
    let out = common::freedarts(&["search", "--strategy", "iterative", "--cross-check-f64"]);
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(err.starts_with("error: --cross-check-f64"), "{err}");
}
