//! What a finished range test found, as one value: the step cap every host-side range test
//! uses, and the outcome with its curve in a container of the caller's choice (a `Vec` with
//! an allocator, a `heapless::Vec` or a borrowed slice without).

use crate::Float;

use super::{Edge, FinderError, Point, RangeTest, StopReason, Suggestions};

/// Most steps a host-side range test records (the trainer's, burn's and candle's): the
/// history is a fixed-capacity buffer of this many points (24 bytes each in `f64`), far
/// above fastai's default sweep of 100 steps.
pub const MAX_RANGE_STEPS: usize = 2048;

/// What a range test found.
///
/// ```
/// use onecycle_core::finder::{RangeTestOutcome, StopReason, MAX_RANGE_STEPS};
/// use onecycle_core::RangeTestConfig;
///
/// let mut test = RangeTestConfig::<f64>::default().build::<MAX_RANGE_STEPS>()?;
/// let mut i = 0.0;
/// let stop = loop {
///     // A loss that falls, then blows up as the lr grows.
///     let loss = if test.lr() < 1.0 { 2.0 - i * 1e-3 } else { 2.0 * test.lr() * test.lr() };
///     i += 1.0;
///     if let onecycle_core::finder::Status::Done(reason) = test.record(loss) {
///         break reason;
///     }
/// };
/// let outcome: RangeTestOutcome<f64, &[_]> = test.outcome(stop, |curve| curve);
/// assert_eq!(outcome.stop, StopReason::Diverged);
/// assert_eq!(outcome.curve.len(), test.history().len());
/// assert!(outcome.edge.is_ok());
/// # Ok::<(), onecycle_core::FinderError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RangeTestOutcome<F, C> {
    /// One point per recorded step: the lr it trained with, the smoothed and the raw loss.
    pub curve: C,
    /// Why the sweep stopped.
    pub stop: StopReason,
    /// fastai's four suggestions (valley, slide, minimum, steep), or why the curve was too
    /// short for them.
    pub suggestions: Result<Suggestions<F>, FinderError>,
    /// onecycle's divergence edge (where the raw loss broke down for good) and its `auto`
    /// max lr, the edge / 30: far steadier over seeds than fastai's rules (see
    /// [`divergence_edge`](super::divergence_edge)); an error when the loss did not blow up
    /// within the sweep.
    pub edge: Result<Edge<F>, FinderError>,
}

impl<F: Float, const N: usize> RangeTest<F, N> {
    /// The outcome of this test, which stopped for `stop`, with its curve handed to `curve`
    /// (`<[_]>::to_vec` to own it, the identity to borrow it).
    pub fn outcome<'a, C>(
        &'a self,
        stop: StopReason,
        curve: impl FnOnce(&'a [Point<F>]) -> C,
    ) -> RangeTestOutcome<F, C> {
        RangeTestOutcome {
            curve: curve(self.history()),
            stop,
            suggestions: self.suggestions(),
            edge: self.edge(),
        }
    }
}
