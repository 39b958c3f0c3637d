//! The study's plan, fixed before any run: the schedule families, the data regime with
//! its budget ladder and seeds, the setup every run shares, and the [`StudyConfig`] that
//! turns a (family, lr, budget, seed) into a run's config.

use std::path::PathBuf;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::data::DatasetName;
use crate::nn::DeviceKind;
use crate::nn::ModelKind;
use crate::study::reference::Reference;
use crate::train::config::{OptimizerName, RunConfig};
use crate::train::progress::Verbosity;
use crate::train::range_test::RangePlan;
use crate::train::schedule::{ScheduleKind, ScheduleSpec};
use onecycle_core::Preset;

/// Evaluations per epoch of the constant-lr run (its first hit is read off this curve).
pub const CONSTANT_EVALS_PER_EPOCH: u32 = 4;

/// Evaluations per epoch of a budget-aware run (scored by its final evaluation; the
/// others draw its curve).
pub const BUDGETED_EVALS_PER_EPOCH: u32 = 1;

/// The default lr grid: half-decades from 1e-2 to 1, the same for every family.
pub const DEFAULT_GRID: [f64; 5] = [1e-2, 3e-2, 0.1, 0.3, 1.0];

/// Multiples of the range test's `auto` lr in the finder's sensitivity row.
pub const SENSITIVITY: [f64; 4] = [0.25, 0.5, 2.0, 4.0];

/// The most seeds a study takes: each one trains every family at every budget
/// and is kept in the report, so the count bounds the study's memory.
pub const MAX_SEEDS: u32 = 1000;

/// How many points the grid may grow by, per family, when its winner sits on an edge.
pub const MAX_GRID_EXTENSIONS: usize = 2;

/// A schedule family of the study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// 1cycle, two phases, lr from the grid.
    #[serde(rename = "1cycle")]
    Onecycle,
    /// Smith's three-phase 1cycle, lr from the grid.
    #[serde(rename = "1cycle-3phase")]
    Onecycle3,
    /// 1cycle at the range test's `auto` lr (per seed).
    #[serde(rename = "1cycle-finder")]
    OnecycleFinder,
    /// Step decay.
    Step,
    /// Cosine decay.
    Cosine,
    /// Linear decay to zero.
    Linear,
    /// Constant lr (budget-free).
    Constant,
}

impl Family {
    /// Every family, in table order.
    pub const ALL: [Family; 7] = [
        Self::Onecycle,
        Self::Onecycle3,
        Self::OnecycleFinder,
        Self::Step,
        Self::Cosine,
        Self::Linear,
        Self::Constant,
    ];

    /// The families whose lr is tuned on the grid.
    pub const TUNED: [Family; 6] = [
        Self::Onecycle,
        Self::Onecycle3,
        Self::Step,
        Self::Cosine,
        Self::Linear,
        Self::Constant,
    ];

    /// The budget-aware baselines (target b, and the "fastest budget-aware" speed-up).
    pub const BASELINES: [Family; 3] = [Self::Step, Self::Cosine, Self::Linear];

    /// The 1cycle variants whose speed-ups are reported.
    pub const ONECYCLES: [Family; 3] = [Self::Onecycle, Self::Onecycle3, Self::OnecycleFinder];

    /// Name in tables, plots and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Onecycle => "1cycle",
            Self::Onecycle3 => "1cycle-3phase",
            Self::OnecycleFinder => "1cycle-finder",
            Self::Step => "step",
            Self::Cosine => "cosine",
            Self::Linear => "linear",
            Self::Constant => "constant",
        }
    }

    /// The trainer schedule and whether it has three phases.
    pub fn schedule(self) -> (ScheduleKind, bool) {
        match self {
            Self::Onecycle | Self::OnecycleFinder => (ScheduleKind::Onecycle, false),
            Self::Onecycle3 => (ScheduleKind::Onecycle, true),
            Self::Step => (ScheduleKind::Step, false),
            Self::Cosine => (ScheduleKind::Cosine, false),
            Self::Linear => (ScheduleKind::Linear, false),
            Self::Constant => (ScheduleKind::Constant, false),
        }
    }

    /// Whether the schedule is planned for its budget (all but the constant lr).
    pub fn budget_aware(self) -> bool {
        self != Self::Constant
    }

    /// The family called `name` in tables (`1cycle`, `linear`, ...).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name.trim())
    }

    /// A comma-separated list of family names, in table order, each once.
    ///
    /// ```
    /// use trainer_cuda::study::Family;
    /// let f = Family::parse_list("linear,1cycle").unwrap();
    /// assert_eq!(f, vec![Family::Onecycle, Family::Linear]);
    /// assert!(Family::parse_list("1cycle,sgdr").is_err());
    /// ```
    ///
    /// # Errors
    /// An unknown name, with the list of known ones.
    pub fn parse_list(list: &str) -> std::result::Result<Vec<Self>, String> {
        let mut chosen = Vec::new();
        for name in list.split(',').filter(|n| !n.trim().is_empty()) {
            let f = Self::from_name(name).ok_or_else(|| {
                format!(
                    "`{}` is not a family of the study: choose from {}",
                    name.trim(),
                    Self::ALL.map(Self::name).join(", ")
                )
            })?;
            chosen.push(f);
        }
        Ok(Self::ALL
            .into_iter()
            .filter(|f| chosen.contains(f))
            .collect())
    }
}

/// A data regime of the study: data set, how much of it, the ladder and the seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Regime {
    /// Short name, e.g. `mnist-full`.
    pub name: String,
    /// Data set.
    pub dataset: DatasetName,
    /// Training images used (of those not held out); `None` for all.
    pub train_limit: Option<usize>,
    /// Validation images held out at the end of the training split.
    pub val_size: usize,
    /// Test images scored (`None` for all).
    pub test_limit: Option<usize>,
    /// The budget ladder in epochs, ascending.
    pub budgets: Vec<f64>,
    /// Seeds (0, 1, ...).
    pub seeds: u32,
    /// The rung the budget-aware families are tuned at.
    pub tune_budget: f64,
}

impl Regime {
    /// The doubling ladder `first, 2·first, ...` with `rungs` rungs.
    pub fn ladder(first: f64, rungs: u32) -> Vec<f64> {
        (0..rungs).map(|i| first * f64::from(1u32 << i)).collect()
    }

    /// The rung tuned at: the middle of the ladder (the lower middle for an even count).
    pub fn middle(budgets: &[f64]) -> f64 {
        budgets
            .get(budgets.len().saturating_sub(1) / 2)
            .copied()
            .unwrap_or(1.0)
    }

    /// All of `dataset` but 5,000 validation images, ladder 1/8..1 epoch, 2 seeds (what
    /// fits the bench's hour on 2 CPU cores beside the small regime; `onecycle compare
    /// --full` takes a longer ladder and more seeds).
    pub fn full(dataset: DatasetName) -> Self {
        let budgets = Self::ladder(0.125, 4);
        Self {
            name: format!("{dataset}-full"),
            dataset,
            train_limit: None,
            val_size: 5000,
            test_limit: None,
            tune_budget: Self::middle(&budgets),
            budgets,
            seeds: 2,
        }
    }

    /// Small data (Smith's table shows the largest gap there): 5,000 training images of
    /// `dataset`, 5,000 validation images, ladder 1/2..8 epochs, 3 seeds.
    pub fn small(dataset: DatasetName) -> Self {
        let budgets = Self::ladder(0.5, 5);
        Self {
            name: format!("{dataset}-5k"),
            dataset,
            train_limit: Some(5000),
            val_size: 5000,
            test_limit: None,
            tune_budget: Self::middle(&budgets),
            budgets,
            seeds: 3,
        }
    }

    /// The longest budget.
    pub fn longest(&self) -> f64 {
        self.budgets.last().copied().unwrap_or(1.0)
    }

    /// Checks the regime once, before any run.
    ///
    /// # Errors
    /// An empty, unsorted or non-positive ladder, no seeds, or a tuning budget off the
    /// ladder, each with the fix.
    pub fn validate(&self) -> Result<()> {
        if self.budgets.is_empty() {
            bail!("the budget ladder is empty: give budgets such as --budgets 0.25,0.5,1,2");
        }
        if let Some(b) = self.budgets.iter().find(|b| !(b.is_finite() && **b > 0.0)) {
            bail!("budget {b} is not a positive number of epochs: e.g. --budgets 0.5,1,2");
        }
        if self.budgets.windows(2).any(|w| w[0] >= w[1]) {
            bail!(
                "the budget ladder {:?} must be strictly ascending: e.g. --budgets 0.5,1,2,4",
                self.budgets
            );
        }
        if self.seeds == 0 {
            bail!("--seeds 0 runs nothing: give at least 1 (3 for a median with a spread)");
        }
        if self.seeds > MAX_SEEDS {
            bail!(
                "--seeds {} is more than the study can report ({MAX_SEEDS}: every seed trains every family at every budget); 3 to 10 give a median with a spread",
                self.seeds
            );
        }
        if !self.budgets.contains(&self.tune_budget) {
            bail!(
                "the tuning budget {} is not on the ladder {:?}: pick one of its rungs",
                self.tune_budget,
                self.budgets
            );
        }
        Ok(())
    }
}

/// What every run of a study shares, whatever its family, budget and seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setup {
    /// Model.
    pub model: ModelKind,
    /// Optimiser (its momentum, or β1, is fixed for the baselines and cycled by 1cycle).
    pub optimizer: OptimizerName,
    /// Weight decay.
    pub weight_decay: f32,
    /// Images per step.
    pub batch_size: usize,
    /// 1cycle conventions and defaults.
    pub preset: Preset,
}

/// Everything a study needs besides the data.
#[derive(Clone, Debug)]
pub struct StudyConfig {
    /// The regime.
    pub regime: Regime,
    /// Model, optimiser, weight decay, batch size and 1cycle preset of every run.
    pub setup: Setup,
    /// The lr grid every tuned family picks from.
    pub grid: Vec<f64>,
    /// Target (c) is target (a) minus this (accuracy fraction, e.g. 0.005).
    pub looser_by: f64,
    /// Where to train.
    pub device: DeviceKind,
    /// The range test of the finder family.
    pub range: RangePlan,
    /// The families whose ladders run (every one by default; see [`Family::parse_list`]).
    pub families: Vec<Family>,
    /// Reference schedules at their own budgets (reference mode, see
    /// [`mod@crate::study::reference`]); the first sets the targets R and R − `looser_by`,
    /// and every ladder stops climbing for a (family, seed) once it has reached every
    /// reference's targets.
    pub references: Vec<Reference>,
    /// Output directory: the run store, tables, JSON and plots.
    pub out: PathBuf,
    /// Bars and summary lines.
    pub verbosity: Verbosity,
}

impl StudyConfig {
    /// Checks the config once, before any run.
    ///
    /// # Errors
    /// See [`Regime::validate`]; an empty or non-positive grid; a bad `looser_by`.
    pub fn validate(&self) -> Result<()> {
        self.regime.validate()?;
        if self.grid.is_empty() {
            bail!("the lr grid is empty: give learning rates such as --grid 0.01,0.03,0.1");
        }
        if let Some(lr) = self.grid.iter().find(|lr| !(lr.is_finite() && **lr > 0.0)) {
            bail!("grid lr {lr} is not a learning rate: give positive numbers such as 0.03,0.1");
        }
        let wd = self.setup.weight_decay;
        if !(wd.is_finite() && wd >= 0.0) {
            bail!("weight decay {wd} is not a finite number >= 0: give e.g. --weight-decay 1e-4");
        }
        if self.families.is_empty() {
            bail!("no family to run: give e.g. --families 1cycle,linear");
        }
        if self.references.is_empty()
            && !(self.families.contains(&Family::Constant)
                && Family::BASELINES.iter().any(|f| self.families.contains(f)))
        {
            bail!(
                "without a reference the targets come from the constant lr and the budget-aware baselines: add constant and one of step, cosine, linear to --families, or give a --reference"
            );
        }
        if !self.references.is_empty() && !self.families.contains(&Family::Onecycle) {
            bail!("the reference ratios are 1cycle's: add 1cycle to --families");
        }
        if !(self.looser_by.is_finite() && (0.0..1.0).contains(&self.looser_by)) {
            bail!(
                "a looser target by {} points is not meaningful: give e.g. --looser-by-points 0.5",
                100.0 * self.looser_by
            );
        }
        Ok(())
    }

    /// The config of one run of `family` at `lr` for `budget` epochs on `seed`, before its
    /// step count is known (`schedule.total_steps` is 0).
    pub(super) fn plan(&self, family: Family, lr: f64, budget: f64, seed: u64) -> RunConfig {
        let (kind, three_phase) = family.schedule();
        let (r, s) = (&self.regime, &self.setup);
        RunConfig {
            dataset: r.dataset,
            model: s.model,
            optimizer: s.optimizer,
            weight_decay: s.weight_decay,
            batch_size: s.batch_size,
            epochs: budget,
            seed,
            schedule: ScheduleSpec {
                kind,
                lr,
                total_steps: 0,
                preset: s.preset,
                three_phase,
                fixed_momentum: s.optimizer.default_momentum(),
            },
            evals_per_epoch: if family.budget_aware() {
                BUDGETED_EVALS_PER_EPOCH
            } else {
                CONSTANT_EVALS_PER_EPOCH
            },
            val_size: r.val_size,
            train_limit: r.train_limit,
            test_limit: r.test_limit,
        }
    }

    /// The config of one run of `family` at `lr` for `budget` epochs on `seed`, for a
    /// training split of `available` images.
    ///
    /// # Errors
    /// A budget that rounds to no step.
    pub fn run_config(
        &self,
        family: Family,
        lr: f64,
        budget: f64,
        seed: u64,
        available: usize,
    ) -> Result<RunConfig> {
        let mut cfg = self.plan(family, lr, budget, seed);
        cfg.schedule.total_steps = cfg
            .total_steps(available)
            .map_err(|e| anyhow::anyhow!("{}: budget {budget}: {e}", self.regime.name))?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_json_names_are_the_table_names() {
        for f in Family::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), f.name());
        }
    }
}
