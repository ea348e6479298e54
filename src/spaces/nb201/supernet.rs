//! The NAS-Bench-201 search supernet (AutoDL `TinyNetworkDartsV1`, as FreeDARTS uses it):
//! stem, three stages of search cells joined by residual reduction blocks, `lastact`, global
//! pooling and a linear head. Every cell shares one 6x5 alpha.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::nn::blocks::ResNetBlock;
use crate::nn::ctx::Forward;
use crate::nn::kernels::{MixSlot, MixTerm, mix};
use crate::nn::layers::{BatchNorm, Conv2d, ConvShape, Linear, ReluConvBn, avg_pool_3x3_same};
use crate::nn::model::{AlphaGroup, Model};
use crate::nn::params::{ParamId, ParamRegistry};
use crate::spaces::nb201::{NB201_EDGES, NB201_NODES, Nb201Op, edge_label};

/// Macro skeleton of the NB201 supernet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nb201Config {
    /// Width of the first stage (C); stages run at C, 2C, 4C.
    pub channels: usize,
    /// Search cells per stage (N).
    pub cells_per_stage: usize,
    pub classes: usize,
    /// Input height and width (32 for CIFAR, 16 for ImageNet16-120).
    pub input_size: usize,
}

impl Default for Nb201Config {
    fn default() -> Self {
        Self {
            channels: 16,
            cells_per_stage: 5,
            classes: 10,
            input_size: 32,
        }
    }
}

/// Rows (edges) and columns (ops) of the NB201 alpha.
pub const NB201_ALPHA_SHAPE: [usize; 2] = [6, 5];

/// The parametrised candidates of one edge (`none`, `skip_connect` and `avg_pool_3x3` have no
/// tensors).
#[derive(Clone, Debug)]
struct EdgeOps {
    conv_1x1: ReluConvBn,
    conv_3x3: ReluConvBn,
}

/// Everything computed once per cell node for all the edges leaving it: every edge from a
/// node sees the same input, so the ReLU and the pooling are shared and the convolutions of
/// those edges run fused (outputs stacked along channels in `edges` order).
#[derive(Clone, Debug)]
struct SourceOps {
    /// Alpha rows of the edges leaving this node.
    edges: Vec<usize>,
    conv_1x1: ReluConvBn,
    conv_3x3: ReluConvBn,
}

impl SourceOps {
    fn fuse(reg: &mut ParamRegistry, from: usize, per_edge: &[EdgeOps]) -> Self {
        let edges: Vec<usize> = (0..NB201_EDGES.len())
            .filter(|&e| NB201_EDGES[e].1 == from)
            .collect();
        let pick = |op: fn(&EdgeOps) -> &ReluConvBn| -> Vec<&ReluConvBn> {
            edges.iter().map(|&e| op(&per_edge[e])).collect()
        };
        Self {
            conv_1x1: ReluConvBn::fused(reg, &pick(|e| &e.conv_1x1)),
            conv_3x3: ReluConvBn::fused(reg, &pick(|e| &e.conv_3x3)),
            edges,
        }
    }
}

#[derive(Clone, Debug)]
enum Layer {
    /// One `SourceOps` per node 0..2.
    Cell(Vec<SourceOps>),
    Reduction(Box<ResNetBlock>),
}

/// The NB201 search supernet: its layer structure and the names of all its tensors.
#[derive(Clone, Debug)]
pub struct Nb201Supernet {
    pub config: Nb201Config,
    registry: ParamRegistry,
    stem_conv: Conv2d,
    stem_bn: BatchNorm,
    layers: Vec<Layer>,
    lastact: BatchNorm,
    classifier: Linear,
    alpha: ParamId,
}

/// Output of a forward pass.
pub struct Nb201Output {
    /// Pooled feature after `lastact`, [N, 4C].
    pub feature: Tensor<2>,
    /// Logits, [N, classes].
    pub logits: Tensor<2>,
}

impl Nb201Supernet {
    pub fn new(config: Nb201Config) -> Self {
        let mut reg = ParamRegistry::new();
        let c = config.channels;
        let stem_conv = Conv2d::register(&mut reg, "stem.0", ConvShape::dense(3, c, 3, 1, 1));
        let stem_bn = BatchNorm::register(&mut reg, "stem.1", c, true);
        let n = config.cells_per_stage;
        let mut layers = Vec::new();
        let mut width = c;
        for stage in 0..3 {
            if stage > 0 {
                let prefix = format!("cells.{}", layers.len());
                layers.push(Layer::Reduction(Box::new(ResNetBlock::register(
                    &mut reg,
                    &prefix,
                    width,
                    width * 2,
                ))));
                width *= 2;
            }
            for _ in 0..n {
                let prefix = format!("cells.{}", layers.len());
                let edges: Vec<EdgeOps> = (0..NB201_EDGES.len())
                    .map(|e| {
                        let edge = format!("{prefix}.edges.{}", edge_label(e));
                        let op = |op: Nb201Op| format!("{edge}.{}", op.index());
                        EdgeOps {
                            conv_1x1: ReluConvBn::register(
                                &mut reg,
                                &op(Nb201Op::NorConv1x1),
                                ConvShape::dense(width, width, 1, 1, 0),
                                false,
                            ),
                            conv_3x3: ReluConvBn::register(
                                &mut reg,
                                &op(Nb201Op::NorConv3x3),
                                ConvShape::dense(width, width, 3, 1, 1),
                                false,
                            ),
                        }
                    })
                    .collect();
                let sources = (0..NB201_NODES - 1)
                    .map(|from| SourceOps::fuse(&mut reg, from, &edges))
                    .collect();
                layers.push(Layer::Cell(sources));
            }
        }
        let lastact = BatchNorm::register(&mut reg, "lastact.0", width, true);
        let classifier = Linear::register(&mut reg, "classifier", width, config.classes);
        // `arch_parameters` is alpha's state_dict name; the reference files also store it as
        // `arch_alpha`. Registered last: drawn after every weight.
        let alpha = reg.add_alpha(
            &["arch_parameters".into(), "arch_alpha".into()],
            NB201_ALPHA_SHAPE,
            1e-3,
        );
        Self {
            config,
            registry: reg,
            stem_conv,
            stem_bn,
            layers,
            lastact,
            classifier,
            alpha,
        }
    }

    pub fn registry(&self) -> &ParamRegistry {
        &self.registry
    }

    /// Forward pass; alpha ([6, 5]) is read from the pass like every other tensor.
    pub fn forward(&self, f: &Forward, x: Tensor<4>) -> Nb201Output {
        let alpha = f.params.r2(self.alpha);
        let mut h = self.stem_bn.forward(f, self.stem_conv.forward(f, x));
        for layer in &self.layers {
            h = match layer {
                Layer::Cell(edges) => cell_forward(f, edges, &alpha, h),
                Layer::Reduction(block) => block.forward(f, h),
            };
        }
        let h = f.relu(self.lastact.forward(f, h));
        let feature = f.global_avg_pool(h);
        let logits = self.classifier.forward(f, feature.clone());
        Nb201Output { feature, logits }
    }
}

/// node_i = sum_j sum_k alpha[row(i<-j), k] * op_k(node_j); the cell output is node 3. The
/// `none` op contributes an exact zero and is skipped. Sources are visited in order, so node
/// j is complete when its own out-edges are computed, and each node sums its in-edges in
/// increasing j, as the official code does. Each edge is one weighted sum ([`mix()`]) of its
/// candidates in op order, added to its target node.
fn cell_forward(
    f: &Forward,
    sources: &[SourceOps],
    alpha: &Tensor<2>,
    input: Tensor<4>,
) -> Tensor<4> {
    let mut nodes: Vec<Option<Tensor<4>>> = vec![Some(input), None, None, None];
    for (from, src) in sources.iter().enumerate() {
        let x = nodes[from]
            .clone()
            .expect("node is complete before its out-edges");
        let c = x.dims()[1];
        // The 1x1 branches come scaled by alpha when the scaled operation applies (it keeps
        // neither relu(x) nor their normalised maps), else as the other branches do.
        let alpha_entries = src
            .edges
            .iter()
            .map(|&e| (e, Nb201Op::NorConv1x1.index()))
            .collect();
        let (conv_1x1, conv_3x3, preweighted) =
            match src.conv_1x1.forward_scaled(f, &x, alpha, alpha_entries) {
                Some((scaled, relu_x)) => {
                    (scaled, src.conv_3x3.forward_after_relu(f, relu_x), true)
                }
                None => {
                    let [a, b] = ReluConvBn::forward_shared(f, &x, [&src.conv_1x1, &src.conv_3x3]);
                    (a, b, false)
                }
            };
        let pooled = avg_pool_3x3_same(x.clone());
        for (k, &e) in src.edges.iter().enumerate() {
            // The fused convolutions hold this edge's outputs in channel block k.
            let term = |tensor: &Tensor<4>, op: Nb201Op, offset: usize| MixTerm {
                tensor: tensor.clone(),
                slot: MixSlot {
                    offset,
                    row: e,
                    col: op.index(),
                    pool_of: None,
                    preweighted: false,
                },
            };
            // The pooled map is the pooling of the skip term x: the kernel recomputes it for
            // alpha's gradient instead of keeping it (one map less per node).
            let mut pooled = term(&pooled, Nb201Op::AvgPool3x3, 0);
            pooled.slot.pool_of = Some(0);
            let mut branch_1x1 = term(&conv_1x1, Nb201Op::NorConv1x1, k * c);
            branch_1x1.slot.preweighted = preweighted;
            let terms = vec![
                term(&x, Nb201Op::SkipConnect, 0),
                branch_1x1,
                term(&conv_3x3, Nb201Op::NorConv3x3, k * c),
                pooled,
            ];
            let to = NB201_EDGES[e].0;
            nodes[to] = Some(mix(nodes[to].take(), alpha, terms, c));
        }
    }
    nodes[NB201_NODES - 1]
        .take()
        .expect("cell output node is computed")
}

impl Model for Nb201Supernet {
    fn name(&self) -> String {
        "NB201 supernet".into()
    }

    fn registry(&self) -> &ParamRegistry {
        &self.registry
    }

    fn alpha_groups(&self) -> Vec<AlphaGroup> {
        vec![AlphaGroup {
            name: "alpha".into(),
            rows: (0..NB201_EDGES.len()).map(edge_label).collect(),
            cols: Nb201Op::ALL.iter().map(|op| op.name()).collect(),
            id: self.alpha,
        }]
    }

    fn input_shape(&self) -> [usize; 3] {
        [3, self.config.input_size, self.config.input_size]
    }

    fn num_classes(&self) -> usize {
        self.config.classes
    }

    fn forward_logits(&self, f: &Forward, x: Tensor<4>) -> Tensor<2> {
        self.forward(f, x).logits
    }
}
