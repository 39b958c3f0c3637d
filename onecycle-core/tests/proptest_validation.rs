//! `OneCycleConfig::build` never panics, accepts exactly the valid configs, and
//! names the right problem (first failing check) for every invalid one.

use onecycle_core::{
    Anneal, ConfigError, Convention, FinalDivOf, MomentumRange, OneCycleConfig, Phases, Preset,
};
use proptest::prelude::*;

mod common;
use common::peers::{verdict, Args, Verdict};
use common::to_f32;

/// Floats that hit every edge: anything, specials, and plausible values.
fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            1e-300,
            1e300,
            0.999_999_999_999
        ]),
        -2.0..2.0_f64,
        0.0..1.0_f64,
        1.0..1e6_f64,
    ]
}

fn steps() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        0..20u32,
        Just(u32::MAX),
        Just(0u32),
        1..100_000u32
    ]
}

prop_compose! {
    fn wild_config()(
        max_lr in wild(),
        total_steps in steps(),
        pct_start in wild(),
        div_factor in wild(),
        final_div_factor in wild(),
        of_max in any::<bool>(),
        linear in any::<bool>(),
        pct_final in prop::option::of(wild()),
        mom in prop::option::of((wild(), wild())),
        convention in prop_oneof![Just(Convention::PyTorch), Just(Convention::Fastai), Just(Convention::Optax)],
    ) -> OneCycleConfig<f64> {
        OneCycleConfig {
            max_lr,
            total_steps,
            pct_start,
            div_factor,
            final_div_factor,
            final_div_of: if of_max { FinalDivOf::MaxLr } else { FinalDivOf::InitialLr },
            anneal: if linear { Anneal::Linear } else { Anneal::Cos },
            phases: pct_final.map_or(Phases::Two, |pct_final| Phases::Three { pct_final }),
            momentum: mom.map(|(base, max)| MomentumRange { base, max }),
            convention,
        }
    }
}

/// The documented rules, written out independently of the crate: the first
/// problem found, as a variant name.
fn expected(c: &OneCycleConfig<f64>) -> Option<&'static str> {
    let pos = |x: f64| x.is_finite() && x > 0.0;
    let mom_ok = |x: f64| (0.0..1.0).contains(&x);
    if c.total_steps == 0 {
        return Some("ZeroTotalSteps");
    }
    if !pos(c.max_lr) {
        return Some("InvalidMaxLr");
    }
    if !pos(c.div_factor) {
        return Some("InvalidDivFactor");
    }
    if !pos(c.final_div_factor) {
        return Some("InvalidFinalDivFactor");
    }
    let initial = c.max_lr / c.div_factor;
    let last = match c.final_div_of {
        FinalDivOf::InitialLr => initial / c.final_div_factor,
        FinalDivOf::MaxLr => c.max_lr / c.final_div_factor,
    };
    if !initial.is_finite() || !last.is_finite() {
        return Some("DerivedLrNotFinite");
    }
    if c.pct_start.is_nan() || c.pct_start <= 0.0 || c.pct_start >= 1.0 {
        return Some("InvalidPctStart");
    }
    if let Phases::Three { pct_final: q } = c.phases {
        // PyTorch's third phase may start past 1·T (below T + 1): its phase
        // arithmetic decides; fastai and optax need q < 1 whatever T is.
        let cap = c.convention == Convention::PyTorch || q < 1.0;
        if !(q.is_finite() && q > c.pct_start && cap) {
            return Some("InvalidPctFinal");
        }
    }
    if let Some(m) = c.momentum {
        if !mom_ok(m.base) || !mom_ok(m.max) || m.base > m.max {
            return Some("InvalidMomentum");
        }
    }
    match verdict(c.convention, &Args::of(c)) {
        Verdict::Sane => None,
        Verdict::Empty(_) => Some("EmptyPhase"),
    }
}

fn variant(e: &ConfigError) -> &'static str {
    match e {
        ConfigError::ZeroTotalSteps => "ZeroTotalSteps",
        ConfigError::InvalidMaxLr { .. } => "InvalidMaxLr",
        ConfigError::InvalidDivFactor { .. } => "InvalidDivFactor",
        ConfigError::InvalidFinalDivFactor { .. } => "InvalidFinalDivFactor",
        ConfigError::DerivedLrNotFinite { .. } => "DerivedLrNotFinite",
        ConfigError::InvalidPctStart { .. } => "InvalidPctStart",
        ConfigError::InvalidPctFinal { .. } => "InvalidPctFinal",
        ConfigError::EmptyPhase { .. } => "EmptyPhase",
        ConfigError::InvalidMomentum { .. } => "InvalidMomentum",
        _ => "other",
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// Any input: no panic; the verdict is the documented one; a built schedule
    /// gives finite values everywhere, including at u32::MAX.
    #[test]
    fn build_classifies_every_input(cfg in wild_config(), probe in any::<u32>()) {
        let got = cfg.build();
        prop_assert_eq!(got.as_ref().err().map(variant), expected(&cfg), "{:?}", cfg);
        if let Ok(s) = got {
            let t = s.total_steps();
            for k in [0, 1, t / 2, t - 1, t, probe, u32::MAX] {
                prop_assert!(s.lr(k).is_finite() && s.lr(k) >= 0.0, "lr({k}) = {}", s.lr(k));
                if let Some(m) = s.momentum(k) { prop_assert!(m.is_finite()); }
            }
        } else if let Err(e) = got {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// The same in f32, where more configs overflow or collapse a phase.
    #[test]
    fn build_never_panics_in_f32(cfg in wild_config(), probe in any::<u32>()) {
        let c32 = to_f32(&cfg);
        if let Ok(s) = c32.build() {
            let t = s.total_steps();
            for k in [0, 1, t / 2, t - 1, t, probe, u32::MAX] {
                prop_assert!(s.lr(k).is_finite(), "lr({k}) = {}", s.lr(k));
                if let Some(m) = s.momentum(k) { prop_assert!(m.is_finite()); }
            }
        }
    }
}

#[test]
fn each_error_names_problem_and_fix() {
    let base = OneCycleConfig::pytorch(0.1_f64, 100);
    let cases: Vec<(OneCycleConfig<f64>, ConfigError, &str)> = vec![
        (
            OneCycleConfig {
                total_steps: 0,
                ..base
            },
            ConfigError::ZeroTotalSteps,
            "at least one step",
        ),
        (
            OneCycleConfig {
                max_lr: -1.0,
                ..base
            },
            ConfigError::InvalidMaxLr { value: -1.0 },
            "max_lr = -1",
        ),
        (
            OneCycleConfig {
                div_factor: 0.0,
                ..base
            },
            ConfigError::InvalidDivFactor { value: 0.0 },
            "usual value is 25",
        ),
        (
            OneCycleConfig {
                final_div_factor: f64::INFINITY,
                ..base
            },
            ConfigError::InvalidFinalDivFactor {
                value: f64::INFINITY,
            },
            "final_div_factor = inf",
        ),
        (
            OneCycleConfig {
                max_lr: 1e300,
                div_factor: 1e-300,
                ..base
            },
            ConfigError::DerivedLrNotFinite {
                initial_lr: f64::INFINITY,
                final_lr: f64::INFINITY,
            },
            "division factors ≥ 1",
        ),
        (
            OneCycleConfig {
                pct_start: 1.0,
                ..base
            },
            ConfigError::InvalidPctStart { value: 1.0 },
            "(0, 1)",
        ),
        (
            OneCycleConfig {
                phases: Phases::Three { pct_final: 0.2 },
                ..base
            },
            ConfigError::InvalidPctFinal {
                pct_start: 0.3,
                pct_final: 0.2,
                convention: Convention::PyTorch,
            },
            "not a finite number above pct_start = 0.3",
        ),
        (
            OneCycleConfig {
                pct_start: 0.6,
                phases: Phases::Three { pct_final: 1.2 },
                ..base
            },
            // PyTorch's third phase would run from 1.2·T − 2 back to T − 1.
            ConfigError::EmptyPhase {
                phase: 3,
                phases: 3,
                length: -19.0,
                total_steps: 100,
                convention: Convention::PyTorch,
            },
            "pct_start < (total_steps + 1)/(2·total_steps)",
        ),
        (
            OneCycleConfig {
                momentum: Some(MomentumRange {
                    base: 0.95,
                    max: 0.85,
                }),
                ..base
            },
            ConfigError::InvalidMomentum {
                base: 0.95,
                max: 0.85,
            },
            "base ≤ max",
        ),
        (
            OneCycleConfig {
                momentum: Some(MomentumRange {
                    base: 0.9,
                    max: 1.0,
                }),
                ..base
            },
            ConfigError::InvalidMomentum {
                base: 0.9,
                max: 1.0,
            },
            "[0, 1)",
        ),
        // PyTorch divides by zero here: phase 1 ends at 0.1·10 − 1 = 0.
        (
            OneCycleConfig {
                total_steps: 10,
                pct_start: 0.1,
                ..base
            },
            ConfigError::EmptyPhase {
                phase: 1,
                phases: 2,
                length: 0.0,
                total_steps: 10,
                convention: Convention::PyTorch,
            },
            "pct_start·total_steps must exceed 1",
        ),
        (
            OneCycleConfig {
                convention: Convention::Optax,
                total_steps: 3,
                ..base
            },
            ConfigError::EmptyPhase {
                phase: 1,
                phases: 2,
                length: 0.0,
                total_steps: 3,
                convention: Convention::Optax,
            },
            "floor(pct·total_steps)",
        ),
    ];
    for (cfg, want, fix) in cases {
        let err = cfg.build().unwrap_err();
        assert_eq!(err, want);
        let msg = err.to_string();
        assert!(msg.contains(fix), "message {msg:?} lacks {fix:?}");
    }
}

#[test]
fn single_step_schedules() {
    // fastai and a 1-step run: step 0 is the initial lr, then the final one.
    let s = OneCycleConfig::fastai(1.0_f64, 1).build().unwrap();
    assert_eq!((s.lr(0), s.lr(1)), (1.0 / 25.0, 1e-5));
    // PyTorch with pct_start 0.3 needs 0.3·T > 1: T = 3 is too short, T = 4 is enough.
    assert!(OneCycleConfig::pytorch(1.0_f64, 3).build().is_err());
    assert!(OneCycleConfig::pytorch(1.0_f64, 4).build().is_ok());
}

#[test]
fn every_preset_builds_in_both_float_types() {
    for p in Preset::ALL {
        for t in [10, 100, 1_000_000, u32::MAX] {
            let s = p.config(0.1_f64, t).build().unwrap();
            assert!(s.lr(t / 2).is_finite());
            let s = p.config(0.1_f32, t).build().unwrap();
            assert!(s.lr(t / 2).is_finite());
        }
    }
}
