//! `onecycle compare`: 1cycle against baselines, side by side.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use onecycle_core::Preset;

use crate::cli::common::TrainingArgs;
use crate::cli::schedule::parse_preset;
use crate::train::compare::{compare, CompareConfig};
use crate::train::config::RunConfig;
use crate::train::schedule::{ScheduleKind, ScheduleSpec};

/// Arguments of `onecycle compare`.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Epochs per schedule (the same step budget for all).
    #[arg(long, default_value_t = 1)]
    pub budget_epochs: u32,
    /// Target test accuracy (fraction, e.g. 0.98).
    #[arg(long, default_value_t = 0.98)]
    pub target_acc: f64,
    /// Test-set evaluations per epoch (resolution of "steps to target").
    #[arg(long, default_value_t = 8)]
    pub evals_per_epoch: u32,
    /// Constant learning rates to try, comma-separated (default: half-decades 1e-3..0.3).
    #[arg(long, value_delimiter = ',', default_values_t = crate::train::compare::CONSTANT_GRID)]
    pub grid: Vec<f64>,
    /// 1cycle conventions and defaults.
    #[arg(long, default_value = "pytorch", value_parser = parse_preset)]
    pub preset: Preset,
    /// Output directory (table, JSON, plots, per-run metrics).
    #[arg(long, default_value = "runs/compare")]
    pub out: PathBuf,
    /// Data, model and device.
    #[command(flatten)]
    pub common: TrainingArgs,
}

/// Runs `onecycle compare`.
///
/// # Errors
/// Bad options, data or model problems.
pub fn run(args: &CompareArgs, out: &mut dyn Write) -> Result<()> {
    if !(args.target_acc > 0.0 && args.target_acc <= 1.0) {
        bail!(
            "--target-acc {} is not a fraction in (0, 1]: e.g. 0.98 for 98%",
            args.target_acc
        );
    }
    if let Some(bad) = args.grid.iter().find(|lr| !(lr.is_finite() && **lr > 0.0)) {
        bail!("--grid: {bad} is not a learning rate: give positive numbers such as 1e-3,1e-2");
    }
    if args.budget_epochs == 0 {
        bail!("--budget-epochs 0 trains nothing: give at least 1");
    }
    let c = &args.common;
    let data = c.load_data()?;
    let (_, device) = c.build(&data)?;
    let run = RunConfig {
        dataset: c.dataset,
        model: c.model,
        optimizer: c.optimizer,
        weight_decay: c.weight_decay,
        batch_size: c.batch_size,
        epochs: args.budget_epochs,
        seed: c.seed,
        schedule: ScheduleSpec {
            kind: ScheduleKind::Onecycle,
            lr: 0.0,
            total_steps: 0,
            preset: args.preset.into(),
            three_phase: false,
            fixed_momentum: c.optimizer.default_momentum(),
        },
        evals_per_epoch: args.evals_per_epoch,
        train_limit: c.train_limit,
        test_limit: c.test_limit,
    };
    if run.steps_per_epoch(data.train.len()) == 0 {
        bail!(
            "--batch-size {} is larger than the {} training images: lower it",
            c.batch_size,
            run.train_images(data.train.len())
        );
    }
    let report = compare(
        &CompareConfig {
            run,
            target_acc: args.target_acc,
            device,
            range: crate::train::range_test::trainer_range_config(),
            grid: args.grid.clone(),
            verbosity: c.verbosity(),
        },
        &data,
    )?;
    report.write(&args.out)?;
    out.write_all(report.markdown().as_bytes())?;
    writeln!(
        out,
        "\nTable, JSON, plots (accuracy.svg, loss.svg, schedules.svg, find-lr.svg) and per-run metrics in {}",
        args.out.display()
    )?;
    Ok(())
}
