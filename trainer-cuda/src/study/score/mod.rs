//! All of the study's scoring, MLPerf-style: epochs to a fixed target per seed, the
//! median over seeds with a miss counted as infinity, and speed-up ratios. This module
//! holds the pure functions of the measured accuracies; [`mod@report`] scores a study's
//! measurements into its [`StudyReport`](crate::study::StudyReport) (targets, epochs to
//! target, accuracies per budget, speed-ups), [`mod@reference`] scores reference mode
//! (target R, first hits, the three ratios).

pub mod reference;
pub mod report;

use serde::Serialize;

// Kept at their old path (`study::score::show_epochs`); they live in `study::show`.
pub use crate::study::show::{show_epochs, show_ratio, show_value};

/// Epochs to `target` of a budget-aware family on one seed: the smallest budget whose
/// final validation accuracy reaches it, infinity when none does.
///
/// ```
/// use trainer_cuda::study::score::epochs_to_target_budgeted;
/// let runs = [(0.5, 0.97), (1.0, 0.985), (2.0, 0.984), (4.0, 0.99)];
/// assert_eq!(epochs_to_target_budgeted(&runs, 0.98), 1.0);
/// assert_eq!(epochs_to_target_budgeted(&runs, 0.99), 4.0);
/// assert_eq!(epochs_to_target_budgeted(&runs, 0.995), f64::INFINITY);
/// ```
pub fn epochs_to_target_budgeted(runs: &[(f64, f64)], target: f64) -> f64 {
    runs.iter()
        .filter(|(_, acc)| *acc >= target)
        .map(|(budget, _)| *budget)
        .fold(f64::INFINITY, f64::min)
}

/// Epochs to `target` of a budget-free run: the first evaluation of its validation
/// curve `(epochs done, accuracy)` at or above it, infinity when none is.
///
/// ```
/// use trainer_cuda::study::score::epochs_to_target_curve;
/// let curve = [(0.25, 0.9), (0.5, 0.98), (0.75, 0.97), (1.0, 0.99)];
/// assert_eq!(epochs_to_target_curve(&curve, 0.98), 0.5);
/// assert_eq!(epochs_to_target_curve(&curve, 0.999), f64::INFINITY);
/// ```
pub fn epochs_to_target_curve(curve: &[(f64, f64)], target: f64) -> f64 {
    curve
        .iter()
        .find(|(_, acc)| *acc >= target)
        .map_or(f64::INFINITY, |(epoch, _)| *epoch)
}

/// The median, with infinities (misses) sorting last; for an even count, the mean of
/// the two middle values (infinite when either is). NaN for no values.
///
/// ```
/// use trainer_cuda::study::score::median;
/// let inf = f64::INFINITY;
/// assert_eq!(median(&[4.0, 1.0, 2.0]), 2.0);
/// assert_eq!(median(&[1.0, inf, 2.0]), 2.0);
/// assert_eq!(median(&[1.0, inf, inf]), inf);
/// assert_eq!(median(&[1.0, 3.0]), 2.0);
/// assert!(median(&[]).is_nan());
/// ```
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The lower median: the middle value, or the lower of the two middle values for an even
/// count, so that at least half of the values are at or above it. The targets use it:
/// with two seeds, the mean of the two would be missed by one seed of the very
/// reference that sets it. NaN for no values.
///
/// ```
/// use trainer_cuda::study::score::lower_median;
/// assert_eq!(lower_median(&[0.97, 0.96]), 0.96);
/// assert_eq!(lower_median(&[0.97, 0.95, 0.96]), 0.96);
/// assert!(lower_median(&[]).is_nan());
/// ```
pub fn lower_median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(f64::NAN)
}

/// A median with the smallest and largest value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Median (infinite, serialised as `null`, when most seeds miss).
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of `values` (all NaN for none).
    pub fn of(values: &[f64]) -> Self {
        Self {
            median: median(values),
            min: values.iter().copied().fold(f64::NAN, f64::min),
            max: values.iter().copied().fold(f64::NAN, f64::max),
        }
    }
}

/// A speed-up ratio: `baseline / onecycle` epochs to a target.
///
/// Infinite when only the baseline misses (1cycle reaches a target the baseline never
/// does within the ladder), NaN when 1cycle misses (no speed-up to claim).
///
/// ```
/// use trainer_cuda::study::score::ratio;
/// assert_eq!(ratio(8.0, 0.5), 16.0);
/// assert_eq!(ratio(f64::INFINITY, 1.0), f64::INFINITY);
/// assert!(ratio(4.0, f64::INFINITY).is_nan());
/// ```
pub fn ratio(baseline: f64, onecycle: f64) -> f64 {
    if onecycle.is_infinite() || onecycle.is_nan() || onecycle <= 0.0 {
        f64::NAN
    } else {
        baseline / onecycle
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_seeds_with_a_miss() {
        let s = Spread::of(&[2.0, f64::INFINITY, 1.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, f64::INFINITY));
        assert_eq!(s.show(show_epochs), "2 [1–∞]");
        assert_eq!(Spread::of(&[0.5, 0.5]).show(show_epochs), "0.5");
        // No value (e.g. a constant-lr curve not yet evaluated at a short budget).
        assert_eq!(Spread::of(&[f64::NAN]).show(show_epochs), "–");
    }

    #[test]
    fn budgeted_hit_ignores_order_of_the_ladder() {
        // A non-monotone ladder: the 2-epoch run misses although 1 epoch hits.
        let runs = [(2.0, 0.97), (1.0, 0.981), (4.0, 0.99)];
        assert_eq!(epochs_to_target_budgeted(&runs, 0.98), 1.0);
    }
}
