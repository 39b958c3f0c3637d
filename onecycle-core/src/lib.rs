#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod fmt;

pub mod anneal;
pub mod baseline;
pub mod error;
pub mod fast_f32;
pub mod finder;
pub mod float;
pub mod preset;
pub mod schedule;

pub use anneal::{Anneal, ParseAnnealError};
pub use error::ConfigError;
pub use finder::{FinderError, Method, RangeTest, RangeTestConfig};
pub use float::Float;
pub use preset::{ParsePresetError, Preset};
pub use schedule::{
    Convention, FinalDivOf, MomentumRange, OneCycle, OneCycleConfig, Phases, Schedule, Steps,
};
