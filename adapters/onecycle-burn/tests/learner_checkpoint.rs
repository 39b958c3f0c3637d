//! burn's `Learner` with a 1cycle scheduler and cycled Adam: a run stopped after 2 epochs and
//! resumed from burn's own checkpoint files by a fresh `Learner` ends with the same lr
//! sequence and bit-identical weights as a run that never stopped (burn's `check_save_load`,
//! end to end). Like every such test it needs a deterministic run: no shuffling, no dropout,
//! one device.

mod common;

use std::path::Path;

use burn::optim::AdamConfig;
use burn::train::metric::{LearningRateMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use common::{blobs, device, loader, logged_lrs, Probe};
use onecycle_burn::one_cycle;
use onecycle_core::{ConfigError, OneCycleConfig};

const EPOCHS: usize = 4;
const BATCH: usize = 16;
const TRAIN: usize = 192; // 12 steps per epoch

fn config() -> OneCycleConfig<f64> {
    OneCycleConfig::fastai(0.05, (EPOCHS * TRAIN / BATCH) as u32)
}

/// Trains in `dir` until `epochs`, resuming from the checkpoint of epoch `resume` if given.
fn run(dir: &Path, model: Probe, epochs: usize, resume: Option<usize>) -> Probe {
    let (scheduler, optim) = one_cycle(config(), AdamConfig::new()).unwrap();
    let mut training = SupervisedTraining::new(
        dir,
        loader(blobs(TRAIN, 2), BATCH),
        loader(blobs(48, 9), BATCH),
    )
    .metric_train_numeric(LearningRateMetric::new())
    .metric_train_numeric(LossMetric::new())
    .with_default_checkpointers()
    .with_application_logger(None)
    .num_epochs(epochs);
    if let Some(epoch) = resume {
        training = training.checkpoint(epoch);
    }
    training.launch(Learner::new(model, optim, scheduler)).model
}

#[test]
fn resuming_from_a_burn_checkpoint_equals_the_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, split) = (tmp.path().join("whole"), tmp.path().join("split"));
    let initial = Probe::new(&device(21));

    let uninterrupted = run(&whole, initial.clone(), EPOCHS, None);
    run(&split, initial.clone(), 2, None);
    // A fresh model and fresh optimiser and scheduler: all state comes from the checkpoint.
    let fresh = Probe::new(&device(99));
    let resumed = run(&split, fresh, EPOCHS, Some(2));

    assert_eq!(
        resumed.weights(),
        uninterrupted.weights(),
        "final weights differ"
    );
    assert_ne!(
        uninterrupted.weights(),
        initial.weights(),
        "training changed nothing"
    );
    for epoch in 1..=EPOCHS {
        let (a, b) = (logged_lrs(&whole, epoch), logged_lrs(&split, epoch));
        assert_eq!(a.len(), TRAIN / BATCH, "epoch {epoch}: {a:?}");
        assert_eq!(a, b, "epoch {epoch}: lr sequences differ");
    }
    // And the lrs logged are the core's schedule, step by step, exactly.
    let schedule = config().build().unwrap();
    let logged: Vec<f64> = (1..=EPOCHS).flat_map(|e| logged_lrs(&whole, e)).collect();
    let core: Vec<f64> = (0..logged.len() as u32).map(|k| schedule.lr(k)).collect();
    assert_eq!(logged, core);
}

/// The error `one_cycle` gives for `config`; a test failure if it accepts it.
fn refused(config: OneCycleConfig<f64>) -> ConfigError {
    match one_cycle(config, AdamConfig::new()) {
        Ok(_) => panic!("one_cycle accepted an invalid config"),
        Err(e) => e,
    }
}

#[test]
fn bad_configs_are_the_cores_typed_errors() {
    let err = refused(OneCycleConfig::fastai(-1.0, 10));
    assert!(matches!(err, ConfigError::InvalidMaxLr { .. }), "{err:?}");
    assert_eq!(
        refused(OneCycleConfig::pytorch(0.1, 0)),
        ConfigError::ZeroTotalSteps
    );
    let mut bad_pct = OneCycleConfig::optax_cos(0.1, 100);
    bad_pct.pct_start = 1.5;
    let err = refused(bad_pct);
    assert!(
        matches!(err, ConfigError::InvalidPctStart { .. }),
        "{err:?}"
    );
}
