//! The burn-native parameter store: what a pass reads is what was stored, train-mode
//! BatchNorm writes PyTorch's running statistics back, and a burn optimiser steps the stored
//! tensors with the gradients of a pass.

mod common;

use burn::module::Module;
use burn::optim::SgdConfig;
use burn::tensor::Device;
use freedarts::data::cifar::synthetic_batch;
use freedarts::nn::ctx::{BnMode, Forward, PassParams, Precision, Transform, to_host};
use freedarts::nn::model::Model;
use freedarts::nn::params::ParamId;
use freedarts::nn::store::ParamStore;
use freedarts::saliency::pass::{self, Input, Objective, PassSpec, ReluMasks, batch_input};
use freedarts::spaces::nb201::network::Nb201Network;
use freedarts::spaces::nb201::supernet::{Nb201Config, Nb201Supernet};

fn small() -> Nb201Config {
    Nb201Config {
        channels: 4,
        cells_per_stage: 1,
        classes: 10,
        input_size: 8,
    }
}

fn id_of(net: &dyn Model, name: &str) -> ParamId {
    let i = net
        .registry()
        .specs()
        .iter()
        .position(|s| s.name == name)
        .unwrap_or_else(|| panic!("no tensor {name}"));
    ParamId(i)
}

#[test]
fn the_store_round_trips_every_registered_tensor() {
    // The supernet fuses the convolutions of each node's out-edges into one stored tensor.
    let net = Nb201Supernet::new(small());
    let host = net.initial_params(5);
    let store = ParamStore::new(net.registry(), &host, &Device::flex().autodiff());
    assert!(store.layout().storages.len() < net.registry().specs().len());
    assert_eq!(
        store.num_params(),
        net.registry().trainable_count() + 30 + running_stats(&net)
    );
    let back = store.to_host(net.registry());
    assert_eq!(back.values, host.values);
}

/// Running-statistic entries (stored, counted by burn as parameters of the store).
fn running_stats(net: &dyn Model) -> usize {
    net.registry()
        .specs()
        .iter()
        .filter(|s| s.kind.is_running_stat())
        .map(|s| s.numel())
        .sum()
}

#[test]
fn train_mode_batchnorm_updates_the_running_statistics_as_pytorch() {
    let device = Device::flex().autodiff();
    let net = Nb201Network::new(
        small(),
        "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
            .parse()
            .unwrap(),
    );
    let host = net.initial_params(1);
    let mut store = ParamStore::new(net.registry(), &host, &device);
    let batch = synthetic_batch(5, 10, 8, 8, 3);
    let params = PassParams::new(
        &store,
        Precision::F64,
        |_| Transform::Identity,
        |_| false,
        None,
    );
    let f = Forward::new(&params, BnMode::Train).tracking_bn();
    let x = batch_input([3, 8, 8], 10, &batch, Precision::F64, &device).unwrap();
    net.forward_logits(&f, x.clone());
    let updates = f.take_bn_updates();
    assert!(!updates.is_empty());
    store.apply_bn_updates(updates);

    // The stem BN normalises the stem convolution's output: its statistics by hand.
    let w = burn::tensor::Tensor::<4>::from_data(
        burn::tensor::TensorData::new(
            host.get(id_of(&net, "stem.0.weight")).to_vec(),
            [4, 3, 3, 3],
        ),
        burn::tensor::TensorCreationOptions::new(device.clone()).with_dtype(Precision::F64.dtype()),
    );
    let y = burn::tensor::module::conv2d(
        x,
        w,
        None,
        burn::tensor::ops::ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
    );
    let y = to_host(y); // [5, 4, 8, 8]
    let back = store.to_host(net.registry());
    let mean = back.get(id_of(&net, "stem.1.running_mean"));
    let var = back.get(id_of(&net, "stem.1.running_var"));
    for c in 0..4 {
        let values: Vec<f64> = (0..5)
            .flat_map(|n| (0..64).map(move |p| (n, p)))
            .map(|(n, p)| y[(n * 4 + c) * 64 + p])
            .collect();
        let m = values.iter().sum::<f64>() / values.len() as f64;
        let unbiased =
            values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (values.len() - 1) as f64;
        // momentum 0.1 from the initial (0, 1); stored in float32
        assert!(
            (mean[c] - 0.1 * m).abs() <= 1e-6 * m.abs().max(1e-3),
            "mean {c}"
        );
        assert!((var[c] - (0.9 + 0.1 * unbiased)).abs() <= 1e-6, "var {c}");
    }
    // Weights are untouched by a forward pass.
    assert_eq!(
        back.get(id_of(&net, "stem.0.weight")),
        host.get(id_of(&net, "stem.0.weight"))
    );
}

#[test]
fn a_burn_optimiser_steps_the_stored_alpha() {
    let device = Device::flex().autodiff();
    let net = Nb201Supernet::new(small());
    let host = net.initial_params(2);
    let store = ParamStore::new(net.registry(), &host, &device);
    let batch = synthetic_batch(4, 10, 8, 8, 0);
    let spec = PassSpec {
        precision: Precision::F32,
        bn: BnMode::Train,
        transform: &pass::untouched,
        select: pass::alpha,
        input: Input::Batch(&batch),
        objective: Objective::CrossEntropy,
        input_grad: false,
        probe: None,
        relu: ReluMasks::Plain,
    };
    let result = pass::run(&net, &store, spec, None, &device).unwrap();
    let grad = to_host(result.selected[0].grad.clone());
    let grads = store.gradients(result.selected.iter().map(|d| (d.storage, d.grad.clone())));
    let mut sgd = SgdConfig::new().init();
    let stepped = sgd.step(0.5, store, grads);
    let alpha = net.alpha_groups()[0].id;
    let before = host.get(alpha);
    let after = stepped.to_host(net.registry());
    let after = after.get(alpha);
    for i in 0..before.len() {
        let want = before[i] - 0.5 * grad[i];
        // Stored in float32.
        assert!(
            (after[i] - want).abs() <= 1e-6 * want.abs().max(1.0),
            "alpha {i}: {} vs {want}",
            after[i]
        );
    }
    assert!(grad.iter().any(|g| *g != 0.0));
}
