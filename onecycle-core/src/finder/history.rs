//! Recorded points and the read-only curve view the suggestions work on.

use crate::Float;

/// One recorded step of a range test.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Point<F> {
    /// The learning rate the step was trained with.
    pub lr: F,
    /// The debiased smoothed loss after this step (what the suggestions read).
    pub loss: F,
    /// The loss the caller reported for this step.
    pub raw_loss: F,
}

/// A curve of `(lr, loss)` pairs, indexed `0..len()`. Callers only pass in-bounds indices.
pub(crate) trait Curve<F> {
    fn len(&self) -> usize;
    fn lr(&self, i: usize) -> F;
    fn loss(&self, i: usize) -> F;
}

/// Two parallel slices of equal length (checked by the caller).
pub(crate) struct Slices<'a, F> {
    pub(crate) lrs: &'a [F],
    pub(crate) losses: &'a [F],
}

impl<F: Float> Curve<F> for Slices<'_, F> {
    fn len(&self) -> usize {
        self.lrs.len().min(self.losses.len())
    }
    fn lr(&self, i: usize) -> F {
        self.lrs[i]
    }
    fn loss(&self, i: usize) -> F {
        self.losses[i]
    }
}

/// A history, read as `(lr, smoothed loss)`.
impl<F: Float> Curve<F> for [Point<F>] {
    fn len(&self) -> usize {
        <[Point<F>]>::len(self)
    }
    fn lr(&self, i: usize) -> F {
        self[i].lr
    }
    fn loss(&self, i: usize) -> F {
        self[i].loss
    }
}

/// The points `start..start + len` of another curve, re-indexed from 0.
pub(crate) struct Window<'a, C: ?Sized> {
    pub(crate) curve: &'a C,
    pub(crate) start: usize,
    pub(crate) len: usize,
}

impl<F: Float, C: Curve<F> + ?Sized> Curve<F> for Window<'_, C> {
    fn len(&self) -> usize {
        self.len
    }
    fn lr(&self, i: usize) -> F {
        self.curve.lr(self.start + i)
    }
    fn loss(&self, i: usize) -> F {
        self.curve.loss(self.start + i)
    }
}
