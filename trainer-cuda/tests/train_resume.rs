//! Checkpoint/resume: a run stopped after an epoch and resumed from its checkpoint
//! ends bit-for-bit where the uninterrupted run ends (CPU, fixed seed).

use trainer_cuda::data::Split;
use trainer_cuda::nn::{Backend, DeviceKind};
use trainer_cuda::train::{
    load_latest, train, DeviceName, ModelName, OptimizerName, PresetName, RunConfig, RunDir,
    RunEnd, ScheduleKind, ScheduleSpec,
};

mod common;
use common::{control, net, synthetic};

fn config(optimizer: OptimizerName, kind: ScheduleKind) -> RunConfig {
    RunConfig {
        dataset: trainer_cuda::data::DatasetName::Mnist,
        model: ModelName::MnistCnn,
        optimizer,
        weight_decay: 1e-4,
        batch_size: 32,
        epochs: 3.0,
        seed: 11,
        schedule: ScheduleSpec {
            kind,
            lr: 0.05,
            total_steps: 3 * (256 / 32),
            preset: PresetName::PyTorch,
            three_phase: false,
            fixed_momentum: 0.9,
        },
        evals_per_epoch: 2,
        val_size: 0,
        train_limit: None,
        test_limit: None,
    }
}

fn check_resume(optimizer: OptimizerName, kind: ScheduleKind) {
    let data = Split {
        train: synthetic(256, 1),
        test: synthetic(64, 2),
    };
    let cfg = config(optimizer, kind);

    let mut straight = net(&cfg);
    let full = train(&cfg, straight.as_mut(), &data, None, &control(None, None)).unwrap();
    assert_eq!(full.end, RunEnd::Completed);

    let tmp = tempfile::tempdir().unwrap();
    let dir = RunDir {
        path: tmp.path().to_path_buf(),
    };
    dir.write_config(&cfg).unwrap();
    let mut first = net(&cfg);
    let part = train(
        &cfg,
        first.as_mut(),
        &data,
        None,
        &control(Some(&dir), Some(2)),
    )
    .unwrap();
    assert_eq!(part.end, RunEnd::Stopped);
    drop(first);

    // A fresh process would start from nothing but the directory.
    let cfg2 = dir.read_config().unwrap();
    assert_eq!(cfg2, cfg);
    let mut resumed = net(&cfg2);
    let state = load_latest(&dir, resumed.as_mut()).unwrap();
    assert_eq!(state.epochs_done, 2);
    let rest = train(
        &cfg2,
        resumed.as_mut(),
        &data,
        Some(state),
        &control(Some(&dir), None),
    )
    .unwrap();
    assert_eq!(rest.end, RunEnd::Completed);

    let a = straight.snapshot();
    let b = resumed.snapshot();
    assert_eq!(a.tensors.len(), b.tensors.len());
    for (x, y) in a.tensors.iter().zip(&b.tensors) {
        assert_eq!(x.name, y.name);
        let same = x
            .data
            .iter()
            .zip(&y.data)
            .all(|(p, q)| p.to_bits() == q.to_bits());
        assert!(
            same,
            "{:?}/{:?}: tensor {} differs after resume",
            optimizer, kind, x.name
        );
    }
    assert_eq!(a.optimizer_step, b.optimizer_step);
    let losses = |m: &trainer_cuda::train::Metrics| {
        m.steps.iter().map(|s| s.loss.to_bits()).collect::<Vec<_>>()
    };
    assert_eq!(losses(&full.metrics), losses(&rest.metrics));
    let accs = |m: &trainer_cuda::train::Metrics| m.evals.iter().map(|e| e.acc).collect::<Vec<_>>();
    assert_eq!(accs(&full.metrics), accs(&rest.metrics));
    // The run learned something (4 classes: chance is 25%).
    assert!(
        full.metrics.evals.last().unwrap().acc > 0.6,
        "{:?}",
        full.metrics.evals
    );
}

#[test]
fn sgd_onecycle_resume_is_bit_identical() {
    check_resume(OptimizerName::Sgd, ScheduleKind::Onecycle);
}

#[test]
fn adam_cosine_resume_is_bit_identical() {
    check_resume(OptimizerName::Adam, ScheduleKind::Cosine);
}

#[test]
fn rmsprop_step_resume_is_bit_identical() {
    check_resume(OptimizerName::Rmsprop, ScheduleKind::Step);
}

#[test]
fn auto_device_falls_back_to_the_cpu_without_cuda() {
    let c = DeviceName::Auto.candidates();
    assert_eq!(c.last(), Some(&DeviceKind::Cpu(Backend::Fast)));
}
