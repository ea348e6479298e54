//! The NAS-Bench-201 evaluation network of one cell (AutoDL `TinyNetwork` with `InferCell`):
//! the supernet's skeleton, each edge a single op, every BatchNorm affine. Tensor names follow
//! the PyTorch module paths, so weights load and export by name.

use burn::tensor::Tensor;

use crate::nn::blocks::ResNetBlock;
use crate::nn::ctx::Forward;
use crate::nn::layers::{BatchNorm, Conv2d, ConvShape, Linear, ReluConvBn, avg_pool_3x3_same};
use crate::nn::params::ParamRegistry;
use crate::spaces::nb201::supernet::Nb201Config;
use crate::spaces::nb201::{NB201_EDGES, NB201_NODES, Nb201Arch, Nb201Op};

/// One edge of an `InferCell`.
#[derive(Clone, Debug)]
enum EdgeOp {
    /// `none`: contributes nothing (PyTorch multiplies by zero).
    Zero,
    Identity,
    Conv(ReluConvBn),
    AvgPool,
}

impl EdgeOp {
    fn register(reg: &mut ParamRegistry, prefix: &str, op: Nb201Op, c: usize) -> Self {
        let conv = |reg: &mut ParamRegistry, k: usize| {
            let shape = ConvShape::dense(c, c, k, 1, k / 2);
            Self::Conv(ReluConvBn::register(reg, prefix, shape, true))
        };
        match op {
            Nb201Op::None => Self::Zero,
            Nb201Op::SkipConnect => Self::Identity,
            Nb201Op::NorConv1x1 => conv(reg, 1),
            Nb201Op::NorConv3x3 => conv(reg, 3),
            Nb201Op::AvgPool3x3 => Self::AvgPool,
        }
    }

    fn forward(&self, f: &Forward, x: Tensor<4>) -> Option<Tensor<4>> {
        match self {
            Self::Zero => None,
            Self::Identity => Some(x),
            Self::Conv(op) => Some(op.forward(f, x)),
            Self::AvgPool => Some(avg_pool_3x3_same(x)),
        }
    }
}

#[derive(Clone, Debug)]
enum Layer {
    /// The edge ops of one cell, in [`NB201_EDGES`] order (PyTorch's `layers.{k}`).
    Cell(Vec<EdgeOp>),
    Reduction(Box<ResNetBlock>),
}

/// The standalone network of an NB201 cell.
#[derive(Clone, Debug)]
pub struct Nb201Network {
    pub config: Nb201Config,
    pub arch: Nb201Arch,
    registry: ParamRegistry,
    stem_conv: Conv2d,
    stem_bn: BatchNorm,
    layers: Vec<Layer>,
    lastact: BatchNorm,
    classifier: Linear,
}

impl Nb201Network {
    pub fn new(config: Nb201Config, arch: Nb201Arch) -> Self {
        let mut reg = ParamRegistry::new();
        let c = config.channels;
        let stem_conv = Conv2d::register(&mut reg, "stem.0", ConvShape::dense(3, c, 3, 1, 1));
        let stem_bn = BatchNorm::register(&mut reg, "stem.1", c, true);
        let mut layers = Vec::new();
        let mut width = c;
        for stage in 0..3 {
            if stage > 0 {
                let prefix = format!("cells.{}", layers.len());
                let block = ResNetBlock::register(&mut reg, &prefix, width, width * 2);
                layers.push(Layer::Reduction(Box::new(block)));
                width *= 2;
            }
            for _ in 0..config.cells_per_stage {
                let prefix = format!("cells.{}", layers.len());
                let ops = arch
                    .ops
                    .iter()
                    .enumerate()
                    .map(|(k, &op)| {
                        EdgeOp::register(&mut reg, &format!("{prefix}.layers.{k}"), op, width)
                    })
                    .collect();
                layers.push(Layer::Cell(ops));
            }
        }
        let lastact = BatchNorm::register(&mut reg, "lastact.0", width, true);
        let classifier = Linear::register(&mut reg, "classifier", width, config.classes);
        Self {
            config,
            arch,
            registry: reg,
            stem_conv,
            stem_bn,
            layers,
            lastact,
            classifier,
        }
    }

    /// Logits of `x`.
    pub fn forward(&self, f: &Forward, x: Tensor<4>) -> Tensor<2> {
        let mut h = self.stem_bn.forward(f, self.stem_conv.forward(f, x));
        for layer in &self.layers {
            h = match layer {
                Layer::Cell(ops) => cell_forward(f, ops, h),
                Layer::Reduction(block) => block.forward(f, h),
            };
        }
        let h = f.relu(self.lastact.forward(f, h));
        self.classifier.forward(f, f.global_avg_pool(h))
    }
}

/// node_i = sum over in-edges (in increasing source order) of op(node_j); the output is node 3.
/// A node fed only by `none` edges is zero.
fn cell_forward(f: &Forward, ops: &[EdgeOp], input: Tensor<4>) -> Tensor<4> {
    let mut nodes: Vec<Tensor<4>> = vec![input];
    for to in 1..NB201_NODES {
        let mut sum: Option<Tensor<4>> = None;
        for (e, &(_, from)) in NB201_EDGES
            .iter()
            .enumerate()
            .filter(|(_, (t, _))| *t == to)
        {
            if let Some(out) = ops[e].forward(f, nodes[from].clone()) {
                sum = Some(match sum {
                    None => out,
                    Some(acc) => acc + out,
                });
            }
        }
        nodes.push(sum.unwrap_or_else(|| nodes[0].zeros_like()));
    }
    nodes.pop().expect("a cell has an output node")
}

impl crate::nn::model::Model for Nb201Network {
    fn name(&self) -> String {
        self.arch.to_string()
    }

    fn registry(&self) -> &ParamRegistry {
        &self.registry
    }

    fn input_shape(&self) -> [usize; 3] {
        let s = self.config.input_size;
        [3, s, s]
    }

    fn num_classes(&self) -> usize {
        self.config.classes
    }

    fn forward_logits(&self, f: &Forward, x: Tensor<4>) -> Tensor<2> {
        self.forward(f, x)
    }
}
