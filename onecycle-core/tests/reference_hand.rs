//! Hand-worked values, and the expectations published in PyTorch's and optax's
//! own test suites (re-derived here from the formulas, by hand).

use onecycle_core::{Anneal, MomentumRange, OneCycleConfig, Phases};

/// Hand arithmetic carries ~16 significant digits; the values below are exact
/// decimals or worked to 12+ digits.
const HAND_REL: f64 = 1e-12;

fn check(name: &str, got: impl Fn(u32) -> f64, table: &[(u32, f64)]) {
    for &(k, want) in table {
        let g = got(k);
        assert!(
            (g - want).abs() <= HAND_REL * want.abs().max(1e-300),
            "{name} step {k}: got {g:e}, expected {want:e}"
        );
    }
}

/// PyTorch preset, max_lr 0.1, T = 10: initial 0.1/25 = 0.004, final 0.004/1e4 = 4e-7.
/// Phase 1 ends at 0.3·10 − 1 = 2, phase 2 at 9 (7 steps long).
/// * step 1: pct ½ → 0.1 + (0.004 − 0.1)/2·(1 + cos(π/2)) = 0.1 − 0.048 = 0.052
/// * step 3: pct 1/7, cos(π/7) = 0.900968867902419 →
///   4e-7 + 0.0999996/2·1.900968867902419 = 0.0950484632013474 (to 15 digits)
/// * step 5: pct 3/7, cos(3π/7) = 0.222520933956314 →
///   4e-7 + 0.0999996/2·1.222520933956314 = 0.0611262021936289
/// * momentum: 0.95 → 0.85 (step 1: 0.90), then back: step 3 = 0.85 + 0.1·(1 − 1.900968867902419/2)
const PT_T10_LR: &[(u32, f64)] = &[
    (0, 0.004),
    (1, 0.052),
    (2, 0.1),
    (3, 0.095_048_463_201_347_4),
    (5, 0.061_126_202_193_628_9),
    (9, 4e-7),
    (10, 4e-7),
    (u32::MAX, 4e-7),
];
const PT_T10_MOM: &[(u32, f64)] = &[
    (0, 0.95),
    (1, 0.9),
    (2, 0.85),
    (3, 0.854_951_556_604_879),
    (9, 0.95),
    (10, 0.95),
];

#[test]
fn pytorch_t10_by_hand() {
    let s = OneCycleConfig::pytorch(0.1, 10).build().unwrap();
    // 15-digit hand values: compare at 1e-14 for the interior cosines.
    for &(k, want) in PT_T10_LR {
        assert!(
            (s.lr(k) - want).abs() <= 1e-14 * want,
            "lr step {k}: {} vs {want}",
            s.lr(k)
        );
    }
    for &(k, want) in PT_T10_MOM {
        let m = s.momentum(k).unwrap();
        assert!(
            (m - want).abs() <= 1e-14,
            "momentum step {k}: {m} vs {want}"
        );
    }
}

/// PyTorch's test suite, `OneCycleLR(max_lr=25, final_div_factor=2, total_steps=10,
/// anneal_strategy="linear", base_momentum=1, max_momentum=22)`:
/// lr 1 → 25 over steps 0..2 (+12 per step), then 25 → 0.5 over 2..9 (−3.5 per step);
/// momentum 22 → 1 → 22 (−10.5, then +3 per step). This crate keeps momentum in
/// [0, 1), and momentum is linear in its bounds, so the momentum expectations are
/// checked scaled by 1/100 (base 0.01, max 0.22).
#[test]
fn pytorch_published_linear() {
    const LR: &[(u32, f64)] = &[
        (0, 1.0),
        (1, 13.0),
        (2, 25.0),
        (3, 21.5),
        (4, 18.0),
        (5, 14.5),
        (6, 11.0),
        (7, 7.5),
        (8, 4.0),
        (9, 0.5),
    ];
    const MOM_X100: &[(u32, f64)] = &[
        (0, 22.0),
        (1, 11.5),
        (2, 1.0),
        (3, 4.0),
        (4, 7.0),
        (5, 10.0),
        (6, 13.0),
        (7, 16.0),
        (8, 19.0),
        (9, 22.0),
    ];
    let mut cfg = OneCycleConfig::pytorch(25.0, 10);
    cfg.final_div_factor = 2.0;
    cfg.anneal = Anneal::Linear;
    cfg.momentum = Some(MomentumRange {
        base: 0.01,
        max: 0.22,
    });
    let s = cfg.build().unwrap();
    check("lr", |k| s.lr(k), LR);
    check("momentum×100", |k| 100.0 * s.momentum(k).unwrap(), MOM_X100);
}

/// PyTorch's test suite, cosine variant of the above: lr 1, 13, 25, then
/// 0.5 + 24.5/2·(1 + cos(π·j/7)) for j = 1..7; momentum 22, 11.5, 1, then
/// 22 − 21/2·(1 + cos(π·j/7)).
#[test]
fn pytorch_published_cos() {
    let mut cfg = OneCycleConfig::pytorch(25.0, 10);
    cfg.final_div_factor = 2.0;
    cfg.momentum = Some(MomentumRange {
        base: 0.01,
        max: 0.22,
    });
    let s = cfg.build().unwrap();
    let textbook = |start: f64, end: f64, pct: f64| {
        end + (start - end) / 2.0 * (1.0 + (core::f64::consts::PI * pct).cos())
    };
    let mut lr = vec![(0, 1.0), (1, 13.0), (2, 25.0)];
    let mut mom = vec![(0, 22.0), (1, 11.5), (2, 1.0)];
    for j in 1..=7 {
        lr.push((2 + j, textbook(25.0, 0.5, f64::from(j) / 7.0)));
        mom.push((2 + j, textbook(1.0, 22.0, f64::from(j) / 7.0)));
    }
    check("lr", |k| s.lr(k), &lr);
    check("momentum×100", |k| 100.0 * s.momentum(k).unwrap(), &mom);
}

/// PyTorch's test suite, `three_phase=True, pct_start=0.4, final_div_factor=4, linear`:
/// phase ends 0.4·10 − 1 = 3, 2·0.4·10 − 2 = 6, 9.
#[test]
fn pytorch_published_three_phase_linear() {
    const LR: &[(u32, f64)] = &[
        (0, 1.0),
        (1, 9.0),
        (2, 17.0),
        (3, 25.0),
        (4, 17.0),
        (5, 9.0),
        (6, 1.0),
        (7, 0.75),
        (8, 0.5),
        (9, 0.25),
    ];
    const MOM_X100: &[(u32, f64)] = &[
        (0, 22.0),
        (1, 15.0),
        (2, 8.0),
        (3, 1.0),
        (4, 8.0),
        (5, 15.0),
        (6, 22.0),
        (7, 22.0),
        (8, 22.0),
        (9, 22.0),
    ];
    let mut cfg = OneCycleConfig::pytorch(25.0, 10);
    cfg.pct_start = 0.4;
    cfg.final_div_factor = 4.0;
    cfg.anneal = Anneal::Linear;
    cfg.phases = Phases::Three { pct_final: 0.8 };
    cfg.momentum = Some(MomentumRange {
        base: 0.01,
        max: 0.22,
    });
    let s = cfg.build().unwrap();
    check("lr", |k| s.lr(k), LR);
    check("momentum×100", |k| 100.0 * s.momentum(k).unwrap(), MOM_X100);
}

/// optax's test suite, `linear_onecycle_schedule(10, 1000, pct_start=0.3, pct_final=0.7,
/// div_factor=10, final_div_factor=100)`: boundaries 3, 7, 10; values 100 → 1000
/// (+300/step), 1000 → 100 (−225/step), 100 → 1 (−33/step), then held.
#[test]
fn optax_published_linear() {
    const LR: &[(u32, f64)] = &[
        (0, 100.0),
        (1, 400.0),
        (2, 700.0),
        (3, 1000.0),
        (4, 775.0),
        (5, 550.0),
        (6, 325.0),
        (7, 100.0),
        (8, 67.0),
        (9, 34.0),
        (10, 1.0),
        (11, 1.0),
    ];
    let mut cfg = OneCycleConfig::optax_linear(1000.0, 10);
    cfg.phases = Phases::Three { pct_final: 0.7 };
    cfg.div_factor = 10.0;
    cfg.final_div_factor = 100.0;
    let s = cfg.build().unwrap();
    check("lr", |k| s.lr(k), LR);
}

/// optax cosine, same factors: 100 → 1000 over 3 steps: step 1 = 1000 − 900/2·(1 + cos(π/3))
/// = 1000 − 450·1.5 = 325, step 2 = 1000 − 450·0.5 = 775; then 1000 → 1 over 7 steps.
#[test]
fn optax_cos_by_hand() {
    let mut cfg = OneCycleConfig::optax_cos(1000.0, 10);
    cfg.div_factor = 10.0;
    cfg.final_div_factor = 100.0;
    let s = cfg.build().unwrap();
    check(
        "lr",
        |k| s.lr(k),
        &[
            (0, 100.0),
            (1, 325.0),
            (2, 775.0),
            (3, 1000.0),
            (10, 1.0),
            (99, 1.0),
        ],
    );
}

/// fastai, lr_max 1e-3, T = 8: positions k/8, boundary 0.25 = step 2.
/// * step 1: pct ½ of phase 1 → midpoint (4e-5 + 1e-3)/2 = 5.2e-4
/// * step 5: position 5/8, pct (0.625 − 0.25)/0.75 = ½ → (1e-3 + 1e-8)/2 = 5.00005e-4
/// * step 8 (past the end): div_final 1e5 of lr_max → 1e-8
#[test]
fn fastai_by_hand() {
    let s = OneCycleConfig::fastai(1e-3, 8).build().unwrap();
    check(
        "lr",
        |k| s.lr(k),
        &[
            (0, 4e-5),
            (1, 5.2e-4),
            (2, 1e-3),
            (5, 5.000_05e-4),
            (8, 1e-8),
        ],
    );
    check(
        "momentum",
        |k| s.momentum(k).unwrap(),
        &[(0, 0.95), (1, 0.9), (2, 0.85), (5, 0.9), (8, 0.95)],
    );
}
