//! Run configuration: model, optimiser, data, schedule: everything that defines a run
//! (serialised next to its checkpoints so that `--resume` needs nothing else).

use std::str::FromStr;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::data::DatasetName;
use crate::nn::{Backend, DeviceKind, ModelKind, OptimizerKind};
use crate::train::schedule::ScheduleSpec;

/// Optimiser choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerName {
    /// SGD with momentum (cycled by 1cycle).
    Sgd,
    /// SGD with Nesterov momentum.
    Nesterov,
    /// Adam (β1 cycled by 1cycle).
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
    /// RMSprop with momentum (the seed article's optimiser).
    Rmsprop,
}

impl OptimizerName {
    /// The network-level optimiser with `weight_decay`.
    pub fn kind(self, weight_decay: f32) -> OptimizerKind {
        match self {
            Self::Sgd => OptimizerKind::Sgd {
                nesterov: false,
                weight_decay,
            },
            Self::Nesterov => OptimizerKind::Sgd {
                nesterov: true,
                weight_decay,
            },
            Self::Adam => OptimizerKind::Adam,
            Self::Adamw => OptimizerKind::AdamW { weight_decay },
            Self::Rmsprop => OptimizerKind::RmsProp,
        }
    }

    /// The momentum-like value held fixed by schedules that do not cycle it
    /// (SGD/Nesterov momentum, Adam β1, RMSprop momentum).
    pub fn default_momentum(self) -> f64 {
        match self {
            Self::Sgd | Self::Nesterov | Self::Adam | Self::Adamw | Self::Rmsprop => 0.9,
        }
    }
}

/// Model choice on the command line (serialisable mirror of [`ModelKind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelName {
    /// The reference CNN (two conv/BN/ReLU/pool blocks and a linear layer).
    MnistCnn,
    /// A multi-layer perceptron.
    Mlp,
    /// A small residual CNN for 3×32×32 inputs.
    ResnetSmall,
}

impl From<ModelName> for ModelKind {
    fn from(m: ModelName) -> Self {
        match m {
            ModelName::MnistCnn => ModelKind::MnistCnn,
            ModelName::Mlp => ModelKind::Mlp,
            ModelName::ResnetSmall => ModelKind::ResNetSmall,
        }
    }
}

/// Device choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceName {
    /// CUDA when built with the `cuda` feature and a GPU opens, else the CPU.
    Auto,
    /// The CPU with the fast custom ops.
    Cpu,
    /// The CPU with the device-generic layers (what the GPU runs).
    CpuGeneric,
    /// NVIDIA GPU 0 (needs `--features cuda`).
    Cuda,
}

impl DeviceName {
    /// Devices to try, in order.
    pub fn candidates(self) -> Vec<DeviceKind> {
        match self {
            Self::Auto if cfg!(feature = "cuda") => {
                vec![DeviceKind::Cuda, DeviceKind::Cpu(Backend::Fast)]
            }
            Self::Auto | Self::Cpu => vec![DeviceKind::Cpu(Backend::Fast)],
            Self::CpuGeneric => vec![DeviceKind::Cpu(Backend::Generic)],
            Self::Cuda => vec![DeviceKind::Cuda],
        }
    }
}

/// Everything that defines a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// Data set.
    pub dataset: DatasetName,
    /// Model.
    pub model: ModelName,
    /// Optimiser.
    pub optimizer: OptimizerName,
    /// Weight decay (SGD: L2 in the gradient; AdamW: decoupled; others: unused).
    pub weight_decay: f32,
    /// Images per step.
    pub batch_size: usize,
    /// Epochs over the (possibly limited) training split.
    pub epochs: u32,
    /// Seed of the initial weights and the data order.
    pub seed: u64,
    /// The learning-rate schedule.
    pub schedule: ScheduleSpec,
    /// Test-set evaluations per epoch (the last at the epoch's end).
    pub evals_per_epoch: u32,
    /// Use only the first N training images.
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    pub test_limit: Option<usize>,
}

impl RunConfig {
    /// Training images used from a split of `available` images (`train_limit` applied).
    pub fn train_images(&self, available: usize) -> usize {
        self.train_limit.map_or(available, |l| l.min(available))
    }

    /// Optimiser steps per epoch for a training split of `available` images (the limit
    /// applied here; the last partial batch is dropped).
    pub fn steps_per_epoch(&self, available: usize) -> u32 {
        u32::try_from(self.train_images(available) / self.batch_size.max(1)).unwrap_or(u32::MAX)
    }
}

/// `--max-lr` value: a number, or `auto` (run the range test and take its valley).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MaxLr {
    /// Run the LR range test first.
    Auto,
    /// This learning rate.
    Value(f64),
}

impl FromStr for MaxLr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v > 0.0 => Ok(Self::Value(v)),
            _ => Err(format!(
                "`{s}` is not a learning rate: give a positive number such as 0.05, or `auto`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_lr_parses_numbers_and_auto() {
        assert_eq!("auto".parse::<MaxLr>(), Ok(MaxLr::Auto));
        assert_eq!("0.5".parse::<MaxLr>(), Ok(MaxLr::Value(0.5)));
        assert!("-1"
            .parse::<MaxLr>()
            .unwrap_err()
            .contains("positive number"));
        assert!("nan".parse::<MaxLr>().is_err());
    }
}
