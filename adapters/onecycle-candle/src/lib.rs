#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod driver;
mod error;
pub mod range_test;
mod sgd_momentum;

pub use driver::{CycleMomentum, Driver, DriverConfig};
pub use error::Error;
pub use onecycle_core;
pub use onecycle_core::finder::MAX_RANGE_STEPS;
pub use range_test::{range_test, RangeTestOutcome};
pub use sgd_momentum::{ParamsSgdMomentum, SgdMomentum};
