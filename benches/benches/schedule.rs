//! `cargo bench --bench schedule`: nanoseconds per `lr(step)` and per `momentum(step)` for
//! every preset, in `f32` and `f64`, over sequential and random-access steps, for the library
//! ([`OneCycle`], and [`FastOneCycle`] in `f32`) and for the textbook reference
//! ([`ReferenceOneCycle`]: PyTorch-style cos formula with a phase search).
//!
//! Each timed iteration evaluates a block of 1 024 steps of a 10 000-step schedule:
//! *sequential* = steps 0, 9, 19, … in order across the whole cycle (every phase);
//! *random* = the same number of steps drawn uniformly from `0..10 000` (fixed seed).
//! The printed table gives the median ns per evaluation. Goal: ≤ 10 ns on the host.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use onecycle_benches::plan::quick_from_env;
use onecycle_benches::reference::ReferenceOneCycle;
use onecycle_benches::timing::{cell, Timings};
use onecycle_core::fast_f32::FastOneCycle;
use onecycle_core::{Float, OneCycle, Preset};

const TOTAL: u32 = 10_000;
const BLOCK: usize = 1024;

static TIMINGS: Timings = Timings::new();

fn sequential_steps() -> Vec<u32> {
    (0..BLOCK as u32)
        .map(|i| i * TOTAL / BLOCK as u32)
        .collect()
}

fn random_steps() -> Vec<u32> {
    // SplitMix64, fixed seed: uniform steps in 0..TOTAL.
    let mut s = 0x9E37_79B9_7F4A_7C15_u64;
    (0..BLOCK)
        .map(|_| {
            s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z % u64::from(TOTAL)) as u32
        })
        .collect()
}

/// Times `f` over `steps` (generic, so the call is inlined as it would be in a trainer).
fn measure<T>(c: &mut Criterion, group: &str, id: &str, steps: &[u32], f: impl Fn(u32) -> T) {
    let key = format!("{group}/{id}");
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(steps.len() as u64));
    g.bench_function(id, |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                for &k in steps {
                    black_box(f(black_box(k)));
                }
            }
            let dt = t0.elapsed();
            TIMINGS.record(&key, dt, iters * steps.len() as u64);
            dt
        });
    });
    g.finish();
}

const IMPLS: [&str; 3] = ["library", "reference", "fast_f32"];

fn bench_type<F: Float>(c: &mut Criterion, preset: Preset, ty: &str, fast: bool) {
    let cfg = preset.config(F::from_f64(0.1), TOTAL);
    let Ok(lib) = cfg.build() else {
        eprintln!("schedule bench: {preset} {ty}: invalid config, skipped");
        return;
    };
    let lib: OneCycle<F> = lib;
    let reference = ReferenceOneCycle::new(&cfg);
    let fast_impl = FastOneCycle::new(&lib);
    for (access, steps) in [("seq", sequential_steps()), ("random", random_steps())] {
        let group = format!("schedule/{preset}/{ty}/{access}");
        measure(c, &group, "lr/library", &steps, |k| lib.lr(k));
        measure(c, &group, "lr/reference", &steps, |k| reference.lr(k));
        measure(c, &group, "momentum/library", &steps, |k| lib.momentum(k));
        measure(c, &group, "momentum/reference", &steps, |k| {
            reference.momentum(k)
        });
        if fast {
            measure(c, &group, "lr/fast_f32", &steps, |k| fast_impl.lr(k));
            measure(c, &group, "momentum/fast_f32", &steps, |k| {
                fast_impl.momentum(k)
            });
        }
    }
}

fn table() -> String {
    let mut s = String::from(
        "\n### ns per evaluation (median of criterion's samples; 10 000-step schedule)\n\n\
         | preset | type | steps | lr: library | lr: fast_f32 | lr: reference | momentum: library | momentum: fast_f32 | momentum: reference |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for preset in Preset::ALL {
        for ty in ["f32", "f64"] {
            for access in ["seq", "random"] {
                let group = format!("schedule/{preset}/{ty}/{access}");
                let get = |q: &str, i: &str| cell(TIMINGS.median_ns(&format!("{group}/{q}/{i}")));
                s.push_str(&format!(
                    "| {preset} | {ty} | {access} | {} | {} | {} | {} | {} | {} |\n",
                    get("lr", IMPLS[0]),
                    get("lr", IMPLS[2]),
                    get("lr", IMPLS[1]),
                    get("momentum", IMPLS[0]),
                    get("momentum", IMPLS[2]),
                    get("momentum", IMPLS[1]),
                ));
            }
        }
    }
    s
}

fn main() {
    let quick = quick_from_env();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(if quick { 50 } else { 300 }))
        .measurement_time(Duration::from_millis(if quick { 100 } else { 1000 }))
        .sample_size(if quick { 10 } else { 30 })
        .configure_from_args();
    for preset in Preset::ALL {
        bench_type::<f32>(&mut c, preset, "f32", true);
        bench_type::<f64>(&mut c, preset, "f64", false);
    }
    c.final_summary();
    println!("{}", table());
}
