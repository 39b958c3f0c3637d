//! The phases of a checked schedule in its float type: where each starts and
//! ends, what values it joins, and which steps it holds.

use super::bounds::Bounds;
use crate::{ConfigError, Float, OneCycleConfig, Phases};

/// One phase: a stretch of steps `[start, end]` (in step units) over which the
/// learning rate moves from `lr.0` to `lr.1` and momentum from `mom.0` to
/// `mom.1`; progress through it is measured in units of `len`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Phase<F> {
    /// First step after this phase (see [`Bounds::next`]).
    pub next: u32,
    pub start: F,
    pub end: F,
    pub len: F,
    pub lr: (F, F),
    pub mom: (F, F),
}

/// The checked phases of a schedule (2 or 3 used).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Layout<F> {
    pub phases: [Phase<F>; 3],
    pub count: u8,
}

/// The `(lr, momentum)` end points of each phase: `initial → max → final`, or
/// `initial → max → initial → final` with momentum held at its maximum in the
/// third phase.
pub(crate) fn phase_values<F: Float>(cfg: &OneCycleConfig<F>) -> [((F, F), (F, F)); 3] {
    let (initial, max, last) = (cfg.initial_lr(), cfg.max_lr, cfg.final_lr());
    let (mom_base, mom_max) = cfg.momentum.map_or((F::ZERO, F::ZERO), |m| (m.base, m.max));
    match cfg.phases {
        Phases::Two => [
            ((initial, max), (mom_max, mom_base)),
            ((max, last), (mom_base, mom_max)),
            ((last, last), (mom_max, mom_max)),
        ],
        Phases::Three { .. } => [
            ((initial, max), (mom_max, mom_base)),
            ((max, initial), (mom_base, mom_max)),
            ((initial, last), (mom_max, mom_max)),
        ],
    }
}

impl<F: Float> Layout<F> {
    /// Builds the phases of a config whose scalars are already checked.
    ///
    /// # Errors
    ///
    /// [`ConfigError::EmptyPhase`] when a phase is empty in the config's
    /// convention (see [`Bounds::of`]).
    pub(crate) fn new(cfg: &OneCycleConfig<F>) -> Result<Self, ConfigError> {
        let b = Bounds::of(cfg).check(cfg)?;
        let values = phase_values(cfg);
        let phase = |i: usize| Phase {
            next: b.next[i],
            start: F::from_f64(if i == 0 { 0.0 } else { b.ends[i - 1] }),
            end: F::from_f64(b.ends[i]),
            len: F::from_f64(b.lengths[i]),
            lr: values[i].0,
            mom: values[i].1,
        };
        Ok(Self {
            phases: [phase(0), phase(1), phase(2)],
            count: b.count,
        })
    }

    /// The phase holding `step` (a step before the schedule's end).
    #[inline]
    pub(crate) fn phase_of(&self, step: u32) -> &Phase<F> {
        let last = usize::from(self.count) - 1;
        self.phases[..last]
            .iter()
            .find(|p| step < p.next)
            .unwrap_or(&self.phases[last])
    }

    /// The last phase (its end values are the schedule's final values).
    pub(crate) fn last(&self) -> &Phase<F> {
        &self.phases[usize::from(self.count) - 1]
    }
}
