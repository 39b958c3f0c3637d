//! What onecycle-burn adds to a burn training step.
//!
//! - `bookkeeping`: one scheduler step plus the momentum lookup `Cycled` does per parameter:
//!   the whole per-step cost of the adapter outside burn's own update.
//! - `train_step/plain` vs `train_step/onecycle`: a full step (forward, backward, Adam update) of
//!   a 784-128-10 MLP on a batch of 64, with burn's constant lr and Adam, and with
//!   `ScheduleLr` + `Cycled<AdamConfig>` (the optimiser rebuilt with the schedule's β₁ for each
//!   of the 4 parameter tensors).
//!
//! `cargo bench -p onecycle-burn --bench overhead`

use std::hint::black_box;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use criterion::{criterion_group, criterion_main, Criterion};
use onecycle_burn::{one_cycle, Cycled, ScheduleLr};
use onecycle_core::OneCycleConfig;

#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    out: Linear,
    relu: Relu,
}

const STEPS: u32 = 1_000_000;

fn bookkeeping(c: &mut Criterion) {
    let schedule = OneCycleConfig::pytorch(0.1, STEPS).build().unwrap();
    let cycled = Cycled::new(AdamConfig::new(), schedule);
    let mut lr = ScheduleLr::new(schedule);
    let mut k = 0u64;
    c.bench_function("bookkeeping", |b| {
        b.iter(|| {
            k = (k + 1) % u64::from(STEPS);
            black_box((lr.step(), cycled.momentum_at(black_box(k))))
        })
    });
}

fn train_step(c: &mut Criterion) {
    let device = Device::default();
    device.seed(0);
    let device = device.autodiff();
    let model = Mlp {
        hidden: LinearConfig::new(784, 128).init(&device),
        out: LinearConfig::new(128, 10).init(&device),
        relu: Relu::new(),
    };
    let x = Tensor::<2>::random([64, 784], Distribution::Normal(0.0, 1.0), &device);
    let labels: Vec<i64> = (0..64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [64]), &device);
    let loss_fn = CrossEntropyLossConfig::new().init(&device);

    let step = |model: Mlp, optim: &mut ModuleOptimizer, lr: f64| {
        let logits = model
            .out
            .forward(model.relu.forward(model.hidden.forward(x.clone())));
        let loss = loss_fn.forward(logits, y.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        optim.step(lr, model, grads)
    };

    let mut group = c.benchmark_group("train_step");
    {
        let mut optim = AdamConfig::new().init();
        let mut m = model.clone();
        group.bench_function("plain", |b| {
            b.iter(|| {
                m = step(m.clone(), &mut optim, 1e-3);
            })
        });
    }
    {
        let (mut lr, mut optim) =
            one_cycle(OneCycleConfig::pytorch(1e-3, STEPS), AdamConfig::new()).unwrap();
        let mut m = model.clone();
        group.bench_function("onecycle", |b| {
            b.iter(|| {
                let rate = lr.step();
                m = step(m.clone(), &mut optim, rate);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bookkeeping, train_step);
criterion_main!(benches);
