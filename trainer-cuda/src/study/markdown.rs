//! The study as Markdown (`study.md`): what was run, the targets, each reference's
//! section with its three ratios, epochs to target, speed-ups, accuracies per budget,
//! the tuning trials and the finder's range tests. Reads the report's types only.

use std::fmt::Write as _;

use crate::study::reference::{RatioStats, Ratios, ReferenceScore};
use crate::study::report::{Speedup, StudyReport, Trial};
use crate::study::score::Spread;
use crate::study::show::{show_epochs, show_lr, show_ratio, show_value};
use crate::study::store::RangeRecord;
use crate::study::Family;

impl StudyReport {
    /// The report as Markdown: what was run, the targets, epochs to target, speed-ups,
    /// accuracies per budget, the tuning trials and the finder.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        write_header(&mut s, self);
        write_targets(&mut s, self);
        write_references(&mut s, self);
        write_epochs_to_target(&mut s, self);
        write_speedups(&mut s, self);
        write_per_budget(&mut s, self);
        write_tuning(&mut s, self);
        write_range_tests(&mut s, self);
        s
    }
}

impl Spread {
    /// `median [min–max]` with `fmt` for each value, `∞` for a miss.
    pub fn show(&self, fmt: impl Fn(f64) -> String) -> String {
        let f = |x: f64| show_value(x, &fmt);
        if self.median.is_nan() {
            "–".to_string()
        } else if self.min == self.max {
            f(self.median)
        } else {
            format!("{} [{}–{}]", f(self.median), f(self.min), f(self.max))
        }
    }
}

/// An accuracy fraction as a percentage with two decimals.
fn pct(x: f64) -> String {
    format!("{:.2}", 100.0 * x)
}

/// The regime, the setup and what this invocation did.
fn write_header(s: &mut String, rep: &StudyReport) {
    let r = &rep.regime;
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
        rep.setup,
        rep.device,
        rep.grid,
        show_epochs(r.tune_budget),
        show_epochs(r.longest()),
        rep.trained + rep.reused,
        rep.recorded_train_seconds,
        rep.wall_seconds,
        rep.trained,
        rep.reused
    );
}

/// The targets with the rules that set them.
fn write_targets(s: &mut String, rep: &StudyReport) {
    let _ = writeln!(s, "Targets (validation accuracy):\n");
    for t in &rep.targets {
        let _ = writeln!(s, "- ({}) {}%: {}", t.name, pct(t.acc), t.rule);
    }
}

/// Reference mode: the first reference's section, then each further one's.
fn write_references(s: &mut String, rep: &StudyReport) {
    if let (Some(reference), Some(at), Some(looser)) =
        (&rep.reference, &rep.ratios, &rep.ratios_looser)
    {
        let _ = writeln!(s);
        s.push_str(&reference_section(reference, at, looser));
    }
    for c in &rep.second_references {
        s.push_str(&reference_section(
            &c.reference,
            &c.ratios,
            &c.ratios_looser,
        ));
    }
}

/// Epochs to each target per family, median [min–max] over seeds.
fn write_epochs_to_target(s: &mut String, rep: &StudyReport) {
    let _ = writeln!(
        s,
        "\nEpochs to target, median [min–max] over seeds (∞ = missed within the ladder):\n"
    );
    let _ = writeln!(
        s,
        "| family | lr | {} |",
        rep.targets
            .iter()
            .map(|t| format!("to ({})", t.name))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(s, "|---|---|{}", "---|".repeat(rep.targets.len()));
    for f in &rep.scores {
        let edge = rep
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
}

/// Ladder mode: the speed-ups of each 1cycle variant (nothing in reference mode).
fn write_speedups(s: &mut String, rep: &StudyReport) {
    if rep.speedups.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\nSpeed-ups: baseline epochs / 1cycle epochs to the target, as the ratio of the medians, then the per-seed ratios as median [min–max]:\n"
    );
    let _ = writeln!(s, "| 1cycle | against | to (a) | to (b) | to (c) |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for oc in Family::ONECYCLES {
        for role in ["best constant", "fastest budget-aware"] {
            let row: Vec<&Speedup> = rep
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
}

/// Final validation (and test) accuracy per family and budget; rungs a ladder did not
/// climb are marked.
fn write_per_budget(s: &mut String, rep: &StudyReport) {
    let r = &rep.regime;
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
    for f in &rep.scores {
        let cells: Vec<String> = f
            .per_budget
            .iter()
            .map(|b| {
                let n = r.seeds as usize;
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
}

/// The grid trials on seed 0, one row per tuned family, the winner in bold.
fn write_tuning(s: &mut String, rep: &StudyReport) {
    let _ = writeln!(
        s,
        "\nTuning on seed 0 (final validation accuracy %, winner in bold; points beyond the grid were added by the edge rule):\n"
    );
    let mut lrs: Vec<f64> = rep.tuning.iter().map(|t| t.lr).collect();
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
    for w in &rep.winners {
        let trials: Vec<&Trial> = rep.tuning.iter().filter(|t| t.family == w.family).collect();
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
}

/// The finder: each seed's range test and the sensitivity row (nothing when no range
/// test ran).
fn write_range_tests(s: &mut String, rep: &StudyReport) {
    if rep.ranges.is_empty() {
        return;
    }
    let r = &rep.regime;
    let _ = writeln!(
        s,
        "\nRange test per seed, `auto` ({}; fastai's valley, of the first sweep, in parentheses): {}. Sensitivity of 1cycle at {} epochs to seed 0's `auto`: {}.",
        rep.ranges.first().map_or(String::new(), RangeRecord::rule),
        rep.ranges
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
            rep.ranges.first().map_or(f64::NAN, |x| x.auto()),
            rep.val_at(Family::OnecycleFinder, 0, r.tune_budget)
        ))
        .chain(rep.sensitivity.iter().map(|x| (x.multiple, x.lr, x.val_acc)))
        .map(|(m, lr, acc)| format!("×{m} ({lr:.3e}): {}%", pct(acc)))
        .collect::<Vec<_>>()
        .join(", ")
    );
}

/// `8.00× (per seed 8.00×, 4.00×, 0.00×)`; `–` for no ratio.
fn show_stats(r: &RatioStats) -> String {
    let one = |x: f64| show_value(x, |v| format!("{v:.2}×"));
    let seeds: Vec<String> = r.per_seed.iter().map(|x| one(*x)).collect();
    let misses = r.per_seed.iter().filter(|x| **x == 0.0).count();
    let note = if misses > 0 {
        format!("; 1cycle misses on {misses} of {} seeds", r.per_seed.len())
    } else {
        String::new()
    };
    format!(
        "**{}** (per seed {}{note})",
        one(r.median),
        seeds.join(", ")
    )
}

fn show_list(values: &[f64], f: impl Fn(f64) -> String) -> String {
    let cells: Vec<String> = values.iter().map(|&x| show_value(x, &f)).collect();
    cells.join(", ")
}

/// The Markdown section of one reference: its runs, targets and the three ratios at R
/// and at the looser target.
fn reference_section(r: &ReferenceScore, at: &Ratios, looser: &Ratios) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "### Against the reference {}@{}: lr {}{}, tuned on the grid at its own budget (seed 0)\n",
        r.family.name(),
        show_epochs(r.budget_epochs),
        show_lr(r.lr),
        if r.on_grid_edge {
            " (still on the grid's edge)"
        } else {
            ""
        }
    );
    let mut trials = r.tuning.clone();
    trials.sort_by(|a, b| a.0.total_cmp(&b.0));
    let trials: Vec<String> = trials
        .iter()
        .map(|&(lr, acc)| {
            if lr == r.lr {
                format!("{}: **{} %**", show_lr(lr), pct(acc))
            } else {
                format!("{}: {} %", show_lr(lr), pct(acc))
            }
        })
        .collect();
    let _ = writeln!(
        s,
        "Tuning on seed 0 at {} epochs, final validation accuracy per lr (winner in bold): {}.\n",
        show_epochs(r.budget_epochs),
        trials.join(", ")
    );
    let _ = writeln!(
        s,
        "Final validation accuracy per seed: {} % (test: {} %). Target R = **{} %** (lower median over seeds); looser target {} %. The reference's first evaluation at R, per seed: {} epochs (at the looser target: {}).\n",
        show_list(&r.final_val_acc, pct),
        show_list(&r.final_test_acc, pct),
        pct(r.target),
        pct(r.looser_target),
        show_list(&r.first_hit, show_epochs),
        show_list(&r.first_hit_looser, show_epochs),
    );
    let _ = writeln!(
        s,
        "| ratio | question | at R ({} %) | at the looser target ({} %) |",
        pct(at.target),
        pct(looser.target)
    );
    let _ = writeln!(s, "|---|---|---|---|");
    for (name, question, a, b) in [
        (
            "budget",
            "reference budget / 1cycle epochs (Smith)",
            &at.budget,
            &looser.budget,
        ),
        (
            "strict",
            "reference's first evaluation at the target / 1cycle epochs (MLPerf)",
            &at.strict,
            &looser.strict,
        ),
        (
            "budget-aware",
            "linear decay's epochs / 1cycle epochs, both re-planned per budget (Li et al.)",
            &at.budget_aware,
            &looser.budget_aware,
        ),
    ] {
        let _ = writeln!(
            s,
            "| {name} | {question} | {} | {} |",
            show_stats(a),
            show_stats(b)
        );
    }
    let secs = |v: &[f64]| show_list(v, |x| format!("{x:.0} s"));
    let _ = writeln!(
        s,
        "\nEpochs to R per seed: 1cycle {}; linear {}. Training seconds to R per seed: 1cycle {} (the whole run at its first rung at R); the reference {} (its run prorated to its first evaluation at R).\n",
        show_list(&at.onecycle_epochs, show_epochs),
        if at.linear_epochs.is_empty() {
            "not run".to_string()
        } else {
            show_list(&at.linear_epochs, show_epochs)
        },
        secs(&at.onecycle_seconds),
        secs(&at.reference_seconds),
    );
    s
}
