//! The small dense linear algebra of jacob_cov and NASWOT, on nalgebra.

use nalgebra::DMatrix;

/// Pearson correlation matrix of the `n` rows of a row-major matrix (numpy's `corrcoef`).
/// A constant row has no defined correlation: its entries are NaN, as in numpy.
pub fn correlation_matrix(rows: &[f64], n: usize) -> Vec<f64> {
    let d = rows.len() / n.max(1);
    let centred: Vec<Vec<f64>> = rows
        .chunks(d.max(1))
        .map(|r| {
            let mean = r.iter().sum::<f64>() / d as f64;
            r.iter().map(|v| v - mean).collect()
        })
        .collect();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let norms: Vec<f64> = centred.iter().map(|r| dot(r, r).sqrt()).collect();
    let mut corr = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let c = dot(&centred[i], &centred[j]) / (norms[i] * norms[j]);
            corr[i * n + j] = c;
            corr[j * n + i] = c;
        }
    }
    corr
}

/// Eigenvalues of a symmetric `n x n` row-major matrix (NaN if it holds a NaN).
pub fn symmetric_eigenvalues(matrix: &[f64], n: usize) -> Vec<f64> {
    if matrix.iter().any(|v| !v.is_finite()) {
        return vec![f64::NAN; n];
    }
    let m = DMatrix::from_row_slice(n, n, matrix);
    m.symmetric_eigen().eigenvalues.iter().copied().collect()
}

/// ln|det| of an `n x n` row-major matrix by LU with partial pivoting (the determinant itself
/// overflows: NASWOT kernels have entries near 1e5); -inf when singular.
pub fn log_abs_det(matrix: &[f64], n: usize) -> f64 {
    let lu = DMatrix::from_row_slice(n, n, matrix).lu();
    lu.u().diagonal().iter().map(|d| d.abs().ln()).sum()
}
