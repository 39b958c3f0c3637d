//! The training loop: schedule-driven steps, periodic evaluation, per-epoch
//! checkpoints, and bit-identical resume.
//!
//! Each epoch writes `checkpoints/epoch-NNNN.safetensors` (parameters, batch-norm
//! statistics and optimiser state) and `checkpoints/epoch-NNNN.json` (the resume state:
//! step count and metrics so far), then `checkpoint.json`, which lists every checkpoint with
//! the SHA-256 of both files and of `run.json`. A resume checks every file it reads against
//! those hashes before parsing it, and stops on a mismatch, a missing or an unreadable file
//! unless asked to fall back to the newest checkpoint that verifies.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use onecycle_core::Schedule;
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::data::content::sha256_hex;
use crate::data::Split;
use crate::nn::Network;
use crate::train::config::RunConfig;
use crate::train::metrics::{EvalRecord, EvalSplit, Metrics, StepRecord, TestScore};
use crate::train::progress::{Bar, Verbosity};
use crate::train::schedule::TrainSchedule;

/// Batch size of evaluations (the fastest of 128/256/500/1000 for the reference CNN on
/// the CPU: 5.7k images/s against 3.4k at 1000; the results do not depend on it).
pub const EVAL_BATCH: usize = 256;

/// Where a run's files go.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
}

/// The resume point stored with each epoch's checkpoint (`checkpoints/epoch-NNNN.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Epochs completed.
    pub epochs_done: u32,
    /// Optimiser steps completed.
    pub steps_done: u32,
    /// Checkpoint file, relative to the run directory.
    pub weights: String,
    /// Metrics up to this point.
    pub metrics: Metrics,
}

/// Layout version of `checkpoint.json`. Before it, `checkpoint.json` was a bare
/// [`CheckpointState`] without any hash; such runs are refused on resume.
pub const MANIFEST_FORMAT: u32 = 2;

/// `checkpoint.json`: every checkpoint of the run, with the SHA-256 of each of its files
/// recorded when they were written. A resume verifies the files against it before it
/// parses them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// SHA-256 of `run.json`.
    pub config_sha256: String,
    /// The checkpoints, oldest first.
    pub checkpoints: Vec<CheckpointEntry>,
}

/// One checkpoint in [`CheckpointManifest`]: the weights (parameters, batch-norm
/// statistics and optimiser state, one safetensors file) and the resume state (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEntry {
    /// Epochs completed.
    pub epochs_done: u32,
    /// [`RunDir::weights_name`].
    pub weights: String,
    /// SHA-256 of the weights file.
    pub weights_sha256: String,
    /// [`RunDir::state_name`].
    pub state: String,
    /// SHA-256 of the state file.
    pub state_sha256: String,
}

/// Which checkpoint a resume starts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResumeFrom {
    /// The latest; a latest checkpoint that fails verification is an error.
    #[default]
    Latest,
    /// The newest checkpoint that verifies (`--resume-from-verified`).
    NewestVerified,
}

/// A verified resume point: its state, and the bytes of its weights, both matching the
/// SHA-256 recorded when they were written.
#[derive(Clone, Debug)]
pub struct ResumePoint {
    /// The state to resume from (metrics up to its epoch).
    pub state: CheckpointState,
    /// Newer checkpoints that failed verification and were passed over, newest first (only
    /// with [`ResumeFrom::NewestVerified`]), each described in a sentence.
    pub skipped: Vec<String>,
    weights: Vec<u8>,
    weights_path: PathBuf,
}

impl ResumePoint {
    /// Loads the verified weights into `net`.
    ///
    /// # Errors
    /// A checkpoint of another model (or of a network built differently).
    pub fn load_into(&self, net: &mut dyn Network) -> Result<()> {
        net.load_bytes(&self.weights, &self.weights_path)
            .map_err(|e| anyhow!("cannot load {}: {e}", self.weights_path.display()))
    }
}

/// Why a checkpoint file failed verification.
#[derive(Debug)]
enum Problem {
    Missing,
    Unreadable(std::io::Error),
    Mismatch,
    Invalid(String),
}

/// A checkpoint file that failed verification.
#[derive(Debug)]
struct BadFile {
    path: PathBuf,
    problem: Problem,
}

impl std::fmt::Display for BadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.path.display();
        match &self.problem {
            Problem::Missing => write!(f, "checkpoint {p} is missing"),
            Problem::Unreadable(e) => write!(f, "checkpoint {p} cannot be read ({e})"),
            Problem::Mismatch => write!(
                f,
                "checkpoint {p} does not match the SHA-256 recorded when it was written \
                 (file changed or truncated)"
            ),
            Problem::Invalid(e) => write!(f, "checkpoint {p} is not valid ({e})"),
        }
    }
}

/// Reads `path` whole and checks its SHA-256 against `expected` before anyone parses it.
fn read_verified(path: &Path, expected: &str) -> Result<Vec<u8>, BadFile> {
    let bad = |problem| BadFile {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|e| {
        bad(if e.kind() == std::io::ErrorKind::NotFound {
            Problem::Missing
        } else {
            Problem::Unreadable(e)
        })
    })?;
    if sha256_hex(&bytes) == expected {
        Ok(bytes)
    } else {
        Err(bad(Problem::Mismatch))
    }
}

/// The bytes of `run.json` for `cfg` (what [`RunDir::write_config`] writes).
fn config_bytes(cfg: &RunConfig) -> Result<Vec<u8>> {
    Ok(serde_json::to_string_pretty(cfg)?.into_bytes())
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl RunDir {
    /// The run's config file.
    pub fn config_path(&self) -> PathBuf {
        self.path.join("run.json")
    }

    /// The checkpoint manifest ([`CheckpointManifest`]).
    pub fn state_path(&self) -> PathBuf {
        self.path.join("checkpoint.json")
    }

    /// The weights file for an epoch (1-based count of completed epochs).
    pub fn weights_name(epochs_done: u32) -> String {
        format!("checkpoints/epoch-{epochs_done:04}.safetensors")
    }

    /// The resume-state file for an epoch (1-based count of completed epochs).
    pub fn state_name(epochs_done: u32) -> String {
        format!("checkpoints/epoch-{epochs_done:04}.json")
    }

    /// What a user who cannot resume can do instead.
    fn start_over(&self) -> String {
        format!(
            "start over without --resume (another --out, or delete {})",
            self.path.display()
        )
    }

    /// Writes the run's config (once, at the start).
    ///
    /// # Errors
    /// An unwritable directory.
    pub fn write_config(&self, cfg: &RunConfig) -> Result<()> {
        write_atomic(&self.config_path(), &config_bytes(cfg)?)
    }

    /// Reads the run's config, verified against the SHA-256 that its checkpoints recorded
    /// (when it has any).
    ///
    /// # Errors
    /// A missing, changed or malformed `run.json`, or a bad `checkpoint.json`, with the fix.
    pub fn read_config(&self) -> Result<RunConfig> {
        let p = self.config_path();
        let bytes = std::fs::read(&p).with_context(|| {
            format!(
                "cannot read {}: is {} a directory written by `onecycle train --out`?",
                p.display(),
                self.path.display()
            )
        })?;
        if let Some(m) = self.read_manifest()? {
            if sha256_hex(&bytes) != m.config_sha256 {
                bail!(
                    "{} does not match the SHA-256 recorded with the run's checkpoints (file \
                     changed or truncated): restore it, or {}",
                    p.display(),
                    self.start_over()
                );
            }
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid run config", p.display()))
    }

    /// Reads the checkpoint manifest, if any, and checks its structure.
    ///
    /// # Errors
    /// An unreadable or malformed `checkpoint.json`, or one written before checkpoints
    /// were hashed.
    pub fn read_manifest(&self) -> Result<Option<CheckpointManifest>> {
        let p = self.state_path();
        let text = match std::fs::read_to_string(&p) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", p.display())),
        };
        let corrupt = || format!("{} is corrupt: {}", p.display(), self.start_over());
        let value: serde_json::Value = serde_json::from_str(&text).with_context(corrupt)?;
        match value.get("format") {
            None if value.get("weights").is_some() => bail!(
                "{} was written by a version of onecycle that recorded no SHA-256 of its \
                 checkpoints, so they cannot be verified and are not resumed: {}",
                p.display(),
                self.start_over()
            ),
            Some(f) if f.as_u64() != Some(u64::from(MANIFEST_FORMAT)) => bail!(
                "{} has checkpoint format {f}, which this version of onecycle (format \
                 {MANIFEST_FORMAT}) does not read: resume with the version that wrote it, or {}",
                p.display(),
                self.start_over()
            ),
            _ => {}
        }
        let m: CheckpointManifest = serde_json::from_value(value).with_context(corrupt)?;
        let consistent = is_sha256_hex(&m.config_sha256)
            && !m.checkpoints.is_empty()
            && m.checkpoints
                .windows(2)
                .all(|w| w[0].epochs_done < w[1].epochs_done)
            && m.checkpoints.iter().all(|e| {
                e.weights == Self::weights_name(e.epochs_done)
                    && e.state == Self::state_name(e.epochs_done)
                    && is_sha256_hex(&e.weights_sha256)
                    && is_sha256_hex(&e.state_sha256)
            });
        if !consistent {
            bail!(corrupt());
        }
        Ok(Some(m))
    }

    /// Verifies both files of `entry` (hash first, then the state's contents).
    fn verify(&self, entry: &CheckpointEntry) -> Result<ResumePoint, BadFile> {
        let weights_path = self.path.join(&entry.weights);
        let weights = read_verified(&weights_path, &entry.weights_sha256)?;
        let state_path = self.path.join(&entry.state);
        let bytes = read_verified(&state_path, &entry.state_sha256)?;
        let invalid = |e: String| BadFile {
            path: state_path.clone(),
            problem: Problem::Invalid(e),
        };
        let state: CheckpointState =
            serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        if state.epochs_done != entry.epochs_done || state.weights != entry.weights {
            return Err(invalid(format!(
                "it is the state of epoch {} ({}), not of epoch {} ({})",
                state.epochs_done, state.weights, entry.epochs_done, entry.weights
            )));
        }
        Ok(ResumePoint {
            state,
            skipped: Vec::new(),
            weights,
            weights_path,
        })
    }

    /// The checkpoint to resume from, verified: every file it reads matches the SHA-256
    /// recorded when it was written, checked before the file is parsed. Files are read one
    /// at a time; only the chosen checkpoint's weights are kept.
    ///
    /// # Errors
    /// No checkpoint yet, a bad `checkpoint.json`, or (with [`ResumeFrom::Latest`]) a
    /// latest checkpoint that is missing, unreadable, changed or truncated: the error names
    /// the file and the choices (`--resume-from-verified` and the epoch it would continue
    /// after, or starting over). With [`ResumeFrom::NewestVerified`], only when no
    /// checkpoint verifies.
    pub fn resume_point(&self, from: ResumeFrom) -> Result<ResumePoint> {
        let manifest = self.read_manifest()?.with_context(|| {
            format!(
                "{} has no checkpoint yet (no checkpoint.json): start a fresh run instead of --resume",
                self.path.display()
            )
        })?;
        let entries = &manifest.checkpoints;
        let mut skipped = Vec::new();
        for (i, entry) in entries.iter().enumerate().rev() {
            match self.verify(entry) {
                Ok(mut point) => {
                    point.skipped = skipped;
                    return Ok(point);
                }
                Err(bad) if from == ResumeFrom::Latest => {
                    let dir = self.path.display();
                    let fallback = entries[..i].iter().rev().find(|e| self.verify(e).is_ok());
                    match fallback {
                        Some(e) => bail!(
                            "{bad}: rerun with --resume {dir} --resume-from-verified to continue \
                             after epoch {} (the newest checkpoint that verifies), or {}",
                            e.epochs_done,
                            self.start_over()
                        ),
                        None => bail!(
                            "{bad}, and no earlier checkpoint verifies: {}",
                            self.start_over()
                        ),
                    }
                }
                Err(bad) => skipped.push(bad.to_string()),
            }
        }
        bail!(
            "none of the {} checkpoints in {} verifies (the latest: {}): {}",
            entries.len(),
            self.path.display(),
            skipped.first().map_or("", String::as_str),
            self.start_over()
        )
    }

    /// Saves the network and its resume state, then, atomically, the manifest with their
    /// SHA-256s: a crash in between leaves the previous checkpoint in force. Checkpoints of
    /// later epochs (left by a run resumed from an earlier one) leave the manifest.
    ///
    /// # Errors
    /// An unwritable directory, or a bad `checkpoint.json` already there.
    pub fn checkpoint(
        &self,
        net: &dyn Network,
        state: &CheckpointState,
        cfg: &RunConfig,
    ) -> Result<()> {
        let epochs_done = state.epochs_done;
        if state.weights != Self::weights_name(epochs_done) {
            bail!(
                "internal: the checkpoint of epoch {epochs_done} is named {}",
                state.weights
            );
        }
        let weights_path = self.path.join(&state.weights);
        let weights = net
            .checkpoint_bytes()
            .map_err(|e| anyhow!("cannot save {}: {e}", weights_path.display()))?;
        let state_bytes = serde_json::to_string_pretty(state)?.into_bytes();
        let entry = CheckpointEntry {
            epochs_done,
            weights: state.weights.clone(),
            weights_sha256: sha256_hex(&weights),
            state: Self::state_name(epochs_done),
            state_sha256: sha256_hex(&state_bytes),
        };
        // `write_atomic` creates `checkpoints/`.
        write_atomic(&weights_path, &weights)?;
        write_atomic(&self.path.join(&entry.state), &state_bytes)?;
        let mut manifest = match self.read_manifest()? {
            Some(m) => m,
            // A fresh run: `run.json` holds `cfg` as `write_config` wrote it.
            None => CheckpointManifest {
                format: MANIFEST_FORMAT,
                config_sha256: sha256_hex(&config_bytes(cfg)?),
                checkpoints: Vec::new(),
            },
        };
        manifest.checkpoints.retain(|e| e.epochs_done < epochs_done);
        manifest.checkpoints.push(entry);
        write_atomic(
            &self.state_path(),
            serde_json::to_string_pretty(&manifest)?.as_bytes(),
        )
    }
}

impl RunDir {
    /// Drops all but the newest `keep` (at least one) checkpoints: first from the manifest,
    /// atomically, then their files, so that a crash in between leaves only unlisted
    /// files behind, never a listed file missing.
    ///
    /// # Errors
    /// An unreadable manifest or an unwritable directory.
    pub fn prune_checkpoints(&self, keep: u32) -> Result<()> {
        let Some(mut manifest) = self.read_manifest()? else {
            return Ok(());
        };
        let keep = usize::try_from(keep.max(1)).unwrap_or(usize::MAX);
        let n = manifest.checkpoints.len();
        if n <= keep {
            return Ok(());
        }
        let dropped: Vec<CheckpointEntry> = manifest.checkpoints.drain(..n - keep).collect();
        write_atomic(
            &self.state_path(),
            serde_json::to_string_pretty(&manifest)?.as_bytes(),
        )?;
        for e in dropped {
            for f in [&e.weights, &e.state] {
                match std::fs::remove_file(self.path.join(f)) {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                        return Err(anyhow!("cannot remove the old checkpoint {f}: {err}"));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

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

/// Loads the latest checkpoint of `dir` into `net`, after verifying its files against the
/// SHA-256s recorded when they were written.
///
/// # Errors
/// No checkpoint yet, a latest checkpoint that fails verification (see
/// [`RunDir::resume_point`]), or a checkpoint of another model.
pub fn load_latest(dir: &RunDir, net: &mut dyn Network) -> Result<CheckpointState> {
    load_checkpoint(dir, net, ResumeFrom::Latest)
}

/// Loads the checkpoint of `dir` that `from` selects into `net` (verified as in
/// [`RunDir::resume_point`]).
///
/// # Errors
/// As [`RunDir::resume_point`] and [`ResumePoint::load_into`].
pub fn load_checkpoint(
    dir: &RunDir,
    net: &mut dyn Network,
    from: ResumeFrom,
) -> Result<CheckpointState> {
    let point = dir.resume_point(from)?;
    point.load_into(net)?;
    Ok(point.state)
}
