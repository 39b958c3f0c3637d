//! What onecycle-candle adds to a candle training step.
//!
//! - `bookkeeping`: one `Driver::step` over an AdamW with no parameters: the schedule's lr and
//!   β₁ for the step, `set_learning_rate`, `set_params`, and AdamW's own loop over nothing — the
//!   whole per-step cost of the adapter.
//! - then a table, side by side: a full step (forward, backward, AdamW update)
//!   of a 784-128-10 MLP on a batch of 64, with candle's AdamW at a constant lr, and driven by
//!   the 1cycle schedule. They alternate in rounds of 20 steps
//!   ([`onecycle_readback::side_by_side`]), with the plain step a second time as the noise
//!   floor: sequential criterion groups on this shared machine drift by 10–30%.
//!
//! `cargo bench -p onecycle-candle --bench overhead`

use std::hint::black_box;

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use candle_nn::{linear, loss, Linear, Module, VarBuilder, VarMap};
use criterion::{criterion_group, Criterion};
use onecycle_candle::Driver;
use onecycle_core::OneCycleConfig;
use onecycle_readback::{print_side_by_side, side_by_side};

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

/// A fresh 784-128-10 MLP and its weights.
fn mlp(dev: &Device) -> (Mlp, Vec<candle_core::Var>) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, dev);
    let mlp = Mlp {
        hidden: linear(784, 128, vb.pp("hidden")).unwrap(),
        out: linear(128, 10, vb.pp("out")).unwrap(),
    };
    (mlp, varmap.all_vars())
}

fn train_steps_side_by_side() {
    let dev = Device::Cpu;
    let x = Tensor::randn(0f32, 1.0, (64, 784), &dev).unwrap();
    let y = Tensor::from_vec((0..64u32).map(|i| i % 10).collect(), 64, &dev).unwrap();
    let loss = |mlp: &Mlp| {
        let logits = mlp.out.forward(&mlp.hidden.forward(&x)?.relu()?)?;
        loss::cross_entropy(&logits, &y)
    };

    // Each variant trains its own copy of the weights.
    let (mlp_a, vars_a) = mlp(&dev);
    let (mlp_b, vars_b) = mlp(&dev);
    let (mlp_c, vars_c) = mlp(&dev);
    let mut plain = AdamW::new(vars_a, ParamsAdamW::default()).unwrap();
    let mut again = AdamW::new(vars_c, ParamsAdamW::default()).unwrap();
    let adamw = AdamW::new(vars_b, ParamsAdamW::default()).unwrap();
    let mut driver = Driver::one_cycle(OneCycleConfig::fastai(1e-3, STEPS), adamw).unwrap();
    let results = side_by_side(
        &mut [
            ("plain (constant lr, AdamW)", &mut || {
                plain.backward_step(&loss(&mlp_a).unwrap()).unwrap()
            }),
            ("onecycle (Driver<AdamW>)", &mut || {
                driver.backward_step(&loss(&mlp_b).unwrap()).unwrap()
            }),
            ("plain again (noise floor)", &mut || {
                again.backward_step(&loss(&mlp_c).unwrap()).unwrap()
            }),
        ],
        50,
        20,
    );
    print_side_by_side(
        "candle train step, 784-128-10 MLP, batch 64 (side by side)",
        &results,
    );
}

criterion_group!(benches, bookkeeping);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    train_steps_side_by_side();
}
