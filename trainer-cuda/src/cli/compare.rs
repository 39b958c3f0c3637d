//! `onecycle compare`: the super-convergence study (see [`crate::study`]) on one regime.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use onecycle_core::Preset;

use crate::cli::common::TrainingArgs;
use crate::cli::schedule::parse_preset;
use crate::study::reference::Reference;
use crate::study::{run_study, Family, Regime, Setup, StudyConfig, DEFAULT_GRID};

/// Arguments of `onecycle compare`.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Validation images held out at the end of the training split (every choice is
    /// made on them; the test set is only reported).
    #[arg(long, default_value_t = 5000)]
    pub val_size: usize,
    /// Budget ladder in epochs, ascending (default: 0.5,1,2,4).
    #[arg(long, value_delimiter = ',')]
    pub budgets: Option<Vec<f64>>,
    /// Seeds (0, 1, ...): scores are medians over them.
    #[arg(long, default_value_t = 3)]
    pub seeds: u32,
    /// The rung the budget-aware families are tuned at (default: the ladder's middle).
    #[arg(long)]
    pub tune_budget: Option<f64>,
    /// The lr grid every family picks from, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_GRID)]
    pub grid: Vec<f64>,
    /// The looser target (R − x, or (c) = (a) − x without a reference) is this many
    /// percentage points below.
    #[arg(long, default_value_t = 0.2)]
    pub looser_by_points: f64,
    /// Reference schedules at their own budgets, `FAMILY@EPOCHS` (family step, constant,
    /// linear or cosine), comma-separated: the first sets target R, and 1cycle's budget,
    /// strict and budget-aware ratios are reported against each. `auto` is step decay
    /// at twice the ladder's longest rung (step@8 for the default ladder); `none` for the
    /// ladder-only study with targets (a), (b), (c).
    #[arg(long, default_value = "auto")]
    pub reference: String,
    /// The families whose ladders run, comma-separated, from 1cycle, 1cycle-3phase,
    /// 1cycle-finder, step, cosine, linear, constant (default: all).
    #[arg(long)]
    pub families: Option<String>,
    /// 1cycle conventions and defaults.
    #[arg(long, default_value = "pytorch", value_parser = parse_preset)]
    pub preset: Preset,
    /// Output directory: study.md, study.json, plots, and the run store (finished runs
    /// are kept and skipped when the same study runs again here).
    #[arg(long, default_value = "runs/compare")]
    pub out: PathBuf,
    /// Data, model and device (`--train-limit` defaults to 5000 here; `--full` lifts it).
    #[command(flatten)]
    pub common: TrainingArgs,
    /// Train on the whole training split (minus the validation slice).
    #[arg(long, conflicts_with = "train_limit")]
    pub full: bool,
}

/// Training images of the default regime.
pub const DEFAULT_TRAIN_LIMIT: usize = 5000;

/// Runs `onecycle compare`.
///
/// # Errors
/// Bad options, data or model problems.
pub fn run(args: &CompareArgs, out: &mut dyn Write) -> Result<()> {
    let c = &args.common;
    let budgets = args
        .budgets
        .clone()
        .unwrap_or_else(|| Regime::ladder(0.5, 4));
    let train_limit = if args.full {
        None
    } else {
        Some(c.train_limit.unwrap_or(DEFAULT_TRAIN_LIMIT))
    };
    let regime = Regime {
        name: format!(
            "{}-{}",
            c.dataset,
            train_limit.map_or("full".to_string(), |n| n.to_string())
        ),
        dataset: c.dataset,
        train_limit,
        val_size: args.val_size,
        test_limit: c.test_limit,
        tune_budget: args.tune_budget.unwrap_or_else(|| Regime::middle(&budgets)),
        budgets,
        seeds: args.seeds,
    };
    let regime_longest = regime.longest();
    let setup = Setup {
        model: c.model,
        optimizer: c.optimizer,
        weight_decay: c.weight_decay,
        batch_size: c.batch_size,
        preset: args.preset,
    };
    let mut study = StudyConfig {
        regime,
        setup,
        grid: args.grid.clone(),
        looser_by: args.looser_by_points / 100.0,
        device: crate::nn::DeviceKind::Cpu(crate::nn::Backend::Fast),
        range: crate::train::range_test::trainer_range_plan(),
        families: match &args.families {
            Some(list) => {
                Family::parse_list(list).map_err(|e| anyhow::anyhow!("--families: {e}"))?
            }
            None => Family::ALL.to_vec(),
        },
        references: parse_references(&args.reference, regime_longest)?,
        out: args.out.clone(),
        verbosity: c.verbosity(),
    };
    // Every option is checked before the data set is loaded.
    study.validate()?;
    let data = c.load_data()?;
    let (_, device) = c.build(&data)?;
    study.device = device;
    let report = run_study(&study, &data)?;
    out.write_all(report.markdown().as_bytes())?;
    writeln!(
        out,
        "\n{} and the run store (runs/) in {}",
        report.outputs().join(", "),
        args.out.display()
    )?;
    Ok(())
}

/// The `--reference` list: `none`, `auto` (step decay at twice `longest`), or
/// `FAMILY@EPOCHS` items separated by commas.
fn parse_references(list: &str, longest: f64) -> Result<Vec<Reference>> {
    match list.trim() {
        "none" => return Ok(Vec::new()),
        "auto" => return Ok(vec![Reference::twice(longest)]),
        _ => {}
    }
    list.split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| x.parse().map_err(|e| anyhow::anyhow!("--reference: {e}")))
        .collect()
}
