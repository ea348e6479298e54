//! Layer types shared by every search space. Each layer registers its tensors under the
//! PyTorch module path it is given, and runs functionally on a [`Forward`] pass.

use burn::tensor::module::{BatchNormTrainOutput, avg_pool2d, batch_norm, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions, PadMode};
use burn::tensor::{Tensor, TensorCreationOptions, TensorData};

use super::ctx::{BnMode, Forward};
use super::params::{ParamKind, ParamRegistry, TensorRef};

/// PyTorch's BatchNorm epsilon.
pub const BN_EPS: f64 = 1e-5;

/// PyTorch's BatchNorm momentum (weight of the new batch in the running statistics).
pub const BN_MOMENTUM: f64 = 0.1;

/// 2-D convolution without bias, square kernel.
#[derive(Clone, Debug)]
pub struct Conv2d {
    pub weight: TensorRef,
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
            weight: weight.into(),
            stride: s.stride,
            padding: s.padding,
            dilation: s.dilation,
            groups: s.groups,
        }
    }

    /// One convolution computing all of `members` (same input, same geometry) at once; their
    /// outputs are stacked along channels in the order given.
    pub fn fused(reg: &mut ParamRegistry, members: &[&Conv2d]) -> Self {
        let ids: Vec<_> = members
            .iter()
            .map(|m| match m.weight {
                TensorRef::Param(id) => id,
                TensorRef::Fused(_) => unreachable!("fusions are built from plain convolutions"),
            })
            .collect();
        Self {
            weight: reg.fuse(&ids),
            ..members[0].clone()
        }
    }

    /// One convolution computing all of `members` on channel-stacked inputs (member i reads
    /// input block i and writes output block i): a block-diagonal, grouped convolution.
    pub fn fused_block_diagonal(reg: &mut ParamRegistry, members: &[&Conv2d]) -> Self {
        let groups = members[0].groups * members.len();
        Self {
            groups,
            ..Self::fused(reg, members)
        }
    }

    pub fn forward(&self, f: &Forward, x: Tensor<4>) -> Tensor<4> {
        let weight = f.params.r4(self.weight);
        let y = super::kernels::conv2d(x, weight, self.options());
        self.finish(f, y)
    }

    /// The convolution of relu(x) without storing relu(x) ([`super::kernels::relu_conv2d`]);
    /// `None` where ReLUs are taped, the kernels do not serve x, or the weight is constant.
    /// Only the weight's gradient needs the convolution's input: with a constant weight (the
    /// alpha-only passes of a search) relu(x) is not kept anyway (burn's ReLU keeps x), and
    /// unfolding through the ReLU would only add work.
    fn forward_of_relu(&self, f: &Forward, x: &Tensor<4>) -> Option<Tensor<4>> {
        let weight = f.params.r4(self.weight);
        if !f.plain_relu() || !weight.is_require_grad() {
            return None;
        }
        let y = super::kernels::relu_conv2d(x, weight, self.options())?;
        Some(self.finish(f, y))
    }

    fn options(&self) -> ConvOptions<2> {
        ConvOptions::new(
            [self.stride; 2],
            [self.padding; 2],
            [self.dilation; 2],
            self.groups,
        )
    }

    /// Counts the multiply-adds of the output `y` and probes it.
    fn finish(&self, f: &Forward, y: Tensor<4>) -> Tensor<4> {
        let [c_out, c_in_group, kh, kw] = f.params.r4(self.weight).dims();
        let [n, _, h, w] = y.dims();
        f.add_macs((n * h * w * c_out * c_in_group * kh * kw) as u64);
        f.probe(y, None, c_in_group * kh * kw)
    }
}

/// BatchNorm2d with running statistics; `affine = false` has no gamma/beta tensors.
#[derive(Clone, Debug)]
pub struct BatchNorm {
    pub gamma: Option<TensorRef>,
    pub beta: Option<TensorRef>,
    pub running_mean: TensorRef,
    pub running_var: TensorRef,
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
            gamma: gamma.map(Into::into),
            beta: beta.map(Into::into),
            running_mean: running_mean.into(),
            running_var: running_var.into(),
            channels,
        }
    }

    /// One BatchNorm over the channel-stacked outputs of `members`: per-channel statistics make
    /// this identical to applying each member to its own channels.
    pub fn fused(reg: &mut ParamRegistry, members: &[&BatchNorm]) -> Self {
        let mut fuse = |pick: &dyn Fn(&BatchNorm) -> Option<TensorRef>| -> Option<TensorRef> {
            let ids: Option<Vec<_>> = members
                .iter()
                .map(|m| match pick(m)? {
                    TensorRef::Param(id) => Some(id),
                    TensorRef::Fused(_) => unreachable!("fusions are built from plain layers"),
                })
                .collect();
            ids.map(|ids| reg.fuse(&ids))
        };
        let gamma = fuse(&|m| m.gamma);
        let beta = fuse(&|m| m.beta);
        let running_mean = fuse(&|m| Some(m.running_mean)).expect("every BN has running stats");
        let running_var = fuse(&|m| Some(m.running_var)).expect("every BN has running stats");
        Self {
            gamma,
            beta,
            running_mean,
            running_var,
            channels: members.iter().map(|m| m.channels).sum(),
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
            BnMode::Train => {
                let [n, _, h, w] = x.dims();
                let out = batch_norm_train(x, gamma, beta, self.gamma.is_some());
                if f.keeps_stats() {
                    f.record_bn_variance(out.variance.clone());
                }
                if f.tracks_bn() {
                    // PyTorch's update: momentum 0.1, the running variance unbiased.
                    let count = (n * h * w) as f64;
                    let unbiased = out.variance * (count / (count - 1.0).max(1.0));
                    let mean = f.params.r1(self.running_mean) * (1.0 - BN_MOMENTUM)
                        + out.mean * BN_MOMENTUM;
                    let var = f.params.r1(self.running_var) * (1.0 - BN_MOMENTUM)
                        + unbiased * BN_MOMENTUM;
                    f.push_bn_update(self.running_mean, mean);
                    f.push_bn_update(self.running_var, var);
                }
                out.output
            }
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

/// Values per channel (N*H*W) up to which train-mode BatchNorm uses burn's fused operation:
/// one image of 32 x 32 and below (its one-pass sums then run over at most 32 values per
/// accumulator).
const FUSED_BN_MAX_COUNT: usize = 1024;

/// Train-mode BatchNorm, `(x - mean) / sqrt(var + eps) * gamma + beta` with the batch's own
/// statistics, differentiated through them by autodiff.
///
/// On the CPU this is the kernel of [`super::kernels`] (float64 statistics, one node for
/// autodiff; `affine` says whether gamma and beta are real parameters or the fixed ones and
/// zeros). Elsewhere, the composite below. It is not burn's `batch_norm_train`: in float32 its statistics lose digits that the alpha
/// gradients need. It sums each channel's N*H*W values in one reduction (long accumulator
/// chains), which leaves up to 5e-6 relative error in the variance over 64 x 32 x 32 values;
/// on the DARTS absolute-state SNIP (reference README 6) the float32 scores then differ from
/// the reference by 5e-4 of the max, PyTorch's own float32 vs float64 gap being 7e-6.
/// (Statistics in float64 fix that too, at about 40 % more time on the SNIP pass.) Here:
/// - every sum is staged ([`channel_mean`]): no accumulator chain runs over more than 64 values
///   (alone: 3e-5 of the max);
/// - the moments are taken of `x - m0`, `m0` a first estimate of the mean, so the mean and
///   variance passes sum values already centred up to that estimate's round-off (with the
///   staging: 1e-5, PyTorch's own float32 level).
///
/// `m0` carries no gradient: the output is the same function of `x` whatever `m0` is.
/// The backward pass is not where precision was lost (burn's float32 backward under
/// float64-accurate forward statistics gives 1e-5; a float64 backward under float32 statistics
/// keeps the error), so autodiff's own is used.
///
/// Up to [`FUSED_BN_MAX_COUNT`] values per channel (SynFlow's single image) burn's fused
/// operation is kept: its sums are short there, and the twenty-odd tensor operations here
/// would double the time of a DARTS SynFlow search, which is mostly per-operation overhead.
fn batch_norm_train(
    x: Tensor<4>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    affine: bool,
) -> BatchNormTrainOutput<4> {
    if let Some(out) = super::kernels::batch_norm_train(&x, &gamma, &beta, BN_EPS, affine) {
        return out;
    }
    let [n, c, h, w] = x.dims();
    if n * h * w <= FUSED_BN_MAX_COUNT {
        return burn::tensor::module::batch_norm_train(x, gamma, beta, BN_EPS);
    }
    let shift = channel_mean(x.clone().detach());
    let shifted = x - shift.clone();
    let offset = channel_mean(shifted.clone());
    let centred = shifted - offset.clone();
    let variance = channel_mean(centred.clone() * centred.clone());
    let scale = (variance.clone() + BN_EPS).sqrt().recip() * gamma.reshape([1, c, 1, 1]);
    BatchNormTrainOutput {
        output: centred * scale + beta.reshape([1, c, 1, 1]),
        mean: (shift + offset).reshape([c]).detach(),
        variance: variance.reshape([c]).detach(),
    }
}

/// Per-channel mean of [N, C, H, W] as [1, C, 1, 1], summed in stages (H*W, then N) so that
/// float32 round-off stays that of short sums rather than one sum over N*H*W values.
fn channel_mean(t: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = t.dims();
    let sums = t.reshape([n, c, h * w]).sum_dim(2).sum_dim(0);
    sums.reshape([1, c, 1, 1]) / (n * h * w) as f64
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
        let [y] = Self::forward_shared(f, &x, [self]);
        y
    }

    /// Conv -> BN of an input already through its ReLU.
    pub fn forward_after_relu(&self, f: &Forward, relu_x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(f, self.conv.forward(f, relu_x))
    }

    /// This layer (a fused 1x1 ReLU-conv-BN without affine parameters whose output channels
    /// are one block per out-edge) with block k scaled by alpha at `alpha_entries[k]`, through
    /// [`super::kernels::scaled_conv_bn`], which keeps neither relu(x) nor the normalised map
    /// for the backward pass. Returns the scaled blocks (for
    /// [`super::kernels::MixSlot::preweighted`] terms) and relu(x); `None` where that operation
    /// does not apply: another BatchNorm mode, statistics or probes recorded, a ReLU tape, a
    /// weight with a gradient, or a backend our kernels do not serve.
    pub fn forward_scaled(
        &self,
        f: &Forward,
        x: &Tensor<4>,
        alpha: &Tensor<2>,
        alpha_entries: Vec<(usize, usize)>,
    ) -> Option<(Tensor<4>, Tensor<4>)> {
        let weight = f.params.r4(self.conv.weight);
        let [c_out, _, kh, kw] = weight.dims();
        let plain_1x1 = [
            kh,
            kw,
            self.conv.stride,
            self.conv.dilation,
            self.conv.groups,
        ] == [1, 1, 1, 1, 1]
            && self.conv.padding == 0;
        let eligible = plain_1x1
            && f.bn == BnMode::Train
            && self.bn.gamma.is_none()
            && !f.keeps_stats()
            && !f.tracks_bn()
            && !f.probing()
            && f.plain_relu()
            && !weight.is_require_grad()
            && super::kernels::serves(x)
            && c_out % alpha_entries.len().max(1) == 0;
        if !eligible {
            return None;
        }
        let relu_x = f.relu(x.clone());
        let layout = super::kernels::ScaledBlocks {
            channels: c_out / alpha_entries.len(),
            blocks: alpha_entries,
            epsilon: BN_EPS,
        };
        let out = super::kernels::scaled_conv_bn(&relu_x, x, weight, alpha, layout)?;
        // No probe is taken (checked above): finish only counts the multiply-adds.
        Some((self.conv.finish(f, out.output), relu_x))
    }

    /// ReLU -> conv -> BN of each of `layers` on the same input. Where a weight needs a
    /// gradient (on our CPU kernels, with plain ReLUs) its convolution applies the ReLU itself
    /// and keeps x instead of relu(x): in a cell x is a node its other readers keep anyway.
    /// Otherwise one ReLU, one entry of the mask tape and (for the weights' gradients) one map
    /// serve them all.
    pub fn forward_shared<const N: usize>(
        f: &Forward,
        x: &Tensor<4>,
        layers: [&ReluConvBn; N],
    ) -> [Tensor<4>; N] {
        let mut relu_x: Option<Tensor<4>> = None;
        layers.map(|layer| {
            let y = layer.conv.forward_of_relu(f, x).unwrap_or_else(|| {
                let relu_x = relu_x.get_or_insert_with(|| f.relu(x.clone()));
                layer.conv.forward(f, relu_x.clone())
            });
            layer.bn.forward(f, y)
        })
    }

    /// One layer computing all of `members` on a shared input.
    pub fn fused(reg: &mut ParamRegistry, members: &[&ReluConvBn]) -> Self {
        let convs: Vec<_> = members.iter().map(|m| &m.conv).collect();
        let bns: Vec<_> = members.iter().map(|m| &m.bn).collect();
        Self {
            conv: Conv2d::fused(reg, &convs),
            bn: BatchNorm::fused(reg, &bns),
        }
    }
}

/// Fully connected layer with bias, PyTorch layout (weight [out, in]).
#[derive(Clone, Debug)]
pub struct Linear {
    pub weight: TensorRef,
    pub bias: TensorRef,
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
        Self {
            weight: weight.into(),
            bias: bias.into(),
        }
    }

    pub fn forward(&self, f: &Forward, x: Tensor<2>) -> Tensor<2> {
        let w = f.params.r2(self.weight);
        let b = f.params.r1(self.bias);
        let [d_out, d_in] = w.dims();
        let n = x.dims()[0];
        f.add_macs((n * d_out * d_in) as u64);
        let y = x.matmul(w.transpose()) + b.clone().unsqueeze::<2>();
        if f.is_probing() {
            f.probe(y.reshape([n, d_out, 1, 1]), Some(b), d_in)
                .reshape([n, d_out])
        } else {
            y
        }
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

/// Square max-pooling window (as PyTorch's `nn.MaxPool2d(kernel, stride, padding)`).
pub(crate) fn max_pool_options(kernel: usize, stride: usize, padding: usize) -> MaxPoolOptions<2> {
    MaxPoolOptions {
        kernel_size: [kernel; 2],
        stride: [stride; 2],
        padding: [(padding, padding); 2],
        dilation: [1, 1],
        ceil_mode: false,
    }
}

/// Max pooling, square window, padding that never wins (PyTorch's -inf padding).
pub fn max_pool(x: Tensor<4>, kernel: usize, stride: usize, padding: usize) -> Tensor<4> {
    max_pool2d(x, max_pool_options(kernel, stride, padding))
}

/// 3x3, stride 1, padding 1 average pooling with padding excluded from the count, as two
/// separable 3-tap sums divided by the number of in-bounds taps. Same values as
/// [`avg_pool`] up to summation order, but several times faster through burn's backward. On
/// the CPU the kernel of [`super::kernels::pool`] computes the same sums in the same order.
pub fn avg_pool_3x3_same(x: Tensor<4>) -> Tensor<4> {
    match super::kernels::avg_pool_3x3_same(&x) {
        Some(y) => y,
        None => avg_pool_3x3_separable(x),
    }
}

/// [`avg_pool_3x3_same`] through burn's operations (other backends).
pub fn avg_pool_3x3_separable(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let padded = x.pad([(0, 0), (0, 0), (1, 1), (1, 1)], PadMode::Constant(0.0));
    let rows = padded.clone().slice([0..n, 0..c, 0..h, 0..w + 2])
        + padded.clone().slice([0..n, 0..c, 1..h + 1, 0..w + 2])
        + padded.slice([0..n, 0..c, 2..h + 2, 0..w + 2]);
    let sums = rows.clone().slice([0..n, 0..c, 0..h, 0..w])
        + rows.clone().slice([0..n, 0..c, 0..h, 1..w + 1])
        + rows.slice([0..n, 0..c, 0..h, 2..w + 2]);
    let taps = |i: usize, len: usize| 3.0 - f64::from(i == 0) - f64::from(i + 1 == len);
    let counts: Vec<f64> = (0..h)
        .flat_map(|i| (0..w).map(move |j| taps(i, h) * taps(j, w)))
        .collect();
    let options = TensorCreationOptions::new(sums.device()).with_dtype(sums.dtype());
    let counts = Tensor::<4>::from_data(TensorData::new(counts, [1, 1, h, w]), options);
    sums / counts
}

/// Global average pooling to [N, C].
pub fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [n, c, h, w] = x.dims();
    // One reduction over H*W, like PyTorch's AdaptiveAvgPool2d(1), so round-off matches.
    x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c])
}
