//! Depthwise convolutions (one input channel per group, as in the DARTS separable and dilated
//! convolutions) by direct accumulation: a GEMM per channel would multiply a 1 x k*k matrix,
//! and burn's input gradient goes through a transposed convolution. Every kernel tap adds a
//! shifted row of the input plane to a row of the output plane, so the forward pass, the
//! input gradient (the same rows in the other direction) and the weight gradient (their dot
//! products) all walk the rows of [`for_each_patch_row`].
//!
//! Work is split over (image, channel) planes; the weight gradient sums each channel's
//! images in order, so no result depends on the thread count.

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
fn plane_geom(g: &ConvGeom) -> ConvGeom {
    ConvGeom {
        batch: 1,
        c_in: 1,
        c_out: 1,
        groups: 1,
        ..*g
    }
}

/// Forward pass: output channel `o` of image `n` reads input channel `o / multiplier`.
pub fn forward<T: Elem>(g: &ConvGeom, x: &[T], w: &[T]) -> Vec<T> {
    let (plane_in, p, taps) = (g.in_h * g.in_w, g.out_plane(), g.kernel[0] * g.kernel[1]);
    let (pg, mult) = (plane_geom(g), g.c_out_group());
    let ow = g.out_hw().expect("geometry checked by the caller")[1];
    let mut y = vec![T::ZERO; g.output_len()];
    y.par_chunks_mut(p)
        .with_min_len(PLANES_PER_TASK)
        .enumerate()
        .for_each(|(plane, out)| {
            let (n, o) = (plane / g.c_out, plane % g.c_out);
            let ci = o / mult;
            let xp = &x[(n * g.c_in + ci) * plane_in..(n * g.c_in + ci + 1) * plane_in];
            let wo = &w[o * taps..(o + 1) * taps];
            for_each_patch_row(&pg, |tap, oy, base, x_lo, x_hi, ix0| {
                let Some(base) = base.filter(|_| x_lo < x_hi) else {
                    return;
                };
                let dst = &mut out[oy * ow + x_lo..oy * ow + x_hi];
                gather_axpy(dst, &xp[base + ix0..], g.stride[1], wo[tap]);
            });
        });
    y
}

/// Gradient with respect to the input: every output channel of a group adds its taps back.
pub fn input_grad<T: Elem>(g: &ConvGeom, w: &[T], dy: &[T]) -> Vec<T> {
    let (plane_in, p, taps) = (g.in_h * g.in_w, g.out_plane(), g.kernel[0] * g.kernel[1]);
    let (pg, mult) = (plane_geom(g), g.c_out_group());
    let ow = g.out_hw().expect("geometry checked by the caller")[1];
    let mut dx = vec![T::ZERO; g.input_len()];
    dx.par_chunks_mut(plane_in)
        .with_min_len(PLANES_PER_TASK)
        .enumerate()
        .for_each(|(plane, out)| {
            let (n, ci) = (plane / g.c_in, plane % g.c_in);
            for o in ci * mult..(ci + 1) * mult {
                let dyp = &dy[(n * g.c_out + o) * p..(n * g.c_out + o + 1) * p];
                let wo = &w[o * taps..(o + 1) * taps];
                for_each_patch_row(&pg, |tap, oy, base, x_lo, x_hi, ix0| {
                    let Some(base) = base.filter(|_| x_lo < x_hi) else {
                        return;
                    };
                    let src = &dyp[oy * ow + x_lo..oy * ow + x_hi];
                    scatter_axpy(&mut out[base + ix0..], src, g.stride[1], wo[tap]);
                });
            }
        });
    dx
}

/// Gradient with respect to the weight: per output channel, each tap's dot product of the
/// output gradient with the shifted input, summed over the images in order.
pub fn weight_grad<T: Elem>(g: &ConvGeom, x: &[T], dy: &[T]) -> Vec<T> {
    let (plane_in, p, taps) = (g.in_h * g.in_w, g.out_plane(), g.kernel[0] * g.kernel[1]);
    let (pg, mult) = (plane_geom(g), g.c_out_group());
    let ow = g.out_hw().expect("geometry checked by the caller")[1];
    let mut dw = vec![T::ZERO; g.weight_len()];
    dw.par_chunks_mut(taps).enumerate().for_each(|(o, dwo)| {
        let ci = o / mult;
        for n in 0..g.batch {
            let xp = &x[(n * g.c_in + ci) * plane_in..(n * g.c_in + ci + 1) * plane_in];
            let dyp = &dy[(n * g.c_out + o) * p..(n * g.c_out + o + 1) * p];
            for_each_patch_row(&pg, |tap, oy, base, x_lo, x_hi, ix0| {
                let Some(base) = base.filter(|_| x_lo < x_hi) else {
                    return;
                };
                let d = &dyp[oy * ow + x_lo..oy * ow + x_hi];
                dwo[tap] += strided_dot(d, &xp[base + ix0..], g.stride[1]);
            });
        }
    });
    dw
}
