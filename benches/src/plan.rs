//! What the convergence bench runs: the study's regimes, its fixed settings, the quick
//! mode and the data directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use trainer_cuda::data::{data_dir_or, DatasetName};
use trainer_cuda::nn::{Backend, DeviceKind};
use trainer_cuda::study::reference::Reference;
use trainer_cuda::study::{Family, Regime, Setup, StudyConfig, DEFAULT_GRID};
use trainer_cuda::train::progress::Verbosity;
use trainer_cuda::train::range_test::trainer_range_plan;
use trainer_cuda::train::{ModelName, OptimizerName, PresetName};

/// Set to `1` (or `true`) for the quick mode: a CI-sized study on real data (< 3 minutes).
pub const QUICK_ENV: &str = "ONECYCLE_BENCH_QUICK";
/// Comma-separated regime names to run (default: all of them).
pub const REGIMES_ENV: &str = "ONECYCLE_BENCH_REGIMES";

/// Whether the quick mode is on ([`QUICK_ENV`]).
#[must_use]
pub fn quick_from_env() -> bool {
    std::env::var(QUICK_ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "yes" | "on"))
}

/// Where the data sets live: `$ONECYCLE_DATA`, else the workspace's `data/`.
#[must_use]
pub fn data_dir() -> PathBuf {
    data_dir_or(concat!(env!("CARGO_MANIFEST_DIR"), "/../data"))
}

/// The bench's regimes. Full: all of MNIST and of Fashion-MNIST (ladder 1/8..1 epoch, 2
/// seeds: what fits the hour on 2 cores) and 5,000 MNIST images (ladder 1/2..8, 3 seeds,
/// the same regime as `onecycle compare`'s default). Quick: 1,024 MNIST images, ladder
/// 1/2..2, 2 seeds.
#[must_use]
pub fn regimes(quick: bool) -> Vec<Regime> {
    if quick {
        let budgets = Regime::ladder(0.5, 3);
        return vec![Regime {
            name: "mnist-quick".into(),
            dataset: DatasetName::Mnist,
            train_limit: Some(1024),
            val_size: 1000,
            test_limit: Some(1000),
            tune_budget: Regime::middle(&budgets),
            budgets,
            seeds: 2,
        }];
    }
    vec![
        Regime::small(DatasetName::Mnist),
        Regime::full(DatasetName::Mnist),
        Regime::full(DatasetName::FashionMnist),
    ]
}

/// The regimes [`REGIMES_ENV`] selects (all when unset).
///
/// # Errors
/// A name that is not one of `all`'s, listing the accepted ones.
pub fn select(all: Vec<Regime>) -> Result<Vec<Regime>> {
    let Ok(want) = std::env::var(REGIMES_ENV) else {
        return Ok(all);
    };
    let names: Vec<&str> = want
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = names.iter().find(|n| !all.iter().any(|r| r.name == **n)) {
        bail!(
            "{REGIMES_ENV}: no regime `{bad}`; choose from {}",
            all.iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(all
        .into_iter()
        .filter(|r| names.contains(&r.name.as_str()))
        .collect())
}

/// The study of `regime`, written under `out`: the reference CNN, SGD with momentum 0.9,
/// weight decay 1e-4 and batch 128 (the CLI's defaults; 32 in the quick mode) for every family, the PyTorch
/// preset, the default grid (two points in the quick mode) and the trainer's range test
/// (the finder family runs only outside the quick mode); every family's ladder against step decay at twice the
/// longest rung (`Reference::twice`) (1cycle and linear decay only in the quick mode), targets R and R − 0.2 points.
#[must_use]
pub fn study_config(regime: Regime, quick: bool, out: &Path) -> StudyConfig {
    let setup = Setup {
        model: ModelName::MnistCnn,
        optimizer: OptimizerName::Sgd,
        weight_decay: 1e-4,
        // The quick mode's 1,024 images make 32 steps an epoch at batch 32 (8 at 128,
        // too few for a 1cycle at half an epoch).
        batch_size: if quick { 32 } else { 128 },
        preset: PresetName::PyTorch,
    };
    let reference = Reference::twice(regime.longest());
    StudyConfig {
        out: out.join(&regime.name),
        regime,
        setup,
        grid: if quick {
            vec![3e-2, 0.3]
        } else {
            DEFAULT_GRID.to_vec()
        },
        looser_by: 0.002,
        device: DeviceKind::Cpu(Backend::Fast),
        range: trainer_range_plan(),
        families: if quick {
            vec![Family::Onecycle, Family::Linear]
        } else {
            Family::ALL.to_vec()
        },
        references: vec![reference],
        verbosity: Verbosity::Normal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_regime_is_valid_and_the_full_ones_have_the_bench_shape() {
        for quick in [false, true] {
            for r in regimes(quick) {
                r.validate().unwrap();
                let cfg = study_config(r, quick, Path::new("x"));
                cfg.validate().unwrap();
            }
        }
        let full = regimes(false);
        assert_eq!(full.len(), 3);
        assert_eq!(full[0].budgets, vec![0.5, 1.0, 2.0, 4.0, 8.0]);
        assert_eq!(full[0].tune_budget, 2.0);
        assert_eq!(full[1].budgets, vec![0.125, 0.25, 0.5, 1.0]);
        assert_eq!(full[1].tune_budget, 0.25);
        assert!(full.iter().all(|r| r.val_size == 5000));
        // Reference mode: step decay at twice the longest rung (step@16 for mnist-5k).
        let cfg = study_config(full[0].clone(), false, Path::new("x"));
        assert_eq!(cfg.references.len(), 1);
        assert_eq!(cfg.references[0].to_string(), "step@16");
        let quick = study_config(regimes(true).remove(0), true, Path::new("x"));
        assert_eq!(quick.references[0].to_string(), "step@4");
    }
}
