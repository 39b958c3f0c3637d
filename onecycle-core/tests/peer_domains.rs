//! Each preset's convention accepts exactly the configs its peer runs sanely
//! (every phase non-empty in the peer's own arithmetic, restated in
//! `common::peers` from the peers' sources), refuses the rest with
//! `EmptyPhase` naming the same phase, and, where it accepts, reproduces the
//! peer's values at every step. Plus boundary tables and hand-worked values at
//! the edges.

use onecycle_core::{Anneal, ConfigError, Convention, OneCycleConfig, Phases, Preset};
use proptest::prelude::*;

mod common;
use common::peers::{optax_at, pytorch_at, verdict, Args, Verdict};
use common::to_f32;

fn convention() -> impl Strategy<Value = Convention> {
    prop_oneof![
        Just(Convention::PyTorch),
        Just(Convention::Fastai),
        Just(Convention::Optax)
    ]
}

/// A fraction at or next to a step boundary of a `t`-step run: `(k + d)/t`
/// nudged by a few ulps, so both sides of every edge are drawn.
fn near_edge(t: u32) -> impl Strategy<Value = f64> {
    let t = f64::from(t);
    (
        0..=(t as u32 + 2),
        prop::sample::select(vec![0.0, 0.5, 1.0, 2.0]),
        -3_i64..=3,
    )
        .prop_map(move |(k, d, ulps)| {
            let x = (f64::from(k) + d) / t;
            nudge(x, ulps)
        })
}

fn nudge(x: f64, ulps: i64) -> f64 {
    let bits = x.to_bits() as i64 + ulps;
    f64::from_bits(bits.max(0) as u64)
}

fn total_steps() -> impl Strategy<Value = u32> {
    prop_oneof![1..12_u32, 12..300_u32, Just(1_000_u32), Just(4_096_u32)]
}

prop_compose! {
    /// A config with valid scalars and `pct_start`/`pct_final` at the edges of
    /// each convention's phases. `pct_final` is PyTorch's `2·pct_start` half
    /// the time, else its own edge value above `pct_start` (below 1 except
    /// under PyTorch, whose third phase may start a little past `T`).
    fn edge_config()(t in total_steps())(
        t in Just(t),
        p in near_edge(t),
        q in near_edge(t),
        three in 0..3_u8,
        conv in convention(),
        linear in any::<bool>(),
    ) -> Option<OneCycleConfig<f64>> {
        let mut c = Preset::PyTorch.config(25.0, t);
        c.convention = conv;
        c.anneal = if linear { Anneal::Linear } else { Anneal::Cos };
        c.pct_start = p;
        if !(p > 0.0 && p < 1.0) {
            return None;
        }
        c.phases = match three {
            0 => Phases::Two,
            1 => Phases::Three { pct_final: 2.0 * p },
            _ => Phases::Three { pct_final: q },
        };
        if let Phases::Three { pct_final } = c.phases {
            let cap = conv == Convention::PyTorch || pct_final < 1.0;
            if !(pct_final > p && cap) {
                return None;
            }
        }
        Some(c)
    }
}

/// The crate's verdict in the test's terms.
fn crate_verdict(r: Result<(), ConfigError>) -> Verdict {
    match r {
        Ok(()) => Verdict::Sane,
        Err(ConfigError::EmptyPhase { phase, .. }) => Verdict::Empty(phase),
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

/// PyTorch's tolerance of the reference tests: relative 1e-12 plus 1e-14 of the scale.
fn close(got: f64, want: f64, scale: f64) -> bool {
    (got - want).abs() <= 1e-12 * want.abs() + 1e-14 * scale
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]

    /// Accepted exactly when the peer is sane; refused naming the peer's empty
    /// phase; and accepted configs give the peer's values at every step.
    #[test]
    fn accepts_exactly_what_the_peer_runs(c in edge_config()) {
        let Some(c) = c else { return Ok(()) };
        let args = Args::of(&c);
        let peer = verdict(c.convention, &args);
        let built = c.build();
        prop_assert_eq!(crate_verdict(built.map(|_| ())), peer, "{:?}", c);
        let Ok(s) = built else { return Ok(()) };
        let oracle = match c.convention {
            Convention::PyTorch => Some(pytorch_at as fn(&Args, u32) -> (f64, f64)),
            Convention::Optax => Some(optax_at as fn(&Args, u32) -> (f64, f64)),
            Convention::Fastai => None,
        };
        if let (Some(at), true) = (oracle, c.total_steps <= 300) {
            for k in 0..c.total_steps {
                let (lr, mom) = at(&args, k);
                prop_assert!(close(s.lr(k), lr, c.max_lr), "{:?} step {}: lr {} vs peer {}", c, k, s.lr(k), lr);
                let m = s.momentum(k).unwrap();
                prop_assert!(close(m, mom, 1.0), "{:?} step {}: momentum {} vs peer {}", c, k, m, mom);
            }
        }
    }

    /// The domain does not depend on the float type: an f32 config is judged
    /// on its values widened to f64, as a Python user passing them would be,
    /// and its schedule is finite everywhere.
    #[test]
    fn f32_configs_get_the_same_verdict(c in edge_config()) {
        let Some(c) = c else { return Ok(()) };
        let c32 = to_f32(&c);
        let peer = verdict(c32.convention, &Args::of(&c32));
        let scalars_ok = c32.pct_start > 0.0 && c32.pct_start < 1.0 && match c32.phases {
            Phases::Two => true,
            Phases::Three { pct_final } => pct_final > c32.pct_start
                && (c32.convention == Convention::PyTorch || pct_final < 1.0),
        };
        prop_assume!(scalars_ok);
        let built = c32.build();
        prop_assert_eq!(crate_verdict(built.map(|_| ())), peer, "{:?}", c32);
        if let Ok(s) = built {
            for k in 0..=c32.total_steps.min(5_000) {
                prop_assert!(s.lr(k).is_finite() && s.lr(k) > 0.0);
                prop_assert!(s.momentum(k).unwrap().is_finite());
            }
        }
    }
}

/// The smallest `total_steps` each convention accepts, and the largest where
/// one exists, derived by hand from the boundary formulas (see each row).
#[test]
fn boundary_table() {
    type Row = (Convention, f64, Option<f64>, u32, Option<u32>, &'static str);
    let rows: &[Row] = &[
        // PyTorch: phase 1 ends at p·T − 1 > 0. 0.3·3 = 0.8999…, 0.3·4 = 1.2.
        (Convention::PyTorch, 0.3, None, 4, None, "0.3·T > 1"),
        // 0.25·4 − 1 = 0 exactly: empty.
        (Convention::PyTorch, 0.25, None, 5, None, "0.25·T > 1"),
        // three_phase=True, p = 0.5: the third phase is (T − 1) − (T − 2) = 1 step
        // for every T; the first needs 0.5·T > 1.
        (
            Convention::PyTorch,
            0.5,
            Some(1.0),
            3,
            None,
            "three_phase p = 0.5",
        ),
        // p = 0.55, q = 1.1: phase 3 = 1 − 0.1·T > 0 so T ≤ 9 (at T = 10,
        // 1.1·10 rounds to 11.000000000000002); phase 1 needs 0.55·T > 1, T ≥ 2.
        (
            Convention::PyTorch,
            0.55,
            Some(1.1),
            2,
            Some(9),
            "three_phase p = 0.55",
        ),
        // optax: ⌊0.3·T⌋ ≥ 1 needs T ≥ 4 (⌊0.8999…⌋ = 0).
        (Convention::Optax, 0.3, None, 4, None, "⌊0.3·T⌋ ≥ 1"),
        // optax linear: ⌊0.3·4⌋ = 1 < ⌊0.85·4⌋ = 3 < 4.
        (Convention::Optax, 0.3, Some(0.85), 4, None, "optax linear"),
        // fastai works in fractions: any T.
        (Convention::Fastai, 0.25, None, 1, None, "fractions"),
        (
            Convention::Fastai,
            0.3,
            Some(0.85),
            1,
            None,
            "fractions, three phases",
        ),
    ];
    for &(conv, p, q, first, last, why) in rows {
        let cfg = |t: u32| {
            let mut c = OneCycleConfig::pytorch(1.0_f64, t);
            c.convention = conv;
            c.pct_start = p;
            c.phases = q.map_or(Phases::Two, |pct_final| Phases::Three { pct_final });
            c
        };
        if first > 1 {
            let err = cfg(first - 1).build().unwrap_err();
            assert!(
                matches!(err, ConfigError::EmptyPhase { .. }),
                "{why}: T = {} should be refused, got {err:?}",
                first - 1
            );
        }
        let upto = last.unwrap_or(first + 200);
        for t in first..=upto {
            assert!(cfg(t).build().is_ok(), "{why}: T = {t} should be accepted");
        }
        if let Some(last) = last {
            let err = cfg(last + 1).build().unwrap_err();
            assert!(
                matches!(err, ConfigError::EmptyPhase { phase: 3, .. }),
                "{why}: T = {} should lose phase 3, got {err:?}",
                last + 1
            );
        }
    }
}

/// `pct_start` and `pct_final` exactly at their limits.
#[test]
fn fractions_at_their_limits() {
    let base = OneCycleConfig::pytorch(1.0_f64, 1000);
    for p in [0.0, 1.0, -0.0, f64::NAN] {
        let err = OneCycleConfig {
            pct_start: p,
            ..base
        }
        .build()
        .unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidPctStart { .. }),
            "p = {p}: {err:?}"
        );
    }
    // Just inside (0, 1): PyTorch's phase 2 keeps (T − 1) − (p·T − 1) > 0.
    let top = nudge(1.0, -1);
    assert!(OneCycleConfig {
        pct_start: top,
        ..base
    }
    .build()
    .is_ok());
    // pct_final = pct_start: phase 2 has no length anywhere.
    for conv in [Convention::PyTorch, Convention::Fastai, Convention::Optax] {
        let c = OneCycleConfig {
            phases: Phases::Three { pct_final: 0.3 },
            convention: conv,
            ..base
        };
        assert!(
            matches!(c.build(), Err(ConfigError::InvalidPctFinal { .. })),
            "{conv:?}"
        );
    }
    // pct_final = 1: fastai and optax have no third phase; PyTorch's is
    // (T − 1) − (T − 2) = 1 step long.
    for (conv, ok) in [
        (Convention::PyTorch, true),
        (Convention::Fastai, false),
        (Convention::Optax, false),
    ] {
        let c = OneCycleConfig {
            phases: Phases::Three { pct_final: 1.0 },
            convention: conv,
            ..base
        };
        assert_eq!(c.build().is_ok(), ok, "{conv:?}");
    }
    // PyTorch's third phase: q·T − 2 < T − 1, i.e. q < 1 + 1/T = 1.001 here.
    let at = |q: f64| {
        OneCycleConfig {
            phases: Phases::Three { pct_final: q },
            ..base
        }
        .build()
    };
    assert!(at(1.000_999).is_ok());
    assert!(matches!(
        at(1.001_001),
        Err(ConfigError::EmptyPhase {
            phase: 3,
            phases: 3,
            ..
        })
    ));
    // optax, close fractions: ⌊0.3·T⌋ < ⌊0.35·T⌋ is not monotone in T:
    // T = 6 → 1 < 2 (0.35·6 = 2.0999…); T = 7 → 2 = 2 (phase 2 empty).
    let ox = |t: u32| {
        OneCycleConfig {
            phases: Phases::Three { pct_final: 0.35 },
            ..OneCycleConfig::optax_linear(1.0_f64, t)
        }
        .build()
    };
    assert!(ox(6).is_ok());
    assert!(matches!(
        ox(5),
        Err(ConfigError::EmptyPhase { phase: 2, .. })
    ));
    assert!(matches!(
        ox(7),
        Err(ConfigError::EmptyPhase { phase: 2, .. })
    ));
    // fastai: a fraction that float32 cannot hold empties its phase.
    let fa = |p: f64| {
        OneCycleConfig {
            pct_start: p,
            ..OneCycleConfig::fastai(1.0_f64, 100)
        }
        .build()
    };
    assert!(matches!(
        fa(1e-50),
        Err(ConfigError::EmptyPhase { phase: 1, .. })
    ));
    // 1 − 1e-10 rounds to 1.0 in float32, so the cumulative sum stalls at 1.
    assert!(matches!(
        fa(1.0 - 1e-10),
        Err(ConfigError::EmptyPhase { phase: 2, .. })
    ));
    // 1 − 2⁻²⁰ and 2⁻²⁰ are exact in float32.
    assert!(fa(1.0 - 2f64.powi(-20)).is_ok());
    assert!(fa(1e-30).is_ok());
}

/// Values at edge configs, worked by hand.
#[test]
fn values_at_the_edges() {
    // PyTorch three_phase=True, pct_start 0.5, T = 10, max 25, div 25:
    // ends 4, 8, 9. Step 6 is half-way down phase 2: (25 + 1)/2 = 13.
    let mut c = OneCycleConfig::pytorch(25.0_f64, 10);
    c.pct_start = 0.5;
    c.phases = Phases::Three { pct_final: 1.0 };
    let s = c.build().unwrap();
    let want = [
        (0, 1.0, 0.95),
        (4, 25.0, 0.85),
        (6, 13.0, 0.90),
        (8, 1.0, 0.95),
        (9, 1e-4, 0.95),
    ];
    for (k, lr, mom) in want {
        assert!((s.lr(k) - lr).abs() <= 1e-12 * lr, "step {k}: {}", s.lr(k));
        assert!((s.momentum(k).unwrap() - mom).abs() <= 1e-15, "step {k}");
    }
    // PyTorch, pct 0.25 at its smallest T = 5: phase 1 is [0, 0.25], so step 1
    // is (1 − 0.25)/3.75 = 0.2 into the anneal: lr = f + (25 − f)·(1 + cos 0.2π)/2
    // with cos(π/5) = (1 + √5)/4.
    let mut c = OneCycleConfig::pytorch(25.0_f64, 5);
    c.pct_start = 0.25;
    let s = c.build().unwrap();
    let f = 1e-4;
    let cos_pi_5 = (1.0 + 5f64.sqrt()) / 4.0;
    let want = f + (25.0 - f) * (1.0 + cos_pi_5) / 2.0;
    assert_eq!(s.lr(0), 1.0);
    assert!(
        (s.lr(1) - want).abs() <= 1e-13 * want,
        "{} vs {want}",
        s.lr(1)
    );
    // optax cos at its smallest T = 4: boundaries 0, 1, 4; step 2 is a third of
    // the anneal: f + (25 − f)·(1 + cos(π/3))/2 = f + (25 − f)·0.75.
    let s = OneCycleConfig::optax_cos(25.0_f64, 4).build().unwrap();
    assert_eq!((s.lr(0), s.lr(1)), (1.0, 25.0));
    let want = f + (25.0 - f) * 0.75;
    assert!((s.lr(2) - want).abs() <= 1e-13 * want, "{}", s.lr(2));
    assert_eq!(s.lr(4), f);
}
