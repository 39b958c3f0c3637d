//! The training loop: schedule-driven steps, periodic evaluation, per-epoch
//! checkpoints (written through [`crate::checkpoint`]), and bit-identical resume.

use std::time::Instant;

use anyhow::{bail, Result};
use onecycle_core::Schedule;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointState, RunDir};
use crate::data::Split;
use crate::nn::Network;
use crate::train::config::RunConfig;
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
    let steps_per_epoch = cfg.steps_per_epoch(data.train.len());
    if steps_per_epoch == 0 {
        bail!(
            "batch size {} is larger than the {} training images: lower --batch-size",
            cfg.batch_size,
            parts.train.len()
        );
    }
    let total = cfg
        .total_steps(data.train.len())
        .map_err(|e| anyhow::anyhow!(e))?;
    if cfg.schedule.total_steps != total {
        bail!(
            "internal: schedule spans {} steps but the run has {total}",
            cfg.schedule.total_steps
        );
    }
    let schedule: TrainSchedule = cfg
        .schedule
        .build()
        .map_err(|e| anyhow::anyhow!("invalid schedule: {e}"))?;

    let (mut metrics, first_epoch) = match start {
        Some(s) => (s.metrics, s.epochs_done),
        None => (
            Metrics {
                eval_split: parts.eval_split,
                ..Metrics::default()
            },
            0,
        ),
    };
    let epochs = total.div_ceil(steps_per_epoch);
    let evals = cfg.evals_per_epoch.clamp(1, steps_per_epoch);
    let every = (steps_per_epoch / evals).max(1);
    let mut train_seconds = metrics.evals.last().map_or(0.0, |e| e.train_seconds);
    let stop_at = control.stop_after_epochs.unwrap_or(epochs).min(epochs);
    let bar = Bar::new(u64::from(total), &control.label, control.verbosity);
    bar.set_position(u64::from(first_epoch) * u64::from(steps_per_epoch));
    let split = parts.eval_split.name();

    let mut last_acc = metrics.evals.last().map(|e| e.acc);
    for epoch in first_epoch..stop_at {
        let mut loss_sum = 0.0f64;
        let mut loss_n = 0u32;
        let mut window_seconds = 0.0f64;
        let mut window_images = 0usize;
        let epoch_start = epoch * steps_per_epoch;
        let in_epoch = (total - epoch_start).min(steps_per_epoch);
        let batches = parts
            .train
            .train_batches(cfg.batch_size, cfg.seed, u64::from(epoch))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (i, batch) in batches.take(in_epoch as usize).enumerate() {
            let i = i as u32;
            let step = epoch_start + i;
            let lr = schedule.lr(step);
            let momentum = schedule.momentum(step);
            let t0 = Instant::now();
            let loss = net
                .train_step(&batch.images, &batch.labels, lr, momentum)
                .map_err(|e| anyhow::anyhow!("step {step}: {e}"))?;
            let dt = t0.elapsed().as_secs_f64();
            train_seconds += dt;
            window_seconds += dt;
            window_images += batch.labels.len();
            let loss = f64::from(loss);
            metrics.steps.push(StepRecord {
                step,
                epoch,
                lr,
                momentum,
                loss,
            });
            if !loss.is_finite() {
                bar.finish(&format!(
                    "{}: diverged at step {step} (loss {loss}) with lr {lr:.3e}",
                    control.label
                ));
                return Ok(RunResult {
                    metrics,
                    end: RunEnd::Diverged,
                });
            }
            loss_sum += loss;
            loss_n += 1;
            let img_per_s = window_images as f64 / window_seconds.max(1e-9);
            let done = i + 1;
            // Every `every` steps (but not a sliver before the epoch's end), at the end of
            // each epoch, and at the end of the run.
            let eval_now =
                done == in_epoch || done.is_multiple_of(every) && in_epoch - done >= every / 2;
            if eval_now {
                let r = net
                    .evaluate(parts.eval.as_ref(), &parts.eval.labels, EVAL_BATCH)
                    .map_err(|e| anyhow::anyhow!("evaluation: {e}"))?;
                metrics.evals.push(EvalRecord {
                    step: step + 1,
                    epoch: f64::from(step + 1) / f64::from(steps_per_epoch),
                    train_loss: loss_sum / f64::from(loss_n.max(1)),
                    loss: f64::from(r.loss),
                    acc: r.accuracy(),
                    train_seconds,
                    img_per_s,
                });
                last_acc = Some(r.accuracy());
                loss_sum = 0.0;
                loss_n = 0;
                window_seconds = 0.0;
                window_images = 0;
            }
            bar.step(loss, last_acc, lr, img_per_s);
        }
        if let Some(e) = metrics.evals.last() {
            bar.note(&format!(
                "{}: epoch {}/{}: {split} acc {:.2}%, {split} loss {:.4}, {:.0} img/s",
                control.label,
                epoch + 1,
                epochs,
                100.0 * e.acc,
                e.loss,
                e.img_per_s
            ));
        }
        if epoch + 1 == epochs {
            metrics.final_test = Some(match (parts.eval_split, metrics.evals.last()) {
                // The run's last evaluation was on the test split, with these weights.
                (EvalSplit::Test, Some(e)) => TestScore {
                    acc: e.acc,
                    loss: e.loss,
                },
                _ => {
                    let r = net
                        .evaluate(parts.test.as_ref(), &parts.test.labels, EVAL_BATCH)
                        .map_err(|e| anyhow::anyhow!("test evaluation: {e}"))?;
                    TestScore {
                        acc: r.accuracy(),
                        loss: f64::from(r.loss),
                    }
                }
            });
        }
        if let Some(dir) = control.dir {
            let state = CheckpointState {
                epochs_done: epoch + 1,
                steps_done: epoch_start + in_epoch,
                weights: RunDir::weights_name(epoch + 1),
                metrics: metrics.clone(),
            };
            dir.checkpoint(net, &state, cfg)?;
            if let Some(keep) = control.keep_checkpoints {
                dir.prune_checkpoints(keep)?;
            }
            metrics.write(&dir.path)?;
        }
    }
    let end = if stop_at < epochs {
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
    Ok(RunResult { metrics, end })
}
