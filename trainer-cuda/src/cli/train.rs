//! `onecycle train`: one training run with checkpoints, metrics and `--resume`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use onecycle_core::Preset;

use crate::cli::choice::choice;
use crate::cli::common::TrainingArgs;
use crate::cli::schedule::parse_preset;
use crate::data::Split;
use crate::dist::Collective;
use crate::nn::Network;
use crate::train::checkpoint::{CheckpointState, ResumeFrom, ResumePoint, RunDir};
use crate::train::config::{MaxLr, RunConfig};
use crate::train::learner::{diverged, Learner};
use crate::train::progress::{note, Verbosity};
use crate::train::run::{RunEnd, RunResult};
use crate::train::schedule::{ScheduleKind, ScheduleSpec};

/// Arguments of `onecycle train`.
#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Learning-rate schedule.
    #[arg(long, value_parser = choice::<ScheduleKind>(), default_value = "onecycle")]
    pub schedule: ScheduleKind,
    /// 1cycle conventions and defaults.
    #[arg(long, default_value = "pytorch", value_parser = parse_preset)]
    pub preset: Preset,
    /// Smith's three-phase 1cycle.
    #[arg(long)]
    pub three_phase: bool,
    /// Peak (or constant) learning rate, or `auto`: run the range test and use its valley.
    #[arg(long, default_value = "auto")]
    pub max_lr: MaxLr,
    /// Epochs; fractional budgets (e.g. 0.25) end part-way through the last epoch.
    #[arg(long, default_value_t = 2.0)]
    pub epochs: f64,
    /// Evaluations per epoch (on the validation slice if there is one, else on the test set).
    #[arg(long, default_value_t = 1)]
    pub evals_per_epoch: u32,
    /// Hold out the last N training images as a validation slice: evaluations use it,
    /// the test set is scored once at the end (0: evaluate on the test set).
    #[arg(long, default_value_t = 0)]
    pub val_size: usize,
    /// Output directory (metrics, checkpoints, plots); default `runs/<schedule>-<time>`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint (its run.json
    /// decides everything else). Every file read is first checked against the SHA-256
    /// recorded when it was written; a checkpoint that fails the check stops the resume.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// With --resume: when the latest checkpoint is missing, unreadable, changed or
    /// truncated, continue after the newest checkpoint that verifies instead of stopping
    /// (its metrics too: later epochs are trained again and their files rewritten).
    #[arg(long, requires = "resume")]
    pub resume_from_verified: bool,
    /// Keep the newest N per-epoch checkpoints (older ones are deleted once a newer one is
    /// safely written, so disk use grows linearly with the run); 0 keeps every one. Not
    /// recorded with the run: give it again with --resume.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub keep_checkpoints: u32,
    /// Stop after this many epochs in total, as if interrupted (resume later).
    #[arg(long, hide = true)]
    pub stop_after_epoch: Option<u32>,
    /// Under mpirun: every rank other than 0 also writes its own metrics (steps.csv with the
    /// lr and momentum it used) to `<out>/rank-<r>/`, to check that the ranks agree.
    #[arg(long)]
    pub log_every_rank: bool,
    /// Data, model and device.
    #[command(flatten)]
    pub common: TrainingArgs,
    /// The ids of the flags typed on the command line ([`crate::cli::Cli::parse_recording`]);
    /// `--resume` refuses those that differ from the run. Empty: nothing is checked.
    #[arg(skip)]
    pub given: Vec<String>,
}

/// Runs `onecycle train`.
///
/// # Errors
/// Bad options, data or checkpoint problems.
pub fn run(args: &TrainArgs, world: &dyn Collective, out: &mut dyn Write) -> Result<()> {
    // Rank 0 alone reports and writes (config, curve, checkpoints, metrics, plots); every rank
    // reads a run to resume.
    let learner = Learner {
        world,
        verbosity: if world.rank() == 0 {
            args.common.verbosity()
        } else {
            Verbosity::Quiet
        },
        keep_checkpoints: (args.keep_checkpoints > 0).then_some(args.keep_checkpoints),
        stop_after_epochs: args.stop_after_epoch,
        label: None,
    };
    if args.resume.is_none() {
        learner.check_world(args.common.batch_size)?;
    }
    if args.resume.is_none() && !(args.epochs.is_finite() && args.epochs > 0.0) {
        bail!(
            "--epochs {} is not a training budget: give a positive number such as 0.5 or 2",
            args.epochs
        );
    }
    let out_path = args.out.clone().unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        PathBuf::from(format!("runs/{}-{t}", args.schedule.name()))
    });
    if let Some(resume) = &args.resume {
        if !resume.is_dir() {
            bail!(
                "--resume {}: no run directory there: give the --out of the run to continue",
                resume.display()
            );
        }
    }
    // One writer per run directory: locked before anything is read or written there (a
    // second `train` or `--resume` on it is refused, naming the holder).
    let _lock = if learner.writes() {
        let locked = args.resume.as_ref().unwrap_or(&out_path);
        Some(crate::lock::DirLock::acquire(locked, "onecycle train")?)
    } else {
        None
    };
    // A run to resume is read (and checked) before any data is loaded.
    let resumed = match &args.resume {
        Some(resume) => Some(open_resumed(args, &learner, resume)?),
        None => None,
    };
    // A resumed run reads its own data set and builds its own model (no flag needed).
    let mut base = args.common.clone();
    if let Some((_, cfg, _)) = &resumed {
        base.dataset = cfg.dataset;
        base.model = cfg.model;
    }
    let data = base.load_data()?;
    let (mut net, dir, cfg, start) = match resumed {
        Some((dir, cfg, point)) => {
            let (net, state) = load_resumed(&learner, &base, &data, &dir, &cfg, point)?;
            (net, dir, cfg, Some(state))
        }
        None => {
            let (mut net, _) = args.common.build(&data)?;
            let dir = RunDir { path: out_path };
            let mut cfg = fresh_config(args);
            learner.plan(&mut cfg, args.max_lr, net.as_mut(), &data, &dir)?;
            (net, dir, cfg, None)
        }
    };
    let result = learner.fit(&cfg, net.as_mut(), &data, start, Some(&dir))?;
    if !learner.writes() {
        if args.log_every_rank {
            result
                .metrics
                .write(&dir.path.join(format!("rank-{}", world.rank())))?;
        }
        return diverged(result.end);
    }
    learner.finish(&cfg, &result, &dir)?;
    writeln!(out, "{}", summary(&cfg, &result, &dir))?;
    diverged(result.end)
}

/// `--resume DIR`: the run's config (typed flags that contradict it refused) and a verified
/// resume point.
fn open_resumed(
    args: &TrainArgs,
    learner: &Learner<'_>,
    resume: &std::path::Path,
) -> Result<(RunDir, RunConfig, ResumePoint)> {
    let dir = RunDir {
        path: resume.to_path_buf(),
    };
    // Verified (every file against its recorded SHA-256) before anything is trained.
    let from = if args.resume_from_verified {
        ResumeFrom::NewestVerified
    } else {
        ResumeFrom::Latest
    };
    let (cfg, point) = learner.open_checked(&dir, from, |cfg| {
        // The run continues as recorded: a typed flag that says otherwise is refused.
        let differ = crate::cli::resume_flags::conflicts(args, cfg);
        if !differ.is_empty() {
            bail!(
                "{} holds a run with other settings: {}; --resume continues a run as recorded in its run.json, so drop these flags, or start a new run with another --out",
                resume.display(),
                differ.join(", ")
            );
        }
        if args.given.iter().any(|g| g == "device") {
            note(
                learner.verbosity,
                "--device is not recorded with a run: on another device than the one it started on, the resumed run's float rounding (and so its numbers) differ from an uninterrupted run",
            );
        }
        Ok(())
    })?;
    Ok((dir, cfg, point))
}

/// Builds the resumed run's network from its own model, optimiser and seed, so that the
/// checkpoint loads, and loads it.
fn load_resumed(
    learner: &Learner<'_>,
    base: &TrainingArgs,
    data: &Split,
    dir: &RunDir,
    cfg: &RunConfig,
    point: ResumePoint,
) -> Result<(Box<dyn Network>, CheckpointState)> {
    let mut resume_args = base.clone();
    resume_args.optimizer = cfg.optimizer;
    resume_args.weight_decay = cfg.weight_decay;
    resume_args.seed = cfg.seed;
    resume_args.train_limit = cfg.train_limit;
    resume_args.test_limit = cfg.test_limit;
    let (mut net, _) = resume_args.build(data)?;
    point.load_into(net.as_mut())?;
    for s in &point.skipped {
        note(
            learner.verbosity,
            &format!("--resume-from-verified: passing over: {s}"),
        );
    }
    let state = point.state;
    note(
        learner.verbosity,
        &format!(
            "resuming {} after epoch {} (step {})",
            dir.path.display(),
            state.epochs_done,
            state.steps_done
        ),
    );
    Ok((net, state))
}

/// A fresh run's config from the flags; the learner's plan fills in the steps and the lr.
fn fresh_config(args: &TrainArgs) -> RunConfig {
    let c = &args.common;
    RunConfig {
        dataset: c.dataset,
        model: c.model,
        optimizer: c.optimizer,
        weight_decay: c.weight_decay,
        batch_size: c.batch_size,
        epochs: args.epochs,
        seed: c.seed,
        schedule: ScheduleSpec {
            kind: args.schedule,
            lr: 0.0,
            total_steps: 0,
            preset: args.preset,
            three_phase: args.three_phase,
            fixed_momentum: c.optimizer.default_momentum(),
        },
        evals_per_epoch: args.evals_per_epoch,
        val_size: args.val_size,
        train_limit: c.train_limit,
        test_limit: c.test_limit,
    }
}

/// The line `onecycle train` prints at the end.
fn summary(cfg: &RunConfig, result: &RunResult, dir: &RunDir) -> String {
    let last = result.metrics.evals.last();
    format!(
        "{}: {} after {} steps; test accuracy {}; outputs in {}",
        cfg.schedule.kind.name(),
        match result.end {
            RunEnd::Completed => "completed",
            RunEnd::Stopped => "stopped",
            RunEnd::Diverged => "DIVERGED",
        },
        result.metrics.steps.len(),
        match (result.metrics.final_test, last) {
            (Some(t), _) if result.metrics.eval_split == crate::train::EvalSplit::Validation =>
                format!(
                    "{:.2}% (validation {:.2}%)",
                    100.0 * t.acc,
                    100.0 * last.map_or(0.0, |e| e.acc)
                ),
            (Some(t), _) => format!("{:.2}%", 100.0 * t.acc),
            (None, Some(e)) => format!("{:.2}% (last evaluation)", 100.0 * e.acc),
            (None, None) => "n/a".into(),
        },
        dir.path.display()
    )
}
