//! Invariants of every valid 1cycle schedule: bounds, shape (monotone phases),
//! continuity, exact key values, the past-the-end clamp, and the iterator.

use onecycle_core::{
    Anneal, Convention, FinalDivOf, MomentumRange, OneCycle, OneCycleConfig, Phases,
};
use proptest::prelude::*;

/// Allowed rounding slack, as a fraction of `max_lr` (or of 1 for momentum): the
/// two halves of a phase are evaluated from opposite ends, so neighbouring steps
/// may disagree in the last ulp.
const ULP_SLACK: f64 = 1e-14;

fn convention() -> impl Strategy<Value = Convention> {
    prop_oneof![
        Just(Convention::PyTorch),
        Just(Convention::Fastai),
        Just(Convention::Optax)
    ]
}

fn anneal() -> impl Strategy<Value = Anneal> {
    prop_oneof![Just(Anneal::Cos), Just(Anneal::Linear)]
}

prop_compose! {
    /// Valid-looking configs (div ≥ 1 so that initial ≤ max); `build` may still
    /// reject a phase that is empty under its convention.
    fn config(max_steps: u32)(
        total_steps in 1..=max_steps,
        max_lr in 1e-6..10.0_f64,
        pct_start in 0.01..0.99_f64,
        u in 0.01..0.99_f64,
        three in any::<bool>(),
        div_factor in 1.0..1e3_f64,
        final_div_factor in 1.0..1e6_f64,
        of_max in any::<bool>(),
        anneal in anneal(),
        mom in prop::option::of((0.0..0.999_f64, 0.0..0.999_f64)),
        convention in convention(),
    ) -> OneCycleConfig<f64> {
        OneCycleConfig {
            max_lr,
            total_steps,
            pct_start,
            div_factor,
            final_div_factor,
            final_div_of: if of_max { FinalDivOf::MaxLr } else { FinalDivOf::InitialLr },
            anneal,
            phases: if three { Phases::Three { pct_final: pct_start + (1.0 - pct_start) * u } } else { Phases::Two },
            momentum: mom.map(|(a, b)| MomentumRange { base: a.min(b), max: a.max(b) }),
            convention,
        }
    }
}

/// The steps to look at: all of them for short schedules, else a stride plus
/// the neighbourhood of every boundary.
fn steps(s: &OneCycle<f64>) -> Vec<u32> {
    let t = s.total_steps();
    if t <= 3000 {
        return (0..t).collect();
    }
    let c = s.config();
    let mut v: Vec<u32> = (0..t).step_by((t / 1000) as usize).collect();
    let mut fracs = vec![c.pct_start];
    if let Phases::Three { pct_final } = c.phases {
        fracs.push(pct_final);
    }
    for p in fracs {
        let b = (p * f64::from(t)) as u32;
        v.extend(b.saturating_sub(3)..(b + 3).min(t));
    }
    v.extend(t - 3..t);
    v.sort_unstable();
    v.dedup();
    v
}

/// `true` if the values rise (weakly) to a maximum and then fall (weakly), up to `slack`.
fn unimodal(v: &[f64], slack: f64) -> bool {
    let peak = v
        .iter()
        .enumerate()
        .fold(0, |best, (i, &x)| if x > v[best] { i } else { best });
    v[..=peak].windows(2).all(|w| w[1] >= w[0] - slack)
        && v[peak..].windows(2).all(|w| w[1] <= w[0] + slack)
}

fn build(cfg: OneCycleConfig<f64>) -> Result<OneCycle<f64>, TestCaseError> {
    match cfg.build() {
        Ok(s) => Ok(s),
        Err(onecycle_core::ConfigError::EmptyPhase { .. }) => {
            Err(TestCaseError::reject("empty phase"))
        }
        Err(e) => Err(TestCaseError::fail(format!("valid config rejected: {e}"))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_global_rejects: 100_000, ..ProptestConfig::default() })]

    /// lr ∈ [min(initial, final), max_lr], momentum ∈ [base, max], all finite.
    #[test]
    fn values_stay_in_bounds(cfg in config(20_000)) {
        let s = build(cfg)?;
        let lo = s.initial_lr().min(s.final_lr());
        for k in steps(&s) {
            let lr = s.lr(k);
            prop_assert!(lr.is_finite() && lr >= lo && lr <= s.max_lr(), "step {k}: lr {lr} outside [{lo}, {}]", s.max_lr());
            match (cfg.momentum, s.momentum(k)) {
                (Some(m), Some(x)) => prop_assert!(x.is_finite() && x >= m.base && x <= m.max, "step {k}: momentum {x}"),
                (None, None) => {}
                (a, b) => prop_assert!(false, "momentum configured {a:?} but got {b:?}"),
            }
        }
    }

    /// The lr rises then falls (three phases: max → initial → final is a fall too
    /// when final ≤ initial); momentum mirrors it.
    #[test]
    fn phases_are_monotone(cfg in config(5_000)) {
        let s = build(cfg)?;
        prop_assume!(matches!(cfg.phases, Phases::Two) || s.final_lr() <= s.initial_lr());
        let lrs: Vec<f64> = (0..s.total_steps()).map(|k| s.lr(k)).collect();
        prop_assert!(unimodal(&lrs, ULP_SLACK * s.max_lr()), "lr not unimodal: {lrs:?}");
        if cfg.momentum.is_some() {
            let neg: Vec<f64> = (0..s.total_steps()).map(|k| -s.momentum(k).unwrap()).collect();
            prop_assert!(unimodal(&neg, ULP_SLACK), "momentum not a valley");
        }
    }

    /// No jumps: with phases at least 8 steps long, neighbouring steps differ by at
    /// most the steepest slope (π/2 · range / shortest phase; linear: range / phase),
    /// also across phase boundaries.
    #[test]
    fn continuous_across_boundaries(
        cfg in config(20_000).prop_filter("long phases", |c| {
            let t = f64::from(c.total_steps);
            let last = match c.phases { Phases::Two => c.pct_start, Phases::Three { pct_final } => pct_final };
            let min = match c.phases {
                Phases::Two => c.pct_start.min(1.0 - c.pct_start),
                Phases::Three { pct_final } => c.pct_start.min(pct_final - c.pct_start).min(1.0 - last),
            };
            min * t >= 12.0
        })
    ) {
        let s = build(cfg)?;
        let t = f64::from(s.total_steps());
        let fracs = match cfg.phases {
            Phases::Two => vec![cfg.pct_start, 1.0 - cfg.pct_start],
            Phases::Three { pct_final } => vec![cfg.pct_start, pct_final - cfg.pct_start, 1.0 - pct_final],
        };
        // Conventions shift boundaries by at most 2 steps (PyTorch) or 1 (floor).
        let shortest = fracs.iter().fold(f64::INFINITY, |a, &f| a.min(f)) * t - 3.0;
        let range = s.max_lr() - s.initial_lr().min(s.final_lr());
        let bound = std::f64::consts::FRAC_PI_2 * range / shortest + ULP_SLACK * s.max_lr();
        for k in 1..s.total_steps() {
            let jump = (s.lr(k) - s.lr(k - 1)).abs();
            prop_assert!(jump <= bound, "step {k}: jump {jump} > {bound}");
        }
    }

    /// Key values are hit exactly: the initial lr at step 0, max_lr on an
    /// integer boundary (always for optax), the final lr at the end (PyTorch: at
    /// T − 1) and from T on, for ever.
    #[test]
    fn key_values_and_clamp(cfg in config(100_000), extra in any::<u32>()) {
        let s = build(cfg)?;
        let t = s.total_steps();
        prop_assert_eq!(s.initial_lr(), cfg.max_lr / cfg.div_factor);
        let boundary = cfg.pct_start * f64::from(t);
        if t > 1 { prop_assert_eq!(s.lr(0), s.initial_lr()); }
        match cfg.convention {
            Convention::Optax => prop_assert_eq!(s.lr(boundary.floor() as u32), cfg.max_lr),
            Convention::Fastai if boundary.fract() == 0.0 => prop_assert_eq!(s.lr(boundary as u32), cfg.max_lr),
            Convention::PyTorch => {
                prop_assert_eq!(s.lr(t - 1), s.final_lr());
                if boundary.fract() == 0.0 { prop_assert_eq!(s.lr(boundary as u32 - 1), cfg.max_lr); }
            }
            Convention::Fastai => {}
        }
        let past = t.saturating_add(extra);
        prop_assert_eq!(s.lr(past), s.final_lr());
        prop_assert_eq!(s.lr(u32::MAX), s.final_lr());
        prop_assert_eq!(s.lr(t), s.final_lr());
        let want_final = match cfg.final_div_of {
            FinalDivOf::InitialLr => cfg.max_lr / cfg.div_factor / cfg.final_div_factor,
            FinalDivOf::MaxLr => cfg.max_lr / cfg.final_div_factor,
        };
        prop_assert_eq!(s.final_lr(), want_final);
        if let Some(m) = cfg.momentum {
            prop_assert_eq!(s.momentum(past), Some(m.max));
            if t > 1 { prop_assert_eq!(s.momentum(0), Some(m.max)); }
        }
    }

    /// The iterator yields exactly `lr(k), momentum(k)` for k in 0..T.
    #[test]
    fn iterator_matches_pointwise(cfg in config(2_000)) {
        let s = build(cfg)?;
        let mut it = s.iter();
        prop_assert_eq!(it.len(), s.total_steps() as usize);
        for k in 0..s.total_steps() {
            prop_assert_eq!(it.next(), Some((s.lr(k), s.momentum(k))));
        }
        prop_assert_eq!(it.next(), None);
        prop_assert_eq!(s.iter().nth(s.total_steps() as usize - 1), Some((s.lr(s.total_steps() - 1), s.momentum(s.total_steps() - 1))));
    }
}
