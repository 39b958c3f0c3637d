//! [`ConfigError`]: why a schedule configuration was rejected, and how to fix it.

use core::fmt;

use crate::schedule::Convention;

/// Why [`OneCycleConfig::build`](crate::OneCycleConfig::build) or a
/// [`baseline`](crate::baseline) constructor rejected its arguments.
///
/// Every message names the problem and the fix. Numbers are carried as `f64`
/// whatever the schedule's float type, so the error type is not generic.
///
/// ```
/// use onecycle_core::{ConfigError, OneCycleConfig};
///
/// let err = OneCycleConfig::pytorch(0.1_f64, 0).build().unwrap_err();
/// assert_eq!(err, ConfigError::ZeroTotalSteps);
/// assert!(err.to_string().contains("total_steps"));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ConfigError {
    /// `total_steps` is 0: a schedule needs at least one step.
    ZeroTotalSteps,
    /// `max_lr` is NaN, infinite, zero or negative.
    InvalidMaxLr {
        /// The rejected value.
        value: f64,
    },
    /// `div_factor` is NaN, infinite, zero or negative.
    InvalidDivFactor {
        /// The rejected value.
        value: f64,
    },
    /// `final_div_factor` is NaN, infinite, zero or negative.
    InvalidFinalDivFactor {
        /// The rejected value.
        value: f64,
    },
    /// The initial or final learning rate derived from `max_lr` and the
    /// division factors overflows to infinity.
    DerivedLrNotFinite {
        /// `max_lr / div_factor`.
        initial_lr: f64,
        /// The final learning rate.
        final_lr: f64,
    },
    /// `pct_start` is NaN or outside the open interval (0, 1).
    InvalidPctStart {
        /// The rejected value.
        value: f64,
    },
    /// `pct_final` of a three-phase schedule is NaN, infinite or not above
    /// `pct_start`, or (fastai, optax) not below 1. Under PyTorch's convention
    /// it may pass 1 slightly; the phase check decides ([`EmptyPhase`](Self::EmptyPhase)).
    InvalidPctFinal {
        /// The configured `pct_start`.
        pct_start: f64,
        /// The rejected `pct_final`.
        pct_final: f64,
        /// The convention of the configuration, used to word the fix.
        convention: Convention,
    },
    /// A phase would be empty in the configuration's [`Convention`]: its length,
    /// computed in that peer's own arithmetic, is zero or negative (where the
    /// peer would divide by zero or run a phase backwards).
    EmptyPhase {
        /// The phase, counted from 1.
        phase: u8,
        /// How many phases the schedule has (2 or 3).
        phases: u8,
        /// Its length in steps (zero or negative).
        length: f64,
        /// `total_steps` of the configuration.
        total_steps: u32,
        /// Where the convention puts the phase boundaries.
        convention: Convention,
    },
    /// A momentum bound is NaN, infinite or outside [0, 1), or `base > max`.
    InvalidMomentum {
        /// The configured lower bound.
        base: f64,
        /// The configured upper bound.
        max: f64,
    },
    /// A baseline learning rate is NaN, infinite or negative.
    InvalidLr {
        /// Which argument (`"lr"`, `"peak"`, `"final_lr"`, ...).
        name: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// A decay factor `gamma` is NaN, infinite, zero or negative, or above the
    /// schedule's limit (1 for [`Exponential`](crate::baseline::Exponential)).
    InvalidGamma {
        /// The rejected value.
        value: f64,
    },
    /// A learning rate reached by a schedule overflows to infinity.
    LrOverflow {
        /// The step at which it overflows (for step decay: the milestone).
        step: u32,
    },
    /// Step-decay milestones are not strictly increasing.
    UnsortedMilestones {
        /// Index of the first milestone not greater than its predecessor.
        index: usize,
    },
    /// A cosine schedule's warm-up takes all its steps, leaving none to decay.
    WarmupTooLong {
        /// The requested warm-up steps.
        warmup_steps: u32,
        /// The schedule's total steps.
        total_steps: u32,
    },
    /// A [`Join`](crate::baseline::Join) boundary of 0: its first schedule would never be used.
    ZeroBoundary,
}

fn convention_name(c: Convention) -> &'static str {
    match c {
        Convention::PyTorch => "PyTorch",
        Convention::Fastai => "fastai",
        Convention::Optax => "optax",
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ZeroTotalSteps => {
                f.write_str("total_steps is 0: a schedule needs at least one step; pass epochs × batches per epoch (≥ 1)")
            }
            Self::InvalidMaxLr { value } => write!(
                f,
                "max_lr = {value} is not a positive finite number: pass the peak learning rate, e.g. one found by the LR range test"
            ),
            Self::InvalidDivFactor { value } => write!(
                f,
                "div_factor = {value} is not a positive finite number: initial_lr = max_lr / div_factor; the usual value is 25"
            ),
            Self::InvalidFinalDivFactor { value } => write!(
                f,
                "final_div_factor = {value} is not a positive finite number: the usual values are 1e4 (of the initial lr) or 1e5 (of max_lr)"
            ),
            Self::DerivedLrNotFinite { initial_lr, final_lr } => write!(
                f,
                "initial lr {initial_lr} or final lr {final_lr} overflows: use division factors ≥ 1"
            ),
            Self::InvalidPctStart { value } => write!(
                f,
                "pct_start = {value} is not inside (0, 1): it is the fraction of steps spent warming up, usually 0.25 or 0.3"
            ),
            Self::InvalidPctFinal { pct_start, pct_final, convention } => {
                if matches!(convention, Convention::PyTorch) {
                    write!(
                        f,
                        "pct_final = {pct_final} is not a finite number above pct_start = {pct_start}: it is where the third phase starts (PyTorch's three_phase=True uses pct_final = 2·pct_start)"
                    )
                } else {
                    write!(
                        f,
                        "pct_final = {pct_final} is not inside (pct_start = {pct_start}, 1): it is the fraction of steps at which the final annealing phase starts, e.g. 0.85"
                    )
                }
            }
            Self::EmptyPhase { phase, phases, length, total_steps, convention } => {
                write!(
                    f,
                    "phase {phase} of {phases} of the {} schedule would be empty ({length} steps long with total_steps = {total_steps}): ",
                    convention_name(convention)
                )?;
                match (convention, phase, phases) {
                    (Convention::PyTorch, 1, _) => f.write_str(
                        "PyTorch ends phase 1 at pct_start·total_steps − 1, so pct_start·total_steps must exceed 1; raise total_steps or pct_start",
                    ),
                    (Convention::PyTorch, 2, 3) => f.write_str(
                        "PyTorch's phase 2 runs from pct_start·total_steps − 1 to pct_final·total_steps − 2, so (pct_final − pct_start)·total_steps must exceed 1 (with three_phase=True: pct_start·total_steps > 1); raise total_steps or move pct_final up",
                    ),
                    (Convention::PyTorch, 3, _) => f.write_str(
                        "PyTorch's last phase runs from pct_final·total_steps − 2 to total_steps − 1, so pct_final·total_steps must stay below total_steps + 1 (with three_phase=True: pct_start < (total_steps + 1)/(2·total_steps)); lower pct_final (or pct_start)",
                    ),
                    (Convention::PyTorch, _, _) => f.write_str(
                        "PyTorch's last phase runs from pct_start·total_steps − 1 to total_steps − 1, and pct_start·total_steps rounds to total_steps; lower pct_start",
                    ),
                    (Convention::Optax, _, _) => f.write_str(
                        "optax puts the boundaries at floor(pct·total_steps), so each must fall on a different step ≥ 1 and below total_steps; raise total_steps or move pct_start/pct_final apart",
                    ),
                    (Convention::Fastai, _, _) => f.write_str(
                        "fastai keeps the phase fractions (pct_start, then pct_final − pct_start or 1 − pct_start, then 1 − pct_final) in float32, and this one rounds to 0; move pct_start/pct_final apart or away from 0 and 1",
                    ),
                }
            }
            Self::InvalidMomentum { base, max } => write!(
                f,
                "momentum range base = {base}, max = {max} is invalid: both must be finite, in [0, 1), with base ≤ max; the usual range is 0.85 to 0.95"
            ),
            Self::InvalidLr { name, value } => write!(
                f,
                "{name} = {value} is not a finite number ≥ 0: pass a learning rate such as 0.1"
            ),
            Self::InvalidGamma { value } => write!(
                f,
                "gamma = {value} is not a valid decay factor: it must be finite, > 0 and (for exponential decay) ≤ 1, e.g. 0.1 per milestone or 0.999 per step"
            ),
            Self::LrOverflow { step } => write!(
                f,
                "the learning rate overflows to infinity at step {step}: lower the base learning rate or gamma"
            ),
            Self::UnsortedMilestones { index } => write!(
                f,
                "milestone {index} is not greater than the one before it: list milestones in strictly increasing order"
            ),
            Self::WarmupTooLong { warmup_steps, total_steps } => write!(
                f,
                "warmup_steps = {warmup_steps} leaves no decay steps out of total_steps = {total_steps}: use fewer warm-up steps than total steps"
            ),
            Self::ZeroBoundary => f.write_str(
                "join boundary is 0, so the first schedule would never be used: pass a boundary ≥ 1 or use the second schedule alone",
            ),
        }
    }
}

impl core::error::Error for ConfigError {}
