//! `NetworkCIFAR` and `NetworkImageNet` of the DARTS code (`model.py`) for a genotype: the
//! evaluation networks whose sizes the papers report. The auxiliary head is not built, as the
//! official parameter count excludes it; drop-path is a training-time detail and absent.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::nn::blocks::{DilConv, FactorizedReduce, SepConv};
use crate::nn::ctx::Forward;
use crate::nn::layers::{Linear, ReluConvBn, avg_pool, max_pool};
use crate::nn::model::Model;
use crate::nn::params::ParamRegistry;
use crate::spaces::darts::supernet::{DartsStem, Preprocess, Skeleton, Stem};
use crate::spaces::darts::{CellGenes, DartsOp, Genotype};

/// Macro skeleton of an evaluation network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalConfig {
    pub channels: usize,
    pub cells: usize,
    pub classes: usize,
    pub input_size: usize,
    pub stem: DartsStem,
}

impl EvalConfig {
    /// NetworkCIFAR as trained in the DARTS protocol: C = 36, 20 cells, 10 classes.
    pub fn cifar() -> Self {
        Self {
            channels: 36,
            cells: 20,
            classes: 10,
            input_size: 32,
            stem: DartsStem::Cifar,
        }
    }

    /// NetworkImageNet, mobile setting: C = 48, 14 cells, 1000 classes, 224 x 224.
    pub fn imagenet() -> Self {
        Self {
            channels: 48,
            cells: 14,
            classes: 1000,
            input_size: 224,
            stem: DartsStem::ImageNet,
        }
    }
}

#[derive(Clone, Debug)]
enum EvalOp {
    Zero { stride: usize },
    MaxPool { stride: usize },
    AvgPool { stride: usize },
    Identity,
    Reduce(FactorizedReduce),
    Sep(SepConv),
    Dil(DilConv),
}

impl EvalOp {
    fn register(
        reg: &mut ParamRegistry,
        prefix: &str,
        op: DartsOp,
        c: usize,
        stride: usize,
    ) -> Self {
        match op {
            DartsOp::None => Self::Zero { stride },
            DartsOp::MaxPool3x3 => Self::MaxPool { stride },
            DartsOp::AvgPool3x3 => Self::AvgPool { stride },
            DartsOp::SkipConnect if stride == 1 => Self::Identity,
            DartsOp::SkipConnect => {
                Self::Reduce(FactorizedReduce::register(reg, prefix, c, c, true))
            }
            DartsOp::SepConv3x3 => Self::Sep(SepConv::register(reg, prefix, c, 3, stride, true)),
            DartsOp::SepConv5x5 => Self::Sep(SepConv::register(reg, prefix, c, 5, stride, true)),
            DartsOp::DilConv3x3 => Self::Dil(DilConv::register(reg, prefix, c, 3, stride, true)),
            DartsOp::DilConv5x5 => Self::Dil(DilConv::register(reg, prefix, c, 5, stride, true)),
        }
    }

    fn forward(&self, f: &Forward, x: Tensor<4>) -> Tensor<4> {
        match self {
            // x[:, :, ::s, ::s] * 0: a 1x1 window with the stride picks exactly those pixels.
            Self::Zero { stride } => max_pool(x, 1, *stride, 0) * 0.0,
            Self::MaxPool { stride } => max_pool(x, 3, *stride, 1),
            Self::AvgPool { stride } => avg_pool(x, 3, *stride, 1),
            Self::Identity => x,
            Self::Reduce(op) => op.forward(f, f.relu(x)),
            Self::Sep(op) => op.forward(f, f.relu(x)),
            Self::Dil(op) => op.forward(f, f.relu(x)),
        }
    }
}

#[derive(Clone, Debug)]
struct EvalCell {
    preprocess0: Preprocess,
    preprocess1: ReluConvBn,
    ops: Vec<EvalOp>,
    inputs: Vec<usize>,
    concat: Vec<usize>,
}

/// A DARTS evaluation network.
#[derive(Clone, Debug)]
pub struct DartsEvalNet {
    pub config: EvalConfig,
    registry: ParamRegistry,
    stem: Stem,
    cells: Vec<EvalCell>,
    classifier: Linear,
}

impl DartsEvalNet {
    pub fn new(config: EvalConfig, genotype: &Genotype) -> Self {
        let mut reg = ParamRegistry::new();
        let skeleton = Skeleton {
            stem: config.stem,
            stem_width: match config.stem {
                DartsStem::Cifar => 3 * config.channels,
                DartsStem::ImageNet => config.channels,
            },
            channels: config.channels,
            cells: config.cells,
            affine: true,
        };
        let (stem, frames, c_p) = skeleton.register(&mut reg, |reg, frame| {
            let genes: &CellGenes = if frame.reduction {
                &genotype.reduce
            } else {
                &genotype.normal
            };
            let ops: Vec<EvalOp> = genes
                .genes
                .iter()
                .enumerate()
                .map(|(k, g)| {
                    let stride = if frame.reduction && g.input < 2 { 2 } else { 1 };
                    EvalOp::register(
                        reg,
                        &format!("{}._ops.{k}", frame.prefix),
                        g.op,
                        frame.channels,
                        stride,
                    )
                })
                .collect();
            ((ops, genes), genes.concat.len())
        });
        let cells = frames
            .into_iter()
            .map(|(frame, (ops, genes))| EvalCell {
                preprocess0: frame.preprocess0,
                preprocess1: frame.preprocess1,
                ops,
                inputs: genes.genes.iter().map(|g| g.input).collect(),
                concat: genes.concat.clone(),
            })
            .collect();
        let classifier = Linear::register(&mut reg, "classifier", c_p, config.classes);
        Self {
            config,
            registry: reg,
            stem,
            cells,
            classifier,
        }
    }

    pub fn registry(&self) -> &ParamRegistry {
        &self.registry
    }

    /// Logits of `x`.
    pub fn forward(&self, f: &Forward, x: Tensor<4>) -> Tensor<2> {
        let (mut s0, mut s1) = self.stem.forward(f, x);
        for cell in &self.cells {
            let mut states = vec![
                cell.preprocess0.forward(f, s0),
                cell.preprocess1.forward(f, s1.clone()),
            ];
            for (pair, ops) in cell.inputs.chunks(2).zip(cell.ops.chunks(2)) {
                let a = ops[0].forward(f, states[pair[0]].clone());
                let b = ops[1].forward(f, states[pair[1]].clone());
                states.push(a + b);
            }
            let out = Tensor::cat(cell.concat.iter().map(|&i| states[i].clone()).collect(), 1);
            s0 = s1;
            s1 = out;
        }
        self.classifier.forward(f, f.global_avg_pool(s1))
    }
}

impl Model for DartsEvalNet {
    fn name(&self) -> String {
        "DARTS evaluation network".into()
    }

    fn registry(&self) -> &ParamRegistry {
        self.registry()
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
