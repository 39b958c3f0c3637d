//! Hand-worked suggestions on small curves, the window, and the curve errors.
//!
//! Every curve is read with `num_steps = 10`, so the window drops the first point
//! (10 / 10 = 1) and the last 5. Padding points hold losses that would change the answer if
//! the window were wrong. Each expected value was also checked against fastai 2.8.12's
//! functions on the windowed curve.

use onecycle_core::finder::{
    suggest, suggest_all, window, FinderError, Method, Suggestion, MAX_VALLEY_POINTS,
};

/// `[pad_lo] ++ window ++ [pad_hi; 5]`, with lrs 1, 2, 3, … (so `lr = index + 1`).
fn padded(window_losses: &[f64], pad_lo: f64, pad_hi: f64) -> (Vec<f64>, Vec<f64>) {
    let mut losses = vec![pad_lo];
    losses.extend_from_slice(window_losses);
    losses.extend([pad_hi; 5]);
    let lrs = (1..=losses.len()).map(|i| i as f64).collect();
    (lrs, losses)
}

mod finder {
    use super::*;

    #[test]
    fn window_is_fastais_slice() {
        // recorder[num_it//10 : -5]
        assert_eq!(window(100, 100), 10..95);
        assert_eq!(window(97, 100), 10..92);
        assert_eq!(window(20, 0), 0..15);
        assert_eq!(window(5, 0), 0..0);
        assert_eq!(window(3, 100), 10..10);
        assert_eq!(window(0, 0), 0..0);
    }

    #[test]
    fn minimum_is_a_tenth_of_the_lr_at_the_lowest_loss() {
        // Window losses [5, 3, 4, 2, 2] at full indices 1..=5 (lrs 2..=6); the pads (0.0) are
        // lower but outside the window. Lowest: 2 first at full index 4, lr 5 → 5 / 10 = 0.5.
        let (lrs, losses) = padded(&[5.0, 3.0, 4.0, 2.0, 2.0], 0.0, 0.0);
        let s = suggest(&lrs, &losses, 10, Method::Minimum).unwrap();
        assert_eq!(
            s,
            Suggestion {
                lr: 0.5,
                index: 4,
                loss: 2.0
            }
        );
    }

    #[test]
    fn steep_is_the_steepest_drop_per_log_lr() {
        // Same window, lrs 2..=6, losses 5, 3, 4, 2, 2. Slopes Δloss / Δln lr:
        //   2→3: −2 / ln 1.5  = −4.93
        //   3→4: +1 / ln 4/3  = +3.48
        //   4→5: −2 / ln 1.25 = −8.96   ← steepest (same Δloss as 2→3, shorter in log lr)
        //   5→6:  0
        // so the segment starting at lr 4 (full index 3).
        let (lrs, losses) = padded(&[5.0, 3.0, 4.0, 2.0, 2.0], 0.0, -100.0);
        let s = suggest(&lrs, &losses, 10, Method::Steep).unwrap();
        assert_eq!(
            s,
            Suggestion {
                lr: 4.0,
                index: 3,
                loss: 4.0
            }
        );
    }

    #[test]
    fn valley_is_early_in_the_longest_decreasing_run() {
        // Window losses [5, 6, 4, 3, 7, 2, 1, 8] (window indices 0..8, full = +1).
        //   lds = [1, 1, 2, 3, 1, 4, 5, 1]  (e.g. lds[6]: 1 < 2 whose lds is 4 → 5)
        //   longest L = 5, first reached at e = 6; s = e − L = 1
        //   idx = 1 + ⌊5/3⌋ + ⌊5/6⌋ = 1 + 1 + 0 = 2 → window 2 = full 3, lr 4, loss 4.
        let (lrs, losses) = padded(&[5.0, 6.0, 4.0, 3.0, 7.0, 2.0, 1.0, 8.0], 0.0, 0.0);
        let s = suggest(&lrs, &losses, 10, Method::Valley).unwrap();
        assert_eq!(
            s,
            Suggestion {
                lr: 4.0,
                index: 3,
                loss: 4.0
            }
        );
    }

    #[test]
    fn slide_stops_where_the_end_gradients_agree() {
        // 18 window points, loss 10 − 0.25·i for i ≤ 15, then 6.0, 6.75.
        // numpy gradient: −0.25 for i ≤ 15 (g15 = (6.0 − 6.5)/2), g16 = (6.75 − 6.25)/2 = 0.25,
        // g17 = 6.75 − 6.0 = 0.75.  r = 17, l = 2:
        //   |g17 − g2| = 1.0 > 0.005 → local = 2; r, l = 16, 1
        //   |g16 − g1| = 0.5 > 0.005 → local = 1; r, l = 15, 0
        //   |g15 − g0| = 0            → stop.   local = window 1 = full 2, lr 3, loss 9.75.
        let mut w: Vec<f64> = (0..16).map(|i| 10.0 - 0.25 * i as f64).collect();
        w.extend([6.0, 6.75]);
        let (lrs, losses) = padded(&w, 0.0, 0.0);
        let s = suggest(&lrs, &losses, 10, Method::Slide).unwrap();
        assert_eq!(
            s,
            Suggestion {
                lr: 3.0,
                index: 2,
                loss: 9.75
            }
        );
    }

    #[test]
    fn slide_on_a_straight_line_is_the_first_left_edge() {
        // Constant gradient: the first comparison already agrees, local = len − 16 = 0.
        let w: Vec<f64> = (0..16).map(|i| 10.0 - 0.25 * i as f64).collect();
        let (lrs, losses) = padded(&w, 0.0, 0.0);
        let s = suggest(&lrs, &losses, 10, Method::Slide).unwrap();
        assert_eq!(
            s,
            Suggestion {
                lr: 2.0,
                index: 1,
                loss: 10.0
            }
        );
    }

    #[test]
    fn slide_can_slide_to_the_first_point() {
        // Loss 0.01·i²: the gradient is 0.02·i inside, so edges 15 apart always differ by
        // 0.3 (or more at the one-sided ends) > 0.005 → local slides down to window 0.
        let w: Vec<f64> = (0..20).map(|i| 0.01 * f64::from(i * i)).collect();
        let (lrs, losses) = padded(&w, 0.0, 0.0);
        assert_eq!(suggest(&lrs, &losses, 10, Method::Slide).unwrap().index, 1);
    }

    #[test]
    fn suggest_all_agrees_with_suggest() {
        let w: Vec<f64> = (0..30)
            .map(|i| ((i as f64) - 12.0).powi(2) * 0.1 + 1.0)
            .collect();
        let (lrs, losses) = padded(&w, 0.0, 0.0);
        let all = suggest_all(&lrs, &losses, 10).unwrap();
        for m in Method::ALL {
            assert_eq!(all.get(m), suggest(&lrs, &losses, 10, m).unwrap().lr, "{m}");
        }
        // the bowl's bottom is window 12 = full 13, lr 14
        assert_eq!(all.minimum, 1.4);
    }

    #[test]
    fn non_finite_loss_cuts_the_window() {
        // Window [5, 3, NaN, 0, 0]: cut to [5, 3] → minimum at full 2 (lr 3).
        let (lrs, losses) = padded(&[5.0, 3.0, f64::NAN, 0.0, 0.0], 0.0, 0.0);
        let s = suggest(&lrs, &losses, 10, Method::Minimum).unwrap();
        assert_eq!((s.index, s.lr), (2, 0.3));
        let (lrs, losses) = padded(&[5.0, 3.0, f64::INFINITY, 0.0, 0.0], 0.0, 0.0);
        assert_eq!(
            suggest(&lrs, &losses, 10, Method::Minimum).unwrap().index,
            2
        );
        // Cut to one point: steep needs 2.
        let (lrs, losses) = padded(&[5.0, f64::NAN, 1.0], 0.0, 0.0);
        assert_eq!(
            suggest(&lrs, &losses, 10, Method::Steep),
            Err(FinderError::TooFewPoints {
                method: Method::Steep,
                needed: 2,
                have: 1
            })
        );
    }

    #[test]
    fn too_few_points_names_method_needed_and_have() {
        // 20 points, num_steps 100: window 10..15 → 5 points.
        let lrs: Vec<f64> = (1..=20).map(f64::from).collect();
        let losses = vec![1.0; 20];
        assert_eq!(
            suggest(&lrs, &losses, 100, Method::Slide),
            Err(FinderError::TooFewPoints {
                method: Method::Slide,
                needed: 16,
                have: 5
            })
        );
        assert!(suggest(&lrs, &losses, 100, Method::Valley).is_ok());
        // Empty window.
        assert_eq!(
            suggest(&lrs[..4], &losses[..4], 100, Method::Minimum),
            Err(FinderError::TooFewPoints {
                method: Method::Minimum,
                needed: 1,
                have: 0
            })
        );
        assert_eq!(
            suggest_all(&lrs, &losses, 100),
            Err(FinderError::TooFewPoints {
                method: Method::Slide,
                needed: 16,
                have: 5
            })
        );
        let e = FinderError::TooFewPoints {
            method: Method::Slide,
            needed: 16,
            have: 5,
        };
        let msg = e.to_string();
        assert!(
            msg.contains("slide") && msg.contains("16") && msg.contains('5'),
            "{msg}"
        );
    }

    #[test]
    fn curve_errors() {
        let lrs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let ok = [3.0, 2.0, 1.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(
            suggest(&lrs, &ok[..6], 0, Method::Minimum),
            Err(FinderError::LengthMismatch { lrs: 7, losses: 6 })
        );
        let mut bad = lrs;
        bad[1] = f64::INFINITY;
        assert_eq!(
            suggest(&bad, &ok, 0, Method::Minimum),
            Err(FinderError::NonFiniteInput {
                index: 1,
                value: f64::INFINITY
            })
        );
        bad[1] = -2.0;
        assert_eq!(
            suggest(&bad, &ok, 0, Method::Minimum),
            Err(FinderError::NonPositiveLr {
                index: 1,
                value: -2.0
            })
        );
        bad[1] = 1.0;
        assert_eq!(
            suggest(&bad, &ok, 0, Method::Minimum),
            Err(FinderError::LrsNotIncreasing { index: 1 })
        );
        // Problems outside the window are not looked at (fastai never reads them).
        bad = lrs;
        bad[6] = f64::NAN;
        assert!(suggest(&bad, &ok, 0, Method::Minimum).is_ok());
    }

    #[test]
    fn valley_on_slices_is_bounded_by_max_valley_points() {
        let n = MAX_VALLEY_POINTS + 1 + 5;
        let lrs: Vec<f64> = (1..=n).map(|i| i as f64).collect();
        let losses: Vec<f64> = (0..n).map(|i| -(i as f64)).collect();
        assert_eq!(
            suggest(&lrs, &losses, 0, Method::Valley),
            Err(FinderError::TooManyPoints {
                method: Method::Valley,
                max: MAX_VALLEY_POINTS,
                have: MAX_VALLEY_POINTS + 1
            })
        );
        // The O(1)-memory methods take any length.
        assert_eq!(
            suggest(&lrs, &losses, 0, Method::Minimum).unwrap().index,
            n - 6
        );
        // And exactly MAX works: strictly decreasing → L = n', e = n' − 1, s = −1,
        // idx = −1 + ⌊n'/3⌋ + ⌊n'/6⌋ with n' = 4096: −1 + 1365 + 682 = 2046.
        let s = suggest(&lrs[1..], &losses[1..], 0, Method::Valley).unwrap();
        assert_eq!(s.index, 2046);
    }

    #[test]
    fn method_names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>(), Ok(m));
            assert_eq!(m.to_string().to_uppercase().parse::<Method>(), Ok(m));
        }
        assert_eq!(Method::default(), Method::Valley);
        let e = "fastest".parse::<Method>().unwrap_err();
        assert!(e.to_string().contains("valley, slide, minimum, steep"));
        assert_eq!(
            Method::ALL.map(Method::min_points),
            [2, 16, 1, 2],
            "valley, slide, minimum, steep"
        );
    }
}
