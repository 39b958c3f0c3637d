//! The learning-rate schedules the trainer can follow, as one enum.

use onecycle_core::baseline::{Constant, Cosine, LinearDecay, StepDecay};
use onecycle_core::{ConfigError, OneCycle, OneCycleConfig, Preset, Schedule};
use serde::{Deserialize, Serialize};

/// Which schedule family to train with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleKind {
    /// Smith's 1cycle policy (two phases unless `--three-phase`).
    Onecycle,
    /// A constant learning rate.
    Constant,
    /// Step decay: ×0.1 at 50% and again at 75% of the steps.
    Step,
    /// Cosine decay from the peak to peak/1e4 (no warm-up).
    Cosine,
    /// Linear decay from the peak to zero (the budgeted-training baseline of Li et al.,
    /// ICLR 2020).
    Linear,
}

impl ScheduleKind {
    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Onecycle => "onecycle",
            Self::Constant => "constant",
            Self::Step => "step",
            Self::Cosine => "cosine",
            Self::Linear => "linear",
        }
    }
}

/// Everything that defines a schedule over a run (serialised into checkpoints).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    /// The family.
    pub kind: ScheduleKind,
    /// Peak (or constant) learning rate.
    pub lr: f64,
    /// Steps in the whole run.
    pub total_steps: u32,
    /// 1cycle preset (conventions and defaults); ignored by the baselines. Written by its
    /// command-line name (`"pytorch"`, ...).
    #[serde(with = "preset_name")]
    pub preset: Preset,
    /// Smith's three-phase 1cycle.
    pub three_phase: bool,
    /// Momentum (or Adam β1) used by the baselines, which do not cycle it.
    pub fixed_momentum: f64,
}

/// The old name of the preset type (a mirror of the core's [`Preset`] until the run records
/// wrote the core's own names through [`preset_name`]).
pub use onecycle_core::Preset as PresetName;

/// Serde for a [`Preset`] by its command-line name (`"pytorch"`, `"fastai"`, `"optax-cos"`,
/// `"optax-linear"`), as run records and study files hold it (`#[serde(with = ...)]`).
pub mod preset_name {
    use onecycle_core::Preset;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the preset's name.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(preset: &Preset, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(preset.name())
    }

    /// Reads a preset's name.
    ///
    /// # Errors
    /// An unknown name, with the valid ones.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Preset, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A built schedule: lr and momentum for every step.
#[derive(Clone, Copy, Debug, PartialEq)]
// One per run and `Copy`: 280 bytes is nothing, boxing would cost `Copy`.
#[allow(clippy::large_enum_variant)]
pub enum TrainSchedule {
    /// 1cycle.
    OneCycle(OneCycle<f64>),
    /// Constant lr.
    Constant(Constant<f64>, f64),
    /// Step decay.
    Step(StepDecay<f64, 2>, f64),
    /// Cosine decay.
    Cosine(Cosine<f64>, f64),
    /// Linear decay to zero.
    Linear(LinearDecay<f64>, f64),
}

impl ScheduleSpec {
    /// Builds the schedule.
    ///
    /// # Errors
    /// An invalid lr, step count or 1cycle config, as the core reports it.
    pub fn build(&self) -> Result<TrainSchedule, ConfigError> {
        let m = self.fixed_momentum;
        Ok(match self.kind {
            ScheduleKind::Onecycle => {
                let mut cfg: OneCycleConfig<f64> = self.preset.config(self.lr, self.total_steps);
                if self.three_phase {
                    cfg = cfg.three_phase(None);
                }
                TrainSchedule::OneCycle(cfg.build()?)
            }
            ScheduleKind::Constant => TrainSchedule::Constant(Constant::new(self.lr)?, m),
            ScheduleKind::Step => {
                let half = self.total_steps / 2;
                let three_q = (self.total_steps / 4).saturating_mul(3).max(half + 1);
                TrainSchedule::Step(StepDecay::new(self.lr, [half, three_q], 0.1)?, m)
            }
            ScheduleKind::Cosine => {
                TrainSchedule::Cosine(Cosine::new(self.lr, self.total_steps, self.lr * 1e-4)?, m)
            }
            ScheduleKind::Linear => {
                TrainSchedule::Linear(LinearDecay::new(self.lr, self.total_steps, 0.0)?, m)
            }
        })
    }
}

impl Schedule<f64> for TrainSchedule {
    fn lr(&self, step: u32) -> f64 {
        match self {
            Self::OneCycle(s) => s.lr(step),
            Self::Constant(s, _) => s.lr(step),
            Self::Step(s, _) => s.lr(step),
            Self::Cosine(s, _) => s.lr(step),
            Self::Linear(s, _) => s.lr(step),
        }
    }

    fn momentum(&self, step: u32) -> Option<f64> {
        match self {
            Self::OneCycle(s) => s.momentum(step),
            Self::Constant(_, m) | Self::Step(_, m) | Self::Cosine(_, m) | Self::Linear(_, m) => {
                Some(*m)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: ScheduleKind) -> ScheduleSpec {
        ScheduleSpec {
            kind,
            lr: 0.1,
            total_steps: 100,
            preset: PresetName::PyTorch,
            three_phase: false,
            fixed_momentum: 0.9,
        }
    }

    #[test]
    fn step_decay_drops_tenfold_at_half_and_three_quarters() {
        let s = spec(ScheduleKind::Step).build().unwrap();
        assert_eq!(s.lr(49), 0.1);
        assert!((s.lr(50) - 0.01).abs() < 1e-15);
        assert!((s.lr(74) - 0.01).abs() < 1e-15);
        assert!((s.lr(75) - 0.001).abs() < 1e-15);
        assert_eq!(s.momentum(80), Some(0.9));
    }

    #[test]
    fn onecycle_peaks_at_max_lr_and_cycles_momentum() {
        let s = spec(ScheduleKind::Onecycle).build().unwrap();
        // PyTorch convention: the peak is at step pct*T - 1 = 29.
        assert!((s.lr(29) - 0.1).abs() < 1e-15);
        assert!((s.lr(0) - 0.004).abs() < 1e-15);
        assert!((s.momentum(29).unwrap() - 0.85).abs() < 1e-15);
    }

    #[test]
    fn cosine_starts_at_peak_and_decays() {
        let s = spec(ScheduleKind::Cosine).build().unwrap();
        assert_eq!(s.lr(0), 0.1);
        assert!(s.lr(99) < 0.001);
        assert!(s.lr(50) < s.lr(25));
    }

    #[test]
    fn linear_decays_to_zero_over_the_run() {
        let s = spec(ScheduleKind::Linear).build().unwrap();
        assert_eq!(s.lr(0), 0.1);
        assert!((s.lr(50) - 0.05).abs() < 1e-15);
        assert!((s.lr(75) - 0.025).abs() < 1e-15);
        assert_eq!(s.momentum(10), Some(0.9));
    }

    #[test]
    fn invalid_lr_is_a_typed_error() {
        let mut sp = spec(ScheduleKind::Constant);
        sp.lr = -1.0;
        assert!(sp.build().is_err());
    }
}
