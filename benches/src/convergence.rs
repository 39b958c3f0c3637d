//! The convergence experiment: 1cycle against constant lr, step decay and cosine on real
//! data, with steps and seconds to a target test accuracy.
//!
//! Order of events (no choice looks at another schedule's result except where stated):
//! 1. An LR range test (the [`Plan::range`] sweep) from the initial weights; its
//!    [`Plan::method`] suggestion is the 1cycle max lr. The network is restored afterwards.
//! 2. 1cycle (two phases, the plan's preset) and Smith's three-phase 1cycle at that lr.
//! 3. Every constant lr of the fixed grid. The **best constant** is the one with the highest
//!    final test accuracy (ties: the smaller lr).
//! 4. Step decay (×0.1 at 50% and 75%) and cosine decay, both peaking at the best constant lr.
//! 5. The **target accuracy** is the best constant run's final test accuracy, rounded down to
//!    0.1 percentage point: by construction the baseline reaches it within the budget.
//!
//! Steps to target: the first periodic evaluation at or above the target. Seconds to target:
//! training time (forward, backward, update) up to that evaluation, evaluations excluded.

use std::time::Instant;

use anyhow::{anyhow, Result};
use trainer_cuda::data::{load, Split};
use trainer_cuda::nn::{build_network, Backend, DeviceKind, Network};
use trainer_cuda::train::progress::Verbosity;
use trainer_cuda::train::{
    range_test, train, Metrics, ModelName, OptimizerName, RunConfig, RunControl, RunEnd,
    ScheduleKind, ScheduleSpec,
};

use crate::plan::Plan;
use crate::report::{ConvergenceReport, Role, Row};

/// Loads the plan's data set (fetching it on first use).
///
/// # Errors
/// The data set is missing and cannot be fetched, or a file is corrupt (the message says
/// how to fix it).
pub fn load_data(plan: &Plan) -> Result<Split> {
    load(plan.dataset, &plan.data_dir).map_err(|e| anyhow!("{e}"))
}

fn run_config(plan: &Plan, spec: ScheduleSpec) -> RunConfig {
    RunConfig {
        dataset: plan.dataset,
        model: ModelName::MnistCnn,
        optimizer: OptimizerName::Sgd,
        weight_decay: plan.weight_decay,
        batch_size: plan.batch_size,
        epochs: plan.epochs,
        seed: plan.seed,
        schedule: spec,
        evals_per_epoch: plan.evals_per_epoch,
        train_limit: plan.train_limit,
        test_limit: plan.test_limit,
    }
}

fn new_network(plan: &Plan, data: &Split) -> Result<Box<dyn Network>> {
    build_network(
        ModelName::MnistCnn.into(),
        OptimizerName::Sgd.kind(plan.weight_decay),
        DeviceKind::Cpu(Backend::Fast),
        plan.seed,
        (data.train.channels, data.train.height, data.train.width),
        data.train.classes,
    )
    .map_err(|e| anyhow!("{e}"))
}

/// One finished training run.
struct Run {
    metrics: Metrics,
    diverged: bool,
}

fn run_one(plan: &Plan, data: &Split, spec: ScheduleSpec, label: &str) -> Result<Run> {
    let t0 = Instant::now();
    let mut net = new_network(plan, data)?;
    let res = train(
        &run_config(plan, spec),
        net.as_mut(),
        data,
        None,
        &RunControl {
            dir: None,
            stop_after_epochs: None,
            verbosity: Verbosity::Quiet,
            label: label.into(),
        },
    )?;
    let last = res.metrics.evals.last().map_or(0.0, |e| e.test_acc);
    eprintln!(
        "convergence: {label:<28} final test acc {:6.2}%  ({:.0} s wall)",
        100.0 * last,
        t0.elapsed().as_secs_f64()
    );
    Ok(Run {
        metrics: res.metrics,
        diverged: res.end == RunEnd::Diverged,
    })
}

/// The best constant-lr run: highest final accuracy among those that did not diverge; ties
/// go to the smaller lr (the grid is ascending). `None` for an empty grid.
#[must_use]
pub fn best_constant(finals: &[(f64, bool)]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, &(acc, diverged)) in finals.iter().enumerate() {
        if diverged {
            continue;
        }
        if best.is_none_or(|b| acc > finals[b].0) {
            best = Some(i);
        }
    }
    best.or(if finals.is_empty() { None } else { Some(0) })
}

/// The target accuracy for a baseline that ended at `final_acc`: rounded down to 0.1
/// percentage point (so the baseline's own final evaluation reaches it).
///
/// ```
/// assert_eq!(onecycle_benches::convergence::target_for(0.98768), 0.987);
/// ```
#[must_use]
pub fn target_for(final_acc: f64) -> f64 {
    // Work in tenths of a percent, with a little slack for 0.1-step binary fractions.
    ((final_acc * 1000.0) + 1e-9).floor() / 1000.0
}

/// Runs the whole experiment (see the [module docs](self)); progress lines go to stderr.
///
/// # Errors
/// Data, network or schedule failures (a diverging run is a result, not an error).
pub fn run_experiment(plan: &Plan, data: &Split) -> Result<ConvergenceReport> {
    let started = Instant::now();
    let train_len = data.train.len();
    let total = plan.total_steps(train_len);
    let spec = |kind, lr, three_phase| ScheduleSpec {
        kind,
        lr,
        total_steps: total,
        preset: plan.preset,
        three_phase,
        fixed_momentum: OptimizerName::Sgd.default_momentum(),
    };

    // 1. Range test from the initial weights.
    let mut net = new_network(plan, data)?;
    let train_set = data.train.head(plan.train_limit);
    let outcome = range_test(
        net.as_mut(),
        &train_set,
        plan.batch_size,
        plan.seed,
        plan.range,
        Some(OptimizerName::Sgd.default_momentum()),
        Verbosity::Quiet,
    )?;
    drop(net);
    let suggestions = outcome.suggestions.map_err(|e| {
        anyhow!("the range test gave no suggestion ({e}): raise the plan's range.num_steps")
    })?;
    let found = suggestions.get(plan.method);
    eprintln!(
        "convergence: range test {} steps {:.0e} → {:.0e}: valley {:.2e}, slide {:.2e}, minimum {:.2e}, steep {:.2e}; 1cycle max lr = {} = {found:.3e}",
        outcome.points.len(),
        plan.range.start_lr,
        plan.range.end_lr,
        suggestions.valley,
        suggestions.slide,
        suggestions.minimum,
        suggestions.steep,
        plan.method,
    );

    // 2. 1cycle, two and three phases.
    let mut rows = Vec::new();
    let oc = run_one(
        plan,
        data,
        spec(ScheduleKind::Onecycle, found, false),
        "1cycle",
    )?;
    rows.push(Row::new(
        "1cycle",
        Role::OneCycle,
        found,
        oc.metrics,
        oc.diverged,
    ));
    let oc3 = run_one(
        plan,
        data,
        spec(ScheduleKind::Onecycle, found, true),
        "1cycle (3 phases)",
    )?;
    rows.push(Row::new(
        "1cycle (3 phases)",
        Role::OneCycleThreePhase,
        found,
        oc3.metrics,
        oc3.diverged,
    ));

    // 3. The constant grid.
    let mut grid = Vec::new();
    for &lr in &plan.grid {
        let label = format!("constant lr={lr:.0e}");
        let r = run_one(plan, data, spec(ScheduleKind::Constant, lr, false), &label)?;
        grid.push(Row::new(&label, Role::Grid, lr, r.metrics, r.diverged));
    }
    let finals: Vec<(f64, bool)> = grid.iter().map(|r| (r.final_acc, r.diverged)).collect();
    let best = best_constant(&finals).ok_or_else(|| anyhow!("the constant grid is empty"))?;
    grid[best].role = Role::BestConstant;
    let best_lr = grid[best].lr;

    // 4. Step decay and cosine at the best constant lr.
    let st = run_one(
        plan,
        data,
        spec(ScheduleKind::Step, best_lr, false),
        "step decay",
    )?;
    let co = run_one(
        plan,
        data,
        spec(ScheduleKind::Cosine, best_lr, false),
        "cosine",
    )?;
    rows.push(Row::new(
        "step decay",
        Role::Baseline,
        best_lr,
        st.metrics,
        st.diverged,
    ));
    rows.push(Row::new(
        "cosine",
        Role::Baseline,
        best_lr,
        co.metrics,
        co.diverged,
    ));
    rows.extend(grid);

    // 5. Target from the best constant's final accuracy.
    let target = target_for(finals[best].0);
    for r in &mut rows {
        r.set_target(target);
    }
    Ok(ConvergenceReport {
        plan: plan.clone(),
        found_lr: found,
        suggestions,
        target_acc: target,
        total_steps: total,
        rows,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_constant_takes_the_highest_final_accuracy_skipping_divergence() {
        assert_eq!(
            best_constant(&[(0.9, false), (0.97, false), (0.99, true), (0.96, false)]),
            Some(1)
        );
        // Ties go to the first (smaller lr).
        assert_eq!(best_constant(&[(0.97, false), (0.97, false)]), Some(0));
        assert_eq!(best_constant(&[]), None);
    }

    #[test]
    fn target_rounds_down_to_a_tenth_of_a_percent() {
        assert_eq!(target_for(0.98768), 0.987);
        assert_eq!(target_for(0.987), 0.987);
        assert!(target_for(0.9999) <= 0.9999);
    }
}
