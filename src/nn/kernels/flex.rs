//! The [`Kernels`] of the flex backend: float32 convolutions (depthwise ones by direct
//! accumulation, the others through GEMM) and train-mode BatchNorm on 4-D float32 batches;
//! anything else goes to burn's operation.

use std::borrow::Cow;

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, TensorData};

use super::batch_norm::{self, BnGeom};
use super::conv::{self, ConvGeom};
use super::depthwise;
use super::{KernelGrads, Kernels};

/// The geometry of a convolution our kernels take: float32 with symmetric padding. `None`
/// sends the call to burn's operation.
fn conv_geometry(
    x: &FlexTensor,
    weight: &FlexTensor,
    options: &ConvOptions<2>,
) -> Option<ConvGeom> {
    let (xs, ws) = (x.layout().shape(), weight.layout().shape());
    if x.dtype() != DType::F32
        || weight.dtype() != DType::F32
        || xs.num_dims() != 4
        || ws.num_dims() != 4
    {
        return None;
    }
    let g = ConvGeom {
        batch: xs[0],
        c_in: xs[1],
        in_h: xs[2],
        in_w: xs[3],
        c_out: ws[0],
        kernel: [ws[2], ws[3]],
        stride: options.stride,
        padding: options.padding_begin(),
        dilation: options.dilation,
        groups: options.groups,
    };
    let consistent = g.groups > 0
        && g.c_in.is_multiple_of(g.groups)
        && g.c_out.is_multiple_of(g.groups)
        && ws[1] * g.groups == g.c_in
        && g.stride.iter().all(|&s| s > 0)
        && g.dilation.iter().all(|&d| d > 0)
        && g.kernel.iter().all(|&k| k > 0)
        && g.out_hw().is_some_and(|[h, w]| h > 0 && w > 0);
    (consistent && !options.is_asymmetric()).then_some(g)
}

/// The layout of a 4-D float32 batch whose per-channel tensors are float32 with one value per
/// channel.
fn bn_geometry(x: &FlexTensor, per_channel: &[&FlexTensor]) -> Option<BnGeom> {
    let xs = x.layout().shape();
    if x.dtype() != DType::F32 || xs.num_dims() != 4 || xs.num_elements() == 0 {
        return None;
    }
    let fits = |t: &&FlexTensor| t.dtype() == DType::F32 && t.layout().num_elements() == xs[1];
    per_channel.iter().all(fits).then_some(BnGeom {
        batch: xs[0],
        channels: xs[1],
        plane: xs[2] * xs[3],
    })
}

/// The float32 elements of a tensor in row-major order (a copy only when it is strided).
fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => s.into(),
        None => t.to_contiguous().storage::<f32>().to_vec().into(),
    }
}

fn tensor<const D: usize>(data: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

fn shape4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

impl Kernels for Flex {
    fn fd_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        let Some(g) = conv_geometry(&x, &weight, &options) else {
            return Self::conv2d(x, weight, None, options);
        };
        let [oh, ow] = g.out_hw().expect("checked in conv_geometry");
        let forward = if g.is_depthwise() {
            depthwise::forward
        } else {
            conv::forward
        };
        let y = forward(&g, &values(&x), &values(&weight));
        tensor(y, [g.batch, g.c_out, oh, ow])
    }

    fn fd_batch_norm_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        _affine: bool,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let Some(g) = bn_geometry(&x, &[&gamma, &beta]) else {
            let r = Self::batch_norm_train(x, gamma, beta, epsilon);
            return (r.output, r.mean, r.variance);
        };
        let (y, mean, variance) =
            batch_norm::forward(&g, &values(&x), &values(&gamma), &values(&beta), epsilon);
        (
            tensor(y, shape4(&x)),
            tensor(mean, [g.channels]),
            tensor(variance, [g.channels]),
        )
    }
}

impl KernelGrads for Flex {
    fn fd_conv2d_x_backward(
        x_shape: [usize; 4],
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        // burn's gradient reads only the shape of the input, so an uninitialised one serves.
        let x = FlexTensor::empty(x_shape.into(), weight.dtype());
        let Some(g) = conv_geometry(&x, &weight, &options) else {
            return Self::conv2d_x_backward(x, weight, output_grad, options);
        };
        let input_grad = if g.is_depthwise() {
            depthwise::input_grad
        } else {
            conv::input_grad
        };
        let dx = input_grad(&g, &values(&weight), &values(&output_grad));
        tensor(dx, [g.batch, g.c_in, g.in_h, g.in_w])
    }

    fn fd_conv2d_weight_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(g) = conv_geometry(&x, &weight, &options) else {
            return Self::conv2d_weight_backward(x, weight, output_grad, options);
        };
        let weight_grad = if g.is_depthwise() {
            depthwise::weight_grad
        } else {
            conv::weight_grad
        };
        let dw = weight_grad(&g, &values(&x), &values(&output_grad));
        tensor(dw, shape4(&weight))
    }

    fn fd_batch_norm_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        output_grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let Some(g) = bn_geometry(&x, &[&gamma, &mean, &variance]) else {
            let r = Self::batch_norm_train_backward(x, gamma, mean, variance, epsilon, output_grad);
            return (r.x_grad, r.gamma_grad, r.beta_grad);
        };
        let (dx, dgamma, dbeta) = batch_norm::backward(
            &g,
            &values(&x),
            &values(&gamma),
            &values(&output_grad),
            epsilon,
        );
        (
            tensor(dx, shape4(&x)),
            tensor(dgamma, [g.channels]),
            tensor(dbeta, [g.channels]),
        )
    }

    fn fd_batch_norm_backward_from_output(
        output: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        output_grad: FlexTensor,
    ) -> FlexTensor {
        let Some(g) = bn_geometry(&output, &[&variance]) else {
            // burn's backward with mean 0, gamma 1 and the output as input, rescaled: the
            // normalised input is the output, so only the 1/sqrt(var + eps) factor differs.
            let shape = output.layout().shape().clone();
            let c = shape[1];
            let ones = Flex::float_ones([c].into(), &Default::default(), output.dtype().into());
            let zeros = Flex::float_zeros([c].into(), &Default::default(), output.dtype().into());
            let unit_var = Flex::float_sub_scalar(ones.clone(), epsilon.into());
            let r = Self::batch_norm_train_backward(
                output,
                ones,
                zeros,
                unit_var,
                epsilon,
                output_grad,
            );
            let inv_std = Flex::float_recip(Flex::float_sqrt(Flex::float_add_scalar(
                variance,
                epsilon.into(),
            )));
            let inv_std = Flex::float_reshape(inv_std, [1, c, 1, 1].into());
            return Flex::float_mul(r.x_grad, inv_std);
        };
        let dx = batch_norm::backward_from_output(
            &g,
            &values(&output),
            &values(&variance),
            &values(&output_grad),
            epsilon,
        );
        tensor(dx, shape4(&output))
    }
}
