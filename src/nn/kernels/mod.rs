//! Kernels of our own behind burn's backend-extension traits, where burn's CPU kernels are the
//! bottleneck: the 2-D convolution (forward, input and weight gradients; depthwise ones by
//! direct accumulation) and train-mode BatchNorm (forward and backward), in float32 and
//! float64, on the flex backend. Every other backend and dtype, and asymmetric padding, falls
//! through to burn's own operation.
//!
//! The extension trait [`Kernels`] is implemented for burn's `Flex` (the kernels, `flex.rs`)
//! and for its `Autodiff` decorator (backward steps calling the gradient kernels of
//! [`KernelGrads`], `autodiff.rs`); burn's dispatch routes a call to whichever the tensor lives on.

mod autodiff;
pub mod batch_norm;
pub mod conv;
pub mod depthwise;
mod elem;
mod flex;

use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::tensor::module::BatchNormTrainOutput;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

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

/// A 2-D convolution without bias, differentiable in the input and the weight.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    if !ours(&x) {
        return burn::tensor::module::conv2d(x, weight, None, options);
    }
    let y = <Dispatch as Kernels>::fd_conv2d(x.into_dispatch(), weight.into_dispatch(), options);
    Tensor::from_dispatch(y)
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
}

/// The gradient kernels the autodiff steps call on the inner backend (never through dispatch,
/// so a plain trait).
pub trait KernelGrads: Kernels {
    /// Gradient of the convolution with respect to its input (of shape `x_shape`), given the
    /// output gradient.
    fn fd_conv2d_x_backward(
        x_shape: [usize; 4],
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self>;

    /// Gradient of the convolution with respect to its weight, given the output gradient.
    fn fd_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
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
}
