//! Errors of the LR range test: invalid configurations and curves that cannot be read.

use core::fmt;

use super::Method;

/// Why a range test could not be built or a suggestion could not be computed.
///
/// Every message names the problem and the fix. Values are carried as `f64` so the error
/// type is the same for `f32` and `f64` tests.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FinderError {
    /// `start_lr` is not a finite number greater than 0.
    InvalidStartLr {
        /// The rejected value.
        start_lr: f64,
    },
    /// `end_lr` is not finite, not greater than `start_lr`, or `end_lr / start_lr`
    /// overflows (the exponential sweep needs that ratio).
    InvalidEndLr {
        /// The configured start.
        start_lr: f64,
        /// The rejected end.
        end_lr: f64,
    },
    /// `num_steps` is 0.
    ZeroSteps,
    /// The smoothing factor β is outside `[0, 1)` (or NaN).
    InvalidSmoothing {
        /// The rejected β.
        smoothing: f64,
    },
    /// The divergence factor is not greater than 1 (or NaN). `+∞` is allowed and turns
    /// the divergence stop off.
    InvalidDivergeFactor {
        /// The rejected factor.
        diverge_factor: f64,
    },
    /// The history capacity `N` cannot hold `num_steps` points.
    CapacityTooSmall {
        /// The configured number of steps.
        num_steps: u32,
        /// The history capacity (the const generic `N`).
        capacity: usize,
    },
    /// The suggestion window holds fewer points than the method needs.
    TooFewPoints {
        /// The method asked for.
        method: Method,
        /// Points the method needs in the window.
        needed: usize,
        /// Points in the window.
        have: usize,
    },
    /// The suggestion window holds more points than the method's fixed scratch buffer
    /// (only `valley` on slices, see [`MAX_VALLEY_POINTS`](super::MAX_VALLEY_POINTS)).
    TooManyPoints {
        /// The method asked for.
        method: Method,
        /// The most points it accepts.
        max: usize,
        /// Points in the window.
        have: usize,
    },
    /// The learning-rate and loss slices differ in length.
    LengthMismatch {
        /// Length of the learning rates.
        lrs: usize,
        /// Length of the losses.
        losses: usize,
    },
    /// A learning rate in the suggestion window is NaN or infinite.
    NonFiniteInput {
        /// Index into the slices passed (the full curve, not the window).
        index: usize,
        /// The value found there.
        value: f64,
    },
    /// A learning rate in the suggestion window is 0 or negative (the curve is read
    /// against `ln lr`).
    NonPositiveLr {
        /// Index into the slices passed.
        index: usize,
        /// The value found there.
        value: f64,
    },
    /// The learning rates in the suggestion window do not strictly increase.
    LrsNotIncreasing {
        /// Index (into the slices passed) of the first lr not greater than its predecessor.
        index: usize,
    },
    /// The divergence edge needs at least 4 recorded points.
    TooShortForEdge {
        /// Points recorded.
        have: usize,
    },
    /// The curve ends below the loss it started from: the sweep stopped before the loss
    /// blew up, so it has no divergence edge.
    NoDivergence,
    /// The loss never fell below the loss it started from before it blew up.
    NoDescent,
    /// No sweep edges were given to combine.
    NoSweeps,
    /// More sweep edges than [`MAX_SWEEPS`](super::MAX_SWEEPS) were given to combine.
    TooManySweeps {
        /// The most that are combined.
        max: usize,
    },
    /// A divisor of the combined edge is not a finite number greater than 0.
    InvalidDivisor {
        /// The rejected divisor.
        divisor: f64,
    },
}

impl fmt::Display for FinderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InvalidStartLr { start_lr } => write!(
                f,
                "start_lr is {start_lr}: it must be a finite number greater than 0 (try 1e-7)"
            ),
            Self::InvalidEndLr { start_lr, end_lr } => write!(
                f,
                "end_lr is {end_lr} with start_lr {start_lr}: end_lr must be finite and greater \
                 than start_lr, with end_lr / start_lr finite (try start_lr 1e-7, end_lr 10)"
            ),
            Self::ZeroSteps => {
                f.write_str("num_steps is 0: the sweep needs at least 1 step (try 100)")
            }
            Self::InvalidSmoothing { smoothing } => write!(
                f,
                "smoothing (β) is {smoothing}: it must lie in [0, 1), 0 turning smoothing off \
                 (try 0.98)"
            ),
            Self::InvalidDivergeFactor { diverge_factor } => write!(
                f,
                "diverge_factor is {diverge_factor}: it must be greater than 1 (try 4, or \
                 infinity to never stop on divergence)"
            ),
            Self::CapacityTooSmall {
                num_steps,
                capacity,
            } => write!(
                f,
                "num_steps is {num_steps} but the history holds only {capacity} points: lower \
                 num_steps to at most {capacity} or build with a capacity N of at least {num_steps}"
            ),
            Self::TooFewPoints {
                method,
                needed,
                have,
            } => write!(
                f,
                "the {method} suggestion needs at least {needed} points in its window but has \
                 {have}: the window drops the first num_steps/10 and the last 5 recorded points, \
                 so record more steps (or lower start_lr so the loss diverges later)"
            ),
            Self::TooManyPoints { method, max, have } => write!(
                f,
                "the {method} suggestion accepts at most {max} points in its window but has \
                 {have}: pass a shorter (or thinned) curve, or use RangeTest::suggest, whose \
                 scratch buffer is sized by the history capacity"
            ),
            Self::LengthMismatch { lrs, losses } => write!(
                f,
                "got {lrs} learning rates but {losses} losses: pass one loss per learning rate"
            ),
            Self::NonFiniteInput { index, value } => write!(
                f,
                "learning rate {index} is {value}: learning rates must be finite numbers; fix \
                 or drop that row"
            ),
            Self::NonPositiveLr { index, value } => write!(
                f,
                "learning rate {index} is {value}: learning rates must be greater than 0 (the \
                 curve is read against ln lr); fix or drop that row"
            ),
            Self::LrsNotIncreasing { index } => write!(
                f,
                "learning rate {index} is not greater than learning rate {}: the curve must be \
                 recorded with strictly increasing learning rates; sort it or drop duplicates",
                index.saturating_sub(1)
            ),
            Self::TooShortForEdge { have } => write!(
                f,
                "the divergence edge needs at least 4 recorded points but the curve has {have}: \
                 record more steps"
            ),
            Self::NoDivergence => f.write_str(
                "the loss did not blow up before the sweep ended, so there is no divergence \
                 edge to read the auto learning rate from: raise end_lr (--end-lr) or the \
                 number of steps",
            ),
            Self::NoDescent => f.write_str(
                "the loss never fell below its starting value before it blew up, so the auto \
                 learning rate cannot be read: lower start_lr (--start-lr), or check the model \
                 and data (does the loss fall at a small fixed learning rate?)",
            ),
            Self::NoSweeps => f.write_str(
                "no sweep edges to combine: run at least one sweep (--sweeps 1 or more)",
            ),
            Self::TooManySweeps { max } => write!(
                f,
                "more than {max} sweeps to combine: run at most {max} (--sweeps {max})"
            ),
            Self::InvalidDivisor { divisor } => write!(
                f,
                "the divisor of the edge is {divisor}: it must be a finite number greater than 0"
            ),
        }
    }
}

impl core::error::Error for FinderError {}

/// The error of parsing a [`Method`] from a string that names none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParseMethodError;

impl fmt::Display for ParseMethodError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown suggestion method: use one of valley, slide, minimum, steep")
    }
}

impl core::error::Error for ParseMethodError {}
