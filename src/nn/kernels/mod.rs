//! Kernels of our own behind burn's backend-extension traits, where burn's CPU kernels are the
//! bottleneck: the 2-D convolution (forward, input and weight gradients; depthwise ones by
//! direct accumulation), train-mode BatchNorm (forward and backward), the weighted sum of a
//! mixed edge and 3x3 average pooling, in float32 and float64, on the flex backend. Every other
//! backend and dtype, and asymmetric padding, falls through to burn's own operations.
//!
//! The extension trait [`Kernels`] is implemented for burn's `Flex` (the kernels, `flex.rs`)
//! and for its `Autodiff` decorator (backward steps calling the gradient kernels of
//! [`KernelGrads`], `autodiff.rs`); burn's dispatch routes a call to whichever the tensor lives on.

mod autodiff;
pub mod batch_norm;
pub mod branch;
pub mod conv;
pub mod depthwise;
mod elem;
mod flex;
pub mod mix;
pub mod pool;

use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, TensorMetadata, backend_extension};
use burn::tensor::module::BatchNormTrainOutput;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Slice, Tensor};

/// Whether the wrappers below use the kernels of this module on the CPU (the default) or
/// burn's operations.
static OWN_KERNELS: AtomicBool = AtomicBool::new(true);

/// Chooses the kernels for the flex backend: ours (`true`, the default) or burn's. For
/// benchmarks that compare the two in one process; results agree to rounding.
pub fn use_own_kernels(own: bool) {
    OWN_KERNELS.store(own, Ordering::Relaxed);
}

/// Whether the wrappers currently use the kernels of this module on the CPU.
pub fn own_kernels() -> bool {
    OWN_KERNELS.load(Ordering::Relaxed)
}

fn ours(x: &Tensor<4>) -> bool {
    own_kernels() && x.device() == Device::flex()
}

/// Whether the kernels of this module serve operations on `x` (the flex backend, not switched
/// off); the element type is checked per call.
pub fn serves(x: &Tensor<4>) -> bool {
    ours(x)
}

/// A 2-D convolution without bias, differentiable in the input and the weight.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    if !ours(&x) {
        return burn::tensor::module::conv2d(x, weight, None, options);
    }
    let y = <Dispatch as Kernels>::fd_conv2d(x.into_dispatch(), weight.into_dispatch(), options);
    Tensor::from_dispatch(y)
}

/// `conv2d(relu(x), weight)` without storing relu(x): the ReLU is applied as the input is
/// unfolded, and its gradient mask is taken from x, which the backward pass keeps instead
/// (in a cell, x is a node that other ops keep anyway). `None` where these kernels do not
/// serve the tensor.
pub fn relu_conv2d(x: &Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Option<Tensor<4>> {
    if !ours(x) {
        return None;
    }
    let y = <Dispatch as Kernels>::fd_relu_conv2d(
        x.clone().into_dispatch(),
        weight.into_dispatch(),
        options,
    );
    Some(Tensor::from_dispatch(y))
}

/// Train-mode BatchNorm with the batch's own statistics, differentiable in the input, gamma and
/// beta; `None` where these kernels do not serve the tensor (another backend, or switched off).
/// `affine = false` promises gamma = 1 and beta = 0 (see [`Kernels::fd_batch_norm_train`]).
pub fn batch_norm_train(
    x: &Tensor<4>,
    gamma: &Tensor<1>,
    beta: &Tensor<1>,
    epsilon: f64,
    affine: bool,
) -> Option<BatchNormTrainOutput<4>> {
    if !ours(x) {
        return None;
    }
    let (output, mean, variance) = <Dispatch as Kernels>::fd_batch_norm_train(
        x.clone().into_dispatch(),
        gamma.clone().into_dispatch(),
        beta.clone().into_dispatch(),
        epsilon,
        affine,
    );
    Some(BatchNormTrainOutput {
        output: Tensor::from_dispatch(output),
        mean: Tensor::from_dispatch(mean),
        variance: Tensor::from_dispatch(variance),
    })
}

/// 3x3 average pooling, stride 1, padding 1, the padding left out of the count; `None` where
/// these kernels do not serve the tensor.
pub fn avg_pool_3x3_same(x: &Tensor<4>) -> Option<Tensor<4>> {
    if !ours(x) {
        return None;
    }
    let y = <Dispatch as Kernels>::fd_avg_pool_3x3_same(x.clone().into_dispatch());
    Some(Tensor::from_dispatch(y))
}

/// Most terms one [`mix()`] call takes through the kernel: the DARTS space's seven parametrised
/// candidates and one spare. Longer sums take burn's operations.
pub const MIX_TERMS: usize = 8;

/// Where one term of a [`mix()`] reads (its channel block starts at `offset`) and which entry
/// `[row, col]` of the weight matrix scales it.
///
/// `pool_of: Some(s)` promises that this term is the 3x3 average pooling (stride 1, padding
/// outside the count, [`avg_pool_3x3_same`]) of term `s`'s block, which is itself not pooled.
/// The kernel then does not keep the pooled map for the weights' gradient: it recomputes each
/// plane from term `s`, which the backward pass keeps anyway, to the same bits. In a supernet
/// cell that frees one map per node. The fallback through burn's operations ignores it.
///
/// `preweighted` promises that the block already holds `weights[row, col]` times the term
/// ([`scaled_conv_bn`]): it is added as it is, its gradient is the output gradient, it is not
/// kept, and the weight's gradient is left to the operation that scaled it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MixSlot {
    pub offset: usize,
    pub row: usize,
    pub col: usize,
    pub pool_of: Option<usize>,
    pub preweighted: bool,
}

/// A [`mix()`] apart from its tensors: the output's channel count, whether an accumulator is
/// added, and one slot per term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MixLayout {
    pub channels: usize,
    pub accumulate: bool,
    pub slots: Vec<MixSlot>,
}

/// One term of a [`mix()`].
#[derive(Clone, Debug)]
pub struct MixTerm {
    pub tensor: Tensor<4>,
    pub slot: MixSlot,
}

/// `acc + sum_t weights[t.row, t.col] * t.tensor[:, t.offset..t.offset + channels]`: the
/// weighted sum of a mixed edge, differentiable in every tensor and in the weights. The terms
/// are summed in their order and `acc` is added last, as the composite of slices, products and
/// sums would; on the CPU this is one kernel (module [`mix`](mod@self::mix)).
pub fn mix(
    acc: Option<Tensor<4>>,
    weights: &Tensor<2>,
    terms: Vec<MixTerm>,
    channels: usize,
) -> Tensor<4> {
    assert!(!terms.is_empty(), "a weighted sum needs at least one term");
    if terms.len() > MIX_TERMS || !ours(&terms[0].tensor) {
        return mix_composite(acc, weights, terms, channels);
    }
    let layout = MixLayout {
        channels,
        accumulate: acc.is_some(),
        slots: terms.iter().map(|t| t.slot).collect(),
    };
    // Unused tensor arguments: an untracked view of the weights, which the kernels never read.
    let filler = || weights.clone().detach().into_dispatch();
    let mut tensors: Vec<_> = terms
        .into_iter()
        .map(|t| t.tensor.into_dispatch())
        .collect();
    tensors.resize_with(MIX_TERMS, filler);
    let [t0, t1, t2, t3, t4, t5, t6, t7] = tensors
        .try_into()
        .unwrap_or_else(|_| unreachable!("resized to MIX_TERMS"));
    let acc = acc.map_or_else(filler, |a| a.into_dispatch());
    Tensor::from_dispatch(<Dispatch as Kernels>::fd_mix(
        weights.clone().into_dispatch(),
        acc,
        t0,
        t1,
        t2,
        t3,
        t4,
        t5,
        t6,
        t7,
        layout,
    ))
}

/// [`mix()`] through burn's operations (other backends, or more terms than the kernel takes).
pub fn mix_composite(
    acc: Option<Tensor<4>>,
    weights: &Tensor<2>,
    terms: Vec<MixTerm>,
    channels: usize,
) -> Tensor<4> {
    let layout = MixLayout {
        channels,
        accumulate: acc.is_some(),
        slots: terms.iter().map(|t| t.slot).collect(),
    };
    Tensor::from_dispatch(mix_of_operations::<Dispatch>(
        weights.clone().into_dispatch(),
        acc.map(Tensor::into_dispatch),
        terms.into_iter().map(|t| t.tensor.into_dispatch()),
        &layout,
    ))
}

/// The weighted sum through a backend's own operations, in the kernel's order: the default
/// body of [`Kernels::fd_mix`], the flex and autodiff fallback for what the kernel does not
/// take, and [`mix_composite`] (on the dispatch backend). The terms past `layout.slots` are
/// ignored.
fn mix_of_operations<B: Backend>(
    weights: FloatTensor<B>,
    acc: Option<FloatTensor<B>>,
    terms: impl IntoIterator<Item = FloatTensor<B>>,
    layout: &MixLayout,
) -> FloatTensor<B> {
    let c = layout.channels;
    let sum = terms
        .into_iter()
        .zip(&layout.slots)
        .map(|(t, slot)| {
            let s = t.shape();
            let block = if slot.offset == 0 && s[1] == c {
                t
            } else {
                B::float_slice(
                    t,
                    &[
                        Slice::from(0..s[0]),
                        Slice::from(slot.offset..slot.offset + c),
                        Slice::from(0..s[2]),
                        Slice::from(0..s[3]),
                    ],
                )
            };
            if slot.preweighted {
                return block;
            }
            let weight = B::float_slice(
                weights.clone(),
                &[
                    Slice::from(slot.row..slot.row + 1),
                    Slice::from(slot.col..slot.col + 1),
                ],
            );
            B::float_mul(block, B::float_reshape(weight, [1, 1, 1, 1].into()))
        })
        .reduce(B::float_add)
        .expect("a weighted sum needs at least one term");
    match acc {
        Some(acc) => B::float_add(acc, sum),
        None => sum,
    }
}

/// The blocks of a [`scaled_conv_bn`]: each `channels` wide, block `k` scaled by
/// `weights[blocks[k]]` (row, column); BatchNorm's epsilon.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaledBlocks {
    pub channels: usize,
    pub blocks: Vec<(usize, usize)>,
    pub epsilon: f64,
}

/// `w[b] * BN(conv2d(relu_x, weight))` block by block (BatchNorm in train mode without affine
/// parameters, block `b` scaled by `weights[layout.blocks[b]]`): the convolutions of one
/// node's out-edges that [`mix()`] adds as [`MixSlot::preweighted`] terms. Returns the
/// scaled blocks, the batch mean and the biased batch variance.
///
/// What it saves: the normalised map, which alpha's gradient and BatchNorm's backward step
/// read, is not kept; the backward step recomputes it from `x` (relu(x) = `relu_x`, which is
/// not kept either) with the same kernels and the same bits. In an NB201 supernet cell that
/// frees six of the fifteen maps of the alpha-only passes. `weight` must be constant (no
/// gradient is taken for it). `None` where these kernels do not serve the tensors.
pub fn scaled_conv_bn(
    relu_x: &Tensor<4>,
    x: &Tensor<4>,
    weight: Tensor<4>,
    weights: &Tensor<2>,
    layout: ScaledBlocks,
) -> Option<BatchNormTrainOutput<4>> {
    if !ours(x) || weight.is_require_grad() {
        return None;
    }
    let (output, mean, variance) = <Dispatch as Kernels>::fd_scaled_conv_bn(
        relu_x.clone().into_dispatch(),
        x.clone().into_dispatch(),
        weight.into_dispatch(),
        weights.clone().into_dispatch(),
        layout,
    );
    Some(BatchNormTrainOutput {
        output: Tensor::from_dispatch(output),
        mean: Tensor::from_dispatch(mean),
        variance: Tensor::from_dispatch(variance),
    })
}

/// [`scaled_conv_bn`] through a backend's own operations (the default body of
/// [`Kernels::fd_scaled_conv_bn`]).
fn scaled_conv_bn_of_operations<B: Kernels>(
    relu_x: FloatTensor<B>,
    weight: FloatTensor<B>,
    weights: FloatTensor<B>,
    layout: &ScaledBlocks,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let y = B::fd_conv2d(relu_x, weight, ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
    let s = y.shape();
    let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
    let ones = B::float_ones([c].into(), &y.device(), y.dtype().into());
    let zeros = B::float_zeros([c].into(), &y.device(), y.dtype().into());
    let (xhat, mean, variance) = B::fd_batch_norm_train(y, ones, zeros, layout.epsilon, false);
    let blocks = layout
        .blocks
        .iter()
        .enumerate()
        .map(|(k, &(row, col))| {
            let block = B::float_slice(
                xhat.clone(),
                &[
                    Slice::from(0..n),
                    Slice::from(k * layout.channels..(k + 1) * layout.channels),
                    Slice::from(0..h),
                    Slice::from(0..w),
                ],
            );
            let weight = B::float_slice(
                weights.clone(),
                &[Slice::from(row..row + 1), Slice::from(col..col + 1)],
            );
            B::float_mul(block, B::float_reshape(weight, [1, 1, 1, 1].into()))
        })
        .collect();
    (B::float_cat(blocks, 1), mean, variance)
}

/// The kernels as a backend extension. The default bodies are burn's own operations, so a
/// backend implements only what it accelerates.
#[backend_extension(Flex, Autodiff)]
pub trait Kernels: Backend {
    /// Forward convolution without bias.
    fn fd_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// Forward convolution without bias of relu(x) (burn's `relu`), which the kernel does not
    /// store: the backward pass masks by x itself, kept anyway by the input's other readers.
    fn fd_relu_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(Self::relu(x), weight, None, options)
    }

    /// Train-mode BatchNorm: (output, batch mean, biased batch variance). `affine = false`
    /// promises gamma = 1 and beta = 0, so the output is the normalised input and the backward
    /// pass can work from it alone: the input is then not kept.
    fn fd_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        affine: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let _ = affine;
        let r = Self::batch_norm_train(x, gamma, beta, epsilon);
        (r.output, r.mean, r.variance)
    }

    /// 3x3 average pooling, stride 1, padding 1, the padding left out of the count.
    fn fd_avg_pool_3x3_same(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::avg_pool2d(x, [3, 3], [1, 1], [1, 1], false, false)
    }

    /// The weighted sum of [`mix()`]: `layout.slots[k]` places term `t_k` (the terms past the
    /// slots are fillers and unread), `acc` is added when `layout.accumulate`.
    #[allow(clippy::too_many_arguments)]
    fn fd_mix(
        weights: FloatTensor<Self>,
        acc: FloatTensor<Self>,
        t0: FloatTensor<Self>,
        t1: FloatTensor<Self>,
        t2: FloatTensor<Self>,
        t3: FloatTensor<Self>,
        t4: FloatTensor<Self>,
        t5: FloatTensor<Self>,
        t6: FloatTensor<Self>,
        t7: FloatTensor<Self>,
        layout: MixLayout,
    ) -> FloatTensor<Self> {
        let acc = layout.accumulate.then_some(acc);
        mix_of_operations::<Self>(weights, acc, [t0, t1, t2, t3, t4, t5, t6, t7], &layout)
    }

    /// [`scaled_conv_bn`]: a 1x1 convolution of `relu_x` (= relu(`x`)), train-mode
    /// BatchNorm without affine parameters, blocks scaled by entries of `weights`.
    fn fd_scaled_conv_bn(
        relu_x: FloatTensor<Self>,
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        layout: ScaledBlocks,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let _ = x;
        scaled_conv_bn_of_operations::<Self>(relu_x, weight, weights, &layout)
    }
}

/// The gradient kernels the autodiff steps call on the inner backend (never through dispatch,
/// so a plain trait).
pub trait KernelGrads: Kernels {
    /// Gradient of the convolution with respect to its input (of shape `x_shape`), given the
    /// output gradient; `relu_of: Some(x)` for [`Kernels::fd_relu_conv2d`] of that x (the
    /// gradient with respect to x, through the ReLU).
    fn fd_conv2d_x_backward(
        x_shape: [usize; 4],
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
        relu_of: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self>;

    /// Gradient of the convolution with respect to its weight, given the output gradient;
    /// `relu_input` for [`Kernels::fd_relu_conv2d`] of `x`.
    fn fd_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
        relu_input: bool,
    ) -> FloatTensor<Self>;

    /// Gradients of train-mode BatchNorm with respect to (input, gamma, beta), given the
    /// statistics the forward pass returned and the output gradient.
    fn fd_batch_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// Gradient of BatchNorm without affine parameters with respect to its input, from its
    /// output (the normalised input) and the batch variance.
    fn fd_batch_norm_backward_from_output(
        output: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        output_grad: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// Gradients of [`Kernels::fd_scaled_conv_bn`] with respect to `relu_x` and the weight
    /// matrix, given its output gradient, recomputing the forward pass from `x`.
    fn fd_scaled_conv_bn_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        layout: &ScaledBlocks,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// Whether [`Kernels::fd_scaled_conv_bn`] of this backend computes this call itself (and
    /// so [`KernelGrads::fd_scaled_conv_bn_backward`] applies).
    fn fd_scaled_conv_bn_takes(
        x: &FloatTensor<Self>,
        weight: &FloatTensor<Self>,
        weights: &FloatTensor<Self>,
        layout: &ScaledBlocks,
    ) -> bool;

    /// Gradient of [`Kernels::fd_avg_pool_3x3_same`] with respect to its input.
    fn fd_avg_pool_3x3_same_backward(output_grad: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Whether [`Kernels::fd_mix`] of this backend computes this call itself (and so these
    /// gradient kernels apply) rather than through the backend's operations.
    fn fd_mix_takes(
        weights: &FloatTensor<Self>,
        acc: &FloatTensor<Self>,
        terms: &[&FloatTensor<Self>],
        layout: &MixLayout,
    ) -> bool;

    /// Gradient of [`Kernels::fd_mix`] with respect to the whole tensor of one term (of shape
    /// `term_shape`): the output gradient times the term's weight in its channel block, zero
    /// elsewhere.
    fn fd_mix_term_grad(
        output_grad: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        slot: MixSlot,
        term_shape: [usize; 4],
    ) -> FloatTensor<Self>;

    /// Gradient of [`Kernels::fd_mix`] with respect to the weight matrix (of shape
    /// `weights_shape`): the sum of output gradient times term over each term's block, at the
    /// term's slot. A slot with [`MixSlot::pool_of`] is given its source term's tensor.
    fn fd_mix_weights_grad(
        output_grad: FloatTensor<Self>,
        terms: Vec<FloatTensor<Self>>,
        layout: &MixLayout,
        weights_shape: [usize; 2],
    ) -> FloatTensor<Self>;
}
