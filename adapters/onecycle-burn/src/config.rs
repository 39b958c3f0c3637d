//! [`OneCycleLrConfig`]: 1cycle in a burn training configuration (burn's `Config` derive:
//! `new`, `with_*` setters, JSON `save` / `load`).

use burn::config::Config;
use burn::optim::ModuleOptimizer;
use onecycle_core::{Anneal, ConfigError, MomentumRange, OneCycleConfig, Phases, Preset};

use crate::{one_cycle, MomentumOptimizer, OneCycleLr, ScheduleLr};

/// The 1cycle schedule as a burn [`Config`]: a preset for `max_lr` and `total_steps`, and
/// the fields you change. It saves and loads as JSON with the rest of a burn training
/// configuration; [`init`](Self::init) checks it (the core's typed [`ConfigError`]) and
/// builds the scheduler, [`init_with`](Self::init_with) the scheduler and the optimiser
/// whose momentum / β₁ it cycles.
///
/// ```
/// use burn::config::Config;
/// use burn::optim::AdamConfig;
/// use onecycle_burn::OneCycleLrConfig;
/// use onecycle_core::{Anneal, OneCycleConfig, Phases, Preset, Schedule};
///
/// // PyTorch's OneCycleLR(max_lr=0.1, total_steps=1000, three_phase=True,
/// //                      anneal_strategy="linear")
/// let config = OneCycleLrConfig::new(0.1, 1000)
///     .with_anneal(Some(Anneal::Linear))
///     .with_pct_final(Some(0.6));
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("schedule.json");
/// config.save(&path)?;
/// let loaded = OneCycleLrConfig::load(&path)?;
///
/// let mut core = OneCycleConfig::pytorch(0.1, 1000);
/// core.anneal = Anneal::Linear;
/// core.phases = Phases::Three { pct_final: 0.6 };
/// assert_eq!(loaded.schedule_config(), core);
/// let (scheduler, _optimizer) = loaded.init_with(AdamConfig::new())?;
/// assert_eq!(scheduler.schedule().lr(299), 0.1); // phase 1 ends at 0.3·1000 − 1
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Config, Debug)]
pub struct OneCycleLrConfig {
    /// The peak learning rate.
    pub max_lr: f64,
    /// Optimiser updates in the cycle (under gradient accumulation: batches / accumulation).
    pub total_steps: u32,
    /// Whose values to reproduce, and the defaults of every field below.
    #[config(default = "Preset::PyTorch")]
    pub preset: Preset,
    /// Fraction of the steps spent raising the lr (preset's when `None`).
    #[config(default = "None")]
    pub pct_start: Option<f64>,
    /// `initial_lr = max_lr / div_factor` (preset's when `None`).
    #[config(default = "None")]
    pub div_factor: Option<f64>,
    /// Divides the final lr from the initial (PyTorch, optax) or the maximum (fastai) lr
    /// (preset's when `None`).
    #[config(default = "None")]
    pub final_div_factor: Option<f64>,
    /// Interpolation inside each phase (preset's when `None`).
    #[config(default = "None")]
    pub anneal: Option<Anneal>,
    /// `Some(pct_final)`: three phases, the third starting at `pct_final` of the steps
    /// (PyTorch's `three_phase=True` is `2·pct_start`); the preset's phases when `None`.
    #[config(default = "None")]
    pub pct_final: Option<f64>,
    /// The momentum / β₁ range (preset's when `None`).
    #[config(default = "None")]
    pub momentum: Option<MomentumRange<f64>>,
    /// `false` leaves the optimiser's momentum / β₁ as configured (PyTorch's
    /// `cycle_momentum=False`).
    #[config(default = true)]
    pub cycle_momentum: bool,
}

impl OneCycleLrConfig {
    /// The core's configuration this describes (unchecked: [`init`](Self::init) checks it).
    #[must_use]
    pub fn schedule_config(&self) -> OneCycleConfig<f64> {
        let mut c = self.preset.config(self.max_lr, self.total_steps);
        if let Some(v) = self.pct_start {
            c.pct_start = v;
        }
        if let Some(v) = self.div_factor {
            c.div_factor = v;
        }
        if let Some(v) = self.final_div_factor {
            c.final_div_factor = v;
        }
        if let Some(v) = self.anneal {
            c.anneal = v;
        }
        if let Some(pct_final) = self.pct_final {
            c.phases = Phases::Three { pct_final };
        }
        if let Some(m) = self.momentum {
            c.momentum = Some(m);
        }
        if !self.cycle_momentum {
            c.momentum = None;
        }
        c
    }

    /// burn's lr scheduler for this schedule.
    ///
    /// # Errors
    /// The core's [`ConfigError`] naming the invalid field.
    pub fn init(&self) -> Result<OneCycleLr, ConfigError> {
        ScheduleLr::one_cycle(self.schedule_config())
    }

    /// The scheduler and `optimizer` with its momentum (SGD) or β₁ (Adam, AdamW) cycled by
    /// the same schedule, as [`one_cycle`] gives them.
    ///
    /// # Errors
    /// The core's [`ConfigError`] naming the invalid field.
    pub fn init_with<C: MomentumOptimizer>(
        &self,
        optimizer: C,
    ) -> Result<(OneCycleLr, ModuleOptimizer), ConfigError> {
        one_cycle(self.schedule_config(), optimizer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_with_defaults_is_the_cores_preset() {
        for preset in Preset::ALL {
            let config = OneCycleLrConfig::new(0.05, 300).with_preset(preset);
            assert_eq!(
                config.schedule_config(),
                preset.config(0.05, 300),
                "{preset}"
            );
        }
    }

    #[test]
    fn json_round_trip_keeps_every_field_and_the_schedule() {
        let config = OneCycleLrConfig::new(0.3, 777)
            .with_preset(Preset::Fastai)
            .with_pct_start(Some(0.4))
            .with_div_factor(Some(10.0))
            .with_final_div_factor(Some(1e3))
            .with_anneal(Some(Anneal::Linear))
            .with_pct_final(Some(0.9))
            .with_momentum(Some(MomentumRange {
                base: 0.8,
                max: 0.9,
            }));
        let json = serde_json::to_string(&config).unwrap();
        let back: OneCycleLrConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.schedule_config(), config.schedule_config(), "{json}");
        let (a, b) = (config.init().unwrap(), back.init().unwrap());
        for k in 0..800 {
            assert_eq!(a.schedule().lr(k).to_bits(), b.schedule().lr(k).to_bits());
            assert_eq!(a.schedule().momentum(k), b.schedule().momentum(k));
        }
        assert_eq!(a.schedule().momentum(0), Some(0.9));
        let still = OneCycleLrConfig::new(0.1, 100).with_cycle_momentum(false);
        assert_eq!(still.init().unwrap().schedule().momentum(0), None);
    }

    #[test]
    fn an_invalid_field_is_the_cores_typed_error() {
        let bad = OneCycleLrConfig::new(0.1, 100).with_pct_start(Some(1.5));
        assert!(matches!(
            bad.init(),
            Err(ConfigError::InvalidPctStart { .. })
        ));
        let bad = OneCycleLrConfig::new(0.1, 0);
        assert_eq!(bad.init().unwrap_err(), ConfigError::ZeroTotalSteps);
    }
}
