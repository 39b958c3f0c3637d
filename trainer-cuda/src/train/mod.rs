//! Training: schedules, the training loop with checkpoints, the live LR range test,
//! and the 1cycle-versus-baselines comparison.

pub mod compare;
pub mod config;
pub mod metrics;
pub mod progress;
pub mod range_test;
pub mod run;
pub mod schedule;

pub use compare::{compare, CompareConfig, CompareReport, CompareRow};
pub use config::{DeviceName, MaxLr, ModelName, OptimizerName, RunConfig};
pub use metrics::{EvalRecord, Metrics, StepRecord};
pub use range_test::{range_test, RangeTestOutcome};
pub use run::{load_latest, train, CheckpointState, RunControl, RunDir, RunEnd, RunResult};
pub use schedule::{PresetName, ScheduleKind, ScheduleSpec, TrainSchedule};
