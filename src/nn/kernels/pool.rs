//! 3x3, stride-1, padding-1 average pooling with the padding left out of the count (the
//! `avg_pool_3x3` candidate of both search spaces), forward and backward, one plane at a time.
//!
//! The forward pass sums in the order of the separable composite it replaces: for each column
//! the three rows `(above + centre) + below`, then the three column sums `(left + centre) +
//! right`, then one division by the number of in-bounds taps; so its values are that
//! composite's to the bit. The backward pass is its transpose: the output gradient divided by
//! the counts, then the same two 3-tap sums.

use rayon::prelude::*;

use std::mem::MaybeUninit;

use super::elem::{Elem, assume_written, written};

/// Below this many elements the planes run on one thread (batch-1 passes).
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// In-bounds taps of a 3-tap window centred at `i` on a line of `len`.
fn taps(i: usize, len: usize) -> usize {
    3 - usize::from(i == 0) - usize::from(i + 1 == len)
}

/// `out[i][j] = (row(j - 1) + row(j)) + row(j + 1)` with `row(j) = (p[i-1][j] + p[i][j]) +
/// p[i+1][j]`, values outside the plane being zero (the composite's zero padding). The edges
/// add an explicit zero as the padded composite does (it turns a -0.0 into +0.0); the
/// interior loops have no branch, so they vectorise.
fn window_sums<T: Elem>(p: &[T], h: usize, w: usize, out: &mut [MaybeUninit<T>], row: &mut [T]) {
    let zero = T::ZERO;
    for i in 0..h {
        let centre = &p[i * w..(i + 1) * w];
        match (i > 0, i + 1 < h) {
            (true, true) => {
                let (above, below) = (&p[(i - 1) * w..i * w], &p[(i + 1) * w..(i + 2) * w]);
                for (((r, &a), &c), &b) in row.iter_mut().zip(above).zip(centre).zip(below) {
                    *r = (a + c) + b;
                }
            }
            (false, true) => {
                let below = &p[w..2 * w];
                for ((r, &c), &b) in row.iter_mut().zip(centre).zip(below) {
                    *r = (zero + c) + b;
                }
            }
            (true, false) => {
                let above = &p[(i - 1) * w..i * w];
                for ((r, &a), &c) in row.iter_mut().zip(above).zip(centre) {
                    *r = (a + c) + zero;
                }
            }
            (false, false) => {
                for (r, &c) in row.iter_mut().zip(centre) {
                    *r = (zero + c) + zero;
                }
            }
        }
        let o = &mut out[i * w..(i + 1) * w];
        if w == 1 {
            o[0].write((zero + row[0]) + zero);
            continue;
        }
        o[0].write((zero + row[0]) + row[1]);
        for (j, o) in o[1..w - 1].iter_mut().enumerate() {
            o.write((row[j] + row[j + 1]) + row[j + 2]);
        }
        o[w - 1].write((row[w - 2] + row[w - 1]) + zero);
    }
}

/// Divides each value of an `h` x `w` plane by its number of in-bounds taps, in place.
fn divide_by_counts<T: Elem>(plane: &mut [T], h: usize, w: usize) {
    for i in 0..h {
        let line = &mut plane[i * w..(i + 1) * w];
        let ti = taps(i, h);
        line[0] = line[0] / T::from_f64((ti * taps(0, w)) as f64);
        if w > 1 {
            // The same value as the count of any interior column, loop-invariant.
            let inner = T::from_f64((ti * 3) as f64);
            for v in &mut line[1..w - 1] {
                *v = *v / inner;
            }
            line[w - 1] = line[w - 1] / T::from_f64((ti * taps(w - 1, w)) as f64);
        }
    }
}

/// Runs `f(input plane, output plane, scratch)` over the planes, in parallel when large; the
/// scratch holds `scratch` values.
///
/// # Safety
/// `f` must write every element of its output plane.
unsafe fn planes<T: Elem>(
    input: &[T],
    h: usize,
    w: usize,
    scratch: usize,
    f: impl Fn(&[T], &mut [MaybeUninit<T>], &mut [T]) + Sync + Send,
) -> Vec<T> {
    let plane = h * w;
    if plane == 0 {
        return Vec::new();
    }
    let fill = |out: &mut [MaybeUninit<T>]| {
        if input.len() >= PARALLEL_ELEMENTS {
            out.par_chunks_mut(plane)
                .zip(input.par_chunks(plane))
                .for_each_init(|| vec![T::ZERO; scratch], |row, (o, p)| f(p, o, row));
        } else {
            let mut row = vec![T::ZERO; scratch];
            for (o, p) in out.chunks_mut(plane).zip(input.chunks(plane)) {
                f(p, o, &mut row);
            }
        }
    };
    // SAFETY: the planes cover the output and `f` writes each of them whole.
    unsafe { written(input.len(), fill) }
}

/// The pooling of one `h` x `w` plane `p` into `out`, with a scratch `row` of `w` values;
/// returns `out`, written.
pub(super) fn pool_plane<'a, T: Elem>(
    p: &[T],
    h: usize,
    w: usize,
    out: &'a mut [MaybeUninit<T>],
    row: &mut [T],
) -> &'a mut [T] {
    window_sums(p, h, w, out, row);
    // SAFETY: window_sums wrote every element of the plane.
    let out = unsafe { assume_written(out) };
    divide_by_counts(out, h, w);
    out
}

/// The pooled planes of `x` (any number of `h` x `w` planes, back to back).
pub fn forward<T: Elem>(x: &[T], h: usize, w: usize) -> Vec<T> {
    let pool = |p: &[T], out: &mut [MaybeUninit<T>], row: &mut [T]| {
        pool_plane(p, h, w, out, row);
    };
    // SAFETY: pool_plane writes every element of the plane (window_sums does).
    unsafe { planes(x, h, w, w, pool) }
}

/// The gradient with respect to the input, given the output gradient `dy`.
pub fn backward<T: Elem>(dy: &[T], h: usize, w: usize) -> Vec<T> {
    let transpose = |d: &[T], out: &mut [MaybeUninit<T>], scratch: &mut [T]| {
        let (row, scaled) = scratch.split_at_mut(w);
        scaled.copy_from_slice(d);
        divide_by_counts(scaled, h, w);
        window_sums(scaled, h, w, out, row);
    };
    // SAFETY: window_sums writes every element of the plane.
    unsafe { planes(dy, h, w, w + h * w, transpose) }
}
