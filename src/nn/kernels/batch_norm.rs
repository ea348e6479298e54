//! Train-mode BatchNorm over an NCHW float32 batch in two kernels, forward and backward, with
//! the batch statistics accumulated in float64.
//!
//! As a composition of tensor operations the layer takes about twenty passes over the batch
//! (staged sums, centring, scaling) and as many autodiff nodes, each keeping its input for the
//! backward pass; here the forward reads the input three times and writes the output once,
//! and the backward recomputes the statistics from the input instead of storing them. The
//! float64 sums give the statistics the digits the alpha gradients need (the reason the
//! composite version staged its float32 sums, see `nn::layers::batch_norm_train`).
//!
//! Every channel's sums run sequentially in a fixed order, so results do not depend on the
//! thread count.

use rayon::prelude::*;

use std::mem::MaybeUninit;

use super::elem::{Elem, written};

/// Batch layout: `batch` images of `channels` planes of `plane` values each.
#[derive(Clone, Copy, Debug)]
pub struct BnGeom {
    pub batch: usize,
    pub channels: usize,
    pub plane: usize,
}

impl BnGeom {
    fn count(&self) -> f64 {
        (self.batch * self.plane) as f64
    }

    /// The values of channel `c`, image by image.
    fn channel<'a, T>(&self, t: &'a [T], c: usize) -> impl Iterator<Item = &'a [T]> {
        let (plane, stride) = (self.plane, self.channels * self.plane);
        (0..self.batch).map(move |n| &t[n * stride + c * plane..n * stride + (c + 1) * plane])
    }
}

/// Values per float32 accumulator before it is flushed into the float64 total.
const RUN: usize = 64;

/// Sum of `f(a[i], b[i])` over two equally long slices: eight float32 lanes (which vectorise)
/// over runs of at most [`RUN`] values each, flushed into a float64 total after every run.
#[inline]
fn paired_sum<T: Elem>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> f64 {
    let mut total = 0.0f64;
    for (ba, bb) in a.chunks(8 * RUN).zip(b.chunks(8 * RUN)) {
        let mut lanes = [T::ZERO; 8];
        let (ca, cb) = (ba.chunks_exact(8), bb.chunks_exact(8));
        let tail: T = ca
            .remainder()
            .iter()
            .zip(cb.remainder())
            .map(|(&p, &q)| f(p, q))
            .sum();
        for (xa, xb) in ca.zip(cb) {
            for i in 0..8 {
                lanes[i] += f(xa[i], xb[i]);
            }
        }
        total += lanes.iter().map(|&v| v.to_f64()).sum::<f64>() + tail.to_f64();
    }
    total
}

/// Sum over channel `c` of `f(a, b)` taken elementwise from two batches of the same layout.
fn channel_sum<T: Elem>(
    g: &BnGeom,
    a: &[T],
    b: &[T],
    c: usize,
    f: impl Fn(T, T) -> T + Copy,
) -> f64 {
    g.channel(a, c)
        .zip(g.channel(b, c))
        .map(|(pa, pb)| paired_sum(pa, pb, f))
        .sum()
}

/// Mean (rounded to float32, the value every later pass centres with) and biased variance of
/// channel `c`, in two passes.
fn stats<T: Elem>(g: &BnGeom, x: &[T], c: usize) -> (T, f64) {
    let mean = T::from_f64(channel_sum(g, x, x, c, |v, _| v) / g.count());
    let var = channel_sum(g, x, x, c, |v, _| (v - mean) * (v - mean)) / g.count();
    (mean, var)
}

/// Values below which one task of [`per_plane`] is not split further.
const PLANE_TASK: usize = 1 << 13;

/// A new output of `len` values, `f(channel, in, out)` applied to every plane, in parallel
/// over planes.
///
/// # Safety
/// `f` must write every element of the plane it is given.
unsafe fn per_plane<T: Elem>(
    g: &BnGeom,
    len: usize,
    f: impl Fn(usize, usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    // By planes, not images, so that a single image (SynFlow) is shared between threads too.
    let plane = g.plane.max(1);
    let fill = |out: &mut [MaybeUninit<T>]| {
        out.par_chunks_mut(plane)
            .with_min_len(PLANE_TASK.div_ceil(plane))
            .enumerate()
            .for_each(|(i, values)| f(i % g.channels, i * plane, values));
    };
    // SAFETY: the planes cover the output and `f` writes each of them whole.
    unsafe { written(len, fill) }
}

/// `(x - mean) / sqrt(var + eps) * gamma + beta` with the batch's own statistics; returns the
/// output, the per-channel mean and the biased per-channel variance.
pub fn forward<T: Elem>(
    g: &BnGeom,
    x: &[T],
    gamma: &[T],
    beta: &[T],
    eps: f64,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let n = normaliser(g, x, gamma, beta, eps);
    (normalise(g, x, &n.affine), n.mean, n.variance)
}

/// What the forward pass computes before it writes the output: per channel the (mean, scale,
/// shift) it applies, the mean and the biased variance it returns.
pub struct Normaliser<T> {
    pub affine: Vec<(T, T, T)>,
    pub mean: Vec<T>,
    pub variance: Vec<T>,
}

/// The statistics of `x` and the per-channel affine map of [`forward`].
pub fn normaliser<T: Elem>(
    g: &BnGeom,
    x: &[T],
    gamma: &[T],
    beta: &[T],
    eps: f64,
) -> Normaliser<T> {
    let stats: Vec<(T, f64)> = (0..g.channels)
        .into_par_iter()
        .map(|c| stats(g, x, c))
        .collect();
    // Centred first, then scaled: no cancellation when the mean is large against the spread.
    let affine = stats
        .iter()
        .enumerate()
        .map(|(c, &(mean, var))| {
            let scale = gamma[c].to_f64() / (var + eps).sqrt();
            (mean, T::from_f64(scale), beta[c])
        })
        .collect();
    Normaliser {
        affine,
        mean: stats.iter().map(|&(m, _)| m).collect(),
        variance: stats.iter().map(|&(_, v)| T::from_f64(v)).collect(),
    }
}

/// `(x - mean) * scale + shift` per channel: [`forward`]'s output from its [`Normaliser`], to
/// the bit (a backward step that did not keep the output recomputes it so).
pub fn normalise<T: Elem>(g: &BnGeom, x: &[T], affine: &[(T, T, T)]) -> Vec<T> {
    let normalise = |c: usize, at: usize, out: &mut [MaybeUninit<T>]| {
        let (mean, scale, shift) = affine[c];
        for (o, &v) in out.iter_mut().zip(&x[at..at + g.plane]) {
            o.write((v - mean) * scale + shift);
        }
    };
    // SAFETY: normalise writes every element of the plane.
    unsafe { per_plane(g, x.len(), normalise) }
}

/// Gradients of the forward pass: (dx, dgamma, dbeta) from the output gradient `dy`. The
/// statistics are recomputed from `x` in float64 rather than read back from the float32 ones
/// the forward pass returned.
pub fn backward<T: Elem>(
    g: &BnGeom,
    x: &[T],
    gamma: &[T],
    dy: &[T],
    eps: f64,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    struct Channel<T> {
        mean: T,
        inv_std: f64,
        sum_dy: f64,
        sum_dy_xhat: f64,
    }
    let per_channel: Vec<Channel<T>> = (0..g.channels)
        .into_par_iter()
        .map(|c| {
            let (mean, var) = stats(g, x, c);
            let inv_std = 1.0 / (var + eps).sqrt();
            let sum_dy = channel_sum(g, dy, dy, c, |d, _| d);
            let sum_dy_xc = channel_sum(g, x, dy, c, |v, d| d * (v - mean));
            Channel {
                mean,
                inv_std,
                sum_dy,
                sum_dy_xhat: sum_dy_xc * inv_std,
            }
        })
        .collect();
    // dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat)),
    // as dy * a + (x - mean) * b + k.
    let m = g.count();
    let coef: Vec<(T, T, T, T)> = per_channel
        .iter()
        .zip(gamma)
        .map(|(ch, &gm)| {
            let a = gm.to_f64() * ch.inv_std;
            let b = -a * ch.inv_std * ch.sum_dy_xhat / m;
            let k = -a * ch.sum_dy / m;
            (ch.mean, T::from_f64(a), T::from_f64(b), T::from_f64(k))
        })
        .collect();
    let input_grad = |c: usize, at: usize, out: &mut [MaybeUninit<T>]| {
        let (mean, a, b, k) = coef[c];
        let (xp, dp) = (&x[at..at + g.plane], &dy[at..at + g.plane]);
        for ((o, &v), &d) in out.iter_mut().zip(xp).zip(dp) {
            o.write(d * a + (v - mean) * b + k);
        }
    };
    // SAFETY: input_grad writes every element of the plane.
    let dx = unsafe { per_plane(g, x.len(), input_grad) };
    let dgamma = per_channel
        .iter()
        .map(|ch| T::from_f64(ch.sum_dy_xhat))
        .collect();
    let dbeta = per_channel
        .iter()
        .map(|ch| T::from_f64(ch.sum_dy))
        .collect();
    (dx, dgamma, dbeta)
}

/// Input gradient of BatchNorm without affine parameters, from its output `y` (the normalised
/// input) and the biased batch variance: `(dy - mean(dy) - y * mean(dy * y)) / sqrt(var + eps)`.
pub fn backward_from_output<T: Elem>(
    g: &BnGeom,
    y: &[T],
    variance: &[T],
    dy: &[T],
    eps: f64,
) -> Vec<T> {
    let m = g.count();
    let coef: Vec<(T, T, T)> = (0..g.channels)
        .into_par_iter()
        .map(|c| {
            let inv_std = 1.0 / (variance[c].to_f64() + eps).sqrt();
            let mean_dy = channel_sum(g, dy, dy, c, |d, _| d) / m;
            let mean_dy_y = channel_sum(g, y, dy, c, |v, d| v * d) / m;
            (
                T::from_f64(inv_std),
                T::from_f64(-inv_std * mean_dy_y),
                T::from_f64(-inv_std * mean_dy),
            )
        })
        .collect();
    let input_grad = |c: usize, at: usize, out: &mut [MaybeUninit<T>]| {
        let (a, b, k) = coef[c];
        let (yp, dp) = (&y[at..at + g.plane], &dy[at..at + g.plane]);
        for ((o, &v), &d) in out.iter_mut().zip(yp).zip(dp) {
            o.write(d * a + v * b + k);
        }
    };
    // SAFETY: input_grad writes every element of the plane.
    unsafe { per_plane(g, y.len(), input_grad) }
}
