//! 3x3, stride-1, padding-1 average pooling with the padding left out of the count (the
//! `avg_pool_3x3` candidate of both search spaces), forward and backward, one plane at a time.
//!
//! The forward pass sums in the order of the separable composite it replaces: for each column
//! the three rows `(above + centre) + below`, then the three column sums `(left + centre) +
//! right`, then one division by the number of in-bounds taps; so its values are that
//! composite's to the bit. The backward pass is its transpose: the output gradient divided by
//! the counts, then the same two 3-tap sums.

use rayon::prelude::*;

use super::elem::Elem;

/// Below this many elements the planes run on one thread (batch-1 passes).
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// In-bounds taps of a 3-tap window centred at `i` on a line of `len`.
fn taps(i: usize, len: usize) -> usize {
    3 - usize::from(i == 0) - usize::from(i + 1 == len)
}

/// `out[i][j] = (row(j - 1) + row(j)) + row(j + 1)` with `row(j) = (p[i-1][j] + p[i][j]) +
/// p[i+1][j]`, values outside the plane being zero (the composite's zero padding).
fn window_sums<T: Elem>(p: &[T], h: usize, w: usize, out: &mut [T], row: &mut [T]) {
    for i in 0..h {
        for (j, r) in row.iter_mut().enumerate() {
            let above = if i > 0 { p[(i - 1) * w + j] } else { T::ZERO };
            let below = if i + 1 < h {
                p[(i + 1) * w + j]
            } else {
                T::ZERO
            };
            *r = (above + p[i * w + j]) + below;
        }
        for j in 0..w {
            let left = if j > 0 { row[j - 1] } else { T::ZERO };
            let right = if j + 1 < w { row[j + 1] } else { T::ZERO };
            out[i * w + j] = (left + row[j]) + right;
        }
    }
}

/// Runs `f(input plane, output plane, scratch row)` over the planes, in parallel when large.
fn planes<T: Elem>(
    input: &[T],
    h: usize,
    w: usize,
    f: impl Fn(&[T], &mut [T], &mut [T]) + Sync + Send,
) -> Vec<T> {
    let plane = h * w;
    let mut out = vec![T::ZERO; input.len()];
    if plane == 0 {
        return out;
    }
    if input.len() >= PARALLEL_ELEMENTS {
        out.par_chunks_mut(plane)
            .zip(input.par_chunks(plane))
            .for_each_init(|| vec![T::ZERO; w], |row, (o, p)| f(p, o, row));
    } else {
        let mut row = vec![T::ZERO; w];
        for (o, p) in out.chunks_mut(plane).zip(input.chunks(plane)) {
            f(p, o, &mut row);
        }
    }
    out
}

/// The pooling of one `h` x `w` plane `p` into `out`, with a scratch `row` of `w` values.
pub(super) fn pool_plane<T: Elem>(p: &[T], h: usize, w: usize, out: &mut [T], row: &mut [T]) {
    window_sums(p, h, w, out, row);
    for i in 0..h {
        for j in 0..w {
            let count = T::from_f64((taps(i, h) * taps(j, w)) as f64);
            out[i * w + j] = out[i * w + j] / count;
        }
    }
}

/// The pooled planes of `x` (any number of `h` x `w` planes, back to back).
pub fn forward<T: Elem>(x: &[T], h: usize, w: usize) -> Vec<T> {
    planes(x, h, w, |p, out, row| pool_plane(p, h, w, out, row))
}

/// The gradient with respect to the input, given the output gradient `dy`.
pub fn backward<T: Elem>(dy: &[T], h: usize, w: usize) -> Vec<T> {
    planes(dy, h, w, |d, out, row| {
        let scaled: Vec<T> = (0..h * w)
            .map(|k| d[k] / T::from_f64((taps(k / w, h) * taps(k % w, w)) as f64))
            .collect();
        window_sums(&scaled, h, w, out, row);
    })
}
