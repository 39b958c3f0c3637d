//! The float abstraction: the schedules are generic over `f32` (firmware) and `f64` (host).

use core::fmt::{Debug, Display};
use core::ops::{Add, Div, Mul, Neg, Sub};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point type the schedules can compute in: `f32` or `f64`.
///
/// The transcendental functions come from [`libm`], so results do not depend on
/// the platform's math library. Sealed: only `f32` and `f64` implement it.
pub trait Float:
    sealed::Sealed
    + Copy
    + Debug
    + Display
    + PartialEq
    + PartialOrd
    + Default
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// 2.
    const TWO: Self;
    /// π.
    const PI: Self;
    /// Converts from `f64`, rounding to nearest.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn to_f64(self) -> f64;
    /// Converts a step count (exact for `f64`; rounded to nearest for `f32` above 2^24).
    fn from_u32(x: u32) -> Self;
    /// Cosine (radians).
    fn cos(self) -> Self;
    /// Sine (radians).
    fn sin(self) -> Self;
    /// Sine of a small angle, `|x| ≤ π/4`, as an odd Taylor polynomial without range
    /// reduction: to x¹⁷ in `f64` (truncation below 1e-19) and x¹¹ in `f32` (below
    /// 1e-11), so within an ulp or two of [`Float::sin`] and several times faster. The
    /// schedules only ever need `sin(π·u/2)` for `u ∈ [0, ½]`.
    fn sin_small(self) -> Self;
    /// e^x.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// `self` raised to `e`.
    fn powf(self, e: Self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Largest integer not greater than `self`.
    fn floor(self) -> Self;
    /// `true` unless NaN or ±∞.
    fn is_finite(self) -> bool;
    /// `true` for NaN.
    fn is_nan(self) -> bool;
}

/// Taylor coefficients of sine, highest power first (x^(2k+1) / (2k+1)!, alternating).
trait SinSmall: Sized + 'static {
    const COEFFS: &'static [Self];
}

impl SinSmall for f64 {
    const COEFFS: &'static [f64] = &[
        1.0 / 355_687_428_096_000.0,
        -1.0 / 1_307_674_368_000.0,
        1.0 / 6_227_020_800.0,
        -1.0 / 39_916_800.0,
        1.0 / 362_880.0,
        -1.0 / 5_040.0,
        1.0 / 120.0,
        -1.0 / 6.0,
        1.0,
    ];
}

impl SinSmall for f32 {
    const COEFFS: &'static [f32] = &[
        -1.0 / 39_916_800.0,
        1.0 / 362_880.0,
        -1.0 / 5_040.0,
        1.0 / 120.0,
        -1.0 / 6.0,
        1.0,
    ];
}

macro_rules! impl_float {
    ($t:ty, $cos:path, $sin:path, $exp:path, $ln:path, $pow:path, $floor:path, $pi:expr) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const TWO: Self = 2.0;
            const PI: Self = $pi;
            #[inline]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_u32(x: u32) -> Self {
                x as $t
            }
            #[inline]
            fn cos(self) -> Self {
                $cos(self)
            }
            #[inline]
            fn sin(self) -> Self {
                $sin(self)
            }
            #[inline]
            fn sin_small(self) -> Self {
                let x2 = self * self;
                // Horner over the coefficients (-1)^k / (2k+1)!, highest first.
                let mut acc: $t = 0.0;
                for &c in <$t as SinSmall>::COEFFS {
                    acc = acc * x2 + c;
                }
                self * acc
            }
            #[inline]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline]
            fn powf(self, e: Self) -> Self {
                $pow(self, e)
            }
            #[inline]
            fn abs(self) -> Self {
                if self < 0.0 {
                    -self
                } else {
                    self
                }
            }
            #[inline]
            fn floor(self) -> Self {
                $floor(self)
            }
            #[inline]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}

impl_float!(
    f32,
    libm::cosf,
    libm::sinf,
    libm::expf,
    libm::logf,
    libm::powf,
    libm::floorf,
    core::f32::consts::PI
);
impl_float!(
    f64,
    libm::cos,
    libm::sin,
    libm::exp,
    libm::log,
    libm::pow,
    libm::floor,
    core::f64::consts::PI
);

#[cfg(test)]
mod tests {
    use super::Float;

    #[test]
    fn sin_small_agrees_with_libm_on_the_quarter_turn() {
        for i in 0..=10_000 {
            let x = core::f64::consts::FRAC_PI_4 * f64::from(i) / 10_000.0;
            let (a, b) = (x.sin_small(), libm::sin(x));
            assert!(
                (a - b).abs() <= 2.0 * f64::EPSILON * b.abs(),
                "f64 x = {x}: {a} vs {b}"
            );
            let xf = x as f32;
            let (af, bf) = (xf.sin_small(), libm::sinf(xf));
            assert!(
                (af - bf).abs() <= 2.0 * f32::EPSILON * bf.abs(),
                "f32 x = {xf}: {af} vs {bf}"
            );
        }
        assert_eq!(0.0_f64.sin_small(), 0.0);
    }
}
