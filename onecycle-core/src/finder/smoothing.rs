//! Debiased exponential moving average of the loss (fastai's `AvgSmoothLoss`, re-derived).

use crate::Float;

/// Debiased EMA: after losses `l₁ … l_k`,
/// `avg_k = β·avg_{k−1} + (1−β)·l_k` (with `avg_0 = 0`) and `smoothed_k = avg_k / (1 − β^k)`.
///
/// Computed in the algebraically equal incremental form
/// `s_k = s_{k−1} + (l_k − s_{k−1}) · (1−β) / (1−β^k)`, whose weight is exactly 1 at `k = 1`
/// (and for β = 0); a weight of 1 takes the loss as is, so the first smoothed loss equals the
/// first loss bit for bit and β = 0 records the raw losses exactly.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct DebiasedEma<F> {
    beta: F,
    /// β^k after k updates.
    beta_pow: F,
    value: F,
}

impl<F: Float> DebiasedEma<F> {
    pub(crate) fn new(beta: F) -> Self {
        Self {
            beta,
            beta_pow: F::ONE,
            value: F::ZERO,
        }
    }

    /// The average after also seeing `loss` (`self` is left as it was).
    #[must_use]
    pub(crate) fn advanced(&self, loss: F) -> Self {
        let beta_pow = self.beta_pow * self.beta;
        let weight = (F::ONE - self.beta) / (F::ONE - beta_pow);
        Self {
            beta: self.beta,
            beta_pow,
            // At weight 1 (the first loss, or β = 0) `s + (l − s)·1` can round away from `l`.
            value: if weight == F::ONE {
                loss
            } else {
                self.value + (loss - self.value) * weight
            },
        }
    }

    /// The smoothed loss (0 before the first update).
    #[must_use]
    pub(crate) fn value(&self) -> F {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::DebiasedEma;

    /// The textbook form, for comparison.
    fn textbook(beta: f64, losses: &[f64]) -> f64 {
        let mut avg = 0.0;
        for &l in losses {
            avg = beta * avg + (1.0 - beta) * l;
        }
        avg / (1.0 - beta.powi(losses.len() as i32))
    }

    #[test]
    fn matches_textbook_form() {
        let losses = [2.5, 2.0, 3.0, 1.0, 0.5, 7.0];
        let mut ema = DebiasedEma::new(0.98);
        for k in 1..=losses.len() {
            ema = ema.advanced(losses[k - 1]);
            let s = ema.value();
            let t = textbook(0.98, &losses[..k]);
            assert!((s - t).abs() <= 1e-13 * t.abs(), "k={k}: {s} vs {t}");
        }
    }
}
