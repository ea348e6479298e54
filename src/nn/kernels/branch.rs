//! The 1x1 branches of a supernet node as one operation that keeps nothing of its own: a 1x1
//! convolution of relu(x), train-mode BatchNorm without affine parameters, and each out-edge's
//! block scaled by its alpha entry ([`super::scaled_conv_bn`]).
//!
//! The backward pass needs the normalised map twice: for alpha's gradient (its dot product
//! with the output gradient) and for BatchNorm's backward step. Kept, it is a map per
//! out-edge for the whole pass. Here it is recomputed from x, which the cell keeps anyway: the
//! same convolution, statistics and normalisation kernels on the same values give the same
//! bits, and a 1x1 convolution costs a ninth of the 3x3 ones beside it.
//!
//! Every result is the one the separate operations give to the bit: the forward blocks are
//! the products `xhat * w` the weighted sum would form, alpha's gradient is the weighted sum's
//! float64 dot product, and the map's gradient is `dy * w`, with a negative zero turned
//! positive where burn would have summed the zero-padded gradients of several out-edges.

use super::batch_norm::{self, BnGeom};
use super::conv::{self, ConvGeom};
use super::elem::Elem;
use super::mix::{self, MixGeom, Term};

/// The shapes of one call: the convolution (1x1, stride 1, no padding) and the blocks.
#[derive(Clone, Copy, Debug)]
pub struct BranchGeom {
    pub conv: ConvGeom,
    /// Channels of one block; the output has `conv.c_out / block` blocks.
    pub block: usize,
}

impl BranchGeom {
    fn bn(&self) -> BnGeom {
        BnGeom {
            batch: self.conv.batch,
            channels: self.conv.c_out,
            plane: self.conv.in_h * self.conv.in_w,
        }
    }

    fn blocks(&self) -> usize {
        self.conv.c_out / self.block
    }

    /// The rows (image, channel) of one block, as the weighted sum lays out its output.
    fn mix(&self) -> MixGeom {
        MixGeom {
            batch: self.conv.batch,
            channels: self.block,
            plane: self.conv.in_h * self.conv.in_w,
        }
    }

    /// Block of output channel `c`.
    fn block_of(&self, c: usize) -> usize {
        (c % self.conv.c_out) / self.block
    }
}

/// The normalised map of `conv(input)` and the biased batch variance (BatchNorm with gamma 1
/// and beta 0, as the layer without affine parameters calls it).
fn normalised<T: Elem>(g: &BranchGeom, input: &[T], w: &[T], eps: f64) -> (Vec<T>, Vec<T>, Vec<T>) {
    let y = conv::forward(&g.conv, input, w);
    let bn = g.bn();
    let (ones, zeros) = (vec![T::ONE; bn.channels], vec![T::ZERO; bn.channels]);
    let n = batch_norm::normaliser(&bn, &y, &ones, &zeros, eps);
    let xhat = batch_norm::normalise(&bn, &y, &n.affine);
    (xhat, n.mean, n.variance)
}

/// Forward: the scaled blocks, the batch mean and the biased batch variance. `relu_x` is
/// relu(x); `scales` holds one weight per block.
pub fn forward<T: Elem>(
    g: &BranchGeom,
    relu_x: &[T],
    w: &[T],
    scales: &[T],
    eps: f64,
) -> (Vec<T>, Vec<T>, Vec<T>) {
    assert!(!g.conv.relu_input && scales.len() == g.blocks());
    let (mut out, mean, variance) = normalised(g, relu_x, w, eps);
    let plane = g.bn().plane;
    for (r, row) in out.chunks_mut(plane).enumerate() {
        let s = scales[g.block_of(r)];
        for v in row {
            *v = *v * s;
        }
    }
    (out, mean, variance)
}

/// Backward from the output gradient `dy`: (gradient of relu(x), one float64 dot product per
/// block for its alpha entry). `x` is the input before the ReLU.
pub fn backward<T: Elem>(
    g: &BranchGeom,
    x: &[T],
    w: &[T],
    scales: &[T],
    dy: &[T],
    eps: f64,
) -> (Vec<T>, Vec<f64>) {
    let relu = BranchGeom {
        conv: ConvGeom {
            relu_input: true,
            ..g.conv
        },
        ..*g
    };
    let (xhat, _, variance) = normalised(&relu, x, w, eps);
    let (c, mg) = (g.conv.c_out, g.mix());
    let term = |values, k: usize| Term {
        values,
        channels: c,
        offset: k * g.block,
        weight: T::ONE,
        pooled: None,
    };
    let dots = (0..g.blocks())
        .map(|k| mix::weight_grad(&mg, &term(dy, k), &term(&xhat, k)))
        .collect();
    // burn summed the zero-padded gradients of the out-edges, which turns -0 into +0.
    let summed = g.blocks() > 1;
    let plane = g.bn().plane;
    let mut dxhat = dy.to_vec();
    for (r, row) in dxhat.chunks_mut(plane).enumerate() {
        let s = scales[g.block_of(r)];
        for v in row {
            *v = if summed { *v * s + T::ZERO } else { *v * s };
        }
    }
    let dconv = batch_norm::backward_from_output(&g.bn(), &xhat, &variance, &dxhat, eps);
    (conv::input_grad(&g.conv, w, &dconv, None), dots)
}
