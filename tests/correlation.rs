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
    // Tied scores at the boundary go to the lower index: #0 and #1 of three equal scores.
    let tied = [1.0, 1.0, 1.0];
    close(best_in_top(&tied, &[1.0, 2.0, 3.0], 0.5), 2.0);
}
