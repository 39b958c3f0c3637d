//! Checkpoint/resume: a run stopped after an epoch and resumed from its checkpoint
//! ends bit-for-bit where the uninterrupted run ends (CPU, fixed seed).

use trainer_cuda::data::{Dataset, Normalization, Split};
use trainer_cuda::nn::{build_network, Backend, DeviceKind, Network};
use trainer_cuda::train::progress::Verbosity;
use trainer_cuda::train::{
    load_latest, train, DeviceName, ModelName, OptimizerName, PresetName, RunConfig, RunControl,
    RunDir, RunEnd, ScheduleKind, ScheduleSpec,
};

/// A small learnable problem: the class is which quadrant of a 28×28 image is bright.
fn synthetic(n: usize, seed: u64) -> Dataset {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    let mut pixels = Vec::with_capacity(n * 784);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let class = (next() % 4) as u8;
        for y in 0..28 {
            for x in 0..28 {
                let q = u8::from(y >= 14) * 2 + u8::from(x >= 14);
                let base = if q == class { 80 } else { 60 };
                pixels.push(base + (next() % 128) as u8);
            }
        }
        labels.push(class);
    }
    let norm = Normalization::from_pixels(&pixels, 1, 784);
    Dataset::from_bytes(&pixels, labels, 1, 28, 28, 4, &norm)
}

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
            preset: PresetName::Pytorch,
            three_phase: false,
            fixed_momentum: 0.9,
        },
        evals_per_epoch: 2,
        val_size: 0,
        train_limit: None,
        test_limit: None,
    }
}

fn net(cfg: &RunConfig) -> Box<dyn Network> {
    build_network(
        cfg.model.into(),
        cfg.optimizer.kind(cfg.weight_decay),
        DeviceKind::Cpu(Backend::Fast),
        cfg.seed,
        (1, 28, 28),
        4,
    )
    .unwrap()
}

fn control(dir: Option<&RunDir>, stop: Option<u32>) -> RunControl<'_> {
    RunControl {
        dir,
        stop_after_epochs: stop,
        verbosity: Verbosity::Quiet,
        label: "t".into(),
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
