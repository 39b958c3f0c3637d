//! Real training with burn's optimisers: the lr and momentum / β₁ each update actually used
//! are read back from burn's own state (the optimiser record and the weights it wrote) and
//! must equal onecycle-core's values for that step.
//!
//! Readback, for the one weight tensor `w` with gradient `g` (from burn's autodiff):
//! - SGD (dampening `d`): burn keeps the velocity `v_k = (1-d)·g_k + m_k·v_{k-1}` (`v_0 = g_0`)
//!   and writes `w_{k+1} = w_k − lr_k·v_k`, so `lr_k` is the least-squares ratio of `w_k − w_{k+1}`
//!   to `v_k`, and `m_k` that of `v_k − (1-d)·g_k` to `v_{k-1}`.
//! - Adam: burn keeps `m_k = β₁·m_{k-1} + (1−β₁)·g_k`, so `β₁` is the ratio of `m_k − g_k` to
//!   `m_{k-1} − g_k` (at step 0, `1 − β₁` is that of `m_0` to `g_0`); `lr_k` is the ratio of
//!   `w_k − w_{k+1}` to burn's bias-corrected direction built from the recorded moments.
//!
//! Tolerances, derived from f32 rounding: for the lr, [`onecycle_readback::lr_tolerance`]
//! (~1e-5 relative while the lr is large, looser where an update is a few ulps). Momentum
//! and β₁ come from moment buffers of similar magnitude, whose ratio carries ~1e-7 (measured
//! worst 5e-8); the check is 1e-6 absolute, against ~1e-3 between consecutive steps. The
//! test also asserts its own power: at most steps the lr tolerance is smaller than the gap to
//! the neighbouring steps' lr, so reading the schedule one step off fails.

mod common;

use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsAccumulator, SgdConfig};
use burn::train::TrainStep;
use common::{blobs, device, leaf, loader, logged_lrs, state_tensors, to_batch, to_f64, Probe};
use onecycle_burn::{one_cycle, SgdMomentum};
use onecycle_core::{Anneal, OneCycleConfig, Phases, Schedule};
use onecycle_readback::{lr_tolerance, ratio, sub, LrCheck};

const STEPS: u32 = 300;
const BATCH: usize = 12;
const MOMENTUM_TOL: f64 = 1e-6;

/// One recorded update: what went in and what burn's state says afterwards.
struct Update {
    grad: Vec<f64>,
    before: Vec<f64>,
    after: Vec<f64>,
    state: Vec<(String, Vec<f64>)>,
    loss: f64,
}

/// Trains the probe for [`STEPS`] steps with the scheduler and optimiser `one_cycle` builds.
fn train(
    config: OneCycleConfig<f64>,
    optimizer: impl onecycle_burn::MomentumOptimizer,
) -> Vec<Update> {
    let (updates, _) = train_on(
        config,
        optimizer,
        &blobs(600, 3),
        Probe::new(&device(7)),
        Feed {
            batch: BATCH,
            accumulation: 1,
            updates: STEPS as usize,
        },
    );
    updates
}

/// How the data feeds the updates.
#[derive(Clone, Copy)]
struct Feed {
    /// Examples per batch.
    batch: usize,
    /// Batches whose gradients are summed (burn's `GradientsAccumulator`) into one update.
    accumulation: usize,
    /// Optimiser updates.
    updates: usize,
}

/// Trains `model` on `data` in order, batch after batch (wrapping around): per update, one
/// scheduler step and one optimiser step on the summed gradients of `feed.accumulation`
/// batches, as burn's `Learner` does under `grads_accumulation`. Returns every update and
/// the trained model.
fn train_on(
    config: OneCycleConfig<f64>,
    optimizer: impl onecycle_burn::MomentumOptimizer,
    data: &[common::Item],
    mut model: Probe,
    feed: Feed,
) -> (Vec<Update>, Probe) {
    let device = model.linear.weight.device();
    let (mut scheduler, mut optim) = one_cycle(config, optimizer).expect("valid config");
    let mut updates = Vec::new();
    let mut batch_index = 0;
    for _ in 0..feed.updates {
        let mut accumulator = GradientsAccumulator::<Probe>::new();
        let mut loss = 0.0;
        for _ in 0..feed.accumulation {
            let start = (batch_index * feed.batch) % data.len();
            batch_index += 1;
            let out = TrainStep::step(&model, to_batch(&data[start..start + feed.batch], &device));
            loss += f64::from(out.item.loss.into_data().try_to_vec::<f32>().unwrap()[0]);
            accumulator.accumulate(&model, out.grads);
        }
        let grads = accumulator.grads();
        let grad = grads
            .get::<2>(model.linear.weight.id)
            .expect("weight gradient");
        let before = to_f64(model.linear.weight.val().into_data());
        let lr = scheduler.step();
        model = optim.step(lr, model, grads);
        updates.push(Update {
            grad: to_f64(grad.into_data()),
            before,
            after: to_f64(model.linear.weight.val().into_data()),
            state: state_tensors(&optim),
            loss: loss / feed.accumulation as f64,
        });
    }
    (updates, model)
}

fn assert_loss_falls(updates: &[Update]) {
    let mean = |u: &[Update]| u.iter().map(|u| u.loss).sum::<f64>() / u.len() as f64;
    let n = updates.len() / 10;
    let (first, last) = (mean(&updates[..n]), mean(&updates[updates.len() - n..]));
    assert!(
        last < 0.7 * first,
        "loss did not fall: first {n} updates {first:.4}, last {n} {last:.4}"
    );
}

fn check_sgd(config: OneCycleConfig<f64>) {
    let dampening = 0.0;
    let optimizer = SgdMomentum {
        sgd: SgdConfig::new(),
        momentum: MomentumConfig {
            momentum: 0.0,
            dampening,
            nesterov: false,
        },
    };
    let schedule = config.build().unwrap();
    let updates = train(config, optimizer);
    let lr_at = |k: usize| schedule.lr(k as u32);
    let (mut lr_check, mut worst_m) = (LrCheck::new(), 0f64);
    for (k, u) in updates.iter().enumerate() {
        let momentum = schedule.momentum(k as u32);
        let v = leaf(&u.state, "velocity");
        let used_lr = ratio(&sub(&u.before, &u.after), v);
        lr_check.check("SGD", k, used_lr, lr_at, lr_tolerance(&u.before, &u.after));
        if k > 0 {
            let prev = leaf(&updates[k - 1].state, "velocity");
            let scaled: Vec<f64> = u.grad.iter().map(|g| (1.0 - dampening) * g).collect();
            let used_m = ratio(&sub(v, &scaled), prev);
            let m = momentum.expect("1cycle cycles momentum");
            worst_m = worst_m.max((used_m - m).abs());
            assert!(
                (used_m - m).abs() < MOMENTUM_TOL,
                "step {k}: SGD used momentum {used_m}, core {m}"
            );
        }
    }
    eprintln!("SGD worst momentum error {worst_m:e}");
    lr_check.assert_power(0.8);
    assert_loss_falls(&updates);
}

#[test]
fn sgd_uses_the_cores_lr_and_momentum_at_every_step_pytorch_cos() {
    check_sgd(OneCycleConfig::pytorch(0.5, STEPS));
}

#[test]
fn sgd_uses_the_cores_lr_and_momentum_at_every_step_three_phase_linear() {
    let mut config = OneCycleConfig::pytorch(0.5, STEPS);
    config.anneal = Anneal::Linear;
    config.phases = Phases::Three {
        pct_final: 2.0 * config.pct_start,
    };
    check_sgd(config);
}

/// Adam's or AdamW's updates (`decoupled_decay`: AdamW's weight decay, 0 for Adam) read
/// back: β₁ from the first moment, the lr from the weight change against burn's direction.
fn check_adam(
    name: &str,
    updates: &[Update],
    schedule: &impl Schedule<f64>,
    (beta_2, epsilon): (f32, f32),
    decoupled_decay: f64,
) {
    let lr_at = |k: usize| schedule.lr(k as u32);
    let (mut lr_check, mut worst_b) = (LrCheck::new(), 0f64);
    for (k, u) in updates.iter().enumerate() {
        let beta_1 = schedule.momentum(k as u32).expect("the schedule cycles β₁");
        // burn keeps β₁ in f32.
        let beta_1 = f64::from(beta_1 as f32);
        let m = leaf(&u.state, "moment_1");
        let used_b = if k == 0 {
            1.0 - ratio(m, &u.grad)
        } else {
            let prev = leaf(&updates[k - 1].state, "moment_1");
            ratio(&sub(m, &u.grad), &sub(prev, &u.grad))
        };
        worst_b = worst_b.max((used_b - beta_1).abs());
        assert!(
            (used_b - beta_1).abs() < MOMENTUM_TOL,
            "update {k}: {name} used β₁ {used_b}, core {beta_1}"
        );
        // burn's direction at time t = k + 1, with the β₁ it used; AdamW adds its decoupled
        // decay `λ·w` to it (`w ← w·(1 − lr·λ) − lr·direction`).
        let t = (k + 1) as i32;
        let bc2 = (1.0 - f64::from(beta_2).powi(t)).sqrt();
        let factor = bc2 / (1.0 - used_b.powi(t));
        let v = leaf(&u.state, "moment_2");
        let direction: Vec<f64> = m
            .iter()
            .zip(v)
            .zip(&u.before)
            .map(|((m, v), w)| {
                m * factor / (v.sqrt() + f64::from(epsilon) * bc2) + decoupled_decay * w
            })
            .collect();
        let used_lr = ratio(&sub(&u.before, &u.after), &direction);
        lr_check.check(name, k, used_lr, lr_at, lr_tolerance(&u.before, &u.after));
    }
    eprintln!("{name} worst β₁ error {worst_b:e}");
    lr_check.assert_power(0.8);
    assert_loss_falls(updates);
}

#[test]
fn adam_uses_the_cores_lr_and_beta1_at_every_step_fastai() {
    let (beta_2, epsilon) = (0.999f32, 1e-5f32);
    let config = OneCycleConfig::fastai(0.05, STEPS);
    let updates = train(
        config,
        AdamConfig::new().with_beta_2(beta_2).with_epsilon(epsilon),
    );
    check_adam(
        "Adam",
        &updates,
        &config.build().unwrap(),
        (beta_2, epsilon),
        0.0,
    );
}

#[test]
fn adamw_uses_the_cores_lr_and_beta1_at_every_step_fastai() {
    let (beta_2, epsilon, decay) = (0.99f32, 1e-6f32, 0.05f32);
    let config = OneCycleConfig::fastai(0.05, STEPS);
    let updates = train(
        config,
        AdamWConfig::new()
            .with_beta_2(beta_2)
            .with_epsilon(epsilon)
            .with_weight_decay(decay),
    );
    let schedule = config.build().unwrap();
    check_adam(
        "AdamW",
        &updates,
        &schedule,
        (beta_2, epsilon),
        f64::from(decay),
    );
}

/// burn's `Learner` under `grads_accumulation(2)`, 60 updates of 2 batches: burn 0.22 calls
/// the lr scheduler only when it steps the optimiser (single-device, multi-device and DDP
/// strategies alike), so lr and β₁ both count optimiser updates. The Learner's final weights
/// equal, bit for bit, those of the same updates made by hand, whose β₁ and lr read back as
/// the core's values at the update's index; and the lr burn logs per batch is the core's lr
/// of the latest update.
#[test]
fn under_gradient_accumulation_lr_and_beta1_count_optimiser_updates() {
    use burn::train::metric::LearningRateMetric;
    use burn::train::{Learner, SupervisedTraining};
    const TRAIN: usize = 192;
    const EPOCHS: usize = 10;
    let feed = Feed {
        batch: 16,
        accumulation: 2,
        updates: EPOCHS * TRAIN / 32,
    };
    let config = OneCycleConfig::fastai(0.05, feed.updates as u32);
    let adam = || AdamConfig::new().with_epsilon(1e-5);
    let data = blobs(TRAIN, 2);
    let initial = Probe::new(&device(5));

    let tmp = tempfile::tempdir().unwrap();
    let (scheduler, optim) = one_cycle(config, adam()).unwrap();
    let learned = SupervisedTraining::new(
        tmp.path(),
        loader(data.clone(), feed.batch),
        loader(blobs(48, 9), feed.batch),
    )
    .metric_train_numeric(LearningRateMetric::new())
    .with_application_logger(None)
    .grads_accumulation(feed.accumulation)
    .num_epochs(EPOCHS)
    .launch(Learner::new(initial.clone(), optim, scheduler))
    .model;

    let (updates, by_hand) = train_on(config, adam(), &data, initial.clone(), feed);
    let schedule = config.build().unwrap();
    check_adam(
        "Adam, accumulation 2",
        &updates,
        &schedule,
        (0.999, 1e-5),
        0.0,
    );
    assert_ne!(
        learned.weights(),
        initial.weights(),
        "training changed nothing"
    );
    assert_eq!(
        learned.weights(),
        by_hand.weights(),
        "the Learner's updates differ from the hand-made ones"
    );
    let logged: Vec<f64> = (1..=EPOCHS)
        .flat_map(|e| logged_lrs(tmp.path(), e))
        .collect();
    assert_eq!(logged.len(), feed.updates * feed.accumulation);
    for (i, lr) in logged.iter().enumerate() {
        // Batch i is logged after update (i + 1) / 2 − 1 (none before the first).
        let expected = match (i + 1) / feed.accumulation {
            0 => 0.0,
            n => schedule.lr(n as u32 - 1),
        };
        assert_eq!(*lr, expected, "batch {i}: logged lr");
    }
}

/// The largest weight change of one SGD step (momentum 0, so the step is `lr · g`, with `g`
/// clipped or not) from the probe's first batch, with the lr and the f32 rounding of the
/// change.
fn first_step_change(
    clipping: Option<burn::optim::grad_clipping::GradientClippingConfig>,
) -> (f64, f64, f64) {
    let device = device(7);
    let data = blobs(600, 3);
    let optimizer = SgdMomentum {
        sgd: SgdConfig::new().with_gradient_clipping(clipping),
        momentum: MomentumConfig {
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
        },
    };
    let config = OneCycleConfig::pytorch(0.5, STEPS);
    let (mut scheduler, mut optim) = one_cycle(config, optimizer).expect("valid config");
    let model = Probe::new(&device);
    let lr = scheduler.step();
    let out = TrainStep::step(&model, to_batch(&data[..BATCH], &device));
    let before = to_f64(model.linear.weight.val().into_data());
    let model = optim.step(lr, model, out.grads);
    let after = to_f64(model.linear.weight.val().into_data());
    let change = sub(&before, &after)
        .iter()
        .fold(0f64, |m, d| m.max(d.abs()));
    // The weights are f32: a difference of two of them is known to a few of their ulps.
    let ulps = 4.0 * f64::from(f32::EPSILON) * before.iter().fold(0f64, |m, w| m.max(w.abs()));
    (lr, change, ulps)
}

#[test]
fn configured_gradient_clipping_is_applied_as_burns_init_applies_it() {
    use burn::optim::grad_clipping::GradientClippingConfig;
    let clip = 1e-4f32;
    let (lr, free, _) = first_step_change(None);
    let (_, clipped, ulps) = first_step_change(Some(GradientClippingConfig::Value(clip)));
    let bound = lr * f64::from(clip);
    // The test's power: unclipped, the same step moves a weight far past the bound.
    assert!(
        free > 10.0 * bound,
        "unclipped change {free:e}, bound {bound:e}"
    );
    // Clipped by value, no weight moves more than lr · clip, up to the weights' f32 rounding.
    assert!(
        clipped <= bound + ulps,
        "clipped change {clipped:e} > {bound:e} + {ulps:e}"
    );
    assert!(
        clipped > 0.5 * bound,
        "clipped change {clipped:e}: the step did not happen"
    );
}
