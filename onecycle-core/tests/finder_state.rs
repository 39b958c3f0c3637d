//! The range-test state machine: sweep values, smoothing, stop rules, and every config error.

use onecycle_core::finder::{
    FinderError, Method, Point, RangeTest, RangeTestConfig, Status, StopReason, Sweep,
};

/// Values computed by `pow`/division chains: a few ulps.
const REL_TOL: f64 = 1e-14;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= REL_TOL * b.abs()
}

fn cfg(num_steps: u32) -> RangeTestConfig<f64> {
    RangeTestConfig {
        num_steps,
        ..Default::default()
    }
}

/// Records `losses`, returning the last status.
fn feed<const N: usize>(test: &mut RangeTest<f64, N>, losses: &[f64]) -> Status<f64> {
    let mut last = Status::Continue { next_lr: test.lr() };
    for &l in losses {
        last = test.record(l);
    }
    last
}

mod finder {
    use super::*;

    #[test]
    fn defaults_are_fastais() {
        let c = RangeTestConfig::<f64>::default();
        assert_eq!(
            (
                c.start_lr,
                c.end_lr,
                c.num_steps,
                c.sweep,
                c.smoothing,
                c.diverge_factor
            ),
            (1e-7, 10.0, 100, Sweep::Exponential, 0.98, 4.0)
        );
        let c32 = RangeTestConfig::<f32>::default();
        assert_eq!((c32.start_lr, c32.smoothing), (1e-7f32, 0.98f32));
    }

    #[test]
    fn exponential_sweep_values() {
        // 1e-4 · (1 / 1e-4)^(i/4) = 1e-4, 1e-3, 1e-2, 1e-1; then end_lr.
        let c = RangeTestConfig {
            start_lr: 1e-4,
            end_lr: 1.0,
            ..cfg(4)
        };
        let expected = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1.0];
        for (i, &e) in expected.iter().enumerate() {
            assert!(
                close(c.lr_at(i as u32), e),
                "step {i}: {}",
                c.lr_at(i as u32)
            );
        }
        assert_eq!(c.lr_at(0), 1e-4, "the first step is start_lr exactly");
        // Default: step 50 of 100 is the geometric middle of 1e-7..10: 1e-7 · 1e8^0.5 = 1e-3.
        assert!(close(cfg(100).lr_at(50), 1e-3));
        assert!(close(cfg(100).lr_at(99), 1e-7 * 1e8f64.powf(0.99)));
    }

    #[test]
    fn linear_sweep_values() {
        // 0.1 + (1.1 − 0.1) · i/4 = 0.1, 0.35, 0.6, 0.85
        let c = RangeTestConfig {
            start_lr: 0.1,
            end_lr: 1.1,
            sweep: Sweep::Linear,
            ..cfg(4)
        };
        for (i, e) in [0.1, 0.35, 0.6, 0.85, 1.1].into_iter().enumerate() {
            assert!(
                close(c.lr_at(i as u32), e),
                "step {i}: {}",
                c.lr_at(i as u32)
            );
        }
    }

    #[test]
    fn record_reports_the_next_lr_and_records_the_used_one() {
        let c = RangeTestConfig {
            start_lr: 1e-4,
            end_lr: 1.0,
            ..cfg(4)
        };
        let mut t = c.build::<4>().unwrap();
        assert_eq!((t.step(), t.lr()), (0, 1e-4));
        let Status::Continue { next_lr } = t.record(3.0) else {
            panic!("stopped")
        };
        assert_eq!(next_lr, t.lr());
        assert!(close(next_lr, 1e-3));
        assert_eq!(t.step(), 1);
        assert_eq!(
            t.history(),
            &[Point {
                lr: 1e-4,
                loss: 3.0,
                raw_loss: 3.0
            }]
        );
    }

    #[test]
    fn smoothing_hand_worked_values() {
        // β = 0.98, losses 2, 1, 4:
        //  k=1: avg = 0.02·2 = 0.04;             /(1 − 0.98)   = 2 (exactly: the first loss)
        //  k=2: avg = 0.98·0.04 + 0.02·1 = 0.0592; /(1 − 0.9604) = 0.0592/0.0396 = 148/99
        //  k=3: avg = 0.98·0.0592 + 0.02·4 = 0.138016; /(1 − 0.941192) = 17252/7351
        let mut t = cfg(10).build::<10>().unwrap();
        feed(&mut t, &[2.0, 1.0, 4.0]);
        let s: Vec<f64> = t.history().iter().map(|p| p.loss).collect();
        assert_eq!(s[0], 2.0);
        assert!(close(s[1], 148.0 / 99.0), "{}", s[1]);
        assert!(close(s[2], 17252.0 / 7351.0), "{}", s[2]);
        assert_eq!(t.best_loss(), Some(s[1]));
        let raw: Vec<f64> = t.history().iter().map(|p| p.raw_loss).collect();
        assert_eq!(raw, [2.0, 1.0, 4.0]);
    }

    #[test]
    fn first_smoothed_loss_is_the_first_loss_exactly() {
        for loss in [0.1, 1.0 / 3.0, 2.718_3e-3, 1e-30, 7e20, -0.7] {
            for beta in [0.0, 0.5, 0.9, 0.98, 0.999_999] {
                let mut t = RangeTestConfig {
                    smoothing: beta,
                    ..cfg(10)
                }
                .build::<10>()
                .unwrap();
                t.record(loss);
                assert_eq!(t.history()[0].loss, loss, "β={beta}");
            }
        }
    }

    #[test]
    fn zero_smoothing_records_raw_losses() {
        let mut t = RangeTestConfig {
            smoothing: 0.0,
            ..cfg(10)
        }
        .build::<10>()
        .unwrap();
        feed(&mut t, &[3.0, 1.25, 2.5, 0.1]);
        assert!(t.history().iter().all(|p| p.loss == p.raw_loss));
    }

    #[test]
    fn diverges_at_the_exact_step() {
        // β = 0, factor 4: best 0.5 → threshold 2.0. 2.0 is not above it; 2.1 is (5th step).
        let mut t = RangeTestConfig {
            smoothing: 0.0,
            ..cfg(100)
        }
        .build::<100>()
        .unwrap();
        let statuses: Vec<_> = [1.0, 0.5, 1.9, 2.0, 2.1]
            .iter()
            .map(|&l| t.record(l))
            .collect();
        assert!(statuses[..4]
            .iter()
            .all(|s| matches!(s, Status::Continue { .. })));
        assert_eq!(statuses[4], Status::Done(StopReason::Diverged));
        assert_eq!(
            (t.step(), t.history().len()),
            (5, 5),
            "the diverged step is recorded"
        );
        assert_eq!(t.stop_reason(), Some(StopReason::Diverged));
    }

    #[test]
    fn divergence_reads_the_smoothed_loss() {
        // β = 0.98, losses 1, 1, 1, x. Weights of the 4th smoothed value: 0.98³, 0.98², 0.98, 1
        // (sum 3.881592). x = 10: (2.881592 + 10) / 3.881592 = 3.3186 < 4 → continue;
        // x = 1000: (2.881592 + 1000) / 3.881592 = 258.37 > 4 → diverged at step 4.
        let mut t = cfg(100).build::<100>().unwrap();
        assert!(matches!(
            feed(&mut t, &[1.0, 1.0, 1.0, 10.0]),
            Status::Continue { .. }
        ));
        assert!(close(t.history()[3].loss, 12.881592 / 3.881592));
        let mut t = cfg(100).build::<100>().unwrap();
        assert_eq!(
            feed(&mut t, &[1.0, 1.0, 1.0, 1000.0]),
            Status::Done(StopReason::Diverged)
        );
        assert_eq!(t.step(), 4);
        assert!(close(t.history()[3].loss, 1002.881592 / 3.881592));
    }

    #[test]
    fn infinite_factor_never_diverges_and_negative_losses_diverge_at_once() {
        let mut t = RangeTestConfig {
            diverge_factor: f64::INFINITY,
            smoothing: 0.0,
            ..cfg(3)
        }
        .build::<3>()
        .unwrap();
        assert_eq!(
            feed(&mut t, &[1.0, 1e6, 1e300]),
            Status::Done(StopReason::Completed)
        );
        // Documented caveat shared with fastai: with a negative best loss, factor × best is
        // below it, so the first step already "diverges".
        let mut t = cfg(3).build::<3>().unwrap();
        assert_eq!(t.record(-1.0), Status::Done(StopReason::Diverged));
    }

    #[test]
    fn non_finite_loss_stops_without_recording() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut t = cfg(10).build::<10>().unwrap();
            t.record(1.0);
            assert_eq!(t.record(bad), Status::Done(StopReason::NonFiniteLoss));
            assert_eq!((t.step(), t.history().len()), (1, 1));
            assert!(t.is_done());
        }
        // A finite loss whose smoothed value overflows stops the same way.
        let mut t = RangeTestConfig {
            smoothing: 0.5,
            diverge_factor: f64::INFINITY,
            ..cfg(10)
        }
        .build::<10>()
        .unwrap();
        t.record(1e308);
        assert_eq!(t.record(-1e308), Status::Done(StopReason::NonFiniteLoss));
        assert_eq!(t.history().len(), 1);
    }

    #[test]
    fn completes_after_num_steps_and_fills_the_history_exactly() {
        let mut t = cfg(3).build::<3>().unwrap();
        assert!(matches!(t.record(3.0), Status::Continue { .. }));
        assert!(matches!(t.record(2.9), Status::Continue { .. }));
        assert_eq!(t.record(2.8), Status::Done(StopReason::Completed));
        assert_eq!(t.history().len(), 3);
        assert_eq!(t.lr(), 10.0, "past the sweep, lr() is end_lr");
    }

    #[test]
    fn record_after_done_changes_nothing() {
        for (losses, reason) in [
            (&[3.0, 2.9, 2.8][..], StopReason::Completed),
            (&[1.0, 100.0][..], StopReason::Diverged),
            (&[1.0, f64::NAN][..], StopReason::NonFiniteLoss),
        ] {
            let mut t = cfg(3).build::<3>().unwrap();
            assert_eq!(feed(&mut t, losses), Status::Done(reason));
            let before = t.clone();
            for l in [0.5, f64::NAN, 1e9] {
                assert_eq!(t.record(l), Status::Done(reason));
            }
            assert_eq!(t, before);
        }
    }

    #[test]
    fn suggestions_from_a_short_run_are_typed_errors() {
        let mut t = cfg(100).build::<100>().unwrap();
        feed(&mut t, &[1.0; 12]);
        // window 10..7 → empty
        assert_eq!(
            t.suggest(Method::Minimum),
            Err(FinderError::TooFewPoints {
                method: Method::Minimum,
                needed: 1,
                have: 0
            })
        );
        assert!(t.suggestions().is_err());
        feed(&mut t, &[1.0; 10]); // 22 points: window 10..17, 7 points
        assert_eq!(
            t.suggest(Method::Minimum).unwrap().index,
            10,
            "ties: first point"
        );
        assert_eq!(
            t.suggest(Method::Slide),
            Err(FinderError::TooFewPoints {
                method: Method::Slide,
                needed: 16,
                have: 7
            })
        );
    }

    #[test]
    fn f32_runs_too() {
        let mut t = RangeTestConfig::<f32>::default().build::<100>().unwrap();
        while !t.is_done() {
            let x = t.lr().log10() + 3.0;
            t.record(1.0 + x * x * 0.1);
        }
        let s = t.suggestions().unwrap();
        assert!(s.valley > 1e-7 && s.valley < 10.0);
    }
}

mod finder_config_errors {
    use super::*;

    fn err(c: RangeTestConfig<f64>) -> FinderError {
        c.build::<100>().unwrap_err()
    }

    #[test]
    fn invalid_start_lr() {
        for v in [0.0, -1e-3, f64::NAN, f64::INFINITY] {
            let e = err(RangeTestConfig {
                start_lr: v,
                ..cfg(10)
            });
            assert!(
                matches!(e, FinderError::InvalidStartLr { start_lr } if start_lr.to_bits() == v.to_bits())
            );
            assert!(e.to_string().contains("start_lr"), "{e}");
        }
    }

    #[test]
    fn invalid_end_lr() {
        for (s, e) in [
            (1e-3, 1e-3),
            (1e-3, 1e-4),
            (1e-3, f64::NAN),
            (1e-3, f64::INFINITY),
            (1e-300, 1e300),
        ] {
            let got = err(RangeTestConfig {
                start_lr: s,
                end_lr: e,
                ..cfg(10)
            });
            assert!(
                matches!(got, FinderError::InvalidEndLr { .. }),
                "{s} {e}: {got:?}"
            );
            assert!(
                got.to_string()
                    .contains("end_lr must be finite and greater"),
                "{got}"
            );
        }
    }

    #[test]
    fn zero_steps() {
        let e = err(cfg(0));
        assert_eq!(e, FinderError::ZeroSteps);
        assert!(e.to_string().contains("num_steps is 0"));
    }

    #[test]
    fn invalid_smoothing() {
        for v in [-0.01, 1.0, 1.5, f64::NAN] {
            let e = err(RangeTestConfig {
                smoothing: v,
                ..cfg(10)
            });
            assert!(matches!(e, FinderError::InvalidSmoothing { .. }), "{v}");
            assert!(e.to_string().contains("[0, 1)"));
        }
        assert!(RangeTestConfig {
            smoothing: 0.0,
            ..cfg(10)
        }
        .build::<10>()
        .is_ok());
    }

    #[test]
    fn invalid_diverge_factor() {
        for v in [1.0, 0.5, -4.0, f64::NAN, f64::NEG_INFINITY] {
            let e = err(RangeTestConfig {
                diverge_factor: v,
                ..cfg(10)
            });
            assert!(matches!(e, FinderError::InvalidDivergeFactor { .. }), "{v}");
            assert!(e.to_string().contains("greater than 1"));
        }
    }

    #[test]
    fn capacity_too_small_names_both_numbers() {
        let e = cfg(101).build::<100>().unwrap_err();
        assert_eq!(
            e,
            FinderError::CapacityTooSmall {
                num_steps: 101,
                capacity: 100
            }
        );
        let msg = e.to_string();
        assert!(msg.contains("101") && msg.contains("100"), "{msg}");
        assert!(cfg(100).build::<100>().is_ok());
        assert!(cfg(1).build::<0>().is_err());
    }

    #[test]
    fn errors_are_std_errors() {
        fn takes(_: &dyn core::error::Error) {}
        takes(&FinderError::ZeroSteps);
        takes(&"x".parse::<Method>().unwrap_err());
    }
}
