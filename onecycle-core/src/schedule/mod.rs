//! The [`Schedule`] trait and the 1cycle schedule: [`OneCycleConfig`] → [`OneCycle`].

mod bounds;
mod config;
mod layout;
mod onecycle;

pub use config::{Convention, FinalDivOf, MomentumRange, OneCycleConfig, Phases};
pub use onecycle::{OneCycle, Steps};

pub(crate) use bounds::Bounds;
pub(crate) use layout::phase_values;

use crate::Float;

/// A learning-rate (and optionally momentum) schedule: a pure function of the
/// training step, 0-based.
///
/// `lr(k)` is the learning rate to use for training step `k` (the `k`-th
/// optimiser update). Nothing is stored between calls, so resuming a run needs
/// only the step number. Implemented by [`OneCycle`] and the
/// [`baseline`](crate::baseline) schedules, and by references to them.
///
/// ```
/// use onecycle_core::{baseline::Constant, Schedule};
///
/// fn lrs<S: Schedule<f64>>(s: &S, n: u32) -> f64 {
///     (0..n).map(|k| s.lr(k)).sum()
/// }
/// let c = Constant::new(0.01).unwrap();
/// assert!((lrs(&c, 10) - 0.1).abs() < 1e-15);
/// assert_eq!(c.momentum(0), None);
/// ```
pub trait Schedule<F: Float> {
    /// The learning rate for step `step`.
    fn lr(&self, step: u32) -> F;

    /// The momentum (or Adam β₁) for step `step`, if the schedule cycles it.
    fn momentum(&self, step: u32) -> Option<F> {
        let _ = step;
        None
    }
}

impl<F: Float, S: Schedule<F> + ?Sized> Schedule<F> for &S {
    fn lr(&self, step: u32) -> F {
        (**self).lr(step)
    }

    fn momentum(&self, step: u32) -> Option<F> {
        (**self).momentum(step)
    }
}
