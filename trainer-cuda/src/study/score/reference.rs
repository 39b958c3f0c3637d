//! Reference mode's scoring (see [`mod@crate::study::reference`]): target R and the
//! looser target, the reference's first hits along its curves, and the budget, strict
//! and budget-aware ratios of 1cycle against it, per seed and as a ratio of medians.

use crate::study::reference::{
    RatioStats, Ratios, ReferenceComparison, ReferenceMeasured, ReferenceScore,
};
use crate::study::score::{epochs_to_target_curve, lower_median, median, Spread};
use crate::study::{Family, StudyRun};

impl ReferenceMeasured {
    /// Target R: the lower median over seeds of the final validation accuracy (so that
    /// the reference reaches its own target on at least half of the seeds).
    pub fn target(&self) -> f64 {
        let finals: Vec<f64> = self.runs.iter().map(|r| r.record.final_val_acc).collect();
        lower_median(&finals)
    }
}

/// `num / den` with a miss as infinity: 0 when only `den` is infinite (1cycle missed),
/// ∞ when only `num` is, NaN when both are or either is NaN.
///
/// ```
/// use trainer_cuda::study::score::reference::speedup;
/// assert_eq!(speedup(16.0, 2.0), 8.0);
/// assert_eq!(speedup(16.0, f64::INFINITY), 0.0);
/// assert_eq!(speedup(f64::INFINITY, 2.0), f64::INFINITY);
/// assert!(speedup(f64::INFINITY, f64::INFINITY).is_nan());
/// ```
pub fn speedup(num: f64, den: f64) -> f64 {
    if num.is_nan() || den.is_nan() || den <= 0.0 || (num.is_infinite() && den.is_infinite()) {
        f64::NAN
    } else {
        num / den
    }
}

impl RatioStats {
    /// The ratio of `num` over `den`, per seed (paired by index) and of their medians.
    ///
    /// ```
    /// use trainer_cuda::study::reference::RatioStats;
    /// let inf = f64::INFINITY;
    /// // 1cycle needs 2, 4 and ∞ epochs; the reference's budget is 16 on every seed.
    /// let r = RatioStats::of(&[16.0; 3], &[2.0, 4.0, inf]);
    /// assert_eq!(r.median, 4.0); // 16 / median(2, 4, ∞) = 16 / 4
    /// assert_eq!(r.per_seed, vec![8.0, 4.0, 0.0]);
    /// assert_eq!((r.min, r.max), (0.0, 8.0));
    /// ```
    pub fn of(num: &[f64], den: &[f64]) -> Self {
        let per_seed: Vec<f64> = num.iter().zip(den).map(|(n, d)| speedup(*n, *d)).collect();
        let finite: Vec<f64> = per_seed.iter().copied().filter(|x| !x.is_nan()).collect();
        let s = Spread::of(&finite);
        Self {
            median: speedup(median(num), median(den)),
            min: s.min,
            max: s.max,
            per_seed,
        }
    }
}

/// The seeds' first evaluations at or above `target` along `runs`' validation curves.
pub fn first_hits(runs: &[StudyRun], target: f64) -> Vec<f64> {
    runs.iter()
        .map(|r| epochs_to_target_curve(&r.record.curve, target))
        .collect()
}

/// Training seconds of `run` to `epochs` (prorated; ∞ for a miss).
fn seconds_to(run: &StudyRun, epochs: f64) -> f64 {
    if epochs.is_finite() && run.budget > 0.0 {
        run.record.train_seconds * epochs / run.budget
    } else {
        f64::INFINITY
    }
}

/// Per seed, 1cycle's (or linear's) epochs to a target and the run that reached it.
pub trait LadderScores {
    /// Epochs to `target` of `family` on `seed` (∞ for a miss).
    fn epochs_to(&self, family: Family, seed: u64, target: f64) -> f64;
    /// Training seconds of the first rung of `family` on `seed` reaching `target`.
    fn seconds_to(&self, family: Family, seed: u64, target: f64) -> f64;
    /// Whether `family` ran.
    fn ran(&self, family: Family) -> bool;
}

/// Scores `m` and compares 1cycle (and linear decay) with it, on `seeds`.
pub fn compare(
    m: &ReferenceMeasured,
    looser_by: f64,
    seeds: &[u64],
    ladder: &impl LadderScores,
    on_grid_edge: bool,
) -> ReferenceComparison {
    let target = m.target();
    let looser_target = target - looser_by;
    let ratios_at = |t: f64| {
        let reference_epochs = first_hits(&m.runs, t);
        let onecycle_epochs: Vec<f64> = seeds
            .iter()
            .map(|&s| ladder.epochs_to(Family::Onecycle, s, t))
            .collect();
        let linear_epochs: Vec<f64> = if ladder.ran(Family::Linear) {
            seeds
                .iter()
                .map(|&s| ladder.epochs_to(Family::Linear, s, t))
                .collect()
        } else {
            Vec::new()
        };
        let budget = vec![m.reference.budget; seeds.len()];
        let aware_num = if linear_epochs.is_empty() {
            vec![f64::NAN; seeds.len()]
        } else {
            linear_epochs.clone()
        };
        Ratios {
            target: t,
            budget: RatioStats::of(&budget, &onecycle_epochs),
            strict: RatioStats::of(&reference_epochs, &onecycle_epochs),
            budget_aware: RatioStats::of(&aware_num, &onecycle_epochs),
            onecycle_seconds: seeds
                .iter()
                .map(|&s| ladder.seconds_to(Family::Onecycle, s, t))
                .collect(),
            reference_seconds: m
                .runs
                .iter()
                .zip(&reference_epochs)
                .map(|(r, e)| seconds_to(r, *e))
                .collect(),
            onecycle_epochs,
            reference_epochs,
            linear_epochs,
        }
    };
    ReferenceComparison {
        reference: ReferenceScore {
            family: m.reference.family,
            budget_epochs: m.reference.budget,
            lr: m.lr,
            on_grid_edge,
            tuning: m.tuning.clone(),
            target,
            looser_target,
            final_val_acc: m.runs.iter().map(|r| r.record.final_val_acc).collect(),
            final_test_acc: m.runs.iter().map(|r| r.record.final_test_acc).collect(),
            first_hit: first_hits(&m.runs, target),
            first_hit_looser: first_hits(&m.runs, looser_target),
        },
        ratios: ratios_at(target),
        ratios_looser: ratios_at(looser_target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::reference::Reference;
    use crate::study::test_support::{config, run};
    use crate::study::{Measurements, StudyReport};

    const INF: f64 = f64::INFINITY;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12 || a == b
    }

    /// Four seeds (an even count), reference step@16, ladders 1, 2, 4; every number below
    /// is worked by hand from the records.
    #[test]
    fn three_ratios_from_hand_made_records() {
        let step16 = Reference {
            family: Family::Step,
            budget: 16.0,
        };
        let cfg = config(
            vec![1.0, 2.0, 4.0],
            4,
            0.002,
            vec![Family::Onecycle, Family::Linear],
            vec![step16],
        );
        // The reference's curves, evaluated at 4, 8, 12 and 16 epochs.
        let curves = [
            [0.985, 0.988, 0.991, 0.990],
            [0.986, 0.990, 0.991, 0.992],
            [0.980, 0.987, 0.989, 0.991],
            [0.980, 0.985, 0.988, 0.989],
        ];
        let ref_runs: Vec<StudyRun> = curves
            .iter()
            .enumerate()
            .map(|(seed, c)| {
                let curve = c
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (4.0 * (i + 1) as f64, *a))
                    .collect();
                run(Family::Step, 16.0, seed as u64, c[3], curve)
            })
            .collect();
        let mut m = Measurements {
            references: vec![ReferenceMeasured {
                reference: step16,
                lr: 0.1,
                tuning: vec![(0.1, 0.99), (0.3, 0.98)],
                runs: ref_runs,
            }],
            ..Measurements::default()
        };
        // Ladders as the early stop leaves them: finals at 1, 2, 4 epochs per seed.
        let onecycle: [&[f64]; 4] = [
            &[0.985, 0.990],
            &[0.989, 0.991],
            &[0.980, 0.987, 0.995],
            &[0.980, 0.985, 0.987],
        ];
        let linear: [&[f64]; 4] = [
            &[0.97, 0.98, 0.991],
            &[0.97, 0.98, 0.989],
            &[0.98, 0.990],
            &[0.98, 0.985, 0.988],
        ];
        for (family, ladders) in [(Family::Onecycle, onecycle), (Family::Linear, linear)] {
            for (seed, accs) in ladders.iter().enumerate() {
                for (b, acc) in [1.0, 2.0, 4.0].iter().zip(accs.iter()) {
                    m.runs
                        .push(run(family, *b, seed as u64, *acc, vec![(*b, *acc)]));
                }
            }
        }
        let rep = StudyReport::score(&cfg, m, 1.0);
        let reference = rep.reference.as_ref().unwrap();
        // R: finals 0.990, 0.992, 0.991, 0.989 sorted, the lower middle of four is 0.990.
        assert_eq!(reference.target, 0.990);
        assert!(close(reference.looser_target, 0.988));
        assert_eq!(reference.first_hit, vec![12.0, 8.0, 16.0, INF]);
        assert_eq!(reference.first_hit_looser, vec![8.0, 8.0, 12.0, 12.0]);

        let at = rep.ratios.as_ref().unwrap();
        assert_eq!(at.onecycle_epochs, vec![2.0, 2.0, 4.0, INF]);
        assert_eq!(at.linear_epochs, vec![4.0, INF, 2.0, INF]);
        // Budget: 16 / median(2, 2, 4, ∞) = 16 / 3; per seed 8, 8, 4 and 0 (1cycle misses).
        assert!(close(at.budget.median, 16.0 / 3.0));
        assert_eq!(at.budget.per_seed, vec![8.0, 8.0, 4.0, 0.0]);
        assert_eq!((at.budget.min, at.budget.max), (0.0, 8.0));
        // Strict: median(12, 8, 16, ∞) = 14 over 3; seed 3 misses on both sides: no ratio.
        assert!(close(at.strict.median, 14.0 / 3.0));
        assert_eq!(&at.strict.per_seed[..3], &[6.0, 4.0, 4.0]);
        assert!(at.strict.per_seed[3].is_nan());
        assert_eq!((at.strict.min, at.strict.max), (4.0, 6.0));
        // Budget-aware: linear's median(4, ∞, 2, ∞) is ∞ (two misses of four).
        assert_eq!(at.budget_aware.median, INF);
        assert_eq!(&at.budget_aware.per_seed[..3], &[2.0, INF, 0.5]);
        assert_eq!((at.budget_aware.min, at.budget_aware.max), (0.5, INF));
        // Seconds: the hand-made runs train 10 s per epoch.
        assert_eq!(at.onecycle_seconds, vec![20.0, 20.0, 40.0, INF]);
        assert_eq!(at.reference_seconds, vec![120.0, 80.0, 160.0, INF]);

        // The looser target 0.988: 1cycle at 2, 1, 4, ∞; the reference at 8, 8, 12, 12.
        let lo = rep.ratios_looser.as_ref().unwrap();
        assert_eq!(lo.onecycle_epochs, vec![2.0, 1.0, 4.0, INF]);
        assert_eq!(lo.strict.per_seed, vec![4.0, 8.0, 3.0, 0.0]);

        // Targets in the tables: R and R − 0.20; no ladder-mode speed-ups.
        let names: Vec<&str> = rep.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["R", "R−0.20"]);
        assert!(rep.speedups.is_empty());
        assert_eq!(rep.scores.len(), 2, "only the families that ran are scored");
        // Rungs not run by a ladder are marked, not scored as zero.
        let oc = &rep.scores[0];
        assert_eq!(oc.per_budget[2].seeds_run, 2);
        let md = rep.markdown();
        assert!(md.contains("2 of 4 seeds run"), "{md}");
        assert!(md.contains("(winner in bold): "), "{md}");
        assert!(
            md.contains("| budget | reference budget / 1cycle epochs (Smith) | **5.33×**"),
            "{md}"
        );

        // The study.json schema of reference mode.
        let json = serde_json::to_value(&rep).unwrap();
        let r = &json["reference"];
        assert_eq!(r["family"], "step");
        assert_eq!(r["budget_epochs"], 16.0);
        assert_eq!(r["lr"], 0.1);
        assert_eq!(r["target"], 0.990);
        assert_eq!(r["first_hit"], serde_json::json!([12.0, 8.0, 16.0, null]));
        for ratio in ["budget", "strict", "budget_aware"] {
            for key in ["median", "min", "max", "per_seed"] {
                assert!(
                    json["ratios"][ratio].get(key).is_some(),
                    "ratios.{ratio}.{key} missing"
                );
            }
        }
        assert_eq!(
            json["ratios"]["budget"]["per_seed"],
            serde_json::json!([8.0, 8.0, 4.0, 0.0])
        );
        assert_eq!(json["reference_runs"].as_array().unwrap().len(), 4);
        assert!(json["second_references"].as_array().unwrap().is_empty());

        // The plot: 1cycle's best run at each of its 3 rungs, linear's at 3, the reference
        // on the seed that sets R (seed 0: 0.990), and the two target lines.
        let chart = rep.reference_chart().unwrap();
        assert_eq!(chart.series.len(), 3 + 3 + 1 + 2);
        let named: Vec<&str> = chart
            .series
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| !n.is_empty())
            .collect();
        assert_eq!(named.len(), 5, "{named:?}");
        assert!(named[2].starts_with("step@16 (seed 0"), "{named:?}");
        assert!(chart.series.iter().take(7).all(|s| s.dots));
        assert!(chart.y_floor.is_some() && chart.legend_outside);
    }

    #[test]
    fn ratios_of_medians_with_ties_and_an_odd_count() {
        // Ties: every seed needs 2 epochs; the reference hits at 6 on every seed.
        let r = RatioStats::of(&[6.0, 6.0, 6.0], &[2.0, 2.0, 2.0]);
        assert_eq!((r.median, r.min, r.max), (3.0, 3.0, 3.0));
        // 1cycle misses on most seeds: the ratio of medians is 0, not a speed-up.
        let r = RatioStats::of(&[16.0; 3], &[2.0, INF, INF]);
        assert_eq!(r.median, 0.0);
        assert_eq!(r.per_seed, vec![8.0, 0.0, 0.0]);
    }
}
