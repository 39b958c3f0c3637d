//! The four suggestion rules of fastai's `lr_find`, re-derived, on an already windowed and
//! checked curve. Each returns an index into that curve; the caller guarantees the curve holds
//! at least [`Method::min_points`](super::Method::min_points) points.

use crate::Float;

use super::history::Curve;

/// Index of the lowest loss (the first, on ties).
pub(crate) fn minimum<F: Float, C: Curve<F> + ?Sized>(c: &C) -> usize {
    let mut best = 0;
    for i in 1..c.len() {
        if c.loss(i) < c.loss(best) {
            best = i;
        }
    }
    best
}

/// Index `i` of the segment `i → i+1` with the most negative `Δloss / Δln lr` (the first, on
/// ties; NaN slopes are skipped, and 0 is returned when every slope is NaN).
pub(crate) fn steep<F: Float, C: Curve<F> + ?Sized>(c: &C) -> usize {
    let mut best: Option<(usize, F)> = None;
    for i in 0..c.len().saturating_sub(1) {
        let slope = (c.loss(i + 1) - c.loss(i)) / (c.lr(i + 1).ln() - c.lr(i).ln());
        if slope.is_nan() {
            continue;
        }
        match best {
            Some((_, b)) if slope >= b => {}
            _ => best = Some((i, slope)),
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// fastai's "valley": find the longest strictly decreasing subsequence of the loss
/// (`lds[i] = 1 + max lds[j]` over `j < i` with `loss[i] < loss[j]`), ending at the first index
/// `e` that reaches the greatest length `L`; with `s = e − L` (one before the earliest place the
/// subsequence can start), return `s + ⌊L/3⌋ + ⌊L/6⌋`, about half-way down the valley's
/// first two thirds.
///
/// That index is −1 only when the longest run has length 2 and ends at point 1 (losses
/// `2, 1, 3, …` rising after): fastai's Python then reads `lrs[-1]`, the *last* point; this
/// returns 0, the start of that run, instead. (With no decrease at all, `L = 1` and `e = 0`,
/// both give 0: fastai never moves its start off 0.)
///
/// `scratch` must hold at least `c.len()` entries. O(n²) time.
pub(crate) fn valley<F: Float, C: Curve<F> + ?Sized>(c: &C, scratch: &mut [u32]) -> usize {
    let n = c.len().min(scratch.len());
    let lds = &mut scratch[..n];
    let mut max_end = 0;
    for i in 0..n {
        let loss_i = c.loss(i);
        let mut len_i = 1;
        for (j, &len_j) in lds[..i].iter().enumerate() {
            if loss_i < c.loss(j) && len_j >= len_i {
                len_i = len_j + 1;
            }
        }
        lds[i] = len_i;
        if lds[max_end] < len_i {
            max_end = i;
        }
    }
    let Some(&longest) = lds.get(max_end) else {
        return 0;
    };
    let longest = longest as usize;
    (max_end + longest / 3 + longest / 6).saturating_sub(longest)
}

/// numpy's `gradient` of the loss with unit spacing: central differences inside, one-sided at
/// the two ends. Needs `len ≥ 2`.
fn gradient<F: Float, C: Curve<F> + ?Sized>(c: &C, i: usize) -> F {
    let last = c.len() - 1;
    if i == 0 {
        c.loss(1) - c.loss(0)
    } else if i == last {
        c.loss(last) - c.loss(last - 1)
    } else {
        (c.loss(i + 1) - c.loss(i - 1)) / F::TWO
    }
}

/// fastai's "slide" (interval slide rule): a right edge `r` starts at the last point and a left
/// edge `l = r − lr_diff`; while the loss gradients at the two edges differ by more than
/// `thresh`, remember `l` and slide both one point left. Returns the last remembered `l`
/// (`len − 1 − lr_diff` when the first pair already agrees).
///
/// Needs `len ≥ lr_diff + 1`.
pub(crate) fn slide<F: Float, C: Curve<F> + ?Sized>(c: &C, lr_diff: usize, thresh: F) -> usize {
    let mut r = c.len() - 1;
    let mut l = r - lr_diff;
    let mut local = l;
    while (gradient(c, r) - gradient(c, l)).abs() > thresh {
        local = l;
        if l == 0 {
            break;
        }
        r -= 1;
        l -= 1;
    }
    local
}

#[cfg(test)]
mod tests {
    use super::super::history::Slices;
    use super::*;

    fn curve<'a>(lrs: &'a [f64], losses: &'a [f64]) -> Slices<'a, f64> {
        Slices { lrs, losses }
    }

    #[test]
    fn valley_of_a_monotone_increasing_loss_is_the_first_point() {
        // lds = [1, 1, 1]; L = 1, e = 0: 0 − 1 + 0 + 0 saturates to 0 (fastai: 0 too).
        let lrs = [1.0, 2.0, 3.0];
        let mut scratch = [0u32; 3];
        assert_eq!(valley(&curve(&lrs, &[1.0, 2.0, 3.0]), &mut scratch), 0);
    }

    #[test]
    fn valley_of_a_length_two_run_at_the_start_is_the_first_point_not_the_last() {
        // lds = [1, 2, 1]; L = 2, e = 1: 1 − 2 + 0 + 0 = −1. fastai returns lrs[-1] = 3.0
        // (checked with fastai 2.8.12); we return index 0.
        let lrs = [1.0, 2.0, 3.0];
        let mut scratch = [0u32; 3];
        assert_eq!(valley(&curve(&lrs, &[2.0, 1.0, 3.0]), &mut scratch), 0);
    }

    #[test]
    fn gradient_matches_numpy() {
        // np.gradient([1, 4, 9, 16]) = [3, 4, 6, 7]
        let lrs = [1.0, 2.0, 3.0, 4.0];
        let c = curve(&lrs, &[1.0, 4.0, 9.0, 16.0]);
        let g: [f64; 4] = core::array::from_fn(|i| gradient(&c, i));
        assert_eq!(g, [3.0, 4.0, 6.0, 7.0]);
    }
}
