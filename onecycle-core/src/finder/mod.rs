//! The LR range test ("LR finder"): sweep the learning rate upward for a few hundred steps,
//! watch the loss, and read a good maximum learning rate off the curve.
//!
//! Smith, *Cyclical Learning Rates for Training Neural Networks* (2017, arXiv:1506.01186 §3.3),
//! as fastai's `lr_find` does it, re-derived:
//!
//! * step `i` of `num_steps` trains at `start·(end/start)^(i/num_steps)` ([`Sweep::Exponential`],
//!   default) or `start + (end−start)·i/num_steps` ([`Sweep::Linear`]);
//! * the loss is smoothed by a debiased EMA (`avg = β·avg + (1−β)·loss`,
//!   `smoothed = avg / (1−β^k)` after `k` losses, β = 0.98);
//! * the test stops after `num_steps` steps, when the smoothed loss exceeds 4 × the best one
//!   ([`StopReason::Diverged`]), or on a NaN/∞ loss ([`StopReason::NonFiniteLoss`]);
//! * the history lives in a fixed-capacity [`heapless::Vec`] (`N` points, a const generic);
//! * suggestions ([`Method`]) read the recorded curve on fastai's window: without the first
//!   `num_steps / 10` and the last 5 points.
//!
//! * the divergence edge ([`divergence_edge`], onecycle's addition): where the raw loss
//!   breaks down for good; the `auto` learning rate is that lr / [`AUTO_DIVISOR`] (30), far
//!   steadier over seeds than fastai's rules;
//!
//! [`RangeTest`] is the state machine (see its example for the whole loop); [`suggest`] and
//! [`suggest_all`] read a curve recorded elsewhere (a CSV, another framework).

mod config;
mod consensus;
mod edge;
mod error;
mod history;
mod methods;
mod outcome;
mod range_test;
mod smoothing;
mod suggest;

pub use config::{RangeTestConfig, Sweep};
pub use consensus::{consensus, consensus_of, Consensus, MAX_SWEEPS};
pub use edge::{divergence_edge, Edge, AUTO_DIVISOR};
pub use error::{FinderError, ParseMethodError};
pub use history::Point;
pub use outcome::{RangeTestOutcome, MAX_RANGE_STEPS};
pub use range_test::{RangeTest, Status, StopReason};
pub use suggest::{
    suggest, suggest_all, window, Method, Suggestion, Suggestions, MAX_VALLEY_POINTS,
    SLIDE_LR_DIFF, SLIDE_THRESHOLD,
};
