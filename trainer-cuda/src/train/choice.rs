//! The closed sets of named values a run is made of (data set, model, optimiser, device,
//! schedule): each value's name, as typed on the command line and written in run records,
//! and a one-line description. The command line builds its parsers and help from these
//! (`cli::choice`); nothing here knows about clap.

use onecycle_core::Anneal;

use crate::data::DatasetName;
use crate::nn::ModelKind;
use crate::train::config::{DeviceName, OptimizerName};
use crate::train::schedule::ScheduleKind;

/// A closed set of named values.
///
/// ```
/// use trainer_cuda::train::choice::Choice;
/// use trainer_cuda::nn::ModelKind;
/// assert_eq!(ModelKind::from_name("mnist-cnn"), Some(ModelKind::MnistCnn));
/// assert_eq!(Choice::name(ModelKind::ResNetSmall), "resnet-small");
/// assert!(ModelKind::from_name("vgg").is_none());
/// ```
pub trait Choice: Copy + PartialEq + 'static {
    /// Every value, in the order the help lists them.
    const ALL: &'static [Self];

    /// The value's name.
    fn name(self) -> &'static str;

    /// One line on what it is.
    fn describe(self) -> &'static str;

    /// The value called `name` (exactly), if any.
    #[must_use]
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
}

impl Choice for DatasetName {
    const ALL: &'static [Self] = &DatasetName::ALL;

    fn name(self) -> &'static str {
        self.as_str()
    }

    fn describe(self) -> &'static str {
        DatasetName::describe(self)
    }
}

impl Choice for ModelKind {
    const ALL: &'static [Self] = &ModelKind::ALL;

    fn name(self) -> &'static str {
        ModelKind::name(self)
    }

    fn describe(self) -> &'static str {
        match self {
            Self::MnistCnn => "The reference CNN (two conv/BN/ReLU/pool blocks and a linear layer)",
            Self::Mlp => "A multi-layer perceptron",
            Self::ResNetSmall => "A small residual CNN for 3×32×32 inputs",
            Self::ResNetMnist => "resnet-small's residual CNN for 1×28×28 inputs",
        }
    }
}

impl Choice for OptimizerName {
    const ALL: &'static [Self] = &[
        Self::Sgd,
        Self::Nesterov,
        Self::Adam,
        Self::Adamw,
        Self::Rmsprop,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Sgd => "sgd",
            Self::Nesterov => "nesterov",
            Self::Adam => "adam",
            Self::Adamw => "adamw",
            Self::Rmsprop => "rmsprop",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Sgd => "SGD with momentum (cycled by 1cycle)",
            Self::Nesterov => "SGD with Nesterov momentum",
            Self::Adam => "Adam (β1 cycled by 1cycle)",
            Self::Adamw => "AdamW (decoupled weight decay)",
            Self::Rmsprop => "RMSprop with momentum (the seed article's optimiser)",
        }
    }
}

impl Choice for DeviceName {
    const ALL: &'static [Self] = &[Self::Auto, Self::Cpu, Self::CpuGeneric, Self::Cuda];

    fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Cpu => "cpu",
            Self::CpuGeneric => "cpu-generic",
            Self::Cuda => "cuda",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Auto => "CUDA when built with the `cuda` feature and a GPU opens, else the CPU",
            Self::Cpu => "The CPU with the fast custom ops",
            Self::CpuGeneric => "The CPU with the device-generic layers (what the GPU runs)",
            Self::Cuda => "NVIDIA GPU 0 (needs `--features cuda`)",
        }
    }
}

impl Choice for ScheduleKind {
    const ALL: &'static [Self] = &[
        Self::Onecycle,
        Self::Constant,
        Self::Step,
        Self::Cosine,
        Self::Linear,
    ];

    fn name(self) -> &'static str {
        ScheduleKind::name(self)
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Onecycle => "Smith's 1cycle policy (two phases unless `--three-phase`)",
            Self::Constant => "A constant learning rate",
            Self::Step => "Step decay: ×0.1 at 50% and again at 75% of the steps",
            Self::Cosine => "Cosine decay from the peak to peak/1e4 (no warm-up)",
            Self::Linear => {
                "Linear decay from the peak to zero (the budgeted-training baseline of Li et al., ICLR 2020)"
            }
        }
    }
}

impl Choice for Anneal {
    const ALL: &'static [Self] = &[Self::Cos, Self::Linear];

    fn name(self) -> &'static str {
        Anneal::name(self)
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Cos => "Cosine annealing",
            Self::Linear => "Linear annealing",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_round_trip_through_serde<T>()
    where
        T: Choice + serde::Serialize + std::fmt::Debug,
    {
        for &v in T::ALL {
            assert_eq!(T::from_name(v.name()), Some(v));
            // Run records (serde, kebab-case) spell every value as the command line does.
            assert_eq!(
                serde_json::to_string(&v).unwrap(),
                format!("\"{}\"", v.name()),
                "{v:?}"
            );
            assert!(!v.describe().is_empty() && !v.describe().ends_with('.'));
        }
    }

    #[test]
    fn every_choice_is_named_as_in_run_records() {
        names_round_trip_through_serde::<DatasetName>();
        names_round_trip_through_serde::<ModelKind>();
        names_round_trip_through_serde::<OptimizerName>();
        names_round_trip_through_serde::<DeviceName>();
        names_round_trip_through_serde::<ScheduleKind>();
    }
}
