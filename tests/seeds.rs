//! The property the official code shows: SynFlow-FreeDARTS on NB201 (C=16, N=5, CIFAR-10
//! head, train-mode BN, |alpha|) picks conv-only cells, whatever the seed.

use burn::tensor::Device;
use freedarts::search::{SearchOptions, run_search};
use freedarts::space::nb201::Nb201Op;

#[test]
fn synflow_picks_conv_only_cells_for_seeds_0_to_9() {
    let device = Device::flex().autodiff();
    for seed in 0..10 {
        let opts = SearchOptions {
            seed,
            ..SearchOptions::default()
        };
        let result = run_search(&opts, &device).expect("search runs");
        let arch = freedarts::space::nb201::Nb201Arch::parse(&result.architecture).unwrap();
        assert!(
            arch.ops
                .iter()
                .all(|op| matches!(op, Nb201Op::NorConv1x1 | Nb201Op::NorConv3x3)),
            "seed {seed}: {}",
            result.architecture
        );
        assert!(
            result.warnings.is_empty(),
            "seed {seed}: {:?}",
            result.warnings
        );
    }
}
