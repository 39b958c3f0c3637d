#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod config;
mod error;
pub mod momentum;
pub mod range_test;
pub mod scheduler;

pub use config::OneCycleLrConfig;
pub use error::Error;
pub use momentum::{Cycled, CycledState, MomentumOptimizer, SgdMomentum};
pub use onecycle_core;
pub use onecycle_core::finder::MAX_RANGE_STEPS;
pub use range_test::{range_test, RangeTestOutcome, TrainLoss};
pub use scheduler::{OneCycleLr, RecordMismatch, ScheduleLr};

use burn::optim::ModuleOptimizer;
use onecycle_core::{ConfigError, OneCycle, OneCycleConfig};

/// The pair burn's `Learner` takes for 1cycle: the lr scheduler and `optimizer` with its
/// momentum (SGD) or β₁ (Adam, AdamW) cycled by the same schedule, and the gradient
/// clipping `optimizer` configures applied as burn's `init()` applies it.
///
/// # Errors
/// The core's [`ConfigError`] for an invalid `config`.
pub fn one_cycle<C: MomentumOptimizer>(
    config: OneCycleConfig<f64>,
    optimizer: C,
) -> Result<(OneCycleLr, ModuleOptimizer), ConfigError> {
    let schedule: OneCycle<f64> = config.build()?;
    Ok((
        ScheduleLr::new(schedule),
        Cycled::new(optimizer, schedule).init(),
    ))
}
