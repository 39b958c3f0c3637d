//! The divergence edge of a range test and the `auto` learning rate read off it: an
//! addition of onecycle's, beside fastai's four rules (which stay as fastai computes them).
//!
//! fastai's rules read the *smoothed* loss, whose EMA lags the learning rate, and most of them
//! read the lowest part of the curve, where a network that keeps training through the sweep
//! has more than one dip (on the reference CNN the loss dips near 1e-2, climbs, dips again
//! near 0.3, then explodes). Which dip a rule lands in moves with the seed: `valley` and
//! `minimum` moved by 16× to 45× over ten seeds on MNIST and Fashion-MNIST. The point where
//! training breaks down for good does not: the **edge** is the first point of the final run
//! of losses above the level half-way between the starting and the lowest loss, read on the
//! raw losses (median of three neighbours against single outliers), so it carries no
//! smoothing lag. The `auto` learning
//! rate is the edge divided by [`AUTO_DIVISOR`], 30: chosen among 3, 10 and 30 and fastai's
//! four rules by a criterion committed before the runs (the repository's
//! `docs/finder/PROTOCOL.md`): on the default study's MNIST and Fashion-MNIST regimes, 1cycle
//! at edge/30 came within 0.54 points of grid-tuned 1cycle's validation accuracy on average
//! (edge/10: 3.0, valley: 3.4, minimum: 3.3). Read off the median edge of three short sweeps
//! ([`consensus_of`](super::consensus_of); 80 steps at batch 32 each, the trainer's default
//! since the protocol's amendment) the same divisor came out on top again, 0.07 points *above*
//! grid-tuned 1cycle on average.

use crate::Float;

use super::FinderError;

/// The `auto` learning rate is the divergence edge divided by this (chosen on validation
/// data; see the module docs).
pub const AUTO_DIVISOR: f64 = 30.0;

/// Where a range test's loss broke down for good, and the `auto` learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Edge<F> {
    /// Index (into the curve passed) of the first point of the final run of losses above
    /// the level half-way between the starting and the lowest loss.
    pub index: usize,
    /// The learning rate at that point.
    pub lr: F,
    /// `lr / AUTO_DIVISOR`: the maximum learning rate `--max-lr auto` trains with.
    pub auto: F,
}

/// The median of the losses at `i − 1`, `i`, `i + 1` (clamped to `0..n`), a NaN loss
/// counting as +∞ (a blown-up step).
fn median3<F: Float>(n: usize, raw: &impl Fn(usize) -> F, i: usize) -> F {
    let get = |j: usize| {
        let x = raw(j);
        if x.is_nan() {
            F::from_f64(f64::INFINITY)
        } else {
            x
        }
    };
    let (mut a, mut b, mut c) = (get(i.saturating_sub(1)), get(i), get((i + 1).min(n - 1)));
    if a > b {
        core::mem::swap(&mut a, &mut b);
    }
    if b > c {
        core::mem::swap(&mut b, &mut c);
    }
    if a > b {
        core::mem::swap(&mut a, &mut b);
    }
    b
}

/// The divergence edge of a recorded curve: `lrs` with the *raw* (unsmoothed) loss of each
/// step (read the smoothed loss of a CSV that has no raw column: the edge then moves up by
/// the smoothing's lag).
///
/// Losses are read as medians of three neighbours. The level is half-way between the
/// starting loss (the median of the first three) and the lowest; walking back from the
/// last point while the loss stays above that level gives the final run of losses above it,
/// and its first point is the edge. A NaN loss counts as above. (Half-way, not the starting
/// loss itself: a network that broke down to chance level hovers around its starting loss
/// and dips below it now and then.)
///
/// ```
/// use onecycle_core::finder::{divergence_edge, AUTO_DIVISOR};
///
/// // The loss falls from 2.3, dips twice, then blows up from lr = 1 on.
/// let lrs: Vec<f64> = (0..13).map(|i| 1e-5 * 10f64.powf(i as f64 / 2.0)).collect();
/// let raw = [2.3, 2.3, 2.2, 1.5, 0.9, 0.4, 0.3, 0.6, 0.3, 0.2, 0.4, 3.0, 40.0];
/// let edge = divergence_edge(&lrs, &raw)?;
/// assert_eq!(edge.index, 11);
/// assert_eq!(edge.auto, lrs[11] / AUTO_DIVISOR);
/// # Ok::<(), onecycle_core::finder::FinderError>(())
/// ```
///
/// # Errors
/// [`FinderError::LengthMismatch`]; [`FinderError::TooShortForEdge`] below 4 points;
/// [`FinderError::NonFiniteInput`] or [`FinderError::NonPositiveLr`] for a bad learning
/// rate at the edge; [`FinderError::NoDivergence`] when the curve ends below its starting
/// loss (the sweep stopped before the loss blew up); [`FinderError::NoDescent`] when the
/// loss never fell below its starting value.
pub fn divergence_edge<F: Float>(lrs: &[F], raw_losses: &[F]) -> Result<Edge<F>, FinderError> {
    if lrs.len() != raw_losses.len() {
        return Err(FinderError::LengthMismatch {
            lrs: lrs.len(),
            losses: raw_losses.len(),
        });
    }
    edge_with(lrs.len(), |i| lrs[i], |i| raw_losses[i])
}

/// [`divergence_edge`] on a curve of `n` points given by accessors (in bounds for `0..n`).
pub(crate) fn edge_with<F: Float>(
    n: usize,
    lr: impl Fn(usize) -> F,
    raw: impl Fn(usize) -> F,
) -> Result<Edge<F>, FinderError> {
    if n < 4 {
        return Err(FinderError::TooShortForEdge { have: n });
    }
    let start = median3(n, &raw, 1);
    let low = (0..n)
        .map(|i| median3(n, &raw, i))
        .fold(start, |lo, m| if m < lo { m } else { lo });
    if low >= start {
        return Err(FinderError::NoDescent);
    }
    // Half-way between the starting and the lowest loss: a network broken down to chance
    // level sits near its starting loss, and may dip just below it.
    let level = (start + low) / F::TWO;
    let above = |i: usize| raw(i).is_nan() || median3(n, &raw, i) > level;
    if !above(n - 1) {
        return Err(FinderError::NoDivergence);
    }
    let mut index = n - 1;
    while index > 0 && above(index - 1) {
        index -= 1;
    }
    if index <= 2 {
        return Err(FinderError::NoDescent);
    }
    let at = lr(index);
    if !at.is_finite() {
        return Err(FinderError::NonFiniteInput {
            index,
            value: at.to_f64(),
        });
    }
    if at <= F::ZERO {
        return Err(FinderError::NonPositiveLr {
            index,
            value: at.to_f64(),
        });
    }
    Ok(Edge {
        index,
        lr: at,
        auto: at / F::from_f64(AUTO_DIVISOR),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lrs(n: usize) -> [f64; 64] {
        core::array::from_fn(|i| {
            if i < n {
                1e-4 * 1.2f64.powi(i as i32)
            } else {
                0.0
            }
        })
    }

    #[test]
    fn one_outlier_neither_starts_nor_breaks_the_final_run() {
        // A spike at 5 (inside the descent) and a dip at 12 (inside the blow-up).
        let raw = [
            2.3, 2.3, 2.2, 1.0, 0.5, 9.0, 0.4, 0.3, 0.3, 0.4, 3.0, 5.0, 0.1, 8.0, 20.0,
        ];
        let l = lrs(raw.len());
        let e = divergence_edge(&l[..raw.len()], &raw).unwrap();
        assert_eq!(e.index, 10);
        assert_eq!(e.lr, l[10]);
    }

    #[test]
    fn a_curve_that_never_blows_up_or_never_falls_is_refused() {
        let l = lrs(8);
        let falling = [2.3, 2.3, 2.0, 1.0, 0.5, 0.4, 0.4, 0.5];
        assert_eq!(
            divergence_edge(&l[..8], &falling),
            Err(FinderError::NoDivergence)
        );
        let rising = [2.3, 2.3, 2.4, 2.5, 3.0, 4.0, 9.0, 20.0];
        assert_eq!(
            divergence_edge(&l[..8], &rising),
            Err(FinderError::NoDescent)
        );
        assert_eq!(
            divergence_edge(&l[..3], &[1.0, 2.0, 3.0]),
            Err(FinderError::TooShortForEdge { have: 3 })
        );
    }

    #[test]
    fn a_nan_loss_counts_as_broken_down() {
        let l = lrs(8);
        let raw = [2.3, 2.3, 2.0, 1.0, 0.5, 0.4, f64::NAN, f64::NAN];
        assert_eq!(divergence_edge(&l[..8], &raw).unwrap().index, 6);
    }
}
