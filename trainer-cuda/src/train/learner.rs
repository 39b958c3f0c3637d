//! The learner: what `onecycle train` does between its flags and its summary line, as a
//! library. A fresh run is planned (total steps from the budget, the peak lr given or found
//! by the range test, the schedule checked, `run.json` written) and trained; a run on disk
//! is opened (its config and a verified resume point) and continued bit for bit. Metrics,
//! checkpoints and the training chart go to the run directory.
//!
//! Under MPI every rank plans, trains and resumes alike; only rank 0 writes.
//!
//! ```no_run
//! use trainer_cuda::train::checkpoint::{ResumeFrom, RunDir};
//! use trainer_cuda::dist::Solo;
//! use trainer_cuda::train::learner::Learner;
//! # fn build(cfg: &trainer_cuda::train::RunConfig) -> Box<dyn trainer_cuda::nn::Network> { unimplemented!() }
//! # fn main() -> anyhow::Result<()> {
//! # let data: trainer_cuda::data::Split = unimplemented!();
//! let learner = Learner::new(&Solo);
//! let dir = RunDir { path: "runs/mine".into() };
//! // Continue a run that was interrupted: config and checkpoint verified before anything trains.
//! let (cfg, point) = learner.open(&dir, ResumeFrom::Latest)?;
//! let mut net = build(&cfg);
//! point.load_into(net.as_mut())?;
//! let result = learner.fit(&cfg, net.as_mut(), &data, Some(point.state), Some(&dir))?;
//! learner.finish(&cfg, &result, &dir)?;
//! # Ok(()) }
//! ```

use anyhow::{anyhow, bail, Result};

use crate::data::{Dataset, Split};
use crate::dist::{Collective, DataParallel};
use crate::nn::Network;
use crate::train::checkpoint::{CheckpointState, ResumeFrom, ResumePoint, RunDir};
use crate::train::config::{MaxLr, RunConfig};
use crate::train::progress::{note, Verbosity};
use crate::train::range_test::{auto_lr, trainer_range_plan};
use crate::train::run::{train, RunControl, RunEnd, RunResult};

/// Trains runs into run directories: the world it runs in and what does not change results.
#[derive(Clone)]
pub struct Learner<'a> {
    /// The processes training together (`&Solo` for one).
    pub world: &'a dyn Collective,
    /// Bars and notes (rank 0 only; other ranks are quiet).
    pub verbosity: Verbosity,
    /// Keep only the newest this many checkpoints (`None`: every one).
    pub keep_checkpoints: Option<u32>,
    /// Stop after this many epochs in total, as if interrupted.
    pub stop_after_epochs: Option<u32>,
    /// The progress bar's label (`None`: the schedule's name).
    pub label: Option<String>,
}

impl<'a> Learner<'a> {
    /// A learner in `world`, quiet, keeping 3 checkpoints (the CLI's default).
    #[must_use]
    pub fn new(world: &'a dyn Collective) -> Self {
        Self {
            world,
            verbosity: Verbosity::Quiet,
            keep_checkpoints: Some(3),
            stop_after_epochs: None,
            label: None,
        }
    }

    /// Whether this process writes the run's files (rank 0).
    #[must_use]
    pub fn writes(&self) -> bool {
        self.world.rank() == 0
    }

    /// Checks that `batch_size` (the global batch) splits over the world.
    ///
    /// # Errors
    /// When it does not divide by the number of processes.
    pub fn check_world(&self, batch_size: usize) -> Result<()> {
        crate::dist::check_world(batch_size, self.world)
    }

    /// Opens a run on disk: its config (verified against the SHA-256 its checkpoints
    /// recorded) and the resume point `from` selects (every file verified), before
    /// anything is trained. Build the network from the config, then
    /// [`ResumePoint::load_into`] it.
    ///
    /// # Errors
    /// A missing, changed or unreadable file, with the fix; a batch that does not split
    /// over this world.
    pub fn open(&self, dir: &RunDir, from: ResumeFrom) -> Result<(RunConfig, ResumePoint)> {
        self.open_checked(dir, from, |_| Ok(()))
    }

    /// [`Learner::open`] with the caller's own `check` of the run's config (for example,
    /// settings the caller was given that contradict the run's), made after the world
    /// check and before any checkpoint is read and verified.
    ///
    /// # Errors
    /// As [`Learner::open`], and whatever `check` returns.
    pub fn open_checked(
        &self,
        dir: &RunDir,
        from: ResumeFrom,
        check: impl FnOnce(&RunConfig) -> Result<()>,
    ) -> Result<(RunConfig, ResumePoint)> {
        let cfg = dir.read_config()?;
        self.check_world(cfg.batch_size)?;
        check(&cfg)?;
        let point = dir.resume_point(from)?;
        Ok((cfg, point))
    }

    /// Plans a fresh run in `dir`: fills in `cfg.schedule.total_steps` from the budget and
    /// `cfg.schedule.lr` from `max_lr` (for [`MaxLr::Auto`], the range test's plan on
    /// `net` from its initial weights, which it leaves unchanged, every sweep's curve
    /// written to `dir` as `find-lr.csv`, `find-lr-sweep2.csv`, ...), checks the schedule
    /// and writes `run.json`.
    ///
    /// # Errors
    /// A batch larger than the training images, a budget that is not one, a range test
    /// that found no edge, an invalid schedule, an unwritable directory, or `dir` already
    /// holding a run with checkpoints.
    pub fn plan(
        &self,
        cfg: &mut RunConfig,
        max_lr: MaxLr,
        net: &mut dyn Network,
        data: &Split,
        dir: &RunDir,
    ) -> Result<()> {
        if dir.state_path().exists() {
            bail!(
                "{} already holds a run with checkpoints: continue it with --resume {}, or choose another --out",
                dir.path.display(),
                dir.path.display()
            );
        }
        if cfg.steps_per_epoch(data.train.len()) == 0 {
            bail!(
                "--batch-size {} is larger than the {} training images: lower it",
                cfg.batch_size,
                cfg.train_images(data.train.len())
            );
        }
        cfg.schedule.total_steps = cfg
            .total_steps(data.train.len())
            .map_err(|e| anyhow!("--epochs: {e}"))?;
        let parts = cfg.partitions(data).map_err(|e| anyhow!(e))?;
        cfg.schedule.lr = match max_lr {
            MaxLr::Value(v) => v,
            MaxLr::Auto => self.auto_max_lr(cfg, net, &parts.train, dir)?,
        };
        cfg.schedule
            .build()
            .map_err(|e| anyhow!("invalid schedule: {e}"))?;
        if self.writes() {
            dir.write_config(cfg)?;
        }
        Ok(())
    }

    /// `--max-lr auto`: the range test's plan on the training part, its curves in `dir`.
    fn auto_max_lr(
        &self,
        cfg: &RunConfig,
        net: &mut dyn Network,
        train_set: &Dataset,
        dir: &RunDir,
    ) -> Result<f64> {
        let plan = trainer_range_plan();
        self.check_world(plan.batch_for(cfg.batch_size))?;
        let sweeps = plan.run(
            &mut DataParallel::new(net, self.world),
            train_set,
            cfg.batch_size,
            cfg.seed,
            Some(cfg.optimizer.default_momentum()),
            self.verbosity,
        )?;
        let v = auto_lr(&sweeps)?;
        if self.writes() {
            // `write_atomic` creates the run directory.
            for (i, outcome) in sweeps.outcomes.iter().enumerate() {
                let name = if i == 0 {
                    "find-lr.csv".to_owned()
                } else {
                    format!("find-lr-sweep{}.csv", i + 1)
                };
                crate::atomic::write_atomic(&dir.path.join(name), outcome.csv().as_bytes())?;
            }
        }
        let spread = sweeps.consensus.as_ref().map_or(1.0, |c| c.spread);
        note(
            self.verbosity,
            &format!(
                "--max-lr auto: {v:.3e}, the range test's {}divergence edge / {}{}",
                if plan.sweeps > 1 { "median " } else { "" },
                plan.divisor,
                if plan.sweeps > 1 {
                    format!(" ({} sweeps, spread {spread:.2}x)", plan.sweeps)
                } else {
                    String::new()
                }
            ),
        );
        Ok(v)
    }

    /// Trains `net` as `cfg` says, from `start` (a resume point's state) or the beginning,
    /// with checkpoints and metrics in `dir` (rank 0; `None`: in memory only, as the study
    /// trains).
    ///
    /// # Errors
    /// As [`train`].
    pub fn fit(
        &self,
        cfg: &RunConfig,
        net: &mut dyn Network,
        data: &Split,
        start: Option<CheckpointState>,
        dir: Option<&RunDir>,
    ) -> Result<RunResult> {
        train(
            cfg,
            &mut DataParallel::new(net, self.world),
            data,
            start,
            &RunControl {
                dir: dir.filter(|_| self.writes()),
                stop_after_epochs: self.stop_after_epochs,
                verbosity: self.verbosity,
                label: self
                    .label
                    .clone()
                    .unwrap_or_else(|| cfg.schedule.kind.name().to_string()),
                keep_checkpoints: self.keep_checkpoints,
            },
        )
    }

    /// Writes a finished run's metrics (CSV) and `training.svg` to `dir` (rank 0; other
    /// ranks write nothing).
    ///
    /// # Errors
    /// An unwritable directory.
    pub fn finish(&self, cfg: &RunConfig, result: &RunResult, dir: &RunDir) -> Result<()> {
        if !self.writes() {
            return Ok(());
        }
        result.metrics.write(&dir.path)?;
        let charts = crate::train::charts::run_charts(&result.metrics, cfg.schedule.kind.name());
        crate::plot::save_stacked_svg(&charts, &dir.path.join("training.svg"))
    }
}

/// The error of a run that diverged, with the fix.
///
/// # Errors
/// Always, when `end` is [`RunEnd::Diverged`].
pub fn diverged(end: RunEnd) -> Result<()> {
    if end == RunEnd::Diverged {
        bail!("the loss became non-finite: lower --max-lr");
    }
    Ok(())
}
