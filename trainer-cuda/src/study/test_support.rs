//! Hand-made run records and study configs for the study's unit tests.

use crate::nn::ModelKind;
use crate::study::reference::Reference;
use crate::study::store::RunRecord;
use crate::study::{Family, Regime, Setup, StudyConfig, StudyRun};
use crate::train::config::{OptimizerName, RunConfig};
use crate::train::schedule::{ScheduleKind, ScheduleSpec};
use onecycle_core::Preset;

/// A study config of `seeds` seeds on `budgets` (tuned at the second rung, or the only one).
pub(crate) fn config(
    budgets: Vec<f64>,
    seeds: u32,
    looser_by: f64,
    families: Vec<Family>,
    references: Vec<Reference>,
) -> StudyConfig {
    StudyConfig {
        regime: Regime {
            name: "t".into(),
            dataset: crate::data::DatasetName::Mnist,
            train_limit: None,
            val_size: 10,
            test_limit: None,
            tune_budget: budgets[1.min(budgets.len() - 1)],
            budgets,
            seeds,
        },
        setup: Setup {
            model: ModelKind::MnistCnn,
            optimizer: OptimizerName::Sgd,
            weight_decay: 0.0,
            batch_size: 1,
            preset: Preset::PyTorch,
        },
        grid: vec![0.1, 0.3],
        looser_by,
        device: crate::nn::DeviceKind::Cpu(crate::nn::Backend::Fast),
        range: crate::train::range_test::trainer_range_plan(),
        families,
        references,
        out: "unused".into(),
        verbosity: crate::train::progress::Verbosity::Quiet,
    }
}

pub(crate) fn run_config() -> RunConfig {
    RunConfig {
        dataset: crate::data::DatasetName::Mnist,
        model: ModelKind::MnistCnn,
        optimizer: OptimizerName::Sgd,
        weight_decay: 0.0,
        batch_size: 1,
        epochs: 1.0,
        seed: 0,
        schedule: ScheduleSpec {
            kind: ScheduleKind::Onecycle,
            lr: 1.0,
            total_steps: 1,
            preset: Preset::PyTorch,
            three_phase: false,
            fixed_momentum: 0.9,
        },
        evals_per_epoch: 1,
        val_size: 10,
        train_limit: None,
        test_limit: None,
    }
}

pub(crate) fn run(
    family: Family,
    budget: f64,
    seed: u64,
    acc: f64,
    curve: Vec<(f64, f64)>,
) -> StudyRun {
    StudyRun {
        family,
        lr: 0.1,
        budget,
        seed,
        record: RunRecord {
            config: run_config(),
            device: "cpu".into(),
            steps: 1,
            final_val_acc: acc,
            final_test_acc: acc - 0.001,
            train_seconds: budget * 10.0,
            diverged: false,
            curve,
            command: String::new(),
            content_sha256: None,
        },
    }
}
