//! PyTorch `torch.optim.lr_scheduler.OneCycleLR` reference values.
//!
//! Tables printed by `tests/reference/gen_pytorch.py` (torch 2.15, f64 Python
//! floats): the value training step `k` uses is the scheduler's after `k` calls
//! to `step()`. PyTorch evaluates `end + (start − end)/2·(1 + cos π·pct)` in f64;
//! this crate evaluates the same function from the nearer phase end, so the two
//! agree to a few ulps of the value range.

use onecycle_core::{Anneal, MomentumRange, OneCycle, OneCycleConfig, Phases};

/// Relative tolerance against PyTorch's f64 arithmetic.
const PYTORCH_REL: f64 = 1e-12;
/// Absolute tolerance as a fraction of the value range's scale (max lr, or 1 for momentum):
/// PyTorch's linear form `start + pct·(end − start)` loses a few ulps of `max_lr` near a small end.
const PYTORCH_ABS_OF_SCALE: f64 = 1e-14;

fn check(name: &str, got: impl Fn(u32) -> f64, table: &[(u32, f64)], scale: f64) {
    for &(k, want) in table {
        let g = got(k);
        let tol = PYTORCH_REL * want.abs() + PYTORCH_ABS_OF_SCALE * scale;
        assert!(
            (g - want).abs() <= tol,
            "{name} step {k}: got {g:e}, PyTorch {want:e} (tol {tol:e})"
        );
    }
}

fn lr_of(s: OneCycle<f64>) -> impl Fn(u32) -> f64 {
    move |k| s.lr(k)
}

fn mom_of(s: OneCycle<f64>) -> impl Fn(u32) -> f64 {
    move |k| s.momentum(k).expect("momentum configured")
}

const PT_T10_LR: &[(u32, f64)] = &[
    (0, 0.0040000000000000036),
    (1, 0.052000000000000005),
    (2, 0.1),
    (3, 0.09504846320134738),
    (4, 0.0811745653949763),
    (5, 0.06112620219362893),
    (6, 0.03887419780637107),
    (7, 0.0188258346050237),
    (8, 0.004951936798652629),
    (9, 4e-07),
];
const PT_T10_MOM: &[(u32, f64)] = &[
    (0, 0.95),
    (1, 0.8999999999999999),
    (2, 0.85),
    (3, 0.854951556604879),
    (4, 0.8688255099070633),
    (5, 0.8888739533021842),
    (6, 0.9111260466978157),
    (7, 0.9311744900929366),
    (8, 0.945048443395121),
    (9, 0.95),
];
const PT_PUBLISHED_COS_LR: &[(u32, f64)] = &[
    (0, 1.0),
    (1, 13.0),
    (2, 25.0),
    (3, 23.786868631804634),
    (4, 20.387750072769485),
    (5, 15.475881440964852),
    (6, 10.024118559035148),
    (7, 5.112249927230515),
    (8, 1.7131313681953668),
    (9, 0.5),
];
const PT_T1000_LR: &[(u32, f64)] = &[
    (0, 0.0040000000000000036),
    (1, 0.00400264950421679),
    (2, 0.004010597724372428),
    (150, 0.05225216681225469),
    (298, 0.09999735049578322),
    (299, 0.1),
    (300, 0.09999949645161448),
    (301, 0.09999798581660033),
    (500, 0.08099881015401794),
    (777, 0.02283111978701529),
    (998, 9.035483855369959e-07),
    (999, 4e-07),
];
const PT_T1000_MOM: &[(u32, f64)] = &[
    (0, 0.95),
    (1, 0.9499972400997742),
    (2, 0.9499889607037787),
    (150, 0.8997373262372347),
    (298, 0.8500027599002258),
    (299, 0.85),
    (300, 0.8500005035503997),
    (301, 0.8500020141914564),
    (500, 0.8690012658510454),
    (777, 0.9271691888897402),
    (998, 0.9499994964496002),
    (999, 0.95),
];
const PT_T1000_LINEAR_LR: &[(u32, f64)] = &[
    (0, 0.004),
    (1, 0.0043210702341137126),
    (2, 0.004642140468227425),
    (150, 0.05216053511705686),
    (298, 0.0996789297658863),
    (299, 0.1),
    (300, 0.09985714342857144),
    (301, 0.09971428685714286),
    (500, 0.07128582914285714),
    (777, 0.03171455885714286),
    (998, 0.00014325657142856552),
    (999, 3.999999999976245e-07),
];
const PT_T100_3PH_LR: &[(u32, f64)] = &[
    (0, 0.040000000000000036),
    (5, 0.13919039666020716),
    (23, 0.995893533459429),
    (24, 1.0),
    (25, 0.995893533459429),
    (30, 0.8594112549695427),
    (47, 0.044106466540571015),
    (48, 0.04),
    (49, 0.03996207036808341),
    (70, 0.024280233797963537),
    (98, 4.192963191659201e-05),
    (99, 4e-06),
];
const PT_T100_3PH_MOM: &[(u32, f64)] = &[
    (0, 0.95),
    (5, 0.9396676670145617),
    (23, 0.8504277569313095),
    (24, 0.85),
    (25, 0.8504277569313095),
    (30, 0.8646446609406726),
    (47, 0.9495722430686905),
    (48, 0.95),
    (49, 0.95),
    (70, 0.95),
    (98, 0.95),
    (99, 0.95),
];
const PT_T7_CUSTOM_LR: &[(u32, f64)] = &[
    (0, 0.04999999999999999),
    (1, 0.31407083997505925),
    (2, 0.49721049884972585),
    (3, 0.4059665780142187),
    (4, 0.23158615912679054),
    (5, 0.06717029501050087),
    (6, 0.0005),
];
const PT_T7_CUSTOM_MOM: &[(u32, f64)] = &[
    (0, 0.9),
    (1, 0.8413175911166535),
    (2, 0.8005584586887436),
    (3, 0.8188255099070634),
    (4, 0.8537365046793213),
    (5, 0.8866525935914913),
    (6, 0.9),
];

#[test]
fn default_t10() {
    let s = OneCycleConfig::pytorch(0.1, 10).build().unwrap();
    check("lr", lr_of(s), PT_T10_LR, 0.1);
    check("momentum", mom_of(s), PT_T10_MOM, 1.0);
}

/// PyTorch's own test configuration `OneCycleLR(max_lr=25, final_div_factor=2, total_steps=10)`.
#[test]
fn published_cos_configuration() {
    let mut cfg = OneCycleConfig::pytorch(25.0, 10);
    cfg.final_div_factor = 2.0;
    check("lr", lr_of(cfg.build().unwrap()), PT_PUBLISHED_COS_LR, 25.0);
}

#[test]
fn default_t1000_cos_and_linear() {
    let s = OneCycleConfig::pytorch(0.1, 1000).build().unwrap();
    check("lr", lr_of(s), PT_T1000_LR, 0.1);
    check("momentum", mom_of(s), PT_T1000_MOM, 1.0);
    let mut cfg = OneCycleConfig::pytorch(0.1, 1000);
    cfg.anneal = Anneal::Linear;
    check(
        "linear lr",
        lr_of(cfg.build().unwrap()),
        PT_T1000_LINEAR_LR,
        0.1,
    );
}

/// `three_phase=True` is `Phases::Three { pct_final: 2·pct_start }`.
#[test]
fn three_phase_t100() {
    let mut cfg = OneCycleConfig::pytorch(1.0, 100);
    cfg.pct_start = 0.25;
    cfg.phases = Phases::Three {
        pct_final: 2.0 * cfg.pct_start,
    };
    let s = cfg.build().unwrap();
    check("lr", lr_of(s), PT_T100_3PH_LR, 1.0);
    check("momentum", mom_of(s), PT_T100_3PH_MOM, 1.0);
}

/// A fractional first boundary (0.4·7 − 1 = 1.8) and custom factors and momentum.
#[test]
fn custom_t7() {
    let mut cfg = OneCycleConfig::pytorch(0.5, 7);
    cfg.pct_start = 0.4;
    cfg.div_factor = 10.0;
    cfg.final_div_factor = 100.0;
    cfg.momentum = Some(MomentumRange {
        base: 0.8,
        max: 0.9,
    });
    let s = cfg.build().unwrap();
    check("lr", lr_of(s), PT_T7_CUSTOM_LR, 0.5);
    check("momentum", mom_of(s), PT_T7_CUSTOM_MOM, 1.0);
}
