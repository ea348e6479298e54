//! The [`Kernels`] under burn's autodiff decorator: each forward kernel is one graph node whose
//! backward step calls the matching gradient kernel of the inner backend. Only the inputs are
//! kept for the backward pass (checkpointed the way burn's own operations are), and BatchNorm
//! also keeps its per-channel statistics.

use burn::backend::Autodiff;
use burn::backend::AutodiffBackend;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::tensor::ops::ConvOptions;

use super::{KernelGrads, Kernels};

/// The backward step of [`Kernels::fd_conv2d`].
#[derive(Debug)]
struct ConvBackward;

impl<B: KernelGrads> Backward<B, 2> for ConvBackward {
    /// The input (checkpointed only when the weight needs a gradient), the weight, the input's
    /// shape and the options.
    type State = (Option<NodeId>, NodeId, [usize; 4], ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, x_shape, options) = ops.state;
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
        if let Some(node) = node_x {
            let dx =
                B::fd_conv2d_x_backward(x_shape, weight.clone(), grad.clone(), options.clone());
            grads.register::<B>(node.id, dx);
        }
        if let (Some(node), Some(x_state)) = (node_weight, x_state) {
            let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
            let dw = B::fd_conv2d_weight_backward(x, weight, grad, options);
            grads.register::<B>(node.id, dw);
        }
    }
}

/// What the BatchNorm backward step keeps.
#[derive(Debug, Clone)]
enum BatchNormState<B: KernelGrads> {
    /// Without affine parameters the output is the normalised input, which the multiplication
    /// by alpha that follows keeps anyway: keeping it here costs nothing, and the input (a
    /// tensor of the same size) can be freed.
    Output {
        output: B::FloatTensorPrimitive,
        variance: B::FloatTensorPrimitive,
        epsilon: f64,
    },
    /// The input and gamma (checkpointed) and the batch statistics.
    Input {
        x: NodeId,
        gamma: NodeId,
        mean: B::FloatTensorPrimitive,
        variance: B::FloatTensorPrimitive,
        epsilon: f64,
    },
}

/// The backward step of [`Kernels::fd_batch_norm_train`].
#[derive(Debug)]
struct BatchNormBackward;

impl<B: KernelGrads> Backward<B, 3> for BatchNormBackward {
    type State = BatchNormState<B>;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        match ops.state {
            BatchNormState::Output {
                output,
                variance,
                epsilon,
            } => {
                if let Some(node) = node_x {
                    let dx = B::fd_batch_norm_backward_from_output(output, variance, epsilon, grad);
                    grads.register::<B>(node.id, dx);
                }
            }
            BatchNormState::Input {
                x,
                gamma,
                mean,
                variance,
                epsilon,
            } => {
                let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x);
                let gamma = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(gamma);
                let (dx, dgamma, dbeta) =
                    B::fd_batch_norm_backward(x, gamma, mean, variance, epsilon, grad);
                for (node, g) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, g);
                    }
                }
            }
        }
    }
}

impl<B: KernelGrads, C: CheckpointStrategy> Kernels for Autodiff<B, C> {
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
                // The input serves only the weight's gradient: not kept for a constant weight
                // (the alpha-only passes of a search).
                let x_state = weight.is_tracked().then(|| prep.checkpoint(&x));
                let weight_state = prep.checkpoint(&weight);
                let s = x.primitive().shape();
                let x_shape = [s[0], s[1], s[2], s[3]];
                let y = B::fd_conv2d(x.into_primitive(), weight.into_primitive(), options.clone());
                prep.finish((x_state, weight_state, x_shape, options), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fd_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }

    fn fd_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        affine: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let forward = |x: FloatTensor<Self>, gamma: FloatTensor<Self>, beta: FloatTensor<Self>| {
            B::fd_batch_norm_train(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
                epsilon,
                affine,
            )
        };
        let (y, mean, variance) = match BatchNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let inputs = affine.then(|| (prep.checkpoint(&x), prep.checkpoint(&gamma)));
                let (y, mean, variance) = forward(x, gamma, beta);
                let state = match inputs {
                    None => BatchNormState::Output {
                        output: y.clone(),
                        variance: variance.clone(),
                        epsilon,
                    },
                    Some((x, gamma)) => BatchNormState::Input {
                        x,
                        gamma,
                        mean: mean.clone(),
                        variance: variance.clone(),
                        epsilon,
                    },
                };
                (prep.finish(state, y), mean, variance)
            }
            OpsKind::UnTracked(prep) => {
                let (y, mean, variance) = forward(x, gamma, beta);
                (prep.finish(y), mean, variance)
            }
        };
        (y, Self::from_inner(mean), Self::from_inner(variance))
    }
}
