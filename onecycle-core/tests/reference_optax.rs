//! optax `cosine_onecycle_schedule` / `linear_onecycle_schedule` reference values.
//!
//! Tables printed by `tests/reference/gen_optax.py` (optax 0.2.8, JAX in 64-bit
//! mode, so the values carry optax's semantics at f64 precision). optax has
//! integer boundaries `floor(pct·T)`, and holds the final value from step `T` on.

use onecycle_core::{OneCycleConfig, Phases};

/// Relative tolerance against optax's f64 arithmetic.
const OPTAX_REL: f64 = 1e-12;
/// Absolute tolerance as a fraction of `max_lr`: optax's linear form
/// `start + pct·(end − start)` loses a few ulps of `max_lr` near a small end.
const OPTAX_ABS_OF_MAX: f64 = 1e-14;

fn check(name: &str, cfg: OneCycleConfig<f64>, table: &[(u32, f64)]) {
    let s = cfg.build().unwrap();
    for &(k, want) in table {
        let g = s.lr(k);
        let tol = OPTAX_REL * want.abs() + OPTAX_ABS_OF_MAX * cfg.max_lr;
        assert!(
            (g - want).abs() <= tol,
            "{name} step {k}: got {g:e}, optax {want:e} (tol {tol:e})"
        );
    }
}

const OX_COS_T10: &[(u32, f64)] = &[
    (0, 100.0),
    (1, 325.0),
    (2, 774.9999999999999),
    (3, 1000.0),
    (4, 950.5339495172583),
    (5, 811.9331560284375),
    (6, 611.649206511179),
    (7, 389.350793488821),
    (8, 189.06684397156263),
    (9, 50.46605048274169),
    (10, 1.0),
    (11, 1.0),
];
const OX_LIN_T10: &[(u32, f64)] = &[
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
const OX_COS_DEFAULT_T1000: &[(u32, f64)] = &[
    (0, 0.0040000000000000036),
    (1, 0.004002631870455423),
    (150, 0.052000000000000005),
    (299, 0.09999736812954459),
    (300, 0.1),
    (301, 0.09999949645161448),
    (500, 0.0811745653949763),
    (849, 0.01104908568791814),
    (850, 0.010908782242895003),
    (851, 0.010769266177833397),
    (999, 9.035483855369959e-07),
    (1000, 4e-07),
    (5000, 4e-07),
];
const OX_LIN_DEFAULT_T1000: &[(u32, f64)] = &[
    (0, 0.004),
    (1, 0.00432),
    (150, 0.052000000000000005),
    (299, 0.09968),
    (300, 0.1),
    (301, 0.09982545454545455),
    (500, 0.06509090909090909),
    (849, 0.0041745454545454586),
    (850, 0.004),
    (851, 0.003973336),
    (999, 2.7064000000000255e-05),
    (1000, 4.0000000000000003e-07),
    (5000, 4.0000000000000003e-07),
];
const OX_LIN_DEFAULT_T7: &[(u32, f64)] = &[
    (0, 0.08),
    (1, 1.04),
    (2, 2.0),
    (3, 1.36),
    (4, 0.7200000000000002),
    (5, 0.08),
    (6, 0.040004),
    (7, 8.000000000000001e-06),
    (8, 8.000000000000001e-06),
];
const OX_COS_DEFAULT_T7: &[(u32, f64)] = &[
    (0, 0.08000000000000007),
    (1, 1.04),
    (2, 2.0),
    (3, 1.80901775830697),
    (4, 1.30901975830697),
    (5, 0.6909882416930302),
    (6, 0.19099024169303017),
    (7, 8e-06),
    (8, 8e-06),
];

/// optax's `cosine_onecycle_schedule(10, 1000, pct_start=0.3, div_factor=10, final_div_factor=100)`.
#[test]
fn cos_t10_custom() {
    let mut cfg = OneCycleConfig::optax_cos(1000.0, 10);
    cfg.div_factor = 10.0;
    cfg.final_div_factor = 100.0;
    check("cos", cfg, OX_COS_T10);
}

/// optax's `linear_onecycle_schedule(10, 1000, pct_start=0.3, pct_final=0.7, div_factor=10,
/// final_div_factor=100)`.
#[test]
fn linear_t10_custom() {
    let mut cfg = OneCycleConfig::optax_linear(1000.0, 10);
    cfg.phases = Phases::Three { pct_final: 0.7 };
    cfg.div_factor = 10.0;
    cfg.final_div_factor = 100.0;
    check("linear", cfg, OX_LIN_T10);
}

#[test]
fn defaults_t1000() {
    check(
        "cos",
        OneCycleConfig::optax_cos(0.1, 1000),
        OX_COS_DEFAULT_T1000,
    );
    check(
        "linear",
        OneCycleConfig::optax_linear(0.1, 1000),
        OX_LIN_DEFAULT_T1000,
    );
}

/// Odd length: boundaries floor(2.1) = 2 and floor(5.95) = 5.
#[test]
fn defaults_t7() {
    check("cos", OneCycleConfig::optax_cos(2.0, 7), OX_COS_DEFAULT_T7);
    check(
        "linear",
        OneCycleConfig::optax_linear(2.0, 7),
        OX_LIN_DEFAULT_T7,
    );
}
