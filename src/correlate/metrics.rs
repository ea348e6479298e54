//! Rank-correlation and top-k metrics between a score and an accuracy, with ties handled the
//! way scipy does (average ranks for Spearman, tau-b for Kendall).

/// 1-based ranks in ascending order; tied values share the average of their ranks.
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && x[order[j]] == x[order[i]] {
            j += 1;
        }
        // Positions i..j (0-based) hold one tie group: ranks i+1..=j, average (i+1+j)/2.
        let rank = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            ranks[k] = rank;
        }
        i = j;
    }
    ranks
}

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

/// Indices of the k largest values, largest first; ties go to the lower index.
pub fn top_indices(values: &[f64], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order.truncate(k);
    order
}

/// Share of the top-`fraction` architectures by score that are also in the top `fraction` by
/// accuracy.
pub fn precision_at(score: &[f64], accuracy: &[f64], fraction: f64) -> f64 {
    let k = top_count(score.len(), fraction);
    let by_acc: std::collections::HashSet<usize> = top_indices(accuracy, k).into_iter().collect();
    let hits = top_indices(score, k)
        .iter()
        .filter(|i| by_acc.contains(i))
        .count();
    hits as f64 / k as f64
}

/// Best accuracy among the top-`fraction` architectures by score.
pub fn best_in_top(score: &[f64], accuracy: &[f64], fraction: f64) -> f64 {
    top_indices(score, top_count(score.len(), fraction))
        .into_iter()
        .map(|i| accuracy[i])
        .fold(f64::NEG_INFINITY, f64::max)
}
