//! Named presets reproducing the 1cycle defaults of PyTorch, fastai and optax.

use core::fmt;
use core::str::FromStr;

use crate::{Anneal, Convention, FinalDivOf, Float, MomentumRange, OneCycleConfig, Phases};

fn f<F: Float>(x: f64) -> F {
    F::from_f64(x)
}

fn momentum<F: Float>(base: f64, max: f64) -> Option<MomentumRange<F>> {
    Some(MomentumRange {
        base: f(base),
        max: f(max),
    })
}

impl<F: Float> OneCycleConfig<F> {
    /// PyTorch `torch.optim.lr_scheduler.OneCycleLR` defaults: `pct_start` 0.3,
    /// `div_factor` 25, `final_div_factor` 1e4 of the initial lr, cos, two
    /// phases, momentum 0.95 → 0.85 → 0.95, [`Convention::PyTorch`].
    ///
    /// Valid when every PyTorch phase is longer than 0 (f64 ends `p·T − 1`,
    /// `q·T − 2`, `T − 1`): `p·T > 1`, and with three phases
    /// `(q − p)·T > 1` and `q·T < T + 1` (`three_phase=True`, `q = 2p`:
    /// `p < (T + 1)/(2T)`). At the defaults: `total_steps ≥ 4`.
    ///
    /// ```
    /// use onecycle_core::OneCycleConfig;
    ///
    /// let s = OneCycleConfig::pytorch(25.0_f64, 10).build()?;
    /// // 1 → 25 over steps 0..=2 (0.3·10 − 1 = 2), half-cosine: 13 half way.
    /// for (k, want) in [(0, 1.0), (1, 13.0), (2, 25.0)] {
    ///     assert!((s.lr(k) - want).abs() < 1e-13);
    /// }
    /// assert_eq!(s.final_lr(), 1e-4);
    /// # Ok::<(), onecycle_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn pytorch(max_lr: F, total_steps: u32) -> Self {
        Self {
            max_lr,
            total_steps,
            pct_start: f(0.3),
            div_factor: f(25.0),
            final_div_factor: f(1e4),
            final_div_of: FinalDivOf::InitialLr,
            anneal: Anneal::Cos,
            phases: Phases::Two,
            momentum: momentum(0.85, 0.95),
            convention: Convention::PyTorch,
        }
    }

    /// fastai `Learner.fit_one_cycle` defaults: `pct_start` 0.25, `div` 25,
    /// `div_final` 1e5 of `max_lr`, cos, two phases, `moms` (0.95, 0.85, 0.95),
    /// [`Convention::Fastai`].
    ///
    /// Valid when the phase fractions, summed in float32 as fastai's
    /// `combine_scheds` does, rise strictly: `0 < p < 1` up to float32
    /// rounding, for any `total_steps ≥ 1`.
    ///
    /// ```
    /// use onecycle_core::OneCycleConfig;
    ///
    /// let s = OneCycleConfig::fastai(1e-3_f64, 100).build()?;
    /// assert_eq!(s.lr(25), 1e-3); // position 25/100 = pct_start
    /// assert!((s.final_lr() - 1e-8).abs() < 1e-22);
    /// # Ok::<(), onecycle_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn fastai(max_lr: F, total_steps: u32) -> Self {
        Self {
            max_lr,
            total_steps,
            pct_start: f(0.25),
            div_factor: f(25.0),
            final_div_factor: f(1e5),
            final_div_of: FinalDivOf::MaxLr,
            anneal: Anneal::Cos,
            phases: Phases::Two,
            momentum: momentum(0.85, 0.95),
            convention: Convention::Fastai,
        }
    }

    /// optax `cosine_onecycle_schedule` defaults: `pct_start` 0.3, `div_factor`
    /// 25, `final_div_factor` 1e4 of the initial lr, cos, two phases,
    /// [`Convention::Optax`].
    ///
    /// Valid when `⌊p·T⌋ ≥ 1` (optax's first key; 0 would make a zero-size
    /// interval and NaN everywhere). At the defaults: `total_steps ≥ 4`.
    ///
    /// optax schedules only the learning rate; the momentum range 0.95 → 0.85 →
    /// 0.95 is added so that trainers and plots show the usual cycle. Set
    /// `momentum: None` to leave momentum alone.
    ///
    /// ```
    /// use onecycle_core::OneCycleConfig;
    ///
    /// let s = OneCycleConfig::optax_cos(1000.0_f64, 10).build()?;
    /// assert_eq!(s.lr(3), 1000.0); // floor(0.3·10)
    /// assert_eq!(s.lr(10), 1000.0 / 25.0 / 1e4);
    /// # Ok::<(), onecycle_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn optax_cos(max_lr: F, total_steps: u32) -> Self {
        Self {
            max_lr,
            total_steps,
            pct_start: f(0.3),
            div_factor: f(25.0),
            final_div_factor: f(1e4),
            final_div_of: FinalDivOf::InitialLr,
            anneal: Anneal::Cos,
            phases: Phases::Two,
            momentum: momentum(0.85, 0.95),
            convention: Convention::Optax,
        }
    }

    /// optax `linear_onecycle_schedule` defaults: `pct_start` 0.3, `pct_final`
    /// 0.85, `div_factor` 25, `final_div_factor` 1e4 of the initial lr, linear,
    /// three phases (`initial → max → initial → final`), [`Convention::Optax`].
    /// The momentum range 0.95 → 0.85 → 0.95 (held in phase 3) is added as for
    /// [`optax_cos`](Self::optax_cos).
    ///
    /// Valid when `0 < ⌊p·T⌋ < ⌊q·T⌋ < T` (equal keys would collapse in
    /// optax's dict). At the defaults: `total_steps ≥ 4`.
    ///
    /// ```
    /// use onecycle_core::OneCycleConfig;
    ///
    /// let s = OneCycleConfig::optax_linear(25.0_f64, 100).build()?;
    /// assert_eq!([s.lr(0), s.lr(30), s.lr(85)], [1.0, 25.0, 1.0]);
    /// # Ok::<(), onecycle_core::ConfigError>(())
    /// ```
    #[must_use]
    pub fn optax_linear(max_lr: F, total_steps: u32) -> Self {
        Self {
            max_lr,
            total_steps,
            pct_start: f(0.3),
            div_factor: f(25.0),
            final_div_factor: f(1e4),
            final_div_of: FinalDivOf::InitialLr,
            anneal: Anneal::Linear,
            phases: Phases::Three { pct_final: f(0.85) },
            momentum: momentum(0.85, 0.95),
            convention: Convention::Optax,
        }
    }
}

/// A named 1cycle preset: the defaults of one framework.
///
/// | preset | `pct_start` | `pct_final` | div | final div (of) | anneal | momentum | convention |
/// |---|---|---|---|---|---|---|---|
/// | `pytorch` | 0.3 | – | 25 | 1e4 (initial) | cos | 0.95/0.85 | PyTorch |
/// | `fastai` | 0.25 | – | 25 | 1e5 (max) | cos | 0.95/0.85 | fastai |
/// | `optax-cos` | 0.3 | – | 25 | 1e4 (initial) | cos | 0.95/0.85 (added) | optax |
/// | `optax-linear` | 0.3 | 0.85 | 25 | 1e4 (initial) | linear | 0.95/0.85 (added) | optax |
///
/// ```
/// use onecycle_core::Preset;
///
/// let p: Preset = "optax-linear".parse()?;
/// assert_eq!(p, Preset::OptaxLinear);
/// assert_eq!(p.name(), "optax-linear");
/// let s = p.config(0.1_f64, 1000).build()?;
/// assert_eq!(s.lr(300), 0.1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Preset {
    /// [`OneCycleConfig::pytorch`].
    PyTorch,
    /// [`OneCycleConfig::fastai`].
    Fastai,
    /// [`OneCycleConfig::optax_cos`].
    OptaxCos,
    /// [`OneCycleConfig::optax_linear`].
    OptaxLinear,
}

impl Preset {
    /// Every preset, in the order of this enum.
    pub const ALL: [Preset; 4] = [
        Self::PyTorch,
        Self::Fastai,
        Self::OptaxCos,
        Self::OptaxLinear,
    ];

    /// The preset's configuration for `max_lr` and `total_steps`.
    #[must_use]
    pub fn config<F: Float>(self, max_lr: F, total_steps: u32) -> OneCycleConfig<F> {
        match self {
            Self::PyTorch => OneCycleConfig::pytorch(max_lr, total_steps),
            Self::Fastai => OneCycleConfig::fastai(max_lr, total_steps),
            Self::OptaxCos => OneCycleConfig::optax_cos(max_lr, total_steps),
            Self::OptaxLinear => OneCycleConfig::optax_linear(max_lr, total_steps),
        }
    }

    /// The name `FromStr` accepts: `"pytorch"`, `"fastai"`, `"optax-cos"` or `"optax-linear"`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::PyTorch => "pytorch",
            Self::Fastai => "fastai",
            Self::OptaxCos => "optax-cos",
            Self::OptaxLinear => "optax-linear",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`Preset`] from an unknown name; its message lists the valid names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ParsePresetError;

impl fmt::Display for ParsePresetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "unknown 1cycle preset: expected one of pytorch, fastai, optax-cos, optax-linear",
        )
    }
}

impl core::error::Error for ParsePresetError {}

impl FromStr for Preset {
    type Err = ParsePresetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or(ParsePresetError)
    }
}
