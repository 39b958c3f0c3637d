//! Run configuration: model, optimiser, data, schedule: everything that defines a run
//! (serialised next to its checkpoints so that `--resume` needs nothing else).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use std::borrow::Cow;

use crate::data::{Dataset, DatasetName, Split};
use crate::nn::{Backend, DeviceKind, ModelKind, OptimizerKind};
use crate::train::metrics::EvalSplit;
use crate::train::schedule::ScheduleSpec;

/// Optimiser choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// The model of a run: the network's own [`ModelKind`] (its serde names are the command
/// line's). The old name of the mirror type this replaced.
pub use crate::nn::ModelKind as ModelName;

/// Device choice on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    pub model: ModelKind,
    /// Optimiser.
    pub optimizer: OptimizerName,
    /// Weight decay (SGD: L2 in the gradient; AdamW: decoupled; others: unused).
    pub weight_decay: f32,
    /// Images per step.
    pub batch_size: usize,
    /// Epochs over the (possibly limited) training part; fractional budgets such as
    /// 0.25 end part-way through the last epoch.
    pub epochs: f64,
    /// Seed of the initial weights and the data order.
    pub seed: u64,
    /// The learning-rate schedule.
    pub schedule: ScheduleSpec,
    /// Evaluations per epoch (the last at the epoch's end, and one at the run's end), on
    /// the validation slice when there is one, else on the test split.
    pub evals_per_epoch: u32,
    /// Images held out at the end of the training split as a validation slice (0: none).
    /// They are never trained on, whatever `train_limit` says.
    #[serde(default)]
    pub val_size: usize,
    /// Use only the first N training images (of those not held out for validation).
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    pub test_limit: Option<usize>,
}

/// The parts of a data set one run uses.
#[derive(Clone, Debug)]
pub struct Partitions<'a> {
    /// Trained on: the head of the training split, before the validation slice.
    pub train: Cow<'a, Dataset>,
    /// Evaluated on during the run: the validation slice, or the test split without one.
    pub eval: Cow<'a, Dataset>,
    /// Which split `eval` is.
    pub eval_split: EvalSplit,
    /// Scored once at the end (`test_limit` applied); never used to choose anything.
    pub test: Cow<'a, Dataset>,
}

impl RunConfig {
    /// Training images used from a training split of `available` images: the
    /// validation slice removed, then `train_limit` applied.
    pub fn train_images(&self, available: usize) -> usize {
        let rest = available.saturating_sub(self.val_size);
        self.train_limit.map_or(rest, |l| l.min(rest))
    }

    /// Optimiser steps per epoch for a training split of `available` images (the
    /// validation slice and limit applied here; the last partial batch is dropped).
    pub fn steps_per_epoch(&self, available: usize) -> u32 {
        u32::try_from(self.train_images(available) / self.batch_size.max(1)).unwrap_or(u32::MAX)
    }

    /// Steps of the whole run, `epochs × steps_per_epoch` rounded to the nearest step.
    ///
    /// # Errors
    /// A budget that is not a positive finite number of epochs, one that rounds to no
    /// step, or more than `u32::MAX` steps.
    pub fn total_steps(&self, available: usize) -> Result<u32, String> {
        if !(self.epochs.is_finite() && self.epochs > 0.0) {
            return Err(format!(
                "{} epochs is not a training budget: give a positive number such as 0.5 or 2",
                self.epochs
            ));
        }
        let spe = self.steps_per_epoch(available);
        let steps = (self.epochs * f64::from(spe)).round();
        if steps < 1.0 {
            return Err(format!(
                "{} epochs of {spe} steps is less than one step: give more epochs",
                self.epochs
            ));
        }
        if steps > f64::from(u32::MAX) {
            return Err(format!("{steps} steps is too many: lower the epochs"));
        }
        Ok(steps as u32)
    }

    /// Splits `data` into what this run trains on, evaluates on and tests on.
    ///
    /// # Errors
    /// A validation slice that leaves no training image.
    pub fn partitions<'a>(&self, data: &'a Split) -> Result<Partitions<'a>, String> {
        let n = data.train.len();
        if self.val_size >= n {
            return Err(format!(
                "a validation slice of {} images leaves none of the {n} training images to train on: lower --val-size",
                self.val_size
            ));
        }
        let test = data.test.head(self.test_limit);
        if self.val_size == 0 {
            return Ok(Partitions {
                train: data.train.head(self.train_limit),
                eval: test.clone(),
                eval_split: EvalSplit::Test,
                test,
            });
        }
        let cut = n - self.val_size;
        let keep = self.train_limit.map_or(cut, |l| l.min(cut));
        Ok(Partitions {
            train: Cow::Owned(data.train.slice(0, keep)),
            eval: Cow::Owned(data.train.slice(cut, n)),
            eval_split: EvalSplit::Validation,
            test,
        })
    }
}

/// `--max-lr` value: a number, or `auto` (run the range test and take its `auto` lr).
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
    use crate::data::Normalization;
    use crate::train::schedule::{PresetName, ScheduleKind};

    fn labelled(n: usize) -> Dataset {
        let norm = Normalization {
            mean: vec![0.0],
            std: vec![1.0],
        };
        let bytes: Vec<u8> = (0..n).map(|i| i as u8).collect();
        Dataset::from_bytes(bytes.as_slice(), bytes.clone(), 1, 1, 1, 256, &norm)
    }

    fn cfg(val_size: usize, train_limit: Option<usize>, epochs: f64) -> RunConfig {
        RunConfig {
            dataset: DatasetName::Mnist,
            model: ModelKind::MnistCnn,
            optimizer: OptimizerName::Sgd,
            weight_decay: 0.0,
            batch_size: 2,
            epochs,
            seed: 0,
            schedule: ScheduleSpec {
                kind: ScheduleKind::Constant,
                lr: 0.1,
                total_steps: 0,
                preset: PresetName::PyTorch,
                three_phase: false,
                fixed_momentum: 0.9,
            },
            evals_per_epoch: 1,
            val_size,
            train_limit,
            test_limit: None,
        }
    }

    #[test]
    fn validation_slice_is_the_tail_and_is_never_trained_on() {
        let data = Split {
            train: labelled(10),
            test: labelled(4),
        };
        // 10 images, the last 3 held out; a limit of 100 cannot reach into them.
        let p = cfg(3, Some(100), 1.0).partitions(&data).unwrap();
        assert_eq!(p.train.labels, vec![0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(p.eval.labels, vec![7, 8, 9]);
        assert_eq!(p.eval_split, EvalSplit::Validation);
        assert_eq!(p.test.len(), 4);
        // A limit takes the head of what is left.
        let p = cfg(3, Some(2), 1.0).partitions(&data).unwrap();
        assert_eq!(p.train.labels, vec![0, 1]);
        assert_eq!(p.eval.labels, vec![7, 8, 9]);
        // Without a slice the run evaluates on the test split.
        let p = cfg(0, None, 1.0).partitions(&data).unwrap();
        assert_eq!((p.train.len(), p.eval_split), (10, EvalSplit::Test));
        let e = cfg(10, None, 1.0).partitions(&data).unwrap_err();
        assert!(e.contains("lower --val-size"), "{e}");
    }

    #[test]
    fn fractional_budgets_round_to_steps() {
        // 7 training images, batch 2: 3 steps per epoch.
        assert_eq!(cfg(3, None, 1.0).steps_per_epoch(10), 3);
        assert_eq!(cfg(3, None, 2.0).total_steps(10), Ok(6));
        assert_eq!(cfg(3, None, 0.5).total_steps(10), Ok(2)); // 1.5 rounds to 2
        assert_eq!(cfg(3, None, 0.25).total_steps(10), Ok(1)); // 0.75 rounds to 1
        assert!(cfg(3, None, 0.1)
            .total_steps(10)
            .unwrap_err()
            .contains("less than one step"));
        assert!(cfg(3, None, 0.0).total_steps(10).is_err());
        assert!(cfg(3, None, f64::NAN).total_steps(10).is_err());
    }

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
