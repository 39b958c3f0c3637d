//! What onecycle-burn adds to a burn training step.
//!
//! - `bookkeeping`: one scheduler step plus the momentum lookup `Cycled` does per parameter:
//!   the whole per-step cost of the adapter outside burn's own update.
//! - then a table, side by side: a full step (forward, backward, Adam update) of
//!   a 784-128-10 MLP on a batch of 64, with burn's constant lr and Adam, and with
//!   `ScheduleLr` + `Cycled<AdamConfig>` (the optimiser rebuilt with the schedule's β₁ for each
//!   of the 4 parameter tensors). They alternate in rounds of 20 steps
//!   ([`onecycle_readback::side_by_side`]), with the plain step a second time as the noise
//!   floor: sequential criterion groups on this shared machine drift by 10–30%.
//!
//! `cargo bench -p onecycle-burn --bench overhead`

use std::hint::black_box;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use criterion::{criterion_group, Criterion};
use onecycle_burn::{one_cycle, Cycled, ScheduleLr};
use onecycle_core::OneCycleConfig;
use onecycle_readback::{print_side_by_side, side_by_side};

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

fn train_steps_side_by_side() {
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

    let mut plain = (model.clone(), AdamConfig::new().init());
    let mut again = (model.clone(), AdamConfig::new().init());
    let (mut lr, optim) =
        one_cycle(OneCycleConfig::pytorch(1e-3, STEPS), AdamConfig::new()).unwrap();
    let mut cycled = (model, optim);
    let results = side_by_side(
        &mut [
            ("plain (constant lr, Adam)", &mut || {
                plain.0 = step(plain.0.clone(), &mut plain.1, 1e-3)
            }),
            ("onecycle (ScheduleLr + Cycled<Adam>)", &mut || {
                let rate = lr.step();
                cycled.0 = step(cycled.0.clone(), &mut cycled.1, rate);
            }),
            ("plain again (noise floor)", &mut || {
                again.0 = step(again.0.clone(), &mut again.1, 1e-3)
            }),
        ],
        50,
        20,
    );
    print_side_by_side(
        "burn train step, 784-128-10 MLP, batch 64 (side by side)",
        &results,
    );
}

criterion_group!(benches, bookkeeping);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    train_steps_side_by_side();
}
