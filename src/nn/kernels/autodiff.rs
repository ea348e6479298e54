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

use super::{KernelGrads, Kernels, MIX_TERMS, MixLayout, ScaledBlocks, mix_of_operations};

/// The backward step of [`Kernels::fd_conv2d`] and [`Kernels::fd_relu_conv2d`].
#[derive(Debug)]
struct ConvBackward;

impl<B: KernelGrads> Backward<B, 2> for ConvBackward {
    /// The input (checkpointed only when a gradient needs it), the weight, the input's shape,
    /// the options and whether the convolution reads relu(input).
    type State = (Option<NodeId>, NodeId, [usize; 4], ConvOptions<2>, bool);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, x_shape, options, relu) = ops.state;
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);
        let x = x_state.map(|s| checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(s));
        if let Some(node) = node_x {
            let relu_of = relu.then(|| x.clone().expect("kept for the ReLU mask"));
            let dx = B::fd_conv2d_x_backward(
                x_shape,
                weight.clone(),
                grad.clone(),
                options.clone(),
                relu_of,
            );
            grads.register::<B>(node.id, dx);
        }
        if let (Some(node), Some(x)) = (node_weight, x) {
            let dw = B::fd_conv2d_weight_backward(x, weight, grad, options, relu);
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

/// The backward step of [`Kernels::fd_avg_pool_3x3_same`]: it needs nothing but the output
/// gradient.
#[derive(Debug)]
struct AvgPoolBackward;

impl<B: KernelGrads> Backward<B, 1> for AvgPoolBackward {
    type State = ();

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::fd_avg_pool_3x3_same_backward(grad));
        }
    }
}

/// The parents of a mix node: the weights, the accumulator and [`MIX_TERMS`] terms.
const MIX_PARENTS: usize = 2 + MIX_TERMS;

/// What the mix backward step keeps.
#[derive(Debug, Clone)]
struct MixState<B: KernelGrads> {
    layout: MixLayout,
    /// The weight matrix (small), read for the terms' gradients.
    weights: B::FloatTensorPrimitive,
    term_shapes: Vec<[usize; 4]>,
    /// The terms, kept only when the weights need a gradient. They are the outputs of
    /// BatchNorms, poolings and cell nodes that the backward pass keeps anyway.
    terms: Option<Vec<B::FloatTensorPrimitive>>,
}

/// The backward step of [`Kernels::fd_mix`].
#[derive(Debug)]
struct MixBackward;

impl<B: KernelGrads> Backward<B, MIX_PARENTS> for MixBackward {
    type State = MixState<B>;

    fn backward(
        self,
        ops: Ops<Self::State, MIX_PARENTS>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_weights, node_acc, term_nodes @ ..] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let state = ops.state;
        if let (true, Some(node)) = (state.layout.accumulate, node_acc) {
            grads.register::<B>(node.id, grad.clone());
        }
        for ((node, slot), &shape) in term_nodes
            .into_iter()
            .zip(&state.layout.slots)
            .zip(&state.term_shapes)
        {
            if let Some(node) = node {
                let dt = B::fd_mix_term_grad(grad.clone(), state.weights.clone(), *slot, shape);
                grads.register::<B>(node.id, dt);
            }
        }
        if let (Some(node), Some(terms)) = (node_weights, state.terms) {
            let s = state.weights.shape();
            let dw = B::fd_mix_weights_grad(grad, terms, &state.layout, [s[0], s[1]]);
            grads.register::<B>(node.id, dw);
        }
    }
}

/// The backward step of [`Kernels::fd_scaled_conv_bn`]: it keeps x (the node, kept anyway),
/// the constant weight and the weight matrix, and recomputes the rest.
#[derive(Debug)]
struct ScaledConvBnBackward;

impl<B: KernelGrads> Backward<B, 4> for ScaledConvBnBackward {
    /// x, the weight and the weight matrix (checkpointed), the blocks.
    type State = (NodeId, NodeId, NodeId, ScaledBlocks);

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_relu_x, _, _, node_weights] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, weights, layout) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x);
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight);
        let weights = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weights);
        let (d_relu_x, d_weights) =
            B::fd_scaled_conv_bn_backward(x, weight, weights, grad, &layout);
        if let Some(node) = node_relu_x {
            grads.register::<B>(node.id, d_relu_x);
        }
        if let Some(node) = node_weights {
            grads.register::<B>(node.id, d_weights);
        }
    }
}

/// A convolution of x (or of relu(x)) as one graph node.
fn tracked_conv<B: KernelGrads, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    options: ConvOptions<2>,
    relu: bool,
) -> FloatTensor<Autodiff<B, C>> {
    let forward = |x, weight, options| {
        if relu {
            B::fd_relu_conv2d(x, weight, options)
        } else {
            B::fd_conv2d(x, weight, options)
        }
    };
    match ConvBackward
        .prepare::<C>([x.node(), weight.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            // The input serves the weight's gradient, and the ReLU's mask: not kept for a
            // plain convolution with a constant weight (the alpha-only passes of a search).
            let needs_x = weight.is_tracked() || (relu && x.is_tracked());
            let x_state = needs_x.then(|| prep.checkpoint(&x));
            let weight_state = prep.checkpoint(&weight);
            let s = x.primitive().shape();
            let x_shape = [s[0], s[1], s[2], s[3]];
            let y = forward(x.into_primitive(), weight.into_primitive(), options.clone());
            prep.finish((x_state, weight_state, x_shape, options, relu), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(
            x.into_primitive(),
            weight.into_primitive(),
            options,
        )),
    }
}

impl<B: KernelGrads, C: CheckpointStrategy> Kernels for Autodiff<B, C> {
    fn fd_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        tracked_conv::<B, C>(x, weight, options, false)
    }

    fn fd_relu_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        tracked_conv::<B, C>(x, weight, options, true)
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

    fn fd_avg_pool_3x3_same(x: FloatTensor<Self>) -> FloatTensor<Self> {
        AvgPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateless(B::fd_avg_pool_3x3_same(x.into_primitive()))
    }

    fn fd_scaled_conv_bn(
        relu_x: FloatTensor<Self>,
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        weights: FloatTensor<Self>,
        layout: ScaledBlocks,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let takes = !weight.is_tracked()
            && B::fd_scaled_conv_bn_takes(
                relu_x.primitive(),
                weight.primitive(),
                weights.primitive(),
                &layout,
            );
        if !takes {
            // burn's operations (and ours beneath them), each with its own backward step.
            return super::scaled_conv_bn_of_operations::<Self>(relu_x, weight, weights, &layout);
        }
        let nodes = [relu_x.node(), x.node(), weight.node(), weights.node()];
        let forward = |relu_x: FloatTensor<Self>,
                       x: FloatTensor<Self>,
                       weight: FloatTensor<Self>,
                       weights: FloatTensor<Self>,
                       layout| {
            B::fd_scaled_conv_bn(
                relu_x.into_primitive(),
                x.into_primitive(),
                weight.into_primitive(),
                weights.into_primitive(),
                layout,
            )
        };
        match ScaledConvBnBackward
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    prep.checkpoint(&weights),
                    layout.clone(),
                );
                let (y, mean, variance) = forward(relu_x, x, weight, weights, layout);
                (
                    prep.finish(state, y),
                    Self::from_inner(mean),
                    Self::from_inner(variance),
                )
            }
            OpsKind::UnTracked(prep) => {
                let (y, mean, variance) = forward(relu_x, x, weight, weights, layout);
                (
                    prep.finish(y),
                    Self::from_inner(mean),
                    Self::from_inner(variance),
                )
            }
        }
    }

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
        let all = [t0, t1, t2, t3, t4, t5, t6, t7];
        let used = layout.slots.len().min(MIX_TERMS);
        let takes = {
            let terms: Vec<_> = all[..used].iter().map(|t| t.primitive()).collect();
            B::fd_mix_takes(weights.primitive(), acc.primitive(), &terms, &layout)
        };
        if !takes {
            // burn's operations, each with its own backward step.
            let acc = layout.accumulate.then_some(acc);
            return mix_of_operations::<Self>(weights, acc, all, &layout);
        }
        let mut nodes = vec![weights.node(), acc.node()];
        nodes.extend(all.iter().map(|t| t.node()));
        let nodes: [_; MIX_PARENTS] = nodes
            .try_into()
            .unwrap_or_else(|_| unreachable!("two parents and MIX_TERMS terms"));
        let weights_tracked = weights.is_tracked();
        let term_shapes: Vec<[usize; 4]> = all[..used]
            .iter()
            .map(|t| {
                let s = t.primitive().shape();
                [s[0], s[1], s[2], s[3]]
            })
            .collect();
        let [t0, t1, t2, t3, t4, t5, t6, t7] = all.map(|t| t.into_primitive());
        let w = weights.into_primitive();
        // A pooled term is recomputed from its source (kept anyway), so its map can be freed;
        // a preweighted one is not read (the weights stand in for it).
        let kept = weights_tracked.then(|| {
            let all = [&t0, &t1, &t2, &t3, &t4, &t5, &t6, &t7];
            layout.slots[..used]
                .iter()
                .enumerate()
                .map(|(k, slot)| {
                    if slot.preweighted {
                        w.clone()
                    } else {
                        all[slot.pool_of.unwrap_or(k)].clone()
                    }
                })
                .collect()
        });
        let forward = |w: B::FloatTensorPrimitive| {
            B::fd_mix(
                w,
                acc.into_primitive(),
                t0,
                t1,
                t2,
                t3,
                t4,
                t5,
                t6,
                t7,
                layout.clone(),
            )
        };
        match MixBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = MixState {
                    layout: layout.clone(),
                    weights: w.clone(),
                    term_shapes,
                    terms: kept,
                };
                prep.finish(state, forward(w))
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(w)),
        }
    }
}
