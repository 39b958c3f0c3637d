//! The study's plots (SVG charts): final accuracy against budget, validation curves per
//! budget, reference mode's curves against the reference, and seed 0's range test. Reads
//! the report's types only.

use onecycle_core::finder::Suggestions;

use crate::plot::{Chart, Series};
use crate::study::report::StudyReport;
use crate::study::show::{show_epochs, show_lr};
use crate::study::Family;
use crate::train::range_curve::{curve_chart, Curve};

impl StudyReport {
    /// Final validation accuracy against budget (log x), one line per family with the
    /// seeds' min-max as bars, and the targets (a) and (c) as flat lines.
    pub fn budget_chart(&self) -> Chart {
        let r = &self.regime;
        let mut series: Vec<Series> = self
            .scores
            .iter()
            .map(|f| Series {
                name: f.family.name().into(),
                points: f
                    .per_budget
                    .iter()
                    .filter(|b| b.seeds_run > 0)
                    .map(|b| (b.budget, b.val.median))
                    .collect(),
                spread: f
                    .per_budget
                    .iter()
                    .filter(|b| b.seeds_run > 0)
                    .map(|b| (b.budget, b.val.min, b.val.max))
                    .collect(),
                dots: true,
                ..Series::default()
            })
            .collect();
        for t in self.targets.iter().filter(|t| t.name != "b") {
            series.push(Series {
                name: format!("target ({}) {:.2}%", t.name, 100.0 * t.acc),
                points: vec![(r.budgets[0], t.acc), (r.longest(), t.acc)],
                thin: true,
                ..Series::default()
            });
        }
        // The axis on the region where the families differ: from a little below the
        // lowest target (or the lowest median) up.
        let lowest_target = self
            .targets
            .iter()
            .map(|t| t.acc)
            .fold(f64::INFINITY, f64::min);
        let floor = (lowest_target - 0.03).max(0.0);
        Chart {
            title: format!("{}: final validation accuracy against budget", r.name),
            x_label: "budget (epochs, log scale)".into(),
            y_label: "validation accuracy".into(),
            log_x: true,
            series,
            y_floor: floor.is_finite().then_some(floor),
            legend_outside: true,
            x_ticks: r.budgets.clone(),
            ..Chart::default()
        }
    }

    /// Validation accuracy against epoch of every family on seed 0, one chart per budget.
    pub fn curve_charts(&self) -> Vec<Chart> {
        self.regime
            .budgets
            .iter()
            .map(|&budget| {
                let series = Family::ALL
                    .iter()
                    .enumerate()
                    .filter_map(|(color, &f)| {
                        let run = if f.budget_aware() {
                            self.runs_of(f, 0).find(|x| x.budget == budget)
                        } else {
                            self.runs_of(f, 0).next()
                        }?;
                        Some(Series {
                            name: f.name().into(),
                            dots: true,
                            // One colour per family in every chart, whichever families ran.
                            color: Some(color),
                            // A budget-aware run is exactly this budget (its last
                            // evaluation may fall a rounded step past it); the constant
                            // lr's curve is cut at the budget.
                            points: run
                                .record
                                .curve
                                .iter()
                                .copied()
                                .filter(|(e, _)| f.budget_aware() || *e <= budget + 1e-9)
                                .collect(),
                            ..Series::default()
                        })
                    })
                    .collect();
                Chart {
                    title: format!(
                        "{}: validation accuracy, budget {} epochs (seed 0)",
                        self.regime.name,
                        show_epochs(budget)
                    ),
                    x_label: "epoch".into(),
                    y_label: "validation accuracy".into(),
                    series,
                    legend_outside: true,
                    ..Chart::default()
                }
            })
            .collect()
    }

    /// Reference mode: validation accuracy against epochs (log scale) of 1cycle's best run
    /// at each rung (over seeds), linear decay's likewise, the first reference's run on
    /// the seed that sets R, and the targets. Every evaluation is a dot.
    pub fn reference_chart(&self) -> Option<Chart> {
        let reference = self.reference.as_ref()?;
        let budget = reference.budget_epochs;
        let ref_run = self
            .reference_runs
            .iter()
            .filter(|x| x.family == reference.family && x.budget == budget)
            .find(|x| x.record.final_val_acc == reference.target)?;
        let mut series = Vec::new();
        for (color, family) in [(0, Family::Onecycle), (1, Family::Linear)] {
            let mut first = true;
            for &b in &self.regime.budgets {
                let best = self
                    .runs
                    .iter()
                    .filter(|x| x.family == family && x.budget == b)
                    .max_by(|x, y| x.record.final_val_acc.total_cmp(&y.record.final_val_acc));
                let Some(run) = best else { continue };
                series.push(Series {
                    name: if first {
                        format!("{} (best seed per rung)", family.name())
                    } else {
                        String::new()
                    },
                    points: run.record.curve.clone(),
                    dots: true,
                    color: Some(color),
                    ..Series::default()
                });
                first = false;
            }
        }
        series.push(Series {
            name: format!(
                "{}@{} (seed {}, lr {})",
                reference.family.name(),
                show_epochs(budget),
                ref_run.seed,
                show_lr(reference.lr)
            ),
            points: ref_run.record.curve.clone(),
            dots: true,
            color: Some(3),
            ..Series::default()
        });
        let x0 = self.regime.budgets[0].min(budget) / 2.0;
        let x1 = self.regime.longest().max(budget);
        for (color, name, acc) in [
            (4, "R", reference.target),
            (5, "R (looser)", reference.looser_target),
        ] {
            series.push(Series {
                name: format!("target {name} {:.2}%", 100.0 * acc),
                points: vec![(x0, acc), (x1, acc)],
                color: Some(color),
                thin: true,
                ..Series::default()
            });
        }
        Some(Chart {
            title: format!(
                "{}: validation accuracy, 1cycle and linear decay against {}@{}",
                self.regime.name,
                reference.family.name(),
                show_epochs(budget)
            ),
            x_label: "epochs (log scale)".into(),
            y_label: "validation accuracy".into(),
            log_x: true,
            series,
            y_floor: Some((reference.looser_target - 0.02).max(0.0)),
            legend_outside: true,
            x_ticks: self
                .regime
                .budgets
                .iter()
                .copied()
                .chain([budget])
                .collect(),
            ..Chart::default()
        })
    }

    /// Seed 0's range test with its suggestions and the chosen max lr.
    pub fn range_chart(&self) -> Option<Chart> {
        let rr = self.ranges.first()?;
        let curve = Curve {
            lrs: rr.lrs.clone(),
            losses: rr.losses.clone(),
            raw_losses: None,
        };
        let get = |name: &str| {
            rr.suggestions
                .iter()
                .find(|(n, _)| n == name)
                .map_or(f64::NAN, |(_, v)| *v)
        };
        let s = Suggestions {
            valley: get("valley"),
            slide: get("slide"),
            minimum: get("minimum"),
            steep: get("steep"),
        };
        let mut c = curve_chart(&curve, Some(&s), Some(("auto", rr.auto())));
        c.title = format!("{}: LR range test (seed 0)", self.regime.name);
        Some(c)
    }
}
