//! [`FastOneCycle`]: the 1cycle schedule evaluated in `f32` only, for MCUs with a
//! single-precision FPU.
//!
//! [`OneCycle<f32>`](crate::OneCycle) calls `libm::sinf`, which computes in
//! `f64`: on a Cortex-M4F (soft `f64`) one schedule step costs well over a
//! thousand instructions. `FastOneCycle` precomputes the phase boundaries and
//! end-point differences in `f64` once, then evaluates each step with a handful
//! of `f32` operations: one division (of the distance to the nearer end of the phase), and `sin(π·u/2)` for
//! `u ∈ [0, ½]` as a degree-9 odd Taylor polynomial (truncation error below
//! 3·10⁻⁹ relative). Like [`OneCycle`] it evaluates each phase
//! from its nearer end (`start + (end − start)·sin²(π·done/2)` or
//! `end + (start − end)·sin²(π·rest/2)`), so every term is well conditioned and
//! the result stays within 10⁻⁶ relative of the `f64` reference at every step
//! (checked exhaustively for the presets in this module's tests).
//!
//! It is a pure function of the step, like every schedule here: no state, no
//! drift, any step in any order.
//!
//! ```
//! use onecycle_core::{fast_f32::FastOneCycle, OneCycleConfig};
//!
//! let reference = OneCycleConfig::pytorch(0.1_f64, 1000).build()?;
//! let fast = FastOneCycle::new(&reference);
//! for k in 0..1000 {
//!     let (lr, _momentum) = fast.at(k);
//!     let want = reference.lr(k);
//!     assert!((f64::from(lr) - want).abs() <= 1e-6 * want);
//! }
//! # Ok::<(), onecycle_core::ConfigError>(())
//! ```

use crate::schedule::{phase_values, Bounds};
use crate::{Anneal, Float, MomentumRange, OneCycle, OneCycleConfig, Phases};

/// One phase, precomputed: which steps it holds, its boundaries in steps, its
/// start values and the differences `end − start` (computed in `f64`, then
/// rounded once).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct FastPhase {
    /// First step after the phase: it holds the steps `< next` that no earlier phase holds.
    next: u32,
    /// `start = start_int + start_frac` with `start_frac ∈ [0, 1)`: step distances
    /// are integer differences plus a small fraction, exact to `f32` rounding.
    start_int: u32,
    start_frac: f32,
    end_int: u32,
    end_frac: f32,
    /// The length progress is divided by.
    len: f32,
    lr: (f32, f32),
    lr_delta: f32,
    mom: (f32, f32),
    mom_delta: f32,
}

/// The 1cycle schedule of a [`OneCycle`], evaluated with `f32` arithmetic only.
///
/// Built from any [`OneCycle`] (its configuration is re-read in `f64`); same
/// phases, conventions, annealing and past-the-end behaviour (the final values
/// from `total_steps` on). See the [module documentation](self) for accuracy.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FastOneCycle {
    phases: [FastPhase; 3],
    total_steps: u32,
    anneal: Anneal,
    has_momentum: bool,
    final_lr: f32,
    final_mom: f32,
}

/// `sin(π·u/2)` for `u ∈ [0, ½]`: odd Taylor polynomial of degree 9 in `u`.
#[inline]
fn sin_half_pi(u: f32) -> f32 {
    const H: f64 = core::f64::consts::FRAC_PI_2;
    const C1: f32 = H as f32;
    const C3: f32 = (-H * H * H / 6.0) as f32;
    const C5: f32 = (H * H * H * H * H / 120.0) as f32;
    const C7: f32 = (-H * H * H * H * H * H * H / 5040.0) as f32;
    const C9: f32 = (H * H * H * H * H * H * H * H * H / 362_880.0) as f32;
    let u2 = u * u;
    u * (C1 + u2 * (C3 + u2 * (C5 + u2 * (C7 + u2 * C9))))
}

#[inline]
fn clamp_unit(x: f32) -> f32 {
    x.clamp(0.0, 1.0)
}

impl FastOneCycle {
    /// Precomputes the `f32` kernel of `schedule`.
    #[must_use]
    pub fn new<F: Float>(schedule: &OneCycle<F>) -> Self {
        let c = schedule.config();
        let widened = OneCycleConfig {
            max_lr: c.max_lr.to_f64(),
            total_steps: c.total_steps,
            pct_start: c.pct_start.to_f64(),
            div_factor: c.div_factor.to_f64(),
            final_div_factor: c.final_div_factor.to_f64(),
            final_div_of: c.final_div_of,
            anneal: c.anneal,
            phases: match c.phases {
                Phases::Two => Phases::Two,
                Phases::Three { pct_final } => Phases::Three {
                    pct_final: pct_final.to_f64(),
                },
            },
            momentum: c.momentum.map(|m| MomentumRange {
                base: m.base.to_f64(),
                max: m.max.to_f64(),
            }),
            convention: c.convention,
        };
        // `schedule` was built, so these bounds passed its check.
        let bounds = Bounds::of(&widened);
        let values = phase_values(&widened);
        let split = |x: f64| {
            let i = libm::floor(x);
            (i as u32, (x - i) as f32)
        };
        let phase = |i: usize| {
            let start = if i == 0 { 0.0 } else { bounds.ends[i - 1] };
            let ((lr0, lr1), (m0, m1)) = values[i];
            FastPhase {
                next: bounds.next[i],
                start_int: split(start).0,
                start_frac: split(start).1,
                end_int: split(bounds.ends[i]).0,
                end_frac: split(bounds.ends[i]).1,
                len: bounds.lengths[i] as f32,
                lr: (lr0 as f32, lr1 as f32),
                lr_delta: (lr1 - lr0) as f32,
                mom: (m0 as f32, m1 as f32),
                mom_delta: (m1 - m0) as f32,
            }
        };
        let ((_, final_lr), (_, final_mom)) = values[usize::from(bounds.count) - 1];
        Self {
            phases: [phase(0), phase(1), phase(2)],
            total_steps: c.total_steps,
            anneal: c.anneal,
            has_momentum: c.momentum.is_some(),
            final_lr: final_lr as f32,
            final_mom: final_mom as f32,
        }
    }

    /// Number of steps in the cycle.
    #[must_use]
    pub fn total_steps(&self) -> u32 {
        self.total_steps
    }

    /// `(learning rate, momentum)` for step `step`; momentum is 0 when the
    /// schedule has no momentum range (see [`momentum`](Self::momentum)).
    #[must_use]
    #[inline]
    pub fn at(&self, step: u32) -> (f32, f32) {
        if step >= self.total_steps {
            return (self.final_lr, self.final_mom);
        }
        // Phase 2 of a two-phase schedule holds every step up to the end
        // (`next = total_steps`), so the third is only reached when it exists.
        let ph = &self.phases;
        let p = if step < ph[0].next {
            &ph[0]
        } else if step < ph[1].next {
            &ph[1]
        } else {
            &ph[2]
        };
        // A step in the phase lies in [start, end]: neither subtraction wraps.
        let since_start = step.wrapping_sub(p.start_int) as f32 - p.start_frac;
        let to_end = p.end_int.wrapping_sub(step) as f32 + p.end_frac;
        // Measured from the nearer end; only the smaller distance is divided.
        let near_start = since_start <= to_end;
        let u = clamp_unit(if near_start { since_start } else { to_end } / p.len);
        let w = match self.anneal {
            Anneal::Cos => {
                let s = sin_half_pi(u);
                s * s
            }
            Anneal::Linear => u,
        };
        // `near + (far − near)·w` with w ≤ ½ stays between the two ends
        // (no clamp needed); momentum ends are 0 without a momentum range.
        let (lr0, mom0, w) = if near_start {
            (p.lr.0, p.mom.0, w)
        } else {
            (p.lr.1, p.mom.1, -w)
        };
        (lr0 + w * p.lr_delta, mom0 + w * p.mom_delta)
    }

    /// The learning rate for step `step`.
    #[must_use]
    #[inline]
    pub fn lr(&self, step: u32) -> f32 {
        self.at(step).0
    }

    /// The momentum for step `step`, or `None` when the schedule has no momentum range.
    #[must_use]
    #[inline]
    pub fn momentum(&self, step: u32) -> Option<f32> {
        self.has_momentum.then(|| self.at(step).1)
    }
}

impl crate::Schedule<f32> for FastOneCycle {
    fn lr(&self, step: u32) -> f32 {
        FastOneCycle::lr(self, step)
    }

    fn momentum(&self, step: u32) -> Option<f32> {
        FastOneCycle::momentum(self, step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OneCycleConfig;

    /// Relative tolerance against the `f64` reference.
    const REL: f64 = 1e-6;

    fn check(cfg: OneCycleConfig<f64>) {
        let reference = cfg.build().expect("valid config");
        let fast = FastOneCycle::new(&reference);
        let mut worst = 0.0f64;
        for k in 0..=cfg.total_steps + 2 {
            let (lr, mom) = fast.at(k);
            let want = reference.lr(k);
            let err = (f64::from(lr) - want).abs() / want;
            worst = worst.max(err);
            assert!(
                err <= REL,
                "{cfg:?} step {k}: lr {lr} vs {want} (rel {err:e})"
            );
            assert_eq!(fast.momentum(k).is_some(), reference.momentum(k).is_some());
            if let Some(want) = reference.momentum(k) {
                let err = (f64::from(mom) - want).abs() / want.max(f64::MIN_POSITIVE);
                assert!(
                    err <= REL,
                    "{cfg:?} step {k}: momentum {mom} vs {want} (rel {err:e})"
                );
            }
        }
        assert!(
            worst > 0.0 || cfg.total_steps < 4,
            "suspiciously exact: {cfg:?}"
        );
    }

    #[test]
    fn presets_match_the_f64_reference_at_every_step() {
        // 150 steps at 0.1 and 0.15: the firmware's fine-tuning schedules.
        for total in [4_u32, 10, 37, 100, 150, 1000, 12_345, 100_000] {
            for max_lr in [0.1_f64, 0.15, 3e-4, 0.05] {
                check(OneCycleConfig::pytorch(max_lr, total));
                check(OneCycleConfig::fastai(max_lr, total));
                check(OneCycleConfig::optax_cos(max_lr, total));
                check(OneCycleConfig::optax_linear(max_lr, total));
            }
        }
    }

    #[test]
    fn three_phases_and_linear_match_the_reference() {
        for total in [20_u32, 999, 5000] {
            let mut cfg = OneCycleConfig::pytorch(0.01_f64, total);
            cfg.phases = Phases::Three {
                pct_final: 2.0 * cfg.pct_start,
            };
            check(cfg);
            cfg.anneal = Anneal::Linear;
            check(cfg);
            let mut cfg = OneCycleConfig::fastai(0.01_f64, total);
            cfg.momentum = None;
            check(cfg);
        }
    }

    #[test]
    fn built_from_an_f32_schedule_too() {
        let s = OneCycleConfig::pytorch(0.05_f32, 200)
            .build()
            .expect("valid");
        let fast = FastOneCycle::new(&s);
        assert_eq!(fast.lr(59), 0.05); // the peak, exactly (PyTorch: step 0.3·200 − 1)
                                       // Derived values are computed in f64 and rounded once: within an ulp of
                                       // the f32 schedule's (which divides twice in f32), exact against f64.
        assert_eq!(fast.lr(0), (0.05_f32 as f64 / 25.0) as f32);
        assert_eq!(fast.lr(500), (0.05_f32 as f64 / 25.0 / 1e4) as f32);
        assert!((fast.lr(500) - s.final_lr()).abs() <= f32::EPSILON * s.final_lr());
        assert_eq!(fast.total_steps(), 200);
    }

    #[test]
    fn polynomial_sine_is_accurate_on_its_interval() {
        for i in 0..=1000 {
            let u = i as f32 / 2000.0;
            let want = libm::sin(core::f64::consts::FRAC_PI_2 * f64::from(u));
            let got = f64::from(sin_half_pi(u));
            assert!(
                (got - want).abs() <= 2e-7 * want.max(1e-30),
                "u {u}: {got} vs {want}"
            );
        }
    }
}
