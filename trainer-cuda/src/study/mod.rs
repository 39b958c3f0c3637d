//! The super-convergence study: every schedule at its own budget, epochs to a fixed
//! target, several seeds (Smith & Topin 2017, arXiv:1708.07120; Li et al., ICLR 2020,
//! "Budgeted training"; scored like MLPerf / AlgoPerf).
//!
//! `onecycle compare` and the `convergence` bench both call [`run_study`]; nothing else
//! runs this experiment.
//!
//! # The protocol (fixed before any result)
//! 1. **Validation split.** The last `val_size` images of the training split are held
//!    out ([`RunConfig::partitions`](crate::train::config::RunConfig::partitions)); `train_limit` takes the head of the rest. Every
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
//!    (the median divergence edge of its sweeps / 30, [`RangePlan::short`](crate::train::range_test::RangePlan::short)) on each
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
//!
//! # Modules
//! Calls go one way: `run` measures and calls `score`; `score` fills in the `report`
//! types; `markdown`, `charts` and `files` read them.
//! - `plan`: the families, the regime with its budget ladder, the shared setup and the
//!   [`StudyConfig`] (re-exported here);
//! - `run`: the runs, looked up in the [`store`] or trained: equal tuning, the ladders,
//!   the references, and [`run_study`] (re-exported here);
//! - `search`: equal tuning on the grid and the ladder climb, pure of training
//!   ([`tune_on_grid`], [`climb`]; re-exported here);
//! - [`store`]: the run store and its records;
//! - [`mod@reference`]: reference mode's types;
//! - [`score`]: all scoring: the pure measures, [`StudyReport::score`]
//!   ([`score::report`]) and reference mode's ratios ([`score::reference`]);
//! - [`report`]: the scored study's types, [`StudyReport`] and its parts;
//! - `show`: how numbers read (epochs, ratios, learning rates, misses);
//! - `markdown`: `study.md` ([`StudyReport::markdown`]);
//! - `charts`: the SVG plots ([`StudyReport::budget_chart`] and the others);
//! - `files`: writing them all ([`StudyReport::write`]).

mod charts;
mod files;
mod markdown;
mod plan;
pub mod reference;
pub mod report;
mod run;
pub mod score;
mod search;
pub mod show;
pub mod store;
#[cfg(test)]
mod test_support;

pub use plan::{
    Family, Regime, Setup, StudyConfig, BUDGETED_EVALS_PER_EPOCH, CONSTANT_EVALS_PER_EPOCH,
    DEFAULT_GRID, MAX_GRID_EXTENSIONS, MAX_SEEDS, SENSITIVITY,
};
pub use report::StudyReport;
pub use run::{run_study, Measurements, StudyRun};
pub use search::{climb, extend_grid, tune_on_grid};
