//! The plain configuration struct of a 1cycle schedule and its choice enums.

use crate::{Anneal, ConfigError, Float, OneCycle};

/// How many phases the cycle has.
///
/// * `Two`: `initial → max_lr` over `pct_start` of the steps, then
///   `max_lr → final` (PyTorch's default, fastai, optax's cosine variant).
/// * `Three { pct_final }`: `initial → max_lr` until `pct_start`,
///   `max_lr → initial` until `pct_final`, then `initial → final` (Smith's
///   original shape; optax's linear variant with `pct_final = 0.85`; PyTorch's
///   `three_phase=True` is `pct_final = 2·pct_start`). Momentum is held at its
///   maximum in the third phase.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Phases<F> {
    /// Warm-up then anneal.
    Two,
    /// Warm-up, symmetric cool-down, then a final anneal.
    Three {
        /// Fraction of the steps at which the third phase starts: above
        /// `pct_start`, below 1 (fastai, optax) or with `pct_final·T < T + 1`
        /// (PyTorch, whose third phase starts at `pct_final·T − 2`).
        pct_final: F,
    },
}

/// Whose step-to-position mapping and phase boundaries to reproduce, value for value.
///
/// With `T = total_steps`, `p = pct_start`, `q = pct_final` (all boundaries in steps):
///
/// | convention | phase ends | a step on a boundary belongs to |
/// |---|---|---|
/// | `PyTorch` (`torch.optim.lr_scheduler.OneCycleLR`) | `p·T − 1`, (`q·T − 2`), `T − 1`, as floats | the phase it ends |
/// | `Fastai` (`fit_one_cycle`, position `k/T`) | `p·T`, (`q·T`), `T` | the next phase |
/// | `Optax` (`*_onecycle_schedule`) | `⌊p·T⌋`, (`⌊q·T⌋`), `T` | the next phase |
///
/// So PyTorch reaches `max_lr` one step earlier and the final value at step
/// `T − 1`; fastai and optax reach the final value at step `T`, which is past
/// the end (every schedule here returns the final values from step `T` on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Convention {
    /// PyTorch's `OneCycleLR`: the value training step `k` uses is the
    /// scheduler's after `k` calls to `step()` (`last_epoch == k`).
    PyTorch,
    /// fastai's `fit_one_cycle`: batch `k` of `T` sits at position `k/T`.
    Fastai,
    /// optax's `cosine_onecycle_schedule` / `linear_onecycle_schedule`: integer boundaries.
    Optax,
}

/// What the final learning rate is divided from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FinalDivOf {
    /// `final = initial_lr / final_div_factor` (PyTorch, optax).
    InitialLr,
    /// `final = max_lr / final_div_factor` (fastai's `div_final`).
    MaxLr,
}

/// The momentum range cycled inversely to the learning rate.
///
/// Momentum starts at `max`, falls to `base` while the learning rate rises,
/// and climbs back to `max` while it falls (held at `max` in a third phase).
/// Both must be in [0, 1) with `base ≤ max`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MomentumRange<F> {
    /// Lowest momentum, reached with `max_lr` (usually 0.85).
    pub base: F,
    /// Highest momentum, at the start and end (usually 0.95).
    pub max: F,
}

/// The configuration of a 1cycle schedule: plain public fields, checked once by
/// [`build`](Self::build).
///
/// Start from a preset ([`pytorch`](Self::pytorch), [`fastai`](Self::fastai),
/// [`optax_cos`](Self::optax_cos), [`optax_linear`](Self::optax_linear), or
/// [`Preset::config`](crate::Preset::config)) and change fields as needed.
///
/// * `initial_lr = max_lr / div_factor`
/// * `final_lr = initial_lr / final_div_factor` ([`FinalDivOf::InitialLr`]) or
///   `max_lr / final_div_factor` ([`FinalDivOf::MaxLr`])
///
/// ```
/// use onecycle_core::{Anneal, OneCycleConfig, Phases};
///
/// // PyTorch's OneCycleLR(max_lr=0.1, total_steps=1000, three_phase=True, anneal_strategy="linear")
/// let mut cfg = OneCycleConfig::pytorch(0.1_f64, 1000);
/// cfg.anneal = Anneal::Linear;
/// cfg.phases = Phases::Three { pct_final: 2.0 * cfg.pct_start };
/// let sched = cfg.build()?;
/// assert_eq!(sched.lr(299), 0.1); // phase 1 ends at 0.3·1000 − 1
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OneCycleConfig<F> {
    /// The peak learning rate.
    pub max_lr: F,
    /// Number of training steps (optimiser updates) in the cycle, ≥ 1.
    pub total_steps: u32,
    /// Fraction of the steps spent raising the learning rate, in (0, 1).
    pub pct_start: F,
    /// `initial_lr = max_lr / div_factor`.
    pub div_factor: F,
    /// Divides the final learning rate from `final_div_of`.
    pub final_div_factor: F,
    /// Whether `final_div_factor` divides the initial or the maximum learning rate.
    pub final_div_of: FinalDivOf,
    /// Interpolation inside each phase.
    pub anneal: Anneal,
    /// Two or three phases.
    pub phases: Phases<F>,
    /// Momentum range to cycle, or `None` to leave momentum alone.
    pub momentum: Option<MomentumRange<F>>,
    /// Whose boundaries and step positions to reproduce.
    pub convention: Convention,
}

fn positive_finite<F: Float>(x: F) -> bool {
    x.is_finite() && x > F::ZERO
}

fn valid_momentum<F: Float>(x: F) -> bool {
    x.is_finite() && x >= F::ZERO && x < F::ONE
}

impl<F: Float> OneCycleConfig<F> {
    /// The initial learning rate, `max_lr / div_factor` (unchecked).
    #[must_use]
    pub fn initial_lr(&self) -> F {
        self.max_lr / self.div_factor
    }

    /// The final learning rate (unchecked): see [`FinalDivOf`].
    #[must_use]
    pub fn final_lr(&self) -> F {
        match self.final_div_of {
            FinalDivOf::InitialLr => self.initial_lr() / self.final_div_factor,
            FinalDivOf::MaxLr => self.max_lr / self.final_div_factor,
        }
    }

    /// The same schedule with Smith's three phases: the third starts at `pct_final` when
    /// given, else where this config's third phase already starts, else at twice
    /// `pct_start` (the cool-down as long as the warm-up; PyTorch's `three_phase=True`).
    /// Unchecked, like every field: [`build`](Self::build) checks it.
    ///
    /// ```
    /// use onecycle_core::{Phases, Preset};
    /// let cfg = Preset::PyTorch.config(0.1_f64, 100).three_phase(None);
    /// assert_eq!(cfg.phases, Phases::Three { pct_final: 0.6 });
    /// assert_eq!(cfg.three_phase(Some(0.9)).phases, Phases::Three { pct_final: 0.9 });
    /// ```
    #[must_use]
    pub fn three_phase(mut self, pct_final: Option<F>) -> Self {
        let pct_final = match (pct_final, self.phases) {
            (Some(q), _) => q,
            (None, Phases::Three { pct_final }) => pct_final,
            (None, Phases::Two) => F::TWO * self.pct_start,
        };
        self.phases = Phases::Three { pct_final };
        self
    }

    /// Checks every field and returns the ready-to-evaluate schedule.
    ///
    /// Never panics, whatever the inputs (NaN, ±∞, `u32::MAX` steps).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the first problem found: zero `total_steps`;
    /// a non-finite or non-positive `max_lr`, `div_factor` or
    /// `final_div_factor` (or an initial/final lr that overflows); `pct_start`
    /// outside (0, 1); `pct_final` not finite, not above `pct_start`, or (fastai,
    /// optax) not below 1; a momentum bound outside [0, 1) or `base > max`; a
    /// phase that is empty in the chosen [`Convention`]'s own arithmetic (the
    /// condition per preset is in the crate documentation's validity table).
    pub fn build(self) -> Result<OneCycle<F>, ConfigError> {
        self.check_scalars()?;
        OneCycle::from_checked(self)
    }

    fn check_scalars(&self) -> Result<(), ConfigError> {
        if self.total_steps == 0 {
            return Err(ConfigError::ZeroTotalSteps);
        }
        if !positive_finite(self.max_lr) {
            return Err(ConfigError::InvalidMaxLr {
                value: self.max_lr.to_f64(),
            });
        }
        if !positive_finite(self.div_factor) {
            return Err(ConfigError::InvalidDivFactor {
                value: self.div_factor.to_f64(),
            });
        }
        if !positive_finite(self.final_div_factor) {
            return Err(ConfigError::InvalidFinalDivFactor {
                value: self.final_div_factor.to_f64(),
            });
        }
        let (initial, last) = (self.initial_lr(), self.final_lr());
        if !initial.is_finite() || !last.is_finite() {
            return Err(ConfigError::DerivedLrNotFinite {
                initial_lr: initial.to_f64(),
                final_lr: last.to_f64(),
            });
        }
        // Written so that NaN fails too.
        if !(self.pct_start > F::ZERO && self.pct_start < F::ONE) {
            return Err(ConfigError::InvalidPctStart {
                value: self.pct_start.to_f64(),
            });
        }
        if let Phases::Three { pct_final } = self.phases {
            // PyTorch's third phase ends at T − 1 and starts at q·T − 2, so
            // q may reach a little past 1 (below 1 + 1/T): the phase check decides.
            let below_one = pct_final < F::ONE || matches!(self.convention, Convention::PyTorch);
            if !(pct_final > self.pct_start && pct_final.is_finite() && below_one) {
                return Err(ConfigError::InvalidPctFinal {
                    pct_start: self.pct_start.to_f64(),
                    pct_final: pct_final.to_f64(),
                    convention: self.convention,
                });
            }
        }
        if let Some(m) = self.momentum {
            if !valid_momentum(m.base) || !valid_momentum(m.max) || m.base > m.max {
                return Err(ConfigError::InvalidMomentum {
                    base: m.base.to_f64(),
                    max: m.max.to_f64(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "serde"))]
mod serde_tests {
    use super::*;
    use crate::Preset;

    #[test]
    fn every_preset_round_trips_through_json_and_builds_the_same_schedule() {
        for preset in Preset::ALL {
            let mut config = preset.config(0.1_f64, 500);
            config.phases = Phases::Three { pct_final: 0.85 };
            let json = serde_json::to_string(&config).unwrap();
            let back: OneCycleConfig<f64> = serde_json::from_str(&json).unwrap();
            assert_eq!(back, config, "{json}");
            let (a, b) = (config.build().unwrap(), back.build().unwrap());
            for k in 0..510 {
                assert_eq!(a.lr(k).to_bits(), b.lr(k).to_bits(), "{preset} step {k}");
            }
        }
        let json = serde_json::to_string(&Preset::OptaxLinear).unwrap();
        assert_eq!(
            serde_json::from_str::<Preset>(&json).unwrap(),
            Preset::OptaxLinear
        );
    }

    #[test]
    fn a_deserialised_config_is_checked_by_build() {
        let mut config = OneCycleConfig::pytorch(0.1_f64, 100);
        config.pct_start = 1.5;
        let json = serde_json::to_string(&config).unwrap();
        let back: OneCycleConfig<f64> = serde_json::from_str(&json).unwrap();
        assert!(matches!(
            back.build(),
            Err(ConfigError::InvalidPctStart { .. })
        ));
    }
}
