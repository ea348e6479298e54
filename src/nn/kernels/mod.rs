//! Kernels of our own behind burn's backend-extension traits, where burn's CPU kernels are the
//! bottleneck. Today: the 2-D convolution (forward, input and weight gradients) on the flex
//! backend; every other backend, dtype and geometry falls through to burn's own operation.
//!
//! The extension trait [`ConvKernels`] is implemented for [`Flex`] (the kernels) and for
//! burn's [`Autodiff`] decorator (a backward step calling the gradient kernels), and burn's
//! dispatch routes a call to whichever the tensor lives on.

pub mod conv;

use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Device, Tensor, TensorData};

use conv::ConvGeom;

/// Whether [`conv2d`] uses the kernels of this module on the CPU (the default) or burn's.
static OWN_CONV: AtomicBool = AtomicBool::new(true);

/// Chooses the convolution kernels for the flex backend: ours (`true`, the default) or burn's.
/// For benchmarks that compare the two in one process; results agree to rounding.
pub fn use_own_conv(own: bool) {
    OWN_CONV.store(own, Ordering::Relaxed);
}

/// Whether [`conv2d`] currently uses the kernels of this module on the CPU.
pub fn own_conv() -> bool {
    OWN_CONV.load(Ordering::Relaxed)
}

/// A 2-D convolution without bias, differentiable in the input and the weight.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    if own_conv() && x.device() == Device::flex() {
        let y = <Dispatch as ConvKernels>::fd_conv2d(
            x.into_dispatch(),
            weight.into_dispatch(),
            options,
        );
        Tensor::from_dispatch(y)
    } else {
        burn::tensor::module::conv2d(x, weight, None, options)
    }
}

/// The convolution as a backend extension. The default bodies are burn's own operations, so
/// a backend implements only what it accelerates.
#[backend_extension(Flex, Autodiff)]
pub trait ConvKernels: Backend {
    /// Forward convolution without bias.
    fn fd_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// Gradient with respect to the input, given the output gradient.
    fn fd_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }

    /// Gradient with respect to the weight, given the output gradient.
    fn fd_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, output_grad, options)
    }
}

/// The geometry of a convolution our kernels take: float32 and not depthwise (flex's direct
/// depthwise kernel is already fast, and a GEMM per channel is not). `None` sends the call to
/// burn's operation.
fn geometry(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> Option<ConvGeom> {
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
    let depthwise = g.groups > 1 && ws[1] == 1;
    let consistent = g.groups > 0
        && g.c_in % g.groups == 0
        && g.c_out % g.groups == 0
        && ws[1] * g.groups == g.c_in
        && g.stride.iter().all(|&s| s > 0)
        && g.dilation.iter().all(|&d| d > 0)
        && g.kernel.iter().all(|&k| k > 0)
        && g.out_hw().is_some_and(|[h, w]| h > 0 && w > 0);
    (consistent && !depthwise && !options.is_asymmetric()).then_some(g)
}

/// The float32 elements of a tensor in row-major order (a copy only when it is strided).
fn values(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => s.into(),
        None => t.to_contiguous().storage::<f32>().to_vec().into(),
    }
}

fn tensor(data: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

impl ConvKernels for Flex {
    fn fd_conv2d(x: FlexTensor, weight: FlexTensor, options: ConvOptions<2>) -> FlexTensor {
        let Some(g) = geometry(&x, &weight, &options) else {
            return Self::conv2d(x, weight, None, options);
        };
        let [oh, ow] = g.out_hw().expect("checked in geometry");
        let y = conv::forward(&g, &values(&x), &values(&weight));
        tensor(y, [g.batch, g.c_out, oh, ow])
    }

    fn fd_conv2d_x_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(g) = geometry(&x, &weight, &options) else {
            return Self::conv2d_x_backward(x, weight, output_grad, options);
        };
        let dx = conv::input_grad(&g, &values(&weight), &values(&output_grad));
        tensor(dx, [g.batch, g.c_in, g.in_h, g.in_w])
    }

    fn fd_conv2d_weight_backward(
        x: FlexTensor,
        weight: FlexTensor,
        output_grad: FlexTensor,
        options: ConvOptions<2>,
    ) -> FlexTensor {
        let Some(g) = geometry(&x, &weight, &options) else {
            return Self::conv2d_weight_backward(x, weight, output_grad, options);
        };
        let dw = conv::weight_grad(&g, &values(&x), &values(&output_grad));
        let ws = weight.layout().shape();
        tensor(dw, [ws[0], ws[1], ws[2], ws[3]])
    }
}

/// The backward step of [`ConvKernels::fd_conv2d`] under autodiff.
#[derive(Debug)]
struct ConvBackward;

impl<B: ConvKernels> Backward<B, 2> for ConvBackward {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
        if let Some(node) = node_x {
            let dx =
                B::fd_conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), options.clone());
            grads.register::<B>(node.id, dx);
        }
        if let Some(node) = node_weight {
            let dw = B::fd_conv2d_weight_backward(x, weight, grad, options);
            grads.register::<B>(node.id, dw);
        }
    }
}

impl<B: ConvKernels, C: CheckpointStrategy> ConvKernels for Autodiff<B, C> {
    fn fd_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match ConvBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let y = B::fd_conv2d(x.into_primitive(), weight.into_primitive(), options.clone());
                prep.finish((x_state, weight_state, options), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fd_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }
}
