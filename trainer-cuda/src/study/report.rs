//! The scored study's types: targets, tuning trials, winners, epochs to target,
//! accuracies per budget, speed-ups, and the [`StudyReport`] that holds them with every
//! run; and the report's lookups into its runs. [`mod@crate::study::score`] fills it in,
//! `markdown`, `charts` and `files` read it.

use serde::Serialize;

use crate::study::reference::{Ratios, ReferenceComparison, ReferenceScore};
use crate::study::score::Spread;
use crate::study::store::RangeRecord;
use crate::study::{Family, Regime, StudyRun};

/// A quality target, fixed by its rule before the runs are scored.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// `a`, `b` or `c`.
    pub name: String,
    /// The rule that set it.
    pub rule: String,
    /// Validation accuracy to reach.
    pub acc: f64,
}

/// One grid trial (seed 0).
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    /// Family.
    pub family: Family,
    /// Learning rate tried.
    pub lr: f64,
    /// Budget it was tried at (epochs).
    pub budget: f64,
    /// Final validation accuracy.
    pub val_acc: f64,
}

/// A tuned family's lr.
#[derive(Clone, Debug, Serialize)]
pub struct Winner {
    /// Family.
    pub family: Family,
    /// The winning lr.
    pub lr: f64,
    /// Whether it is the smallest or largest grid point (the optimum may lie outside).
    pub on_grid_edge: bool,
}

/// Epochs to one target of one family.
#[derive(Clone, Debug, Serialize)]
pub struct TargetScore {
    /// The target's name.
    pub target: String,
    /// Per seed, in seed order (`null` = missed).
    pub per_seed: Vec<f64>,
    /// Median [min-max] over seeds.
    pub spread: Spread,
}

/// Final accuracies of one family at one budget.
#[derive(Clone, Debug, Serialize)]
pub struct BudgetScore {
    /// Budget (epochs).
    pub budget: f64,
    /// Validation accuracy over seeds (the constant lr: read off its curve).
    pub val: Spread,
    /// Test accuracy over seeds (the constant lr: only at its own, longest budget).
    pub test: Option<Spread>,
    /// Seeds with a value at this budget (fewer than the regime's where a ladder stopped
    /// climbing once it had reached every target).
    pub seeds_run: usize,
}

/// One family's scores.
#[derive(Clone, Debug, Serialize)]
pub struct FamilyScore {
    /// Family.
    pub family: Family,
    /// Learning rate (the finder: per seed, so the median).
    pub lr: f64,
    /// Epochs to each target.
    pub epochs_to_target: Vec<TargetScore>,
    /// Final accuracies per budget.
    pub per_budget: Vec<BudgetScore>,
}

/// A speed-up of a 1cycle variant over a baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Speedup {
    /// The 1cycle variant.
    pub onecycle: Family,
    /// The baseline (the tuned constant lr, or the fastest budget-aware one).
    pub against: Family,
    /// Why that baseline: `best constant` or `fastest budget-aware`.
    pub role: String,
    /// The target's name.
    pub target: String,
    /// Baseline median epochs / 1cycle median epochs (`null` when 1cycle misses).
    pub ratio_of_medians: f64,
    /// Per seed, the same ratio (`null` when 1cycle misses on that seed).
    pub per_seed: Vec<f64>,
    /// Median [min-max] of the per-seed ratios.
    pub spread: Spread,
}

/// A sensitivity trial of the finder (seed 0, the tuning budget).
#[derive(Clone, Debug, Serialize)]
pub struct SensitivityRow {
    /// Multiple of the range test's `auto` lr.
    pub multiple: f64,
    /// The lr.
    pub lr: f64,
    /// Final validation accuracy.
    pub val_acc: f64,
}

/// The scored study.
#[derive(Clone, Debug, Serialize)]
pub struct StudyReport {
    /// The regime.
    pub regime: Regime,
    /// Model, optimiser, batch size, weight decay and preset, in words.
    pub setup: String,
    /// The device.
    pub device: String,
    /// The lr grid.
    pub grid: Vec<f64>,
    /// Wall time of this invocation (seconds; runs kept from the store cost nothing).
    pub wall_seconds: f64,
    /// Runs trained by this invocation.
    pub trained: usize,
    /// Runs kept from the store.
    pub reused: usize,
    /// Training seconds recorded by all the study's runs, whichever invocation trained
    /// them (the study's cost; `wall_seconds` is only this invocation's).
    pub recorded_train_seconds: f64,
    /// The targets.
    pub targets: Vec<Target>,
    /// The grid trials.
    pub tuning: Vec<Trial>,
    /// The tuned lrs.
    pub winners: Vec<Winner>,
    /// The range tests (one per seed).
    pub ranges: Vec<RangeRecord>,
    /// The finder's sensitivity row.
    pub sensitivity: Vec<SensitivityRow>,
    /// Per-family scores.
    pub scores: Vec<FamilyScore>,
    /// Speed-ups of the 1cycle variants.
    pub speedups: Vec<Speedup>,
    /// The families whose ladders ran, in table order.
    pub families: Vec<Family>,
    /// Reference mode: the first reference, its target R and its per-seed first hits.
    pub reference: Option<ReferenceScore>,
    /// Reference mode: budget, strict and budget-aware ratios of 1cycle at R.
    pub ratios: Option<Ratios>,
    /// Reference mode: the same ratios at the looser target.
    pub ratios_looser: Option<Ratios>,
    /// Further references (e.g. the constant lr at the same budget), each with its own
    /// target and ratios.
    pub second_references: Vec<ReferenceComparison>,
    /// Every ladder run, with the command that reproduces it.
    pub runs: Vec<StudyRun>,
    /// Every reference run (each reference on each seed), with its command.
    pub reference_runs: Vec<StudyRun>,
}

/// Validation accuracy of a constant-lr curve after `budget` epochs (its last evaluation
/// at or before it).
fn curve_at(curve: &[(f64, f64)], budget: f64) -> f64 {
    curve
        .iter()
        .take_while(|(e, _)| *e <= budget + 1e-9)
        .last()
        .map_or(f64::NAN, |(_, a)| *a)
}

impl StudyReport {
    /// The ladder runs of `family` on `seed`, in the order run.
    pub(crate) fn runs_of(&self, family: Family, seed: u64) -> impl Iterator<Item = &StudyRun> {
        self.runs
            .iter()
            .filter(move |r| r.family == family && r.seed == seed)
    }

    /// The regime's seeds, `0..seeds`.
    pub(crate) fn seeds(&self) -> Vec<u64> {
        (0..u64::from(self.regime.seeds)).collect()
    }

    /// Final validation accuracy of `family` on `seed` after `budget` epochs.
    pub fn val_at(&self, family: Family, seed: u64, budget: f64) -> f64 {
        if family.budget_aware() {
            self.runs_of(family, seed)
                .find(|r| r.budget == budget)
                .map_or(f64::NAN, |r| r.record.final_val_acc)
        } else {
            self.runs_of(family, seed)
                .next()
                .map_or(f64::NAN, |r| curve_at(&r.record.curve, budget))
        }
    }
}
