//! Baseline schedules against optax's `warmup_cosine_decay_schedule` and PyTorch's
//! `MultiStepLR` / `ExponentialLR` (tables printed by `tests/reference/gen_baseline.py`),
//! and hand-worked values.

use onecycle_core::baseline::{Constant, Cosine, Exponential, Join, LinearDecay, StepDecay};
use onecycle_core::{ConfigError, OneCycleConfig, Schedule};

/// Relative tolerance against the peers' f64 arithmetic (PyTorch multiplies by
/// gamma once per step, this crate raises gamma to a power: a few ulps apart).
const PEER_REL: f64 = 1e-12;

fn check(name: &str, s: &impl Schedule<f64>, table: &[(u32, f64)]) {
    for &(k, want) in table {
        let g = s.lr(k);
        assert!(
            (g - want).abs() <= PEER_REL * want.abs(),
            "{name} step {k}: got {g:e}, expected {want:e}"
        );
    }
}

const OX_WARMUP_COSINE: &[(u32, f64)] = &[
    (0, 0.009999999999999995),
    (1, 0.01899999999999999),
    (5, 0.055),
    (9, 0.09100000000000001),
    (10, 0.1),
    (11, 0.09996957180960385),
    (37, 0.07940987335200904),
    (55, 0.05005),
    (99, 0.0001304281903961667),
    (100, 0.0001),
    (200, 0.0001),
];
const PT_MULTISTEP: &[(u32, f64)] = &[
    (0, 0.1),
    (1, 0.1),
    (2, 0.1),
    (3, 0.03),
    (4, 0.03),
    (5, 0.03),
    (6, 0.009),
    (7, 0.009),
    (8, 0.0026999999999999997),
    (9, 0.0026999999999999997),
    (10, 0.0026999999999999997),
    (11, 0.0026999999999999997),
];
const PT_EXPONENTIAL: &[(u32, f64)] = &[
    (0, 0.1),
    (1, 0.09000000000000001),
    (2, 0.08100000000000002),
    (10, 0.03486784401000002),
    (29, 0.00471012869724625),
];

#[test]
fn cosine_with_warmup_matches_optax() {
    let s = Cosine::new(0.1, 100, 1e-4)
        .unwrap()
        .with_warmup(10, 0.01)
        .unwrap();
    check("warmup cosine", &s, OX_WARMUP_COSINE);
}

#[test]
fn step_decay_matches_multistep() {
    let s = StepDecay::new(0.1, [3, 6, 8], 0.3).unwrap();
    check("step decay", &s, PT_MULTISTEP);
}

#[test]
fn exponential_matches_pytorch() {
    let s = Exponential::new(0.1, 0.9).unwrap();
    check("exponential", &s, PT_EXPONENTIAL);
}

/// Cosine without warm-up from 1 to 0 over 4 steps: 1, (1 + cos(π/4))/2 = 0.853553390593274,
/// ½, (1 − cos(π/4))/2 = 0.146446609406726, then 0.
#[test]
fn cosine_by_hand() {
    let s = Cosine::new(1.0, 4, 0.0).unwrap();
    let want: [f64; 6] = [
        1.0,
        0.853_553_390_593_274,
        0.5,
        0.146_446_609_406_726,
        0.0,
        0.0,
    ];
    for (k, w) in (0u32..).zip(want) {
        assert!((s.lr(k) - w).abs() < 1e-14, "step {k}: {} vs {w}", s.lr(k));
    }
}

#[test]
fn constant_and_join() {
    let c = Constant::new(0.5_f64).unwrap();
    assert_eq!((c.lr(0), c.lr(u32::MAX), c.momentum(3)), (0.5, 0.5, None));

    // Warm up with 1cycle's momentum, then hold: the second schedule restarts at 0.
    let warm = OneCycleConfig::pytorch(0.1, 10).build().unwrap();
    let j = Join::new(warm, Exponential::new(0.1, 0.5).unwrap(), 10).unwrap();
    assert_eq!(j.lr(2), 0.1);
    assert_eq!(j.momentum(2), Some(0.85));
    assert_eq!((j.lr(10), j.lr(11), j.lr(12)), (0.1, 0.05, 0.025));
    assert_eq!(j.momentum(10), None);
    assert_eq!(
        (j.boundary(), j.first().total_steps(), j.second().lr(1)),
        (10, 10, 0.05)
    );
}

#[test]
fn invalid_baselines_are_rejected() {
    assert!(matches!(
        Constant::new(f64::NAN),
        Err(ConfigError::InvalidLr { name: "lr", .. })
    ));
    assert!(matches!(
        Constant::new(-1.0_f64),
        Err(ConfigError::InvalidLr { name: "lr", .. })
    ));
    assert!(matches!(
        StepDecay::new(0.1_f64, [5, 5], 0.1),
        Err(ConfigError::UnsortedMilestones { index: 1 })
    ));
    assert!(matches!(
        StepDecay::new(0.1_f64, [5, 3], 0.1),
        Err(ConfigError::UnsortedMilestones { index: 1 })
    ));
    assert!(matches!(
        StepDecay::new(0.1_f64, [1], 0.0),
        Err(ConfigError::InvalidGamma { .. })
    ));
    assert!(matches!(
        StepDecay::new(1e300_f64, [1, 2], 1e10),
        Err(ConfigError::LrOverflow { step: 2 })
    ));
    assert!(matches!(
        Exponential::new(0.1_f64, 1.5),
        Err(ConfigError::InvalidGamma { .. })
    ));
    assert!(matches!(
        Exponential::new(0.1_f64, f64::INFINITY),
        Err(ConfigError::InvalidGamma { .. })
    ));
    assert!(matches!(
        Cosine::new(0.1_f64, 0, 0.0),
        Err(ConfigError::ZeroTotalSteps)
    ));
    assert!(matches!(
        Cosine::new(f64::NAN, 10, 0.0),
        Err(ConfigError::InvalidLr { name: "peak", .. })
    ));
    assert!(matches!(
        Cosine::new(0.1_f64, 10, 0.0).unwrap().with_warmup(10, 0.0),
        Err(ConfigError::WarmupTooLong {
            warmup_steps: 10,
            total_steps: 10
        })
    ));
    assert!(matches!(
        Join::new(
            Constant::new(0.1_f64).unwrap(),
            Constant::new(0.2).unwrap(),
            0
        ),
        Err(ConfigError::ZeroBoundary)
    ));
    // An empty milestone list is a constant schedule.
    assert_eq!(StepDecay::new(0.1_f64, [], 0.5).unwrap().lr(1000), 0.1);
}

/// Linear decay from 0.3 to 0 over 3 steps, by hand: 0.3, 0.2, 0.1, then 0 from step 3 on;
/// and to a floor of 0.1 over 4 steps: 0.5, 0.4, 0.3, 0.2, then 0.1.
#[test]
fn linear_decay_matches_hand_worked_values() {
    let s = LinearDecay::new(0.3_f64, 3, 0.0).unwrap();
    for (k, want) in [(0, 0.3), (1, 0.2), (2, 0.1), (3, 0.0), (u32::MAX, 0.0)] {
        assert!((s.lr(k) - want).abs() <= 1e-16, "step {k}: {}", s.lr(k));
    }
    let f = LinearDecay::new(0.5_f64, 4, 0.1).unwrap();
    for (k, want) in [(0, 0.5), (1, 0.4), (2, 0.3), (3, 0.2), (4, 0.1), (40, 0.1)] {
        assert!((f.lr(k) - want).abs() <= 1e-15, "step {k}: {}", f.lr(k));
    }
    assert!(matches!(
        LinearDecay::new(0.1_f64, 0, 0.0),
        Err(ConfigError::ZeroTotalSteps)
    ));
    assert!(matches!(
        LinearDecay::new(0.1_f64, 10, -1.0),
        Err(ConfigError::InvalidLr {
            name: "final_lr",
            ..
        })
    ));
}
