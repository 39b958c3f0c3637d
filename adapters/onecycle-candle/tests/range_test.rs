//! The range test on a candle model (softmax regression on MNIST): suggestions inside the
//! sweep, the weights bit-identical afterwards (also when the sweep fails midway), invalid
//! configurations as the core's typed errors.

mod common;

use candle_core::{Tensor, Var};
use candle_nn::optim::{Optimizer, SGD};
use common::{batches, mnist, Probe};
use onecycle_candle::{range_test, Error, MAX_RANGE_STEPS};
use onecycle_core::finder::RangeTestConfig;
use onecycle_core::FinderError;
use onecycle_readback::{assert_consensus, assert_edge, assert_sweep};

/// A probe that has been trained a little, so "restored" is not "still zero".
fn trained_probe(batches: &[common::Batch]) -> Probe {
    let probe = Probe::new();
    let mut sgd = SGD::new(probe.vars(), 0.05).unwrap();
    for batch in &batches[..5] {
        sgd.backward_step(&probe.loss(batch).unwrap()).unwrap();
    }
    probe
}

#[test]
fn suggestions_lie_inside_the_sweep_and_the_weights_are_restored() {
    let Some(data) = mnist(64 * 40) else {
        return;
    };
    let batches = batches(&data, 64, 3, 0);
    let probe = trained_probe(&batches);
    let before = probe.weights();
    let config = RangeTestConfig {
        start_lr: 1e-5,
        end_lr: 100.0,
        ..RangeTestConfig::default()
    };
    let sgd = SGD::new(probe.vars(), 0.0).unwrap();
    let outcome = range_test(&probe.vars(), sgd, config, |k| {
        probe.loss(&batches[k as usize % batches.len()])
    })
    .expect("range test");

    assert_eq!(probe.weights(), before, "the weights changed");
    assert_sweep(
        &outcome.curve,
        outcome.stop,
        &outcome.suggestions,
        1e-5,
        100.0,
    );
    assert_edge(&outcome.curve, outcome.stop, &outcome.edge);
}

#[test]
fn a_sweep_that_fails_midway_still_restores_the_weights() {
    let Some(data) = mnist(64 * 10) else {
        return;
    };
    let batches = batches(&data, 64, 5, 0);
    let probe = trained_probe(&batches);
    let before = probe.weights();
    let sgd = SGD::new(probe.vars(), 0.0).unwrap();
    let err = range_test(&probe.vars(), sgd, RangeTestConfig::default(), |k| {
        if k < 30 {
            probe.loss(&batches[k as usize % batches.len()])
        } else {
            // A loss of the wrong shape after 30 updates.
            Tensor::zeros(3, candle_core::DType::F32, &candle_core::Device::Cpu)
        }
    })
    .unwrap_err();
    assert!(matches!(err, Error::NonScalarLoss { elements: 3 }), "{err}");
    assert_eq!(probe.weights(), before, "the weights changed");
}

#[test]
fn invalid_range_configs_are_the_cores_typed_errors() {
    let var = Var::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu).unwrap();
    let loss = |_| var.as_tensor().sum_all();
    let sgd = || SGD::new(vec![var.clone()], 0.0).unwrap();
    let too_long = RangeTestConfig {
        num_steps: MAX_RANGE_STEPS as u32 + 1,
        ..RangeTestConfig::default()
    };
    let err = range_test(std::slice::from_ref(&var), sgd(), too_long, loss).unwrap_err();
    assert!(
        matches!(err, Error::Finder(FinderError::CapacityTooSmall { .. })),
        "{err:?}"
    );
    let backwards = RangeTestConfig {
        start_lr: 1.0,
        end_lr: 0.1,
        ..RangeTestConfig::default()
    };
    let err = range_test(std::slice::from_ref(&var), sgd(), backwards, loss).unwrap_err();
    assert!(
        matches!(err, Error::Finder(FinderError::InvalidEndLr { .. })),
        "{err:?}"
    );
}

/// Several sweeps from the same weights on the batches of other epochs, combined by the
/// core: `auto` from the median edge, the spread as confidence; the weights restored.
#[test]
fn several_sweeps_combine_into_the_median_edge_and_a_spread() {
    let Some(data) = mnist(64 * 40) else {
        return;
    };
    let probe = trained_probe(&batches(&data, 64, 3, 0));
    let before = probe.weights();
    let config = RangeTestConfig {
        start_lr: 1e-5,
        end_lr: 100.0,
        ..RangeTestConfig::default()
    };
    let outcomes: Vec<_> = (0..3)
        .map(|epoch| {
            let batches = batches(&data, 64, 3, epoch);
            let sgd = SGD::new(probe.vars(), 0.0).unwrap();
            range_test(&probe.vars(), sgd, config, |k| {
                probe.loss(&batches[k as usize % batches.len()])
            })
            .expect("range test")
        })
        .collect();
    assert_eq!(probe.weights(), before, "the weights changed");
    let edges: Vec<_> = outcomes.iter().map(|o| o.edge).collect();
    assert_consensus(&edges, 10.0);
    assert_ne!(
        outcomes[0].curve, outcomes[1].curve,
        "the sweeps saw other batches"
    );
}
