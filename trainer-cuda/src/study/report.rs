//! The scored study: targets, epochs to target, speed-ups; written as `study.md`,
//! `study.json` and three plots.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use onecycle_core::finder::Suggestions;
use serde::Serialize;

use crate::atomic::write_atomic;
use crate::plot::{save_stacked_svg, Chart, Series};
use crate::study::score::{
    epochs_to_target_budgeted, epochs_to_target_curve, ratio, show_epochs, show_ratio, Spread,
};
use crate::study::store::{device_name, RangeRecord};
use crate::study::{Family, Measurements, Regime, StudyConfig, StudyRun, SENSITIVITY};
use crate::train::range_curve::{curve_chart, Curve};

/// A quality target, fixed by its rule before the runs are scored.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// `a`, `b` or `c`.
    pub name: String,
    /// The rule that set it.
    pub rule: String,
    /// Validation accuracy to reach.
    pub acc: f64,
}

/// One grid trial (seed 0).
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    /// Family.
    pub family: Family,
    /// Learning rate tried.
    pub lr: f64,
    /// Budget it was tried at (epochs).
    pub budget: f64,
    /// Final validation accuracy.
    pub val_acc: f64,
}

/// A tuned family's lr.
#[derive(Clone, Debug, Serialize)]
pub struct Winner {
    /// Family.
    pub family: Family,
    /// The winning lr.
    pub lr: f64,
    /// Whether it is the smallest or largest grid point (the optimum may lie outside).
    pub on_grid_edge: bool,
}

/// Epochs to one target of one family.
#[derive(Clone, Debug, Serialize)]
pub struct TargetScore {
    /// The target's name.
    pub target: String,
    /// Per seed, in seed order (`null` = missed).
    pub per_seed: Vec<f64>,
    /// Median [min-max] over seeds.
    pub spread: Spread,
}

/// Final accuracies of one family at one budget.
#[derive(Clone, Debug, Serialize)]
pub struct BudgetScore {
    /// Budget (epochs).
    pub budget: f64,
    /// Validation accuracy over seeds (the constant lr: read off its curve).
    pub val: Spread,
    /// Test accuracy over seeds (the constant lr: only at its own, longest budget).
    pub test: Option<Spread>,
}

/// One family's scores.
#[derive(Clone, Debug, Serialize)]
pub struct FamilyScore {
    /// Family.
    pub family: Family,
    /// Learning rate (the finder: per seed, so the median).
    pub lr: f64,
    /// Epochs to each target.
    pub epochs_to_target: Vec<TargetScore>,
    /// Final accuracies per budget.
    pub per_budget: Vec<BudgetScore>,
}

/// A speed-up of a 1cycle variant over a baseline.
#[derive(Clone, Debug, Serialize)]
pub struct Speedup {
    /// The 1cycle variant.
    pub onecycle: Family,
    /// The baseline (the tuned constant lr, or the fastest budget-aware one).
    pub against: Family,
    /// Why that baseline: `best constant` or `fastest budget-aware`.
    pub role: String,
    /// The target's name.
    pub target: String,
    /// Baseline median epochs / 1cycle median epochs (`null` when 1cycle misses).
    pub ratio_of_medians: f64,
    /// Per seed, the same ratio (`null` when 1cycle misses on that seed).
    pub per_seed: Vec<f64>,
    /// Median [min-max] of the per-seed ratios.
    pub spread: Spread,
}

/// A sensitivity trial of the finder (seed 0, the tuning budget).
#[derive(Clone, Debug, Serialize)]
pub struct SensitivityRow {
    /// Multiple of the valley.
    pub multiple: f64,
    /// The lr.
    pub lr: f64,
    /// Final validation accuracy.
    pub val_acc: f64,
}

/// The scored study.
#[derive(Clone, Debug, Serialize)]
pub struct StudyReport {
    /// The regime.
    pub regime: Regime,
    /// Model, optimiser, batch size, weight decay and preset, in words.
    pub setup: String,
    /// The device.
    pub device: String,
    /// The lr grid.
    pub grid: Vec<f64>,
    /// Wall time of this invocation (seconds; runs kept from the store cost nothing).
    pub wall_seconds: f64,
    /// Runs trained by this invocation.
    pub trained: usize,
    /// Runs kept from the store.
    pub reused: usize,
    /// The targets.
    pub targets: Vec<Target>,
    /// The grid trials.
    pub tuning: Vec<Trial>,
    /// The tuned lrs.
    pub winners: Vec<Winner>,
    /// The range tests (one per seed).
    pub ranges: Vec<RangeRecord>,
    /// The finder's sensitivity row.
    pub sensitivity: Vec<SensitivityRow>,
    /// Per-family scores.
    pub scores: Vec<FamilyScore>,
    /// Speed-ups of the 1cycle variants.
    pub speedups: Vec<Speedup>,
    /// Every ladder run, with the command that reproduces it.
    pub runs: Vec<StudyRun>,
}

/// Validation accuracy of a constant-lr curve after `budget` epochs (its last evaluation
/// at or before it).
fn curve_at(curve: &[(f64, f64)], budget: f64) -> f64 {
    curve
        .iter()
        .take_while(|(e, _)| *e <= budget + 1e-9)
        .last()
        .map_or(f64::NAN, |(_, a)| *a)
}

impl StudyReport {
    fn runs_of(&self, family: Family, seed: u64) -> impl Iterator<Item = &StudyRun> {
        self.runs
            .iter()
            .filter(move |r| r.family == family && r.seed == seed)
    }

    fn seeds(&self) -> Vec<u64> {
        (0..u64::from(self.regime.seeds)).collect()
    }

    /// Epochs to `target` of `family` on `seed`.
    pub fn epochs_to(&self, family: Family, seed: u64, target: f64) -> f64 {
        if family.budget_aware() {
            let pts: Vec<(f64, f64)> = self
                .runs_of(family, seed)
                .map(|r| (r.budget, r.record.final_val_acc))
                .collect();
            epochs_to_target_budgeted(&pts, target)
        } else {
            self.runs_of(family, seed)
                .next()
                .map_or(f64::INFINITY, |r| {
                    epochs_to_target_curve(&r.record.curve, target)
                })
        }
    }

    /// Final validation accuracy of `family` on `seed` after `budget` epochs.
    pub fn val_at(&self, family: Family, seed: u64, budget: f64) -> f64 {
        if family.budget_aware() {
            self.runs_of(family, seed)
                .find(|r| r.budget == budget)
                .map_or(f64::NAN, |r| r.record.final_val_acc)
        } else {
            self.runs_of(family, seed)
                .next()
                .map_or(f64::NAN, |r| curve_at(&r.record.curve, budget))
        }
    }

    /// Scores the measurements of a study.
    pub fn score(cfg: &StudyConfig, m: Measurements, wall_seconds: f64) -> Self {
        let r = &cfg.regime;
        let t = &cfg.template;
        let grid_lo = cfg.grid.iter().copied().fold(f64::INFINITY, f64::min);
        let grid_hi = cfg.grid.iter().copied().fold(0.0, f64::max);
        let mut rep = Self {
            regime: r.clone(),
            setup: format!(
                "model {:?}, optimizer {:?} (momentum {}; 1cycle cycles 0.95→0.85), weight decay {}, batch {}, 1cycle preset {}",
                t.model,
                t.optimizer,
                t.optimizer.default_momentum(),
                t.weight_decay,
                t.batch_size,
                onecycle_core::Preset::from(t.schedule.preset).name()
            ),
            device: device_name(cfg.device).to_string(),
            grid: cfg.grid.clone(),
            wall_seconds,
            trained: m.trained,
            reused: m.reused,
            targets: Vec::new(),
            tuning: m
                .tuning
                .iter()
                .map(|&(family, lr, val_acc)| Trial {
                    family,
                    lr,
                    budget: if family.budget_aware() {
                        r.tune_budget
                    } else {
                        r.longest()
                    },
                    val_acc,
                })
                .collect(),
            winners: m
                .winners
                .iter()
                .map(|&(family, lr)| Winner {
                    family,
                    lr,
                    on_grid_edge: lr == grid_lo || lr == grid_hi,
                })
                .collect(),
            ranges: m.ranges,
            sensitivity: m
                .sensitivity
                .iter()
                .map(|&(multiple, lr, val_acc)| SensitivityRow {
                    multiple,
                    lr,
                    val_acc,
                })
                .collect(),
            scores: Vec::new(),
            speedups: Vec::new(),
            runs: m.runs,
        };
        let seeds = rep.seeds();
        let longest = r.longest();
        let median_final = |rep: &Self, f: Family| {
            let v: Vec<f64> = seeds.iter().map(|&s| rep.val_at(f, s, longest)).collect();
            Spread::of(&v).median
        };
        // 5. Targets, by the rules fixed in the module docs.
        let a = median_final(&rep, Family::Constant);
        let (b_family, b) = Family::BASELINES
            .iter()
            .map(|&f| (f, median_final(&rep, f)))
            .fold((Family::Step, f64::NEG_INFINITY), |best, x| {
                if x.1 > best.1 {
                    x
                } else {
                    best
                }
            });
        let e = show_epochs(longest);
        rep.targets = vec![
            Target {
                name: "a".into(),
                rule: format!("median final validation accuracy of the tuned constant lr at {e} epochs"),
                acc: a,
            },
            Target {
                name: "b".into(),
                rule: format!(
                    "best median final validation accuracy of a budget-aware baseline at {e} epochs ({})",
                    b_family.name()
                ),
                acc: b,
            },
            Target {
                name: "c".into(),
                rule: format!("target (a) minus {:.2} points", 100.0 * cfg.looser_by),
                acc: a - cfg.looser_by,
            },
        ];
        // 6. Scores.
        let targets = rep.targets.clone();
        for family in Family::ALL {
            let lr = if family == Family::OnecycleFinder {
                Spread::of(&rep.ranges.iter().map(|x| x.valley).collect::<Vec<_>>()).median
            } else {
                rep.winners
                    .iter()
                    .find(|w| w.family == family)
                    .map_or(f64::NAN, |w| w.lr)
            };
            let epochs_to_target = targets
                .iter()
                .map(|tg| {
                    let per_seed: Vec<f64> = seeds
                        .iter()
                        .map(|&s| rep.epochs_to(family, s, tg.acc))
                        .collect();
                    TargetScore {
                        target: tg.name.clone(),
                        spread: Spread::of(&per_seed),
                        per_seed,
                    }
                })
                .collect();
            let per_budget = r
                .budgets
                .iter()
                .map(|&budget| {
                    let val: Vec<f64> = seeds
                        .iter()
                        .map(|&s| rep.val_at(family, s, budget))
                        .collect();
                    let test: Vec<f64> = seeds
                        .iter()
                        .filter_map(|&s| {
                            rep.runs_of(family, s)
                                .find(|x| x.budget == budget)
                                .map(|x| x.record.final_test_acc)
                        })
                        .collect();
                    BudgetScore {
                        budget,
                        val: Spread::of(&val),
                        test: (!test.is_empty()).then(|| Spread::of(&test)),
                    }
                })
                .collect();
            rep.scores.push(FamilyScore {
                family,
                lr,
                epochs_to_target,
                per_budget,
            });
        }
        // Speed-ups against the tuned constant lr and the fastest budget-aware baseline.
        let mut speedups = Vec::new();
        for tg in &targets {
            let median_of = |f: Family| {
                Spread::of(
                    &seeds
                        .iter()
                        .map(|&s| rep.epochs_to(f, s, tg.acc))
                        .collect::<Vec<_>>(),
                )
                .median
            };
            let fastest = Family::BASELINES
                .iter()
                .copied()
                .min_by(|x, y| median_of(*x).total_cmp(&median_of(*y)))
                .unwrap_or(Family::Step);
            for oc in Family::ONECYCLES {
                for (against, role) in [
                    (Family::Constant, "best constant"),
                    (fastest, "fastest budget-aware"),
                ] {
                    let per_seed: Vec<f64> = seeds
                        .iter()
                        .map(|&s| {
                            ratio(
                                rep.epochs_to(against, s, tg.acc),
                                rep.epochs_to(oc, s, tg.acc),
                            )
                        })
                        .collect();
                    let finite: Vec<f64> =
                        per_seed.iter().copied().filter(|x| !x.is_nan()).collect();
                    speedups.push(Speedup {
                        onecycle: oc,
                        against,
                        role: role.into(),
                        target: tg.name.clone(),
                        ratio_of_medians: ratio(median_of(against), median_of(oc)),
                        spread: Spread::of(&finite),
                        per_seed,
                    });
                }
            }
        }
        rep.speedups = speedups;
        rep
    }

    /// The report as Markdown: what was run, the targets, epochs to target, speed-ups,
    /// accuracies per budget, the tuning trials and the finder.
    pub fn markdown(&self) -> String {
        let r = &self.regime;
        let pct = |x: f64| format!("{:.2}", 100.0 * x);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "## Study `{}`: {}, {} training images, {} validation images held out, ladder {} epochs, {} seed(s)\n",
            r.name,
            r.dataset,
            r.train_limit.map_or("all".to_string(), |n| n.to_string()),
            r.val_size,
            r.budgets.iter().map(|b| show_epochs(*b)).collect::<Vec<_>>().join(", "),
            r.seeds
        );
        let _ = writeln!(
            s,
            "{}; device {}; lr grid {:?}, tuned on seed 0 at {} epochs (constant: {} epochs). Wall time {:.0} s ({} runs trained, {} kept from the store).\n",
            self.setup,
            self.device,
            self.grid,
            show_epochs(r.tune_budget),
            show_epochs(r.longest()),
            self.wall_seconds,
            self.trained,
            self.reused
        );
        let _ = writeln!(s, "Targets (validation accuracy):\n");
        for t in &self.targets {
            let _ = writeln!(s, "- ({}) {}%: {}", t.name, pct(t.acc), t.rule);
        }
        let _ = writeln!(
            s,
            "\nEpochs to target, median [min–max] over seeds (∞ = missed within the ladder):\n"
        );
        let _ = writeln!(s, "| family | lr | to (a) | to (b) | to (c) |");
        let _ = writeln!(s, "|---|---|---|---|---|");
        for f in &self.scores {
            let edge = self
                .winners
                .iter()
                .any(|w| w.family == f.family && w.on_grid_edge);
            let cells: Vec<String> = f
                .epochs_to_target
                .iter()
                .map(|t| t.spread.show(show_epochs))
                .collect();
            let _ = writeln!(
                s,
                "| {} | {:.3}{} | {} |",
                f.family.name(),
                f.lr,
                if edge { " (grid edge)" } else { "" },
                cells.join(" | ")
            );
        }
        let _ = writeln!(
            s,
            "\nSpeed-ups (baseline epochs / 1cycle epochs to the target; ratio of medians, then per seed median [min–max]):\n"
        );
        for sp in &self.speedups {
            let _ = writeln!(
                s,
                "- {} vs {} ({}), target ({}): {} (per seed {})",
                sp.onecycle.name(),
                sp.against.name(),
                sp.role,
                sp.target,
                show_ratio(sp.ratio_of_medians),
                if sp.spread.median.is_nan() {
                    "–".to_string()
                } else {
                    sp.spread.show(|x| format!("{x:.2}×"))
                }
            );
        }
        let _ = writeln!(
            s,
            "\nFinal validation accuracy (%) per budget, median [min–max]; test accuracy median in parentheses:\n"
        );
        let _ = writeln!(
            s,
            "| family | {} |",
            r.budgets
                .iter()
                .map(|b| format!("{} ep", show_epochs(*b)))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(s, "|---|{}", "---|".repeat(r.budgets.len()));
        for f in &self.scores {
            let cells: Vec<String> = f
                .per_budget
                .iter()
                .map(|b| {
                    let v = b.val.show(pct);
                    match &b.test {
                        Some(t) => format!("{v} ({})", pct(t.median)),
                        None => v,
                    }
                })
                .collect();
            let _ = writeln!(s, "| {} | {} |", f.family.name(), cells.join(" | "));
        }
        let _ = writeln!(
            s,
            "\nTuning on seed 0 (final validation accuracy %, winner in bold):\n"
        );
        let _ = writeln!(
            s,
            "| family | budget | {} |",
            self.grid
                .iter()
                .map(|g| format!("{g}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(s, "|---|---|{}", "---|".repeat(self.grid.len()));
        for w in &self.winners {
            let trials: Vec<&Trial> = self
                .tuning
                .iter()
                .filter(|t| t.family == w.family)
                .collect();
            let cells: Vec<String> = trials
                .iter()
                .map(|t| {
                    if t.lr == w.lr {
                        format!("**{}**", pct(t.val_acc))
                    } else {
                        pct(t.val_acc)
                    }
                })
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                w.family.name(),
                trials.first().map_or("".into(), |t| show_epochs(t.budget)),
                cells.join(" | ")
            );
        }
        let _ = writeln!(
            s,
            "\nRange test (valley rule) per seed: {}. Sensitivity of 1cycle at {} epochs to seed 0's valley: {}.",
            self.ranges
                .iter()
                .map(|x| format!("seed {}: {:.3e}", x.seed, x.valley))
                .collect::<Vec<_>>()
                .join(", "),
            show_epochs(r.tune_budget),
            std::iter::once((
                1.0,
                self.ranges.first().map_or(f64::NAN, |x| x.valley),
                self.val_at(Family::OnecycleFinder, 0, r.tune_budget)
            ))
            .chain(self.sensitivity.iter().map(|x| (x.multiple, x.lr, x.val_acc)))
            .map(|(m, lr, acc)| format!("×{m} ({lr:.3e}): {}%", pct(acc)))
            .collect::<Vec<_>>()
            .join(", ")
        );
        debug_assert_eq!(self.sensitivity.len(), SENSITIVITY.len());
        s
    }

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
                    .map(|b| (b.budget, b.val.median))
                    .collect(),
                spread: f
                    .per_budget
                    .iter()
                    .map(|b| (b.budget, b.val.min, b.val.max))
                    .collect(),
            })
            .collect();
        for t in self.targets.iter().filter(|t| t.name != "b") {
            series.push(Series {
                name: format!("target ({}) {:.2}%", t.name, 100.0 * t.acc),
                points: vec![(r.budgets[0], t.acc), (r.longest(), t.acc)],
                ..Series::default()
            });
        }
        Chart {
            title: format!("{}: final validation accuracy against budget", r.name),
            x_label: "budget (epochs, log scale)".into(),
            y_label: "validation accuracy".into(),
            log_x: true,
            series,
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
                    .filter_map(|&f| {
                        let run = if f.budget_aware() {
                            self.runs_of(f, 0).find(|x| x.budget == budget)
                        } else {
                            self.runs_of(f, 0).next()
                        }?;
                        Some(Series {
                            name: f.name().into(),
                            points: run
                                .record
                                .curve
                                .iter()
                                .copied()
                                .filter(|(e, _)| *e <= budget + 1e-9)
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
                    ..Chart::default()
                }
            })
            .collect()
    }

    /// Seed 0's range test with its suggestions and the chosen max lr.
    pub fn range_chart(&self) -> Option<Chart> {
        let rr = self.ranges.first()?;
        let curve = Curve {
            lrs: rr.lrs.clone(),
            losses: rr.losses.clone(),
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
        let mut c = curve_chart(&curve, Some(&s), Some(("valley", rr.valley)));
        c.title = format!("{}: LR range test (seed 0)", self.regime.name);
        Some(c)
    }

    /// Writes `study.md`, `study.json`, `accuracy-vs-budget.svg`, `val-curves.svg` and
    /// `find-lr.svg` into `dir`, each atomically.
    ///
    /// # Errors
    /// An unwritable directory, or nothing to plot.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join("study.md"), self.markdown().as_bytes())?;
        write_atomic(
            &dir.join("study.json"),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )?;
        self.budget_chart()
            .save_svg(&dir.join("accuracy-vs-budget.svg"))?;
        save_stacked_svg(&self.curve_charts(), &dir.join("val-curves.svg"))?;
        if let Some(c) = self.range_chart() {
            c.save_svg(&dir.join("find-lr.svg"))?;
        }
        Ok(())
    }

    /// Training seconds until the first evaluation of `family` (seed 0) at or above
    /// `target`: for a budget-aware family, the whole run at the first budget that hits.
    pub fn seconds_to_target(&self, family: Family, target: f64) -> Option<f64> {
        if family.budget_aware() {
            self.runs_of(family, 0)
                .filter(|x| x.record.final_val_acc >= target)
                .min_by(|x, y| x.budget.total_cmp(&y.budget))
                .map(|x| x.record.train_seconds)
        } else {
            let run = self.runs_of(family, 0).next()?;
            let e = epochs_to_target_curve(&run.record.curve, target);
            e.is_finite()
                .then(|| run.record.train_seconds * e / run.budget)
        }
    }
}
