//! Where each convention puts the phase boundaries, and what values each phase joins.

use crate::{ConfigError, Convention, Float, OneCycleConfig, Phases};

/// One phase: a stretch of steps `[start, end]` (in step units, as floats) over
/// which the learning rate moves from `lr.0` to `lr.1` and momentum from
/// `mom.0` to `mom.1`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Phase<F> {
    pub start: F,
    pub end: F,
    pub lr: (F, F),
    pub mom: (F, F),
}

/// The checked phases of a schedule (2 or 3 used) and how ties at boundaries resolve.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Layout<F> {
    pub phases: [Phase<F>; 3],
    pub count: u8,
    /// `true`: a step equal to a phase end belongs to that phase (PyTorch's `<=`);
    /// `false`: to the next phase.
    pub boundary_ends_phase: bool,
}

/// `floor(pct·T)` computed in `f64` as optax does in Python, as a step count.
fn floor_steps<F: Float>(pct: F, total: u32) -> F {
    // pct < 1, so the product is below `total` and the conversion cannot saturate.
    let steps = libm::floor(pct.to_f64() * f64::from(total));
    F::from_f64(steps)
}

impl<F: Float> Layout<F> {
    /// Builds the phases of a config whose scalars are already checked.
    ///
    /// # Errors
    ///
    /// [`ConfigError::EmptyPhase`] when a phase's length (computed in `F`, as
    /// evaluation does) is not positive.
    pub(crate) fn new(cfg: &OneCycleConfig<F>) -> Result<Self, ConfigError> {
        let t = F::from_u32(cfg.total_steps);
        let one = F::ONE;
        let two = F::TWO;
        let pct_final = match cfg.phases {
            Phases::Two => None,
            Phases::Three { pct_final } => Some(pct_final),
        };
        // Phase end points (the last one is the schedule's end).
        let (end1, end2, last) = match cfg.convention {
            Convention::PyTorch => (
                cfg.pct_start * t - one,
                pct_final.map(|q| q * t - two),
                t - one,
            ),
            Convention::Fastai => (cfg.pct_start * t, pct_final.map(|q| q * t), t),
            Convention::Optax => (
                floor_steps(cfg.pct_start, cfg.total_steps),
                pct_final.map(|q| floor_steps(q, cfg.total_steps)),
                t,
            ),
        };
        let initial = cfg.initial_lr();
        let max = cfg.max_lr;
        let final_lr = cfg.final_lr();
        let (mom_base, mom_max) = match cfg.momentum {
            Some(m) => (m.base, m.max),
            None => (F::ZERO, F::ZERO),
        };
        let zero = F::ZERO;
        let (phases, count) = match end2 {
            None => (
                [
                    Phase {
                        start: zero,
                        end: end1,
                        lr: (initial, max),
                        mom: (mom_max, mom_base),
                    },
                    Phase {
                        start: end1,
                        end: last,
                        lr: (max, final_lr),
                        mom: (mom_base, mom_max),
                    },
                    Phase {
                        start: last,
                        end: last,
                        lr: (final_lr, final_lr),
                        mom: (mom_max, mom_max),
                    },
                ],
                2,
            ),
            Some(end2) => (
                [
                    Phase {
                        start: zero,
                        end: end1,
                        lr: (initial, max),
                        mom: (mom_max, mom_base),
                    },
                    Phase {
                        start: end1,
                        end: end2,
                        lr: (max, initial),
                        mom: (mom_base, mom_max),
                    },
                    Phase {
                        start: end2,
                        end: last,
                        lr: (initial, final_lr),
                        mom: (mom_max, mom_max),
                    },
                ],
                3,
            ),
        };
        for (i, p) in phases.iter().take(usize::from(count)).enumerate() {
            let length = p.end - p.start;
            // `!(length > 0)` so that NaN is rejected too.
            if !(length > zero && length.is_finite()) {
                return Err(ConfigError::EmptyPhase {
                    phase: i as u8 + 1,
                    length: length.to_f64(),
                    total_steps: cfg.total_steps,
                    convention: cfg.convention,
                });
            }
        }
        Ok(Self {
            phases,
            count,
            boundary_ends_phase: matches!(cfg.convention, Convention::PyTorch),
        })
    }

    /// The phase containing position `x` (a step, as a float, before the end).
    pub(crate) fn phase_at(&self, x: F) -> &Phase<F> {
        let last = usize::from(self.count) - 1;
        for p in &self.phases[..last] {
            let inside = if self.boundary_ends_phase {
                x <= p.end
            } else {
                x < p.end
            };
            if inside {
                return p;
            }
        }
        &self.phases[last]
    }

    /// The last phase (its end values are the schedule's final values).
    pub(crate) fn last(&self) -> &Phase<F> {
        &self.phases[usize::from(self.count) - 1]
    }
}
