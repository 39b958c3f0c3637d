//! A short real training run on a slice of MNIST must learn. Skips (with a message)
//! when MNIST is not in the data directory; CI fetches it first.

use trainer_cuda::data::{load, resolve_data_dir, DatasetName};
use trainer_cuda::nn::{build_network, Backend, DeviceKind};
use trainer_cuda::train::progress::Verbosity;
use trainer_cuda::train::{
    range_test, train, ModelName, OptimizerName, PresetName, RunConfig, RunControl, ScheduleKind,
    ScheduleSpec,
};

fn mnist_dir() -> Option<std::path::PathBuf> {
    let candidates = [
        resolve_data_dir(None),
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"),
    ];
    candidates.into_iter().find(|d| d.join("mnist").is_dir())
}

#[test]
fn onecycle_on_an_mnist_slice_learns() {
    let Some(dir) = mnist_dir() else {
        eprintln!("skipped: MNIST not found; run `cargo run --release -p trainer-cuda -- data fetch mnist`");
        return;
    };
    let data = load(DatasetName::Mnist, &dir).unwrap();
    let cfg = RunConfig {
        dataset: DatasetName::Mnist,
        model: ModelName::MnistCnn,
        optimizer: OptimizerName::Sgd,
        weight_decay: 1e-4,
        batch_size: 64,
        epochs: 1.0,
        seed: 3,
        schedule: ScheduleSpec {
            kind: ScheduleKind::Onecycle,
            lr: 0.1,
            total_steps: 3000 / 64,
            preset: PresetName::PyTorch,
            three_phase: false,
            fixed_momentum: 0.9,
        },
        evals_per_epoch: 1,
        val_size: 0,
        train_limit: Some(3000),
        test_limit: Some(1000),
    };
    let mut net = build_network(
        cfg.model,
        cfg.optimizer.kind(cfg.weight_decay),
        DeviceKind::Cpu(Backend::Fast),
        cfg.seed,
        (1, 28, 28),
        10,
    )
    .unwrap();
    let before = net
        .evaluate(
            &data.test.head(Some(1000)).images(),
            &data.test.labels[..1000],
            500,
        )
        .unwrap();
    let control = RunControl {
        dir: None,
        stop_after_epochs: None,
        verbosity: Verbosity::Quiet,
        label: "t".into(),
        keep_checkpoints: None,
    };
    let res = train(&cfg, net.as_mut(), &data, None, &control).unwrap();
    let steps = &res.metrics.steps;
    let first: f64 = steps[..5].iter().map(|s| s.loss).sum::<f64>() / 5.0;
    let last: f64 = steps[steps.len() - 5..].iter().map(|s| s.loss).sum::<f64>() / 5.0;
    assert!(last < 0.5 * first, "loss did not fall: {first} -> {last}");
    let acc = res.metrics.evals.last().unwrap().acc;
    assert!(
        acc > 0.85,
        "accuracy {acc} after one pass over 3000 images (before: {})",
        before.accuracy()
    );
    // Without a validation slice the run's test score is that of its final weights.
    let test = data.test.head(cfg.test_limit);
    let again = net
        .evaluate(
            test.as_ref(),
            &test.labels,
            trainer_cuda::train::run::EVAL_BATCH,
        )
        .unwrap();
    let final_test = res.metrics.final_test.unwrap();
    assert_eq!(final_test.acc, again.accuracy());
    assert_eq!(final_test.loss, f64::from(again.loss));
}

#[test]
fn range_test_restores_the_weights_and_finds_a_usable_lr() {
    let Some(dir) = mnist_dir() else {
        eprintln!("skipped: MNIST not found; run `cargo run --release -p trainer-cuda -- data fetch mnist`");
        return;
    };
    let data = load(DatasetName::Mnist, &dir).unwrap();
    let train_set = data.train.clone().take(128 * 120);
    let mut net = build_network(
        ModelName::MnistCnn,
        OptimizerName::Sgd.kind(0.0),
        DeviceKind::Cpu(Backend::Fast),
        5,
        (1, 28, 28),
        10,
    )
    .unwrap();
    let before = net.snapshot();
    let cfg = onecycle_core::RangeTestConfig {
        num_steps: 100,
        ..Default::default()
    };
    let out = range_test(
        net.as_mut(),
        &train_set,
        128,
        5,
        0,
        cfg,
        Some(0.9),
        Verbosity::Quiet,
    )
    .unwrap();
    assert_eq!(net.snapshot(), before, "weights not restored");
    let s = out.suggestions.unwrap();
    for lr in [s.valley, s.slide, s.minimum, s.steep] {
        assert!(lr > 1e-7 && lr < 10.0, "suggestion {lr} outside the sweep");
    }
    // The loss blows up within the sweep (to 10): the edge is a recorded lr past the
    // lowest raw loss, and `auto` that lr / AUTO_DIVISOR.
    let edge = out.edge.unwrap();
    let lowest = (0..out.points.len())
        .min_by(|&i, &j| out.points[i].raw_loss.total_cmp(&out.points[j].raw_loss))
        .unwrap();
    assert!(
        edge.index > lowest,
        "edge {edge:?}, lowest raw loss at {lowest}"
    );
    assert_eq!(edge.auto, edge.lr / onecycle_core::finder::AUTO_DIVISOR);
    // The curve must come down before it diverges: real learning happened.
    let min = out
        .points
        .iter()
        .map(|p| p.loss)
        .fold(f64::INFINITY, f64::min);
    assert!(
        min < 0.8 * out.points[0].loss,
        "no descent in the range test"
    );
    // The CSV round-trips through `find-lr --from-csv` to the same suggestions.
    let parsed = trainer_cuda::train::range_curve::parse_curve_csv(&out.csv(), "mem").unwrap();
    let again = trainer_cuda::train::range_curve::suggestions(&parsed).unwrap();
    assert_eq!(again, s);
}

#[test]
fn several_sweeps_read_other_batches_from_the_same_network_and_agree_on_the_median() {
    let Some(dir) = mnist_dir() else {
        eprintln!("skipped: MNIST not found; run `cargo run --release -p trainer-cuda -- data fetch mnist`");
        return;
    };
    let data = load(DatasetName::Mnist, &dir).unwrap();
    let train_set = data.train.clone().take(5000);
    let mut net = build_network(
        ModelName::MnistCnn,
        OptimizerName::Sgd.kind(5e-4),
        DeviceKind::Cpu(Backend::Fast),
        3,
        (1, 28, 28),
        10,
    )
    .unwrap();
    let before = net.snapshot();
    let cfg = onecycle_core::RangeTestConfig {
        start_lr: 1e-3,
        num_steps: 80,
        ..Default::default()
    };
    let sweeps = trainer_cuda::train::range_test::range_sweeps(
        net.as_mut(),
        &train_set,
        32,
        3,
        3,
        10.0,
        cfg,
        Some(0.9),
        Verbosity::Quiet,
    )
    .unwrap();
    assert_eq!(net.snapshot(), before, "weights not restored");
    assert_eq!(sweeps.outcomes.len(), 3);
    // Sweep 0 is the single range test from epoch 0; the others read other batches.
    let single = range_test(
        net.as_mut(),
        &train_set,
        32,
        3,
        0,
        cfg,
        Some(0.9),
        Verbosity::Quiet,
    )
    .unwrap();
    assert_eq!(single.points, sweeps.outcomes[0].points);
    assert_ne!(sweeps.outcomes[0].points, sweeps.outcomes[1].points);
    let mut edges: Vec<f64> = sweeps.outcomes.iter().map(|o| o.edge.unwrap().lr).collect();
    let c = sweeps.consensus.unwrap();
    edges.sort_by(f64::total_cmp);
    assert_eq!(c.edge, edges[1], "the median of three");
    assert_eq!(c.auto, edges[1] / 10.0);
    assert_eq!(c.spread, edges[2] / edges[0]);
    assert_eq!(
        trainer_cuda::train::range_test::auto_lr(&sweeps).unwrap(),
        c.auto
    );
    // A number of sweeps outside 1..=16 is refused with the range.
    for bad in [0, 17] {
        let err = trainer_cuda::train::range_test::range_sweeps(
            net.as_mut(),
            &train_set,
            32,
            3,
            bad,
            10.0,
            cfg,
            None,
            Verbosity::Quiet,
        )
        .unwrap_err();
        assert!(err.to_string().contains("between 1 and 16"), "{err}");
    }
}
