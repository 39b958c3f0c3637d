//! What onecycle-candle adds to a candle training step.
//!
//! - `bookkeeping`: one `Driver::step` over an AdamW with no parameters: the schedule's lr and
//!   β₁ for the step, `set_learning_rate`, `set_params`, and AdamW's own loop over nothing — the
//!   whole per-step cost of the adapter.
//! - `train_step/plain` vs `train_step/onecycle`: a full step (forward, backward, AdamW update)
//!   of a 784-128-10 MLP on a batch of 64, with candle's AdamW at a constant lr, and driven by
//!   the 1cycle schedule.
//!
//! `cargo bench -p onecycle-candle --bench overhead`

use std::hint::black_box;

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use candle_nn::{linear, loss, Linear, Module, VarBuilder, VarMap};
use criterion::{criterion_group, criterion_main, Criterion};
use onecycle_candle::Driver;
use onecycle_core::OneCycleConfig;

const STEPS: u32 = 1_000_000;

fn bookkeeping(c: &mut Criterion) {
    let adamw = AdamW::new(Vec::new(), ParamsAdamW::default()).unwrap();
    let mut driver = Driver::one_cycle(OneCycleConfig::fastai(1e-3, STEPS), adamw).unwrap();
    let grads = GradStore::default();
    c.bench_function("bookkeeping", |b| {
        b.iter(|| {
            if driver.steps_taken() == STEPS {
                driver.resume_at(0);
            }
            driver.step(black_box(&grads)).unwrap();
        })
    });
}

struct Mlp {
    hidden: Linear,
    out: Linear,
}

fn train_step(c: &mut Criterion) {
    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let mlp = Mlp {
        hidden: linear(784, 128, vb.pp("hidden")).unwrap(),
        out: linear(128, 10, vb.pp("out")).unwrap(),
    };
    let x = Tensor::randn(0f32, 1.0, (64, 784), &dev).unwrap();
    let y = Tensor::from_vec((0..64u32).map(|i| i % 10).collect(), 64, &dev).unwrap();
    let loss = || {
        let logits = mlp.out.forward(&mlp.hidden.forward(&x)?.relu()?)?;
        loss::cross_entropy(&logits, &y)
    };

    let mut group = c.benchmark_group("train_step");
    let mut adamw = AdamW::new(varmap.all_vars(), ParamsAdamW::default()).unwrap();
    group.bench_function("plain", |b| {
        b.iter(|| adamw.backward_step(&loss().unwrap()).unwrap())
    });
    let adamw = AdamW::new(varmap.all_vars(), ParamsAdamW::default()).unwrap();
    let mut driver = Driver::one_cycle(OneCycleConfig::fastai(1e-3, STEPS), adamw).unwrap();
    group.bench_function("onecycle", |b| {
        b.iter(|| driver.backward_step(&loss().unwrap()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bookkeeping, train_step);
criterion_main!(benches);
