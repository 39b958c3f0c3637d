//! Charts of one training run: evaluation accuracy, training loss and learning rate
//! against the step.

use crate::plot::{Chart, Series};
use crate::train::metrics::Metrics;

/// A chart against the training step.
fn step_chart(title: String, y_label: &str, log_y: bool, series: Vec<Series>) -> Chart {
    Chart {
        title,
        x_label: "step".into(),
        y_label: y_label.into(),
        log_y,
        series,
        ..Chart::default()
    }
}

fn accuracy_points(m: &Metrics) -> Vec<(f64, f64)> {
    m.evals.iter().map(|e| (f64::from(e.step), e.acc)).collect()
}

fn lr_points(m: &Metrics) -> Vec<(f64, f64)> {
    m.steps.iter().map(|s| (f64::from(s.step), s.lr)).collect()
}

fn loss_points(m: &Metrics) -> Vec<(f64, f64)> {
    m.steps
        .iter()
        .map(|s| (f64::from(s.step), s.loss))
        .collect()
}

/// Evaluation accuracy (on the split the run evaluated on), training loss and learning
/// rate of a single run, in that order (no accuracy chart before any evaluation).
pub fn run_charts(m: &Metrics, name: &str) -> Vec<Chart> {
    let one = |points| {
        vec![Series {
            name: name.into(),
            points,
            ..Series::default()
        }]
    };
    let mut charts = Vec::with_capacity(3);
    if !m.evals.is_empty() {
        charts.push(step_chart(
            format!("{name}: {} accuracy", m.eval_split.name()),
            &format!("{} accuracy", m.eval_split.name()),
            false,
            one(accuracy_points(m)),
        ));
    }
    charts.push(step_chart(
        format!("{name}: training loss"),
        "loss",
        true,
        one(loss_points(m)),
    ));
    charts.push(step_chart(
        format!("{name}: learning rate"),
        "learning rate",
        false,
        one(lr_points(m)),
    ));
    charts
}
