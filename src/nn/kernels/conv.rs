//! Direct NCHW float32 convolution kernels: forward, input gradient and weight gradient.
//!
//! burn's flex convolution converts every input to NHWC, builds im2col tiles in fresh buffers
//! and takes the input gradient through a transposed convolution; at the channel counts of the
//! search spaces (16 to 64) those copies and allocations cost more than the arithmetic. Here
//! the layout stays NCHW: for one image and one group the unfolded input `col` is a
//! [c_in/groups * kh * kw, out_h * out_w] matrix whose rows are shifted copies of input planes,
//! so every product is one GEMM whose result lands in place, and a 1x1 convolution with unit
//! stride and no padding needs no unfolding at all. At stride 1 with "same" padding (every
//! convolution of the two spaces but the reductions) a row of `col` is one copy of the plane,
//! shifted, with its padding columns zeroed after.
//!
//! Determinism: images are processed in parallel, but every sum over images runs in a fixed
//! order over fixed chunks, so results do not depend on the thread count or on scheduling.

use gemm::Parallelism;

use std::any::TypeId;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ops::Range;

use super::elem::{Elem, with_scratch, written};
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
    f: impl FnMut(usize, usize, Option<usize>, usize, usize, usize),
) {
    let oh = g.out_hw().expect("geometry checked by the caller")[0];
    for_each_patch_row_in(g, 0..oh, f);
}

/// [`for_each_patch_row`] for the output rows `rows` only.
fn for_each_patch_row_in(
    g: &ConvGeom,
    rows: Range<usize>,
    mut f: impl FnMut(usize, usize, Option<usize>, usize, usize, usize),
) {
    let [kh, kw] = g.kernel;
    let [oh, ow] = g.out_hw().expect("geometry checked by the caller");
    debug_assert!(rows.end <= oh);
    for ci in 0..g.c_in_group() {
        for ky in 0..kh {
            let (y_lo, y_hi) =
                valid_range(oh, g.in_h, ky, g.stride[0], g.dilation[0], g.padding[0]);
            for kx in 0..kw {
                let row = (ci * kh + ky) * kw + kx;
                let (x_lo, x_hi) =
                    valid_range(ow, g.in_w, kx, g.stride[1], g.dilation[1], g.padding[1]);
                let ix0 = (x_lo * g.stride[1] + kx * g.dilation[1]).wrapping_sub(g.padding[1]);
                for oy in rows.clone() {
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
    let oh = g.out_hw().expect("geometry checked by the caller")[0];
    im2col_rows(g, x, col, 0..oh);
}

/// [`im2col`] for the output rows `rows`: `col` is [col rows, rows.len() * out_w].
fn im2col_rows<T: Elem>(g: &ConvGeom, x: &[T], col: &mut [T], rows: Range<usize>) {
    let ow = g.out_hw().expect("geometry checked by the caller")[1];
    if g.stride == [1, 1] && ow == g.in_w {
        im2col_rows_same(g, x, col, rows)
    } else {
        im2col_rows_each(g, x, col, rows)
    }
}

/// [`im2col_rows`] for any geometry, one output row at a time.
fn im2col_rows_each<T: Elem>(g: &ConvGeom, x: &[T], col: &mut [T], rows: Range<usize>) {
    let ow = g.out_hw().expect("geometry checked by the caller")[1];
    let p = rows.len() * ow;
    let first = rows.start;
    let sx = g.stride[1];
    for_each_patch_row_in(g, rows, |row, oy, base, x_lo, x_hi, ix0| {
        let at = row * p + (oy - first) * ow;
        let dst = &mut col[at..at + ow];
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

/// [`im2col_rows`] at stride 1 with an output as wide as the input (the "same" convolutions of
/// both spaces). Output row oy and input row iy then advance together, one plane width at a
/// time, in `col` and in `x`, so a col row's valid output rows read one stretch of the input
/// plane: one copy instead of one per output row. The copy also fills the columns that lie in
/// the horizontal padding with values from the neighbouring input row; they are zeroed after.
/// The same values land in the same places as row by row.
fn im2col_rows_same<T: Elem>(g: &ConvGeom, x: &[T], col: &mut [T], rows: Range<usize>) {
    let [kh, kw] = g.kernel;
    let [oh, ow] = g.out_hw().expect("geometry checked by the caller");
    let p = rows.len() * ow;
    let plane = g.in_h * g.in_w;
    for ci in 0..g.c_in_group() {
        for ky in 0..kh {
            let (y_lo, y_hi) = valid_range(oh, g.in_h, ky, 1, g.dilation[0], g.padding[0]);
            // Valid output rows of this piece, as offsets into it.
            let end = y_hi.clamp(rows.start, rows.end);
            let (a, b) = (y_lo.clamp(rows.start, end) - rows.start, end - rows.start);
            for kx in 0..kw {
                let row = (ci * kh + ky) * kw + kx;
                let dst = &mut col[row * p..(row + 1) * p];
                let (x_lo, x_hi) = valid_range(ow, g.in_w, kx, 1, g.dilation[1], g.padding[1]);
                if a == b || x_lo == x_hi {
                    dst.fill(T::ZERO);
                    continue;
                }
                dst[..a * ow].fill(T::ZERO);
                dst[b * ow..].fill(T::ZERO);
                let iy = a + rows.start + ky * g.dilation[0] - g.padding[0];
                let ix = x_lo + kx * g.dilation[1] - g.padding[1];
                let len = (b - a - 1) * ow + (x_hi - x_lo);
                let src = &x[ci * plane + iy * g.in_w + ix..][..len];
                let stretch = &mut dst[a * ow + x_lo..][..len];
                if g.relu_input {
                    for (d, s) in stretch.iter_mut().zip(src) {
                        *d = s.relu();
                    }
                } else {
                    stretch.copy_from_slice(src);
                }
                if x_lo > 0 || x_hi < ow {
                    for out_row in dst[a * ow..b * ow].chunks_exact_mut(ow) {
                        out_row[..x_lo].fill(T::ZERO);
                        out_row[x_hi..].fill(T::ZERO);
                    }
                }
            }
        }
    }
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

/// A row-major destination for [`matmul`]: element (r, c) at `ptr[r * rs + c]`, inside `len`
/// elements.
struct Out<D> {
    ptr: *mut D,
    len: usize,
    rs: usize,
}

impl<D> Out<D> {
    /// A dense matrix with `cols` columns.
    fn rows(s: &mut [D], cols: usize) -> Self {
        Self {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            rs: cols,
        }
    }

    /// Whether a `rows x cols` matrix lies inside the memory, its rows apart.
    fn holds(&self, rows: usize, cols: usize) -> bool {
        cols <= self.rs && (rows == 0 || cols == 0 || (rows - 1) * self.rs + cols - 1 < self.len)
    }
}

/// A single image's output, written by several threads at once, each into its own columns;
/// it holds the slice's mutable borrow for as long as it lives.
struct SharedOut<'a, D> {
    ptr: *mut D,
    len: usize,
    _slice: PhantomData<&'a mut [D]>,
}

// SAFETY: the threads holding it write disjoint elements ([`SharedOut::columns`]'s contract),
// and nothing else can reach the slice while it is borrowed.
unsafe impl<D: Send> Send for SharedOut<'_, D> {}
unsafe impl<D: Send> Sync for SharedOut<'_, D> {}

impl<'a, D> SharedOut<'a, D> {
    fn new(s: &'a mut [D]) -> Self {
        Self {
            ptr: s.as_mut_ptr(),
            len: s.len(),
            _slice: PhantomData,
        }
    }

    /// The matrix from column `first` of a row-major matrix with rows of `stride` values.
    ///
    /// # Safety
    /// No other thread may write or read the elements the caller writes through it.
    unsafe fn columns(&self, first: usize, stride: usize) -> Out<D> {
        assert!(first <= self.len);
        Out {
            // SAFETY: `first` is inside the slice (checked above).
            ptr: unsafe { self.ptr.add(first) },
            len: self.len - first,
            rs: stride,
        }
    }
}

/// `dst[m x n] (+)= lhs[m x k] * rhs[k x n]` for `[m, n, k]`, `dst` row-major;
/// `accumulate` adds to what `dst` holds. Without it gemm does not read `dst`, so it may be
/// memory not written yet.
fn matmul<T: Elem, D: Dst<T> + 'static>(
    dst: Out<D>,
    [m, n, k]: [usize; 3],
    lhs: Mat<T>,
    rhs: Mat<T>,
    accumulate: bool,
    par: Parallelism,
) {
    assert!(dst.holds(m, n) && lhs.holds(m, k) && rhs.holds(k, n));
    assert!(size_of::<D>() == size_of::<T>());
    assert!(!accumulate || TypeId::of::<D>() == TypeId::of::<T>());
    // SAFETY: the assertion above puts every element gemm reads (lhs, rhs) or writes (dst)
    // inside the memory the views were made from, which outlives the call; a destination
    // shared between threads is written only at the elements its caller owns.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.ptr.cast::<T>(),
            1,
            dst.rs as isize,
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
/// of them for products of at least [`PARALLEL_MIN_MACS`] (the weight gradient, and grouped
/// convolutions, which [`image_split`] leaves whole).
fn inner_parallelism(g: &ConvGeom) -> Parallelism {
    let macs = g.c_out_group() * g.out_plane() * g.col_rows();
    if g.batch == 1 && macs >= PARALLEL_MIN_MACS && rayon::current_num_threads() > 1 {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    }
}

/// Multiply-adds from which [`image_split`] cuts a single image's product: on 2 threads a
/// SynFlow search was as fast from 32 Ki to 256 Ki, and slower from 1 Mi.
const SPLIT_MIN_MACS: usize = 1 << 18;

/// The pieces a single image's forward product and input gradient are cut into, one per
/// thread. gemm's own threads gained nothing there (a SynFlow search took 36 ms with them and
/// 37 ms without): at 16 output channels its split leaves each thread a sliver. Whole
/// products over disjoint output rows (forward) or input channels (input gradient) keep both
/// threads busy, and give the same bits: every output element is the same dot product, summed
/// in the same order where [`same_sums`] allows the cut.
fn image_split(g: &ConvGeom) -> Option<usize> {
    let threads = rayon::current_num_threads();
    let macs = g.c_out * g.out_plane() * g.col_rows();
    (g.batch == 1 && g.groups == 1 && threads > 1 && macs >= SPLIT_MIN_MACS).then_some(threads)
}

/// `len` cut into at most `parts` consecutive ranges of equal length but the last.
fn pieces(len: usize, parts: usize) -> impl Iterator<Item = Range<usize>> {
    let per = len.div_ceil(parts).max(1);
    (0..len.div_ceil(per)).map(move |i| i * per..((i + 1) * per).min(len))
}

/// Whether gemm (gemm-common 0.19's `gemm_basic`) sums every element of the `[m, n, k]`
/// products `parts` in the order it sums them in `whole`. Its microkernels block the sum over
/// k by a length that depends on k alone, except for products of at most 64 x 64, which take
/// blocks of 512 (the same when k is at most 512); a product of one row or column goes to a
/// matrix-vector kernel, and one of at most 256 elements may go to a dot-product kernel, each
/// summing in its own order. A cut is safe when every piece takes the whole product's path.
fn same_sums(whole: [usize; 3], mut parts: impl Iterator<Item = [usize; 3]>) -> bool {
    let path = |[m, n, k]: [usize; 3]| {
        let small_blocks = k > 512 && m <= 64 && n <= 64;
        (small_blocks, m <= 1, n <= 1, m * n <= 256)
    };
    parts.all(|p| path(p) == path(whole))
}

/// Output rows `rows` of one image and group's forward product: `dst` holds their columns of
/// the group's [c_out/groups, out_plane] output, `col` the unfolded input of those rows.
fn forward_rows<T: Elem, D: Dst<T> + 'static>(
    g: &ConvGeom,
    (xg, wg): (&[T], &[T]),
    rows: Range<usize>,
    dst: Out<D>,
    col: &mut Vec<T>,
    par: Parallelism,
) {
    let ow = g.out_hw().expect("geometry checked by the caller")[1];
    let (p, k) = (g.out_plane(), g.col_rows());
    let (first, n) = (rows.start * ow, rows.len() * ow);
    let rhs = if g.reads_planes() {
        Mat::rows(&xg[first..], p)
    } else {
        col.resize(k * n, T::ZERO);
        im2col_rows(g, xg, col, rows);
        Mat::rows(col, n)
    };
    matmul(
        dst,
        [g.c_out_group(), n, k],
        Mat::rows(wg, k),
        rhs,
        false,
        par,
    );
}

/// The input gradient of channels `chans` of one image and group, into `dxc` (those channels'
/// planes, zero on entry): the rows of the unfolded gradient that fold back onto them, formed
/// in `col`, or written straight into `dxc` when nothing is unfolded.
fn input_grad_channels<T: Elem>(
    g: &ConvGeom,
    (wg, dyg): (&[T], &[T]),
    chans: Range<usize>,
    dxc: &mut [T],
    col: &mut Vec<T>,
    par: Parallelism,
) {
    let (p, k) = (g.out_plane(), g.col_rows());
    let taps = g.kernel[0] * g.kernel[1];
    let rows = chans.len() * taps;
    let wt = Mat::transposed(&wg[chans.start * taps..], k);
    let dims = [rows, p, g.c_out_group()];
    if g.is_pointwise() {
        matmul(Out::rows(dxc, p), dims, wt, Mat::rows(dyg, p), false, par);
    } else {
        col.resize(rows * p, T::ZERO);
        matmul(Out::rows(col, p), dims, wt, Mat::rows(dyg, p), false, par);
        // The same geometry with `chans.len()` input channels per group, for the fold.
        let piece = ConvGeom {
            c_in: chans.len() * g.groups,
            ..*g
        };
        col2im(&piece, col, dxc);
    }
}

/// Runs `f(src image, dst image, col buffer)` over the images of a batch in parallel, with
/// the thread's scratch vector as the unfolding buffer.
fn per_image<T: Elem, D: Send>(
    (src, src_image): (&[T], usize),
    (dst, dst_image): (&mut [D], usize),
    f: impl Fn(&[T], &mut [D], &mut Vec<T>) + Sync + Send,
) {
    src.par_chunks(src_image)
        .zip(dst.par_chunks_mut(dst_image))
        .for_each(|(s, d)| with_scratch(|col| f(s, d, col)));
}

/// Forward convolution: `x` [batch, c_in, h, w], `w` [c_out, c_in/groups, kh, kw] →
/// [batch, c_out, out_h, out_w].
pub fn forward<T: Elem>(g: &ConvGeom, x: &[T], w: &[T]) -> Vec<T> {
    let (plane_in, p, k) = (g.in_h * g.in_w, g.out_plane(), g.col_rows());
    let (cig, cog) = (g.c_in_group(), g.c_out_group());
    let par = inner_parallelism(g);
    let [oh, ow] = g.out_hw().expect("geometry checked by the caller");
    let image = |xi: &[T], yi: &mut [MaybeUninit<T>], col: &mut Vec<T>| {
        for grp in 0..g.groups {
            let xg = &xi[grp * cig * plane_in..(grp + 1) * cig * plane_in];
            let wg = &w[grp * cog * k..(grp + 1) * cog * k];
            let yg = &mut yi[grp * cog * p..(grp + 1) * cog * p];
            forward_rows(g, (xg, wg), 0..oh, Out::rows(yg, p), col, par);
        }
    };
    // One image in pieces of output rows (groups == 1), each unfolding only its rows and
    // writing its columns of the output.
    let pieces_of = |parts: usize, y: &mut [MaybeUninit<T>]| {
        let y = SharedOut::new(y);
        let rows: Vec<_> = pieces(oh, parts).collect();
        rows.into_par_iter().for_each(|rows| {
            // SAFETY: the pieces' output rows, hence columns, do not overlap.
            let dst = unsafe { y.columns(rows.start * ow, p) };
            with_scratch(|col| forward_rows(g, (x, w), rows, dst, col, Parallelism::None));
        });
    };
    let split = image_split(g).filter(|&parts| {
        let piece = |rows: Range<usize>| [cog, rows.len() * ow, k];
        same_sums([cog, p, k], pieces(oh, parts).map(piece))
    });
    let fill = |y: &mut [MaybeUninit<T>]| match split {
        Some(parts) => pieces_of(parts, y),
        None => per_image((x, g.c_in * plane_in), (y, g.c_out * p), image),
    };
    // SAFETY: the images and groups (or a single image's pieces of rows) cover the output, and
    // each product writes its whole block without reading it.
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
            input_grad_channels(g, (wg, dyg), 0..cig, dxg, col, par);
        }
    };
    let split = image_split(g).filter(|&parts| {
        let piece = |chans: Range<usize>| [chans.len() * g.kernel[0] * g.kernel[1], p, cog];
        same_sums([k, p, cog], pieces(g.c_in, parts).map(piece))
    });
    match split {
        // One image in pieces of input channels (groups == 1), each folding onto its planes.
        Some(parts) => {
            let chans: Vec<_> = pieces(g.c_in, parts).collect();
            let per = chans[0].len();
            dx.par_chunks_mut((per * plane_in).max(1))
                .zip(chans)
                .for_each(|(dxc, chans)| {
                    let none = Parallelism::None;
                    with_scratch(|col| input_grad_channels(g, (w, dy), chans, dxc, col, none));
                });
        }
        None => per_image((dy, g.c_out * p), (&mut dx, g.c_in * plane_in), image),
    }
    if let Some(x) = relu_of {
        assert_eq!(x.len(), dx.len());
        // By planes, so that a single image is shared between threads too.
        let plane = plane_in.max(1);
        dx.par_chunks_mut(plane)
            .zip(x.par_chunks(plane))
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
        with_scratch(|col| {
            let mut dw = vec![T::ZERO; g.weight_len()];
            col.resize(g.col_len(), T::ZERO);
            for (n, i) in images.enumerate() {
                let xi = &x[i * g.c_in * plane_in..(i + 1) * g.c_in * plane_in];
                let dyi = &dy[i * g.c_out * p..(i + 1) * g.c_out * p];
                for grp in 0..g.groups {
                    let xg = &xi[grp * cig * plane_in..(grp + 1) * cig * plane_in];
                    let rhs = if g.reads_planes() {
                        Mat::transposed(xg, p)
                    } else {
                        im2col(g, xg, col);
                        Mat::transposed(col, p)
                    };
                    let dyg = &dyi[grp * cog * p..(grp + 1) * cog * p];
                    let dwg = &mut dw[grp * cog * k..(grp + 1) * cog * k];
                    matmul(
                        Out::rows(dwg, k),
                        [cog, k, p],
                        Mat::rows(dyg, p),
                        rhs,
                        n > 0,
                        par,
                    );
                }
            }
            dw
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-copy unfolding of "same" convolutions writes what the row-by-row one writes, over
    /// stale buffer contents, for whole planes and for pieces of rows (the batch-1 split).
    #[test]
    fn same_convolutions_unfold_as_row_by_row() {
        // (channels, h, w, kernel [h, w], padding [h, w], dilation, relu_input)
        let cases = [
            (3, 5, 5, [3, 3], [1, 1], 1, false),
            (2, 6, 4, [3, 3], [1, 1], 1, true),
            (2, 7, 7, [5, 5], [2, 2], 1, false),
            (2, 8, 8, [3, 3], [2, 2], 2, true),
            (2, 9, 9, [5, 5], [4, 4], 2, false),
            (1, 3, 1, [3, 3], [1, 1], 1, false),
            (2, 4, 4, [1, 1], [0, 0], 1, true),
            (2, 5, 6, [1, 3], [0, 1], 1, true),
            (2, 2, 2, [3, 3], [1, 1], 1, false),
            (1, 4, 3, [3, 5], [0, 2], 1, false),
        ];
        for (c, h, w, kernel, padding, dil, relu_input) in cases {
            let g = ConvGeom {
                batch: 1,
                c_in: c,
                in_h: h,
                in_w: w,
                c_out: 2,
                kernel,
                stride: [1, 1],
                padding,
                dilation: [dil, dil],
                groups: 1,
                relu_input,
            };
            let [oh, ow] = g.out_hw().expect("the kernel fits");
            assert_eq!(ow, w, "{g:?} is not a same convolution");
            let x: Vec<f64> = (0..c * h * w).map(|i| i as f64 * 0.37 - 3.0).collect();
            for rows in [0..oh, 0..oh / 2, oh / 2..oh, oh.min(1)..oh] {
                let n = g.col_rows() * rows.len() * ow;
                let (mut one_copy, mut each_row) = (vec![f64::NAN; n], vec![9.0; n]);
                im2col_rows_same(&g, &x, &mut one_copy, rows.clone());
                im2col_rows_each(&g, &x, &mut each_row, rows.clone());
                let (a, b): (Vec<u64>, Vec<u64>) = (
                    one_copy.iter().map(|v| v.to_bits()).collect(),
                    each_row.iter().map(|v| v.to_bits()).collect(),
                );
                assert_eq!(a, b, "{g:?}, output rows {rows:?}");
            }
        }
    }
}
