//! The training loop: schedule-driven steps, periodic evaluation, per-epoch
//! checkpoints (written through [`crate::train::checkpoint`]), and bit-identical resume.

use std::time::Instant;

use anyhow::{bail, Result};
use onecycle_core::Schedule;
use serde::{Deserialize, Serialize};

use crate::data::Split;
use crate::nn::Network;
use crate::train::checkpoint::{CheckpointState, RunDir};
use crate::train::config::{Partitions, RunConfig};
use crate::train::metrics::{EvalRecord, EvalSplit, Metrics, StepRecord, TestScore};
use crate::train::progress::{Bar, Verbosity};
use crate::train::schedule::TrainSchedule;

/// Batch size of evaluations (the fastest of 128/256/500/1000 for the reference CNN on
/// the CPU: 5.7k images/s against 3.4k at 1000; the results do not depend on it).
pub const EVAL_BATCH: usize = 256;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunEnd {
    /// All epochs done.
    Completed,
    /// Stopped early on request (after `stop_after_epochs`).
    Stopped,
    /// The loss became NaN or infinite.
    Diverged,
}

/// Options that do not change the result of a run.
#[derive(Clone, Debug)]
pub struct RunControl<'a> {
    /// Checkpoints and metrics go here (none when `None`).
    pub dir: Option<&'a RunDir>,
    /// Stop after this many epochs in total (simulates an interruption).
    pub stop_after_epochs: Option<u32>,
    /// Bars and summary lines.
    pub verbosity: Verbosity,
    /// Label for the bar.
    pub label: String,
    /// Keep only the newest this many checkpoints (`None`: every one). Each checkpoint's
    /// state holds the metrics so far, so keeping them all grows the disk use with the
    /// square of the run's length; a fixed number keeps it linear.
    pub keep_checkpoints: Option<u32>,
}

/// The outcome of [`train`].
#[derive(Clone, Debug)]
pub struct RunResult {
    /// All metrics (including those from before a resume).
    pub metrics: Metrics,
    /// How the run ended.
    pub end: RunEnd,
}

/// Trains `net` on `data` following `cfg`, from `start` (a resume point) or the beginning.
///
/// The run trains on [`RunConfig::partitions`]' training part, evaluates
/// `evals_per_epoch` times an epoch (and at its end) on the validation slice (or the test
/// split without one), and scores its final weights once on the test split. A fractional
/// budget ends part-way through its last epoch. The data order depends only on
/// `(seed, epoch)` and the schedule only on the step, so a run resumed from a checkpoint
/// continues exactly as the uninterrupted run would have.
///
/// # Errors
/// Invalid schedule, budget or batch size, network or I/O failures.
pub fn train(
    cfg: &RunConfig,
    net: &mut dyn Network,
    data: &Split,
    start: Option<CheckpointState>,
    control: &RunControl<'_>,
) -> Result<RunResult> {
    let parts = cfg.partitions(data).map_err(|e| anyhow::anyhow!(e))?;
    let plan = Plan::of(cfg, data.train.len(), parts.train.len())?;
    let (metrics, first_epoch) = match start {
        Some(s) => (s.metrics, s.epochs_done),
        None => (
            Metrics {
                eval_split: parts.eval_split,
                ..Metrics::default()
            },
            0,
        ),
    };
    let stop_at = control
        .stop_after_epochs
        .unwrap_or(plan.epochs)
        .min(plan.epochs);
    let bar = Bar::new(u64::from(plan.total), &control.label, control.verbosity);
    bar.set_position(u64::from(first_epoch) * u64::from(plan.steps_per_epoch));
    let mut run = Loop {
        cfg,
        plan: &plan,
        parts: &parts,
        control,
        bar: &bar,
        train_seconds: metrics.evals.last().map_or(0.0, |e| e.train_seconds),
        last_acc: metrics.evals.last().map(|e| e.acc),
        metrics,
    };
    for epoch in first_epoch..stop_at {
        if let Some(end) = run.epoch(net, epoch)? {
            return Ok(RunResult {
                metrics: run.metrics,
                end,
            });
        }
        run.end_of_epoch(net, epoch)?;
    }
    let end = if stop_at < plan.epochs {
        RunEnd::Stopped
    } else {
        RunEnd::Completed
    };
    bar.finish(&format!(
        "{}: {}",
        control.label,
        match end {
            RunEnd::Completed => "done",
            RunEnd::Stopped => "stopped (resume with --resume)",
            RunEnd::Diverged => "diverged",
        }
    ));
    Ok(RunResult {
        metrics: run.metrics,
        end,
    })
}

/// A run's step arithmetic and schedule, checked against its config.
struct Plan {
    steps_per_epoch: u32,
    total: u32,
    epochs: u32,
    /// Steps between evaluations inside an epoch.
    every: u32,
    schedule: TrainSchedule,
}

impl Plan {
    fn of(cfg: &RunConfig, train_len: usize, trained_on: usize) -> Result<Self> {
        let steps_per_epoch = cfg.steps_per_epoch(train_len);
        if steps_per_epoch == 0 {
            bail!(
                "batch size {} is larger than the {trained_on} training images: lower --batch-size",
                cfg.batch_size,
            );
        }
        let total = cfg.total_steps(train_len).map_err(|e| anyhow::anyhow!(e))?;
        if cfg.schedule.total_steps != total {
            bail!(
                "internal: schedule spans {} steps but the run has {total}",
                cfg.schedule.total_steps
            );
        }
        let schedule = cfg
            .schedule
            .build()
            .map_err(|e| anyhow::anyhow!("invalid schedule: {e}"))?;
        let evals = cfg.evals_per_epoch.clamp(1, steps_per_epoch);
        Ok(Self {
            steps_per_epoch,
            total,
            epochs: total.div_ceil(steps_per_epoch),
            every: (steps_per_epoch / evals).max(1),
            schedule,
        })
    }
}

/// The loop's state between epochs.
struct Loop<'a> {
    cfg: &'a RunConfig,
    plan: &'a Plan,
    parts: &'a Partitions<'a>,
    control: &'a RunControl<'a>,
    bar: &'a Bar,
    metrics: Metrics,
    train_seconds: f64,
    last_acc: Option<f64>,
}

/// Training loss and speed since the last evaluation.
#[derive(Default)]
struct Window {
    loss_sum: f64,
    loss_n: u32,
    seconds: f64,
    images: usize,
}

impl Loop<'_> {
    /// Trains one epoch (or the part of the last one the budget covers), evaluating as
    /// planned; `Some(RunEnd::Diverged)` when the loss became non-finite.
    fn epoch(&mut self, net: &mut dyn Network, epoch: u32) -> Result<Option<RunEnd>> {
        let (cfg, plan) = (self.cfg, self.plan);
        let epoch_start = epoch * plan.steps_per_epoch;
        let in_epoch = (plan.total - epoch_start).min(plan.steps_per_epoch);
        let batches = self
            .parts
            .train
            .train_batches(cfg.batch_size, cfg.seed, u64::from(epoch))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut window = Window::default();
        for (i, batch) in batches.take(in_epoch as usize).enumerate() {
            let i = i as u32;
            let step = epoch_start + i;
            let lr = plan.schedule.lr(step);
            let momentum = plan.schedule.momentum(step);
            let t0 = Instant::now();
            let loss = net
                .train_step(&batch.images, &batch.labels, lr, momentum)
                .map_err(|e| anyhow::anyhow!("step {step}: {e}"))?;
            let dt = t0.elapsed().as_secs_f64();
            self.train_seconds += dt;
            window.seconds += dt;
            window.images += batch.labels.len();
            let loss = f64::from(loss);
            self.metrics.steps.push(StepRecord {
                step,
                epoch,
                lr,
                momentum,
                loss,
            });
            if !loss.is_finite() {
                self.bar.finish(&format!(
                    "{}: diverged at step {step} (loss {loss}) with lr {lr:.3e}",
                    self.control.label
                ));
                return Ok(Some(RunEnd::Diverged));
            }
            window.loss_sum += loss;
            window.loss_n += 1;
            let img_per_s = window.images as f64 / window.seconds.max(1e-9);
            let done = i + 1;
            // Every `every` steps (but not a sliver before the epoch's end), at the end of
            // each epoch, and at the end of the run.
            let eval_now = done == in_epoch
                || done.is_multiple_of(plan.every) && in_epoch - done >= plan.every / 2;
            if eval_now {
                self.evaluate(net, step, &window, img_per_s)?;
                window = Window::default();
            }
            self.bar.step(loss, self.last_acc, lr, img_per_s);
        }
        Ok(None)
    }

    /// Evaluates after `step` on the run's evaluation split and records it.
    fn evaluate(
        &mut self,
        net: &mut dyn Network,
        step: u32,
        window: &Window,
        img_per_s: f64,
    ) -> Result<()> {
        let eval = &self.parts.eval;
        let r = net
            .evaluate(eval.as_ref(), &eval.labels, EVAL_BATCH)
            .map_err(|e| anyhow::anyhow!("evaluation: {e}"))?;
        self.metrics.evals.push(EvalRecord {
            step: step + 1,
            epoch: f64::from(step + 1) / f64::from(self.plan.steps_per_epoch),
            train_loss: window.loss_sum / f64::from(window.loss_n.max(1)),
            loss: f64::from(r.loss),
            acc: r.accuracy(),
            train_seconds: self.train_seconds,
            img_per_s,
        });
        self.last_acc = Some(r.accuracy());
        Ok(())
    }

    /// After an epoch: the summary line, the test score after the last epoch, and the
    /// checkpoint with the metrics so far.
    fn end_of_epoch(&mut self, net: &mut dyn Network, epoch: u32) -> Result<()> {
        let plan = self.plan;
        if let Some(e) = self.metrics.evals.last() {
            let split = self.parts.eval_split.name();
            self.bar.note(&format!(
                "{}: epoch {}/{}: {split} acc {:.2}%, {split} loss {:.4}, {:.0} img/s",
                self.control.label,
                epoch + 1,
                plan.epochs,
                100.0 * e.acc,
                e.loss,
                e.img_per_s
            ));
        }
        if epoch + 1 == plan.epochs {
            self.metrics.final_test = Some(self.test_score(net)?);
        }
        if let Some(dir) = self.control.dir {
            let epoch_start = epoch * plan.steps_per_epoch;
            let state = CheckpointState {
                epochs_done: epoch + 1,
                steps_done: epoch_start + (plan.total - epoch_start).min(plan.steps_per_epoch),
                weights: RunDir::weights_name(epoch + 1),
                metrics: self.metrics.clone(),
            };
            dir.checkpoint(net, &state, self.cfg)?;
            if let Some(keep) = self.control.keep_checkpoints {
                dir.prune_checkpoints(keep)?;
            }
            self.metrics.write(&dir.path)?;
        }
        Ok(())
    }

    /// The final weights' test score: the last evaluation when it was on the test split,
    /// else one pass over the test split.
    fn test_score(&self, net: &mut dyn Network) -> Result<TestScore> {
        Ok(match (self.parts.eval_split, self.metrics.evals.last()) {
            // The run's last evaluation was on the test split, with these weights.
            (EvalSplit::Test, Some(e)) => TestScore {
                acc: e.acc,
                loss: e.loss,
            },
            _ => {
                let test = &self.parts.test;
                let r = net
                    .evaluate(test.as_ref(), &test.labels, EVAL_BATCH)
                    .map_err(|e| anyhow::anyhow!("test evaluation: {e}"))?;
                TestScore {
                    acc: r.accuracy(),
                    loss: f64::from(r.loss),
                }
            }
        })
    }
}
