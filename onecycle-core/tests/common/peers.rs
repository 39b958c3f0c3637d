//! Each peer's 1cycle, restated from its own source's arithmetic, independently
//! of the crate: where it puts the phase boundaries, whether every phase is
//! non-empty there ("sane"), and (PyTorch, optax) the values it produces.
//!
//! * PyTorch `OneCycleLR`: phase `end_step`s `float(pct_start·T) − 1`,
//!   `float(2·pct_start·T) − 2` (here `q·T − 2` for a general `pct_final`),
//!   `T − 1`; `get_lr` takes the first phase with `step <= end_step` and
//!   divides by `end_step − start_step`.
//! * optax `piecewise_interpolate_schedule`: a dict `{int(p·T): …, int(q·T): …,
//!   T: …}` (equal keys collapse into one), sorted, with `0` prepended; a
//!   zero-size interval makes `pct` infinite/NaN at every step (the dot
//!   product with the indicator does not mask NaN).
//! * fastai `combine_scheds`: the fractions in a float32 tensor, `cumsum`
//!   (float64 accumulation on the CPU), then `(pos − pcts[i]) / (pcts[i+1] − pcts[i])`.
#![allow(dead_code)]
// `!(length > 0)` on purpose: a NaN length is empty too.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use std::f64::consts::PI;

use onecycle_core::{Anneal, Convention, FinalDivOf, Float, OneCycleConfig, Phases};

/// What a peer makes of a config's phases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every phase is non-empty in the peer's arithmetic.
    Sane,
    /// The first empty phase, counted from 1.
    Empty(u8),
}

/// The config's scalars in f64, as a Python user would pass them.
#[derive(Clone, Copy, Debug)]
pub struct Args {
    pub max_lr: f64,
    pub t: u32,
    pub p: f64,
    pub q: Option<f64>,
    pub initial: f64,
    pub last: f64,
    pub mom: Option<(f64, f64)>,
    pub cos: bool,
}

impl Args {
    pub fn of<F: Float>(c: &OneCycleConfig<F>) -> Self {
        let max_lr = c.max_lr.to_f64();
        let initial = max_lr / c.div_factor.to_f64();
        Self {
            max_lr,
            t: c.total_steps,
            p: c.pct_start.to_f64(),
            q: match c.phases {
                Phases::Two => None,
                Phases::Three { pct_final } => Some(pct_final.to_f64()),
            },
            initial,
            last: match c.final_div_of {
                FinalDivOf::InitialLr => initial / c.final_div_factor.to_f64(),
                FinalDivOf::MaxLr => max_lr / c.final_div_factor.to_f64(),
            },
            mom: c.momentum.map(|m| (m.base.to_f64(), m.max.to_f64())),
            cos: c.anneal == Anneal::Cos,
        }
    }

    /// `(lr start, lr end, momentum start, momentum end)` of each phase.
    fn phase_values(&self) -> Vec<(f64, f64, f64, f64)> {
        let (base, max) = self.mom.unwrap_or((0.0, 0.0));
        match self.q {
            None => vec![
                (self.initial, self.max_lr, max, base),
                (self.max_lr, self.last, base, max),
            ],
            Some(_) => vec![
                (self.initial, self.max_lr, max, base),
                (self.max_lr, self.initial, base, max),
                (self.initial, self.last, max, max),
            ],
        }
    }

    fn anneal(&self, start: f64, end: f64, pct: f64) -> f64 {
        if self.cos {
            // PyTorch `_annealing_cos`, optax `_cosine_interpolate`.
            end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0)
        } else {
            (end - start) * pct + start
        }
    }
}

/// The verdict of the config's own convention.
pub fn verdict(convention: Convention, a: &Args) -> Verdict {
    match convention {
        Convention::PyTorch => pytorch_verdict(a),
        Convention::Optax => optax_verdict(a),
        Convention::Fastai => fastai_verdict(a),
    }
}

fn pytorch_end_steps(a: &Args) -> Vec<f64> {
    let t = f64::from(a.t);
    let mut ends = vec![a.p * t - 1.0];
    if let Some(q) = a.q {
        ends.push(q * t - 2.0);
    }
    ends.push(t - 1.0);
    ends
}

pub fn pytorch_verdict(a: &Args) -> Verdict {
    let mut start = 0.0;
    for (i, end) in pytorch_end_steps(a).into_iter().enumerate() {
        if !(end - start > 0.0) {
            return Verdict::Empty(i as u8 + 1);
        }
        start = end;
    }
    Verdict::Sane
}

/// PyTorch's `get_lr` for `last_epoch == step` (`step < T`): `(lr, momentum)`.
pub fn pytorch_at(a: &Args, step: u32) -> (f64, f64) {
    let ends = pytorch_end_steps(a);
    let values = a.phase_values();
    let k = f64::from(step);
    let mut start = 0.0;
    for (i, &end) in ends.iter().enumerate() {
        if k <= end || i == ends.len() - 1 {
            let pct = (k - start) / (end - start);
            let (l0, l1, m0, m1) = values[i];
            return (a.anneal(l0, l1, pct), a.anneal(m0, m1, pct));
        }
        start = end;
    }
    unreachable!("the last phase always matches")
}

/// optax's boundaries: `0` and the keys `int(p·T)`, (`int(q·T)`), `T` in order.
/// With `p < q < 1` they never decrease; where two are equal the dict keeps
/// one key (the phase between them vanishes) and an equal `0` gives a
/// zero-size first interval (NaN everywhere), so sane means strictly increasing.
fn optax_bounds(a: &Args) -> Vec<f64> {
    let t = f64::from(a.t);
    // Python's int() of a positive float is floor.
    let mut b = vec![0.0, (a.p * t).floor()];
    if let Some(q) = a.q {
        b.push((q * t).floor());
    }
    b.push(t);
    b
}

pub fn optax_verdict(a: &Args) -> Verdict {
    let b = optax_bounds(a);
    for i in 1..b.len() {
        if !(b[i] - b[i - 1] > 0.0) {
            return Verdict::Empty(i as u8);
        }
    }
    Verdict::Sane
}

/// optax's schedule at `count` (`count < T`): `(lr, momentum)`, the momentum
/// interpolated on the same boundaries.
pub fn optax_at(a: &Args, count: u32) -> (f64, f64) {
    let b = optax_bounds(a);
    let values = a.phase_values();
    let k = f64::from(count);
    let (mut lr, mut mom) = (0.0, 0.0);
    for i in 0..b.len() - 1 {
        let indicator = b[i] <= k && k < b[i + 1];
        let pct = (k - b[i]) / (b[i + 1] - b[i]);
        let (l0, l1, m0, m1) = values[i];
        let (l, m) = (a.anneal(l0, l1, pct), a.anneal(m0, m1, pct));
        lr += f64::from(u8::from(indicator)) * l;
        mom += f64::from(u8::from(indicator)) * m;
    }
    (lr, mom)
}

pub fn fastai_verdict(a: &Args) -> Verdict {
    let fractions: Vec<f64> = match a.q {
        None => vec![a.p, 1.0 - a.p],
        Some(q) => vec![a.p, q - a.p, 1.0 - q],
    };
    // tensor([0] + pcts) is float32; cumsum accumulates in f64 on the CPU.
    let stored: Vec<f32> = fractions.iter().map(|&x| x as f32).collect();
    let mut pcts = vec![0.0_f32];
    let mut acc = 0.0_f64;
    for x in stored {
        acc += f64::from(x);
        pcts.push(acc as f32);
    }
    for i in 1..pcts.len() {
        if !(pcts[i] - pcts[i - 1] > 0.0) {
            return Verdict::Empty(i as u8);
        }
    }
    Verdict::Sane
}
