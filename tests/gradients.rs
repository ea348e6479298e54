//! The alpha-gradients of our autodiff against float64 central differences, on the tiny
//! reference supernet. ReLU masks are held at their values at alpha in the perturbed passes,
//! so a kink crossing inside the step cannot spoil the quotient.

mod common;

use burn::tensor::Device;
use freedarts::data::cifar::ImageBatch;
use freedarts::nn::ctx::{BnMode, DeviceParams, Precision};
use freedarts::proxy::pass::{Objective, PassSetup, ReluMasks, batch_input, ones_input};
use freedarts::supernet::Supernet;
use freedarts::supernet::nb201::{Nb201Config, Nb201Supernet};

fn tiny() -> (Nb201Supernet, freedarts::supernet::SupernetState) {
    let net = Nb201Supernet::new(Nb201Config {
        channels: 4,
        cells_per_stage: 1,
        classes: 10,
        input_size: 32,
    });
    let (state, _) = net
        .load_state(&common::reference("nb201_tiny.safetensors"))
        .expect("tiny reference loads");
    (net, state)
}

fn check(setup: &PassSetup, alpha: &[f64], x: burn::tensor::Tensor<4>, objective: &Objective) {
    let at = setup.run(&[alpha.to_vec()], x.clone(), objective, ReluMasks::Record);
    let grad = &at.grads[0];
    let scale = common::max_abs(grad);
    assert!(scale > 0.0, "gradient is identically zero");
    let h = 1e-6 * common::max_abs(alpha);
    for i in 0..alpha.len() {
        let value_at = |delta: f64| {
            let mut a = alpha.to_vec();
            a[i] += delta;
            setup
                .run(
                    &[a],
                    x.clone(),
                    objective,
                    ReluMasks::Replay(at.masks.clone()),
                )
                .objective
        };
        let fd = (value_at(h) - value_at(-h)) / (2.0 * h);
        assert!(
            (fd - grad[i]).abs() <= 1e-6 * scale,
            "entry {i}: autodiff {:.12e}, finite difference {fd:.12e} (scale {scale:.3e})",
            grad[i]
        );
    }
}

#[test]
fn synflow_gradient_matches_finite_differences() {
    let (net, state) = tiny();
    let device = Device::flex().autodiff();
    let params = DeviceParams::upload(
        net.registry(),
        &state.params,
        Precision::F64,
        &device,
        f64::abs,
    );
    let setup = PassSetup {
        net: &net,
        params: &params,
        device: &device,
        precision: Precision::F64,
        bn: BnMode::Train,
    };
    let alpha: Vec<f64> = state.alphas[0].iter().map(|a| a.abs()).collect();
    let x = ones_input(net.input_shape(), Precision::F64, &device);
    check(&setup, &alpha, x, &Objective::SumLogits);
}

#[test]
fn cross_entropy_gradient_matches_finite_differences() {
    let (net, state) = tiny();
    let device = Device::flex().autodiff();
    let params = DeviceParams::upload(
        net.registry(),
        &state.params,
        Precision::F64,
        &device,
        |v| v,
    );
    let setup = PassSetup {
        net: &net,
        params: &params,
        device: &device,
        precision: Precision::F64,
        bn: BnMode::Train,
    };
    let batch = ImageBatch {
        images: (0..8 * 3 * 32 * 32)
            .map(|i| ((i * 7919) % 255) as f32 / 255.0 - 0.5)
            .collect(),
        labels: (0..8).map(|i| i % 10).collect(),
        n: 8,
        channels: 3,
        height: 32,
        width: 32,
        indices: (0..8).collect(),
    };
    let x = batch_input(
        net.input_shape(),
        net.num_classes(),
        &batch,
        Precision::F64,
        &device,
    )
    .unwrap();
    let objective = Objective::CrossEntropy {
        labels: &batch.labels,
    };
    check(&setup, &state.alphas[0], x, &objective);
}
