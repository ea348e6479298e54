//! The DARTS search supernet (`model_search.py`, and `model_search_imagenet.py` for the
//! ImageNet stems): L cells with reductions at L/3 and 2L/3, two preprocessed inputs per cell,
//! four intermediate nodes fed by 14 mixed edges, the concatenation of the four nodes as cell
//! output, global pooling and a linear head. alpha_normal and alpha_reduce (14 x 8) are shared
//! by all cells of their kind, or, with `alpha_per_cell`, every cell has its own.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::nn::blocks::{DilConv, FactorizedReduce, SepConv};
use crate::nn::ctx::{BnMode, Forward};
use crate::nn::kernels::{MixSlot, MixTerm, mix};
use crate::nn::layers::{
    BatchNorm, Conv2d, ConvShape, Linear, ReluConvBn, avg_pool, avg_pool_3x3_same,
};
use crate::nn::params::{ParamId, ParamRegistry};
use crate::spaces::darts::{DARTS_EDGES, DARTS_STEPS, DartsOp, edge_label};

use crate::nn::model::{AlphaGroup, Model};

/// The two stems of the DARTS code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DartsStem {
    /// Conv 3x3 (3 -> 3C) + BN, at full resolution.
    Cifar,
    /// Two stride-2 stems down to 1/8 of the input (ImageNet mobile setting).
    ImageNet,
}

/// Macro skeleton of a DARTS supernet.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DartsConfig {
    /// Initial cell width C.
    pub channels: usize,
    /// Number of cells L.
    pub cells: usize,
    pub classes: usize,
    pub input_size: usize,
    pub stem: DartsStem,
    /// Give every cell its own alpha (and its own derived cell).
    pub alpha_per_cell: bool,
    /// alpha = alpha_scale * N(0, 1).
    pub alpha_scale: f64,
}

impl DartsConfig {
    /// FreeDARTS (8 cells) and FreeDARTS dagger (20 cells): C = 16, CIFAR-10 head, 32 x 32.
    pub fn cifar(cells: usize) -> Self {
        Self {
            channels: 16,
            cells,
            classes: 10,
            input_size: 32,
            stem: DartsStem::Cifar,
            alpha_per_cell: false,
            alpha_scale: 1e-3,
        }
    }

    /// FreeDARTS double dagger: 14 cells, C = 48, ImageNet stems, 224 x 224, 1000 classes.
    pub fn imagenet() -> Self {
        Self {
            channels: 48,
            cells: 14,
            classes: 1000,
            input_size: 224,
            stem: DartsStem::ImageNet,
            alpha_per_cell: false,
            alpha_scale: 5e-4,
        }
    }
}

/// Parametrised candidates of one mixed edge, registered in PRIMITIVES order.
#[derive(Clone, Debug)]
struct MixedEdge {
    max_pool_bn: BatchNorm,
    avg_pool_bn: BatchNorm,
    /// FactorizedReduce on stride-2 edges; identity otherwise.
    skip_reduce: Option<FactorizedReduce>,
    sep_3x3: SepConv,
    sep_5x5: SepConv,
    dil_3x3: DilConv,
    dil_5x5: DilConv,
}

impl MixedEdge {
    fn register(reg: &mut ParamRegistry, prefix: &str, c: usize, stride: usize) -> Self {
        let op = |o: DartsOp| format!("{prefix}._ops.{}", o.index());
        let max_pool_bn =
            BatchNorm::register(reg, &format!("{}.1", op(DartsOp::MaxPool3x3)), c, false);
        let avg_pool_bn =
            BatchNorm::register(reg, &format!("{}.1", op(DartsOp::AvgPool3x3)), c, false);
        let skip_reduce = (stride == 2)
            .then(|| FactorizedReduce::register(reg, &op(DartsOp::SkipConnect), c, c, false));
        Self {
            max_pool_bn,
            avg_pool_bn,
            skip_reduce,
            sep_3x3: SepConv::register(reg, &op(DartsOp::SepConv3x3), c, 3, stride, false),
            sep_5x5: SepConv::register(reg, &op(DartsOp::SepConv5x5), c, 5, stride, false),
            dil_3x3: DilConv::register(reg, &op(DartsOp::DilConv3x3), c, 3, stride, false),
            dil_5x5: DilConv::register(reg, &op(DartsOp::DilConv5x5), c, 5, stride, false),
        }
    }
}

/// All edges leaving one cell state, computed together: they read the same input, so the
/// ReLU and the pools are shared and the convolutional ops run fused on the input repeated
/// once per edge (see [`crate::nn::blocks`]).
#[derive(Clone, Debug)]
struct SourceBlock {
    /// Alpha rows of the edges leaving this state, ascending.
    edges: Vec<usize>,
    stride: usize,
    /// Per edge: running statistics differ between edges, which only `--bn eval` reads.
    max_pool_bns: Vec<BatchNorm>,
    avg_pool_bns: Vec<BatchNorm>,
    skip_reduces: Vec<Option<FactorizedReduce>>,
    sep_3x3: SepConv,
    sep_5x5: SepConv,
    dil_3x3: DilConv,
    dil_5x5: DilConv,
}

impl SourceBlock {
    fn fuse(reg: &mut ParamRegistry, from: usize, edges: &[MixedEdge], stride: usize) -> Self {
        let rows: Vec<usize> = (0..DARTS_EDGES.len())
            .filter(|&e| DARTS_EDGES[e].1 == from)
            .collect();
        let members: Vec<&MixedEdge> = rows.iter().map(|&e| &edges[e]).collect();
        let sep =
            |pick: fn(&MixedEdge) -> &SepConv| members.iter().map(|m| pick(m)).collect::<Vec<_>>();
        let dil =
            |pick: fn(&MixedEdge) -> &DilConv| members.iter().map(|m| pick(m)).collect::<Vec<_>>();
        Self {
            stride,
            max_pool_bns: members.iter().map(|m| m.max_pool_bn.clone()).collect(),
            avg_pool_bns: members.iter().map(|m| m.avg_pool_bn.clone()).collect(),
            skip_reduces: members.iter().map(|m| m.skip_reduce.clone()).collect(),
            sep_3x3: SepConv::fused(reg, &sep(|m| &m.sep_3x3)),
            sep_5x5: SepConv::fused(reg, &sep(|m| &m.sep_5x5)),
            dil_3x3: DilConv::fused(reg, &dil(|m| &m.dil_3x3)),
            dil_5x5: DilConv::fused(reg, &dil(|m| &m.dil_5x5)),
            edges: rows,
        }
    }
}

/// How a cell adapts its two inputs to its width.
#[derive(Clone, Debug)]
pub(crate) enum Preprocess {
    Plain(ReluConvBn),
    Reduce(FactorizedReduce),
}

impl Preprocess {
    /// `preprocess0`: a FactorizedReduce when the previous cell halved the resolution (s0 is
    /// then twice as large as s1), else ReLU-conv1x1-BN.
    pub(crate) fn register(
        reg: &mut ParamRegistry,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        reduce: bool,
        affine: bool,
    ) -> Self {
        if reduce {
            Self::Reduce(FactorizedReduce::register(reg, prefix, c_in, c_out, affine))
        } else {
            Self::Plain(ReluConvBn::register(
                reg,
                prefix,
                ConvShape::dense(c_in, c_out, 1, 1, 0),
                affine,
            ))
        }
    }

    pub(crate) fn forward(&self, f: &Forward, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::Plain(op) => op.forward(f, x),
            Self::Reduce(op) => op.forward(f, f.relu(x)),
        }
    }
}

#[derive(Clone, Debug)]
struct Cell {
    reduction: bool,
    channels: usize,
    preprocess0: Preprocess,
    preprocess1: ReluConvBn,
    /// One block per state 0..=4 (state 5 feeds nothing).
    sources: Vec<SourceBlock>,
}

/// The stem of a DARTS network (search or evaluation: both use the same layers).
#[derive(Clone, Debug)]
pub(crate) enum Stem {
    Cifar { conv: Conv2d, bn: BatchNorm },
    ImageNet(Box<ImageNetStem>),
}

/// `stem0` (conv s2, BN, ReLU, conv s2, BN) and `stem1` (ReLU, conv s2, BN).
#[derive(Clone, Debug)]
pub(crate) struct ImageNetStem {
    conv0a: Conv2d,
    bn0a: BatchNorm,
    conv0b: Conv2d,
    bn0b: BatchNorm,
    conv1: Conv2d,
    bn1: BatchNorm,
}

impl Stem {
    /// Registers a stem of output width `c`; returns it with the widths of the first cell's
    /// two inputs and whether the first cell must reduce s0 (the ImageNet s0 has twice s1's
    /// resolution). The search networks use c = 3C (`stem_multiplier`), as does
    /// NetworkCIFAR; NetworkImageNet uses c = C.
    pub(crate) fn register(
        reg: &mut ParamRegistry,
        kind: DartsStem,
        c: usize,
    ) -> (Self, usize, usize, bool) {
        match kind {
            DartsStem::Cifar => {
                let stem = Self::Cifar {
                    conv: Conv2d::register(reg, "stem.0", ConvShape::dense(3, c, 3, 1, 1)),
                    bn: BatchNorm::register(reg, "stem.1", c, true),
                };
                (stem, c, c, false)
            }
            DartsStem::ImageNet => {
                let stem = Self::ImageNet(Box::new(ImageNetStem {
                    conv0a: Conv2d::register(reg, "stem0.0", ConvShape::dense(3, c / 2, 3, 2, 1)),
                    bn0a: BatchNorm::register(reg, "stem0.1", c / 2, true),
                    conv0b: Conv2d::register(reg, "stem0.3", ConvShape::dense(c / 2, c, 3, 2, 1)),
                    bn0b: BatchNorm::register(reg, "stem0.4", c, true),
                    conv1: Conv2d::register(reg, "stem1.1", ConvShape::dense(c, c, 3, 2, 1)),
                    bn1: BatchNorm::register(reg, "stem1.2", c, true),
                }));
                (stem, c, c, true)
            }
        }
    }

    /// The two inputs (s0, s1) of the first cell.
    pub(crate) fn forward(&self, f: &Forward, x: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        match self {
            Self::Cifar { conv, bn } => {
                let s = bn.forward(f, conv.forward(f, x));
                (s.clone(), s)
            }
            Self::ImageNet(st) => {
                let h = f.relu(st.bn0a.forward(f, st.conv0a.forward(f, x)));
                let s0 = st.bn0b.forward(f, st.conv0b.forward(f, h));
                let s1 = st.bn1.forward(f, st.conv1.forward(f, f.relu(s0.clone())));
                (s0, s1)
            }
        }
    }
}

/// The macro skeleton that search and evaluation networks share: stem, then per cell its
/// reduction flag, width and input preprocessing.
pub(crate) struct Skeleton {
    pub stem: DartsStem,
    /// Output width of the stem.
    pub stem_width: usize,
    /// Initial cell width C; doubles at each reduction cell (L/3 and 2L/3).
    pub channels: usize,
    pub cells: usize,
    /// BN affine in the preprocessing (evaluation networks) or not (search).
    pub affine: bool,
}

/// One cell of a [`Skeleton`], with its preprocessing already registered.
pub(crate) struct CellFrame {
    /// Module path, `cells.{i}`.
    pub prefix: String,
    pub reduction: bool,
    pub channels: usize,
    pub preprocess0: Preprocess,
    pub preprocess1: ReluConvBn,
}

impl Skeleton {
    /// Registers the stem and every cell in construction order; `body` registers a cell's ops
    /// (after its preprocessing, as PyTorch builds them) and returns them with the number of
    /// nodes the cell concatenates. Returns the stem, the cells and the final width.
    pub(crate) fn register<T>(
        &self,
        reg: &mut ParamRegistry,
        mut body: impl FnMut(&mut ParamRegistry, &CellFrame) -> (T, usize),
    ) -> (Stem, Vec<(CellFrame, T)>, usize) {
        let (stem, mut c_pp, mut c_p, mut reduction_prev) =
            Stem::register(reg, self.stem, self.stem_width);
        let mut c_cur = self.channels;
        let mut cells = Vec::with_capacity(self.cells);
        for i in 0..self.cells {
            let reduction = i == self.cells / 3 || i == 2 * self.cells / 3;
            if reduction {
                c_cur *= 2;
            }
            let prefix = format!("cells.{i}");
            let preprocess0 = Preprocess::register(
                reg,
                &format!("{prefix}.preprocess0"),
                c_pp,
                c_cur,
                reduction_prev,
                self.affine,
            );
            let preprocess1 = ReluConvBn::register(
                reg,
                &format!("{prefix}.preprocess1"),
                ConvShape::dense(c_p, c_cur, 1, 1, 0),
                self.affine,
            );
            let frame = CellFrame {
                prefix,
                reduction,
                channels: c_cur,
                preprocess0,
                preprocess1,
            };
            let (ops, concat) = body(reg, &frame);
            cells.push((frame, ops));
            reduction_prev = reduction;
            c_pp = c_p;
            c_p = concat * c_cur;
        }
        (stem, cells, c_p)
    }
}

/// The DARTS search supernet.
#[derive(Clone, Debug)]
pub struct DartsSupernet {
    pub config: DartsConfig,
    registry: ParamRegistry,
    stem: Stem,
    cells: Vec<Cell>,
    classifier: Linear,
    alphas: Vec<ParamId>,
}

impl DartsSupernet {
    pub fn new(config: DartsConfig) -> Self {
        let mut reg = ParamRegistry::new();
        let skeleton = Skeleton {
            stem: config.stem,
            stem_width: 3 * config.channels,
            channels: config.channels,
            cells: config.cells,
            affine: false,
        };
        let (stem, frames, c_p) = skeleton.register(&mut reg, |reg, frame| {
            let stride_of = |from: usize| if frame.reduction && from < 2 { 2 } else { 1 };
            let edges: Vec<MixedEdge> = DARTS_EDGES
                .iter()
                .enumerate()
                .map(|(e, &(_, from))| {
                    MixedEdge::register(
                        reg,
                        &format!("{}._ops.{e}", frame.prefix),
                        frame.channels,
                        stride_of(from),
                    )
                })
                .collect();
            let sources: Vec<SourceBlock> = (0..DARTS_STEPS + 1)
                .map(|from| SourceBlock::fuse(reg, from, &edges, stride_of(from)))
                .collect();
            (sources, DARTS_STEPS)
        });
        let cells: Vec<Cell> = frames
            .into_iter()
            .map(|(frame, sources)| Cell {
                reduction: frame.reduction,
                channels: frame.channels,
                preprocess0: frame.preprocess0,
                preprocess1: frame.preprocess1,
                sources,
            })
            .collect();
        let classifier = Linear::register(&mut reg, "classifier", c_p, config.classes);
        let alphas = register_alphas(&mut reg, &config, &cells);
        Self {
            config,
            registry: reg,
            stem,
            cells,
            classifier,
            alphas,
        }
    }

    /// Which alpha group cell `i` reads.
    pub fn alpha_group_of(&self, i: usize) -> usize {
        if self.config.alpha_per_cell {
            i
        } else {
            usize::from(self.cells[i].reduction)
        }
    }

    /// Whether cell i is a reduction cell.
    pub fn is_reduction(&self, i: usize) -> bool {
        self.cells[i].reduction
    }

    /// Pooled feature [N, 4 C_last] of the last cell and the logits.
    pub fn forward(&self, f: &Forward, x: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        let alphas: Vec<Tensor<2>> = self.alphas.iter().map(|&id| f.params.r2(id)).collect();
        let (mut s0, mut s1) = self.stem.forward(f, x);
        for (i, cell) in self.cells.iter().enumerate() {
            let out = cell_forward(f, cell, &alphas[self.alpha_group_of(i)], s0, s1.clone());
            s0 = s1;
            s1 = out;
        }
        let feature = f.global_avg_pool(s1);
        let logits = self.classifier.forward(f, feature.clone());
        (feature, logits)
    }
}

/// Node n = sum over its in-edges (in input order) of the mixed op, each mixed op summing its
/// candidates in PRIMITIVES order (one [`mix()`]); output = concat(nodes 2..5).
fn cell_forward(
    f: &Forward,
    cell: &Cell,
    alpha: &Tensor<2>,
    s0: Tensor<4>,
    s1: Tensor<4>,
) -> Tensor<4> {
    let c = cell.channels;
    let mut states: Vec<Option<Tensor<4>>> = vec![None; 2 + DARTS_STEPS];
    states[0] = Some(cell.preprocess0.forward(f, s0));
    states[1] = Some(cell.preprocess1.forward(f, s1));
    for (from, src) in cell.sources.iter().enumerate() {
        let x = states[from]
            .clone()
            .expect("state is complete before its out-edges");
        let k = src.edges.len();
        let relu_x = f.relu(x.clone());
        let stacked = if k > 1 {
            relu_x.clone().repeat_dim(1, k)
        } else {
            relu_x.clone()
        };
        let sep_3x3 = src.sep_3x3.forward(f, stacked.clone());
        let sep_5x5 = src.sep_5x5.forward(f, stacked.clone());
        let dil_3x3 = src.dil_3x3.forward(f, stacked.clone());
        let dil_5x5 = src.dil_5x5.forward(f, stacked);
        let (max_pooled, avg_pooled) = if src.stride == 1 {
            (f.max_pool(x.clone(), 3, 1, 1), avg_pool_3x3_same(x.clone()))
        } else {
            (f.max_pool(x.clone(), 3, 2, 1), avg_pool(x.clone(), 3, 2, 1))
        };
        // Without running statistics (train mode, or no BN) every edge's pool BN computes the
        // same thing from the same input: do it once.
        let shared_bn = f.bn != BnMode::Eval;
        let shared_max = shared_bn.then(|| src.max_pool_bns[0].forward(f, max_pooled.clone()));
        let shared_avg = shared_bn.then(|| src.avg_pool_bns[0].forward(f, avg_pooled.clone()));
        for (idx, &e) in src.edges.iter().enumerate() {
            let max_bn = shared_max
                .clone()
                .unwrap_or_else(|| src.max_pool_bns[idx].forward(f, max_pooled.clone()));
            let avg_bn = shared_avg
                .clone()
                .unwrap_or_else(|| src.avg_pool_bns[idx].forward(f, avg_pooled.clone()));
            let skip = match &src.skip_reduces[idx] {
                Some(reduce) => reduce.forward(f, relu_x.clone()),
                None => x.clone(),
            };
            // The fused convolutions hold this edge's outputs in channel block idx.
            let term = |tensor: Tensor<4>, op: DartsOp, offset: usize| MixTerm {
                tensor,
                slot: MixSlot {
                    offset,
                    row: e,
                    col: op.index(),
                    pool_of: None,
                    preweighted: false,
                },
            };
            let terms = vec![
                term(max_bn, DartsOp::MaxPool3x3, 0),
                term(avg_bn, DartsOp::AvgPool3x3, 0),
                term(skip, DartsOp::SkipConnect, 0),
                term(sep_3x3.clone(), DartsOp::SepConv3x3, idx * c),
                term(sep_5x5.clone(), DartsOp::SepConv5x5, idx * c),
                term(dil_3x3.clone(), DartsOp::DilConv3x3, idx * c),
                term(dil_5x5.clone(), DartsOp::DilConv5x5, idx * c),
            ];
            let to = DARTS_EDGES[e].0;
            states[to] = Some(mix(states[to].take(), alpha, terms, c));
        }
    }
    let nodes = states
        .drain(2..)
        .map(|s| s.expect("every node has in-edges"))
        .collect();
    Tensor::cat(nodes, 1)
}

/// The alphas, registered after every weight (so drawn last): `alpha_normal`/`alpha_reduce`
/// as the reference files store them; per-cell alphas as `alpha_cell{i}`, read from the shared
/// ones when a file has only those.
fn register_alphas(reg: &mut ParamRegistry, config: &DartsConfig, cells: &[Cell]) -> Vec<ParamId> {
    let shape = [DARTS_EDGES.len(), DartsOp::ALL.len()];
    let kind = |reduction: bool| {
        if reduction {
            "alpha_reduce"
        } else {
            "alpha_normal"
        }
    };
    if config.alpha_per_cell {
        cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let names = [format!("alpha_cell{i}"), kind(cell.reduction).into()];
                reg.add_alpha(&names, shape, config.alpha_scale)
            })
            .collect()
    } else {
        [false, true]
            .iter()
            .map(|&r| reg.add_alpha(&[kind(r).into()], shape, config.alpha_scale))
            .collect()
    }
}

impl Model for DartsSupernet {
    fn name(&self) -> String {
        "DARTS supernet".into()
    }

    fn registry(&self) -> &ParamRegistry {
        &self.registry
    }

    fn alpha_groups(&self) -> Vec<AlphaGroup> {
        let rows: Vec<String> = (0..DARTS_EDGES.len()).map(edge_label).collect();
        let cols: Vec<&'static str> = DartsOp::ALL.iter().map(|op| op.name()).collect();
        let names: Vec<String> = if self.config.alpha_per_cell {
            (0..self.cells.len()).map(|i| format!("cell{i}")).collect()
        } else {
            vec!["normal".into(), "reduce".into()]
        };
        names
            .into_iter()
            .zip(&self.alphas)
            .map(|(name, &id)| AlphaGroup {
                name,
                rows: rows.clone(),
                cols: cols.clone(),
                id,
            })
            .collect()
    }

    fn input_shape(&self) -> [usize; 3] {
        [3, self.config.input_size, self.config.input_size]
    }

    fn num_classes(&self) -> usize {
        self.config.classes
    }

    fn forward_logits(&self, f: &Forward, x: Tensor<4>) -> Tensor<2> {
        self.forward(f, x).1
    }
}
