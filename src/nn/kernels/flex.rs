//! The [`Kernels`] of the flex backend: float32 and float64 convolutions (depthwise ones by
//! direct accumulation, the others through GEMM) and train-mode BatchNorm on 4-D batches;
//! anything else goes to burn's operation.

use std::borrow::Cow;

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ActivationOps, FloatTensorOps, ModuleOps};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, TensorData};

use super::batch_norm::{self, BnGeom};
use super::branch::{self, BranchGeom};
use super::conv::{self, ConvGeom};
use super::depthwise;
use super::elem::Elem;
use super::mix::{self, MixGeom};
use super::pool;
use super::{
    KernelGrads, Kernels, MIX_TERMS, MixLayout, MixSlot, ScaledBlocks, mix_of_operations,
    scaled_conv_bn_of_operations,
};

/// The element types the kernels serve.
fn ours(dtype: DType) -> bool {
    matches!(dtype, DType::F32 | DType::F64)
}

/// The geometry of a convolution our kernels take: float32 or float64 input and weight of the
/// same type, symmetric padding; with `relu_input`, not depthwise. `None` sends the call to
/// burn's operations.
fn conv_geometry(
    xs: [usize; 4],
    weight: &FlexTensor,
    dtype: DType,
    options: &ConvOptions<2>,
    relu_input: bool,
) -> Option<ConvGeom> {
    let ws = weight.layout().shape();
    if !ours(dtype) || weight.dtype() != dtype || ws.num_dims() != 4 {
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
        relu_input,
    };
    let consistent = g.groups > 0
        && g.c_in.is_multiple_of(g.groups)
        && g.c_out.is_multiple_of(g.groups)
        && ws[1] * g.groups == g.c_in
        && g.stride.iter().all(|&s| s > 0)
        && g.dilation.iter().all(|&d| d > 0)
        && g.kernel.iter().all(|&k| k > 0)
        && g.out_hw().is_some_and(|[h, w]| h > 0 && w > 0);
    let served = !(relu_input && g.is_depthwise());
    (consistent && served && !options.is_asymmetric()).then_some(g)
}

/// The layout of a 4-D batch whose per-channel tensors have its element type and one value
/// per channel.
fn bn_geometry(x: &FlexTensor, per_channel: &[&FlexTensor]) -> Option<BnGeom> {
    let xs = x.layout().shape();
    if !ours(x.dtype()) || xs.num_dims() != 4 || xs.num_elements() == 0 {
        return None;
    }
    let fits = |t: &&FlexTensor| t.dtype() == x.dtype() && t.layout().num_elements() == xs[1];
    per_channel.iter().all(fits).then_some(BnGeom {
        batch: xs[0],
        channels: xs[1],
        plane: xs[2] * xs[3],
    })
}

/// The elements of a tensor in row-major order (a copy only when it is strided).
fn values<T: Elem>(t: &FlexTensor) -> Cow<'_, [T]> {
    match t.as_slice::<T>() {
        Some(s) => s.into(),
        None => t.to_contiguous().storage::<T>().to_vec().into(),
    }
}

fn tensor<T: Elem, const D: usize>(data: Vec<T>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

fn shape4(t: &FlexTensor) -> [usize; 4] {
    let s = t.layout().shape();
    [s[0], s[1], s[2], s[3]]
}

/// Calls `$f::<f32>` or `$f::<f64>` by the element type `$dtype` (one of [`ours`]).
macro_rules! by_dtype {
    ($dtype:expr, $f:ident($($arg:expr),*)) => {
        match $dtype {
            DType::F64 => $f::<f64>($($arg),*),
            _ => $f::<f32>($($arg),*),
        }
    };
}

fn conv_forward<T: Elem>(g: &ConvGeom, x: &FlexTensor, w: &FlexTensor) -> FlexTensor {
    let [oh, ow] = g.out_hw().expect("checked in conv_geometry");
    let forward = if g.is_depthwise() {
        depthwise::forward
    } else {
        conv::forward
    };
    tensor(
        forward(g, &values::<T>(x), &values::<T>(w)),
        [g.batch, g.c_out, oh, ow],
    )
}

/// `relu_of`: the input, for a convolution of its ReLU ([`ConvGeom::relu_input`]).
fn conv_input_grad<T: Elem>(
    g: &ConvGeom,
    w: &FlexTensor,
    dy: &FlexTensor,
    relu_of: Option<&FlexTensor>,
) -> FlexTensor {
    let (w, dy) = (values::<T>(w), values::<T>(dy));
    let dx = if g.is_depthwise() {
        depthwise::input_grad(g, &w, &dy)
    } else {
        let x = relu_of.map(values::<T>);
        conv::input_grad(g, &w, &dy, x.as_deref())
    };
    tensor(dx, [g.batch, g.c_in, g.in_h, g.in_w])
}

fn conv_weight_grad<T: Elem>(
    g: &ConvGeom,
    x: &FlexTensor,
    dy: &FlexTensor,
    w_shape: [usize; 4],
) -> FlexTensor {
    let weight_grad = if g.is_depthwise() {
        depthwise::weight_grad
    } else {
        conv::weight_grad
    };
    tensor(weight_grad(g, &values::<T>(x), &values::<T>(dy)), w_shape)
}

/// A BatchNorm kernel with three inputs and three results: the forward pass (x, gamma, beta
/// -> y, mean, variance) or the backward pass (x, gamma, dy -> dx, dgamma, dbeta).
type BnKernel<T> = fn(&BnGeom, &[T], &[T], &[T], f64) -> (Vec<T>, Vec<T>, Vec<T>);

/// Runs `kernel` on the values of `x` (4-D) and two more tensors; the first result has the
/// shape of `x`, the other two one value per channel.
fn bn_call<T: Elem>(
    kernel: BnKernel<T>,
    g: &BnGeom,
    x: &FlexTensor,
    a: &FlexTensor,
    b: &FlexTensor,
    epsilon: f64,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let (full, c1, c2) = kernel(
        g,
        &values::<T>(x),
        &values::<T>(a),
        &values::<T>(b),
        epsilon,
    );
    (
        tensor(full, shape4(x)),
        tensor(c1, [g.channels]),
        tensor(c2, [g.channels]),
    )
}

fn bn_backward_from_output<T: Elem>(
    g: &BnGeom,
    y: &FlexTensor,
    variance: &FlexTensor,
    dy: &FlexTensor,
    epsilon: f64,
) -> FlexTensor {
    let dx = batch_norm::backward_from_output(
        g,
        &values::<T>(y),
        &values::<T>(variance),
        &values::<T>(dy),
        epsilon,
    );
    tensor(dx, shape4(y))
}

/// The output geometry of a mix the kernel takes: weights, accumulator and terms float32 or
/// float64 of one type, terms 4-D with the batch and plane of the output and their slot in
/// range, the accumulator of the output's shape. `None` sends the call to burn's operations.
fn mix_geometry(
    weights: &FlexTensor,
    acc: &FlexTensor,
    terms: &[&FlexTensor],
    layout: &MixLayout,
) -> Option<MixGeom> {
    let dtype = weights.dtype();
    let ws = weights.layout().shape();
    let first = terms.first()?.layout().shape();
    if !ours(dtype) || ws.num_dims() != 2 || first.num_dims() != 4 {
        return None;
    }
    let g = MixGeom {
        batch: first[0],
        channels: layout.channels,
        plane: first[2] * first[3],
    };
    let fits = |(t, slot): (&&FlexTensor, &MixSlot)| {
        let s = t.layout().shape();
        t.dtype() == dtype
            && s.num_dims() == 4
            && s[0] == g.batch
            && s[2] * s[3] == g.plane
            && slot.offset + g.channels <= s[1]
            && slot.row < ws[0]
            && slot.col < ws[1]
    };
    let acc_fits = || {
        let s = acc.layout().shape();
        acc.dtype() == dtype
            && s.num_dims() == 4
            && [s[0], s[1], s[2] * s[3]] == [g.batch, g.channels, g.plane]
    };
    let pool_source_fits = |(k, slot): (usize, &MixSlot)| match slot.pool_of {
        None => true,
        Some(s) => s != k && layout.slots.get(s).is_some_and(|src| src.pool_of.is_none()),
    };
    let fit = terms.len() == layout.slots.len()
        && terms.iter().zip(&layout.slots).all(fits)
        && layout.slots.iter().enumerate().all(pool_source_fits)
        && (!layout.accumulate || acc_fits());
    fit.then_some(g)
}

/// The weight of each slot, in the kernels' element type (1 for a preweighted one, whose
/// product `t * 1` is `t`).
fn slot_weights<T: Elem>(weights: &FlexTensor, slots: &[MixSlot]) -> Vec<T> {
    let entries = entries::<T>(weights, slots.iter().map(|s| (s.row, s.col)));
    slots
        .iter()
        .zip(entries)
        .map(|(s, w)| if s.preweighted { T::ONE } else { w })
        .collect()
}

/// The entries (row, column) of a 2-D tensor, in the kernels' element type.
fn entries<T: Elem>(t: &FlexTensor, at: impl Iterator<Item = (usize, usize)>) -> Vec<T> {
    let cols = t.layout().shape()[1];
    let v = values::<T>(t);
    at.map(|(r, c)| v[r * cols + c]).collect()
}

/// The geometry of a [`super::scaled_conv_bn`] our kernels take: a 1x1 convolution our
/// convolution kernels take, its output channels whole blocks, the weight matrix of the same
/// element type with every block's entry in range.
fn branch_geometry(
    x: &FlexTensor,
    weight: &FlexTensor,
    weights: &FlexTensor,
    layout: &ScaledBlocks,
) -> Option<BranchGeom> {
    let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    let g = conv_geometry(shape4(x), weight, x.dtype(), &options, false)?;
    let ws = weights.layout().shape();
    let fits = g.kernel == [1, 1]
        && layout.channels > 0
        && g.c_out == layout.channels * layout.blocks.len()
        && weights.dtype() == x.dtype()
        && ws.num_dims() == 2
        && layout.blocks.iter().all(|&(r, c)| r < ws[0] && c < ws[1]);
    fits.then_some(BranchGeom {
        conv: g,
        block: layout.channels,
    })
}

fn branch_forward<T: Elem>(
    g: &BranchGeom,
    relu_x: &FlexTensor,
    weight: &FlexTensor,
    weights: &FlexTensor,
    layout: &ScaledBlocks,
) -> (FlexTensor, FlexTensor, FlexTensor) {
    let scales = entries::<T>(weights, layout.blocks.iter().copied());
    let (y, mean, variance) = branch::forward(
        g,
        &values::<T>(relu_x),
        &values::<T>(weight),
        &scales,
        layout.epsilon,
    );
    let c = g.conv.c_out;
    (
        tensor(y, [g.conv.batch, c, g.conv.in_h, g.conv.in_w]),
        tensor(mean, [c]),
        tensor(variance, [c]),
    )
}

fn branch_backward<T: Elem>(
    g: &BranchGeom,
    x: &FlexTensor,
    weight: &FlexTensor,
    weights: &FlexTensor,
    dy: &FlexTensor,
    layout: &ScaledBlocks,
) -> (FlexTensor, FlexTensor) {
    let scales = entries::<T>(weights, layout.blocks.iter().copied());
    let (dx, dots) = branch::backward(
        g,
        &values::<T>(x),
        &values::<T>(weight),
        &scales,
        &values::<T>(dy),
        layout.epsilon,
    );
    // As the weighted sum assembles its weights' gradient: float64 zeros plus each dot.
    let ws = shape2(weights);
    let mut dw = vec![0.0f64; ws[0] * ws[1]];
    for (&(r, c), dot) in layout.blocks.iter().zip(dots) {
        dw[r * ws[1] + c] += dot;
    }
    let dw: Vec<T> = dw.into_iter().map(T::from_f64).collect();
    (tensor(dx, shape4(x)), tensor(dw, ws))
}

fn shape2(t: &FlexTensor) -> [usize; 2] {
    let s = t.layout().shape();
    [s[0], s[1]]
}

fn mix_terms<'a, T: Elem>(
    tensors: &[&FlexTensor],
    values: &'a [Cow<'a, [T]>],
    slots: &[MixSlot],
    weights: &[T],
) -> Vec<mix::Term<'a, T>> {
    tensors
        .iter()
        .zip(values)
        .zip(slots.iter().zip(weights))
        .map(|((t, v), (slot, &weight))| mix::Term {
            values: v,
            channels: t.layout().shape()[1],
            offset: slot.offset,
            weight,
            pooled: None,
        })
        .collect()
}

fn mix_forward<T: Elem>(
    g: &MixGeom,
    weights: &FlexTensor,
    acc: Option<&FlexTensor>,
    terms: &[&FlexTensor],
    layout: &MixLayout,
) -> FlexTensor {
    let w = slot_weights::<T>(weights, &layout.slots);
    let term_values: Vec<Cow<[T]>> = terms.iter().map(|t| values::<T>(t)).collect();
    let acc = acc.map(values::<T>);
    let y = mix::forward(
        g,
        acc.as_deref(),
        &mix_terms(terms, &term_values, &layout.slots, &w),
    );
    let [_, _, h, w] = shape4(terms[0]);
    tensor(y, [g.batch, g.channels, h, w])
}

fn mix_term_grad<T: Elem>(
    dy: &FlexTensor,
    weights: &FlexTensor,
    slot: MixSlot,
    term_shape: [usize; 4],
) -> FlexTensor {
    let [batch, channels, h, w] = shape4(dy);
    let g = MixGeom {
        batch,
        channels,
        plane: h * w,
    };
    let weight = slot_weights::<T>(weights, &[slot])[0];
    let dt = mix::term_grad(&g, &values::<T>(dy), weight, term_shape[1], slot.offset);
    tensor(dt, term_shape)
}

fn mix_weights_grad<T: Elem>(
    dy: &FlexTensor,
    terms: &[FlexTensor],
    layout: &MixLayout,
    weights_shape: [usize; 2],
) -> FlexTensor {
    let [batch, channels, h, w] = shape4(dy);
    let g = MixGeom {
        batch,
        channels,
        plane: h * w,
    };
    let refs: Vec<&FlexTensor> = terms.iter().collect();
    let term_values: Vec<Cow<[T]>> = terms.iter().map(|t| values::<T>(t)).collect();
    let ones = vec![T::ONE; terms.len()];
    let mut mix_terms = mix_terms(&refs, &term_values, &layout.slots, &ones);
    // A pooled slot was given its source's tensor: read the source's block, pooled per plane.
    for (term, slot) in mix_terms.iter_mut().zip(&layout.slots) {
        if let Some(s) = slot.pool_of {
            term.offset = layout.slots[s].offset;
            term.pooled = Some((h, w));
        }
    }
    // A preweighted slot's weight gets its gradient from the operation that scaled it.
    let (slots, mix_terms): (Vec<&MixSlot>, Vec<mix::Term<T>>) = layout
        .slots
        .iter()
        .zip(mix_terms)
        .filter(|(slot, _)| !slot.preweighted)
        .unzip();
    let dots = mix::weight_grads(&g, &values::<T>(dy), &mix_terms);
    let mut dw = vec![0.0f64; weights_shape[0] * weights_shape[1]];
    for (slot, dot) in slots.into_iter().zip(dots) {
        dw[slot.row * weights_shape[1] + slot.col] += dot;
    }
    tensor(
        dw.into_iter().map(T::from_f64).collect::<Vec<T>>(),
        weights_shape,
    )
}

/// Whether the pooling kernels take `t`: float32 or float64, 4-D.
fn pool_takes(t: &FlexTensor) -> bool {
    ours(t.dtype()) && t.layout().shape().num_dims() == 4
}

fn avg_pool<T: Elem>(x: &FlexTensor, backward: bool) -> FlexTensor {
    let [_, _, h, w] = shape4(x);
    let f = if backward {
        pool::backward
    } else {
        pool::forward
    };
    tensor(f(&values::<T>(x), h, w), shape4(x))
}

impl Kernels for Flex {
    fn fd_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        match conv_geometry(shape4(&x), &weight, x.dtype(), &options, false) {
            Some(g) => by_dtype!(x.dtype(), conv_forward(&g, &x, &weight)),
            None => Self::conv2d(x, weight, None, options),
        }
    }

    fn fd_relu_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        match conv_geometry(shape4(&x), &weight, x.dtype(), &options, true) {
            Some(g) => by_dtype!(x.dtype(), conv_forward(&g, &x, &weight)),
            None => Self::fd_conv2d(Self::relu(x), weight, options),
        }
    }

    fn fd_batch_norm_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        _affine: bool,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        match bn_geometry(&x, &[&gamma, &beta]) {
            Some(g) => by_dtype!(
                x.dtype(),
                bn_call(batch_norm::forward, &g, &x, &gamma, &beta, epsilon)
            ),
            None => {
                let r = Self::batch_norm_train(x, gamma, beta, epsilon);
                (r.output, r.mean, r.variance)
            }
        }
    }

    fn fd_avg_pool_3x3_same(x: FlexTensor) -> FlexTensor {
        if pool_takes(&x) {
            by_dtype!(x.dtype(), avg_pool(&x, false))
        } else {
            Self::avg_pool2d(x, [3, 3], [1, 1], [1, 1], false, false)
        }
    }

    fn fd_mix(
        weights: FlexTensor,
        acc: FlexTensor,
        t0: FlexTensor,
        t1: FlexTensor,
        t2: FlexTensor,
        t3: FlexTensor,
        t4: FlexTensor,
        t5: FlexTensor,
        t6: FlexTensor,
        t7: FlexTensor,
        layout: MixLayout,
    ) -> FlexTensor {
        let all = [&t0, &t1, &t2, &t3, &t4, &t5, &t6, &t7];
        let terms = &all[..layout.slots.len().min(MIX_TERMS)];
        match mix_geometry(&weights, &acc, terms, &layout) {
            Some(g) => {
                let acc = layout.accumulate.then_some(&acc);
                by_dtype!(
                    weights.dtype(),
                    mix_forward(&g, &weights, acc, terms, &layout)
                )
            }
            _ => {
                let acc = layout.accumulate.then_some(acc);
                mix_of_operations::<Self>(weights, acc, [t0, t1, t2, t3, t4, t5, t6, t7], &layout)
            }
        }
    }

    fn fd_scaled_conv_bn(
        relu_x: FlexTensor,
        x: FlexTensor,
        weight: FlexTensor,
        weights: FlexTensor,
        layout: ScaledBlocks,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let _ = x;
        match branch_geometry(&relu_x, &weight, &weights, &layout) {
            Some(g) => by_dtype!(
                relu_x.dtype(),
                branch_forward(&g, &relu_x, &weight, &weights, &layout)
            ),
            None => scaled_conv_bn_of_operations::<Self>(relu_x, weight, weights, &layout),
        }
    }
}

impl KernelGrads for Flex {
    fn fd_conv2d_x_backward(
        x_shape: [usize; 4],
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
        relu_of: Option<FlexTensor>,
    ) -> FlexTensor {
        let dtype = output_grad.dtype();
        let relu = relu_of.is_some();
        match conv_geometry(x_shape, &weight, dtype, &options, relu) {
            Some(g) => by_dtype!(
                dtype,
                conv_input_grad(&g, &weight, &output_grad, relu_of.as_ref())
            ),
            None if relu => {
                let x = relu_of.expect("relu is set by it");
                let dx = Self::fd_conv2d_x_backward(x_shape, weight, output_grad, options, None);
                // Masked by x instead of relu(x): positive or NaN at the same elements.
                Self::relu_backward(x, dx)
            }
            None => {
                // burn's gradient reads only the shape of the input, so a blank one serves.
                let x = FlexTensor::empty(x_shape.into(), dtype);
                Self::conv2d_x_backward(x, weight, output_grad, options)
            }
        }
    }

    fn fd_conv2d_weight_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
        relu_input: bool,
    ) -> FlexTensor {
        match conv_geometry(shape4(&x), &weight, x.dtype(), &options, relu_input) {
            Some(g) => by_dtype!(
                x.dtype(),
                conv_weight_grad(&g, &x, &output_grad, shape4(&weight))
            ),
            None if relu_input => {
                Self::fd_conv2d_weight_backward(Self::relu(x), weight, output_grad, options, false)
            }
            None => Self::conv2d_weight_backward(x, weight, output_grad, options),
        }
    }

    fn fd_batch_norm_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        output_grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        match bn_geometry(&x, &[&gamma, &mean, &variance]) {
            // The kernel recomputes the statistics from `x` in float64 instead of reading the
            // float32 ones back; `mean` and `variance` serve burn's fallback only.
            Some(g) => by_dtype!(
                x.dtype(),
                bn_call(batch_norm::backward, &g, &x, &gamma, &output_grad, epsilon)
            ),
            None => {
                let r =
                    Self::batch_norm_train_backward(x, gamma, mean, variance, epsilon, output_grad);
                (r.x_grad, r.gamma_grad, r.beta_grad)
            }
        }
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
        by_dtype!(
            output.dtype(),
            bn_backward_from_output(&g, &output, &variance, &output_grad, epsilon)
        )
    }

    // `fd_mix` only sends the kernel's geometries here: the autodiff step runs after a forward
    // that took the kernel or the operations, and in the latter case burn's own backward steps
    // ran instead of this one.
    fn fd_avg_pool_3x3_same_backward(output_grad: FlexTensor) -> FlexTensor {
        if pool_takes(&output_grad) {
            by_dtype!(output_grad.dtype(), avg_pool(&output_grad, true))
        } else {
            // burn's gradient reads only the shape of the input, so a blank one serves.
            let x = FlexTensor::empty(output_grad.layout().shape().clone(), output_grad.dtype());
            Self::avg_pool2d_backward(x, output_grad, [3, 3], [1, 1], [1, 1], false, false)
        }
    }

    fn fd_scaled_conv_bn_backward(
        x: FlexTensor,
        weight: FlexTensor,
        weights: FlexTensor,
        output_grad: FlexTensor,
        layout: &ScaledBlocks,
    ) -> (FlexTensor, FlexTensor) {
        let g = branch_geometry(&x, &weight, &weights, layout)
            .expect("called only where fd_scaled_conv_bn_takes");
        by_dtype!(
            x.dtype(),
            branch_backward(&g, &x, &weight, &weights, &output_grad, layout)
        )
    }

    fn fd_scaled_conv_bn_takes(
        x: &FlexTensor,
        weight: &FlexTensor,
        weights: &FlexTensor,
        layout: &ScaledBlocks,
    ) -> bool {
        branch_geometry(x, weight, weights, layout).is_some()
    }

    fn fd_mix_takes(
        weights: &FlexTensor,
        acc: &FlexTensor,
        terms: &[&FlexTensor],
        layout: &MixLayout,
    ) -> bool {
        mix_geometry(weights, acc, terms, layout).is_some()
    }

    fn fd_mix_term_grad(
        output_grad: FlexTensor,
        weights: FlexTensor,
        slot: MixSlot,
        term_shape: [usize; 4],
    ) -> FlexTensor {
        by_dtype!(
            output_grad.dtype(),
            mix_term_grad(&output_grad, &weights, slot, term_shape)
        )
    }

    fn fd_mix_weights_grad(
        output_grad: FlexTensor,
        terms: Vec<FlexTensor>,
        layout: &MixLayout,
        weights_shape: [usize; 2],
    ) -> FlexTensor {
        by_dtype!(
            output_grad.dtype(),
            mix_weights_grad(&output_grad, &terms, layout, weights_shape)
        )
    }
}
