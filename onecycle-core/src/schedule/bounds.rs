//! Each peer's phase boundaries, computed in the peer's own arithmetic, and the
//! validity rule they imply: every phase has a positive length there.
//!
//! This is the one place that knows where PyTorch, fastai and optax put their
//! phase boundaries; [`Layout`](super::layout::Layout) (any float type) and
//! [`FastOneCycle`](crate::fast_f32::FastOneCycle) (the `f32` kernel) both read
//! it, so the domain a config is checked against is the domain it is evaluated on.

use crate::{ConfigError, Convention, Float, OneCycleConfig, Phases};

/// The phases of a checked config, in steps, as `f64` (Python's float).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bounds {
    /// Phase `i` spans `[ends[i-1], ends[i]]` (with `ends[-1] = 0`); the last
    /// used end is the schedule's end.
    pub ends: [f64; 3],
    /// The length each phase's progress is divided by, as the peer computes it
    /// (`ends[i] − ends[i-1]`, except fastai, which divides fractions).
    pub lengths: [f64; 3],
    /// First step *after* phase `i`: phase `i` holds the steps `< next[i]` not
    /// held by an earlier phase. PyTorch's `step <= end` puts a step on a
    /// boundary in the phase it ends (`floor(end) + 1`); fastai's and optax's
    /// `step < end` put it in the next one (`ceil(end)`).
    pub next: [u32; 3],
    /// 2 or 3.
    pub count: u8,
    /// The first phase (0-based) that is empty in the convention's arithmetic, if any.
    pub first_empty: Option<usize>,
}

/// The first step not `<=` (PyTorch) or not `<` (others) the end `x ≥ 0`.
fn first_step_after(x: f64, end_belongs: bool) -> u32 {
    let step = if end_belongs {
        libm::floor(x) + 1.0
    } else {
        libm::ceil(x)
    };
    // 0 ≤ step ≤ total_steps + 1; `as` saturates the one case past u32::MAX.
    step as u32
}

impl Bounds {
    /// The phases of `cfg` (whose `pct_start` and `pct_final` are finite), with
    /// [`first_empty`](Self::first_empty) the first phase whose length, in the
    /// convention's own arithmetic, is not positive:
    ///
    /// * PyTorch (f64): ends `p·T − 1`, (`q·T − 2`), `T − 1`; lengths are the
    ///   differences of consecutive ends (PyTorch divides by exactly these).
    /// * optax: ends `⌊p·T⌋`, (`⌊q·T⌋`), `T` (with `p·T` in f64, as Python's
    ///   `int(pct * steps)`); integer lengths.
    /// * fastai: the fractions `p`, (`q − p`), `1 − p` or `1 − q` go into a
    ///   float32 tensor and are summed (`combine_scheds`); the cumulative sums
    ///   must rise strictly. The lengths in steps are the fractions (in f64)
    ///   times `T`.
    pub(crate) fn of<F: Float>(cfg: &OneCycleConfig<F>) -> Self {
        let t = f64::from(cfg.total_steps);
        let p = cfg.pct_start.to_f64();
        let q = match cfg.phases {
            Phases::Two => None,
            Phases::Three { pct_final } => Some(pct_final.to_f64()),
        };
        let mut ends = [t; 3];
        let mut lengths = [0.0; 3];
        let mut positive = [true; 3];
        let count: usize = if q.is_some() { 3 } else { 2 };
        // PyTorch and optax divide by the differences of consecutive ends.
        let mut differences = |ends: &[f64; 3]| {
            let mut start = 0.0;
            for i in 0..count {
                lengths[i] = ends[i] - start;
                positive[i] = lengths[i] > 0.0;
                start = ends[i];
            }
        };
        match cfg.convention {
            Convention::PyTorch => {
                ends[0] = p * t - 1.0;
                if let Some(q) = q {
                    ends[1] = q * t - 2.0;
                }
                ends[count - 1] = t - 1.0;
                differences(&ends);
            }
            Convention::Optax => {
                ends[0] = libm::floor(p * t);
                if let Some(q) = q {
                    ends[1] = libm::floor(q * t);
                }
                differences(&ends);
            }
            Convention::Fastai => {
                let fractions = match q {
                    None => [p, 1.0 - p, 0.0],
                    Some(q) => [p, q - p, 1.0 - q],
                };
                ends[0] = p * t;
                if let Some(q) = q {
                    ends[1] = q * t;
                }
                // fastai's `combine_scheds`: the fractions become a float32
                // tensor whose cumulative sum (accumulated in f64 on the CPU,
                // stored as f32) must rise strictly, or its division by
                // `pcts[i+1] − pcts[i]` is by zero.
                let (mut sum, mut before) = (0.0_f64, 0.0_f32);
                for i in 0..count {
                    lengths[i] = fractions[i] * t;
                    sum += f64::from(fractions[i] as f32);
                    let at = sum as f32;
                    positive[i] = at > before;
                    before = at;
                }
            }
        }
        let end_belongs = matches!(cfg.convention, Convention::PyTorch);
        let mut next = [cfg.total_steps; 3];
        for i in 0..count - 1 {
            next[i] = first_step_after(ends[i], end_belongs);
        }
        Self {
            ends,
            lengths,
            next,
            count: count as u8,
            first_empty: (0..count).find(|&i| !positive[i]),
        }
    }

    /// # Errors
    ///
    /// [`ConfigError::EmptyPhase`] naming the first empty phase.
    pub(crate) fn check<F: Float>(self, cfg: &OneCycleConfig<F>) -> Result<Self, ConfigError> {
        match self.first_empty {
            None => Ok(self),
            Some(i) => Err(ConfigError::EmptyPhase {
                phase: i as u8 + 1,
                phases: self.count,
                length: self.lengths[i],
                total_steps: cfg.total_steps,
                convention: cfg.convention,
            }),
        }
    }
}
