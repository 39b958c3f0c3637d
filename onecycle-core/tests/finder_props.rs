//! Property tests: sweep bounds and monotonicity, smoothing as a weighted mean, suggestions
//! inside the recorded range, and no panic on any loss or any slices.

use onecycle_core::finder::{
    suggest, suggest_all, window, Method, RangeTestConfig, Status, StopReason, Sweep,
};
use proptest::prelude::*;

fn sweep() -> impl Strategy<Value = Sweep> {
    prop_oneof![Just(Sweep::Exponential), Just(Sweep::Linear)]
}

/// Valid configs: start in [1e-8, 1], end 10^0.01 .. 10^10 times larger.
fn config() -> impl Strategy<Value = RangeTestConfig<f64>> {
    (
        -8.0f64..0.0,
        0.01f64..10.0,
        1u32..=200,
        sweep(),
        0.0f64..0.999,
        1.01f64..100.0,
    )
        .prop_map(
            |(start_exp, decades, num_steps, sweep, smoothing, diverge_factor)| {
                let start_lr = 10f64.powf(start_exp);
                RangeTestConfig {
                    start_lr,
                    end_lr: start_lr * 10f64.powf(decades),
                    num_steps,
                    sweep,
                    smoothing,
                    diverge_factor,
                }
            },
        )
}

/// Any f64 at all (NaN, ±∞, subnormals, huge) or, more often, an ordinary loss.
fn loss() -> impl Strategy<Value = f64> {
    prop_oneof![3 => 0.0f64..10.0, 1 => any::<f64>()]
}

mod finder {
    use super::*;

    proptest! {
        #[test]
        fn sweep_is_monotone_and_within_range(c in config()) {
            let mut prev = c.lr_at(0);
            prop_assert_eq!(prev, c.start_lr);
            for i in 1..=c.num_steps + 2 {
                let lr = c.lr_at(i);
                prop_assert!(lr >= prev, "step {}: {} < {}", i, lr, prev);
                prop_assert!(lr >= c.start_lr && lr <= c.end_lr);
                prev = lr;
            }
            prop_assert_eq!(c.lr_at(c.num_steps), c.end_lr);
        }

        #[test]
        fn range_test_never_panics_and_keeps_its_invariants(
            c in config(),
            losses in prop::collection::vec(loss(), 0..260),
        ) {
            let mut t = c.build::<200>().unwrap();
            let mut seen_min = f64::INFINITY;
            let mut seen_max = f64::NEG_INFINITY;
            for &l in &losses {
                let was_done = t.is_done();
                let before = t.history().len();
                let status = t.record(l);
                if was_done {
                    prop_assert_eq!(t.history().len(), before);
                    continue;
                }
                match status {
                    Status::Continue { next_lr } => {
                        prop_assert_eq!(next_lr, t.lr());
                        prop_assert!(!t.is_done());
                    }
                    Status::Done(r) => prop_assert_eq!(t.stop_reason(), Some(r)),
                }
                if t.history().len() > before {
                    seen_min = seen_min.min(l);
                    seen_max = seen_max.max(l);
                    let p = t.history()[before];
                    // The debiased EMA is a weighted mean of the losses so far.
                    let slack = 1e-9 * seen_min.abs().max(seen_max.abs());
                    prop_assert!(p.loss >= seen_min - slack && p.loss <= seen_max + slack,
                        "{} outside [{}, {}]", p.loss, seen_min, seen_max);
                }
            }
            let h = t.history();
            prop_assert_eq!(h.len(), t.step() as usize);
            prop_assert!(h.len() <= c.num_steps as usize);
            prop_assert!(h.iter().all(|p| p.lr.is_finite() && p.loss.is_finite() && p.raw_loss.is_finite()));
            prop_assert!(h.windows(2).all(|w| w[0].lr <= w[1].lr));
            if t.stop_reason() == Some(StopReason::Completed) {
                prop_assert_eq!(h.len(), c.num_steps as usize);
            }
            prop_assert_ne!(t.stop_reason(), Some(StopReason::HistoryFull));
            let (lo, hi) = (c.start_lr, c.end_lr);
            for m in Method::ALL {
                if let Ok(s) = t.suggest(m) {
                    let w = window(h.len(), c.num_steps as usize);
                    prop_assert!(w.contains(&s.index), "{}: {} not in {:?}", m, s.index, w);
                    let at = h[s.index];
                    prop_assert_eq!(s.loss, at.loss);
                    if m == Method::Minimum {
                        prop_assert_eq!(s.lr, at.lr / 10.0);
                        prop_assert!(h[w].iter().all(|p| p.loss >= at.loss));
                    } else {
                        prop_assert_eq!(s.lr, at.lr);
                        prop_assert!(s.lr >= lo && s.lr <= hi);
                    }
                }
            }
            if let Ok(all) = t.suggestions() {
                for m in Method::ALL {
                    prop_assert_eq!(all.get(m), t.suggest(m).unwrap().lr);
                }
            }
        }

        #[test]
        fn f32_range_test_never_panics(
            losses in prop::collection::vec(any::<f32>(), 0..120),
            smoothing in 0.0f32..0.999,
        ) {
            let mut t = RangeTestConfig::<f32> { smoothing, ..Default::default() }
                .build::<100>()
                .unwrap();
            for &l in &losses {
                t.record(l);
            }
            prop_assert!(t.history().iter().all(|p| p.loss.is_finite()));
            let _ = t.suggestions();
        }

        #[test]
        fn suggest_on_any_slices_never_panics(
            lrs in prop::collection::vec(prop_oneof![3 => 1e-8f64..10.0, 1 => any::<f64>()], 0..80),
            losses in prop::collection::vec(loss(), 0..80),
            num_steps in 0usize..200,
        ) {
            for m in Method::ALL {
                if let Ok(s) = suggest(&lrs, &losses, num_steps, m) {
                    prop_assert!(window(lrs.len(), num_steps).contains(&s.index));
                    let lr = if m == Method::Minimum { lrs[s.index] / 10.0 } else { lrs[s.index] };
                    prop_assert_eq!(s.lr, lr);
                }
            }
            let _ = suggest_all(&lrs, &losses, num_steps);
        }

        #[test]
        fn suggestions_lie_on_sorted_curves(
            mut lrs in prop::collection::vec(1e-8f64..10.0, 30..120),
            losses_seed in prop::collection::vec(0.0f64..5.0, 120),
        ) {
            lrs.sort_by(f64::total_cmp);
            lrs.dedup();
            prop_assume!(lrs.len() >= 30);
            let losses = &losses_seed[..lrs.len()];
            // num_steps = len ≥ 30: window len/10 .. len − 5 keeps ≥ 22 points, enough for all.
            let all = suggest_all(&lrs, losses, lrs.len());
            prop_assert!(all.is_ok(), "{:?}", all);
            if let Ok(all) = all {
                let (lo, hi) = (lrs[0], lrs[lrs.len() - 1]);
                for m in [Method::Valley, Method::Slide, Method::Steep] {
                    prop_assert!(all.get(m) >= lo && all.get(m) <= hi);
                }
                prop_assert!(all.minimum >= lo / 10.0 && all.minimum <= hi / 10.0);
            }
        }
    }
}
