//! The super-convergence study: every schedule at its own budget, epochs to a fixed
//! target, several seeds (Smith & Topin 2017, arXiv:1708.07120; Li et al., ICLR 2020,
//! "Budgeted training"; scored like MLPerf / AlgoPerf).
//!
//! `onecycle compare` and the `convergence` bench both call [`run_study`]; nothing else
//! runs this experiment.
//!
//! # The protocol (fixed before any result)
//! 1. **Validation split.** The last `val_size` images of the training split are held
//!    out ([`RunConfig::partitions`]); `train_limit` takes the head of the rest. Every
//!    choice (lr winners, targets, hits) is made on validation accuracy. Test accuracy
//!    is measured once per run, on the final weights, and reported beside it.
//! 2. **Families.** Budget-aware: `1cycle` (two phases), `1cycle-3phase` (Smith's three
//!    phases), `step` (×0.1 at 50% and 75%), `cosine` (to peak/1e4), `linear` (to 0).
//!    Each runs once per budget with its schedule planned for that budget. Budget-free:
//!    `constant`, run once at the longest budget; its whole validation curve is read.
//! 3. **Budget ladder** in epochs, doubling, the same for every family. The constant run
//!    evaluates [`CONSTANT_EVALS_PER_EPOCH`] times an epoch so that its first hit is
//!    sharp; budget-aware runs are scored by their final accuracy only.
//! 4. **Equal tuning.** Every family, 1cycle included, takes its lr from the same grid,
//!    one trial per grid point, on seed 0, by the best final validation accuracy: the
//!    budget-aware families at `tune_budget` (a rung fixed in advance), the constant lr
//!    at its only budget, the longest. When a family's winner sits on an edge of the
//!    grid, the grid grows by one step beyond that edge for that family, up to
//!    [`MAX_GRID_EXTENSIONS`] times (the same rule for every family, so that no baseline
//!    is left under-tuned by the grid); a winner still on the edge is flagged in the
//!    report. Beside that, `1cycle-finder` runs 1cycle at the `auto` lr of a range test
//!    (the median divergence edge of its sweeps / 30, [`RangePlan::short`]) on each
//!    seed's own initial network (the product's workflow: no grid), with a sensitivity row
//!    at ×1/4, ×1/2, ×2 and ×4 of seed 0's `auto` lr at `tune_budget`.
//!    Batch size, weight decay, momentum (0.9; 1cycle cycles 0.95→0.85) and batch-norm
//!    settings are the same for every family.
//! 5. **Targets.** (a) the median over seeds of the tuned constant lr's final validation
//!    accuracy at the longest budget; (b) the best median final validation accuracy of
//!    the budget-aware baselines (step, cosine, linear) at the longest budget; (c) (a)
//!    lowered by `looser_by`. For an even number of seeds the target's median is the
//!    lower middle value ([`score::lower_median`]), so that the reference reaches its own
//!    target on at least half of the seeds.
//! 6. **Score.** Per family and seed, epochs to target: the smallest budget whose final
//!    validation accuracy reaches it (budget-aware) or the first evaluation at or above
//!    it (constant); a miss is infinity. The median over seeds is the score, with min and
//!    max. Speed-up = baseline epochs / 1cycle epochs, against the tuned constant lr and
//!    against the fastest budget-aware baseline, as a ratio of medians and per seed.
//!
//! # Reference mode (`--reference step@16`; the committed regimes of `docs/study/PROTOCOL.md`)
//! 7. **References.** Each reference schedule (`step@B`: ×0.1 at 50% and 75% of B epochs;
//!    `constant@B`, `linear@B`, `cosine@B`) is tuned on the same grid with the same edge
//!    rule at its own budget B on seed 0, then run once per seed at B, evaluated at least
//!    once per epoch. The first reference's target R is the lower median over seeds of its
//!    final validation accuracy, the looser target R − `looser_by`; each further reference
//!    sets its own pair. They replace targets (a)–(c) and are fixed before any ladder runs.
//! 8. **Early stop.** A (family, seed) ladder stops climbing after the first rung whose
//!    final validation accuracy reaches every target; the report marks the rungs not run.
//!    Only the families in [`StudyConfig::families`] run.
//! 9. **Three ratios** per reference and target ([`mod@reference`]): budget (B / 1cycle
//!    epochs), strict (the reference's first evaluation at the target / 1cycle epochs)
//!    and budget-aware (linear decay's epochs / 1cycle's), each a ratio of medians and per
//!    seed with min and max; a miss is infinitely many epochs.
//!
//! # `study.json` in reference mode
//! Beside the fields of [`StudyReport`]: `reference` ([`reference::ReferenceScore`]:
//! `family`, `budget_epochs`, `lr`, `on_grid_edge`, `tuning`, `target`, `looser_target`,
//! per-seed `final_val_acc`, `final_test_acc`, `first_hit`, `first_hit_looser`); `ratios`
//! and `ratios_looser` ([`reference::Ratios`]: `target`, then `budget`, `strict` and
//! `budget_aware`, each `{median, min, max, per_seed}`, with the per-seed epochs and
//! training seconds they come from); `second_references` (the same three objects per
//! further reference); `reference_runs` (every reference run with its command). Infinite
//! values (misses) are written as `null`.

pub mod reference;
pub mod report;
pub mod score;
pub mod store;
#[cfg(test)]
mod test_support;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::data::{DatasetName, Split};
use crate::nn::{build_network, DeviceKind, Network};
use crate::train::config::{ModelName, OptimizerName, RunConfig};
use crate::train::progress::{note, Verbosity};
use crate::train::range_test::RangePlan;
use crate::train::run::{train, RunControl, RunEnd};
use crate::train::schedule::{PresetName, ScheduleKind, ScheduleSpec};

use reference::{Reference, ReferenceMeasured};
pub use report::StudyReport;
use store::{device_name, range_key, train_command, RangeRecord, RunRecord, RunStore};

/// Evaluations per epoch of the constant-lr run (its first hit is read off this curve).
pub const CONSTANT_EVALS_PER_EPOCH: u32 = 4;

/// Evaluations per epoch of a budget-aware run (scored by its final evaluation; the
/// others draw its curve).
pub const BUDGETED_EVALS_PER_EPOCH: u32 = 1;

/// The default lr grid: half-decades from 1e-2 to 1, the same for every family.
pub const DEFAULT_GRID: [f64; 5] = [1e-2, 3e-2, 0.1, 0.3, 1.0];

/// Multiples of the range test's `auto` lr in the finder's sensitivity row.
pub const SENSITIVITY: [f64; 4] = [0.25, 0.5, 2.0, 4.0];

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
    pub model: ModelName,
    /// Optimiser (its momentum, or β1, is fixed for the baselines and cycled by 1cycle).
    pub optimizer: OptimizerName,
    /// Weight decay.
    pub weight_decay: f32,
    /// Images per step.
    pub batch_size: usize,
    /// 1cycle conventions and defaults.
    pub preset: PresetName,
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
    /// Reference schedules at their own budgets (reference mode, see [`mod@reference`]); the
    /// first sets the targets R and R − `looser_by`, and every ladder stops climbing for
    /// a (family, seed) once it has reached every reference's targets.
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
    fn plan(&self, family: Family, lr: f64, budget: f64, seed: u64) -> RunConfig {
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

/// One run of the study: which family and role it played, and what it measured.
#[derive(Clone, Debug, Serialize)]
pub struct StudyRun {
    /// The family.
    pub family: Family,
    /// Learning rate (peak, or constant).
    pub lr: f64,
    /// Budget in epochs.
    pub budget: f64,
    /// Seed.
    pub seed: u64,
    /// The measurement.
    #[serde(flatten)]
    pub record: RunRecord,
}

/// What [`run_study`] measured, before scoring.
#[derive(Clone, Debug, Default)]
pub struct Measurements {
    /// Grid trials: `(family, lr, final validation accuracy)` on seed 0.
    pub tuning: Vec<(Family, f64, f64)>,
    /// The grid winner of each tuned family.
    pub winners: Vec<(Family, f64)>,
    /// Range tests, one per seed.
    pub ranges: Vec<RangeRecord>,
    /// The references (reference mode), in the order given.
    pub references: Vec<ReferenceMeasured>,
    /// Sensitivity of 1cycle to ×[`SENSITIVITY`] of seed 0's `auto` lr at the tuning budget:
    /// `(multiple, lr, final validation accuracy)`.
    pub sensitivity: Vec<(f64, f64, f64)>,
    /// The ladder runs of every family and seed.
    pub runs: Vec<StudyRun>,
    /// Runs trained by this invocation, and runs found in the store.
    pub trained: usize,
    /// Runs found in the store.
    pub reused: usize,
    /// Training seconds recorded by every distinct run looked up (trained now or kept
    /// from the store): the study's cost, whichever invocation paid it.
    pub recorded_train_seconds: f64,
}

struct Runner<'a> {
    cfg: &'a StudyConfig,
    data: &'a Split,
    store: RunStore,
    done: usize,
    planned: usize,
    trained: usize,
    reused: usize,
    recorded_train_seconds: f64,
    /// Keys already looked up by this invocation (a run found again is counted once).
    seen: std::collections::HashSet<String>,
}

impl Runner<'_> {
    fn new_net(&self, seed: u64) -> Result<Box<dyn Network>> {
        let t = &self.cfg.setup;
        build_network(
            t.model.into(),
            t.optimizer.kind(t.weight_decay),
            self.cfg.device,
            seed,
            (
                self.data.train.channels,
                self.data.train.height,
                self.data.train.width,
            ),
            self.data.train.classes,
        )
        .map_err(|e| anyhow::anyhow!("cannot build the model: {e}"))
    }

    fn run(&mut self, family: Family, lr: f64, budget: f64, seed: u64) -> Result<StudyRun> {
        let rc = self
            .cfg
            .run_config(family, lr, budget, seed, self.data.train.len())?;
        let device = device_name(self.cfg.device);
        let key = RunStore::key("run", &(&rc, device))?;
        self.done += 1;
        let label = format!(
            "{} [{}/{}] {} lr={lr:.3} {}ep seed {seed}",
            self.cfg.regime.name,
            self.done,
            self.planned,
            family.name(),
            score::show_epochs(budget)
        );
        // A stored record is reused only when it checks out against its key; any other is
        // retrained (and overwritten), never reported.
        let stored: Option<RunRecord> = self.store.get("run", &key);
        if let Some(why) = stored.as_ref().and_then(|r| r.defect(&key)) {
            note(
                self.cfg.verbosity,
                &format!("{label}: the stored record is not reused ({why}): training it again"),
            );
            self.store.remove("run", &key)?;
        }
        let (record, cached) = self.store.get_or_make("run", &key, || {
            let mut net = self.new_net(seed)?;
            let res = train(
                &rc,
                net.as_mut(),
                self.data,
                None,
                &RunControl {
                    dir: None,
                    stop_after_epochs: None,
                    verbosity: self.cfg.verbosity,
                    label: label.clone(),
                    keep_checkpoints: None,
                },
            )?;
            let m = &res.metrics;
            let diverged = res.end == RunEnd::Diverged;
            RunRecord {
                command: train_command(&rc, device),
                device: device.to_string(),
                steps: m.steps.len() as u32,
                final_val_acc: if diverged { 0.0 } else { m.final_acc() },
                final_test_acc: m.final_test.map_or(0.0, |t| t.acc),
                train_seconds: m.evals.last().map_or(0.0, |e| e.train_seconds),
                diverged,
                curve: m.evals.iter().map(|e| (e.epoch, e.acc)).collect(),
                config: rc.clone(),
                content_sha256: None,
            }
            .seal()
        })?;
        let first_lookup = self.seen.insert(key);
        if first_lookup {
            self.recorded_train_seconds += record.train_seconds;
        }
        if cached && first_lookup {
            self.reused += 1;
            note(self.cfg.verbosity, &format!("{label}: kept from the store"));
        } else if !cached {
            self.trained += 1;
        }
        Ok(StudyRun {
            family,
            lr,
            budget,
            seed,
            record,
        })
    }

    /// Tunes `family` at `budget` on seed 0 ([`tune_on_grid`]); pushes each trial onto
    /// `trials_out`.
    fn tune(
        &mut self,
        family: Family,
        budget: f64,
        trials_out: &mut Vec<(Family, f64, f64)>,
    ) -> Result<f64> {
        let cfg = self.cfg;
        let what = format!(
            "{}: {} at {} epochs",
            cfg.regime.name,
            family.name(),
            score::show_epochs(budget)
        );
        let (winner, trials) = tune_on_grid(
            &cfg.grid,
            |lr| Ok(self.run(family, lr, budget, 0)?.record.final_val_acc),
            |winner, next| {
                note(
                    cfg.verbosity,
                    &format!("{what} wins at the grid's edge ({winner}): trying {next} too"),
                );
            },
        )?;
        trials_out.extend(trials.into_iter().map(|(lr, acc)| (family, lr, acc)));
        note(cfg.verbosity, &format!("{what} tuned: lr {winner}"));
        Ok(winner)
    }

    /// Runs `family` at `lr` on `seed` up the ladder ([`climb`]).
    fn ladder(
        &mut self,
        family: Family,
        lr: f64,
        seed: u64,
        stop_at: Option<f64>,
        runs: &mut Vec<StudyRun>,
    ) -> Result<()> {
        let budgets = self.cfg.regime.budgets.clone();
        let climbed = climb(
            &budgets,
            stop_at,
            |b| self.run(family, lr, b, seed),
            |r| r.record.final_val_acc,
        )?;
        if climbed.len() < budgets.len() {
            note(
                self.cfg.verbosity,
                &format!(
                    "{}: {} seed {seed} reached every target at {} epochs: the longer rungs are not run",
                    self.cfg.regime.name,
                    family.name(),
                    score::show_epochs(budgets[climbed.len() - 1])
                ),
            );
        }
        runs.extend(climbed);
        Ok(())
    }

    /// A reference tuned at its own budget on seed 0, then run on every seed.
    fn reference(&mut self, reference: Reference, seeds: &[u64]) -> Result<ReferenceMeasured> {
        let mut tuning = Vec::new();
        let lr = self.tune(reference.family, reference.budget, &mut tuning)?;
        let mut runs = Vec::with_capacity(seeds.len());
        for &seed in seeds {
            runs.push(self.run(reference.family, lr, reference.budget, seed)?);
        }
        Ok(ReferenceMeasured {
            reference,
            lr,
            tuning: tuning.iter().map(|&(_, lr, acc)| (lr, acc)).collect(),
            runs,
        })
    }

    /// Every tuned family (and the finder, when chosen) up the ladder on every seed,
    /// stopping at `stop_at`: the runs and the finder's range tests.
    fn ladders(
        &mut self,
        winners: &[(Family, f64)],
        seeds: &[u64],
        stop_at: Option<f64>,
    ) -> Result<(Vec<StudyRun>, Vec<RangeRecord>)> {
        let cfg = self.cfg;
        let (mut runs, mut ranges) = (Vec::new(), Vec::new());
        for &seed in seeds {
            for &(family, lr) in winners {
                if family.budget_aware() {
                    self.ladder(family, lr, seed, stop_at, &mut runs)?;
                } else {
                    runs.push(self.run(family, lr, cfg.regime.longest(), seed)?);
                }
            }
            if cfg.families.contains(&Family::OnecycleFinder) {
                let range = self.range(seed)?;
                note(
                    cfg.verbosity,
                    &format!(
                        "{}: seed {seed}: range test: auto {:.3e} (edge {:.3e}, valley {:.3e})",
                        cfg.regime.name,
                        range.auto(),
                        range.edge,
                        range.valley
                    ),
                );
                self.ladder(
                    Family::OnecycleFinder,
                    range.auto(),
                    seed,
                    stop_at,
                    &mut runs,
                )?;
                ranges.push(range);
            }
        }
        Ok((runs, ranges))
    }

    fn range(&mut self, seed: u64) -> Result<RangeRecord> {
        let rc = self
            .cfg
            .run_config(Family::Onecycle, 1.0, 1.0, seed, self.data.train.len())?;
        let key = RunStore::key(
            "range",
            &(
                &rc,
                device_name(self.cfg.device),
                range_key(&self.cfg.range),
            ),
        )?;
        let stored: Option<RangeRecord> = self.store.get("range", &key);
        if let Some(why) = stored.as_ref().and_then(|r| r.defect(&key)) {
            note(
                self.cfg.verbosity,
                &format!(
                    "{}: seed {seed}: the stored range test is not reused ({why}): running it again",
                    self.cfg.regime.name
                ),
            );
            self.store.remove("range", &key)?;
        }
        let (rec, _) = self.store.get_or_make("range", &key, || {
            let mut net = self.new_net(seed)?;
            let parts = rc.partitions(self.data).map_err(|e| anyhow::anyhow!(e))?;
            let sweeps = self.cfg.range.run(
                net.as_mut(),
                &parts.train,
                rc.batch_size,
                seed,
                Some(rc.optimizer.default_momentum()),
                self.cfg.verbosity,
            )?;
            RangeRecord::from_sweeps(seed, &sweeps, self.cfg.range.divisor)?.seal(&key)
        })?;
        Ok(rec)
    }
}

/// The most seeds a study takes: each one trains every family at every budget
/// and is kept in the report, so the count bounds the study's memory.
pub const MAX_SEEDS: u32 = 1000;

/// How many points the grid may grow by, per family, when its winner sits on an edge.
pub const MAX_GRID_EXTENSIONS: usize = 2;

/// The next lr to try when `winner` is the smallest or largest of `lrs` (ascending): one
/// more step beyond that edge, the same ratio as the step next to it (a half-decade on
/// the default grid: 0.01 → 0.0033, 1 → 3.3). `None` when the winner is inside the grid
/// or the grid has a single point.
///
/// ```
/// use trainer_cuda::study::extend_grid;
/// let grid = [0.01, 0.03, 0.1, 0.3, 1.0];
/// assert!((extend_grid(&grid, 0.01).unwrap() - 0.01 / 3.0).abs() < 1e-15);
/// assert!((extend_grid(&grid, 1.0).unwrap() - 1.0 / 0.3).abs() < 1e-12);
/// assert_eq!(extend_grid(&grid, 0.1), None);
/// assert_eq!(extend_grid(&[0.1], 0.1), None);
/// ```
pub fn extend_grid(lrs: &[f64], winner: f64) -> Option<f64> {
    match lrs {
        [lo, next, ..] if winner == *lo => Some(lo * (lo / next)),
        [.., prev, hi] if winner == *hi => Some(hi * (hi / prev)),
        _ => None,
    }
}

/// The grid point with the best final validation accuracy (the smaller lr on a tie).
fn best_of(trials: &[(f64, f64)]) -> f64 {
    trials
        .iter()
        .fold(None::<(f64, f64)>, |best, &(lr, acc)| match best {
            Some((_, b)) if b >= acc => best,
            _ => Some((lr, acc)),
        })
        .map_or(f64::NAN, |(lr, _)| lr)
}

/// Equal tuning, the one rule for every family and reference: one `trial(lr)` (the final
/// validation accuracy) per point of `grid`, ascending; while the winner sits on an edge,
/// the grid grows one step beyond it ([`extend_grid`]), at most [`MAX_GRID_EXTENSIONS`]
/// times (`on_extend(winner, next)` is told). Returns the winner (the smaller lr on a tie)
/// and every trial `(lr, accuracy)` in the order run.
///
/// ```
/// use trainer_cuda::study::tune_on_grid;
/// // Accuracy peaks at lr 3: the grid's top edge wins twice and grows twice.
/// let acc = |lr: f64| Ok(-(lr / 3.0).ln().abs());
/// let (winner, trials) = tune_on_grid(&[0.1, 0.3, 1.0], acc, |_, _| {}).unwrap();
/// assert!((winner - 1.0 / 0.3).abs() < 1e-12);
/// assert_eq!(trials.len(), 5);
/// ```
///
/// # Errors
/// The first error of `trial`.
pub fn tune_on_grid(
    grid: &[f64],
    mut trial: impl FnMut(f64) -> Result<f64>,
    mut on_extend: impl FnMut(f64, f64),
) -> Result<(f64, Vec<(f64, f64)>)> {
    let mut lrs = grid.to_vec();
    lrs.sort_by(f64::total_cmp);
    let mut trials: Vec<(f64, f64)> = Vec::with_capacity(lrs.len() + MAX_GRID_EXTENSIONS);
    let mut extensions = 0;
    loop {
        for &lr in &lrs {
            if trials.iter().all(|(tried, _)| *tried != lr) {
                trials.push((lr, trial(lr)?));
            }
        }
        let winner = best_of(&trials);
        match extend_grid(&lrs, winner) {
            Some(next) if extensions < MAX_GRID_EXTENSIONS => {
                on_extend(winner, next);
                lrs.push(next);
                lrs.sort_by(f64::total_cmp);
                extensions += 1;
            }
            _ => return Ok((winner, trials)),
        }
    }
}

/// A ladder: `run(budget)` for each rung in order, stopping after the first whose
/// accuracy (`acc`) reaches `stop_at` (when given). The rungs above cannot change the
/// epochs to any target at or below `stop_at` (the smallest rung at a target counts).
///
/// ```
/// use trainer_cuda::study::climb;
/// let acc = |b: &f64| if *b >= 4.0 { 0.99 } else { 0.9 };
/// let run = |b: f64| Ok(b);
/// assert_eq!(climb(&[1.0, 2.0, 4.0, 8.0], Some(0.98), run, acc).unwrap(), vec![1.0, 2.0, 4.0]);
/// assert_eq!(climb(&[1.0, 2.0, 4.0, 8.0], None, run, acc).unwrap().len(), 4);
/// assert_eq!(climb(&[1.0, 2.0], Some(0.995), run, acc).unwrap().len(), 2);
/// ```
///
/// # Errors
/// The first error of `run`.
pub fn climb<T>(
    budgets: &[f64],
    stop_at: Option<f64>,
    mut run: impl FnMut(f64) -> Result<T>,
    acc: impl Fn(&T) -> f64,
) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(budgets.len());
    for &b in budgets {
        let r = run(b)?;
        let reached = stop_at.is_some_and(|t| acc(&r) >= t);
        out.push(r);
        if reached {
            break;
        }
    }
    Ok(out)
}

/// Runs the whole study on `data` (or reads the runs it already has from `cfg.out`),
/// then scores it and writes `study.md`, `study.json` and the plots into `cfg.out`.
///
/// # Errors
/// An invalid config, data or network failures, an unwritable output directory.
pub fn run_study(cfg: &StudyConfig, data: &Split) -> Result<StudyReport> {
    cfg.validate()?;
    // One study per output directory at a time: its store and reports have one writer.
    let _lock = crate::lock::DirLock::acquire(&cfg.out, "onecycle compare")?;
    // The data must hold a batch and the validation slice, and every family's schedule
    // must fit the shortest budget, before anything trains.
    let shortest = cfg.regime.budgets[0];
    let probe = cfg.plan(Family::Constant, 1.0, shortest, 0);
    if probe.steps_per_epoch(data.train.len()) == 0 {
        bail!(
            "--batch-size {} is larger than the {} training images: lower it",
            probe.batch_size,
            probe.train_images(data.train.len())
        );
    }
    probe.partitions(data).map_err(|e| anyhow::anyhow!(e))?;
    let budgets = cfg.families.iter().map(|&f| (f, shortest, None));
    let references = cfg
        .references
        .iter()
        .map(|x| (x.family, x.budget, Some(*x)));
    for (family, shortest, reference) in budgets.chain(references) {
        let rc = cfg.run_config(family, 1.0, shortest, 0, data.train.len())?;
        rc.schedule.build().map_err(|e| {
            let fix = match reference {
                Some(x) => format!(
                    "give the reference {x} a longer budget (--reference {}@N)",
                    x.family.name()
                ),
                None => "raise the smallest budget or lower --batch-size".to_string(),
            };
            anyhow::anyhow!(
                "{}: {} epochs is {} steps, too short for {}: {e}; {fix}",
                cfg.regime.name,
                score::show_epochs(shortest),
                rc.schedule.total_steps,
                family.name()
            )
        })?;
    }
    let started = Instant::now();
    let r = &cfg.regime;
    let seeds: Vec<u64> = (0..u64::from(r.seeds)).collect();
    let tuned: Vec<Family> = Family::TUNED
        .into_iter()
        .filter(|f| cfg.families.contains(f))
        .collect();
    let rungs = r.budgets.len();
    let finder = cfg.families.contains(&Family::OnecycleFinder);
    let per_tuning = cfg.grid.len() + MAX_GRID_EXTENSIONS;
    let planned = (tuned.len() + cfg.references.len()) * per_tuning
        + seeds.len() * (tuned.len() * rungs + cfg.references.len())
        + if finder {
            seeds.len() * (rungs + 1) + SENSITIVITY.len()
        } else {
            0
        };
    let mut run = Runner {
        cfg,
        data,
        store: RunStore::new(&cfg.out),
        done: 0,
        planned,
        trained: 0,
        reused: 0,
        recorded_train_seconds: 0.0,
        seen: std::collections::HashSet::new(),
    };
    let mut m = Measurements::default();
    let seed0 = seeds[0];

    // Reference mode: each reference tuned at its own budget, then run on every seed;
    // its targets are fixed before any ladder climbs past them. The first reference runs
    // first and the ladders climb to its target; then the further references run, and the
    // ladders climb on to every target (runs already in the store are not trained again,
    // so the result is the one of running every reference first, only sooner in part).
    let stop_of = |refs: &[ReferenceMeasured]| {
        refs.iter()
            .map(ReferenceMeasured::target)
            .fold(None, |hi: Option<f64>, t| Some(hi.map_or(t, |h| h.max(t))))
    };
    if let Some(&first) = cfg.references.first() {
        m.references.push(run.reference(first, &seeds)?);
    }

    // 4. Equal tuning on seed 0: the same grid, and the same edge rule, for every family.
    for &family in &tuned {
        let budget = if family.budget_aware() {
            r.tune_budget
        } else {
            r.longest()
        };
        let winner = run.tune(family, budget, &mut m.tuning)?;
        m.winners.push((family, winner));
    }

    // 2-3. Every family up the ladder, on every seed (a ladder stops climbing once it
    // reaches every target in reference mode; the other targets are read off the ladders).
    let first_stop = stop_of(&m.references);
    let (mut runs, mut ranges) = run.ladders(&m.winners, &seeds, first_stop)?;
    for &further in cfg.references.iter().skip(1) {
        m.references.push(run.reference(further, &seeds)?);
    }
    let stop_at = stop_of(&m.references);
    if stop_at != first_stop {
        (runs, ranges) = run.ladders(&m.winners, &seeds, stop_at)?;
    }
    m.runs = runs;
    m.ranges = ranges;

    // The finder's sensitivity row.
    if finder {
        let auto0 = m.ranges[0].auto();
        for mult in SENSITIVITY {
            let lr = auto0 * mult;
            let sr = run.run(Family::OnecycleFinder, lr, r.tune_budget, seed0)?;
            m.sensitivity.push((mult, lr, sr.record.final_val_acc));
        }
    }
    m.trained = run.trained;
    m.reused = run.reused;
    m.recorded_train_seconds = run.recorded_train_seconds;

    let report = StudyReport::score(cfg, m, started.elapsed().as_secs_f64());
    report
        .write(&cfg.out)
        .with_context(|| format!("cannot write the study into {}", cfg.out.display()))?;
    Ok(report)
}
