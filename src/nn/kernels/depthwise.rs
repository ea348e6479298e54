//! Depthwise convolutions (one input channel per group, as in the DARTS separable and dilated
//! convolutions) by direct accumulation: a GEMM per channel would multiply a 1 x k*k matrix,
//! and burn's input gradient goes through a transposed convolution. Every kernel tap adds a
//! shifted row of the input plane to a row of the output plane, so the forward pass, the
//! input gradient (the same rows in the other direction) and the weight gradient (their dot
//! products) all walk the same runs of a plane, listed once per call from
//! `conv::for_each_patch_row`.
//!
//! Work is split over (image, channel) planes; the weight gradient sums each channel's
//! images in order, so no result depends on the thread count.

use std::ops::Range;

use rayon::prelude::*;

use super::conv::{ConvGeom, for_each_patch_row};
use super::elem::Elem;

/// Planes per parallel task: a plane of a small feature map is too little work on its own.
const PLANES_PER_TASK: usize = 4;

/// `dst[i] += w * src[i * stride]` over `dst`.
fn gather_axpy<T: Elem>(dst: &mut [T], src: &[T], stride: usize, w: T) {
    if stride == 1 {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += w * s;
        }
    } else {
        for (i, d) in dst.iter_mut().enumerate() {
            *d += w * src[i * stride];
        }
    }
}

/// `dst[i * stride] += w * src[i]` over `src`: the adjoint of [`gather_axpy`].
fn scatter_axpy<T: Elem>(dst: &mut [T], src: &[T], stride: usize, w: T) {
    if stride == 1 {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d += w * s;
        }
    } else {
        for (i, &s) in src.iter().enumerate() {
            dst[i * stride] += w * s;
        }
    }
}

/// `sum_i a[i] * b[i * stride]` over `a`.
fn strided_dot<T: Elem>(a: &[T], b: &[T], stride: usize) -> T {
    if stride == 1 {
        a.iter().zip(b).map(|(&p, &q)| p * q).sum()
    } else {
        a.iter().enumerate().map(|(i, &p)| p * b[i * stride]).sum()
    }
}

/// The geometry of one input plane: a convolution of one channel in, one channel out.
/// One tap's run on one output row: output plane indices `out` read the input plane from
/// `input` on, a stride apart.
struct Run {
    tap: usize,
    out: Range<usize>,
    input: usize,
}

/// What the three kernels share: the plane sizes, the channel multiplier and every tap's runs
/// over a plane (the same for every plane, so listed once).
struct Planes {
    input: usize,
    output: usize,
    taps: usize,
    multiplier: usize,
    runs: Vec<Run>,
}

impl Planes {
    fn new(g: &ConvGeom) -> Self {
        let single = ConvGeom {
            batch: 1,
            c_in: 1,
            c_out: 1,
            groups: 1,
            ..*g
        };
        let ow = g.out_hw().expect("geometry checked by the caller")[1];
        let mut runs = Vec::new();
        for_each_patch_row(&single, |tap, oy, base, x_lo, x_hi, ix0| {
            if let Some(base) = base.filter(|_| x_lo < x_hi) {
                runs.push(Run {
                    tap,
                    out: oy * ow + x_lo..oy * ow + x_hi,
                    input: base + ix0,
                });
            }
        });
        Self {
            input: g.in_h * g.in_w,
            output: g.out_plane(),
            taps: g.kernel[0] * g.kernel[1],
            multiplier: g.c_out_group(),
            runs,
        }
    }
}

/// Plane `index` of planes of `len` values laid out back to back.
fn plane<T>(values: &[T], index: usize, len: usize) -> &[T] {
    &values[index * len..(index + 1) * len]
}

/// Forward pass: output channel `o` of image `n` reads input channel `o / multiplier`.
pub fn forward<T: Elem>(g: &ConvGeom, x: &[T], w: &[T]) -> Vec<T> {
    let pl = Planes::new(g);
    let mut y = vec![T::ZERO; g.output_len()];
    y.par_chunks_mut(pl.output)
        .with_min_len(PLANES_PER_TASK)
        .enumerate()
        .for_each(|(index, out)| {
            let (n, o) = (index / g.c_out, index % g.c_out);
            let xp = plane(x, n * g.c_in + o / pl.multiplier, pl.input);
            let wo = plane(w, o, pl.taps);
            for r in &pl.runs {
                gather_axpy(
                    &mut out[r.out.clone()],
                    &xp[r.input..],
                    g.stride[1],
                    wo[r.tap],
                );
            }
        });
    y
}

/// Gradient with respect to the input: every output channel of a group adds its taps back.
pub fn input_grad<T: Elem>(g: &ConvGeom, w: &[T], dy: &[T]) -> Vec<T> {
    let pl = Planes::new(g);
    let mut dx = vec![T::ZERO; g.input_len()];
    dx.par_chunks_mut(pl.input)
        .with_min_len(PLANES_PER_TASK)
        .enumerate()
        .for_each(|(index, out)| {
            let (n, ci) = (index / g.c_in, index % g.c_in);
            for o in ci * pl.multiplier..(ci + 1) * pl.multiplier {
                let dyp = plane(dy, n * g.c_out + o, pl.output);
                let wo = plane(w, o, pl.taps);
                for r in &pl.runs {
                    scatter_axpy(
                        &mut out[r.input..],
                        &dyp[r.out.clone()],
                        g.stride[1],
                        wo[r.tap],
                    );
                }
            }
        });
    dx
}

/// Gradient with respect to the weight: per output channel, each tap's dot product of the
/// output gradient with the shifted input, summed over the images in order.
pub fn weight_grad<T: Elem>(g: &ConvGeom, x: &[T], dy: &[T]) -> Vec<T> {
    let pl = Planes::new(g);
    let mut dw = vec![T::ZERO; g.weight_len()];
    dw.par_chunks_mut(pl.taps).enumerate().for_each(|(o, dwo)| {
        let ci = o / pl.multiplier;
        for n in 0..g.batch {
            let xp = plane(x, n * g.c_in + ci, pl.input);
            let dyp = plane(dy, n * g.c_out + o, pl.output);
            for r in &pl.runs {
                dwo[r.tap] += strided_dot(&dyp[r.out.clone()], &xp[r.input..], g.stride[1]);
            }
        }
    });
    dw
}
