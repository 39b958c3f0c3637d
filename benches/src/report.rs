//! The convergence results: rows, speed-ups, the Markdown table and the accuracy plot.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use onecycle_core::finder::Suggestions;
use trainer_cuda::atomic::write_atomic;
use trainer_cuda::plot::{Chart, Series};
use trainer_cuda::train::Metrics;

use crate::plan::Plan;

/// A run's part in the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// 1cycle, two phases (the schedule under test).
    OneCycle,
    /// Smith's three-phase 1cycle.
    OneCycleThreePhase,
    /// The best constant lr of the grid (a baseline).
    BestConstant,
    /// Step decay or cosine (baselines).
    Baseline,
    /// Another grid point (shown for completeness, not a baseline).
    Grid,
}

/// One schedule's results.
#[derive(Clone, Debug)]
pub struct Row {
    /// Label.
    pub name: String,
    /// Part in the comparison.
    pub role: Role,
    /// Peak (or constant) learning rate.
    pub lr: f64,
    /// Final test accuracy.
    pub final_acc: f64,
    /// Best test accuracy seen at an evaluation.
    pub best_acc: f64,
    /// First evaluation at or above the target: steps.
    pub steps_to_target: Option<u32>,
    /// Training seconds up to that evaluation.
    pub seconds_to_target: Option<f64>,
    /// Mean training throughput (images per second).
    pub img_per_s: f64,
    /// The loss became non-finite.
    pub diverged: bool,
    /// All metrics.
    pub metrics: Metrics,
}

impl Row {
    /// A row from a run's metrics (the target is set later with [`Row::set_target`]).
    #[must_use]
    pub fn new(name: &str, role: Role, lr: f64, metrics: Metrics, diverged: bool) -> Self {
        let final_acc = if diverged { 0.0 } else { metrics.final_acc() };
        let best_acc = metrics.best_acc();
        let img_per_s = {
            let n = metrics.evals.len().max(1) as f64;
            metrics.evals.iter().map(|e| e.img_per_s).sum::<f64>() / n
        };
        Self {
            name: name.into(),
            role,
            lr,
            final_acc,
            best_acc,
            steps_to_target: None,
            seconds_to_target: None,
            img_per_s,
            diverged,
            metrics,
        }
    }

    /// Sets steps and seconds to `target` from the evaluations.
    pub fn set_target(&mut self, target: f64) {
        let hit = self.metrics.time_to_target(target);
        self.steps_to_target = hit.map(|h| h.0);
        self.seconds_to_target = hit.map(|h| h.1);
    }

    /// Whether the row is one of the baselines 1cycle is compared with.
    #[must_use]
    pub fn is_baseline(&self) -> bool {
        matches!(self.role, Role::BestConstant | Role::Baseline)
    }
}

/// The whole convergence comparison.
#[derive(Clone, Debug)]
pub struct ConvergenceReport {
    /// What was run.
    pub plan: Plan,
    /// The 1cycle max lr (the plan's suggestion).
    pub found_lr: f64,
    /// Every suggestion of the range test.
    pub suggestions: Suggestions<f64>,
    /// Target test accuracy.
    pub target_acc: f64,
    /// Steps in every run.
    pub total_steps: u32,
    /// 1cycle, 1cycle (3 phases), step decay, cosine, then the constant grid.
    pub rows: Vec<Row>,
    /// Wall time of the whole experiment, evaluations and range test included.
    pub wall_seconds: f64,
}

/// A speed-up of 1cycle over a baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Speedup {
    /// Baseline steps to target ÷ 1cycle steps to target.
    pub steps: f64,
    /// Baseline seconds to target ÷ 1cycle seconds to target.
    pub seconds: f64,
}

fn ratio(a: Option<&Row>, b: Option<&Row>) -> Option<Speedup> {
    let (oc, base) = (a?, b?);
    let (s1, s0) = (oc.steps_to_target?, base.steps_to_target?);
    let (t1, t0) = (oc.seconds_to_target?, base.seconds_to_target?);
    (s1 > 0 && t1 > 0.0).then(|| Speedup {
        steps: f64::from(s0) / f64::from(s1),
        seconds: t0 / t1,
    })
}

impl ConvergenceReport {
    /// The row with `role` (the first one).
    #[must_use]
    pub fn row(&self, role: Role) -> Option<&Row> {
        self.rows.iter().find(|r| r.role == role)
    }

    /// The fastest baseline to the target (fewest steps; best constant, step decay, cosine).
    #[must_use]
    pub fn best_baseline(&self) -> Option<&Row> {
        self.rows
            .iter()
            .filter(|r| r.is_baseline() && r.steps_to_target.is_some())
            .min_by_key(|r| r.steps_to_target)
    }

    /// 1cycle over the fastest baseline.
    #[must_use]
    pub fn speedup(&self) -> Option<Speedup> {
        ratio(self.row(Role::OneCycle), self.best_baseline())
    }

    /// 1cycle over the best constant lr (the headline comparison).
    #[must_use]
    pub fn speedup_vs_constant(&self) -> Option<Speedup> {
        ratio(self.row(Role::OneCycle), self.row(Role::BestConstant))
    }

    /// The results as Markdown: settings, the table and the speed-ups.
    #[must_use]
    pub fn markdown(&self) -> String {
        let p = &self.plan;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "### Convergence: {} , mnist-cnn, SGD (momentum 0.9, wd {}), batch {}, {} steps per run{}",
            p.dataset.as_str(),
            p.weight_decay,
            p.batch_size,
            self.total_steps,
            if p.quick { " (quick mode)" } else { "" }
        );
        let _ = writeln!(
            s,
            "\n1cycle max lr = range-test `{}` suggestion ({} steps, {:.0e} → {:.0e}; valley {:.2e}, slide {:.2e}, minimum {:.2e}, steep {:.2e}): **{:.3e}**. Target = best constant's final accuracy rounded down to 0.1%: **{:.1}%**. {} test evaluations per run on {} test images.\n",
            p.method,
            p.range.num_steps,
            p.range.start_lr,
            p.range.end_lr,
            self.suggestions.valley,
            self.suggestions.slide,
            self.suggestions.minimum,
            self.suggestions.steep,
            self.found_lr,
            100.0 * self.target_acc,
            p.evals_per_epoch * p.epochs,
            p.test_limit.map_or("all".to_string(), |n| n.to_string()),
        );
        let t = 100.0 * self.target_acc;
        let _ = writeln!(
            s,
            "| schedule | lr | final test acc | best test acc | steps to {t:.1}% | seconds to {t:.1}% | img/s |"
        );
        s.push_str("|---|---|---|---|---|---|---|\n");
        for r in &self.rows {
            let name = match r.role {
                Role::BestConstant => format!("**{} (best constant)**", r.name),
                Role::Grid => format!("{} (grid)", r.name),
                _ => format!("**{}**", r.name),
            };
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
                "| {name} | {:.2e} | {acc} | {:.2}% | {steps} | {secs} | {:.0} |",
                r.lr,
                100.0 * r.best_acc,
                r.img_per_s
            );
        }
        s.push('\n');
        match (self.speedup(), self.best_baseline()) {
            (Some(x), Some(b)) => {
                let _ = writeln!(
                    s,
                    "Speed-up of 1cycle over the fastest baseline ({}): **{:.2}× fewer steps**, {:.2}× less training time.",
                    b.name, x.steps, x.seconds
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "No speed-up figure: 1cycle or every baseline missed {t:.1}% within {} steps.",
                    self.total_steps
                );
            }
        }
        if let Some(x) = self.speedup_vs_constant() {
            let _ = writeln!(
                s,
                "Speed-up of 1cycle over the best constant lr: {:.2}× fewer steps, {:.2}× less training time.",
                x.steps, x.seconds
            );
        }
        let _ = writeln!(
            s,
            "\nWhole experiment: {:.0} s wall (range test and evaluations included).",
            self.wall_seconds
        );
        s
    }

    /// Test accuracy against step, every schedule on one chart (grid points other than the
    /// best are left out to keep it readable; they are in the CSV).
    #[must_use]
    pub fn accuracy_chart(&self) -> Chart {
        Chart {
            title: format!(
                "{}: test accuracy (target {:.1}%)",
                self.plan.dataset.as_str(),
                100.0 * self.target_acc
            ),
            x_label: "step".into(),
            y_label: "test accuracy".into(),
            series: self
                .rows
                .iter()
                .filter(|r| r.role != Role::Grid)
                .map(|r| Series {
                    name: format!("{} ({:.1e})", r.name, r.lr),
                    points: r
                        .metrics
                        .evals
                        .iter()
                        .map(|e| (f64::from(e.step), e.test_acc))
                        .collect(),
                })
                .collect(),
            ..Chart::default()
        }
    }

    /// Every evaluation of every run: `schedule,lr,step,test_acc,train_seconds`.
    #[must_use]
    pub fn evals_csv(&self) -> String {
        let mut s = String::from("schedule,lr,step,test_acc,train_seconds\n");
        for r in &self.rows {
            for e in &r.metrics.evals {
                let _ = writeln!(
                    s,
                    "{},{},{},{},{}",
                    r.name, r.lr, e.step, e.test_acc, e.train_seconds
                );
            }
        }
        s
    }

    /// Writes `convergence.md`, `accuracy.svg` and `evals.csv` into `dir` (each atomically);
    /// returns the SVG's path.
    ///
    /// # Errors
    /// An unwritable directory.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        write_atomic(&dir.join("convergence.md"), self.markdown().as_bytes())?;
        write_atomic(&dir.join("evals.csv"), self.evals_csv().as_bytes())?;
        let svg = dir.join("accuracy.svg");
        self.accuracy_chart().save_svg(&svg)?;
        Ok(svg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainer_cuda::data::DatasetName;
    use trainer_cuda::train::EvalRecord;

    fn metrics(accs: &[(u32, f64)]) -> Metrics {
        Metrics {
            steps: vec![],
            evals: accs
                .iter()
                .map(|&(step, acc)| EvalRecord {
                    step,
                    epoch: 0.0,
                    train_loss: 1.0,
                    test_loss: 1.0,
                    test_acc: acc,
                    train_seconds: f64::from(step) / 10.0,
                    img_per_s: 1000.0,
                })
                .collect(),
        }
    }

    fn report() -> ConvergenceReport {
        let mut rows = vec![
            Row::new(
                "1cycle",
                Role::OneCycle,
                0.05,
                metrics(&[(10, 0.9), (20, 0.99), (30, 0.995)]),
                false,
            ),
            Row::new(
                "cosine",
                Role::Baseline,
                0.03,
                metrics(&[(10, 0.9), (20, 0.95), (30, 0.985)]),
                false,
            ),
            Row::new(
                "c",
                Role::BestConstant,
                0.03,
                metrics(&[(10, 0.5), (20, 0.8), (30, 0.98)]),
                false,
            ),
            Row::new("g", Role::Grid, 0.3, metrics(&[(10, 0.1)]), true),
        ];
        for r in &mut rows {
            r.set_target(0.98);
        }
        ConvergenceReport {
            plan: Plan::quick(DatasetName::Mnist, PathBuf::from("d")),
            found_lr: 0.05,
            suggestions: Suggestions {
                valley: 0.01,
                slide: 0.02,
                minimum: 0.05,
                steep: 0.001,
            },
            target_acc: 0.98,
            total_steps: 30,
            rows,
            wall_seconds: 1.0,
        }
    }

    #[test]
    fn speedup_is_baseline_steps_over_onecycle_steps() {
        let r = report();
        assert_eq!(r.best_baseline().unwrap().name, "cosine");
        let x = r.speedup().unwrap();
        assert!((x.steps - 1.5).abs() < 1e-12);
        assert!((x.seconds - 1.5).abs() < 1e-12);
        assert!((r.speedup_vs_constant().unwrap().steps - 1.5).abs() < 1e-12);
    }

    #[test]
    fn markdown_has_every_row_and_the_speedup() {
        let md = report().markdown();
        assert!(md.contains("| **1cycle** |"), "{md}");
        assert!(md.contains("diverged"));
        assert!(md.contains("1.50× fewer steps"));
        assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 5);
    }
}
