//! What drives the optimizer: a learning rate and a momentum per step.

use onecycle_core::fast_f32::FastOneCycle;
use onecycle_core::{ConfigError, OneCycleConfig};

/// `(learning rate, momentum)` for each optimizer step.
pub trait StepSchedule {
    /// The learning rate and momentum for step `step` (0-based).
    fn at(&self, step: u32) -> (f32, f32);
}

/// A constant learning rate and momentum: the baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConstantLr {
    /// Learning rate.
    pub lr: f32,
    /// Momentum.
    pub momentum: f32,
}

impl StepSchedule for ConstantLr {
    fn at(&self, _step: u32) -> (f32, f32) {
        (self.lr, self.momentum)
    }
}

/// The 1cycle policy of `onecycle-core` (PyTorch preset: 30 % warm-up from
/// `max_lr/25`, cosine anneal to `max_lr/25/10⁴`, momentum 0.95 → 0.85 → 0.95),
/// evaluated by its `f32` kernel [`FastOneCycle`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OneCycleSteps(pub FastOneCycle);

impl OneCycleSteps {
    /// `OneCycleConfig::pytorch(max_lr, steps)`, checked, as an `f32` kernel.
    ///
    /// # Errors
    /// The [`ConfigError`] of an invalid `max_lr` or `steps`.
    ///
    /// ```
    /// use onecycle_finetune::{OneCycleSteps, StepSchedule};
    /// let s = OneCycleSteps::pytorch(0.1, 100)?;
    /// assert_eq!(s.at(29), (0.1, 0.85)); // the peak: step 0.3·100 − 1
    /// assert!(OneCycleSteps::pytorch(-1.0, 100).is_err());
    /// # Ok::<(), onecycle_core::ConfigError>(())
    /// ```
    pub fn pytorch(max_lr: f32, steps: u32) -> Result<Self, ConfigError> {
        let reference = OneCycleConfig::pytorch(f64::from(max_lr), steps).build()?;
        Ok(Self(FastOneCycle::new(&reference)))
    }
}

impl StepSchedule for OneCycleSteps {
    fn at(&self, step: u32) -> (f32, f32) {
        self.0.at(step)
    }
}
