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
use onecycle_candle::{CycleMomentum, Driver};
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
) -> Vec<Update> {
    let data = mnist(STEPS * BATCH);
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
        .collect()
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
    let updates = train(config, |vars| SGD::new(vars, 0.0).unwrap());
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
    let updates = train(config, |vars| AdamW::new(vars, params.clone()).unwrap());
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
