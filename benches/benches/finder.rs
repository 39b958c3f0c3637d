//! `cargo bench --bench finder`: the cost of the LR range test's bookkeeping.
//!
//! * `finder/record/{f32,f64}`: one `RangeTest::record(loss)` step (EMA smoothing, the
//!   divergence check, the history push), timed over 1 000 steps of a 1 000-step test on a
//!   synthetic loss curve (building the test is not timed).
//! * `finder/suggest/{method}` and `finder/suggest_all`: the suggestions for a 1 000-point
//!   curve (`suggest_all` = the four methods), from slices, in `f64`.
//! * `finder/suggestions_from_history`: `RangeTest::suggestions()` on the recorded test.
//!
//! The printed table gives the median ns per record step and µs per suggestion.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use onecycle_benches::plan::quick_from_env;
use onecycle_benches::timing::{cell, Timings};
use onecycle_core::finder::{suggest, suggest_all, Method, RangeTest, RangeTestConfig};
use onecycle_core::Float;

const POINTS: u32 = 1000;

static TIMINGS: Timings = Timings::new();

/// A range-test-like loss: flat, falling to a minimum near lr = 1e-2, then blowing up, with a
/// deterministic ripple standing in for mini-batch noise.
fn synthetic_loss(cfg: &RangeTestConfig<f64>, step: u32) -> f64 {
    let x = cfg.lr_at(step).log10() + 2.0;
    let ripple = 0.02 * (f64::from(step) * 12.9898).sin();
    2.3 - 1.5 / (1.0 + (-(x + 2.0) * 2.0).exp()) + if x > 0.0 { x * x * 3.0 } else { 0.0 } + ripple
}

fn config<F: Float>() -> RangeTestConfig<F> {
    RangeTestConfig {
        num_steps: POINTS,
        start_lr: F::from_f64(1e-7),
        end_lr: F::from_f64(10.0),
        // Keep all 1 000 points: no early stop.
        diverge_factor: F::from_f64(f64::INFINITY),
        ..RangeTestConfig::default()
    }
}

fn bench_record<F: Float>(c: &mut Criterion, ty: &str) {
    let cfg64 = config::<f64>();
    let losses: Vec<F> = (0..POINTS)
        .map(|k| F::from_f64(synthetic_loss(&cfg64, k)))
        .collect();
    let key = format!("finder/record/{ty}");
    c.bench_function(&key, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let Ok(mut test) = config::<F>().build::<1024>() else {
                    return total;
                };
                let t0 = Instant::now();
                for &l in &losses {
                    black_box(test.record(black_box(l)));
                }
                total += t0.elapsed();
                black_box(&test);
            }
            TIMINGS.record(&key, total, iters * u64::from(POINTS));
            total
        });
    });
}

fn recorded_test() -> Option<RangeTest<f64, 1024>> {
    let cfg = config::<f64>();
    let mut test = cfg.build::<1024>().ok()?;
    for k in 0..POINTS {
        test.record(synthetic_loss(&cfg, k));
    }
    Some(test)
}

fn timed<R>(c: &mut Criterion, key: &str, f: impl Fn() -> R) {
    c.bench_function(key, |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            let dt = t0.elapsed();
            TIMINGS.record(key, dt, iters);
            dt
        });
    });
}

fn main() {
    let quick = quick_from_env();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(if quick { 50 } else { 500 }))
        .measurement_time(Duration::from_millis(if quick { 200 } else { 2000 }))
        .sample_size(if quick { 10 } else { 30 })
        .configure_from_args();
    bench_record::<f32>(&mut c, "f32");
    bench_record::<f64>(&mut c, "f64");

    let Some(test) = recorded_test() else {
        eprintln!("finder bench: the range test config was rejected");
        std::process::exit(1);
    };
    let lrs: Vec<f64> = test.history().iter().map(|p| p.lr).collect();
    let losses: Vec<f64> = test.history().iter().map(|p| p.loss).collect();
    let n = POINTS as usize;
    for m in Method::ALL {
        timed(&mut c, &format!("finder/suggest/{m}"), || {
            suggest(black_box(&lrs), black_box(&losses), n, m)
        });
    }
    timed(&mut c, "finder/suggest_all", || {
        suggest_all(black_box(&lrs), black_box(&losses), n)
    });
    timed(&mut c, "finder/suggestions_from_history", || {
        black_box(&test).suggestions()
    });
    c.final_summary();

    let mut s = String::from("\n### Range-test costs (median of criterion's samples)\n\n| operation | time |\n|---|---|\n");
    for ty in ["f32", "f64"] {
        let ns = TIMINGS.median_ns(&format!("finder/record/{ty}"));
        s.push_str(&format!(
            "| `record(loss)`, {ty}, one step | {} ns |\n",
            cell(ns)
        ));
    }
    let us = |k: &str| cell(TIMINGS.median_ns(k).map(|v| v / 1000.0));
    for m in Method::ALL {
        s.push_str(&format!(
            "| `suggest` {m}, 1 000 points | {} µs |\n",
            us(&format!("finder/suggest/{m}"))
        ));
    }
    s.push_str(&format!(
        "| `suggest_all`, 1 000 points | {} µs |\n",
        us("finder/suggest_all")
    ));
    s.push_str(&format!(
        "| `RangeTest::suggestions()`, 1 000 points | {} µs |\n",
        us("finder/suggestions_from_history")
    ));
    println!("{s}");
}
