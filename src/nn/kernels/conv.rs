//! Direct NCHW float32 convolution kernels: forward, input gradient and weight gradient.
//!
//! burn's flex convolution converts every input to NHWC, builds im2col tiles in fresh buffers
//! and takes the input gradient through a transposed convolution; at the channel counts of the
//! search spaces (16 to 64) those copies and allocations cost more than the arithmetic. Here
//! the layout stays NCHW: for one image and one group the unfolded input `col` is a
//! [c_in/groups * kh * kw, out_h * out_w] matrix whose rows are shifted copies of input planes,
//! so every product is one GEMM whose result lands in place, and a 1x1 convolution with unit
//! stride and no padding needs no unfolding at all.
//!
//! Determinism: images are processed in parallel, but every sum over images runs in a fixed
//! order over fixed chunks, so results do not depend on the thread count or on scheduling.

use gemm::Parallelism;

use std::any::TypeId;
use std::mem::MaybeUninit;

use super::elem::{Elem, written};
use rayon::prelude::*;

/// Geometry of one 2-D convolution over an NCHW batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub batch: usize,
    pub c_in: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub c_out: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
    /// The convolution reads relu(x): the ReLU is applied while the input is unfolded (and the
    /// input gradient masked by [`input_grad`]'s caller), so relu(x) is never stored. The
    /// depthwise kernels do not take it.
    pub relu_input: bool,
}

impl ConvGeom {
    /// Output height and width (PyTorch's formula); `None` when the kernel does not fit.
    pub fn out_hw(&self) -> Option<[usize; 2]> {
        let size = |i: usize, len: usize| {
            let span = self.dilation[i] * (self.kernel[i] - 1) + 1;
            (len + 2 * self.padding[i])
                .checked_sub(span)
                .map(|d| d / self.stride[i] + 1)
        };
        Some([size(0, self.in_h)?, size(1, self.in_w)?])
    }

    pub(super) fn out_plane(&self) -> usize {
        let [oh, ow] = self.out_hw().expect("geometry checked by the caller");
        oh * ow
    }

    pub(super) fn c_in_group(&self) -> usize {
        self.c_in / self.groups
    }

    pub(super) fn c_out_group(&self) -> usize {
        self.c_out / self.groups
    }

    /// Rows of the unfolded input of one group: c_in/groups * kh * kw.
    fn col_rows(&self) -> usize {
        self.c_in_group() * self.kernel[0] * self.kernel[1]
    }

    /// Values of one group's unfolded input; none when [`Self::reads_planes`].
    fn col_len(&self) -> usize {
        if self.reads_planes() {
            0
        } else {
            self.col_rows() * self.out_plane()
        }
    }

    /// A 1x1 convolution with unit stride and no padding reads the input planes as they are.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// Whether the products read the input planes as they are: a pointwise convolution of x
    /// itself (relu(x) is unfolded, which for 1x1 is a copy through the ReLU).
    fn reads_planes(&self) -> bool {
        self.is_pointwise() && !self.relu_input
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.c_in * self.in_h * self.in_w
    }

    pub fn weight_len(&self) -> usize {
        self.c_out * self.col_rows()
    }

    /// One input channel per group: the depthwise convolutions of the DARTS operations.
    pub fn is_depthwise(&self) -> bool {
        self.groups > 1 && self.c_in_group() == 1
    }

    pub fn output_len(&self) -> usize {
        self.batch * self.c_out * self.out_plane()
    }
}

/// For output positions 0..out along one axis, the range whose input index
/// `o * stride + k * dilation - padding` falls inside 0..len, for kernel offset `k`.
fn valid_range(
    out: usize,
    len: usize,
    k: usize,
    stride: usize,
    dil: usize,
    pad: usize,
) -> (usize, usize) {
    let shift = (k * dil) as isize - pad as isize;
    // First o with o*stride + shift >= 0.
    let lo = if shift >= 0 { 0 } else { (-shift) as usize }.div_ceil(stride);
    // Last o with o*stride + shift <= len - 1, plus one.
    let hi_num = len as isize - 1 - shift;
    let hi = if hi_num < 0 {
        0
    } else {
        (hi_num as usize) / stride + 1
    };
    (lo.min(out), hi.min(out).max(lo.min(out)))
}

/// Visits every (col row, output row) pair of one image and group: `f(row, oy, iy, x_lo, x_hi,
/// ix0)` where `iy` is the input row (None in the padding), output columns x_lo..x_hi read
/// input columns ix0 + (ox - x_lo) * stride.
pub(super) fn for_each_patch_row(
    g: &ConvGeom,
    mut f: impl FnMut(usize, usize, Option<usize>, usize, usize, usize),
) {
    let [kh, kw] = g.kernel;
    let [oh, ow] = g.out_hw().expect("geometry checked by the caller");
    for ci in 0..g.c_in_group() {
        for ky in 0..kh {
            let (y_lo, y_hi) =
                valid_range(oh, g.in_h, ky, g.stride[0], g.dilation[0], g.padding[0]);
            for kx in 0..kw {
                let row = (ci * kh + ky) * kw + kx;
                let (x_lo, x_hi) =
                    valid_range(ow, g.in_w, kx, g.stride[1], g.dilation[1], g.padding[1]);
                let ix0 = (x_lo * g.stride[1] + kx * g.dilation[1]).wrapping_sub(g.padding[1]);
                for oy in 0..oh {
                    let iy = (y_lo..y_hi)
                        .contains(&oy)
                        .then(|| oy * g.stride[0] + ky * g.dilation[0] - g.padding[0]);
                    f(
                        row,
                        oy,
                        iy.map(|iy| ci * g.in_h * g.in_w + iy * g.in_w),
                        x_lo,
                        x_hi,
                        ix0,
                    );
                }
            }
        }
    }
}

/// Unfolds the input planes of one image and group (`x`: [c_in/groups, h, w]) into `col`.
fn im2col<T: Elem>(g: &ConvGeom, x: &[T], col: &mut [T]) {
    let ow = g.out_hw().expect("geometry checked by the caller")[1];
    let p = g.out_plane();
    let sx = g.stride[1];
    for_each_patch_row(g, |row, oy, base, x_lo, x_hi, ix0| {
        let dst = &mut col[row * p + oy * ow..row * p + (oy + 1) * ow];
        let Some(base) = base else {
            dst.fill(T::ZERO);
            return;
        };
        dst[..x_lo].fill(T::ZERO);
        dst[x_hi..].fill(T::ZERO);
        if x_lo == x_hi {
            return;
        }
        let src = &x[base + ix0..];
        match (sx, g.relu_input) {
            (1, false) => dst[x_lo..x_hi].copy_from_slice(&src[..x_hi - x_lo]),
            (1, true) => {
                for (d, s) in dst[x_lo..x_hi].iter_mut().zip(src) {
                    *d = s.relu();
                }
            }
            _ => {
                for (i, d) in dst[x_lo..x_hi].iter_mut().enumerate() {
                    *d = if g.relu_input {
                        src[i * sx].relu()
                    } else {
                        src[i * sx]
                    };
                }
            }
        }
    });
}

/// Folds `col` back onto the input planes of one image and group, adding overlapping patches
/// (the adjoint of [`im2col`]); `dx` must start at zero.
fn col2im<T: Elem>(g: &ConvGeom, col: &[T], dx: &mut [T]) {
    let ow = g.out_hw().expect("geometry checked by the caller")[1];
    let p = g.out_plane();
    let sx = g.stride[1];
    for_each_patch_row(g, |row, oy, base, x_lo, x_hi, ix0| {
        let Some(base) = base.filter(|_| x_lo < x_hi) else {
            return;
        };
        let src = &col[row * p + oy * ow + x_lo..row * p + oy * ow + x_hi];
        let dst = &mut dx[base + ix0..];
        if sx == 1 {
            for (d, s) in dst.iter_mut().zip(src) {
                *d += *s;
            }
        } else {
            for (i, s) in src.iter().enumerate() {
                dst[i * sx] += *s;
            }
        }
    });
}

/// A row-major matrix view for [`matmul`]: element (r, c) at `ptr[r * rs + c * cs]`.
#[derive(Clone, Copy)]
struct Mat<T> {
    ptr: *const T,
    len: usize,
    rs: isize,
    cs: isize,
}

impl<T: Elem> Mat<T> {
    fn rows(s: &[T], cols: usize) -> Self {
        Self {
            ptr: s.as_ptr(),
            len: s.len(),
            rs: cols as isize,
            cs: 1,
        }
    }

    /// Whether a `rows x cols` matrix at these strides lies inside the slice.
    fn holds(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * (self.rs as usize) + (cols - 1) * (self.cs as usize) < self.len
    }

    /// The transpose of a row-major matrix with `cols` columns.
    fn transposed(s: &[T], cols: usize) -> Self {
        Self {
            ptr: s.as_ptr(),
            len: s.len(),
            rs: 1,
            cs: cols as isize,
        }
    }
}

/// What a product may be written into: values, or memory not written yet (read only to
/// accumulate, which needs values).
trait Dst<T>: Send {}
impl<T: Elem> Dst<T> for T {}
impl<T: Elem> Dst<T> for MaybeUninit<T> {}

/// `dst[m x n] (+)= lhs[m x k] * rhs[k x n]` for `[m, n, k]`, `dst` row-major and dense;
/// `accumulate` adds to what `dst` holds. Without it gemm does not read `dst`, so it may be
/// memory not written yet.
fn matmul<T: Elem, D: Dst<T> + 'static>(
    dst: &mut [D],
    [m, n, k]: [usize; 3],
    lhs: Mat<T>,
    rhs: Mat<T>,
    accumulate: bool,
    par: Parallelism,
) {
    assert!(dst.len() >= m * n && lhs.holds(m, k) && rhs.holds(k, n));
    assert!(size_of::<D>() == size_of::<T>());
    assert!(!accumulate || TypeId::of::<D>() == TypeId::of::<T>());
    // SAFETY: the assertion above puts every element gemm reads (lhs, rhs) or writes (dst)
    // inside the slices the views were made from, which outlive the call.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr().cast::<T>(),
            1,
            n as isize,
            accumulate,
            lhs.ptr,
            lhs.cs,
            lhs.rs,
            rhs.ptr,
            rhs.cs,
            rhs.rs,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            par,
        );
    }
}

/// Multiply-adds below which one product is not worth handing to other threads.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// Inside a per-image parallel loop gemm runs on one thread; a single image lets gemm use all
/// of them for products of at least [`PARALLEL_MIN_MACS`].
fn inner_parallelism(g: &ConvGeom) -> Parallelism {
    let macs = g.c_out_group() * g.out_plane() * g.col_rows();
    if g.batch == 1 && macs >= PARALLEL_MIN_MACS && rayon::current_num_threads() > 1 {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    }
}

/// Runs `f(src image, dst image, col buffer)` over the images of a batch in parallel, each
/// worker with one unfolding buffer of [`ConvGeom::col_len`] values.
fn per_image<T: Elem, D: Send>(
    g: &ConvGeom,
    (src, src_image): (&[T], usize),
    (dst, dst_image): (&mut [D], usize),
    f: impl Fn(&[T], &mut [D], &mut Vec<T>) + Sync + Send,
) {
    src.par_chunks(src_image)
        .zip(dst.par_chunks_mut(dst_image))
        .for_each_init(|| vec![T::ZERO; g.col_len()], |col, (s, d)| f(s, d, col));
}

/// Forward convolution: `x` [batch, c_in, h, w], `w` [c_out, c_in/groups, kh, kw] →
/// [batch, c_out, out_h, out_w].
pub fn forward<T: Elem>(g: &ConvGeom, x: &[T], w: &[T]) -> Vec<T> {
    let (plane_in, p, k) = (g.in_h * g.in_w, g.out_plane(), g.col_rows());
    let (cig, cog) = (g.c_in_group(), g.c_out_group());
    let par = inner_parallelism(g);
    let image = |xi: &[T], yi: &mut [MaybeUninit<T>], col: &mut Vec<T>| {
        for grp in 0..g.groups {
            let xg = &xi[grp * cig * plane_in..(grp + 1) * cig * plane_in];
            let rhs = if g.reads_planes() {
                Mat::rows(xg, p)
            } else {
                im2col(g, xg, col);
                Mat::rows(col, p)
            };
            let wg = &w[grp * cog * k..(grp + 1) * cog * k];
            let yg = &mut yi[grp * cog * p..(grp + 1) * cog * p];
            matmul(yg, [cog, p, k], Mat::rows(wg, k), rhs, false, par);
        }
    };
    let fill = |y: &mut [MaybeUninit<T>]| {
        per_image(g, (x, g.c_in * plane_in), (y, g.c_out * p), image);
    };
    // SAFETY: the images and groups cover the output, and each product writes its whole block
    // (m x n = c_out_group x out_plane) without reading it.
    unsafe { written(g.output_len(), fill) }
}

/// Gradient of the loss with respect to the input, from the output gradient `dy`. With
/// [`ConvGeom::relu_input`] the caller passes the input `x` as `relu_of`, and the gradient is
/// zero where the ReLU did not pass x (burn's `relu_backward`, decided on x instead of
/// relu(x), which is positive or NaN exactly where x is).
pub fn input_grad<T: Elem>(g: &ConvGeom, w: &[T], dy: &[T], relu_of: Option<&[T]>) -> Vec<T> {
    assert_eq!(
        g.relu_input,
        relu_of.is_some(),
        "the ReLU mask needs the input"
    );
    let (plane_in, p, k) = (g.in_h * g.in_w, g.out_plane(), g.col_rows());
    let (cig, cog) = (g.c_in_group(), g.c_out_group());
    let mut dx = vec![T::ZERO; g.input_len()];
    let par = inner_parallelism(g);
    let image = |dyi: &[T], dxi: &mut [T], col: &mut Vec<T>| {
        for grp in 0..g.groups {
            let wg = &w[grp * cog * k..(grp + 1) * cog * k];
            let dyg = &dyi[grp * cog * p..(grp + 1) * cog * p];
            let dxg = &mut dxi[grp * cig * plane_in..(grp + 1) * cig * plane_in];
            // The unfolded input's gradient, written straight into dx when nothing is unfolded.
            let col_grad = |dst: &mut [T]| {
                let wt = Mat::transposed(wg, k);
                matmul(dst, [k, p, cog], wt, Mat::rows(dyg, p), false, par);
            };
            if g.is_pointwise() {
                col_grad(dxg);
            } else {
                col_grad(col);
                col2im(g, col, dxg);
            }
        }
    };
    per_image(g, (dy, g.c_out * p), (&mut dx, g.c_in * plane_in), image);
    if let Some(x) = relu_of {
        assert_eq!(x.len(), dx.len());
        let image = (g.c_in * plane_in).max(1);
        dx.par_chunks_mut(image)
            .zip(x.par_chunks(image))
            .for_each(|(d, x)| {
                for (d, &x) in d.iter_mut().zip(x) {
                    *d = if x.passes_relu() { *d } else { T::ZERO };
                }
            });
    }
    dx
}

/// Images per partial sum of the weight gradient: the partial sums are added in chunk order,
/// so the result is the same on any number of threads.
const WEIGHT_GRAD_CHUNK: usize = 8;

/// Gradient of the loss with respect to the weight: the sum over images of dy · colᵀ.
pub fn weight_grad<T: Elem>(g: &ConvGeom, x: &[T], dy: &[T]) -> Vec<T> {
    let (plane_in, p, k) = (g.in_h * g.in_w, g.out_plane(), g.col_rows());
    let (cig, cog) = (g.c_in_group(), g.c_out_group());
    let par = inner_parallelism(g);
    let chunk = |images: std::ops::Range<usize>| {
        let mut dw = vec![T::ZERO; g.weight_len()];
        let mut col = vec![T::ZERO; g.col_len()];
        for (n, i) in images.enumerate() {
            let xi = &x[i * g.c_in * plane_in..(i + 1) * g.c_in * plane_in];
            let dyi = &dy[i * g.c_out * p..(i + 1) * g.c_out * p];
            for grp in 0..g.groups {
                let xg = &xi[grp * cig * plane_in..(grp + 1) * cig * plane_in];
                let rhs = if g.reads_planes() {
                    Mat::transposed(xg, p)
                } else {
                    im2col(g, xg, &mut col);
                    Mat::transposed(&col, p)
                };
                let dyg = &dyi[grp * cog * p..(grp + 1) * cog * p];
                let dwg = &mut dw[grp * cog * k..(grp + 1) * cog * k];
                matmul(dwg, [cog, k, p], Mat::rows(dyg, p), rhs, n > 0, par);
            }
        }
        dw
    };
    let chunks: Vec<_> = (0..g.batch.div_ceil(WEIGHT_GRAD_CHUNK))
        .map(|c| c * WEIGHT_GRAD_CHUNK..((c + 1) * WEIGHT_GRAD_CHUNK).min(g.batch))
        .collect();
    let partial: Vec<Vec<T>> = chunks.into_par_iter().map(chunk).collect();
    let mut partial = partial.into_iter();
    let mut dw = partial
        .next()
        .unwrap_or_else(|| vec![T::ZERO; g.weight_len()]);
    for part in partial {
        for (a, b) in dw.iter_mut().zip(&part) {
            *a += *b;
        }
    }
    dw
}
