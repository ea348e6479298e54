//! Rank-correlation and top-k metrics between a score and an accuracy, with ties handled the
//! way scipy does (average ranks for Spearman, tau-b for Kendall).

pub use crate::util::average_ranks;

/// Pearson's r; NaN when either side is constant or there are fewer than 2 points.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return f64::NAN;
    }
    let mean = |v: &[f64]| v[..n].iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (dx, dy) = (x[i] - mx, y[i] - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman's rho: Pearson's r of the average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&average_ranks(x), &average_ranks(y))
}

/// Number of pairs within tie groups of a sorted slice: sum of t(t-1)/2.
fn tied_pairs<T: PartialEq>(sorted: &[T]) -> u64 {
    let mut pairs = 0;
    let mut run = 1u64;
    for w in sorted.windows(2) {
        if w[0] == w[1] {
            run += 1;
        } else {
            pairs += run * (run - 1) / 2;
            run = 1;
        }
    }
    pairs + run * (run - 1) / 2
}

/// Sorts `v` and returns the number of inversions (pairs i < j with v[i] > v[j]).
fn count_inversions(v: &mut [f64]) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut inv = count_inversions(&mut v[..mid]) + count_inversions(&mut v[mid..]);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, mid);
    while i < mid && j < n {
        if v[j] < v[i] {
            // v[j] is smaller than every remaining left element.
            inv += (mid - i) as u64;
            merged.push(v[j]);
            j += 1;
        } else {
            merged.push(v[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&v[i..mid]);
    merged.extend_from_slice(&v[j..n]);
    v.copy_from_slice(&merged);
    inv
}

/// Kendall's tau-b in O(n log n) (Knight's algorithm): (concordant - discordant) /
/// sqrt((n0 - ties in x)(n0 - ties in y)). NaN when either side is constant.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    if n < 2 {
        return f64::NAN;
    }
    // total_cmp orders -0.0 before 0.0 while == ties them; adding 0.0 makes both +0.0 so
    // that sorting and tie grouping agree.
    let x: Vec<f64> = x[..n].iter().map(|v| v + 0.0).collect();
    let y: Vec<f64> = y[..n].iter().map(|v| v + 0.0).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(y[a].total_cmp(&y[b])));
    let xs: Vec<f64> = order.iter().map(|&i| x[i]).collect();
    let xys: Vec<(f64, f64)> = order.iter().map(|&i| (x[i], y[i])).collect();
    let n0 = (n as u64) * (n as u64 - 1) / 2;
    let x_ties = tied_pairs(&xs);
    let joint_ties = tied_pairs(&xys);
    let mut ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    // With x ascending (and y ascending inside x-ties), a pair is discordant exactly when
    // its y values are inverted.
    let discordant = count_inversions(&mut ys);
    let y_ties = tied_pairs(&ys);
    let c_minus_d =
        n0 as f64 - x_ties as f64 - y_ties as f64 + joint_ties as f64 - 2.0 * discordant as f64;
    c_minus_d / (((n0 - x_ties) as f64) * ((n0 - y_ties) as f64)).sqrt()
}

/// Size of the top `fraction` of n items: ceil(fraction * n), at least 1.
pub fn top_count(n: usize, fraction: f64) -> usize {
    ((fraction * n as f64).ceil() as usize).clamp(1, n.max(1))
}

/// Chance of each item to be among the k largest when ties at the cut-off are broken at
/// random: 1 above the cut-off value, r/g for the g items tied at it (r places left), 0 below.
/// Metrics built on it are expectations over the tie-breaking, so they do not depend on the
/// order of the input (proxies like params take few distinct values on NB201).
pub fn top_membership(values: &[f64], k: usize) -> Vec<f64> {
    let mut weight = vec![0.0; values.len()];
    if values.is_empty() || k == 0 {
        return weight;
    }
    let v: Vec<f64> = values.iter().map(|x| x + 0.0).collect();
    let mut sorted = v.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let cut = sorted[k.min(v.len()) - 1];
    let above = v.iter().filter(|&&x| x > cut).count();
    let tied = v.iter().filter(|&&x| x == cut).count();
    let share = (k.min(v.len()) - above) as f64 / tied as f64;
    for (w, &x) in weight.iter_mut().zip(&v) {
        *w = if x > cut {
            1.0
        } else if x == cut {
            share
        } else {
            0.0
        };
    }
    weight
}

/// Expected share of the top-`fraction` architectures by score that are also in the top
/// `fraction` by accuracy (ties at either cut-off broken at random, independently).
pub fn precision_at(score: &[f64], accuracy: &[f64], fraction: f64) -> f64 {
    let k = top_count(score.len(), fraction);
    let (s, a) = (top_membership(score, k), top_membership(accuracy, k));
    s.iter().zip(&a).map(|(s, a)| s * a).sum::<f64>() / k as f64
}

/// Expected best accuracy among the top-`fraction` architectures by score, ties at the
/// cut-off broken at random.
pub fn best_in_top(score: &[f64], accuracy: &[f64], fraction: f64) -> f64 {
    let k = top_count(score.len(), fraction);
    let w = top_membership(score, k);
    let sure = w
        .iter()
        .zip(accuracy)
        .filter(|(w, _)| **w == 1.0)
        .map(|(_, a)| *a)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut tied: Vec<f64> = w
        .iter()
        .zip(accuracy)
        .filter(|(w, _)| **w > 0.0 && **w < 1.0)
        .map(|(_, a)| *a)
        .collect();
    if tied.is_empty() {
        return sure;
    }
    tied.sort_by(|a, b| b.total_cmp(a));
    let g = tied.len();
    let r = k - w.iter().filter(|w| **w == 1.0).count();
    // The best drawn tied item is the j-th best of the group with probability
    // C(g - j, r - 1) / C(g, r): P_1 = r / g, P_{j+1} = P_j (g - j - r + 1) / (g - j).
    let mut p = r as f64 / g as f64;
    let mut expected = 0.0;
    for (j, &a) in tied.iter().enumerate().take(g - r + 1) {
        expected += p * a.max(sure);
        let j = j + 1;
        if j < g {
            p *= (g - j - r + 1) as f64 / (g - j) as f64;
        }
    }
    expected
}
