//! Composite op types of the DARTS operation set (quark0/darts `operations.py`) and NB201's
//! residual reduction block, registered under the same module paths as the PyTorch code so
//! weights load by name. Each DARTS block also
//! fuses: k blocks of the same geometry applied to the same input run as one block on the
//! input repeated k times, with grouped (block-diagonal) convolutions and one BatchNorm over
//! the stacked channels. Per-channel BN and per-group convolution make this exact.

use burn::tensor::Tensor;

use super::ctx::Forward;
use super::layers::{BatchNorm, Conv2d, ConvShape, ReluConvBn, avg_pool};
use super::params::ParamRegistry;

/// Depthwise k x k conv (stride, dilation) -> pointwise 1x1 conv -> BN, after a ReLU that the
/// caller applies (it is shared by every op reading the same input).
#[derive(Clone, Debug)]
pub struct DwPwBn {
    pub depthwise: Conv2d,
    pub pointwise: Conv2d,
    pub bn: BatchNorm,
}

/// Geometry of one depthwise-separable stage.
#[derive(Clone, Copy, Debug)]
pub struct DwShape {
    pub c_in: usize,
    pub c_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

impl DwPwBn {
    /// Registers `<prefix>.<first>` (depthwise), `.<first+1>` (pointwise), `.<first+2>` (BN).
    fn register(
        reg: &mut ParamRegistry,
        prefix: &str,
        first: usize,
        s: DwShape,
        affine: bool,
    ) -> Self {
        let depthwise = Conv2d::register(
            reg,
            &format!("{prefix}.{first}"),
            ConvShape {
                c_in: s.c_in,
                c_out: s.c_in,
                kernel: s.kernel,
                stride: s.stride,
                padding: s.padding,
                dilation: s.dilation,
                groups: s.c_in,
            },
        );
        let pointwise = Conv2d::register(
            reg,
            &format!("{prefix}.{}", first + 1),
            ConvShape::dense(s.c_in, s.c_out, 1, 1, 0),
        );
        let bn = BatchNorm::register(reg, &format!("{prefix}.{}", first + 2), s.c_out, affine);
        Self {
            depthwise,
            pointwise,
            bn,
        }
    }

    fn fused(reg: &mut ParamRegistry, members: &[&DwPwBn]) -> Self {
        let pick = |f: fn(&DwPwBn) -> &Conv2d| members.iter().map(|m| f(m)).collect::<Vec<_>>();
        let bns: Vec<&BatchNorm> = members.iter().map(|m| &m.bn).collect();
        Self {
            depthwise: Conv2d::fused_block_diagonal(reg, &pick(|m| &m.depthwise)),
            pointwise: Conv2d::fused_block_diagonal(reg, &pick(|m| &m.pointwise)),
            bn: BatchNorm::fused(reg, &bns),
        }
    }

    fn forward(&self, f: &Forward, relu_x: Tensor<4>) -> Tensor<4> {
        let y = self.depthwise.forward(f, relu_x);
        self.bn.forward(f, self.pointwise.forward(f, y))
    }
}

/// `SepConv`: (ReLU, depthwise, pointwise, BN) twice, the first depthwise with the stride.
/// Registered as `.op.1/.op.2/.op.3` and `.op.5/.op.6/.op.7` (indices 0 and 4 are ReLUs).
#[derive(Clone, Debug)]
pub struct SepConv {
    pub first: DwPwBn,
    pub second: DwPwBn,
}

impl SepConv {
    pub fn register(
        reg: &mut ParamRegistry,
        prefix: &str,
        channels: usize,
        kernel: usize,
        stride: usize,
        affine: bool,
    ) -> Self {
        let op = format!("{prefix}.op");
        let shape = |stride| DwShape {
            c_in: channels,
            c_out: channels,
            kernel,
            stride,
            padding: kernel / 2,
            dilation: 1,
        };
        Self {
            first: DwPwBn::register(reg, &op, 1, shape(stride), affine),
            second: DwPwBn::register(reg, &op, 5, shape(1), affine),
        }
    }

    pub fn fused(reg: &mut ParamRegistry, members: &[&SepConv]) -> Self {
        let firsts: Vec<_> = members.iter().map(|m| &m.first).collect();
        let seconds: Vec<_> = members.iter().map(|m| &m.second).collect();
        Self {
            first: DwPwBn::fused(reg, &firsts),
            second: DwPwBn::fused(reg, &seconds),
        }
    }

    /// `relu_x` is the input after its (shared) first ReLU.
    pub fn forward(&self, f: &Forward, relu_x: Tensor<4>) -> Tensor<4> {
        let y = self.first.forward(f, relu_x);
        self.second.forward(f, f.relu(y))
    }
}

/// `DilConv`: ReLU, depthwise with dilation 2 (and the stride), pointwise, BN. Registered as
/// `.op.1/.op.2/.op.3`.
#[derive(Clone, Debug)]
pub struct DilConv(pub DwPwBn);

impl DilConv {
    pub fn register(
        reg: &mut ParamRegistry,
        prefix: &str,
        channels: usize,
        kernel: usize,
        stride: usize,
        affine: bool,
    ) -> Self {
        let shape = DwShape {
            c_in: channels,
            c_out: channels,
            kernel,
            stride,
            padding: kernel - 1,
            dilation: 2,
        };
        Self(DwPwBn::register(
            reg,
            &format!("{prefix}.op"),
            1,
            shape,
            affine,
        ))
    }

    pub fn fused(reg: &mut ParamRegistry, members: &[&DilConv]) -> Self {
        let inner: Vec<_> = members.iter().map(|m| &m.0).collect();
        Self(DwPwBn::fused(reg, &inner))
    }

    pub fn forward(&self, f: &Forward, relu_x: Tensor<4>) -> Tensor<4> {
        self.0.forward(f, relu_x)
    }
}

/// `FactorizedReduce`: after a ReLU, two stride-2 1x1 convolutions, one on x and one on x
/// shifted by one pixel, concatenated along channels, then BN. Halves the resolution without
/// dropping every other pixel. Registered as `.conv_1`, `.conv_2`, `.bn`.
#[derive(Clone, Debug)]
pub struct FactorizedReduce {
    pub conv_1: Conv2d,
    pub conv_2: Conv2d,
    pub bn: BatchNorm,
}

impl FactorizedReduce {
    pub fn register(
        reg: &mut ParamRegistry,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        affine: bool,
    ) -> Self {
        let half = ConvShape::dense(c_in, c_out / 2, 1, 2, 0);
        Self {
            conv_1: Conv2d::register(reg, &format!("{prefix}.conv_1"), half),
            conv_2: Conv2d::register(reg, &format!("{prefix}.conv_2"), half),
            bn: BatchNorm::register(reg, &format!("{prefix}.bn"), c_out, affine),
        }
    }

    /// `relu_x` is the input after its ReLU.
    pub fn forward(&self, f: &Forward, relu_x: Tensor<4>) -> Tensor<4> {
        let [n, c, h, w] = relu_x.dims();
        let shifted = relu_x.clone().slice([0..n, 0..c, 1..h, 1..w]);
        let out = Tensor::cat(
            vec![
                self.conv_1.forward(f, relu_x),
                self.conv_2.forward(f, shifted),
            ],
            1,
        );
        self.bn.forward(f, out)
    }
}

/// NB201's `ResNetBasicblock` between stages: conv_a (stride 2) -> conv_b, plus an avg-pool +
/// 1x1 conv shortcut (no BN, no ReLU). Shared by the supernet and the evaluation network.
#[derive(Clone, Debug)]
pub struct ResNetBlock {
    conv_a: ReluConvBn,
    conv_b: ReluConvBn,
    shortcut: Conv2d,
}

impl ResNetBlock {
    pub fn register(reg: &mut ParamRegistry, prefix: &str, c_in: usize, c_out: usize) -> Self {
        Self {
            conv_a: ReluConvBn::register(
                reg,
                &format!("{prefix}.conv_a"),
                ConvShape::dense(c_in, c_out, 3, 2, 1),
                true,
            ),
            conv_b: ReluConvBn::register(
                reg,
                &format!("{prefix}.conv_b"),
                ConvShape::dense(c_out, c_out, 3, 1, 1),
                true,
            ),
            shortcut: Conv2d::register(
                reg,
                &format!("{prefix}.downsample.1"),
                ConvShape::dense(c_in, c_out, 1, 1, 0),
            ),
        }
    }

    pub fn forward(&self, f: &Forward, x: Tensor<4>) -> Tensor<4> {
        let main = self.conv_b.forward(f, self.conv_a.forward(f, x.clone()));
        let short = self.shortcut.forward(f, avg_pool(x, 2, 2, 0));
        short + main
    }
}
