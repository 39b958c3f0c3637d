//! [`OneCycle`]: the checked, ready-to-evaluate 1cycle schedule, and its [`Steps`] iterator.

use core::iter::FusedIterator;

use super::layout::{Layout, Phase};
use crate::fmt::trace;
use crate::{ConfigError, Float, OneCycleConfig, Schedule};

/// Leslie Smith's 1cycle learning-rate (and momentum) schedule, checked and
/// ready to evaluate: `Copy`, stateless, O(1) per step.
///
/// The learning rate climbs from `initial_lr = max_lr / div_factor` to `max_lr`
/// over the first `pct_start` of the steps, then anneals to `final_lr` (two
/// phases), or back to `initial_lr` and then to `final_lr` (three phases).
/// Momentum, when configured, moves the opposite way between
/// `MomentumRange::max` and `MomentumRange::base`. Within a phase of progress
/// `pct ∈ [0, 1]` from `a` to `b`:
///
/// * cos: `b + (a − b)/2 · (1 + cos(π·pct))`
/// * linear: `a + pct·(b − a)`
///
/// where `pct = (k − phase_start)/(phase_end − phase_start)` for step `k`,
/// with the boundaries of the configured [`Convention`](crate::Convention).
///
/// **Past the end:** from step `total_steps` on, [`lr`](Self::lr) and
/// [`momentum`](Self::momentum) return the final values (the last phase's end
/// values). They never extrapolate (PyTorch would) nor fail.
///
/// References: L. N. Smith, *Super-Convergence: Very Fast Training of Neural
/// Networks Using Large Learning Rates*, arXiv:1708.07120 (2017); L. N. Smith,
/// *A disciplined approach to neural network hyper-parameters: Part 1*,
/// arXiv:1803.09820 (2018).
///
/// ```
/// use onecycle_core::OneCycleConfig;
///
/// // PyTorch's OneCycleLR(max_lr=0.1, total_steps=10): peak at step 0.3·10 − 1 = 2.
/// let s = OneCycleConfig::pytorch(0.1_f64, 10).build()?;
/// assert!((s.lr(0) - 0.004).abs() < 1e-15);
/// assert_eq!(s.lr(2), 0.1);
/// assert_eq!(s.momentum(2), Some(0.85));
/// assert!((s.lr(9) - 4e-7).abs() < 1e-18);
/// assert_eq!(s.lr(1_000), s.final_lr()); // clamped past the end
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OneCycle<F> {
    config: OneCycleConfig<F>,
    layout: Layout<F>,
}

impl<F: Float> OneCycle<F> {
    /// Lays out the phases of a config whose scalar fields are checked.
    pub(crate) fn from_checked(config: OneCycleConfig<F>) -> Result<Self, ConfigError> {
        let layout = Layout::new(&config)?;
        crate::fmt::debug!(
            "1cycle built: {} steps, {} phases",
            config.total_steps,
            layout.count
        );
        Ok(Self { config, layout })
    }

    /// The phase holding `step`, whether its start is the nearer end, and the
    /// progress `u` from that nearer end (at most about ½), or `None` from
    /// `total_steps` on. One division per step: the numerators are compared
    /// first, and only the smaller is divided.
    #[inline]
    fn locate(&self, step: u32) -> Option<(&Phase<F>, bool, F)> {
        if step >= self.config.total_steps {
            return None;
        }
        let phase = self.layout.phase_of(step);
        let x = F::from_u32(step);
        let (from_start, to_end) = (x - phase.start, phase.end - x);
        let near_start = from_start <= to_end;
        let u = if near_start { from_start } else { to_end } / phase.len;
        // Only rounding of a huge step in f32 can make `u` negative.
        let u = if u > F::ZERO { u } else { F::ZERO };
        trace!("step {}: near start {}, u {}", step, near_start, u.to_f64());
        Some((phase, near_start, u))
    }

    /// A phase's value pair `(start, end)` at a located position.
    #[inline]
    fn value(&self, ends: (F, F), near_start: bool, u: F) -> F {
        let anneal = self.config.anneal;
        if near_start {
            anneal.toward(ends.0, ends.1, u)
        } else {
            anneal.toward(ends.1, ends.0, u)
        }
    }

    /// The learning rate for training step `step` (0-based); the final learning
    /// rate from `total_steps` on.
    #[must_use]
    #[inline]
    pub fn lr(&self, step: u32) -> F {
        match self.locate(step) {
            Some((p, near_start, u)) => self.value(p.lr, near_start, u),
            None => self.layout.last().lr.1,
        }
    }

    /// The momentum for training step `step`, or `None` when the config has no
    /// [`MomentumRange`](crate::MomentumRange). From `total_steps` on: the
    /// maximum momentum.
    #[must_use]
    #[inline]
    pub fn momentum(&self, step: u32) -> Option<F> {
        self.config.momentum?;
        Some(match self.locate(step) {
            Some((p, near_start, u)) => self.value(p.mom, near_start, u),
            None => self.layout.last().mom.1,
        })
    }

    /// `(lr(step), momentum(step))`, locating the step once.
    ///
    /// ```
    /// use onecycle_core::OneCycleConfig;
    ///
    /// let s = OneCycleConfig::pytorch(0.1_f64, 100).build()?;
    /// assert_eq!(s.at(29), (0.1, Some(0.85))); // the peak: 0.3·100 − 1
    /// assert_eq!(s.at(57), (s.lr(57), s.momentum(57)));
    /// # Ok::<(), onecycle_core::ConfigError>(())
    /// ```
    #[must_use]
    #[inline]
    pub fn at(&self, step: u32) -> (F, Option<F>) {
        let has_momentum = self.config.momentum.is_some();
        match self.locate(step) {
            Some((p, near, u)) => (
                self.value(p.lr, near, u),
                has_momentum.then(|| self.value(p.mom, near, u)),
            ),
            None => {
                let last = self.layout.last();
                (last.lr.1, has_momentum.then_some(last.mom.1))
            }
        }
    }

    /// The first step of each phase after the first (1 or 2 of them): where
    /// the curve changes direction. Plotting a long schedule at these steps
    /// (and their predecessors) draws its corners exactly.
    ///
    /// ```
    /// use onecycle_core::OneCycleConfig;
    ///
    /// // PyTorch ends phase 1 at 0.3·100 − 1 = 29 (inclusive): phase 2 starts at 30.
    /// let s = OneCycleConfig::pytorch(0.1_f64, 100).build()?;
    /// assert!(s.phase_starts().eq([30]));
    /// let s = OneCycleConfig::optax_linear(0.1_f64, 100).build()?;
    /// assert!(s.phase_starts().eq([30, 85]));
    /// # Ok::<(), onecycle_core::ConfigError>(())
    /// ```
    pub fn phase_starts(&self) -> impl Iterator<Item = u32> + '_ {
        let later = usize::from(self.layout.count) - 1;
        self.layout.phases[..later].iter().map(|p| p.next)
    }

    /// Number of steps in the cycle.
    #[must_use]
    pub fn total_steps(&self) -> u32 {
        self.config.total_steps
    }

    /// The learning rate at step 0: `max_lr / div_factor`.
    #[must_use]
    pub fn initial_lr(&self) -> F {
        self.layout.phases[0].lr.0
    }

    /// The peak learning rate.
    #[must_use]
    pub fn max_lr(&self) -> F {
        self.config.max_lr
    }

    /// The learning rate at the end of the cycle and past it.
    #[must_use]
    pub fn final_lr(&self) -> F {
        self.layout.last().lr.1
    }

    /// The configuration this schedule was built from.
    #[must_use]
    pub fn config(&self) -> &OneCycleConfig<F> {
        &self.config
    }

    /// Iterates `(lr, momentum)` for steps `0..total_steps`.
    ///
    /// ```
    /// use onecycle_core::OneCycleConfig;
    ///
    /// let s = OneCycleConfig::fastai(1e-2_f32, 100).build()?;
    /// let peak = s.iter().map(|(lr, _)| lr).fold(0.0, f32::max);
    /// assert_eq!(peak, 1e-2);
    /// assert_eq!(s.iter().len(), 100);
    /// # Ok::<(), onecycle_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn iter(&self) -> Steps<F> {
        Steps {
            schedule: *self,
            next: 0,
        }
    }
}

impl<F: Float> Schedule<F> for OneCycle<F> {
    fn lr(&self, step: u32) -> F {
        OneCycle::lr(self, step)
    }

    fn momentum(&self, step: u32) -> Option<F> {
        OneCycle::momentum(self, step)
    }
}

impl<F: Float> IntoIterator for &OneCycle<F> {
    type Item = (F, Option<F>);
    type IntoIter = Steps<F>;

    fn into_iter(self) -> Steps<F> {
        self.iter()
    }
}

/// Iterator over `(lr, momentum)` for each step of a [`OneCycle`], from
/// [`OneCycle::iter`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Steps<F> {
    schedule: OneCycle<F>,
    next: u32,
}

impl<F: Float> Iterator for Steps<F> {
    type Item = (F, Option<F>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.schedule.total_steps() {
            return None;
        }
        let k = self.next;
        self.next += 1;
        Some(self.schedule.at(k))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.schedule.total_steps().saturating_sub(self.next);
        let left = usize::try_from(left).unwrap_or(usize::MAX);
        (left, Some(left))
    }

    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.next = self.next.saturating_add(n).min(self.schedule.total_steps());
        self.next()
    }
}

impl<F: Float> ExactSizeIterator for Steps<F> {}
impl<F: Float> FusedIterator for Steps<F> {}
