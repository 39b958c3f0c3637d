//! Baseline schedules to compare 1cycle against: constant, step decay, cosine
//! with warm-up, linear decay, exponential decay, and [`Join`] to chain two schedules.
//!
//! Each is a small `Copy` struct with a checked `new`, evaluated in O(1) (step
//! decay: O(log N)) as a pure function of the step, like [`OneCycle`](crate::OneCycle).

use crate::anneal::clamp_between;
use crate::{Anneal, ConfigError, Float, Schedule};

fn check_lr<F: Float>(name: &'static str, value: F) -> Result<F, ConfigError> {
    if value.is_finite() && value >= F::ZERO {
        Ok(value)
    } else {
        Err(ConfigError::InvalidLr {
            name,
            value: value.to_f64(),
        })
    }
}

/// The arguments of a decay from `peak` to `final_lr` over `total_steps` (cosine, linear).
fn check_decay<F: Float>(peak: F, total_steps: u32, final_lr: F) -> Result<(F, F), ConfigError> {
    let peak = check_lr("peak", peak)?;
    let final_lr = check_lr("final_lr", final_lr)?;
    if total_steps == 0 {
        return Err(ConfigError::ZeroTotalSteps);
    }
    Ok((peak, final_lr))
}

fn check_gamma<F: Float>(gamma: F, at_most_one: bool) -> Result<F, ConfigError> {
    let ok = gamma.is_finite() && gamma > F::ZERO && (!at_most_one || gamma <= F::ONE);
    if ok {
        Ok(gamma)
    } else {
        Err(ConfigError::InvalidGamma {
            value: gamma.to_f64(),
        })
    }
}

/// A constant learning rate: `lr(k) = lr` for every step.
///
/// ```
/// use onecycle_core::{baseline::Constant, Schedule};
///
/// let c = Constant::new(0.1_f32)?;
/// assert_eq!(c.lr(0), 0.1);
/// assert_eq!(c.lr(u32::MAX), 0.1);
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Constant<F> {
    lr: F,
}

impl<F: Float> Constant<F> {
    /// A constant schedule.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidLr`] if `lr` is NaN, infinite or negative.
    pub fn new(lr: F) -> Result<Self, ConfigError> {
        Ok(Self {
            lr: check_lr("lr", lr)?,
        })
    }
}

impl<F: Float> Schedule<F> for Constant<F> {
    fn lr(&self, _step: u32) -> F {
        self.lr
    }
}

/// Step decay (PyTorch's `MultiStepLR`): `lr(k) = base_lr · gammaⁿ` where `n`
/// is the number of milestones `≤ k`. So the rate drops *at* each milestone
/// step, and after the last milestone stays at `base_lr · gamma^N` forever.
///
/// ```
/// use onecycle_core::{baseline::StepDecay, Schedule};
///
/// let s = StepDecay::new(0.1_f64, [30, 60], 0.1)?;
/// assert_eq!(s.lr(29), 0.1);
/// assert!((s.lr(30) - 0.01).abs() < 1e-17);
/// assert!((s.lr(1_000_000) - 0.001).abs() < 1e-18);
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StepDecay<F, const N: usize> {
    base_lr: F,
    milestones: [u32; N],
    gamma: F,
}

impl<F: Float, const N: usize> StepDecay<F, N> {
    /// A step-decay schedule.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidLr`] for a NaN, infinite or negative `base_lr`;
    /// [`ConfigError::InvalidGamma`] unless `gamma` is finite and positive;
    /// [`ConfigError::UnsortedMilestones`] unless the milestones strictly
    /// increase; [`ConfigError::LrOverflow`] if a level overflows (gamma > 1).
    pub fn new(base_lr: F, milestones: [u32; N], gamma: F) -> Result<Self, ConfigError> {
        let base_lr = check_lr("base_lr", base_lr)?;
        let gamma = check_gamma(gamma, false)?;
        if let Some(index) = (1..N).find(|&i| milestones[i] <= milestones[i - 1]) {
            return Err(ConfigError::UnsortedMilestones { index });
        }
        let s = Self {
            base_lr,
            milestones,
            gamma,
        };
        if let Some(&last) = milestones.last() {
            if !s.lr(last).is_finite() {
                return Err(ConfigError::LrOverflow { step: last });
            }
        }
        Ok(s)
    }
}

impl<F: Float, const N: usize> Schedule<F> for StepDecay<F, N> {
    fn lr(&self, step: u32) -> F {
        let n = self.milestones.partition_point(|&m| m <= step);
        // n ≤ N, which is small; exact for any realistic N in f32 and f64.
        self.base_lr * self.gamma.powf(F::from_f64(n as f64))
    }
}

/// Cosine decay with optional linear warm-up (optax's
/// `warmup_cosine_decay_schedule`, with `total_steps` counting the warm-up):
///
/// * `k < warmup_steps`: `start + (peak − start)·k/warmup_steps`
/// * `warmup_steps ≤ k < total_steps`: `final + (peak − final)/2 · (1 + cos(π·(k − warmup)/(total − warmup)))`
/// * `k ≥ total_steps`: `final_lr` (clamped).
///
/// ```
/// use onecycle_core::{baseline::Cosine, Schedule};
///
/// let s = Cosine::new(0.1_f64, 100, 0.0)?.with_warmup(10, 0.0)?;
/// assert_eq!(s.lr(0), 0.0);
/// assert_eq!(s.lr(10), 0.1);
/// assert!((s.lr(55) - 0.05).abs() < 1e-15); // half way through the decay
/// assert_eq!(s.lr(100), 0.0);
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Cosine<F> {
    peak: F,
    total_steps: u32,
    final_lr: F,
    warmup_steps: u32,
    warmup_start: F,
}

impl<F: Float> Cosine<F> {
    /// Cosine decay from `peak` at step 0 to `final_lr` at `total_steps`, no warm-up.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidLr`] for a NaN, infinite or negative `peak` or
    /// `final_lr`; [`ConfigError::ZeroTotalSteps`] for `total_steps == 0`.
    pub fn new(peak: F, total_steps: u32, final_lr: F) -> Result<Self, ConfigError> {
        let (peak, final_lr) = check_decay(peak, total_steps, final_lr)?;
        Ok(Self {
            peak,
            total_steps,
            final_lr,
            warmup_steps: 0,
            warmup_start: peak,
        })
    }

    /// Adds a linear warm-up from `start_lr` (often 0) to `peak` over the
    /// first `warmup_steps` of the `total_steps`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidLr`] for a NaN, infinite or negative `start_lr`;
    /// [`ConfigError::WarmupTooLong`] unless `warmup_steps < total_steps`.
    pub fn with_warmup(self, warmup_steps: u32, start_lr: F) -> Result<Self, ConfigError> {
        let warmup_start = check_lr("start_lr", start_lr)?;
        if warmup_steps >= self.total_steps {
            return Err(ConfigError::WarmupTooLong {
                warmup_steps,
                total_steps: self.total_steps,
            });
        }
        Ok(Self {
            warmup_steps,
            warmup_start,
            ..self
        })
    }
}

impl<F: Float> Schedule<F> for Cosine<F> {
    fn lr(&self, step: u32) -> F {
        if step >= self.total_steps {
            return self.final_lr;
        }
        if step < self.warmup_steps {
            let w = F::from_u32(self.warmup_steps);
            let done = F::from_u32(step) / w;
            let rest = F::from_u32(self.warmup_steps - step) / w;
            return Anneal::Linear.interpolate(self.warmup_start, self.peak, done, rest);
        }
        let len = F::from_u32(self.total_steps - self.warmup_steps);
        let done = F::from_u32(step - self.warmup_steps) / len;
        let rest = F::from_u32(self.total_steps - step) / len;
        Anneal::Cos.interpolate(self.peak, self.final_lr, done, rest)
    }
}

/// Linear decay from `peak` at step 0 to `final_lr` at `total_steps` (Li, Yumer and
/// Ramanan, "Budgeted training", ICLR 2020: with `final_lr = 0`, a strong budget-aware
/// baseline). `lr(k) = peak + (final_lr − peak) · k / total_steps` for `k < total_steps`,
/// then `final_lr` (clamped).
///
/// ```
/// use onecycle_core::{baseline::LinearDecay, Schedule};
///
/// let s = LinearDecay::new(0.1_f64, 4, 0.0)?;
/// assert_eq!([s.lr(0), s.lr(2), s.lr(4), s.lr(9)], [0.1, 0.05, 0.0, 0.0]);
/// assert!((s.lr(3) - 0.025).abs() < 1e-17);
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LinearDecay<F> {
    peak: F,
    total_steps: u32,
    final_lr: F,
}

impl<F: Float> LinearDecay<F> {
    /// Linear decay from `peak` to `final_lr` over `total_steps`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidLr`] for a NaN, infinite or negative `peak` or
    /// `final_lr`; [`ConfigError::ZeroTotalSteps`] for `total_steps == 0`.
    pub fn new(peak: F, total_steps: u32, final_lr: F) -> Result<Self, ConfigError> {
        let (peak, final_lr) = check_decay(peak, total_steps, final_lr)?;
        Ok(Self {
            peak,
            total_steps,
            final_lr,
        })
    }
}

impl<F: Float> Schedule<F> for LinearDecay<F> {
    fn lr(&self, step: u32) -> F {
        if step >= self.total_steps {
            return self.final_lr;
        }
        let len = F::from_u32(self.total_steps);
        let done = F::from_u32(step) / len;
        let rest = F::from_u32(self.total_steps - step) / len;
        Anneal::Linear.interpolate(self.peak, self.final_lr, done, rest)
    }
}

/// Exponential decay (PyTorch's `ExponentialLR`): `lr(k) = lr0 · gammaᵏ`, with
/// `0 < gamma ≤ 1`. It has no end: the value keeps decaying towards 0.
///
/// ```
/// use onecycle_core::{baseline::Exponential, Schedule};
///
/// let s = Exponential::new(0.1_f64, 0.5)?;
/// assert_eq!([s.lr(0), s.lr(1), s.lr(3)], [0.1, 0.05, 0.0125]);
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Exponential<F> {
    lr0: F,
    gamma: F,
}

impl<F: Float> Exponential<F> {
    /// An exponential decay.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidLr`] for a NaN, infinite or negative `lr0`;
    /// [`ConfigError::InvalidGamma`] unless `0 < gamma ≤ 1` (growth would
    /// overflow; the LR range test has its own exponential sweep).
    pub fn new(lr0: F, gamma: F) -> Result<Self, ConfigError> {
        Ok(Self {
            lr0: check_lr("lr0", lr0)?,
            gamma: check_gamma(gamma, true)?,
        })
    }
}

impl<F: Float> Schedule<F> for Exponential<F> {
    fn lr(&self, step: u32) -> F {
        // gamma ≤ 1, so the power is in [0, 1]; the clamp only absorbs rounding.
        clamp_between(
            self.lr0 * self.gamma.powf(F::from_u32(step)),
            F::ZERO,
            self.lr0,
        )
    }
}

/// Two schedules one after the other, like optax's `join_schedules`: `first`
/// for steps `< boundary`, then `second` evaluated at `step − boundary`.
/// Momentum is joined the same way. Past the end it is whatever `second` does
/// past its own end.
///
/// ```
/// use onecycle_core::baseline::{Constant, Exponential, Join};
/// use onecycle_core::Schedule;
///
/// let s = Join::new(Constant::new(0.1_f64)?, Exponential::new(0.1, 0.5)?, 5)?;
/// assert_eq!(s.lr(4), 0.1);
/// assert_eq!(s.lr(5), 0.1); // second schedule's step 0
/// assert_eq!(s.lr(6), 0.05);
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Join<A, B> {
    first: A,
    second: B,
    boundary: u32,
}

impl<A, B> Join<A, B> {
    /// Joins `first` (steps `0..boundary`) and `second` (from `boundary` on).
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroBoundary`] for `boundary == 0` (the first schedule
    /// would never be used).
    pub fn new(first: A, second: B, boundary: u32) -> Result<Self, ConfigError> {
        if boundary == 0 {
            return Err(ConfigError::ZeroBoundary);
        }
        Ok(Self {
            first,
            second,
            boundary,
        })
    }

    /// The schedule used before the boundary.
    pub fn first(&self) -> &A {
        &self.first
    }

    /// The schedule used from the boundary on.
    pub fn second(&self) -> &B {
        &self.second
    }

    /// The first step of `second`.
    pub fn boundary(&self) -> u32 {
        self.boundary
    }
}

impl<F: Float, A: Schedule<F>, B: Schedule<F>> Schedule<F> for Join<A, B> {
    fn lr(&self, step: u32) -> F {
        if step < self.boundary {
            self.first.lr(step)
        } else {
            self.second.lr(step - self.boundary)
        }
    }

    fn momentum(&self, step: u32) -> Option<F> {
        if step < self.boundary {
            self.first.momentum(step)
        } else {
            self.second.momentum(step - self.boundary)
        }
    }
}
