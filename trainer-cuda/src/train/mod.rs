//! Training: schedules, the training loop with checkpoints, the live LR range test,
//! and the charts of a run.

pub mod charts;
pub mod checkpoint;
pub mod choice;
pub mod config;
pub mod learner;
pub mod metrics;
pub mod progress;
pub mod range_curve;
pub mod range_test;
pub mod run;
pub mod schedule;

pub use checkpoint::{
    load_checkpoint, load_latest, CheckpointEntry, CheckpointManifest, CheckpointState, ResumeFrom,
    ResumePoint, RunDir, MANIFEST_FORMAT,
};
pub use config::{DeviceName, MaxLr, ModelName, OptimizerName, RunConfig};
pub use metrics::{EvalRecord, EvalSplit, Metrics, StepRecord, TestScore};
pub use range_test::{range_test, RangeTestOutcome};
pub use run::{train, RunControl, RunEnd, RunResult};
pub use schedule::{PresetName, ScheduleKind, ScheduleSpec, TrainSchedule};
