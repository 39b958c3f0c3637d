//! Real training with candle-nn's optimisers on MNIST (softmax regression, 300 steps): the lr
//! and β₁ every update actually used are read back from candle, not from the adapter, and must
//! equal onecycle-core's values for that step.
//!
//! - SGD: candle writes `w_{k+1} = w_k − lr_k·g_k`, so `lr_k` is the least-squares ratio of
//!   `w_k − w_{k+1}` to the gradient (tolerance from f32 rounding:
//!   [`onecycle_readback::lr_tolerance`]).
//! - AdamW: its moments are private, so the test keeps its own f64 AdamW moments from the
//!   same gradients with the core's β₁ for each step, and recovers `lr_k` as the ratio of
//!   `w_k − w_{k+1}` to the bias-corrected direction they give (weight decay 0). A β₁ other
//!   than the core's at any step bends the moments away and fails every later step. β₁ is
//!   also read from the optimiser itself (`AdamW::params`), which is what its `step` reads.
//!   The f32 moments differ from the f64 ones by ~1e-7 relative, inside the lr tolerance.

mod common;

use candle_core::backprop::GradStore;
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW, SGD};
use common::{batches, mnist, Probe};
use onecycle_candle::{CycleMomentum, Driver, DriverConfig, ParamsSgdMomentum, SgdMomentum};
use onecycle_core::{Anneal, OneCycleConfig, Phases};
use onecycle_readback::{lr_tolerance, ratio, sub, LrCheck};

const STEPS: usize = 300;
const BATCH: usize = 32;

fn to_f64(t: &candle_core::Tensor) -> Vec<f64> {
    t.flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// One update: the gradient of the weight matrix, the weights around it, the loss, and the
/// optimiser's own β₁ after it (`None` for SGD).
struct Update {
    grad: Vec<f64>,
    before: Vec<f64>,
    after: Vec<f64>,
    loss: f64,
    beta_1: Option<f64>,
}

fn train<O: CycleMomentum>(
    config: OneCycleConfig<f64>,
    optimizer: impl Fn(Vec<candle_core::Var>) -> O,
) -> Option<Vec<Update>> {
    let data = mnist(STEPS * BATCH)?;
    let probe = Probe::new();
    let mut driver = Driver::one_cycle(config, optimizer(probe.vars())).expect("valid config");
    batches(&data, BATCH, 1, 0)
        .iter()
        .take(STEPS)
        .map(|batch| {
            let loss = probe.loss(batch).unwrap();
            let grads: GradStore = loss.backward().unwrap();
            let grad = to_f64(
                grads
                    .get(probe.weight.as_tensor())
                    .expect("weight gradient"),
            );
            let before = to_f64(probe.weight.as_tensor());
            driver.step(&grads).unwrap();
            Update {
                grad,
                before,
                after: to_f64(probe.weight.as_tensor()),
                loss: f64::from(loss.to_scalar::<f32>().unwrap()),
                beta_1: driver.optimizer().momentum(),
            }
        })
        .collect::<Vec<_>>()
        .into()
}

fn assert_loss_falls(updates: &[Update]) {
    let mean = |u: &[Update]| u.iter().map(|u| u.loss).sum::<f64>() / u.len() as f64;
    let (first, last) = (mean(&updates[..30]), mean(&updates[updates.len() - 30..]));
    assert!(
        last < 0.5 * first,
        "loss did not fall: first 30 steps {first:.4}, last 30 {last:.4}"
    );
}

fn check_sgd(mut config: OneCycleConfig<f64>) {
    config.momentum = None; // candle's SGD has none
    let schedule = config.build().unwrap();
    let Some(updates) = train(config, |vars| SGD::new(vars, 0.0).unwrap()) else {
        return;
    };
    let lr_at = |k: usize| schedule.lr(k as u32);
    let mut check = LrCheck::new();
    for (k, u) in updates.iter().enumerate() {
        let used = ratio(&sub(&u.before, &u.after), &u.grad);
        check.check("SGD", k, used, lr_at, lr_tolerance(&u.before, &u.after));
    }
    check.assert_power(0.8);
    assert_loss_falls(&updates);
}

#[test]
fn sgd_uses_the_cores_lr_at_every_step_pytorch_cos() {
    check_sgd(OneCycleConfig::pytorch(0.05, STEPS as u32));
}

#[test]
fn sgd_uses_the_cores_lr_at_every_step_three_phase_linear() {
    let mut config = OneCycleConfig::pytorch(0.05, STEPS as u32);
    config.anneal = Anneal::Linear;
    config.phases = Phases::Three {
        pct_final: 2.0 * config.pct_start,
    };
    check_sgd(config);
}

#[test]
fn adamw_uses_the_cores_lr_and_beta1_at_every_step_fastai() {
    let params = ParamsAdamW {
        weight_decay: 0.0,
        ..ParamsAdamW::default()
    };
    let (beta_2, eps) = (params.beta2, params.eps);
    let config = OneCycleConfig::fastai(3e-3, STEPS as u32);
    let schedule = config.build().unwrap();
    let Some(updates) = train(config, |vars| AdamW::new(vars, params.clone()).unwrap()) else {
        return;
    };
    let lr_at = |k: usize| schedule.lr(k as u32);
    let mut check = LrCheck::new();
    let n = updates[0].grad.len();
    let (mut m, mut v) = (vec![0f64; n], vec![0f64; n]);
    for (k, u) in updates.iter().enumerate() {
        let beta_1 = schedule.momentum(k as u32).expect("fastai cycles β₁");
        assert_eq!(u.beta_1, Some(beta_1), "step {k}: AdamW's own β₁");
        for ((m, v), g) in m.iter_mut().zip(&mut v).zip(&u.grad) {
            *m = beta_1 * *m + (1.0 - beta_1) * g;
            *v = beta_2 * *v + (1.0 - beta_2) * g * g;
        }
        let t = (k + 1) as i32;
        let (scale_m, scale_v) = (1.0 / (1.0 - beta_1.powi(t)), 1.0 / (1.0 - beta_2.powi(t)));
        let direction: Vec<f64> = m
            .iter()
            .zip(&v)
            .map(|(m, v)| m * scale_m / ((v * scale_v).sqrt() + eps))
            .collect();
        let used = ratio(&sub(&u.before, &u.after), &direction);
        check.check("AdamW", k, used, lr_at, lr_tolerance(&u.before, &u.after));
    }
    check.assert_power(0.8);
    assert_loss_falls(&updates);
}

/// Smith's own setting on candle: [`SgdMomentum`] under PyTorch's preset. The test keeps its
/// own f64 velocity from the same gradients with the core's momentum for each step (PyTorch's
/// rule, dampening 0) and recovers `lr_k` as the ratio of `w_k − w_{k+1}` to it; a momentum
/// other than the core's at any step bends the velocity away and fails every later step. The
/// momentum is also read from the optimiser itself.
#[test]
fn sgd_momentum_uses_the_cores_lr_and_momentum_at_every_step_pytorch() {
    let config = OneCycleConfig::pytorch(0.05, STEPS as u32);
    let schedule = config.build().unwrap();
    let Some(updates) = train(config, |vars| {
        SgdMomentum::new(vars, ParamsSgdMomentum::default()).unwrap()
    }) else {
        return;
    };
    let lr_at = |k: usize| schedule.lr(k as u32);
    let mut check = LrCheck::new();
    let mut velocity: Option<Vec<f64>> = None;
    for (k, u) in updates.iter().enumerate() {
        let momentum = schedule
            .momentum(k as u32)
            .expect("PyTorch cycles momentum");
        assert_eq!(
            u.beta_1,
            Some(momentum),
            "step {k}: the optimiser's own momentum"
        );
        let v: Vec<f64> = match &velocity {
            None => u.grad.clone(),
            Some(v) => v
                .iter()
                .zip(&u.grad)
                .map(|(v, g)| momentum * v + g)
                .collect(),
        };
        let used = ratio(&sub(&u.before, &u.after), &v);
        check.check(
            "SgdMomentum",
            k,
            used,
            lr_at,
            lr_tolerance(&u.before, &u.after),
        );
        velocity = Some(v);
    }
    check.assert_power(0.8);
    assert_loss_falls(&updates);
}

/// The driver where code expects any `candle_nn::Optimizer`: built with `Optimizer::new`,
/// stepped with `Optimizer::step`; each update's lr, read back from the weights, is the
/// core's, and `learning_rate()` announces it before the update.
#[test]
fn the_driver_is_a_candle_optimizer() {
    fn steps<O: Optimizer>(
        config: O::Config,
        probe: &Probe,
        data: &[common::Batch],
        mut each: impl FnMut(&O, &GradStore),
    ) -> O {
        let mut optimizer = O::new(probe.vars(), config).unwrap();
        for batch in data {
            let grads = probe.loss(batch).unwrap().backward().unwrap();
            each(&optimizer, &grads);
            optimizer.step(&grads).unwrap();
        }
        optimizer
    }
    let mut one_cycle = OneCycleConfig::pytorch(0.05, STEPS as u32);
    one_cycle.momentum = None;
    let schedule = one_cycle.build().unwrap();
    let Some(data) = mnist(STEPS * BATCH) else {
        return;
    };
    let data = batches(&data, BATCH, 1, 0);
    let probe = Probe::new();
    let (mut check, mut k, mut before) = (LrCheck::new(), 0usize, Vec::new());
    let lr_at = |k: usize| schedule.lr(k as u32);
    let mut record = |driver: &Driver<SGD>, grads: &GradStore| {
        // The previous update, now that its weights are written.
        if k > 0 {
            let after = to_f64(probe.weight.as_tensor());
            let (g, b): &(Vec<f64>, Vec<f64>) = &before[k - 1];
            check.check(
                "Driver<SGD>",
                k - 1,
                ratio(&sub(b, &after), g),
                lr_at,
                lr_tolerance(b, &after),
            );
        }
        assert_eq!(driver.learning_rate(), schedule.lr(k as u32), "update {k}");
        let grad = to_f64(grads.get(probe.weight.as_tensor()).unwrap());
        before.push((grad, to_f64(probe.weight.as_tensor())));
        k += 1;
    };
    let config = DriverConfig {
        optimizer: 0.0,
        schedule,
    };
    let driver: Driver<SGD> = steps(config, &probe, &data[..STEPS], &mut record);
    assert_eq!(driver.steps_taken(), STEPS as u32);
    check.assert_power(0.8);

    // A schedule that cycles momentum on candle's SGD is refused through the trait too.
    let err = <Driver<SGD> as Optimizer>::new(
        probe.vars(),
        DriverConfig {
            optimizer: 0.0,
            schedule: OneCycleConfig::pytorch(0.05, 10).build().unwrap(),
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("has no momentum"), "{err}");
}

/// `Driver::resume_at`: a run stopped after 150 updates and continued by a fresh optimiser
/// and driver at step 150 ends with the same weights, bit for bit, as the run that never
/// stopped (candle's SGD keeps no state, so the schedule's step is all there is to resume).
#[test]
fn resume_at_continues_the_schedule_exactly() {
    let mut config = OneCycleConfig::pytorch(0.05, STEPS as u32);
    config.momentum = None;
    let Some(data) = mnist(STEPS * BATCH) else {
        return;
    };
    let data = batches(&data, BATCH, 1, 0);
    let run = |probe: &Probe, driver: &mut Driver<SGD>, range: core::ops::Range<usize>| {
        for batch in &data[range] {
            driver.backward_step(&probe.loss(batch).unwrap()).unwrap();
        }
    };
    let fresh =
        |probe: &Probe| Driver::one_cycle(config, SGD::new(probe.vars(), 0.0).unwrap()).unwrap();

    let whole = Probe::new();
    run(&whole, &mut fresh(&whole), 0..STEPS);

    let split = Probe::new();
    run(&split, &mut fresh(&split), 0..STEPS / 2);
    let mut resumed = fresh(&split);
    resumed.resume_at(STEPS as u32 / 2);
    assert_eq!(
        resumed.learning_rate(),
        config.build().unwrap().lr(STEPS as u32 / 2)
    );
    run(&split, &mut resumed, STEPS / 2..STEPS);
    assert_eq!(resumed.steps_taken(), STEPS as u32);
    assert_eq!(
        to_f64(split.weight.as_tensor()),
        to_f64(whole.weight.as_tensor())
    );
    assert_eq!(
        to_f64(split.bias.as_tensor()),
        to_f64(whole.bias.as_tensor())
    );

    // Without resume_at the continuation restarts the schedule and ends elsewhere: the
    // comparison above has the power to fail.
    let wrong = Probe::new();
    run(&wrong, &mut fresh(&wrong), 0..STEPS / 2);
    run(&wrong, &mut fresh(&wrong), STEPS / 2..STEPS);
    assert_ne!(
        to_f64(wrong.weight.as_tensor()),
        to_f64(whole.weight.as_tensor())
    );
}
