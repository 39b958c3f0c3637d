//! A straightforward 1cycle implementation to measure the library against: the textbook
//! formula with a linear search over the phase list, as PyTorch's `OneCycleLR.get_lr` does it.
//!
//! Nothing is precomputed beyond the phase list: every call walks the phases until it finds
//! the one holding the step and evaluates `end + (start − end)/2 · (1 + cos(π·pct))`
//! (or the linear interpolation). It reads the same [`OneCycleConfig`], so both
//! implementations evaluate the same schedule and differ only in how they compute it.

use onecycle_core::{Anneal, Convention, FinalDivOf, Float, OneCycleConfig, Phases};

/// One phase of the textbook implementation: `[start, end]` in (fractional) steps and the
/// learning rate and momentum at both ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefPhase<F> {
    /// Position where the phase starts.
    pub start: F,
    /// Position where the phase ends.
    pub end: F,
    /// Learning rate at `start` and at `end`.
    pub lr: (F, F),
    /// Momentum at `start` and at `end`.
    pub momentum: (F, F),
}

/// The textbook 1cycle schedule (see the [module docs](self)).
///
/// ```
/// use onecycle_benches::reference::ReferenceOneCycle;
/// use onecycle_core::OneCycleConfig;
///
/// let cfg = OneCycleConfig::pytorch(0.1_f64, 1000);
/// let reference = ReferenceOneCycle::new(&cfg);
/// let library = cfg.build()?;
/// assert!((reference.lr(123) - library.lr(123)).abs() < 1e-12);
/// # Ok::<(), onecycle_core::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceOneCycle<F> {
    phases: Vec<RefPhase<F>>,
    total_steps: u32,
    /// PyTorch: a step on a boundary belongs to the phase it ends.
    boundary_ends_phase: bool,
    anneal: Anneal,
    final_values: (F, F),
    has_momentum: bool,
}

fn f<F: Float>(x: f64) -> F {
    F::from_f64(x)
}

impl<F: Float> ReferenceOneCycle<F> {
    /// Builds the phase list of `cfg` (assumed valid: build it with the library first to
    /// check it).
    #[must_use]
    pub fn new(cfg: &OneCycleConfig<F>) -> Self {
        let t = F::from_u32(cfg.total_steps);
        let initial = cfg.max_lr / cfg.div_factor;
        let final_lr = match cfg.final_div_of {
            FinalDivOf::InitialLr => initial / cfg.final_div_factor,
            FinalDivOf::MaxLr => cfg.max_lr / cfg.final_div_factor,
        };
        let (m_lo, m_hi, has_momentum) = match cfg.momentum {
            Some(m) => (m.base, m.max, true),
            None => (F::ZERO, F::ZERO, false),
        };
        // Phase end positions per convention (see `onecycle_core::Convention`).
        let mut ends: Vec<F> = match cfg.phases {
            Phases::Two => vec![cfg.pct_start * t],
            Phases::Three { pct_final } => vec![cfg.pct_start * t, pct_final * t],
        };
        ends.push(t);
        let ends: Vec<F> = match cfg.convention {
            Convention::PyTorch => ends
                .iter()
                .enumerate()
                .map(|(i, &e)| {
                    // PyTorch: p·T − 1, q·T − 2, T − 1.
                    let last = i + 1 == ends.len();
                    if last {
                        e - F::ONE
                    } else {
                        e - F::from_u32(i as u32 + 1)
                    }
                })
                .collect(),
            Convention::Fastai => ends,
            Convention::Optax => ends.iter().map(|&e| e.floor()).collect(),
        };
        let lrs: Vec<(F, F)> = match cfg.phases {
            Phases::Two => vec![(initial, cfg.max_lr), (cfg.max_lr, final_lr)],
            Phases::Three { .. } => vec![
                (initial, cfg.max_lr),
                (cfg.max_lr, initial),
                (initial, final_lr),
            ],
        };
        let moms: Vec<(F, F)> = match cfg.phases {
            Phases::Two => vec![(m_hi, m_lo), (m_lo, m_hi)],
            Phases::Three { .. } => vec![(m_hi, m_lo), (m_lo, m_hi), (m_hi, m_hi)],
        };
        let mut start = F::ZERO;
        let phases = ends
            .iter()
            .zip(lrs.iter().zip(moms.iter()))
            .map(|(&end, (&lr, &momentum))| {
                let p = RefPhase {
                    start,
                    end,
                    lr,
                    momentum,
                };
                start = end;
                p
            })
            .collect();
        Self {
            phases,
            total_steps: cfg.total_steps,
            boundary_ends_phase: cfg.convention == Convention::PyTorch,
            anneal: cfg.anneal,
            final_values: (final_lr, m_hi),
            has_momentum,
        }
    }

    /// The phases, in order.
    #[must_use]
    pub fn phases(&self) -> &[RefPhase<F>] {
        &self.phases
    }

    fn interpolate(&self, (a, b): (F, F), pct: F) -> F {
        match self.anneal {
            Anneal::Cos => {
                let pi = f::<F>(core::f64::consts::PI);
                b + (a - b) / f(2.0) * (F::ONE + (pi * pct).cos())
            }
            Anneal::Linear => a + (b - a) * pct,
        }
    }

    /// `(lr, momentum)` at `step`: walk the phases, interpolate inside the one found.
    #[must_use]
    pub fn at(&self, step: u32) -> (F, F) {
        if step >= self.total_steps {
            return self.final_values;
        }
        let k = F::from_u32(step);
        let last = self.phases.len() - 1;
        for (i, p) in self.phases.iter().enumerate() {
            let inside = if self.boundary_ends_phase {
                k <= p.end
            } else {
                k < p.end
            };
            if inside || i == last {
                let len = p.end - p.start;
                let pct = if len > F::ZERO {
                    (k - p.start) / len
                } else {
                    F::ONE
                };
                let pct = if pct < F::ZERO {
                    F::ZERO
                } else if pct > F::ONE {
                    F::ONE
                } else {
                    pct
                };
                return (
                    self.interpolate(p.lr, pct),
                    self.interpolate(p.momentum, pct),
                );
            }
        }
        self.final_values
    }

    /// Learning rate at `step`.
    #[must_use]
    pub fn lr(&self, step: u32) -> F {
        self.at(step).0
    }

    /// Momentum at `step` (`None` when the config leaves momentum alone).
    #[must_use]
    pub fn momentum(&self, step: u32) -> Option<F> {
        self.has_momentum.then(|| self.at(step).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecycle_core::Preset;

    /// The reference and the library agree at every step of every preset (two independent
    /// implementations of the same formulas), so the schedule bench compares like with like.
    /// The tolerance is absolute, relative to `max_lr`: near a phase's end the textbook
    /// `1 + cos(π·pct)` cancels (relative error ~1e-12 on values ~1e-6), which the library
    /// avoids by evaluating from the nearer end.
    #[test]
    fn reference_matches_the_library_for_every_preset() {
        for preset in Preset::ALL {
            for total in [10u32, 97, 1000] {
                let cfg = preset.config(0.1_f64, total);
                let lib = cfg.build().unwrap();
                let r = ReferenceOneCycle::new(&cfg);
                for k in 0..=total + 2 {
                    let (a, b) = (r.lr(k), lib.lr(k));
                    assert!(
                        (a - b).abs() <= 1e-12 * 0.1,
                        "{preset} T={total} k={k}: {a} vs {b}"
                    );
                    let (a, b) = (r.momentum(k).unwrap(), lib.momentum(k).unwrap());
                    assert!(
                        (a - b).abs() <= 1e-12,
                        "{preset} T={total} k={k} momentum: {a} vs {b}"
                    );
                }
            }
        }
    }

    /// Hand-worked PyTorch values: max 25, div 25, T = 10 → 1 at step 0, 13 at step 1 (cos
    /// half-way), 25 at step 2 (= 0.3·10 − 1).
    #[test]
    fn textbook_values() {
        let r = ReferenceOneCycle::new(&OneCycleConfig::pytorch(25.0_f64, 10));
        assert!((r.lr(0) - 1.0).abs() < 1e-12);
        assert!((r.lr(1) - 13.0).abs() < 1e-12);
        assert!((r.lr(2) - 25.0).abs() < 1e-12);
        assert!((r.lr(9) - 1e-4).abs() < 1e-15);
    }
}
