//! Scoring a study's measurements into its [`StudyReport`]: the targets (a)–(c) read off
//! the ladders, or each reference's R and looser target; per family the epochs to every
//! target and the accuracies per budget; the speed-ups of the 1cycle variants.

use crate::study::reference::{ReferenceComparison, ReferenceMeasured};
use crate::study::report::{
    BudgetScore, FamilyScore, SensitivityRow, Speedup, StudyReport, Target, TargetScore, Trial,
    Winner,
};
use crate::study::score::reference::{compare, LadderScores};
use crate::study::score::{
    epochs_to_target_budgeted, epochs_to_target_curve, lower_median, ratio, Spread,
};
use crate::study::show::{show_epochs, show_lr};
use crate::study::store::device_name;
use crate::study::{Family, Measurements, StudyConfig};

impl StudyReport {
    /// Scores the measurements of a study.
    pub fn score(cfg: &StudyConfig, mut m: Measurements, wall_seconds: f64) -> Self {
        let measured_refs = std::mem::take(&mut m.references);
        let mut rep = unscored(cfg, m, &measured_refs, wall_seconds);
        let seeds = rep.seeds();
        // 5. Targets, by the rules fixed in the module docs (reference mode: each
        // reference's R and R − looser_by, fixed before its ladders ran).
        if measured_refs.is_empty() {
            rep.targets = ladder_targets(&rep, cfg);
        } else {
            score_references(&mut rep, cfg, &measured_refs, &seeds);
        }
        // 6. Scores.
        rep.scores = cfg
            .families
            .iter()
            .map(|&family| family_score(&rep, cfg, family, &seeds))
            .collect();
        // Speed-ups against the tuned constant lr and the fastest budget-aware baseline,
        // from the epochs to target just scored (reference mode has its ratios instead).
        rep.speedups = if rep.reference.is_none() {
            speedups(&rep)
        } else {
            Vec::new()
        };
        rep
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

/// The report of the measurements before scoring: the setup in words, the tuning trials,
/// the winners (flagged when on the grid's edge), the range tests, the sensitivity row,
/// and every run; no targets, scores or speed-ups yet.
fn unscored(
    cfg: &StudyConfig,
    m: Measurements,
    measured_refs: &[ReferenceMeasured],
    wall_seconds: f64,
) -> StudyReport {
    let r = &cfg.regime;
    let t = &cfg.setup;
    let tried = |f: Family| m.tuning.iter().filter(move |t| t.0 == f).map(|t| t.1);
    let on_edge = |f: Family, lr: f64| {
        let lo = tried(f).fold(f64::INFINITY, f64::min);
        let hi = tried(f).fold(0.0, f64::max);
        lo < hi && (lr == lo || lr == hi)
    };
    StudyReport {
        regime: r.clone(),
        setup: format!(
            "model {:?}, optimizer {:?} (momentum {}; 1cycle cycles 0.95→0.85), weight decay {}, batch {}, 1cycle preset {}",
            t.model,
            t.optimizer,
            t.optimizer.default_momentum(),
            t.weight_decay,
            t.batch_size,
            t.preset.name()
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
    }
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

/// Reference mode: compares 1cycle with every reference, sets each one's R and looser
/// target as the report's targets, and keeps the first reference's ratios apart from
/// the further ones'.
fn score_references(
    rep: &mut StudyReport,
    cfg: &StudyConfig,
    measured_refs: &[ReferenceMeasured],
    seeds: &[u64],
) {
    let mut comparisons: Vec<ReferenceComparison> = measured_refs
        .iter()
        .map(|x| {
            let edge = x.tuning.len() > 1 && {
                let lo = x.tuning.iter().map(|t| t.0).fold(f64::INFINITY, f64::min);
                let hi = x.tuning.iter().map(|t| t.0).fold(0.0, f64::max);
                x.lr == lo || x.lr == hi
            };
            compare(x, cfg.looser_by, seeds, &*rep, edge)
        })
        .collect();
    rep.targets = reference_targets(&comparisons, cfg.looser_by);
    let first = comparisons.remove(0);
    rep.reference = Some(first.reference);
    rep.ratios = Some(first.ratios);
    rep.ratios_looser = Some(first.ratios_looser);
    rep.second_references = comparisons;
}

/// Each reference's target R (`R`, `R2`, ...) and its looser target R − `looser_by`.
fn reference_targets(comparisons: &[ReferenceComparison], looser_by: f64) -> Vec<Target> {
    let mut targets = Vec::with_capacity(2 * comparisons.len());
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
        targets.push(Target {
            name: name.clone(),
            rule: format!(
                "median (the lower middle for an even count) final validation accuracy of the reference {what} (lr {}, tuned on the grid at its own budget)",
                show_lr(c.reference.lr)
            ),
            acc: c.reference.target,
        });
        targets.push(Target {
            name: format!("{name}−{:.2}", 100.0 * looser_by),
            rule: format!("{name} minus {:.2} points", 100.0 * looser_by),
            acc: c.reference.looser_target,
        });
    }
    targets
}

/// One family's lr, epochs to every target and accuracies per budget.
fn family_score(
    rep: &StudyReport,
    cfg: &StudyConfig,
    family: Family,
    seeds: &[u64],
) -> FamilyScore {
    let lr = if family == Family::OnecycleFinder {
        Spread::of(&rep.ranges.iter().map(|x| x.auto()).collect::<Vec<_>>()).median
    } else {
        rep.winners
            .iter()
            .find(|w| w.family == family)
            .map_or(f64::NAN, |w| w.lr)
    };
    let epochs_to_target = rep
        .targets
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
    let per_budget = cfg
        .regime
        .budgets
        .iter()
        .map(|&budget| budget_score(rep, family, budget, seeds))
        .collect();
    FamilyScore {
        family,
        lr,
        epochs_to_target,
        per_budget,
    }
}

/// Final validation (and test) accuracies of `family` at `budget` over the seeds that
/// have one.
fn budget_score(rep: &StudyReport, family: Family, budget: f64, seeds: &[u64]) -> BudgetScore {
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
}

/// Ladder mode: the speed-up of each 1cycle variant over the tuned constant lr and over
/// the fastest budget-aware baseline, per target, from the epochs to target scored.
fn speedups(rep: &StudyReport) -> Vec<Speedup> {
    let mut speedups = Vec::new();
    for (t, tg) in rep.targets.iter().enumerate() {
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
                let finite: Vec<f64> = per_seed.iter().copied().filter(|x| !x.is_nan()).collect();
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
    speedups
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
}
