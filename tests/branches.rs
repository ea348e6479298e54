//! The scaled 1x1 branches of a supernet node (`kernels::scaled_conv_bn`, added to the
//! weighted sums as preweighted terms) against the operations they replace: ReLU, the fused
//! 1x1 convolution, BatchNorm without affine parameters and the weighted sums reading the
//! normalised blocks. A cell of three source nodes with 3, 2 and 1 out-edges, as in NB201:
//! node values, the input's gradient and alpha's gradient must be the same bits, in float32
//! and float64, at batch 2 and 16 (the parallel paths).

use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Device, Tensor, TensorData};
use freedarts::nn::kernels::{self, MixSlot, MixTerm, ScaledBlocks};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Edges (to, from) of an NB201 cell in alpha's row order.
const EDGES: [(usize, usize); 6] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];
const SKIP: usize = 1;
const CONV_1X1: usize = 2;
const CONV_3X3: usize = 3;
const EPS: f64 = 1e-5;

fn random(shape: &[usize], scale: f32, rng: &mut ChaCha8Rng, device: &Device) -> Vec<f32> {
    let _ = device;
    (0..shape.iter().product::<usize>())
        .map(|_| rng.random_range(-1.0..1.0f32) * scale)
        .collect()
}

/// The cell's output, the input's gradient and alpha's gradient as bits.
fn cell(scaled: bool, dtype: DType, batch: usize, c: usize, hw: usize) -> [Vec<u64>; 3] {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let t4 = |v: Vec<f32>, shape: [usize; 4]| {
        Tensor::<4>::from_data(TensorData::new(v, shape), &device).cast(dtype)
    };
    let x = t4(
        random(&[batch, c, hw, hw], 1.0, &mut rng, &device),
        [batch, c, hw, hw],
    )
    .require_grad();
    // Negative entries too, so products of zero gradients carry both signs.
    let alpha = Tensor::<2>::from_data(
        TensorData::new(random(&[6, 5], 1.0, &mut rng, &device), [6, 5]),
        &device,
    )
    .cast(dtype)
    .require_grad();
    let weights: Vec<[Tensor<4>; 2]> = (0..3)
        .map(|from| {
            let edges = EDGES.iter().filter(|e| e.1 == from).count();
            let w1 = random(&[edges * c, c, 1, 1], 0.5, &mut rng, &device);
            let w3 = random(&[edges * c, c, 3, 3], 0.2, &mut rng, &device);
            [t4(w1, [edges * c, c, 1, 1]), t4(w3, [edges * c, c, 3, 3])]
        })
        .collect();
    let bn = |y: Tensor<4>| {
        let ch = y.dims()[1];
        let ones = Tensor::<1>::ones([ch], &device).cast(dtype);
        let zeros = Tensor::<1>::zeros([ch], &device).cast(dtype);
        kernels::batch_norm_train(&y, &ones, &zeros, EPS, false)
            .expect("served")
            .output
    };
    let mut nodes: Vec<Option<Tensor<4>>> = vec![Some(x.clone()), None, None, None];
    for (from, [w1, w3]) in weights.iter().enumerate() {
        let node = nodes[from].clone().expect("complete");
        let rows: Vec<usize> = (0..6).filter(|&e| EDGES[e].1 == from).collect();
        let relu_x = burn::tensor::activation::relu(node.clone());
        let branch = if scaled {
            let layout = ScaledBlocks {
                channels: c,
                blocks: rows.iter().map(|&e| (e, CONV_1X1)).collect(),
                epsilon: EPS,
            };
            kernels::scaled_conv_bn(&relu_x, &node, w1.clone(), &alpha, layout)
                .expect("served")
                .output
        } else {
            let pointwise = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
            bn(kernels::conv2d(relu_x.clone(), w1.clone(), pointwise))
        };
        let same = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let conv_3x3 = bn(kernels::conv2d(relu_x, w3.clone(), same));
        for (k, &e) in rows.iter().enumerate() {
            let slot = |col, offset, preweighted| MixSlot {
                offset,
                row: e,
                col,
                pool_of: None,
                preweighted,
            };
            let terms = vec![
                MixTerm {
                    tensor: node.clone(),
                    slot: slot(SKIP, 0, false),
                },
                MixTerm {
                    tensor: branch.clone(),
                    slot: slot(CONV_1X1, k * c, scaled),
                },
                MixTerm {
                    tensor: conv_3x3.clone(),
                    slot: slot(CONV_3X3, k * c, false),
                },
            ];
            let to = EDGES[e].0;
            nodes[to] = Some(kernels::mix(nodes[to].take(), &alpha, terms, c));
        }
    }
    let out = nodes[3].take().expect("output");
    let n = out.dims().iter().product::<usize>();
    // Some exact zeros (of both signs) in the output gradient.
    let r: Vec<f64> = (0..n)
        .map(|i| match i % 11 {
            0 => 0.0,
            5 => -0.0,
            _ => ((i * 7919) % 13) as f64 / 13.0 - 0.4,
        })
        .collect();
    let r = Tensor::<4>::from_data(TensorData::new(r, out.dims()), &device).cast(dtype);
    let grads = (out.clone() * r).sum().backward();
    let bits = |t: Tensor<4>| -> Vec<u64> {
        t.cast(DType::F64)
            .into_data()
            .iter::<f64>()
            .map(f64::to_bits)
            .collect()
    };
    let dx = Tensor::<4>::from_inner(x.grad(&grads).expect("input gradient"));
    let da = Tensor::<2>::from_inner(alpha.grad(&grads).expect("alpha gradient"));
    [bits(out.inner()), bits(dx), bits(da.reshape([1, 1, 6, 5]))]
}

#[test]
fn scaled_branches_give_the_bits_of_the_operations_they_replace() {
    for dtype in [DType::F32, DType::F64] {
        for (batch, c, hw) in [(2, 3, 5), (16, 8, 16)] {
            let scaled = cell(true, dtype, batch, c, hw);
            let plain = cell(false, dtype, batch, c, hw);
            for (what, (a, b)) in ["output", "input gradient", "alpha gradient"]
                .iter()
                .zip(scaled.iter().zip(&plain))
            {
                assert!(a == b, "{dtype:?} batch {batch}: {what} differs");
            }
        }
    }
}

#[test]
fn scaled_branches_refuse_a_weight_with_a_gradient() {
    // Only alpha-only passes take the scaled operation: a weight that needs a gradient sends
    // the layer back to the separate operations.
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::ones([1, 2, 3, 3], &device);
    let w = Tensor::<4>::ones([2, 2, 1, 1], &device).require_grad();
    let alpha = Tensor::<2>::ones([6, 5], &device);
    let layout = ScaledBlocks {
        channels: 2,
        blocks: vec![(0, CONV_1X1)],
        epsilon: EPS,
    };
    assert!(kernels::scaled_conv_bn(&x, &x, w, &alpha, layout).is_none());
}
