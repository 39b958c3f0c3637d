//! What the convergence bench trains: data, model, budget, grid, and the quick mode.

use std::path::PathBuf;

use anyhow::{bail, Result};
use onecycle_core::finder::Method;
use onecycle_core::RangeTestConfig;
use trainer_cuda::data::{resolve_data_dir, DatasetName};
use trainer_cuda::train::PresetName;

/// Set to `1` (or `true`) for the quick mode: a CI-sized run on real data (< 3 minutes).
pub const QUICK_ENV: &str = "ONECYCLE_BENCH_QUICK";
/// `mnist` (default) or `fashion-mnist`.
pub const DATASET_ENV: &str = "ONECYCLE_BENCH_DATASET";
/// Data directory (shared with the `onecycle` CLI); default: the workspace's `data/`.
pub const DATA_ENV: &str = "ONECYCLE_DATA";

/// Whether the quick mode is on ([`QUICK_ENV`]).
#[must_use]
pub fn quick_from_env() -> bool {
    std::env::var(QUICK_ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
}

/// The whole experiment's settings. Every schedule gets the same model (the reference CNN),
/// initial weights (`seed`), data order (`seed`, epoch), batch size and step budget.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Data set.
    pub dataset: DatasetName,
    /// Where the data set lives (fetched there on first use).
    pub data_dir: PathBuf,
    /// Use only the first N training images (`None`: all 60 000).
    pub train_limit: Option<usize>,
    /// Use only the first N test images (`None`: all 10 000).
    pub test_limit: Option<usize>,
    /// Epochs per run (the step budget is `epochs × ⌊train images / batch⌋`).
    pub epochs: u32,
    /// Images per step.
    pub batch_size: usize,
    /// Test evaluations per epoch: the resolution of "steps to target".
    pub evals_per_epoch: u32,
    /// Seed of the initial weights and the data order.
    pub seed: u64,
    /// SGD's L2 weight decay (the CLI's default).
    pub weight_decay: f32,
    /// Constant learning rates tried; the best (highest final test accuracy) is the baseline.
    /// Fixed in advance, independent of the range test.
    pub grid: Vec<f64>,
    /// The range test that picks the 1cycle max lr.
    pub range: RangeTestConfig<f64>,
    /// Which suggestion of the range test is the 1cycle max lr. Default
    /// [`Method::Minimum`] (lr at the lowest smoothed loss ÷ 10), chosen before any
    /// training result was seen, for a property of the finder: the β = 0.98 smoothing lags
    /// ≈ 49 steps, so the smoothed minimum sits ≈ 0.7 decade (in a 400-step, 6-decade
    /// sweep) above the real one and `minimum` lands just below where the loss stops
    /// falling, which is Smith's rule for the 1cycle peak (arXiv:1803.09820 §4.1); `valley`
    /// reads the lagging descent and comes out 10–30× lower on this model.
    pub method: Method,
    /// 1cycle preset.
    pub preset: PresetName,
    /// Whether this is the quick mode (shown in the report).
    pub quick: bool,
}

impl Plan {
    /// The default budget: one epoch of the full training set (468 steps of 128), 10 test
    /// evaluations on all 10 000 test images, a 6-point constant grid `1e-3 … 0.3`
    /// (half-decade steps) and a 400-step range test `1e-5 → 10`. About 11 runs of one
    /// epoch: ≈ 10–12 minutes on 2 idle cores.
    #[must_use]
    pub fn full(dataset: DatasetName, data_dir: PathBuf) -> Self {
        Self {
            dataset,
            data_dir,
            train_limit: None,
            test_limit: None,
            epochs: 1,
            batch_size: 128,
            evals_per_epoch: 10,
            seed: 0,
            weight_decay: 1e-4,
            grid: vec![1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1],
            range: RangeTestConfig {
                start_lr: 1e-5,
                end_lr: 10.0,
                num_steps: 400,
                ..RangeTestConfig::default()
            },
            method: Method::Minimum,
            preset: PresetName::Pytorch,
            quick: false,
        }
    }

    /// The quick mode: the first 12 800 training images (100 steps), 2 000 test images,
    /// 5 evaluations, a 3-point grid `3e-3, 3e-2, 0.3` and a 100-step range test. Real
    /// data, the same code path; well under 3 minutes on 2 cores.
    #[must_use]
    pub fn quick(dataset: DatasetName, data_dir: PathBuf) -> Self {
        Self {
            train_limit: Some(12_800),
            test_limit: Some(2_000),
            evals_per_epoch: 5,
            grid: vec![3e-3, 3e-2, 3e-1],
            range: RangeTestConfig {
                start_lr: 1e-5,
                end_lr: 10.0,
                num_steps: 100,
                ..RangeTestConfig::default()
            },
            quick: true,
            ..Self::full(dataset, data_dir)
        }
    }

    /// The plan the environment asks for: [`QUICK_ENV`], [`DATASET_ENV`], [`DATA_ENV`].
    ///
    /// # Errors
    /// An unknown data set name (the message lists the accepted ones).
    pub fn from_env() -> Result<Self> {
        let dataset = match std::env::var(DATASET_ENV) {
            Err(_) => DatasetName::Mnist,
            Ok(v) => match v.trim() {
                "" | "mnist" => DatasetName::Mnist,
                "fashion-mnist" | "fashion" => DatasetName::FashionMnist,
                other => {
                    bail!("{DATASET_ENV}={other} is not supported: use `mnist` or `fashion-mnist`")
                }
            },
        };
        let data_dir = if std::env::var_os(DATA_ENV).is_some_and(|v| !v.is_empty()) {
            resolve_data_dir(None)
        } else {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data"))
        };
        Ok(if quick_from_env() {
            Self::quick(dataset, data_dir)
        } else {
            Self::full(dataset, data_dir)
        })
    }

    /// Optimiser steps in every run, for a training split of `train_len` images.
    #[must_use]
    pub fn total_steps(&self, train_len: usize) -> u32 {
        let n = self.train_limit.map_or(train_len, |l| l.min(train_len));
        u32::try_from(n / self.batch_size.max(1))
            .unwrap_or(u32::MAX)
            .saturating_mul(self.epochs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_budget_is_one_mnist_epoch_and_quick_is_100_steps() {
        let full = Plan::full(DatasetName::Mnist, PathBuf::from("d"));
        assert_eq!(full.total_steps(60_000), 468);
        let quick = Plan::quick(DatasetName::Mnist, PathBuf::from("d"));
        assert_eq!(quick.total_steps(60_000), 100);
        // The grid is fixed and spans 1e-3 … 0.3 whatever the range test finds.
        assert_eq!(full.grid.first(), Some(&1e-3));
        assert_eq!(full.grid.last(), Some(&0.3));
        assert!(full
            .range
            .validate(trainer_cuda::train::range_test::MAX_RANGE_STEPS)
            .is_ok());
    }
}
