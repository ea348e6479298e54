//! Layer types shared by every search space. Each layer registers its tensors under the
//! PyTorch module path it is given, and runs functionally on a [`Forward`] pass.

use burn::tensor::module::{avg_pool2d, batch_norm, batch_norm_train, conv2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions};
use burn::tensor::{Tensor, TensorCreationOptions};

use super::ctx::{BnMode, Forward};
use super::params::{ParamId, ParamKind, ParamRegistry};

/// PyTorch's BatchNorm epsilon.
pub const BN_EPS: f64 = 1e-5;

/// 2-D convolution without bias, square kernel.
#[derive(Clone, Debug)]
pub struct Conv2d {
    pub weight: ParamId,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
}

/// Geometry of a square convolution.
#[derive(Clone, Copy, Debug)]
pub struct ConvShape {
    pub c_in: usize,
    pub c_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
}

impl ConvShape {
    /// A dense convolution with dilation 1.
    pub fn dense(c_in: usize, c_out: usize, kernel: usize, stride: usize, padding: usize) -> Self {
        Self {
            c_in,
            c_out,
            kernel,
            stride,
            padding,
            dilation: 1,
            groups: 1,
        }
    }
}

impl Conv2d {
    /// Registers `<prefix>.weight` of shape [c_out, c_in / groups, k, k].
    pub fn register(reg: &mut ParamRegistry, prefix: &str, s: ConvShape) -> Self {
        let c_in_group = s.c_in / s.groups;
        let fan_in = c_in_group * s.kernel * s.kernel;
        let weight = reg.add(
            format!("{prefix}.weight"),
            &[s.c_out, c_in_group, s.kernel, s.kernel],
            ParamKind::Weight { fan_in },
        );
        Self {
            weight,
            stride: s.stride,
            padding: s.padding,
            dilation: s.dilation,
            groups: s.groups,
        }
    }

    pub fn forward(&self, f: &Forward, x: Tensor<4>) -> Tensor<4> {
        let options = ConvOptions::new(
            [self.stride; 2],
            [self.padding; 2],
            [self.dilation; 2],
            self.groups,
        );
        conv2d(x, f.params.r4(self.weight), None, options)
    }
}

/// BatchNorm2d with running statistics; `affine = false` has no gamma/beta tensors.
#[derive(Clone, Debug)]
pub struct BatchNorm {
    pub gamma: Option<ParamId>,
    pub beta: Option<ParamId>,
    pub running_mean: ParamId,
    pub running_var: ParamId,
    pub channels: usize,
}

impl BatchNorm {
    /// Registers the tensors in PyTorch's state_dict order: weight, bias, running_mean,
    /// running_var, num_batches_tracked.
    pub fn register(reg: &mut ParamRegistry, prefix: &str, channels: usize, affine: bool) -> Self {
        let (gamma, beta) = if affine {
            (
                Some(reg.add(format!("{prefix}.weight"), &[channels], ParamKind::BnGamma)),
                Some(reg.add(format!("{prefix}.bias"), &[channels], ParamKind::BnBeta)),
            )
        } else {
            (None, None)
        };
        let running_mean = reg.add(
            format!("{prefix}.running_mean"),
            &[channels],
            ParamKind::RunningMean,
        );
        let running_var = reg.add(
            format!("{prefix}.running_var"),
            &[channels],
            ParamKind::RunningVar,
        );
        reg.add(
            format!("{prefix}.num_batches_tracked"),
            &[],
            ParamKind::BatchCounter,
        );
        Self {
            gamma,
            beta,
            running_mean,
            running_var,
            channels,
        }
    }

    pub fn forward(&self, f: &Forward, x: Tensor<4>) -> Tensor<4> {
        if f.bn == BnMode::None {
            return x;
        }
        let options = TensorCreationOptions::new(x.device()).with_dtype(x.dtype());
        let gamma = self
            .gamma
            .map(|id| f.params.r1(id))
            .unwrap_or_else(|| Tensor::ones([self.channels], options.clone()));
        let beta = self
            .beta
            .map(|id| f.params.r1(id))
            .unwrap_or_else(|| Tensor::zeros([self.channels], options));
        match f.bn {
            BnMode::Train => batch_norm_train(x, gamma, beta, BN_EPS).output,
            BnMode::Eval => batch_norm(
                x,
                gamma,
                beta,
                f.params.r1(self.running_mean),
                f.params.r1(self.running_var),
                BN_EPS,
            ),
            BnMode::None => unreachable!(),
        }
    }
}

/// ReLU -> Conv -> BN, registered as `<prefix>.op.1` (conv) and `<prefix>.op.2` (BN): the
/// NB201 `ReLUConvBN` and the DARTS `ReLUConvBN` share this layout.
#[derive(Clone, Debug)]
pub struct ReluConvBn {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

impl ReluConvBn {
    pub fn register(reg: &mut ParamRegistry, prefix: &str, s: ConvShape, affine: bool) -> Self {
        let conv = Conv2d::register(reg, &format!("{prefix}.op.1"), s);
        let bn = BatchNorm::register(reg, &format!("{prefix}.op.2"), s.c_out, affine);
        Self { conv, bn }
    }

    pub fn forward(&self, f: &Forward, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(f, self.conv.forward(f, f.relu(x)))
    }
}

/// Fully connected layer with bias, PyTorch layout (weight [out, in]).
#[derive(Clone, Debug)]
pub struct Linear {
    pub weight: ParamId,
    pub bias: ParamId,
}

impl Linear {
    pub fn register(reg: &mut ParamRegistry, prefix: &str, d_in: usize, d_out: usize) -> Self {
        let weight = reg.add(
            format!("{prefix}.weight"),
            &[d_out, d_in],
            ParamKind::Weight { fan_in: d_in },
        );
        let bias = reg.add(
            format!("{prefix}.bias"),
            &[d_out],
            ParamKind::Bias { fan_in: d_in },
        );
        Self { weight, bias }
    }

    pub fn forward(&self, f: &Forward, x: Tensor<2>) -> Tensor<2> {
        let w = f.params.r2(self.weight);
        let b = f.params.r1(self.bias);
        x.matmul(w.transpose()) + b.unsqueeze::<2>()
    }
}

/// Average pooling, square window, padding excluded from the count.
pub fn avg_pool(x: Tensor<4>, kernel: usize, stride: usize, padding: usize) -> Tensor<4> {
    let options = AvgPoolOptions {
        kernel_size: [kernel; 2],
        stride: [stride; 2],
        padding: [(padding, padding); 2],
        count_include_pad: false,
        ceil_mode: false,
    };
    avg_pool2d(x, options)
}

/// Global average pooling to [N, C].
pub fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = x.dims();
    // One reduction over H*W, like PyTorch's AdaptiveAvgPool2d(1), so round-off matches.
    x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c])
}
