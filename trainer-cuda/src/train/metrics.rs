//! Training metrics: per-step and per-epoch records, written as CSV and JSON.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;

/// One optimiser step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 0-based global step.
    pub step: u32,
    /// 0-based epoch.
    pub epoch: u32,
    /// Learning rate used.
    pub lr: f64,
    /// Momentum (or Adam β1) used, when the optimiser has one.
    pub momentum: Option<f64>,
    /// Training loss of the batch.
    pub loss: f64,
}

/// Which split a run's periodic evaluations use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvalSplit {
    /// The test split (runs without a validation split).
    #[default]
    Test,
    /// A validation slice held out of the training split (`--val-size`).
    Validation,
}

impl EvalSplit {
    /// The split's name in tables and chart labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Validation => "validation",
        }
    }
}

/// The test-set score of a run's final weights.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestScore {
    /// Test accuracy in [0, 1].
    pub acc: f64,
    /// Mean test loss.
    pub loss: f64,
}

/// One periodic evaluation (on [`Metrics::eval_split`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRecord {
    /// Number of steps done when evaluated.
    pub step: u32,
    /// Epochs done, fractional.
    pub epoch: f64,
    /// Mean training loss since the previous evaluation.
    pub train_loss: f64,
    /// Mean loss on the evaluation split.
    pub loss: f64,
    /// Accuracy on the evaluation split, in [0, 1].
    pub acc: f64,
    /// Training wall time so far (seconds, evaluation excluded).
    pub train_seconds: f64,
    /// Training throughput since the previous evaluation (images per second).
    pub img_per_s: f64,
}

/// All metrics of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The split the periodic evaluations use.
    #[serde(default)]
    pub eval_split: EvalSplit,
    /// The test score of the final weights (absent until the run completes).
    #[serde(default)]
    pub final_test: Option<TestScore>,
    /// Per-step records.
    pub steps: Vec<StepRecord>,
    /// Per-evaluation records.
    pub evals: Vec<EvalRecord>,
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

impl Metrics {
    /// Per-step CSV: `step,epoch,lr,momentum,loss`.
    pub fn steps_csv(&self) -> String {
        let mut s = String::from("step,epoch,lr,momentum,loss\n");
        for r in &self.steps {
            let _ = writeln!(
                s,
                "{},{},{},{},{}",
                r.step,
                r.epoch,
                r.lr,
                opt(r.momentum),
                r.loss
            );
        }
        s
    }

    /// Per-evaluation CSV.
    pub fn evals_csv(&self) -> String {
        let mut s = format!(
            "step,epoch,train_loss,{0}_loss,{0}_acc,train_seconds,img_per_s\n",
            self.eval_split.name()
        );
        for r in &self.evals {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{}",
                r.step, r.epoch, r.train_loss, r.loss, r.acc, r.train_seconds, r.img_per_s
            );
        }
        s
    }

    /// Writes `steps.csv`, `epochs.csv` and `metrics.json` into `dir`, each atomically.
    ///
    /// # Errors
    /// An unwritable directory.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join("steps.csv"), self.steps_csv().as_bytes())?;
        write_atomic(&dir.join("epochs.csv"), self.evals_csv().as_bytes())?;
        write_atomic(
            &dir.join("metrics.json"),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )?;
        Ok(())
    }

    /// Evaluation accuracy of the last evaluation (0 before any).
    pub fn final_acc(&self) -> f64 {
        self.evals.last().map_or(0.0, |e| e.acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_round_trip_the_numbers() {
        let m = Metrics {
            eval_split: EvalSplit::Test,
            final_test: None,
            steps: vec![StepRecord {
                step: 3,
                epoch: 0,
                lr: 0.1 / 3.0,
                momentum: None,
                loss: 2.25,
            }],
            evals: vec![],
        };
        let csv = m.steps_csv();
        let row = csv.lines().nth(1).unwrap();
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(fields[2].parse::<f64>().unwrap(), 0.1 / 3.0);
        assert_eq!(fields[3], "");
    }
}
