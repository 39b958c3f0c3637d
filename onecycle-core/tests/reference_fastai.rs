//! fastai `Learner.fit_one_cycle` reference values.
//!
//! Tables printed by `tests/reference/gen_fastai.py` (fastai 2.8.12):
//! `combined_cos(pct_start, lr_max/div, lr_max, lr_max/div_final)` and
//! `combined_cos(pct_start, *moms)` at position `k/T`. fastai keeps the phase
//! fractions in a float32 tensor, so its progress through a phase is rounded to
//! float32; past the end it extrapolates (not tabulated: this crate clamps).

use onecycle_core::OneCycleConfig;

/// Absolute tolerance as a fraction of the value scale (lr_max, or the max momentum):
/// float32 rounding of the phase progress (≤ 6e-8) moves a half-cosine by at most
/// π/2 · 6e-8 ≈ 1e-7 of the phase's range.
const FASTAI_ABS_OF_SCALE: f64 = 2e-7;
/// Relative tolerance for fastai's f64 part of the arithmetic.
const FASTAI_REL: f64 = 1e-12;

fn check(name: &str, got: impl Fn(u32) -> f64, table: &[(u32, f64)], scale: f64) {
    for &(k, want) in table {
        let g = got(k);
        let tol = FASTAI_REL * want.abs() + FASTAI_ABS_OF_SCALE * scale;
        assert!(
            (g - want).abs() <= tol,
            "{name} step {k}: got {g:e}, fastai {want:e} (tol {tol:e})"
        );
    }
}

const FA_T10_LR: &[(u32, f64)] = &[
    (0, 4e-05),
    (1, 0.00037167185124828173),
    (2, 0.0009083281678662005),
    (3, 0.0009890739036269116),
    (4, 0.000904509449350908),
    (5, 0.0007500024864862765),
    (6, 0.0005522686593312815),
    (7, 0.00034549810132356723),
    (8, 0.00016544302391959128),
    (9, 4.32368719095722e-05),
    (10, 9.999999999940612e-09),
];
const FA_T10_MOM: &[(u32, f64)] = &[
    (0, 0.95),
    (1, 0.915450848828304),
    (2, 0.8595491491806041),
    (3, 0.8510926205635144),
    (4, 0.8595491505564148),
    (5, 0.8750000013513858),
    (6, 0.8947735818026898),
    (7, 0.915450844376087),
    (8, 0.9334565321733626),
    (9, 0.9456772695817386),
    (10, 0.95),
];
const FA_T7_LR: &[(u32, f64)] = &[
    (0, 4e-05),
    (1, 0.0006268100858539586),
    (2, 0.0009944154652622296),
    (3, 0.0008665272698974381),
    (4, 0.0006112643022143861),
    (5, 0.00031733628132046994),
    (6, 8.688973398991186e-05),
    (7, 9.999999999940612e-09),
];
const FA_T7_MOM: &[(u32, f64)] = &[
    (0, 0.95),
    (1, 0.8888739493902126),
    (2, 0.8505584590583676),
    (3, 0.863347406484321),
    (4, 0.8888739585181465),
    (5, 0.9182670545384983),
    (6, 0.9413119397204059),
    (7, 0.95),
];
const FA_T1000_LR: &[(u32, f64)] = &[
    (0, 4e-05),
    (1, 4.003789878576843e-05),
    (100, 0.00037167185124828173),
    (249, 0.0009999621010642254),
    (250, 0.001),
    (251, 0.0009999956136721249),
    (600, 0.0005522686593312815),
    (998, 2.7545494966137868e-08),
    (999, 1.438619689651463e-08),
    (1000, 9.999999999940612e-09),
];
const FA_T1000_MOM: &[(u32, f64)] = &[
    (0, 0.95),
    (1, 0.9499960522098158),
    (100, 0.915450848828304),
    (249, 0.8500039478058098),
    (250, 0.85),
    (251, 0.8500004386371739),
    (600, 0.8947735818026898),
    (998, 0.9499982454329576),
    (999, 0.949999561375924),
    (1000, 0.95),
];

fn run(total: u32, lr: &[(u32, f64)], mom: &[(u32, f64)]) {
    let s = OneCycleConfig::fastai(1e-3, total).build().unwrap();
    check("lr", |k| s.lr(k), lr, 1e-3);
    check("momentum", |k| s.momentum(k).unwrap(), mom, 0.95);
}

#[test]
fn defaults_t10() {
    run(10, FA_T10_LR, FA_T10_MOM);
}

/// pct_start·T = 1.75 falls between steps.
#[test]
fn defaults_t7() {
    run(7, FA_T7_LR, FA_T7_MOM);
}

#[test]
fn defaults_t1000() {
    run(1000, FA_T1000_LR, FA_T1000_MOM);
}

/// Exactly on the boundary (position 0.25) the value is the peak: the boundary
/// starts phase 2, where progress is 0.
#[test]
fn boundary_is_the_peak() {
    let s = OneCycleConfig::fastai(1e-3, 100).build().unwrap();
    assert_eq!(s.lr(25), 1e-3);
    assert_eq!(s.momentum(25), Some(0.85));
}
