//! Correlation metrics against small cases worked out by hand (ties included), and Knight's
//! O(n log n) tau-b against the O(n^2) definition.

use freedarts::correlate::metrics::{
    average_ranks, best_in_top, kendall_tau_b, pearson, precision_at, spearman, top_count,
};
use rand::{Rng, SeedableRng};

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
}

#[test]
fn three_points_one_swap() {
    // Pairs (0,1) and (0,2) concordant, (1,2) discordant: tau = (2 - 1) / 3.
    let (x, y) = ([1.0, 2.0, 3.0], [1.0, 3.0, 2.0]);
    close(kendall_tau_b(&x, &y), 1.0 / 3.0);
    // Rank differences 0, 1, 1: rho = 1 - 6 * 2 / (3 * 8) = 0.5.
    close(spearman(&x, &y), 0.5);
    close(pearson(&x, &y), 0.5);
}

#[test]
fn ties_use_tau_b_and_average_ranks() {
    // Concordant 4, discordant 0; one tied pair in x, one in y: tau_b = 4 / sqrt(5 * 5).
    let (x, y) = ([1.0, 1.0, 2.0, 3.0], [1.0, 2.0, 2.0, 3.0]);
    close(kendall_tau_b(&x, &y), 0.8);
    assert_eq!(average_ranks(&x), vec![1.5, 1.5, 3.0, 4.0]);
    assert_eq!(average_ranks(&y), vec![1.0, 2.5, 2.5, 4.0]);
    // Centred ranks (-1, -1, .5, 1.5) and (-1.5, 0, 0, 1.5): 3.75 / 4.5.
    close(spearman(&x, &y), 3.75 / 4.5);
}

#[test]
fn reversed_and_constant_inputs() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let y = [8.0, 6.0, 4.0, 2.0];
    close(kendall_tau_b(&x, &y), -1.0);
    close(spearman(&x, &y), -1.0);
    close(pearson(&x, &y), -1.0);
    assert!(kendall_tau_b(&x, &[1.0; 4]).is_nan());
    assert!(spearman(&[5.0; 4], &y).is_nan());
}

fn brute_force_tau_b(x: &[f64], y: &[f64]) -> f64 {
    let (mut c, mut d, mut tx, mut ty) = (0i64, 0i64, 0i64, 0i64);
    let n = x.len();
    for i in 0..n {
        for j in i + 1..n {
            let sx = (x[i] - x[j]).signum() * f64::from(x[i] != x[j]);
            let sy = (y[i] - y[j]).signum() * f64::from(y[i] != y[j]);
            if sx == 0.0 {
                tx += 1;
            }
            if sy == 0.0 {
                ty += 1;
            }
            if sx * sy > 0.0 {
                c += 1;
            } else if sx * sy < 0.0 {
                d += 1;
            }
        }
    }
    let n0 = (n * (n - 1) / 2) as i64;
    (c - d) as f64 / (((n0 - tx) * (n0 - ty)) as f64).sqrt()
}

#[test]
fn knight_tau_b_matches_the_definition_with_many_ties() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for n in [2, 3, 10, 57, 300] {
        let x: Vec<f64> = (0..n).map(|_| f64::from(rng.random_range(0..6))).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|v| v + f64::from(rng.random_range(0..4)))
            .collect();
        let (fast, slow) = (kendall_tau_b(&x, &y), brute_force_tau_b(&x, &y));
        // Both are undefined (NaN) exactly when one side is constant.
        let agree = (fast - slow).abs() < 1e-12 || (fast.is_nan() && slow.is_nan());
        assert!(agree, "n={n}: {fast} vs {slow}");
    }
}

#[test]
fn top_k_precision_and_best_accuracy() {
    // 10 architectures, top 20% = 2. By score: #0, #1. By accuracy: #1, #5.
    let score = [10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0];
    let acc = [50.0, 90.0, 60.0, 61.0, 62.0, 95.0, 10.0, 11.0, 12.0, 13.0];
    assert_eq!(top_count(10, 0.2), 2);
    assert_eq!(top_count(10, 0.01), 1);
    close(precision_at(&score, &acc, 0.2), 0.5);
    close(best_in_top(&score, &acc, 0.2), 90.0);
    close(best_in_top(&score, &acc, 0.1), 50.0);
    // Three equal scores and two places: ties are broken at random, so the best accuracy is
    // the mean over the pairs {1,2}, {1,3}, {2,3}: (2 + 3 + 3) / 3; and each tied item is in
    // the top two with chance 2/3.
    let tied = [1.0, 1.0, 1.0];
    close(best_in_top(&tied, &[1.0, 2.0, 3.0], 0.5), 8.0 / 3.0);
    close(precision_at(&tied, &[1.0, 2.0, 3.0], 0.5), 2.0 / 3.0);
    // The result does not depend on the input order.
    let (s, a) = ([5.0, 1.0, 1.0, 1.0, 0.0], [50.0, 10.0, 30.0, 20.0, 40.0]);
    let (s2, a2) = ([5.0, 1.0, 1.0, 1.0, 0.0], [50.0, 30.0, 20.0, 10.0, 40.0]);
    close(best_in_top(&s, &a, 0.4), best_in_top(&s2, &a2, 0.4));
    close(best_in_top(&s, &a, 0.4), 50.0);
    close(precision_at(&s, &a, 0.4), precision_at(&s2, &a2, 0.4));
    // Top 2 by accuracy: #0 (50) and #4 (40); by score #0 surely, one of the three ties.
    close(precision_at(&s, &a, 0.4), 0.5);
    // -0.0 and 0.0 are one value.
    assert!(kendall_tau_b(&[-0.0, 0.0], &[2.0, 1.0]).is_nan());
}

/// The tie-aware top-k metrics equal the average over every way to break the score ties at
/// the cut-off (accuracies distinct here, so only the score side is random).
#[test]
fn top_k_metrics_average_over_all_tie_breaks() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    for _ in 0..200 {
        let n = rng.random_range(2..9usize);
        let score: Vec<f64> = (0..n).map(|_| f64::from(rng.random_range(0..3))).collect();
        let acc: Vec<f64> = (0..n)
            .map(|i| i as f64 * 7.0 % 11.0 + i as f64 * 0.01)
            .collect();
        let fraction = [0.2, 0.4, 0.5][rng.random_range(0..3usize)];
        let k = top_count(n, fraction);
        let mut sorted = score.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let cut = sorted[k - 1];
        let sure: Vec<usize> = (0..n).filter(|&i| score[i] > cut).collect();
        let tied: Vec<usize> = (0..n).filter(|&i| score[i] == cut).collect();
        let r = k - sure.len();
        let mut by_acc: Vec<usize> = (0..n).collect();
        by_acc.sort_by(|&a, &b| acc[b].total_cmp(&acc[a]));
        let top_acc: Vec<usize> = by_acc[..k].to_vec();
        let (mut best, mut prec, mut count) = (0.0, 0.0, 0.0);
        for mask in 0u32..(1 << tied.len()) {
            if mask.count_ones() as usize != r {
                continue;
            }
            let chosen: Vec<usize> = sure
                .iter()
                .copied()
                .chain(
                    (0..tied.len())
                        .filter(|b| mask >> b & 1 == 1)
                        .map(|b| tied[b]),
                )
                .collect();
            best += chosen
                .iter()
                .map(|&i| acc[i])
                .fold(f64::NEG_INFINITY, f64::max);
            prec += chosen.iter().filter(|i| top_acc.contains(i)).count() as f64 / k as f64;
            count += 1.0;
        }
        close(best_in_top(&score, &acc, fraction), best / count);
        close(precision_at(&score, &acc, fraction), prec / count);
    }
}
