//! Learning-rate suggestions from a recorded curve: fastai's `valley`, `slide`, `minimum`,
//! `steep`, each read on fastai's window of the curve.

use core::fmt;
use core::ops::Range;
use core::str::FromStr;

use crate::Float;

use super::history::{Curve, Slices, Window};
use super::{methods, FinderError, ParseMethodError};

/// Most points of the suggestion window [`suggest`]/[`suggest_all`] accept for
/// [`Method::Valley`], whose O(n²) search needs one scratch `u32` per point (kept on the stack:
/// 16 KiB). [`RangeTest::suggest`](super::RangeTest::suggest) is bounded by its capacity instead.
pub const MAX_VALLEY_POINTS: usize = 4096;

/// [`Method::Slide`]'s interval: the two edges compared are this many points apart (fastai's
/// `lr_diff`).
pub const SLIDE_LR_DIFF: usize = 15;

/// [`Method::Slide`]'s tolerance on the difference of the loss gradients at the two edges, in
/// loss units per point (fastai's `thresh`).
pub const SLIDE_THRESHOLD: f64 = 0.005;

/// A rule that reads a learning rate off the loss-vs-lr curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Method {
    /// The point about half-way down the first two thirds of the longest strictly decreasing
    /// run of the loss (fastai's default since 2.5).
    #[default]
    Valley,
    /// The left edge of the last 15-point interval whose end-point loss gradients still differ
    /// by more than 0.005, sliding in from the right.
    Slide,
    /// One tenth of the learning rate at the lowest loss.
    Minimum,
    /// The learning rate at the start of the steepest descent of the loss per `ln lr`.
    Steep,
}

impl Method {
    /// The four methods, in [`Suggestions`]' field order.
    pub const ALL: [Method; 4] = [
        Method::Valley,
        Method::Slide,
        Method::Minimum,
        Method::Steep,
    ];

    /// Lower-case name, as fastai spells the function (and [`FromStr`] accepts).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Method::Valley => "valley",
            Method::Slide => "slide",
            Method::Minimum => "minimum",
            Method::Steep => "steep",
        }
    }

    /// Points the method needs in the suggestion window: 1 for `minimum`, 2 for `steep` and
    /// `valley`, [`SLIDE_LR_DIFF`]` + 1` for `slide`.
    #[must_use]
    pub const fn min_points(self) -> usize {
        match self {
            Method::Minimum => 1,
            Method::Steep | Method::Valley => 2,
            Method::Slide => SLIDE_LR_DIFF + 1,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = ParseMethodError;

    /// Parses a [`name`](Method::name), ignoring ASCII case.
    ///
    /// ```
    /// use onecycle_core::finder::Method;
    /// assert_eq!("Steep".parse::<Method>(), Ok(Method::Steep));
    /// assert!("fastest".parse::<Method>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or(ParseMethodError)
    }
}

/// One suggested learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Suggestion<F> {
    /// The suggested learning rate.
    pub lr: F,
    /// Index of the curve point the suggestion was read at, into the **full** curve (the
    /// history, or the slices passed), not into the window. For [`Method::Minimum`] that is
    /// the lowest-loss point, whose lr is 10 × the suggestion.
    pub index: usize,
    /// The (recorded) loss at `index`.
    pub loss: F,
}

/// The learning rate suggested by each method.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Suggestions<F> {
    /// [`Method::Valley`].
    pub valley: F,
    /// [`Method::Slide`].
    pub slide: F,
    /// [`Method::Minimum`].
    pub minimum: F,
    /// [`Method::Steep`].
    pub steep: F,
}

impl<F: Copy> Suggestions<F> {
    /// The suggestion of `method`.
    #[must_use]
    pub fn get(&self, method: Method) -> F {
        match method {
            Method::Valley => self.valley,
            Method::Slide => self.slide,
            Method::Minimum => self.minimum,
            Method::Steep => self.steep,
        }
    }
}

/// fastai's suggestion window over a curve of `len` points recorded in a test of `num_steps`
/// steps: drop the first `num_steps / 10` and the last 5 points (empty when nothing is left).
///
/// ```
/// assert_eq!(onecycle_core::finder::window(100, 100), 10..95);
/// assert_eq!(onecycle_core::finder::window(12, 100), 10..10);
/// ```
#[must_use]
pub fn window(len: usize, num_steps: usize) -> Range<usize> {
    let start = num_steps / 10;
    let end = len.saturating_sub(5).max(start);
    start..end
}

/// Suggests a learning rate from a curve recorded by a range test of `num_steps` steps, read as
/// given (pass the smoothed loss, as fastai does).
///
/// The curve is first cut to [`window`]`(len, num_steps)`, then cut again before its first
/// non-finite loss (fastai cuts at the first NaN; ±∞ is cut too). The learning rates left must
/// be finite, positive and strictly increasing.
///
/// ```
/// use onecycle_core::finder::{suggest, Method};
///
/// // 30 points: the window is 3..25. Loss falls to its minimum at point 14, then rises.
/// let lrs: Vec<f64> = (0..30).map(|i| 1e-4 * 10f64.powf(i as f64 / 6.0)).collect();
/// let losses: Vec<f64> = (0..30).map(|i| 1.0 + ((i as f64 - 14.0) / 6.0).powi(2)).collect();
/// let s = suggest(&lrs, &losses, 30, Method::Minimum)?;
/// assert_eq!(s.index, 14);
/// assert_eq!(s.lr, lrs[14] / 10.0);
/// # Ok::<(), onecycle_core::finder::FinderError>(())
/// ```
///
/// # Errors
/// [`FinderError::LengthMismatch`], [`FinderError::NonFiniteInput`],
/// [`FinderError::NonPositiveLr`], [`FinderError::LrsNotIncreasing`],
/// [`FinderError::TooFewPoints`], and [`FinderError::TooManyPoints`] for `valley` on more than
/// [`MAX_VALLEY_POINTS`] windowed points.
pub fn suggest<F: Float>(
    lrs: &[F],
    losses: &[F],
    num_steps: usize,
    method: Method,
) -> Result<Suggestion<F>, FinderError> {
    if lrs.len() != losses.len() {
        return Err(FinderError::LengthMismatch {
            lrs: lrs.len(),
            losses: losses.len(),
        });
    }
    let curve = Slices { lrs, losses };
    if method == Method::Valley {
        slice_valley(&curve, num_steps)
    } else {
        suggest_with(&curve, num_steps, method, &mut [])
    }
}

/// Every method's suggestion, as [`suggest`] computes them.
///
/// # Errors
/// The first error of [`suggest`], in [`Method::ALL`] order.
pub fn suggest_all<F: Float>(
    lrs: &[F],
    losses: &[F],
    num_steps: usize,
) -> Result<Suggestions<F>, FinderError> {
    let get = |m| suggest(lrs, losses, num_steps, m).map(|s| s.lr);
    Ok(Suggestions {
        valley: get(Method::Valley)?,
        slide: get(Method::Slide)?,
        minimum: get(Method::Minimum)?,
        steep: get(Method::Steep)?,
    })
}

/// `valley` on slices, with its stack scratch kept out of the other methods' frames.
#[inline(never)]
fn slice_valley<F: Float>(
    curve: &Slices<'_, F>,
    num_steps: usize,
) -> Result<Suggestion<F>, FinderError> {
    let mut scratch = [0u32; MAX_VALLEY_POINTS];
    suggest_with(curve, num_steps, Method::Valley, &mut scratch)
}

/// The window of `curve` the suggestions read, checked; see [`suggest`].
fn checked_window<F: Float, C: Curve<F> + ?Sized>(
    curve: &C,
    num_steps: usize,
    method: Method,
) -> Result<Range<usize>, FinderError> {
    let mut w = window(curve.len(), num_steps);
    if let Some(cut) = w.clone().find(|&i| !curve.loss(i).is_finite()) {
        w.end = cut;
    }
    for i in w.clone() {
        let lr = curve.lr(i);
        if !lr.is_finite() {
            return Err(FinderError::NonFiniteInput {
                index: i,
                value: lr.to_f64(),
            });
        }
        if lr <= F::ZERO {
            return Err(FinderError::NonPositiveLr {
                index: i,
                value: lr.to_f64(),
            });
        }
        // Both finite here: the previous lr passed these checks.
        if i > w.start && lr <= curve.lr(i - 1) {
            return Err(FinderError::LrsNotIncreasing { index: i });
        }
    }
    if w.len() < method.min_points() {
        return Err(FinderError::TooFewPoints {
            method,
            needed: method.min_points(),
            have: w.len(),
        });
    }
    Ok(w)
}

/// Suggestion of `method` on `curve`; `scratch` must hold the window for `valley` (a shorter
/// one gives [`FinderError::TooManyPoints`]).
pub(crate) fn suggest_with<F: Float, C: Curve<F> + ?Sized>(
    curve: &C,
    num_steps: usize,
    method: Method,
    scratch: &mut [u32],
) -> Result<Suggestion<F>, FinderError> {
    let w = checked_window(curve, num_steps, method)?;
    let view = Window {
        curve,
        start: w.start,
        len: w.len(),
    };
    let local = match method {
        Method::Valley => {
            if scratch.len() < w.len() {
                return Err(FinderError::TooManyPoints {
                    method,
                    max: scratch.len(),
                    have: w.len(),
                });
            }
            methods::valley(&view, scratch)
        }
        Method::Slide => methods::slide(&view, SLIDE_LR_DIFF, F::from_f64(SLIDE_THRESHOLD)),
        Method::Minimum => methods::minimum(&view),
        Method::Steep => methods::steep(&view),
    };
    let index = w.start + local;
    let lr = curve.lr(index);
    Ok(Suggestion {
        lr: if method == Method::Minimum {
            lr / F::from_f64(10.0)
        } else {
            lr
        },
        index,
        loss: curve.loss(index),
    })
}
