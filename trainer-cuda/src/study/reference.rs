//! Reference mode: a standard schedule at its own, long budget, the target it sets, and
//! the three ratios of 1cycle against it (Smith's, MLPerf's and Li et al.'s questions).
//!
//! - **budget ratio** = reference budget / 1cycle epochs to R (Smith & Topin's measure);
//! - **strict ratio** = the reference's first evaluation at or above R / 1cycle epochs
//!   to R (MLPerf's: read along the reference's own validation curve);
//! - **budget-aware ratio** = linear decay's epochs to R (re-planned and run at every
//!   rung, tuned like 1cycle) / 1cycle epochs to R (Li et al., ICLR 2020).
//!
//! Each is reported as a ratio of medians over seeds and per seed (paired by seed), with
//! the smallest and largest per-seed value. A miss counts as infinitely many epochs: a
//! seed on which 1cycle misses has ratio 0, a seed on which only the other side misses
//! has ratio ∞, and a seed on which both miss has no ratio (left out of min and max).
//!
//! This module holds reference mode's types: the reference as given (`step@16`), what
//! was measured of it, and its scores; [`score::reference`](crate::study::score::reference)
//! computes them, the study's Markdown and plots show them.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::study::show::show_epochs;
use crate::study::{Family, StudyRun};

/// A reference schedule at its own budget, e.g. `step@16`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Reference {
    /// Its family (`step`, `constant`, `linear` or `cosine`).
    pub family: Family,
    /// Its budget in epochs.
    pub budget: f64,
}

impl Reference {
    /// The default reference of a ladder whose longest rung is `longest` epochs: step decay
    /// at twice that, so that 1cycle can reach its accuracy within half its budget.
    ///
    /// ```
    /// use trainer_cuda::study::reference::Reference;
    /// assert_eq!(Reference::twice(4.0).to_string(), "step@8");
    /// ```
    pub fn twice(longest: f64) -> Self {
        Self {
            family: Family::Step,
            budget: 2.0 * longest,
        }
    }
}

impl FromStr for Reference {
    type Err = String;

    /// Parses `family@epochs`.
    ///
    /// ```
    /// use trainer_cuda::study::reference::Reference;
    /// use trainer_cuda::study::Family;
    /// let r: Reference = "step@16".parse().unwrap();
    /// assert_eq!((r.family, r.budget), (Family::Step, 16.0));
    /// assert!("1cycle@16".parse::<Reference>().is_err());
    /// assert!("step".parse::<Reference>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let usage =
            "give FAMILY@EPOCHS with FAMILY one of step, constant, linear, cosine, e.g. step@16";
        let (name, budget) = s
            .split_once('@')
            .ok_or_else(|| format!("reference `{s}` has no budget: {usage}"))?;
        let family = match name.trim() {
            "step" => Family::Step,
            "constant" => Family::Constant,
            "linear" => Family::Linear,
            "cosine" => Family::Cosine,
            other => return Err(format!("`{other}` is not a reference schedule: {usage}")),
        };
        let budget: f64 = budget
            .trim()
            .parse()
            .map_err(|_| format!("reference budget `{budget}` is not a number: {usage}"))?;
        if !(budget.is_finite() && budget > 0.0) {
            return Err(format!(
                "reference budget {budget} is not a positive number of epochs: {usage}"
            ));
        }
        Ok(Self { family, budget })
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.family.name(), show_epochs(self.budget))
    }
}

/// What the study measured of one reference: its tuning and its run on every seed.
#[derive(Clone, Debug)]
pub struct ReferenceMeasured {
    /// The reference.
    pub reference: Reference,
    /// Its grid winner.
    pub lr: f64,
    /// Its grid trials on seed 0: `(lr, final validation accuracy)`.
    pub tuning: Vec<(f64, f64)>,
    /// Its run at the winner on every seed, in seed order.
    pub runs: Vec<StudyRun>,
}

/// A ratio as a ratio of medians, with the per-seed ratios and their extremes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatioStats {
    /// Median of the numerators over median of the denominators.
    pub median: f64,
    /// Smallest per-seed ratio (NaN ratios left out).
    pub min: f64,
    /// Largest per-seed ratio.
    pub max: f64,
    /// Per seed, paired by seed.
    pub per_seed: Vec<f64>,
}

/// The three ratios at one target, with the epochs and seconds they come from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ratios {
    /// The target (validation accuracy fraction).
    pub target: f64,
    /// Reference budget / 1cycle epochs to the target.
    pub budget: RatioStats,
    /// The reference's first evaluation at the target / 1cycle epochs to it.
    pub strict: RatioStats,
    /// Linear decay's epochs to the target / 1cycle's (NaN when linear did not run).
    pub budget_aware: RatioStats,
    /// 1cycle's epochs to the target, per seed.
    pub onecycle_epochs: Vec<f64>,
    /// The reference's first evaluation at the target, per seed (epochs).
    pub reference_epochs: Vec<f64>,
    /// Linear decay's epochs to the target, per seed (empty when it did not run).
    pub linear_epochs: Vec<f64>,
    /// Training seconds of 1cycle to the target: the whole run at the first rung that
    /// reaches it, per seed (∞ for a miss).
    pub onecycle_seconds: Vec<f64>,
    /// Training seconds of the reference to its first evaluation at the target, per seed:
    /// its run's training seconds prorated to that epoch (∞ for a miss).
    pub reference_seconds: Vec<f64>,
}

/// The reference's score at one target, and the three ratios against it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferenceScore {
    /// Family.
    pub family: Family,
    /// Budget in epochs.
    pub budget_epochs: f64,
    /// Its grid winner (seed 0, at its own budget, the same edge rule as every family).
    pub lr: f64,
    /// Whether the winner still sits on an edge of the (extended) grid.
    pub on_grid_edge: bool,
    /// Grid trials on seed 0: `(lr, final validation accuracy)`.
    pub tuning: Vec<(f64, f64)>,
    /// Target R: lower median over seeds of its final validation accuracy.
    pub target: f64,
    /// The looser target, R lowered by the study's `looser_by`.
    pub looser_target: f64,
    /// Final validation accuracy per seed.
    pub final_val_acc: Vec<f64>,
    /// Final test accuracy per seed (reported, never used to choose).
    pub final_test_acc: Vec<f64>,
    /// First evaluation at or above R, per seed (epochs; ∞ for a miss).
    pub first_hit: Vec<f64>,
    /// First evaluation at or above the looser target, per seed.
    pub first_hit_looser: Vec<f64>,
}

/// One reference with the ratios of 1cycle against it, at R and at the looser target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReferenceComparison {
    /// The reference.
    pub reference: ReferenceScore,
    /// The three ratios at R.
    pub ratios: Ratios,
    /// The three ratios at the looser target.
    pub ratios_looser: Ratios,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_bad_ones_name_the_fix() {
        let r: Reference = " constant@128 ".trim().parse().unwrap();
        assert_eq!((r.family, r.budget), (Family::Constant, 128.0));
        assert_eq!(r.to_string(), "constant@128");
        for bad in ["step@0", "step@-1", "step@x", "step@inf", "1cycle@8", "@8"] {
            let e = bad.parse::<Reference>().unwrap_err();
            assert!(e.contains("e.g. step@16"), "{bad}: {e}");
        }
    }
}
