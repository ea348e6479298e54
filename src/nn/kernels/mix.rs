//! The weighted sum of a mixed edge, `acc + sum_k w_k * T_k[:, offset_k..offset_k + C]`, as one
//! pass over memory instead of a slice, a multiplication and an addition per candidate op (and
//! their backward steps: a zero tensor and a slice assignment per slice, a product and a
//! reduction per weight). NCHW throughout; a term's channels may be a block of a wider tensor
//! (the fused convolutions of the edges leaving one node).
//!
//! Every output element is computed in the order the composite wrote it: the first weighted
//! term, plus each further weighted term in turn, then the accumulator plus that sum. So the
//! forward pass is the composite's to the bit. The weights' gradients are dot products summed
//! in float64 in a fixed order (eight lanes per row, one partial sum per row, added in row
//! order), so they do not depend on the thread count.

use rayon::prelude::*;

use std::mem::MaybeUninit;

use super::elem::{Elem, assume_written, written};
use super::pool;

/// Below this many output elements the rows run on one thread (batch-1 passes).
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// The layout of the output: `batch` images of `channels` planes of `plane` values.
#[derive(Clone, Copy, Debug)]
pub struct MixGeom {
    pub batch: usize,
    pub channels: usize,
    pub plane: usize,
}

/// One term: the values of its tensor (NCHW, `channels` planes per image, of which the block
/// starting at `offset` is summed) and its weight. With `pooled: Some((h, w))` (weight
/// gradients only) the term is the 3x3 average pooling of that block's `h` x `w` planes,
/// computed plane by plane as [`pool::forward`] computes it.
#[derive(Clone, Copy, Debug)]
pub struct Term<'a, T> {
    pub values: &'a [T],
    pub channels: usize,
    pub offset: usize,
    pub weight: T,
    pub pooled: Option<(usize, usize)>,
}

impl<T> Term<'_, T> {
    /// The plane of output row `r` (image `r / C`, channel `r % C`) in this term's tensor.
    fn row<'b>(&'b self, g: &MixGeom, r: usize) -> &'b [T] {
        let (n, c) = (r / g.channels, r % g.channels);
        let start = (n * self.channels + self.offset + c) * g.plane;
        &self.values[start..start + g.plane]
    }
}

/// Runs `f(row, out_row)` over the rows of a new output of `g`'s size, in parallel when it is
/// large enough to pay for it.
///
/// # Safety
/// `f` must write every element of its row.
unsafe fn rows_of<T: Elem>(
    g: &MixGeom,
    f: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync + Send,
) -> Vec<T> {
    let fill = |out: &mut [MaybeUninit<T>]| {
        if out.len() >= PARALLEL_ELEMENTS {
            out.par_chunks_mut(g.plane)
                .enumerate()
                .for_each(|(r, row)| f(r, row));
        } else {
            out.chunks_mut(g.plane)
                .enumerate()
                .for_each(|(r, row)| f(r, row));
        }
    };
    // SAFETY: the rows cover the output and `f` writes each of them whole.
    unsafe { written(g.batch * g.channels * g.plane, fill) }
}

/// `acc + sum_k w_k * T_k`, summed in term order.
pub fn forward<T: Elem>(g: &MixGeom, acc: Option<&[T]>, terms: &[Term<T>]) -> Vec<T> {
    let row_of_sums = |r: usize, row: &mut [MaybeUninit<T>]| {
        let (first, rest) = terms.split_first().expect("a mix has at least one term");
        for (o, &t) in row.iter_mut().zip(first.row(g, r)) {
            o.write(t * first.weight);
        }
        // SAFETY: the first term's row has the row's length, so the loop wrote all of it.
        let row = unsafe { assume_written(row) };
        for term in rest {
            for (o, &t) in row.iter_mut().zip(term.row(g, r)) {
                *o += t * term.weight;
            }
        }
        if let Some(acc) = acc {
            let a = &acc[r * g.plane..(r + 1) * g.plane];
            for (o, &a) in row.iter_mut().zip(a) {
                *o = a + *o;
            }
        }
    };
    // SAFETY: row_of_sums writes the whole row with its first term.
    unsafe { rows_of(g, row_of_sums) }
}

/// The gradient of a term's whole tensor (`term_channels` planes per image): `weight * dy` in
/// the term's block, zero elsewhere.
pub fn term_grad<T: Elem>(
    g: &MixGeom,
    dy: &[T],
    weight: T,
    term_channels: usize,
    offset: usize,
) -> Vec<T> {
    let tg = MixGeom {
        channels: term_channels,
        ..*g
    };
    let row_of_grads = |r: usize, row: &mut [MaybeUninit<T>]| {
        let (n, c) = (r / term_channels, r % term_channels);
        if c < offset || c >= offset + g.channels {
            row.fill(MaybeUninit::new(T::ZERO));
            return;
        }
        let start = (n * g.channels + c - offset) * g.plane;
        for (o, &d) in row.iter_mut().zip(&dy[start..start + g.plane]) {
            o.write(d * weight);
        }
    };
    // SAFETY: a row outside the term's block is filled with zeros, one inside with dy's row.
    unsafe { rows_of(&tg, row_of_grads) }
}

/// `sum(a * b)` in float64, over eight interleaved partial sums (which the compiler can keep in
/// vector registers) added in a fixed order at the end.
fn dot<T: Elem>(a: &[T], b: &[T]) -> f64 {
    const LANES: usize = 8;
    let mut lanes = [0.0f64; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(&x, &y)| x.to_f64() * y.to_f64())
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for k in 0..LANES {
            lanes[k] += x[k].to_f64() * y[k].to_f64();
        }
    }
    lanes.iter().sum::<f64>() + tail
}

/// `sum(dy * T_k)` for each term, in float64.
pub fn weight_grads<T: Elem>(g: &MixGeom, dy: &[T], terms: &[Term<T>]) -> Vec<f64> {
    let dy = Term {
        values: dy,
        channels: g.channels,
        offset: 0,
        weight: T::ONE,
        pooled: None,
    };
    terms.iter().map(|term| weight_grad(g, &dy, term)).collect()
}

/// `sum(dy * T)` in float64, `dy` read as a term is (a block of a wider tensor): one partial
/// sum per row of `g`, added in row order.
pub fn weight_grad<T: Elem>(g: &MixGeom, dy: &Term<T>, term: &Term<T>) -> f64 {
    let rows = g.batch * g.channels;
    // Scratch for a pooled term: one plane and one row of it.
    let scratch = || (vec![MaybeUninit::uninit(); g.plane], Vec::new());
    let dot_row = |r: usize, (plane, line): &mut (Vec<MaybeUninit<T>>, Vec<T>)| {
        let dy_row = dy.row(g, r);
        match term.pooled {
            None => dot(dy_row, term.row(g, r)),
            Some((h, w)) => {
                line.resize(w, T::ZERO);
                dot(dy_row, pool::pool_plane(term.row(g, r), h, w, plane, line))
            }
        }
    };
    let partials: Vec<f64> = if rows * g.plane >= PARALLEL_ELEMENTS {
        (0..rows)
            .into_par_iter()
            .map_init(scratch, |s, r| dot_row(r, s))
            .collect()
    } else {
        let mut s = scratch();
        (0..rows).map(|r| dot_row(r, &mut s)).collect()
    };
    partials.iter().sum()
}
