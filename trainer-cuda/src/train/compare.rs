//! `compare`: the seed experiment. The same model, initial weights, data order and
//! step budget under 1cycle (max lr from the range test) and the baselines
//! (constant lr: best of a grid; step decay and cosine at that best lr).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use onecycle_core::RangeTestConfig;
use serde::Serialize;

use crate::data::Split;
use crate::nn::{build_network, DeviceKind, Network};
use crate::plot::{Chart, Series};
use crate::train::config::RunConfig;
use crate::train::metrics::Metrics;
use crate::train::progress::{note, Verbosity};
use crate::train::range_test::{range_test, valley, RangeTestOutcome};
use crate::train::run::{train, RunControl, RunEnd};
use crate::train::schedule::{ScheduleKind, ScheduleSpec};

/// Default constant-lr grid: half-decades from 1e-3 to 0.3, fixed in advance and
/// independent of the range test that picks 1cycle's max lr.
pub const CONSTANT_GRID: [f64; 6] = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1];

/// One schedule's result.
#[derive(Clone, Debug, Serialize)]
pub struct CompareRow {
    /// Schedule label, e.g. `onecycle` or `constant (best of 4)`.
    pub name: String,
    /// Family.
    pub kind: ScheduleKind,
    /// Peak (or constant) learning rate.
    pub lr: f64,
    /// Final test accuracy.
    pub final_acc: f64,
    /// Best test accuracy seen.
    pub best_acc: f64,
    /// Steps until the first evaluation at or above the target.
    pub steps_to_target: Option<u32>,
    /// Training seconds until then.
    pub seconds_to_target: Option<f64>,
    /// Mean training throughput.
    pub img_per_s: f64,
    /// Whether the loss became non-finite.
    pub diverged: bool,
    /// The run's metrics.
    #[serde(skip)]
    pub metrics: Metrics,
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    /// The range test's valley suggestion (the 1cycle max lr).
    pub found_lr: f64,
    /// Target accuracy.
    pub target_acc: f64,
    /// Steps in each run.
    pub total_steps: u32,
    /// The four runs shown (1cycle, best constant, step, cosine) plus the other grid points.
    pub rows: Vec<CompareRow>,
    /// Speed-up of 1cycle over the fastest baseline in steps to target (None if either missed).
    pub speedup_steps: Option<f64>,
    /// The device the runs used.
    pub device: String,
    #[serde(skip)]
    /// The range test curve.
    pub range_test: Option<RangeTestOutcome>,
}

/// Inputs to [`compare`].
#[derive(Clone, Debug)]
pub struct CompareConfig {
    /// Template run: model, optimiser, data, budget (the schedule is replaced per run).
    pub run: RunConfig,
    /// Target test accuracy in [0, 1].
    pub target_acc: f64,
    /// Where to train.
    pub device: DeviceKind,
    /// Range-test settings.
    pub range: RangeTestConfig<f64>,
    /// Constant learning rates to try (the best one is the constant baseline).
    pub grid: Vec<f64>,
    /// Bars and summary lines.
    pub verbosity: Verbosity,
}

fn row_from(
    name: String,
    spec: &ScheduleSpec,
    m: Metrics,
    end: RunEnd,
    target: f64,
    batch_size: usize,
) -> CompareRow {
    let (final_acc, best_acc) = (m.final_acc(), m.best_acc());
    let hit = m.time_to_target(target);
    let secs = m.evals.last().map_or(0.0, |e| e.train_seconds);
    let images = (m.steps.len() * batch_size) as f64;
    CompareRow {
        name,
        kind: spec.kind,
        lr: spec.lr,
        final_acc,
        best_acc,
        steps_to_target: hit.map(|h| h.0),
        seconds_to_target: hit.map(|h| h.1),
        img_per_s: if secs > 0.0 { images / secs } else { 0.0 },
        diverged: end == RunEnd::Diverged,
        metrics: m,
    }
}

/// Runs the comparison. Every run starts from the same initial weights (same seed).
///
/// # Errors
/// Network, data or schedule failures (a diverging run is a result, not an error).
pub fn compare(cfg: &CompareConfig, data: &Split) -> Result<CompareReport> {
    let run = &cfg.run;
    let total = run.steps_per_epoch(data.train.len()) * run.epochs;
    let new_net = || -> Result<Box<dyn Network>> {
        build_network(
            run.model.into(),
            run.optimizer.kind(run.weight_decay),
            cfg.device,
            run.seed,
            (data.train.channels, data.train.height, data.train.width),
            data.train.classes,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let mut net = new_net()?;
    let train_set = data.train.head(run.train_limit);
    let outcome = range_test(
        net.as_mut(),
        &train_set,
        run.batch_size,
        run.seed,
        cfg.range,
        Some(run.optimizer.default_momentum()),
        cfg.verbosity,
    )?;
    let found = valley(&outcome)?;
    note(
        cfg.verbosity,
        &format!("compare: range test valley = {found:.3e} (1cycle max lr)"),
    );

    let spec = |kind, lr| ScheduleSpec {
        kind,
        lr,
        total_steps: total,
        preset: run.schedule.preset,
        three_phase: false,
        fixed_momentum: run.optimizer.default_momentum(),
    };
    let run_one = |name: String, s: ScheduleSpec| -> Result<CompareRow> {
        let mut net = new_net()?;
        let mut rc = run.clone();
        rc.schedule = s;
        let res = train(
            &rc,
            net.as_mut(),
            data,
            None,
            &RunControl {
                dir: None,
                stop_after_epochs: None,
                verbosity: cfg.verbosity,
                label: name.clone(),
            },
        )?;
        Ok(row_from(
            name,
            &s,
            res.metrics,
            res.end,
            cfg.target_acc,
            run.batch_size,
        ))
    };

    let onecycle = run_one("onecycle".into(), spec(ScheduleKind::Onecycle, found))?;
    let mut grid = Vec::new();
    if cfg.grid.is_empty() {
        anyhow::bail!("the constant-lr grid is empty: give at least one learning rate");
    }
    for &lr in &cfg.grid {
        grid.push(run_one(
            format!("constant lr={lr:.2e}"),
            spec(ScheduleKind::Constant, lr),
        )?);
    }
    // Best constant: reaches the target in the fewest steps; ties (or none reaching it)
    // broken by final accuracy.
    let best = grid
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            let key = |r: &CompareRow| (r.steps_to_target.unwrap_or(u32::MAX), -r.final_acc);
            let (ka, kb) = (key(a), key(b));
            ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        })
        .map_or(0, |(i, _)| i);
    let best_lr = grid[best].lr;
    let step = run_one("step decay".into(), spec(ScheduleKind::Step, best_lr))?;
    let cosine = run_one("cosine".into(), spec(ScheduleKind::Cosine, best_lr))?;
    let mut best_row = grid.remove(best);
    best_row.name = format!("constant (best of {})", cfg.grid.len());

    let baseline_best = [&best_row, &step, &cosine]
        .into_iter()
        .filter_map(|r| r.steps_to_target)
        .min();
    let speedup_steps = match (onecycle.steps_to_target, baseline_best) {
        (Some(a), Some(b)) if a > 0 => Some(f64::from(b) / f64::from(a)),
        _ => None,
    };
    let mut rows = vec![onecycle, best_row, step, cosine];
    for mut g in grid {
        g.name = format!("  grid: {}", g.name);
        rows.push(g);
    }
    Ok(CompareReport {
        found_lr: found,
        target_acc: cfg.target_acc,
        total_steps: total,
        rows,
        speedup_steps,
        device: format!("{:?}", cfg.device),
        range_test: Some(outcome),
    })
}

impl CompareReport {
    /// The results as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| schedule | lr | final test acc | best test acc | steps to {:.1}% | seconds to {:.1}% | img/s |",
            100.0 * self.target_acc,
            100.0 * self.target_acc
        );
        s.push_str("|---|---|---|---|---|---|---|\n");
        for r in &self.rows {
            let steps = r
                .steps_to_target
                .map_or("not reached".into(), |v| v.to_string());
            let secs = r
                .seconds_to_target
                .map_or("—".into(), |v| format!("{v:.1}"));
            let acc = if r.diverged {
                "diverged".into()
            } else {
                format!("{:.2}%", 100.0 * r.final_acc)
            };
            let _ = writeln!(
                s,
                "| {} | {:.2e} | {acc} | {:.2}% | {steps} | {secs} | {:.0} |",
                r.name.trim(),
                r.lr,
                100.0 * r.best_acc,
                r.img_per_s
            );
        }
        let target = 100.0 * self.target_acc;
        let best_final = self
            .main_rows()
            .max_by(|a, b| a.final_acc.total_cmp(&b.final_acc));
        match self.speedup_steps {
            Some(x) if x >= 1.0 => {
                let _ = writeln!(
                    s,
                    "\nSpeed-up: 1cycle reached {target:.1}% in {x:.2}× fewer steps than the fastest baseline ({} steps per run).",
                    self.total_steps
                );
            }
            Some(x) => {
                let _ = writeln!(
                    s,
                    "\nSpeed-up: {x:.2}×: a baseline reached {target:.1}% in fewer steps than 1cycle ({} steps per run).",
                    self.total_steps
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "\nNo speed-up figure: 1cycle or every baseline missed {target:.1}% within {} steps.",
                    self.total_steps
                );
            }
        }
        if let Some(b) = best_final {
            let _ = writeln!(
                s,
                "Highest final test accuracy: {} ({:.2}%).",
                b.name.trim(),
                100.0 * b.final_acc
            );
        }
        s
    }

    fn main_rows(&self) -> impl Iterator<Item = &CompareRow> {
        self.rows.iter().take(4)
    }

    /// Test accuracy, training loss (mean of 20 steps) and schedule charts of the main rows.
    pub fn charts(&self) -> Vec<Chart> {
        let rows: Vec<&CompareRow> = self.main_rows().collect();
        let series = |f: &dyn Fn(&Metrics) -> Vec<(f64, f64)>| -> Vec<Series> {
            rows.iter()
                .map(|r| Series {
                    name: r.name.clone(),
                    points: f(&r.metrics),
                })
                .collect()
        };
        vec![
            step_chart(
                "test accuracy".into(),
                "test accuracy",
                false,
                series(&accuracy_points),
            ),
            step_chart(
                "training loss (mean of 20 steps)".into(),
                "loss",
                true,
                series(&|m| mean_loss_points(m, 20)),
            ),
            step_chart(
                "learning rate schedules".into(),
                "learning rate",
                false,
                series(&lr_points),
            ),
        ]
    }

    /// Writes `compare.md`, `compare.json`, per-run metrics CSVs, the range test curve
    /// and the SVG plots into `dir`.
    ///
    /// # Errors
    /// An unwritable directory.
    pub fn write(&self, dir: &Path) -> Result<()> {
        use crate::atomic::write_atomic;
        write_atomic(&dir.join("compare.md"), self.markdown().as_bytes())?;
        write_atomic(
            &dir.join("compare.json"),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )?;
        for r in &self.rows {
            let slug: String = r
                .name
                .trim()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            r.metrics.write(&dir.join("runs").join(slug))?;
        }
        let charts = self.charts();
        charts[0].save_svg(&dir.join("accuracy.svg"))?;
        charts[1].save_svg(&dir.join("loss.svg"))?;
        charts[2].save_svg(&dir.join("schedules.svg"))?;
        if let Some(rt) = &self.range_test {
            write_atomic(&dir.join("find-lr.csv"), rt.csv().as_bytes())?;
            crate::cli::find_lr::curve_chart(&rt.curve(), rt.suggestions.as_ref().ok())
                .save_svg(&dir.join("find-lr.svg"))?;
        }
        Ok(())
    }
}

/// A chart against the training step.
fn step_chart(title: String, y_label: &str, log_y: bool, series: Vec<Series>) -> Chart {
    Chart {
        title,
        x_label: "step".into(),
        y_label: y_label.into(),
        log_y,
        series,
        ..Chart::default()
    }
}

fn accuracy_points(m: &Metrics) -> Vec<(f64, f64)> {
    m.evals
        .iter()
        .map(|e| (f64::from(e.step), e.test_acc))
        .collect()
}

fn lr_points(m: &Metrics) -> Vec<(f64, f64)> {
    m.steps.iter().map(|s| (f64::from(s.step), s.lr)).collect()
}

fn mean_loss_points(m: &Metrics, window: usize) -> Vec<(f64, f64)> {
    m.steps
        .chunks(window.max(1))
        .map(|c| {
            let mean = c.iter().map(|s| s.loss).sum::<f64>() / c.len() as f64;
            (f64::from(c[c.len() - 1].step), mean)
        })
        .collect()
}

/// Test accuracy, training loss and learning rate of a single run.
pub fn run_charts(m: &Metrics, name: &str) -> Vec<Chart> {
    let one = |points| {
        vec![Series {
            name: name.into(),
            points,
        }]
    };
    let mut charts = vec![
        step_chart(
            format!("{name}: training loss"),
            "loss",
            true,
            one(mean_loss_points(m, 1)),
        ),
        step_chart(
            format!("{name}: learning rate"),
            "learning rate",
            false,
            one(lr_points(m)),
        ),
    ];
    if !m.evals.is_empty() {
        charts.insert(
            0,
            step_chart(
                format!("{name}: test accuracy"),
                "test accuracy",
                false,
                one(accuracy_points(m)),
            ),
        );
    }
    charts
}
