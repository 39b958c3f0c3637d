//! The onecycle host trainer: data, models, training loop and the `onecycle` CLI.

pub mod atomic;
pub mod cli;
pub use onecycle_data as data;
pub mod dist;
pub mod lock;
pub mod nn;
pub mod plot;
pub mod study;
pub mod train;

/// The workspace README's Rust examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
