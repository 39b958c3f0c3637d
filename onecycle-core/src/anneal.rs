//! [`Anneal`]: how a phase moves from its start value to its end value.

use core::fmt;
use core::str::FromStr;

use crate::Float;

/// The interpolation inside a phase, from `start` to `end` as the phase's
/// progress `pct` goes from 0 to 1.
///
/// * [`Anneal::Cos`]: `end + (start − end)/2 · (1 + cos(π·pct))`, the half-cosine of
///   PyTorch's `anneal_strategy="cos"`, fastai's `SchedCos` and optax's cosine
///   interpolation.
/// * [`Anneal::Linear`]: `start + pct·(end − start)`.
///
/// Both are evaluated from the nearer end of the phase, which is the same
/// function with less rounding: the cosine form as
/// `start + (end − start)·sin²(π·pct/2)` for `pct ≤ ½` and
/// `end + (start − end)·sin²(π·(1 − pct)/2)` beyond (using
/// `(1 + cos 2θ)/2 = cos²θ = 1 − sin²θ`), with `1 − pct` computed from the
/// distance to the phase end rather than by subtraction. Both therefore return
/// `start` at `pct = 0` and `end` at `pct = 1` exactly.
///
/// Parses from `"cos"` or `"linear"`:
///
/// ```
/// use onecycle_core::Anneal;
///
/// assert_eq!("cos".parse::<Anneal>(), Ok(Anneal::Cos));
/// assert_eq!("linear".parse::<Anneal>(), Ok(Anneal::Linear));
/// assert!("step".parse::<Anneal>().unwrap_err().to_string().contains("cos, linear"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Anneal {
    /// Half-cosine annealing (the 1cycle default).
    Cos,
    /// Linear interpolation (Smith's original 1cycle, optax's `linear_onecycle_schedule`).
    Linear,
}

impl Anneal {
    /// The name `FromStr` accepts: `"cos"` or `"linear"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Cos => "cos",
            Self::Linear => "linear",
        }
    }

    /// The value at progress `done` through a phase from `start` to `end`, where
    /// `rest` is the remaining progress (`1 − done`, computed independently for
    /// accuracy). Both are expected in [0, 1]; the result lies between `start`
    /// and `end` inclusive.
    #[must_use]
    pub(crate) fn interpolate<F: Float>(self, start: F, end: F, done: F, rest: F) -> F {
        if done <= rest {
            self.toward(start, end, done)
        } else {
            self.toward(end, start, rest)
        }
    }

    /// The value a fraction `u` (at most about ½) of the way from `near` to
    /// `far`, measured from the nearer end so that every term is well
    /// conditioned: `near + (far − near)·sin²(π·u/2)` (cos) or
    /// `near + (far − near)·u` (linear), clamped between the two.
    #[inline]
    #[must_use]
    pub(crate) fn toward<F: Float>(self, near: F, far: F, u: F) -> F {
        let w = match self {
            Self::Cos => {
                let s = (F::PI / F::TWO * u).sin_small();
                s * s
            }
            Self::Linear => u,
        };
        clamp_between(near + (far - near) * w, near, far)
    }
}

pub(crate) fn clamp_between<F: Float>(v: F, a: F, b: F) -> F {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    if v < lo {
        lo
    } else if v > hi {
        hi
    } else {
        v
    }
}

impl fmt::Display for Anneal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an [`Anneal`] from a string that is neither `"cos"` nor `"linear"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ParseAnnealError;

impl fmt::Display for ParseAnnealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown annealing strategy: expected one of cos, linear")
    }
}

impl core::error::Error for ParseAnnealError {}

impl FromStr for Anneal {
    type Err = ParseAnnealError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cos" => Ok(Self::Cos),
            "linear" => Ok(Self::Linear),
            _ => Err(ParseAnnealError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cos_matches_the_textbook_formula() {
        for i in 0..=20 {
            let pct = f64::from(i) / 20.0;
            let textbook =
                0.5 + (25.0 - 0.5) / 2.0 * (1.0 + libm::cos(core::f64::consts::PI * pct));
            let ours = Anneal::Cos.interpolate(25.0, 0.5, pct, 1.0 - pct);
            assert!(
                (ours - textbook).abs() <= 1e-13,
                "pct {pct}: {ours} vs {textbook}"
            );
        }
    }

    #[test]
    fn endpoints_are_exact() {
        for a in [Anneal::Cos, Anneal::Linear] {
            assert_eq!(a.interpolate(0.004_f64, 0.1, 0.0, 1.0), 0.004);
            assert_eq!(a.interpolate(0.004_f64, 0.1, 1.0, 0.0), 0.1);
        }
    }

    #[test]
    fn linear_midpoint() {
        assert_eq!(Anneal::Linear.interpolate(1.0_f64, 25.0, 0.5, 0.5), 13.0);
        // sin²(π/4) = ½ up to one ulp.
        assert!((Anneal::Cos.interpolate(1.0_f64, 25.0, 0.5, 0.5) - 13.0).abs() < 1e-14);
    }
}
