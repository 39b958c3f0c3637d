//! The scored study: targets, epochs to target, speed-ups; written as `study.md`,
//! `study.json` and three plots.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use onecycle_core::finder::Suggestions;
use serde::Serialize;

use crate::atomic::write_atomic;
use crate::plot::{save_stacked_svg, Chart, Series};
use crate::study::reference::{
    compare, markdown as reference_markdown, LadderScores, Ratios, ReferenceComparison,
    ReferenceScore,
};
use crate::study::score::{
    epochs_to_target_budgeted, epochs_to_target_curve, lower_median, ratio, show_epochs,
    show_ratio, Spread,
};
use crate::study::store::{device_name, RangeRecord};
use crate::study::{Family, Measurements, Regime, StudyConfig, StudyRun};
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
    /// Seeds with a value at this budget (fewer than the regime's where a ladder stopped
    /// climbing once it had reached every target).
    pub seeds_run: usize,
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
    /// Multiple of the range test's `auto` lr.
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
    /// Training seconds recorded by all the study's runs, whichever invocation trained
    /// them (the study's cost; `wall_seconds` is only this invocation's).
    pub recorded_train_seconds: f64,
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
    /// The families whose ladders ran, in table order.
    pub families: Vec<Family>,
    /// Reference mode: the first reference, its target R and its per-seed first hits.
    pub reference: Option<ReferenceScore>,
    /// Reference mode: budget, strict and budget-aware ratios of 1cycle at R.
    pub ratios: Option<Ratios>,
    /// Reference mode: the same ratios at the looser target.
    pub ratios_looser: Option<Ratios>,
    /// Further references (e.g. the constant lr at the same budget), each with its own
    /// target and ratios.
    pub second_references: Vec<ReferenceComparison>,
    /// Every ladder run, with the command that reproduces it.
    pub runs: Vec<StudyRun>,
    /// Every reference run (each reference on each seed), with its command.
    pub reference_runs: Vec<StudyRun>,
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

/// Targets (a), (b) and (c), read off the ladders at the longest budget.
fn ladder_targets(rep: &StudyReport, cfg: &StudyConfig) -> Vec<Target> {
    let seeds = rep.seeds();
    let longest = cfg.regime.longest();
    let median_final = |rep: &StudyReport, f: Family| {
        let v: Vec<f64> = seeds.iter().map(|&s| rep.val_at(f, s, longest)).collect();
        lower_median(&v)
    };
    let a = median_final(rep, Family::Constant);
    let (b_family, b) = Family::BASELINES
        .iter()
        .map(|&f| (f, median_final(rep, f)))
        .fold((Family::Step, f64::NEG_INFINITY), |best, x| {
            if x.1 > best.1 {
                x
            } else {
                best
            }
        });
    let e = show_epochs(longest);
    vec![
        Target {
            name: "a".into(),
            rule: format!(
                "median (the lower middle for an even count) final validation accuracy of the tuned constant lr at {e} epochs"
            ),
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
    ]
}

impl LadderScores for StudyReport {
    fn epochs_to(&self, family: Family, seed: u64, target: f64) -> f64 {
        StudyReport::epochs_to(self, family, seed, target)
    }

    fn seconds_to(&self, family: Family, seed: u64, target: f64) -> f64 {
        self.runs_of(family, seed)
            .filter(|x| x.record.final_val_acc >= target)
            .min_by(|x, y| x.budget.total_cmp(&y.budget))
            .map_or(f64::INFINITY, |x| x.record.train_seconds)
    }

    fn ran(&self, family: Family) -> bool {
        self.families.contains(&family)
    }
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
    pub fn score(cfg: &StudyConfig, mut m: Measurements, wall_seconds: f64) -> Self {
        let measured_refs = std::mem::take(&mut m.references);
        let r = &cfg.regime;
        let t = &cfg.setup;
        let tried = |f: Family| m.tuning.iter().filter(move |t| t.0 == f).map(|t| t.1);
        let on_edge = |f: Family, lr: f64| {
            let lo = tried(f).fold(f64::INFINITY, f64::min);
            let hi = tried(f).fold(0.0, f64::max);
            lo < hi && (lr == lo || lr == hi)
        };
        let mut rep = Self {
            regime: r.clone(),
            setup: format!(
                "model {:?}, optimizer {:?} (momentum {}; 1cycle cycles 0.95→0.85), weight decay {}, batch {}, 1cycle preset {}",
                t.model,
                t.optimizer,
                t.optimizer.default_momentum(),
                t.weight_decay,
                t.batch_size,
                onecycle_core::Preset::from(t.preset).name()
            ),
            device: device_name(cfg.device).to_string(),
            grid: cfg.grid.clone(),
            wall_seconds,
            trained: m.trained,
            reused: m.reused,
            recorded_train_seconds: m.recorded_train_seconds,
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
                    on_grid_edge: on_edge(family, lr),
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
            families: cfg.families.clone(),
            reference: None,
            ratios: None,
            ratios_looser: None,
            second_references: Vec::new(),
            runs: m.runs,
            reference_runs: measured_refs
                .iter()
                .flat_map(|x| x.runs.iter().cloned())
                .collect(),
        };
        let seeds = rep.seeds();
        // 5. Targets, by the rules fixed in the module docs (reference mode: each
        // reference's R and R − looser_by, fixed before its ladders ran).
        if measured_refs.is_empty() {
            rep.targets = ladder_targets(&rep, cfg);
        } else {
            let mut comparisons: Vec<ReferenceComparison> = measured_refs
                .iter()
                .map(|x| {
                    let edge = x.tuning.len() > 1 && {
                        let lo = x.tuning.iter().map(|t| t.0).fold(f64::INFINITY, f64::min);
                        let hi = x.tuning.iter().map(|t| t.0).fold(0.0, f64::max);
                        x.lr == lo || x.lr == hi
                    };
                    compare(x, cfg.looser_by, &seeds, &rep, edge)
                })
                .collect();
            for (i, c) in comparisons.iter().enumerate() {
                let name = if i == 0 {
                    "R".to_string()
                } else {
                    format!("R{}", i + 1)
                };
                let what = format!(
                    "{}@{}",
                    c.reference.family.name(),
                    show_epochs(c.reference.budget_epochs)
                );
                rep.targets.push(Target {
                    name: name.clone(),
                    rule: format!(
                        "median (the lower middle for an even count) final validation accuracy of the reference {what} (lr {}, tuned on the grid at its own budget)",
                        super::reference::show_lr(c.reference.lr)
                    ),
                    acc: c.reference.target,
                });
                rep.targets.push(Target {
                    name: format!("{name}−{:.2}", 100.0 * cfg.looser_by),
                    rule: format!("{name} minus {:.2} points", 100.0 * cfg.looser_by),
                    acc: c.reference.looser_target,
                });
            }
            let first = comparisons.remove(0);
            rep.reference = Some(first.reference);
            rep.ratios = Some(first.ratios);
            rep.ratios_looser = Some(first.ratios_looser);
            rep.second_references = comparisons;
        }
        // 6. Scores.
        let targets = rep.targets.clone();
        for &family in &cfg.families {
            let lr = if family == Family::OnecycleFinder {
                Spread::of(&rep.ranges.iter().map(|x| x.auto()).collect::<Vec<_>>()).median
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
                        .filter(|v| !v.is_nan())
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
                        seeds_run: val.len(),
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
        // Speed-ups against the tuned constant lr and the fastest budget-aware baseline,
        // from the epochs to target just scored (reference mode has its ratios instead).
        let mut speedups = Vec::new();
        let ladder_mode = rep.reference.is_none();
        for (t, tg) in targets.iter().enumerate().filter(|_| ladder_mode) {
            let score = |f: Family| {
                rep.scores
                    .iter()
                    .find(|x| x.family == f)
                    .map(|x| &x.epochs_to_target[t])
            };
            let median_of = |f: Family| score(f).map_or(f64::NAN, |x| x.spread.median);
            let per_seed_of = |f: Family| score(f).map_or(&[][..], |x| x.per_seed.as_slice());
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
                    let per_seed: Vec<f64> = per_seed_of(against)
                        .iter()
                        .zip(per_seed_of(oc))
                        .map(|(b, o)| ratio(*b, *o))
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
            "{}; device {}; lr grid {:?}, tuned on seed 0 at {} epochs (constant: {} epochs). Training time recorded by its {} runs: {:.0} s. This invocation: {:.0} s wall time, {} runs trained, {} kept from the store.\n",
            self.setup,
            self.device,
            self.grid,
            show_epochs(r.tune_budget),
            show_epochs(r.longest()),
            self.trained + self.reused,
            self.recorded_train_seconds,
            self.wall_seconds,
            self.trained,
            self.reused
        );
        let _ = writeln!(s, "Targets (validation accuracy):\n");
        for t in &self.targets {
            let _ = writeln!(s, "- ({}) {}%: {}", t.name, pct(t.acc), t.rule);
        }
        if let (Some(reference), Some(at), Some(looser)) =
            (&self.reference, &self.ratios, &self.ratios_looser)
        {
            let _ = writeln!(s);
            s.push_str(&reference_markdown(reference, at, looser));
        }
        for c in &self.second_references {
            s.push_str(&reference_markdown(
                &c.reference,
                &c.ratios,
                &c.ratios_looser,
            ));
        }
        let _ = writeln!(
            s,
            "\nEpochs to target, median [min–max] over seeds (∞ = missed within the ladder):\n"
        );
        let _ = writeln!(
            s,
            "| family | lr | {} |",
            self.targets
                .iter()
                .map(|t| format!("to ({})", t.name))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(s, "|---|---|{}", "---|".repeat(self.targets.len()));
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
        if !self.speedups.is_empty() {
            let _ = writeln!(
                s,
                "\nSpeed-ups: baseline epochs / 1cycle epochs to the target, as the ratio of the medians, then the per-seed ratios as median [min–max]:\n"
            );
            let _ = writeln!(s, "| 1cycle | against | to (a) | to (b) | to (c) |");
            let _ = writeln!(s, "|---|---|---|---|---|");
        }
        for oc in Family::ONECYCLES
            .iter()
            .copied()
            .filter(|_| !self.speedups.is_empty())
        {
            for role in ["best constant", "fastest budget-aware"] {
                let row: Vec<&Speedup> = self
                    .speedups
                    .iter()
                    .filter(|x| x.onecycle == oc && x.role == role)
                    .collect();
                let cells: Vec<String> = row
                    .iter()
                    .map(|x| {
                        let per_seed = if x.spread.median.is_nan() {
                            "–".to_string()
                        } else {
                            x.spread.show(|v| format!("{v:.2}×"))
                        };
                        format!(
                            "{} ({}; per seed {per_seed})",
                            show_ratio(x.ratio_of_medians),
                            x.against.name()
                        )
                    })
                    .collect();
                let _ = writeln!(s, "| {} | {role} | {} |", oc.name(), cells.join(" | "));
            }
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
                    let n = self.regime.seeds as usize;
                    if b.seeds_run == 0 {
                        return "not run".to_string();
                    }
                    let mut v = b.val.show(pct);
                    if let Some(t) = &b.test {
                        v = format!("{v} ({})", pct(t.median));
                    }
                    if b.seeds_run < n {
                        v = format!("{v}, {} of {n} seeds run", b.seeds_run);
                    }
                    v
                })
                .collect();
            let _ = writeln!(s, "| {} | {} |", f.family.name(), cells.join(" | "));
        }
        let _ = writeln!(
            s,
            "\nTuning on seed 0 (final validation accuracy %, winner in bold; points beyond the grid were added by the edge rule):\n"
        );
        let mut lrs: Vec<f64> = self.tuning.iter().map(|t| t.lr).collect();
        lrs.sort_by(f64::total_cmp);
        lrs.dedup();
        let _ = writeln!(
            s,
            "| family | budget | {} |",
            lrs.iter()
                .map(|g| format!("{g:.4}"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let _ = writeln!(s, "|---|---|{}", "---|".repeat(lrs.len()));
        for w in &self.winners {
            let trials: Vec<&Trial> = self
                .tuning
                .iter()
                .filter(|t| t.family == w.family)
                .collect();
            let cells: Vec<String> = lrs
                .iter()
                .map(|&lr| match trials.iter().find(|t| t.lr == lr) {
                    Some(t) if t.lr == w.lr => format!("**{}**", pct(t.val_acc)),
                    Some(t) => pct(t.val_acc),
                    None => String::new(),
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
        if self.ranges.is_empty() {
            return s;
        }
        let _ = writeln!(
            s,
            "\nRange test per seed, `auto` ({}; fastai's valley, of the first sweep, in parentheses): {}. Sensitivity of 1cycle at {} epochs to seed 0's `auto`: {}.",
            self.ranges.first().map_or(String::new(), RangeRecord::rule),
            self.ranges
                .iter()
                .map(|x| {
                    let spread = x
                        .spread()
                        .map_or(String::new(), |v| format!(", sweeps within {v:.2}x"));
                    format!("seed {}: {:.3e} ({:.3e}{spread})", x.seed, x.auto(), x.valley)
                })
                .collect::<Vec<_>>()
                .join(", "),
            show_epochs(r.tune_budget),
            std::iter::once((
                1.0,
                self.ranges.first().map_or(f64::NAN, |x| x.auto()),
                self.val_at(Family::OnecycleFinder, 0, r.tune_budget)
            ))
            .chain(self.sensitivity.iter().map(|x| (x.multiple, x.lr, x.val_acc)))
            .map(|(m, lr, acc)| format!("×{m} ({lr:.3e}): {}%", pct(acc)))
            .collect::<Vec<_>>()
            .join(", ")
        );
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
                    .filter_map(|&f| {
                        let run = if f.budget_aware() {
                            self.runs_of(f, 0).find(|x| x.budget == budget)
                        } else {
                            self.runs_of(f, 0).next()
                        }?;
                        Some(Series {
                            name: f.name().into(),
                            dots: true,
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
                reference.lr
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

    /// The files [`StudyReport::write`] writes: `study.md`, `study.json`,
    /// `accuracy-vs-budget.svg`, `val-curves.svg`, and `find-lr.svg` when a range test
    /// ran, `reference-curves.svg` in reference mode.
    pub fn outputs(&self) -> Vec<&'static str> {
        let mut files = vec![
            "study.md",
            "study.json",
            "accuracy-vs-budget.svg",
            "val-curves.svg",
        ];
        if self.range_chart().is_some() {
            files.push("find-lr.svg");
        }
        if self.reference_chart().is_some() {
            files.push("reference-curves.svg");
        }
        files
    }

    /// Writes [`StudyReport::outputs`] into `dir`, each atomically.
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
        let curves: Vec<Chart> = self
            .curve_charts()
            .into_iter()
            .filter(|c| c.series.iter().any(|x| !x.points.is_empty()))
            .collect();
        save_stacked_svg(&curves, &dir.join("val-curves.svg"))?;
        if let Some(c) = self.range_chart() {
            c.save_svg(&dir.join("find-lr.svg"))?;
        }
        if let Some(c) = self.reference_chart() {
            c.save_svg(&dir.join("reference-curves.svg"))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::test_support::{config, run};

    /// Two seeds, ladder 1, 2, 4 epochs; hand-worked targets, hits and speed-ups.
    #[test]
    fn targets_hits_and_speedups_follow_the_rules() {
        let budgets = vec![1.0, 2.0, 4.0];
        let cfg = config(budgets.clone(), 2, 0.015, Family::ALL.to_vec(), Vec::new());
        let mut m = Measurements::default();
        // Final accuracies at 1, 2, 4 epochs, per seed.
        let ladders: [(Family, [[f64; 3]; 2]); 6] = [
            (
                Family::Onecycle,
                [[0.96, 0.975, 0.98], [0.95, 0.971, 0.981]],
            ),
            (Family::Onecycle3, [[0.90, 0.92, 0.93], [0.90, 0.92, 0.93]]),
            (
                Family::OnecycleFinder,
                [[0.90, 0.95, 0.97], [0.90, 0.95, 0.96]],
            ),
            (Family::Step, [[0.94, 0.96, 0.972], [0.94, 0.96, 0.970]]),
            (
                Family::Cosine,
                [[0.956, 0.966, 0.971], [0.956, 0.962, 0.973]],
            ),
            (Family::Linear, [[0.93, 0.95, 0.96], [0.93, 0.95, 0.96]]),
        ];
        for (family, seeds) in ladders {
            for (seed, accs) in seeds.iter().enumerate() {
                for (b, acc) in budgets.iter().zip(accs) {
                    m.runs
                        .push(run(family, *b, seed as u64, *acc, vec![(*b, *acc)]));
                }
            }
        }
        // The constant lr: curves read every epoch up to 4.
        let curves = [
            vec![(1.0, 0.93), (2.0, 0.95), (3.0, 0.962), (4.0, 0.97)],
            vec![(1.0, 0.93), (2.0, 0.952), (3.0, 0.96), (4.0, 0.96)],
        ];
        for (seed, c) in curves.into_iter().enumerate() {
            let last = c.last().unwrap().1;
            m.runs
                .push(run(Family::Constant, 4.0, seed as u64, last, c));
        }
        m.winners = vec![(Family::Onecycle, 0.3), (Family::Step, 0.1)];
        let rep = StudyReport::score(&cfg, m, 1.0);

        // (a) the lower median of 0.97 and 0.96 (so that the median seed of the reference
        // reaches it); (b) the best baseline's lower median at 4 epochs: cosine (0.971) over
        // step (0.970) and linear (0.96); (c) = (a) - 0.015.
        let t: Vec<f64> = rep.targets.iter().map(|t| t.acc).collect();
        assert_eq!(t[0], 0.96, "{t:?}");
        assert_eq!(t[1], 0.971, "{t:?}");
        assert!((t[2] - 0.945).abs() < 1e-12, "{t:?}");
        assert!(rep.targets[1].rule.contains("cosine"));
        let epochs = |f: Family, target: usize| {
            rep.scores
                .iter()
                .find(|s| s.family == f)
                .unwrap()
                .epochs_to_target[target]
                .per_seed
                .clone()
        };
        // To (a) = 0.96: 1cycle hits at 1 and 2 epochs; the constant lr reaches its own
        // target on both seeds, at 3 epochs.
        assert_eq!(epochs(Family::Onecycle, 0), vec![1.0, 2.0]);
        assert_eq!(epochs(Family::Constant, 0), vec![3.0, 3.0]);
        assert_eq!(epochs(Family::Onecycle3, 0), vec![f64::INFINITY; 2]);
        // To (c) = 0.945: the constant lr's first evaluation at or above it.
        assert_eq!(epochs(Family::Constant, 2), vec![2.0, 2.0]);
        assert_eq!(epochs(Family::Onecycle, 2), vec![1.0, 1.0]);
        // To (b) = 0.971: the constant lr never gets there (a miss is infinity).
        assert_eq!(epochs(Family::Constant, 1), vec![f64::INFINITY; 2]);
        let sp = |oc: Family, role: &str, target: &str| {
            rep.speedups
                .iter()
                .find(|s| s.onecycle == oc && s.role == role && s.target == target)
                .unwrap()
                .clone()
        };
        // To (a): constant 3 vs 1cycle median(1, 2) = 1.5: 2×; per seed 3× and 1.5×.
        let a = sp(Family::Onecycle, "best constant", "a");
        assert!((a.ratio_of_medians - 2.0).abs() < 1e-12);
        assert_eq!(a.per_seed, vec![3.0, 1.5]);
        assert_eq!((a.spread.min, a.spread.max), (1.5, 3.0));
        // To (b): only the baseline misses, so the speed-up is unbounded.
        assert!(sp(Family::Onecycle, "best constant", "b")
            .ratio_of_medians
            .is_infinite());
        // Fastest budget-aware baseline to (c) = 0.945: step at 2, linear at 2, cosine at
        // 1 on both seeds.
        let fc = sp(Family::Onecycle, "fastest budget-aware", "c");
        assert_eq!(fc.against, Family::Cosine);
        assert_eq!(fc.ratio_of_medians, 1.0);
        // 1cycle-3phase misses (a): no speed-up to claim.
        assert!(sp(Family::Onecycle3, "best constant", "a")
            .ratio_of_medians
            .is_nan());
        // Accuracy per budget: the constant lr read off its curve, test only at 4 epochs.
        let cst = rep
            .scores
            .iter()
            .find(|s| s.family == Family::Constant)
            .unwrap();
        assert!((cst.per_budget[1].val.median - 0.951).abs() < 1e-12);
        assert!(cst.per_budget[1].test.is_none());
        assert!(cst.per_budget[2].test.is_some());
        // The Markdown names every family and target.
        let md = rep.markdown();
        for f in Family::ALL {
            assert!(md.contains(&format!("| {} |", f.name())), "{}", f.name());
        }
        assert!(md.contains("(a) 96.00%"), "{md}");
    }

    #[test]
    fn family_json_names_are_the_table_names() {
        for f in Family::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), f.name());
        }
    }
}
