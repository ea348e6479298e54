//! The kernels of `nn::kernels` against burn's own operations on the flex backend: the
//! convolution's output, input gradient and weight gradient on random geometries (strides,
//! padding, dilation, groups, batch 1 and 64), BatchNorm, the weighted sum of a mixed edge and
//! the 3x3 average pooling, plus the paths that must fall through to burn.

use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use freedarts::nn::kernels;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy)]
struct Case {
    batch: usize,
    c_in: usize,
    c_out: usize,
    hw: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
}

/// Uniform values in [-1, 1) from a seeded stream, so every run sees the same tensors.
fn random(shape: [usize; 4], rng: &mut ChaCha8Rng, device: &Device) -> Tensor<4> {
    let n = shape.iter().product::<usize>();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// max |a - b| / max |b|, the scale at least `floor`.
fn rel_diff(a: &[f64], b: &[f64], floor: f64) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, v| m.max(v.abs())).max(floor);
    let diff = a.iter().zip(b).fold(0f64, |m, (p, q)| m.max((p - q).abs()));
    diff / scale
}

fn values64(t: Tensor<4>) -> Vec<f64> {
    let t = t.cast(burn::tensor::DType::F64);
    t.into_data().try_to_vec::<f64>().unwrap()
}

fn max_rel_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
    rel_diff(&values64(a), &values64(b), 1e-6) as f32
}

/// Our convolution or burn's on the same tensors.
fn conv(own: bool, x: Tensor<4>, w: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    if own {
        kernels::conv2d(x, w, options)
    } else {
        burn::tensor::module::conv2d(x, w, None, options)
    }
}

/// Output, dx and dw of ours and of burn's on the same tensors: max |ours - burn| / max |burn|.
fn compare(case: Case, seed: u64) -> [f32; 3] {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = random(
        [case.batch, case.c_in, case.hw[0], case.hw[1]],
        &mut rng,
        &device,
    );
    let w = random(
        [
            case.c_out,
            case.c_in / case.groups,
            case.kernel[0],
            case.kernel[1],
        ],
        &mut rng,
        &device,
    );
    let options = ConvOptions::new(case.stride, case.padding, case.dilation, case.groups);
    let run = |own: bool| {
        let (x, w) = (x.clone().require_grad(), w.clone().require_grad());
        let y = conv(own, x.clone(), w.clone(), options.clone());
        // A loss whose output gradient is not uniform, so every term of the adjoint counts.
        let dims = y.dims();
        let n = dims.iter().product::<usize>();
        let weights: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 13) as f32 / 13.0 - 0.4)
            .collect();
        let r = Tensor::<4>::from_data(TensorData::new(weights, dims), &device);
        let grads = (y.clone() * r).sum().backward();
        let dx = x.grad(&grads).expect("input gradient");
        let dw = w.grad(&grads).expect("weight gradient");
        (y.inner(), Tensor::from_inner(dx), Tensor::from_inner(dw))
    };
    let (y0, dx0, dw0) = run(true);
    let (y1, dx1, dw1) = run(false);
    assert_eq!(y0.dims(), y1.dims(), "{case:?}");
    [
        max_rel_diff(y0, y1),
        max_rel_diff(dx0, dx1),
        max_rel_diff(dw0, dw1),
    ]
}

fn check(case: Case, seed: u64) {
    let diffs = compare(case, seed);
    assert!(
        diffs.iter().all(|d| *d < 2e-5),
        "{case:?}: relative differences (y, dx, dw) {diffs:?}"
    );
}

fn case(batch: usize, c_in: usize, c_out: usize, hw: usize, k: usize, s: usize, p: usize) -> Case {
    Case {
        batch,
        c_in,
        c_out,
        hw: [hw, hw],
        kernel: [k, k],
        stride: [s, s],
        padding: [p, p],
        dilation: [1, 1],
        groups: 1,
    }
}

#[test]
fn search_space_geometries_match_burn() {
    // The convolutions of the NB201 and DARTS cells and stems, at batch 1 and 64.
    for batch in [1, 64] {
        check(case(batch, 16, 16, 32, 3, 1, 1), 1);
        check(case(batch, 16, 16, 32, 1, 1, 0), 2);
        check(case(batch, 3, 16, 32, 3, 1, 1), 3);
        check(case(batch, 16, 32, 32, 3, 2, 1), 4);
        check(case(batch, 32, 64, 16, 1, 2, 0), 5);
        check(case(batch, 64, 64, 8, 3, 1, 1), 6);
    }
}

#[test]
fn random_geometries_match_burn() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for i in 0..60 {
        let groups = [1, 1, 2, 3, 4][rng.random_range(0..5)];
        // Every third case depthwise: one input channel per group.
        let depthwise = i % 3 == 0;
        let kernel = [rng.random_range(1..=5), rng.random_range(1..=4)];
        let dilation = [rng.random_range(1..=3), rng.random_range(1..=2)];
        let padding = [rng.random_range(0..=3), rng.random_range(0..=2)];
        let stride = [rng.random_range(1..=3), rng.random_range(1..=3)];
        // Inputs at least as large as the dilated kernel, so the output is not empty.
        let span = |a: usize| dilation[a] * (kernel[a] - 1) + 1;
        let hw = [
            span(0) + rng.random_range(0..9),
            span(1) + rng.random_range(0..9),
        ];
        let c = Case {
            batch: [1, 2, 5, 64][rng.random_range(0..4)],
            c_in: if depthwise {
                groups
            } else {
                groups * rng.random_range(1..=5)
            },
            c_out: groups * rng.random_range(1..=5),
            hw,
            kernel,
            stride,
            padding,
            dilation,
            groups,
        };
        // Larger batches only on small inputs, to keep the test quick.
        let c = if c.batch == 64 && hw[0] * hw[1] > 64 {
            Case { batch: 3, ..c }
        } else {
            c
        };
        check(c, 100 + i);
    }
}

#[test]
fn padding_larger_than_the_kernel_and_one_pixel_outputs_match_burn() {
    // Whole output rows and columns fall in the padding; and a kernel covering the input.
    check(case(2, 3, 4, 5, 3, 1, 4), 7);
    check(case(2, 3, 4, 5, 5, 1, 0), 8);
    check(case(1, 2, 2, 1, 1, 1, 0), 9);
    check(case(2, 2, 3, 7, 1, 3, 2), 10);
}

#[test]
fn depthwise_convolutions_match_burn() {
    // The DARTS separable and dilated convolutions (stride 1 and 2, dilation 2), a channel
    // multiplier of 2, and batch 64.
    for (i, (k, s, p, d, mult, batch)) in [
        (3, 1, 1, 1, 1, 1),
        (5, 2, 2, 1, 1, 1),
        (3, 1, 2, 2, 1, 2),
        (5, 2, 4, 2, 1, 2),
        (3, 2, 1, 1, 2, 3),
        (3, 1, 1, 1, 1, 64),
    ]
    .into_iter()
    .enumerate()
    {
        let c = Case {
            groups: 8,
            c_out: 8 * mult,
            dilation: [d, d],
            ..case(batch, 8, 8, 9, k, s, p)
        };
        check(c, 30 + i as u64);
    }
}

#[test]
fn float64_matches_burn() {
    // The float64 passes (GraSP's Hessian product, the float64 precision mode) run the same
    // kernels in float64: convolution and BatchNorm with their gradients agree with burn's
    // float64 operations to round-off.
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(40);
    let f64_of = |t: Tensor<4>| t.cast(burn::tensor::DType::F64);
    for (groups, c_in) in [(1, 6), (6, 6)] {
        let x = f64_of(random([3, c_in, 7, 7], &mut rng, &device));
        let w = f64_of(random([6, c_in / groups, 3, 3], &mut rng, &device));
        let options = ConvOptions::new([2, 2], [1, 1], [1, 1], groups);
        let run = |own: bool| {
            let (x, w) = (x.clone().require_grad(), w.clone().require_grad());
            let y = conv(own, x.clone(), w.clone(), options.clone());
            let bn = |y: Tensor<4>| {
                let c = y.dims()[1];
                let ones = Tensor::<1>::ones([c], &device).cast(burn::tensor::DType::F64);
                let zeros = Tensor::<1>::zeros([c], &device).cast(burn::tensor::DType::F64);
                if own {
                    kernels::batch_norm_train(&y, &ones, &zeros, 1e-5, false)
                        .unwrap()
                        .output
                } else {
                    burn::tensor::module::batch_norm_train(y, ones, zeros, 1e-5).output
                }
            };
            let z = bn(y);
            let grads = (z.clone() * z.clone().sin()).sum().backward();
            let dx = Tensor::<4>::from_inner(x.grad(&grads).unwrap());
            let dw = Tensor::<4>::from_inner(w.grad(&grads).unwrap());
            [z.inner(), dx, dw].map(|t| t.into_data().try_to_vec::<f64>().unwrap())
        };
        let (ours, burns) = (run(true), run(false));
        for (a, b) in ours.iter().zip(&burns) {
            let diff = rel_diff(a, b, f64::MIN_POSITIVE);
            assert!(diff <= 1e-12, "groups {groups}: {diff:e} of the max");
        }
    }
}

/// `work` on a pool of its own with `threads` threads.
fn on_threads<R: Send>(threads: usize, work: impl FnOnce() -> R + Send) -> R {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(work)
}

#[test]
fn a_single_image_gives_the_same_bits_on_any_thread_count() {
    // At batch 1 the forward product and the input gradient are cut between threads, by
    // output rows and by input channels; every element must still be the same sum. The NB201
    // 3x3 and 1x1 convolutions, a stride-2 reduction, the stem, a plane cut unevenly, 64
    // channels on a 10x10 plane, where pieces of a 576-long sum would fall on the other side
    // of gemm's small-product test (which blocks long sums differently), and a plane one pixel
    // wide, whose one-pixel pieces gemm would hand to its dot-product kernels. 16 threads cut
    // the 1x1 convolution's input gradient into single rows.
    let cases = [
        case(1, 16, 16, 32, 3, 1, 1),
        case(1, 16, 48, 32, 1, 1, 0),
        case(1, 16, 32, 32, 3, 2, 1),
        case(1, 3, 16, 32, 3, 1, 1),
        case(1, 24, 24, 23, 3, 1, 1),
        case(1, 64, 64, 10, 3, 1, 1),
        case(1, 64, 64, 8, 3, 1, 1),
        Case {
            hw: [3, 1],
            ..case(1, 160, 160, 3, 3, 1, 1)
        },
    ];
    let run = |threads: usize, c: Case, relu: bool| {
        on_threads(threads, || {
            let device = Device::flex().autodiff();
            let mut rng = ChaCha8Rng::seed_from_u64(11);
            let x = random([1, c.c_in, c.hw[0], c.hw[1]], &mut rng, &device).require_grad();
            let w = random(
                [c.c_out, c.c_in, c.kernel[0], c.kernel[1]],
                &mut rng,
                &device,
            )
            .require_grad();
            let options = ConvOptions::new(c.stride, c.padding, c.dilation, 1);
            let y = if relu {
                kernels::relu_conv2d(&x, w.clone(), options).expect("flex, float32")
            } else {
                kernels::conv2d(x.clone(), w.clone(), options)
            };
            let grads = y.clone().powf_scalar(2.0).sum().backward();
            let dw = w.grad(&grads).unwrap().into_data();
            let dx = x.grad(&grads).unwrap().into_data();
            (y.inner().into_data(), dx, dw)
        })
    };
    for c in cases {
        for relu in [false, true] {
            let one = run(1, c, relu);
            for threads in [2, 3, 16] {
                assert!(
                    run(threads, c, relu) == one,
                    "{c:?}, relu {relu}, {threads} threads"
                );
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // The weight gradient sums over images in fixed chunks and the mixed edge's weight
    // gradient over rows in order, so one thread and two give the same bits.
    let c = case(64, 8, 8, 6, 3, 1, 1);
    let run = |threads: usize| {
        on_threads(threads, || {
            let device = Device::flex().autodiff();
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let x = random([c.batch, c.c_in, 6, 6], &mut rng, &device).require_grad();
            let w = random([8, 8, 3, 3], &mut rng, &device).require_grad();
            let y = kernels::conv2d(
                x.clone(),
                w.clone(),
                ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
            );
            // The weighted sum's weight gradient and the pooling, on the same pass.
            let alpha = Tensor::<2>::ones([1, 2], &device).require_grad();
            // The second term is the first one pooled, recomputed for alpha's gradient.
            let slot = |col| kernels::MixSlot {
                offset: 0,
                row: 0,
                col,
                pool_of: (col == 1).then_some(0),
                preweighted: false,
            };
            let pooled = kernels::avg_pool_3x3_same(&y).unwrap();
            let terms = vec![
                kernels::MixTerm {
                    tensor: y,
                    slot: slot(0),
                },
                kernels::MixTerm {
                    tensor: pooled,
                    slot: slot(1),
                },
            ];
            let z = kernels::mix(None, &alpha, terms, 8);
            let grads = z.powf_scalar(2.0).sum().backward();
            let dw = w.grad(&grads).unwrap().into_data();
            let dx = x.grad(&grads).unwrap().into_data();
            let da = alpha.grad(&grads).unwrap().into_data();
            (dw, dx, da)
        })
    };
    assert_eq!(run(1), run(2));
}

/// Our BatchNorm (float32) against burn's train-mode BatchNorm run in float64 on the same
/// values: output, statistics and the gradients of input, gamma and beta.
fn check_batch_norm(shape: [usize; 4], affine: bool, offset: f32, seed: u64) {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = random(shape, &mut rng, &device) + offset;
    let c = shape[1];
    let per_channel = |rng: &mut ChaCha8Rng, base: f32| {
        let v: Vec<f32> = (0..c)
            .map(|_| {
                if affine {
                    base + rng.random_range(-0.5..0.5)
                } else {
                    base
                }
            })
            .collect();
        Tensor::<1>::from_data(TensorData::new(v, [c]), &device)
    };
    let (gamma, beta) = (per_channel(&mut rng, 1.0), per_channel(&mut rng, 0.0));
    let n = shape.iter().product::<usize>();
    let r: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 17) as f32 / 17.0 - 0.45)
        .collect();
    let r = Tensor::<4>::from_data(TensorData::new(r, shape), &device);
    let f64_of = |t: Tensor<4>| t.cast(burn::tensor::DType::F64);

    let run = |ours: bool| {
        let cast = |t: Tensor<4>| if ours { t } else { f64_of(t) };
        let cast1 = |t: Tensor<1>| {
            if ours {
                t
            } else {
                t.cast(burn::tensor::DType::F64)
            }
        };
        let x = cast(x.clone()).require_grad();
        let (g, b) = (cast1(gamma.clone()), cast1(beta.clone()));
        let (g, b) = if affine {
            (g.require_grad(), b.require_grad())
        } else {
            (g, b)
        };
        let out = if ours {
            kernels::batch_norm_train(&x, &g, &b, 1e-5, affine).expect("flex, float32")
        } else {
            burn::tensor::module::batch_norm_train(x.clone(), g.clone(), b.clone(), 1e-5)
        };
        let grads = (out.output.clone() * cast(r.clone())).sum().backward();
        let to64 = |t: Tensor<4>| {
            t.cast(burn::tensor::DType::F64)
                .into_data()
                .try_to_vec::<f64>()
        };
        let to64_1 = |t: Tensor<1>| {
            t.cast(burn::tensor::DType::F64)
                .into_data()
                .try_to_vec::<f64>()
        };
        let mut parts = vec![
            to64(out.output.inner()),
            to64_1(out.mean.inner()),
            to64_1(out.variance.inner()),
            to64(Tensor::from_inner(x.grad(&grads).unwrap())),
        ];
        if affine {
            parts.push(to64_1(Tensor::from_inner(g.grad(&grads).unwrap())));
            parts.push(to64_1(Tensor::from_inner(b.grad(&grads).unwrap())));
        }
        parts
    };
    let (ours, reference) = (run(true), run(false));
    let names = ["output", "mean", "variance", "dx", "dgamma", "dbeta"];
    for ((a, b), name) in ours.iter().zip(&reference).zip(names) {
        let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
        let diff = rel_diff(a, b, 1e-12);
        assert!(
            diff < 1e-5,
            "{name} of {shape:?} (affine {affine}, offset {offset}): {diff:e} of the max"
        );
    }
}

#[test]
fn batch_norm_matches_burn_in_float64() {
    for (i, affine) in [false, true].into_iter().enumerate() {
        let seed = 20 + i as u64;
        // The search spaces' batch-64 layers, a single image (SynFlow) and odd plane sizes
        // (the vector lanes' remainders), with inputs far from zero mean.
        check_batch_norm([64, 16, 32, 32], affine, 0.0, seed);
        check_batch_norm([1, 16, 32, 32], affine, 3.0, seed);
        check_batch_norm([3, 5, 7, 9], affine, -20.0, seed);
        // (Not two values per channel: the output is then +-1 whatever the input, the input
        // gradient is zero up to epsilon, and its relative error is only round-off.)
        check_batch_norm([4, 3, 1, 1], affine, 0.5, seed);
    }
}

/// A seeded tensor of `shape` on `device`, tracked when `grad`. Scaled by 0.3 so the values use
/// the whole mantissa: the uniform draws are multiples of 2^-22, whose sums of three are exact
/// in float32 and would hide a change of summation order.
fn leaf(shape: [usize; 4], seed: u64, grad: bool, device: &Device) -> Tensor<4> {
    let t = random(shape, &mut ChaCha8Rng::seed_from_u64(seed), device) * 0.3;
    if grad { t.require_grad() } else { t }
}

/// A mixed edge of `c` channels: a tracked accumulator (or none), a full-width term, the
/// middle block of a fused tensor three blocks wide, an untracked term, a weight used by two
/// terms, and the full-width term pooled. The kernel against burn's operations: same forward
/// bits, same term and accumulator gradients, weight gradient to float32 round-off. With the
/// pooled term recomputed from its source ([`kernels::MixSlot::pool_of`]) and with it kept:
/// the same bits everywhere.
fn check_mix(batch: usize, c: usize, hw: usize, accumulate: bool) {
    let device = Device::flex().autodiff();
    let alpha = Tensor::<2>::from_data(
        TensorData::new((0..30).map(|i| 0.1 * i as f32 - 1.3).collect(), [6, 5]),
        &device,
    )
    .require_grad();
    let full = leaf([batch, c, hw, hw], 1, true, &device);
    let fused = leaf([batch, 3 * c, hw, hw], 2, true, &device);
    let fixed = leaf([batch, c, hw, hw], 3, false, &device);
    let acc = leaf([batch, c, hw, hw], 4, true, &device);
    let slot = |offset, row, col| kernels::MixSlot {
        offset,
        row,
        col,
        pool_of: None,
        preweighted: false,
    };
    let terms = vec![
        kernels::MixTerm {
            tensor: full.clone(),
            slot: slot(0, 2, 1),
        },
        kernels::MixTerm {
            tensor: fused.clone(),
            slot: slot(c, 2, 3),
        },
        kernels::MixTerm {
            tensor: fixed.clone(),
            slot: slot(0, 5, 4),
        },
        kernels::MixTerm {
            tensor: full.clone(),
            slot: slot(0, 2, 3),
        },
    ];
    // The pooling is part of each pass's graph (a backward pass consumes its graph).
    let run = |own: bool, pool_of: Option<usize>| {
        let mut terms = terms.clone();
        terms.push(kernels::MixTerm {
            tensor: kernels::avg_pool_3x3_same(&full).expect("flex, float32"),
            slot: kernels::MixSlot {
                pool_of,
                preweighted: false,
                ..slot(0, 3, 2)
            },
        });
        let added = accumulate.then(|| acc.clone());
        let y = if own {
            kernels::mix(added, &alpha, terms, c)
        } else {
            kernels::mix_composite(added, &alpha, terms, c)
        };
        let n = y.dims().iter().product::<usize>();
        let r: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 11) as f32 / 11.0 - 0.4)
            .collect();
        let r = Tensor::<4>::from_data(TensorData::new(r, y.dims()), &device);
        let grads = (y.clone() * r).sum().backward();
        let grad = |t: &Tensor<4>| t.grad(&grads).map(|g| g.into_data());
        (
            y.into_data(),
            [grad(&full), grad(&fused), grad(&acc)],
            Tensor::<2>::from_inner(alpha.grad(&grads).unwrap()),
        )
    };
    let (y0, g0, dw0) = run(true, Some(0));
    let (y1, g1, dw1) = run(false, Some(0));
    let (y2, g2, dw2) = run(true, None);
    assert_eq!(
        (&y0, &g0),
        (&y2, &g2),
        "pooled term recomputed or kept, batch {batch}"
    );
    assert_eq!(
        dw0.clone().into_data(),
        dw2.into_data(),
        "weight gradient with the pooled term recomputed or kept, batch {batch}"
    );
    assert_eq!(y0, y1, "forward bits, batch {batch}");
    assert_eq!(g0, g1, "term and accumulator gradients, batch {batch}");
    assert_eq!(g0[2].is_some(), accumulate);
    let to64 = |t: Tensor<2>| {
        t.cast(burn::tensor::DType::F64)
            .into_data()
            .try_to_vec::<f64>()
            .unwrap()
    };
    let (dw0, dw1) = (to64(dw0), to64(dw1));
    let d = rel_diff(&dw0, &dw1, 1e-6);
    assert!(d < 1e-5, "weight gradient differs by {d}");
    // Only the used entries carry a gradient; (2, 3) is the sum of two terms' products.
    for (k, v) in dw0.iter().enumerate() {
        assert_eq!(*v != 0.0, [11, 13, 17, 29].contains(&k), "entry {k}: {v}");
    }
}

#[test]
fn mixed_edge_sum_matches_burn_operations() {
    // Batch 1 runs on one thread; batch 16 at 32x32 crosses into the parallel rows.
    check_mix(1, 4, 5, true);
    check_mix(2, 3, 4, false);
    check_mix(16, 16, 32, true);
}

#[test]
fn average_pooling_matches_the_separable_sum_and_burn() {
    let device = Device::flex().autodiff();
    for (k, shape) in [[1, 3, 5, 7], [2, 4, 1, 1], [1, 2, 1, 6], [16, 16, 32, 32]]
        .into_iter()
        .enumerate()
    {
        let x = leaf(shape, 10 + k as u64, true, &device);
        let n = shape.iter().product::<usize>();
        let r: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 13) as f32 / 13.0 - 0.4)
            .collect();
        let r = Tensor::<4>::from_data(TensorData::new(r, shape), &device);
        let run = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
            let y = f(x.clone());
            let grads = (y.clone() * r.clone()).sum().backward();
            (y.inner(), Tensor::<4>::from_inner(x.grad(&grads).unwrap()))
        };
        let (y, dx) = run(&|x| kernels::avg_pool_3x3_same(&x).expect("flex, float32"));
        let (y_sep, dx_sep) = run(&freedarts::nn::layers::avg_pool_3x3_separable);
        let (y_burn, dx_burn) = run(&|x| freedarts::nn::layers::avg_pool(x, 3, 1, 1));
        assert_eq!(
            y.clone().into_data(),
            y_sep.into_data(),
            "{shape:?}: forward bits"
        );
        assert!(
            max_rel_diff(dx.clone(), dx_sep) < 1e-6,
            "{shape:?}: gradient vs separable"
        );
        assert!(max_rel_diff(y, y_burn) < 1e-6, "{shape:?}: forward vs burn");
        assert!(
            max_rel_diff(dx, dx_burn) < 1e-6,
            "{shape:?}: gradient vs burn"
        );
    }
}

/// Output, input gradient and weight gradient, as bits, of `kernels::relu_conv2d(x)` (`fused`)
/// or of our convolution of burn's `relu(x)`; `grad_x` / `grad_w` choose what is tracked.
fn relu_conv_bits(
    fused: bool,
    x: &Tensor<4>,
    w: &Tensor<4>,
    options: &ConvOptions<2>,
    (grad_x, grad_w): (bool, bool),
) -> [Vec<u64>; 3] {
    let x = if grad_x {
        x.clone().require_grad()
    } else {
        x.clone()
    };
    let w = if grad_w {
        w.clone().require_grad()
    } else {
        w.clone()
    };
    let y = if fused {
        kernels::relu_conv2d(&x, w.clone(), options.clone()).expect("served by our kernels")
    } else {
        kernels::conv2d(
            burn::tensor::activation::relu(x.clone()),
            w.clone(),
            options.clone(),
        )
    };
    let n = y.dims().iter().product::<usize>();
    let r: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 13) as f64 / 13.0 - 0.4)
        .collect();
    let r = Tensor::<4>::from_data(TensorData::new(r, y.dims()), &x.device()).cast(y.dtype());
    let grads = (y.clone() * r).sum().backward();
    let bits = |t: Option<Tensor<4>>| {
        t.map_or_else(Vec::new, |t| {
            values64(t).into_iter().map(f64::to_bits).collect()
        })
    };
    let dx = grad_x.then(|| Tensor::<4>::from_inner(x.grad(&grads).expect("input gradient")));
    let dw = grad_w.then(|| Tensor::<4>::from_inner(w.grad(&grads).expect("weight gradient")));
    [bits(Some(y.inner())), bits(dx), bits(dw)]
}

#[test]
fn relu_convolution_equals_the_convolution_of_the_relu() {
    // The ReLU applied while unfolding (and its mask taken from x in the backward pass) gives
    // the bits of a convolution of a stored relu(x): output, input gradient through the ReLU
    // and weight gradient, in float32 and float64, for 1x1 (unfolded only because of the
    // ReLU), strided, dilated, grouped and depthwise (burn's relu first) geometries, batch 1
    // and 64, and with only one of x and the weight tracked. A tenth of x is +0 or -0, where
    // the ReLU must not pass the gradient.
    let device = Device::flex().autodiff();
    let cases = [
        case(2, 6, 5, 7, 1, 1, 0),
        case(1, 6, 5, 7, 3, 1, 1),
        case(64, 4, 8, 6, 3, 1, 1),
        case(3, 6, 4, 9, 3, 2, 1),
        case(2, 4, 6, 8, 1, 2, 0),
        Case {
            dilation: [2, 2],
            ..case(2, 4, 4, 9, 3, 1, 2)
        },
        Case {
            groups: 2,
            ..case(2, 4, 6, 7, 3, 1, 1)
        },
        Case {
            groups: 4,
            ..case(2, 4, 4, 7, 3, 1, 1)
        },
    ];
    for (i, c) in cases.into_iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(60 + i as u64);
        let xs = [c.batch, c.c_in, c.hw[0], c.hw[1]];
        let x: Vec<f32> = (0..xs.iter().product::<usize>())
            .map(|k| match k % 10 {
                0 => 0.0,
                5 => -0.0,
                _ => rng.random_range(-1.0..1.0f32) * 0.3,
            })
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(x, xs), &device);
        let w = random(
            [c.c_out, c.c_in / c.groups, c.kernel[0], c.kernel[1]],
            &mut rng,
            &device,
        );
        let options = ConvOptions::new(c.stride, c.padding, c.dilation, c.groups);
        for dtype in [burn::tensor::DType::F32, burn::tensor::DType::F64] {
            let (x, w) = (x.clone().cast(dtype), w.clone().cast(dtype));
            for tracked in [(true, true), (true, false), (false, true)] {
                let fused = relu_conv_bits(true, &x, &w, &options, tracked);
                let stored = relu_conv_bits(false, &x, &w, &options, tracked);
                for (what, (a, b)) in ["y", "dx", "dw"].iter().zip(fused.iter().zip(&stored)) {
                    assert!(
                        a == b,
                        "{c:?} {dtype:?} tracked {tracked:?}: {what} differs"
                    );
                }
            }
        }
    }
}
