//! The range test on a burn model and loader: suggestions inside the sweep, the caller's
//! model bit-identical afterwards, invalid configurations as the core's typed errors.

mod common;

use burn::optim::SgdConfig;
use common::{blobs, device, loader, Probe};
use onecycle_burn::{range_test, Error, MAX_RANGE_STEPS};
use onecycle_core::finder::RangeTestConfig;
use onecycle_core::FinderError;
use onecycle_readback::{assert_consensus, assert_edge, assert_sweep};

#[test]
fn suggestions_lie_inside_the_sweep_and_the_model_is_untouched() {
    let device = device(11);
    let model = Probe::new(&device);
    let before = model.weights();
    let data = loader(blobs(240, 5), 8); // 30 batches: the 100-step sweep wraps round 3 times
    let config = RangeTestConfig {
        start_lr: 1e-5,
        end_lr: 100.0,
        ..RangeTestConfig::default()
    };
    let outcome = range_test(&model, SgdConfig::new().init(), &data, config).expect("range test");

    assert_sweep(
        &outcome.curve,
        outcome.stop,
        &outcome.suggestions,
        1e-5,
        100.0,
    );
    assert_edge(&outcome.curve, outcome.stop, &outcome.edge);
    assert_eq!(model.weights(), before, "the caller's weights changed");
}

#[test]
fn invalid_range_configs_are_the_cores_typed_errors() {
    let device = device(1);
    let model = Probe::new(&device);
    let data = loader(blobs(30, 1), 10);
    let too_long = RangeTestConfig {
        num_steps: MAX_RANGE_STEPS as u32 + 1,
        ..RangeTestConfig::default()
    };
    let err = range_test(&model, SgdConfig::new().init(), &data, too_long).unwrap_err();
    assert!(
        matches!(err, Error::Finder(FinderError::CapacityTooSmall { .. })),
        "{err:?}"
    );

    let backwards = RangeTestConfig {
        start_lr: 1.0,
        end_lr: 0.1,
        ..RangeTestConfig::default()
    };
    let err = range_test(&model, SgdConfig::new().init(), &data, backwards).unwrap_err();
    assert!(
        matches!(err, Error::Finder(FinderError::InvalidEndLr { .. })),
        "{err:?}"
    );

    let empty = loader(Vec::new(), 10);
    let err = range_test(
        &model,
        SgdConfig::new().init(),
        &empty,
        RangeTestConfig::default(),
    )
    .unwrap_err();
    assert_eq!(err, Error::EmptyLoader);
    assert!(err.to_string().contains("no batch"), "{err}");
}

/// Several sweeps from the same model on other batches, combined by the core: `auto` from
/// the median edge, the spread as confidence; the model untouched by all of them.
#[test]
fn several_sweeps_combine_into_the_median_edge_and_a_spread() {
    let device = device(11);
    let model = Probe::new(&device);
    let before = model.weights();
    let config = RangeTestConfig {
        start_lr: 1e-5,
        end_lr: 1e4,
        num_steps: 200,
        ..RangeTestConfig::default()
    };
    // The same examples in three orders (rotated by a third): other batches at every step.
    let outcomes: Vec<_> = [0, 80, 160]
        .iter()
        .map(|&shift| {
            let mut items = blobs(240, 5);
            items.rotate_left(shift);
            range_test(&model, SgdConfig::new().init(), &loader(items, 8), config)
                .expect("range test")
        })
        .collect();
    let edges: Vec<_> = outcomes.iter().map(|o| o.edge).collect();
    assert_consensus(&edges, 10.0);
    assert_ne!(
        outcomes[0].curve, outcomes[1].curve,
        "the sweeps saw other batches"
    );
    assert_eq!(model.weights(), before, "the caller's weights changed");
}
