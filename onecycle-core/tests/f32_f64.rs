//! The same schedule in `f32` (firmware) and `f64` (host) agrees to f32 precision.
//!
//! The f32 config is the f64 one rounded, and f32 boundaries such as `pct·T − 1`
//! round too: a boundary moves by up to ~1.2e-7·T steps. With every phase at
//! least 5% of the run that shifts the progress through a phase by at most
//! ~2.4e-6, which moves a half-cosine by at most π/2·2.4e-6 ≈ 4e-6 of its range.
//! So each value agrees to a relative `F32_REL` plus an absolute
//! `F32_ABS_OF_MAX · max_lr`. (Much shorter phases in very long f32 runs agree
//! less well: a boundary cannot be placed finer than f32 resolves `T`.)
//! optax's boundaries are integers, `⌊p·T⌋`: when `p·T` lies within f32 rounding of
//! an integer, the f32 boundary is one whole step off, so for optax an f32 value may
//! also lie anywhere between the f64 values of the neighbouring steps.

use onecycle_core::{
    Anneal, Convention, FinalDivOf, MomentumRange, OneCycleConfig, Phases, Preset,
};
use proptest::prelude::*;

mod common;
use common::to_f32;

/// Relative agreement of a value.
const F32_REL: f64 = 1e-5;
/// Absolute agreement, as a fraction of `max_lr` (for momentum: of 1).
const F32_ABS_OF_MAX: f64 = 1e-5;

fn compare(c64: OneCycleConfig<f64>) -> Result<(), TestCaseError> {
    let (Ok(a), Ok(b)) = (c64.build(), to_f32(&c64).build()) else {
        return Err(TestCaseError::reject("rejected in one of the float types"));
    };
    let t = c64.total_steps;
    let stride = (t / 2000).max(1);
    for k in (0..t).step_by(stride as usize).chain([t - 1, t, u32::MAX]) {
        let (x, y) = (a.lr(k), f64::from(b.lr(k)));
        let tol = F32_REL * x.abs() + F32_ABS_OF_MAX * c64.max_lr;
        let (lo, hi) = if c64.convention == Convention::Optax {
            let n = [a.lr(k.saturating_sub(1)), x, a.lr(k.saturating_add(1))];
            (
                n.iter().copied().fold(f64::INFINITY, f64::min),
                n.iter().copied().fold(0.0, f64::max),
            )
        } else {
            (x, x)
        };
        prop_assert!(
            y >= lo - tol && y <= hi + tol,
            "lr step {k}: f64 {x:e} vs f32 {y:e} (tol {tol:e})"
        );
        if let (Some(x), Some(y)) = (a.momentum(k), b.momentum(k)) {
            let y = f64::from(y);
            let tol = F32_REL * x + F32_ABS_OF_MAX;
            let (lo, hi) = if c64.convention == Convention::Optax {
                let m = |j: u32| a.momentum(j).unwrap_or(x);
                let n = [m(k.saturating_sub(1)), x, m(k.saturating_add(1))];
                (
                    n.iter().copied().fold(f64::INFINITY, f64::min),
                    n.iter().copied().fold(0.0, f64::max),
                )
            } else {
                (x, x)
            };
            prop_assert!(
                y >= lo - tol && y <= hi + tol,
                "momentum step {k}: {x} vs {y}"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    #[test]
    fn f32_agrees_with_f64(
        total_steps in 1..1_000_000u32,
        max_lr in 1e-5..10.0_f64,
        pct_start in 0.05..0.9_f64,
        u in 0.0..1.0_f64,
        three in any::<bool>(),
        div_factor in 1.0..1e3_f64,
        final_div_factor in 1.0..1e5_f64,
        of_max in any::<bool>(),
        linear in any::<bool>(),
        convention in prop_oneof![Just(Convention::PyTorch), Just(Convention::Fastai), Just(Convention::Optax)],
    ) {
        compare(OneCycleConfig {
            max_lr,
            total_steps,
            pct_start,
            div_factor,
            final_div_factor,
            final_div_of: if of_max { FinalDivOf::MaxLr } else { FinalDivOf::InitialLr },
            anneal: if linear { Anneal::Linear } else { Anneal::Cos },
            // Every phase ≥ 5% of the run.
            phases: if three && pct_start <= 0.85 {
                Phases::Three { pct_final: pct_start + 0.05 + (0.85 - pct_start) * u }
            } else {
                Phases::Two
            },
            momentum: Some(MomentumRange { base: 0.85, max: 0.95 }),
            convention,
        })?;
    }
}

/// Every preset at every step of a realistic run agrees to a plain relative
/// `PRESET_F32_REL` (measured worst case: 3.9e-7), since each phase is evaluated
/// from its nearer end.
const PRESET_F32_REL: f64 = 1e-6;

/// Every preset, at every step of 10 000, to `PRESET_F32_REL`.
#[test]
fn presets_agree_at_every_step() {
    for p in Preset::ALL {
        let (a, b) = (
            p.config(0.1_f64, 10_000).build().unwrap(),
            p.config(0.1_f32, 10_000).build().unwrap(),
        );
        for k in 0..=10_000 {
            let (x, y) = (a.lr(k), f64::from(b.lr(k)));
            assert!(
                (x - y).abs() <= PRESET_F32_REL * x,
                "{p} step {k}: {x:e} vs {y:e}"
            );
        }
    }
}
