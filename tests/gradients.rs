//! The gradients of the engine's pass against float64 central differences, on the tiny
//! reference supernet: alpha (SynFlow's R and the cross-entropy). ReLU masks are held at
//! their values at the point in the perturbed passes, so a kink crossing inside the step
//! cannot spoil the quotient.

mod common;

use burn::tensor::Device;
use freedarts::data::cifar::ImageBatch;
use freedarts::nn::ctx::{BnMode, Precision, Shift, tensor_from, to_host};
use freedarts::nn::model::Model;
use freedarts::nn::params::HostParams;
use freedarts::nn::store::ParamStore;
use freedarts::saliency::pass::{self, Input, Objective, PassSpec, ReluMasks};
use freedarts::spaces::nb201::supernet::{Nb201Config, Nb201Supernet};

fn tiny() -> (Nb201Supernet, HostParams) {
    let net = Nb201Supernet::new(Nb201Config {
        channels: 4,
        cells_per_stage: 1,
        classes: 10,
        input_size: 32,
    });
    let (state, _) = net
        .load_params(&common::reference("nb201_tiny.safetensors"))
        .expect("tiny reference loads");
    (net, state)
}

/// Compares the gradient of every selected entry with a central difference of the objective.
fn check<'a>(net: &Nb201Supernet, store: &ParamStore, spec: impl Fn(ReluMasks) -> PassSpec<'a>) {
    let device = Device::flex().autodiff();
    let at = pass::run(net, store, spec(ReluMasks::Record), None, &device).unwrap();
    assert_eq!(at.selected.len(), 1, "one alpha");
    let d = &at.selected[0];
    let grad = to_host(d.grad.clone());
    let value = to_host(d.value.clone());
    let scale = common::max_abs(&grad);
    assert!(scale > 0.0, "gradient is identically zero");
    let h = 1e-6 * common::max_abs(&value);
    let n = value.len();
    for i in 0..n {
        let value_at = |delta: f64| {
            let mut unit = vec![0.0; n];
            unit[i] = 1.0;
            let mut direction = vec![None; store.layout().storages.len()];
            direction[d.storage] = Some(tensor_from(unit, [n], Precision::F64, &device));
            let shift = Shift {
                step: delta,
                direction: &direction,
            };
            let replay = spec(ReluMasks::Replay(at.masks.clone()));
            pass::run(net, store, replay, Some(&shift), &device)
                .unwrap()
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
    let store = ParamStore::new(net.registry(), &state, &Device::flex().autodiff());
    check(&net, &store, |relu| PassSpec {
        precision: Precision::F64,
        bn: BnMode::Train,
        transform: &pass::absolute,
        select: pass::alpha,
        input: Input::Ones,
        objective: Objective::SumLogits,
        input_grad: false,
        probe: None,
        relu,
    });
}

#[test]
fn cross_entropy_gradient_matches_finite_differences() {
    let (net, state) = tiny();
    let store = ParamStore::new(net.registry(), &state, &Device::flex().autodiff());
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
    check(&net, &store, |relu| PassSpec {
        precision: Precision::F64,
        bn: BnMode::Train,
        transform: &pass::untouched,
        select: pass::alpha,
        input: Input::Batch(&batch),
        objective: Objective::CrossEntropy,
        input_grad: false,
        probe: None,
        relu,
    });
}
