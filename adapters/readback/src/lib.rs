//! Test and bench support for the onecycle adapters: the arithmetic that recovers the learning
//! rate an optimiser actually used from the weights it wrote, the tolerance f32 rounding allows,
//! and [`side_by_side`], the interleaved timing the overhead benches print.
//!
//! An update `w_{k+1} = w_k − lr_k·d_k` (for SGD `d_k` is the gradient or the velocity, for
//! Adam the bias-corrected direction) gives `lr_k` as the least-squares [`ratio`] of
//! `w_k − w_{k+1}` to `d_k`. The weights are stored in f32, so each element of the difference
//! carries up to half an ulp of `w` (2⁻²⁴·|w|) plus the f32 rounding of the update itself:
//! [`lr_tolerance`] bounds the recovered lr's relative error by
//! `4·2⁻²⁴·‖w‖ / ‖w_k − w_{k+1}‖ + 1e-5` — about 1e-5 while the lr is large, looser in the last
//! steps of an anneal, where an update is a few ulps of the weight. [`LrCheck`] also measures
//! the check's power: how many steps it could tell from their neighbours, so a test that reads
//! the schedule one step off fails.
//!
//! ```
//! use onecycle_readback::{lr_tolerance, ratio, sub};
//! let before = [1.0, 2.0];
//! let grad = [0.5, -1.0];
//! let after = [1.0 - 0.1 * 0.5, 2.0 + 0.1 * 1.0];
//! let lr = ratio(&sub(&before, &after), &grad);
//! assert!((lr / 0.1 - 1.0).abs() < lr_tolerance(&before, &after));
//! ```

/// Checks an adapter's range-test outcome for an exponential sweep from `start_lr` to `end_lr`
/// over 100 steps: it completed or stopped on the core's divergence rule, recorded more than 20
/// points, each point's lr is the sweep's at that step, and the suggestions lie inside the
/// swept range (fastai's `minimum`, the lowest-loss lr / 10, one decade lower).
///
/// # Panics
/// When any of that does not hold (the test fails with the reason).
pub fn assert_sweep(
    curve: &[onecycle_core::finder::Point<f64>],
    stop: onecycle_core::finder::StopReason,
    suggestions: &Result<onecycle_core::finder::Suggestions<f64>, onecycle_core::FinderError>,
    start_lr: f64,
    end_lr: f64,
) {
    use onecycle_core::finder::StopReason;
    match stop {
        StopReason::Completed => assert_eq!(curve.len(), 100),
        StopReason::Diverged | StopReason::NonFiniteLoss => assert!(curve.len() < 100),
        other => panic!("unexpected stop {other:?}"),
    }
    assert!(curve.len() > 20, "{} points", curve.len());
    for (i, p) in curve.iter().enumerate() {
        let expected = start_lr * (end_lr / start_lr).powf(i as f64 / 100.0);
        assert!(
            (p.lr / expected - 1.0).abs() < 1e-12,
            "point {i}: {} vs {expected}",
            p.lr
        );
    }
    let s = suggestions.as_ref().expect("curve long enough");
    let (lo, hi) = (curve[0].lr, curve[curve.len() - 1].lr);
    for (name, lr) in [("valley", s.valley), ("slide", s.slide), ("steep", s.steep)] {
        assert!(
            lr >= lo && lr <= hi,
            "{name} {lr:e} outside [{lo:e}, {hi:e}]"
        );
    }
    assert!(
        s.minimum >= lo / 10.0 && s.minimum <= hi / 10.0,
        "minimum {:e}",
        s.minimum
    );
}

/// The divergence edge of a sweep, checked against the curve it came from: a test stopped by
/// a blown-up loss has one, at a recorded lr past the lowest raw loss (or at the unrecorded
/// step after the last point, for a non-finite loss), and `auto` is it divided by `AUTO_DIVISOR`.
///
/// # Panics
/// When the edge is missing or off the curve.
pub fn assert_edge(
    curve: &[onecycle_core::finder::Point<f64>],
    stop: onecycle_core::finder::StopReason,
    edge: &Result<onecycle_core::finder::Edge<f64>, onecycle_core::FinderError>,
) {
    use onecycle_core::finder::StopReason;
    if stop == StopReason::Completed {
        return;
    }
    let e = edge
        .as_ref()
        .expect("a blown-up sweep has a divergence edge");
    let lowest = (0..curve.len())
        .min_by(|&i, &j| curve[i].raw_loss.total_cmp(&curve[j].raw_loss))
        .expect("points");
    assert!(
        e.index > lowest && e.index <= curve.len(),
        "{e:?}, lowest at {lowest}"
    );
    if let Some(p) = curve.get(e.index) {
        assert_eq!(e.lr, p.lr);
    }
    assert_eq!(e.auto, e.lr / onecycle_core::finder::AUTO_DIVISOR);
}

/// Several sweeps' edges combined by the core ([`onecycle_core::finder::consensus_of`]),
/// checked against the edges themselves: the median (the lower middle), `auto` = median /
/// `divisor`, spread = max / min. Returns the combination.
///
/// # Panics
/// When a sweep has no edge or the combination is off.
pub fn assert_consensus(
    edges: &[Result<onecycle_core::finder::Edge<f64>, onecycle_core::FinderError>],
    divisor: f64,
) -> onecycle_core::finder::Consensus<f64> {
    let c = onecycle_core::finder::consensus_of(edges.iter().copied(), divisor)
        .expect("every sweep has an edge");
    let mut lrs: Vec<f64> = edges.iter().map(|e| e.unwrap().lr).collect();
    lrs.sort_by(f64::total_cmp);
    let n = lrs.len();
    assert_eq!((c.edge, c.sweeps), (lrs[(n - 1) / 2], n));
    assert_eq!(c.auto, lrs[(n - 1) / 2] / divisor);
    assert_eq!(c.spread, lrs[n - 1] / lrs[0]);
    c
}

/// `argmin_c ‖a − c·b‖²`.
#[must_use]
pub fn ratio(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    num / den
}

/// `a − b`, element by element.
#[must_use]
pub fn sub(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x - y).collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// The relative error bound of an lr recovered from the f32 update `before − after` (see the
/// crate docs).
#[must_use]
pub fn lr_tolerance(before: &[f64], after: &[f64]) -> f64 {
    4.0 * f64::from(f32::EPSILON) / 2.0 * norm(before) / norm(&sub(before, after)) + 1e-5
}

/// Checks recovered lrs against the schedule's, step by step, and counts the steps the check
/// could tell from both neighbours (`resolved`).
#[derive(Debug, Default)]
pub struct LrCheck {
    worst: f64,
    resolved: usize,
    steps: usize,
}

impl LrCheck {
    /// A check that has seen no step.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Asserts that `used`, the lr recovered at step `k`, is `lr_at(k)` within `tol`
    /// (relative).
    ///
    /// # Panics
    /// When it is not: the test fails with the step and both values.
    pub fn check(
        &mut self,
        name: &str,
        k: usize,
        used: f64,
        lr_at: impl Fn(usize) -> f64,
        tol: f64,
    ) {
        let lr = lr_at(k);
        let err = (used / lr - 1.0).abs();
        assert!(
            err < tol,
            "step {k}: {name} used lr {used:e}, core {lr:e} (tolerance {tol:e})"
        );
        self.worst = self.worst.max(err / tol);
        self.steps += 1;
        let gap = |j: usize| (lr_at(j) / lr - 1.0).abs();
        if k > 0 && gap(k - 1) > 2.0 * tol && gap(k + 1) > 2.0 * tol {
            self.resolved += 1;
        }
    }

    /// Asserts the check had power: at least `share` of the steps were told from their
    /// neighbours. Prints the worst error as a share of its tolerance.
    ///
    /// # Panics
    /// When fewer steps were resolved.
    pub fn assert_power(&self, share: f64) {
        eprintln!(
            "lr: worst error {:.3} of the tolerance; {} of {} steps resolved",
            self.worst, self.resolved, self.steps
        );
        assert!(
            self.resolved as f64 >= share * self.steps as f64,
            "only {} of {} steps resolved",
            self.resolved,
            self.steps
        );
    }
}

/// Times `variants` side by side on a shared, noisy machine: `rounds` rounds, each running
/// every variant for `steps` consecutive calls (timed one by one), the order rotating from
/// round to round so no variant always follows the same one. Returns, per variant, its name
/// and the median seconds per call. Give the same code twice (an A/A pair) to see the noise
/// floor of the comparison.
pub fn side_by_side(
    variants: &mut [(&str, &mut dyn FnMut())],
    rounds: usize,
    steps: usize,
) -> Vec<(String, f64)> {
    let n = variants.len();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds * steps); n];
    for round in 0..rounds {
        for offset in 0..n {
            let v = (round + offset) % n;
            for _ in 0..steps {
                let start = std::time::Instant::now();
                (variants[v].1)();
                times[v].push(start.elapsed().as_secs_f64());
            }
        }
    }
    variants
        .iter()
        .zip(times)
        .map(|((name, _), mut t)| {
            t.sort_by(f64::total_cmp);
            ((*name).to_owned(), t[t.len() / 2])
        })
        .collect()
}

/// Prints [`side_by_side`]'s result as a table: median per call and ratio to the first variant.
pub fn print_side_by_side(title: &str, results: &[(String, f64)]) {
    println!(
        "\n{title}\n| variant | median per step | vs {} |\n|---|---|---|",
        results[0].0
    );
    for (name, t) in results {
        println!("| {name} | {:.1} µs | {:.3}× |", t * 1e6, t / results[0].1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_lr_one_step_off_is_caught() {
        let lr_at = |k: usize| 0.1 * 0.9f64.powi(k as i32);
        let before = [1.0, -1.0];
        let grad = [1.0, 2.0];
        let after: Vec<f64> = before
            .iter()
            .zip(grad)
            .map(|(w, g)| w - lr_at(4) * g)
            .collect();
        let used = ratio(&sub(&before, &after), &grad);
        let tol = lr_tolerance(&before, &after);
        let mut check = LrCheck::new();
        check.check("test", 4, used, lr_at, tol);
        check.assert_power(1.0);
        let off = std::panic::catch_unwind(|| LrCheck::new().check("test", 5, used, lr_at, tol));
        assert!(off.is_err(), "the lr of step 4 passed as step 5's");
    }

    #[test]
    fn side_by_side_runs_every_variant_rounds_times_steps() {
        let (mut a, mut b) = (0, 0);
        let results = side_by_side(&mut [("a", &mut || a += 1), ("b", &mut || b += 1)], 3, 4);
        assert_eq!((a, b), (12, 12));
        assert_eq!(
            results.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(results.iter().all(|r| r.1 >= 0.0));
    }
}
