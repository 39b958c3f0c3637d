//! The preset defaults table (PyTorch `OneCycleLR`, fastai `fit_one_cycle`,
//! optax `cosine_onecycle_schedule` / `linear_onecycle_schedule` signatures),
//! and parsing of preset and annealing names.

use onecycle_core::{
    Anneal, Convention, FinalDivOf, MomentumRange, OneCycleConfig, Phases, Preset,
};

/// (preset, pct_start, pct_final, div, final div, of, anneal, convention)
type Row = (
    Preset,
    f64,
    Option<f64>,
    f64,
    f64,
    FinalDivOf,
    Anneal,
    Convention,
);

const DEFAULTS: &[Row] = &[
    (
        Preset::PyTorch,
        0.3,
        None,
        25.0,
        1e4,
        FinalDivOf::InitialLr,
        Anneal::Cos,
        Convention::PyTorch,
    ),
    (
        Preset::Fastai,
        0.25,
        None,
        25.0,
        1e5,
        FinalDivOf::MaxLr,
        Anneal::Cos,
        Convention::Fastai,
    ),
    (
        Preset::OptaxCos,
        0.3,
        None,
        25.0,
        1e4,
        FinalDivOf::InitialLr,
        Anneal::Cos,
        Convention::Optax,
    ),
    (
        Preset::OptaxLinear,
        0.3,
        Some(0.85),
        25.0,
        1e4,
        FinalDivOf::InitialLr,
        Anneal::Linear,
        Convention::Optax,
    ),
];

#[test]
fn presets_have_the_published_defaults() {
    assert_eq!(Preset::ALL.len(), DEFAULTS.len());
    for &(p, pct, pct_final, div, fdiv, of, anneal, conv) in DEFAULTS {
        let c: OneCycleConfig<f64> = p.config(0.5, 1234);
        assert_eq!((c.max_lr, c.total_steps), (0.5, 1234), "{p}");
        assert_eq!(
            (c.pct_start, c.div_factor, c.final_div_factor),
            (pct, div, fdiv),
            "{p}"
        );
        assert_eq!(
            (c.final_div_of, c.anneal, c.convention),
            (of, anneal, conv),
            "{p}"
        );
        let phases = pct_final.map_or(Phases::Two, |pct_final| Phases::Three { pct_final });
        assert_eq!(c.phases, phases, "{p}");
        assert_eq!(
            c.momentum,
            Some(MomentumRange {
                base: 0.85,
                max: 0.95
            }),
            "{p}"
        );
    }
}

#[test]
fn preset_names_round_trip() {
    for p in Preset::ALL {
        assert_eq!(p.name().parse::<Preset>(), Ok(p));
        assert_eq!(p.to_string(), p.name());
    }
    let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["pytorch", "fastai", "optax-cos", "optax-linear"]);
    let err = "adam".parse::<Preset>().unwrap_err().to_string();
    for n in names {
        assert!(err.contains(n), "{err:?} should list {n}");
    }
    assert!("PyTorch".parse::<Preset>().is_err(), "names are exact");
}

#[test]
fn anneal_names_round_trip() {
    for a in [Anneal::Cos, Anneal::Linear] {
        assert_eq!(a.to_string().parse::<Anneal>(), Ok(a));
    }
    assert!("cosine".parse::<Anneal>().is_err());
}

#[test]
fn constructors_equal_preset_configs() {
    assert_eq!(
        OneCycleConfig::pytorch(0.1_f32, 7),
        Preset::PyTorch.config(0.1_f32, 7)
    );
    assert_eq!(
        OneCycleConfig::fastai(0.1_f32, 7),
        Preset::Fastai.config(0.1_f32, 7)
    );
    assert_eq!(
        OneCycleConfig::optax_cos(0.1_f32, 7),
        Preset::OptaxCos.config(0.1_f32, 7)
    );
    assert_eq!(
        OneCycleConfig::optax_linear(0.1_f32, 7),
        Preset::OptaxLinear.config(0.1_f32, 7)
    );
}
