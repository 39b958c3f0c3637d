//! The range test itself: a state machine the training loop drives one step at a time.

use crate::fmt::debug;
use crate::Float;

use super::edge::{edge_with, Edge};
use super::smoothing::DebiasedEma;
use super::suggest::suggest_with;
use super::{FinderError, Method, Point, RangeTestConfig, Suggestion, Suggestions};

/// What the training loop should do after [`RangeTest::record`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Status<F> {
    /// Train one more step, with this learning rate.
    Continue {
        /// The learning rate for the next step (also [`RangeTest::lr`]).
        next_lr: F,
    },
    /// The test is over; read the [`history`](RangeTest::history) or the suggestions.
    Done(StopReason),
}

/// Why a range test stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StopReason {
    /// All `num_steps` steps were recorded.
    Completed,
    /// The smoothed loss exceeded `diverge_factor ×` the best smoothed loss. The step that
    /// diverged is recorded.
    Diverged,
    /// The loss was NaN or ±∞, or so large that the smoothed loss overflowed. That loss is
    /// **not** recorded, so the history (and every suggestion) stays finite.
    NonFiniteLoss,
    /// The history was full. Cannot happen through [`RangeTestConfig::build`], which rejects
    /// `num_steps > N`; kept so that a full buffer stops the test instead of panicking.
    HistoryFull,
}

/// An LR range test in progress (Smith 2017, arXiv:1506.01186; fastai's `LRFinder`): the
/// learning rate grows from `start_lr` to `end_lr` over `num_steps` training steps while the
/// smoothed loss is recorded into a history of capacity `N`, with no allocation.
///
/// The caller drives it: train one step with [`lr`](Self::lr), report the loss to
/// [`record`](Self::record), stop when it says [`Status::Done`]. No model or framework inside.
///
/// ```
/// use onecycle_core::finder::{Method, RangeTestConfig, Status, StopReason};
///
/// // A model-free stand-in for "train one step at this lr and return the loss": the loss
/// // falls until lr ≈ 1e-2, then climbs and blows up past lr ≈ 1.
/// fn train_step(lr: f64) -> f64 {
///     let x = lr.log10() + 2.0; // 0 at lr = 1e-2
///     1.0 + 0.05 * x * x - 0.3 * (-x * x).exp() + if lr > 1.0 { 100.0 * lr } else { 0.0 }
/// }
///
/// let mut test = RangeTestConfig::<f64>::default().build::<100>()?;
/// let reason = loop {
///     let loss = train_step(test.lr());
///     if let Status::Done(reason) = test.record(loss) {
///         break reason;
///     }
/// };
/// assert_eq!(reason, StopReason::Diverged);
/// let valley = test.suggest(Method::Valley)?;
/// assert!(valley.lr > 1e-5 && valley.lr < 1.0, "{valley:?}");
/// let all = test.suggestions()?;
/// assert_eq!(all.valley, valley.lr);
/// # Ok::<(), onecycle_core::finder::FinderError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RangeTest<F, const N: usize> {
    config: RangeTestConfig<F>,
    step: u32,
    ema: DebiasedEma<F>,
    best: Option<F>,
    stop: Option<StopReason>,
    history: heapless::Vec<Point<F>, N>,
}

impl<F: Float, const N: usize> RangeTest<F, N> {
    /// A fresh test; `config` was validated for capacity `N`.
    pub(crate) fn new(config: RangeTestConfig<F>) -> Self {
        Self {
            config,
            step: 0,
            ema: DebiasedEma::new(config.smoothing),
            best: None,
            stop: None,
            history: heapless::Vec::new(),
        }
    }

    /// The configuration the test was built from.
    #[must_use]
    pub fn config(&self) -> &RangeTestConfig<F> {
        &self.config
    }

    /// The learning rate for the next training step: [`RangeTestConfig::lr_at`]`(step())`.
    /// After the test is done it is the rate the next step would have had.
    #[must_use]
    pub fn lr(&self) -> F {
        self.config.lr_at(self.step)
    }

    /// Number of losses recorded so far (the 0-based index of the next step).
    #[must_use]
    pub fn step(&self) -> u32 {
        self.step
    }

    /// Records the loss of the step trained with [`lr`](Self::lr) and advances.
    ///
    /// The point `(lr, smoothed loss, loss)` joins the history, then the test stops with
    /// [`StopReason::Diverged`] if the smoothed loss exceeds `diverge_factor ×` the best one,
    /// or with [`StopReason::Completed`] after `num_steps` points. A non-finite loss stops it
    /// with [`StopReason::NonFiniteLoss`] and is not recorded. Once done, `record` returns the
    /// same `Done` again and changes nothing.
    pub fn record(&mut self, loss: F) -> Status<F> {
        if let Some(reason) = self.stop {
            return Status::Done(reason);
        }
        let ema = self.ema.advanced(loss);
        let smoothed = ema.value();
        if !loss.is_finite() || !smoothed.is_finite() {
            return self.finish(StopReason::NonFiniteLoss);
        }
        let point = Point {
            lr: self.lr(),
            loss: smoothed,
            raw_loss: loss,
        };
        if self.history.push(point).is_err() {
            return self.finish(StopReason::HistoryFull);
        }
        self.ema = ema;
        self.step += 1;
        let best = match self.best {
            Some(best) if best <= smoothed => best,
            _ => smoothed,
        };
        self.best = Some(best);
        let factor = self.config.diverge_factor;
        if factor.is_finite() && smoothed > factor * best {
            return self.finish(StopReason::Diverged);
        }
        if self.step >= self.config.num_steps {
            return self.finish(StopReason::Completed);
        }
        Status::Continue { next_lr: self.lr() }
    }

    fn finish(&mut self, reason: StopReason) -> Status<F> {
        debug!(
            "LR range test stopped after {=u32} steps: {}",
            self.step, reason
        );
        self.stop = Some(reason);
        Status::Done(reason)
    }

    /// `true` once [`record`](Self::record) has returned [`Status::Done`].
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.stop.is_some()
    }

    /// Why the test stopped, once it has.
    #[must_use]
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.stop
    }

    /// The lowest smoothed loss recorded so far.
    #[must_use]
    pub fn best_loss(&self) -> Option<F> {
        self.best
    }

    /// The recorded points, in step order.
    #[must_use]
    pub fn history(&self) -> &[Point<F>] {
        &self.history
    }

    /// Suggests a learning rate from the history (its smoothed losses), as
    /// [`suggest`](super::suggest) does on slices; the suggestion's `index` is into
    /// [`history`](Self::history). Works mid-test too. `valley` uses a `[u32; N]` scratch
    /// buffer on the stack.
    ///
    /// # Errors
    /// [`FinderError::TooFewPoints`] when the window (history minus its first `num_steps / 10`
    /// and last 5 points) is too short for `method`; [`FinderError::LrsNotIncreasing`] when a
    /// degenerate range rounds two steps to the same learning rate.
    pub fn suggest(&self, method: Method) -> Result<Suggestion<F>, FinderError> {
        let num_steps = self.config.num_steps as usize;
        if method == Method::Valley {
            self.valley(num_steps)
        } else {
            suggest_with(self.curve(), num_steps, method, &mut [])
        }
    }

    #[inline(never)]
    fn valley(&self, num_steps: usize) -> Result<Suggestion<F>, FinderError> {
        let mut scratch = [0u32; N];
        suggest_with(self.curve(), num_steps, Method::Valley, &mut scratch)
    }

    fn curve(&self) -> &[Point<F>] {
        &self.history
    }

    /// The divergence edge of the history's raw losses and the `auto` learning rate
    /// ([`divergence_edge`](super::divergence_edge)). A test stopped by a non-finite loss
    /// counts that unrecorded step as the last, blown-up point.
    ///
    /// # Errors
    /// [`FinderError::NoDivergence`] when the loss had not blown up (yet);
    /// [`FinderError::NoDescent`] or [`FinderError::TooShortForEdge`] as
    /// [`divergence_edge`](super::divergence_edge).
    pub fn edge(&self) -> Result<Edge<F>, FinderError> {
        let h = &self.history;
        let blown = self.stop == Some(StopReason::NonFiniteLoss);
        let n = h.len() + usize::from(blown);
        let lr_after = self
            .config
            .lr_at(u32::try_from(h.len()).unwrap_or(u32::MAX));
        edge_with(
            n,
            |i| h.get(i).map_or(lr_after, |p| p.lr),
            |i| h.get(i).map_or(F::from_f64(f64::NAN), |p| p.raw_loss),
        )
    }

    /// Every method's suggestion.
    ///
    /// # Errors
    /// The first error of [`suggest`](Self::suggest), in [`Method::ALL`] order.
    pub fn suggestions(&self) -> Result<Suggestions<F>, FinderError> {
        let get = |m| self.suggest(m).map(|s| s.lr);
        Ok(Suggestions {
            valley: get(Method::Valley)?,
            slide: get(Method::Slide)?,
            minimum: get(Method::Minimum)?,
            steep: get(Method::Steep)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_history_stops_instead_of_panicking() {
        // `build` rejects num_steps > N, so go around it to reach the defensive path.
        let config = RangeTestConfig::<f64> {
            num_steps: 5,
            ..Default::default()
        };
        let mut test = RangeTest::<f64, 2>::new(config);
        assert!(matches!(test.record(1.0), Status::Continue { .. }));
        assert!(matches!(test.record(1.0), Status::Continue { .. }));
        assert_eq!(test.record(1.0), Status::Done(StopReason::HistoryFull));
        assert_eq!((test.step(), test.history().len()), (2, 2));
        assert_eq!(test.record(1.0), Status::Done(StopReason::HistoryFull));
    }

    #[test]
    fn a_test_stopped_by_a_non_finite_loss_has_its_edge_at_that_step() {
        let mut test = RangeTestConfig::<f64>::default().build::<100>().unwrap();
        for loss in [2.3, 2.3, 2.0, 1.0, 0.5, 0.4, 0.3] {
            assert!(matches!(test.record(loss), Status::Continue { .. }));
        }
        // Before it blew up there is no edge.
        assert_eq!(test.edge(), Err(FinderError::NoDivergence));
        assert_eq!(
            test.record(f64::INFINITY),
            Status::Done(StopReason::NonFiniteLoss)
        );
        let edge = test.edge().unwrap();
        assert_eq!(edge.index, 7);
        assert_eq!(edge.lr, test.config().lr_at(7));
    }
}
