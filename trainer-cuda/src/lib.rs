//! The onecycle host trainer: data, models, training loop and the `onecycle` CLI.

pub mod atomic;
pub mod cli;
pub mod nn;
pub mod plot;
pub mod train;
pub mod data;
