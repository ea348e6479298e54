//! `--strategy perturb` against its definition, replayed with fresh plain scorings of tiny
//! supernets: edge by edge, every remaining op is removed in turn (alpha 0; the others of an
//! undecided edge at 1/K, a decided edge's op at 1), the supernet is scored by the network
//! proxy, and the edge keeps the op whose removal gave the lowest score; in the DARTS space each
//! node then keeps the two in-edges whose removal scored lowest.

use burn::tensor::Device;

use freedarts::data::cifar::synthetic_batch;
use freedarts::saliency::ensemble::ProxySet;
use freedarts::saliency::network::score_network;
use freedarts::saliency::{Measure, Scoring, measure_by_name};
use freedarts::search::perturb::EdgeOrder;
use freedarts::search::strategy::Strategy;
use freedarts::search::{DataSource, SearchOptions, SpaceConfig, build_supernet, run_search};
use freedarts::spaces::darts::supernet::DartsConfig;
use freedarts::spaces::nb201::supernet::Nb201Config;

/// Per edge (group, row): the op kept; per node (group, node rows): the rows kept.
#[derive(Debug, PartialEq)]
struct Decisions {
    ops: Vec<((usize, usize), usize)>,
    edges: Vec<(usize, Vec<usize>)>,
}

/// The definition, with `ops` the competing columns and `nodes` (rows, keep) per group.
fn replay(
    opts: &SearchOptions,
    measure: &dyn Measure,
    ops: &[usize],
    nodes: &[(std::ops::Range<usize>, usize)],
) -> Decisions {
    let device = Device::flex().autodiff();
    let built = build_supernet(opts).unwrap();
    let groups = built.net.alpha_groups();
    let batch = measure
        .needs_data()
        .then(|| synthetic_batch(opts.batch_size, 10, 32, 32, opts.seed));
    // weight[g][row][col]
    let mut weight: Vec<Vec<Vec<f64>>> = groups
        .iter()
        .map(|g| {
            let [rows, cols] = g.shape();
            let mut w = vec![vec![0.0; cols]; rows];
            for row in &mut w {
                for &c in ops {
                    row[c] = 1.0 / cols as f64;
                }
            }
            w
        })
        .collect();
    let score = |weight: &Vec<Vec<Vec<f64>>>| {
        let mut state = built.state.clone();
        for (g, group) in groups.iter().enumerate() {
            state.values[group.id.0] = weight[g].iter().flatten().copied().collect();
        }
        let mut s = Scoring::new(&*built.net, state, &device, batch.as_ref(), opts.seed);
        score_network(measure, &mut s).unwrap().value
    };
    let mut decisions = Decisions {
        ops: Vec::new(),
        edges: Vec::new(),
    };
    for (g, group) in groups.iter().enumerate() {
        for row in 0..group.shape()[0] {
            let mut best: Option<(f64, usize)> = None;
            for &c in ops {
                let mut w = weight.clone();
                w[g][row][c] = 0.0;
                let v = score(&w);
                if best.is_none_or(|(b, _)| v < b) {
                    best = Some((v, c));
                }
            }
            let kept = best.unwrap().1;
            for c in 0..weight[g][row].len() {
                weight[g][row][c] = if c == kept { 1.0 } else { 0.0 };
            }
            decisions.ops.push(((g, row), kept));
        }
    }
    for g in 0..groups.len() {
        for (rows, keep) in nodes {
            if rows.len() <= *keep {
                continue;
            }
            let mut scored: Vec<(f64, usize)> = rows
                .clone()
                .map(|r| {
                    let mut w = weight.clone();
                    w[g][r].iter_mut().for_each(|v| *v = 0.0);
                    (score(&w), r)
                })
                .collect();
            scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut kept: Vec<usize> = scored[..*keep].iter().map(|&(_, r)| r).collect();
            kept.sort();
            for r in rows.clone().filter(|r| !kept.contains(r)) {
                weight[g][r].iter_mut().for_each(|v| *v = 0.0);
            }
            decisions.edges.push((g, kept));
        }
    }
    decisions
}

/// What the strategy decided, read back from its trace and derivation.
fn run(opts: &SearchOptions, nodes: &[(std::ops::Range<usize>, usize)]) -> Decisions {
    let result = run_search(opts, &Device::flex().autodiff()).unwrap();
    let trace = result.strategy.as_ref().expect("a strategy trace");
    assert_eq!(trace.strategy, Strategy::Perturb);
    let kept = result.kept_cells();
    let mut ops = Vec::new();
    for (g, group) in result.proxy.groups.iter().enumerate() {
        for row in 0..group.rows.len() {
            // The kept op of every edge, dropped or not, is its row's largest importance.
            let r = group.row(row);
            let best = (0..r.len()).fold(0, |b, c| if r[c] > r[b] { c } else { b });
            ops.push(((g, row), best));
        }
    }
    let edges = (0..kept.len())
        .flat_map(|g| {
            let kept = &kept[g];
            nodes
                .iter()
                .filter(|(rows, keep)| rows.len() > *keep)
                .map(move |(rows, _)| {
                    let mut k: Vec<usize> = kept
                        .iter()
                        .map(|&(r, _, _)| r)
                        .filter(|r| rows.contains(r))
                        .collect();
                    k.sort();
                    (g, k)
                })
        })
        .collect();
    Decisions { ops, edges }
}

#[test]
fn perturb_nb201_follows_its_definition() {
    for (proxy, seed) in [("synflow", 0), ("nwot", 1)] {
        let opts = SearchOptions {
            space: SpaceConfig::Nb201(Nb201Config {
                channels: 4,
                cells_per_stage: 1,
                ..Nb201Config::default()
            }),
            seed,
            strategy: Strategy::Perturb,
            perturb_proxy: Some(ProxySet::parse(proxy).unwrap()),
            edge_order: EdgeOrder::Fixed,
            data: Some(DataSource::Synthetic),
            batch_size: 8,
            ..SearchOptions::default()
        };
        let measure = measure_by_name(proxy).unwrap();
        let expected = replay(&opts, measure, &[0, 1, 2, 3, 4], &[]);
        assert_eq!(run(&opts, &[]), expected, "{proxy}, seed {seed}");
    }
}

#[test]
fn perturb_darts_follows_its_definition() {
    let opts = SearchOptions {
        space: SpaceConfig::Darts(DartsConfig {
            channels: 4,
            cells: 3,
            ..DartsConfig::cifar(3)
        }),
        alpha_abs: false,
        strategy: Strategy::Perturb,
        perturb_proxy: Some(ProxySet::parse("synflow").unwrap()),
        edge_order: EdgeOrder::Fixed,
        ..SearchOptions::default()
    };
    let nodes: Vec<_> = (2..6)
        .map(|n| (freedarts::spaces::darts::node_rows(n), 2))
        .collect();
    let expected = replay(
        &opts,
        measure_by_name("synflow").unwrap(),
        &[1, 2, 3, 4, 5, 6, 7],
        &nodes,
    );
    assert_eq!(run(&opts, &nodes), expected);
}

/// Random order visits every edge once, is fixed by the seed, and changes with it.
#[test]
fn perturb_order_is_seeded() {
    let opts = |seed| SearchOptions {
        space: SpaceConfig::Nb201(Nb201Config {
            channels: 4,
            cells_per_stage: 1,
            ..Nb201Config::default()
        }),
        seed,
        strategy: Strategy::Perturb,
        perturb_proxy: Some(ProxySet::parse("synflow").unwrap()),
        ..SearchOptions::default()
    };
    let device = Device::flex().autodiff();
    let rows = |seed| {
        let r = run_search(&opts(seed), &device).unwrap();
        r.strategy
            .unwrap()
            .rounds
            .iter()
            .map(|round| round.pruned[0].row)
            .collect::<Vec<_>>()
    };
    let a = rows(0);
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(rows(0), a);
    assert!(
        (1..6).any(|s| rows(s) != a),
        "the order depends on the seed"
    );
}
