//! The range test's configuration: the sweep, the smoothing and the stop rule, checked once.

use crate::Float;

use super::{FinderError, RangeTest};

/// How the learning rate grows from `start_lr` to `end_lr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Sweep {
    /// `lr(i) = start · (end / start)^(i / num_steps)`: equal steps in `log lr`
    /// (fastai's and Smith's default, since useful rates span decades).
    #[default]
    Exponential,
    /// `lr(i) = start + (end − start) · i / num_steps`: equal steps in `lr`.
    Linear,
}

/// Configuration of an LR range test (Smith 2017, arXiv:1506.01186 §3.3; fastai's `lr_find`).
///
/// A plain struct with public fields and documented [defaults](RangeTestConfig::default);
/// [`build`](RangeTestConfig::build) checks it once and returns the state machine.
///
/// ```
/// use onecycle_core::finder::{RangeTestConfig, Sweep};
///
/// let test = RangeTestConfig::<f32> { num_steps: 50, sweep: Sweep::Linear, ..Default::default() }
///     .build::<64>()?;
/// assert_eq!(test.lr(), 1e-7);
/// # Ok::<(), onecycle_core::finder::FinderError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RangeTestConfig<F> {
    /// Learning rate of the first step; finite, `> 0`. Default `1e-7`.
    pub start_lr: F,
    /// Learning rate the sweep reaches after `num_steps` steps (never used itself: the last
    /// step uses the rate one step short of it); finite, `> start_lr`. Default `10`.
    pub end_lr: F,
    /// Number of training steps in the sweep; `1..=N` for a history capacity `N`.
    /// Default `100`.
    pub num_steps: u32,
    /// Exponential (default) or linear growth.
    pub sweep: Sweep,
    /// EMA factor β of the debiased loss smoothing, in `[0, 1)`; 0 records raw losses.
    /// Default `0.98`.
    pub smoothing: F,
    /// Stop once the smoothed loss exceeds `diverge_factor ×` the best smoothed loss so far;
    /// `> 1`, `+∞` disables the stop. Default `4`. Like fastai's, the rule assumes positive
    /// losses: with a negative best loss it fires at once.
    pub diverge_factor: F,
}

impl<F: Float> Default for RangeTestConfig<F> {
    /// fastai's defaults: `1e-7 → 10` exponentially over 100 steps, β = 0.98, factor 4.
    fn default() -> Self {
        Self {
            start_lr: F::from_f64(1e-7),
            end_lr: F::from_f64(10.0),
            num_steps: 100,
            sweep: Sweep::Exponential,
            smoothing: F::from_f64(0.98),
            diverge_factor: F::from_f64(4.0),
        }
    }
}

impl<F: Float> RangeTestConfig<F> {
    /// Checks the configuration and returns a range test whose history holds up to `N` points.
    ///
    /// # Errors
    /// [`FinderError::InvalidStartLr`], [`FinderError::InvalidEndLr`],
    /// [`FinderError::ZeroSteps`], [`FinderError::InvalidSmoothing`],
    /// [`FinderError::InvalidDivergeFactor`], and [`FinderError::CapacityTooSmall`] when
    /// `num_steps > N`.
    pub fn build<const N: usize>(self) -> Result<RangeTest<F, N>, FinderError> {
        self.validate(N)?;
        Ok(RangeTest::new(self))
    }

    /// The checks of [`build`](Self::build), for a history capacity `capacity`.
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn validate(&self, capacity: usize) -> Result<(), FinderError> {
        let (start, end) = (self.start_lr, self.end_lr);
        if !(start.is_finite() && start > F::ZERO) {
            return Err(FinderError::InvalidStartLr {
                start_lr: start.to_f64(),
            });
        }
        if !(end.is_finite() && end > start && (end / start).is_finite()) {
            return Err(FinderError::InvalidEndLr {
                start_lr: start.to_f64(),
                end_lr: end.to_f64(),
            });
        }
        if self.num_steps == 0 {
            return Err(FinderError::ZeroSteps);
        }
        let beta = self.smoothing;
        if !(beta >= F::ZERO && beta < F::ONE) {
            return Err(FinderError::InvalidSmoothing {
                smoothing: beta.to_f64(),
            });
        }
        if self.diverge_factor.is_nan() || self.diverge_factor <= F::ONE {
            return Err(FinderError::InvalidDivergeFactor {
                diverge_factor: self.diverge_factor.to_f64(),
            });
        }
        // `u32 as usize` is lossless on every target with a 32- or 64-bit usize; compare in
        // u64 so a 16-bit usize cannot truncate either side.
        if u64::from(self.num_steps) > capacity as u64 {
            return Err(FinderError::CapacityTooSmall {
                num_steps: self.num_steps,
                capacity,
            });
        }
        Ok(())
    }

    /// The learning rate of step `step` (0-based), clamped to `[start_lr, end_lr]`; steps past
    /// `num_steps` give `end_lr`. A pure function of the step, like the schedules.
    ///
    /// ```
    /// use onecycle_core::finder::RangeTestConfig;
    ///
    /// let cfg = RangeTestConfig::<f64> { start_lr: 1e-4, end_lr: 1.0, num_steps: 4, ..Default::default() };
    /// // 1e-4 · (1e4)^(2/4) = 1e-2
    /// assert!((cfg.lr_at(2) - 1e-2).abs() < 1e-15);
    /// assert_eq!(cfg.lr_at(9), 1.0);
    /// ```
    #[must_use]
    pub fn lr_at(&self, step: u32) -> F {
        let (start, end) = (self.start_lr, self.end_lr);
        if step >= self.num_steps {
            return end;
        }
        let t = F::from_u32(step) / F::from_u32(self.num_steps);
        let lr = match self.sweep {
            Sweep::Exponential => start * (end / start).powf(t),
            Sweep::Linear => start + (end - start) * t,
        };
        // Rounding (or a libm `pow` 1 ulp off) must not leave the documented range.
        if lr < start {
            start
        } else if lr > end {
            end
        } else {
            lr
        }
    }
}
