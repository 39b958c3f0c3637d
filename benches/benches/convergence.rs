//! `cargo bench --bench convergence`: the super-convergence study (`trainer_cuda::study`)
//! on every regime of `onecycle_benches::plan::regimes`, with its wall time.
//!
//! The study runs **once** per regime (`ONECYCLE_BENCH_QUICK=1` for the CI size). It
//! prints each regime's tables and writes them, with `study.json` and the plots, to
//! `<target>/criterion/study/<regime>/`, and all tables to `summary.md` there.
//!
//! Each regime runs in reference mode: every family's ladder against step decay at twice
//! the ladder's longest rung (`Reference::twice`), with the budget,
//! strict and budget-aware ratios in its tables.
//!
//! What criterion times: `convergence/<regime>/time_to_target/{1cycle,<reference>}` report
//! the **measured training seconds** of seed 0 to target R: for 1cycle the whole run at
//! the first rung that reaches it, for the reference its run prorated to its first
//! evaluation at R (`iter_custom` returns that duration per iteration). The runs are not
//! repeated, so the spread criterion shows is zero by construction. Evaluation time is
//! excluded.
//!
//! Without `--bench` (`cargo test --benches`), with `--test` or with `--list` the training
//! is skipped, as criterion itself would only test or list.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode};
use onecycle_benches::output::criterion_dir;
use onecycle_benches::plan::{data_dir, quick_from_env, regimes, select, study_config, QUICK_ENV};
use trainer_cuda::data::load;
use trainer_cuda::study::{run_study, Family, StudyReport};

fn studies() -> anyhow::Result<Vec<StudyReport>> {
    // As the `onecycle` CLI does: keep per-step buffers mapped (2× faster training on glibc).
    let _ = trainer_cuda::nn::tune_allocator();
    let quick = quick_from_env();
    let dir = data_dir();
    let out = criterion_dir().join(if quick { "study-quick" } else { "study" });
    let started = Instant::now();
    eprintln!(
        "convergence: the study on {}{} into {} (set {QUICK_ENV}=1 for the quick mode)",
        dir.display(),
        if quick { ", quick mode" } else { "" },
        out.display()
    );
    let mut reports = Vec::new();
    let mut summary =
        String::from("# The super-convergence study (cargo bench --bench convergence)\n\n");
    let mut loaded = None;
    for regime in select(regimes(quick))? {
        let data = match loaded.take() {
            Some((name, split)) if name == regime.dataset => split,
            _ => load(regime.dataset, &dir).map_err(|e| anyhow::anyhow!("{e}"))?,
        };
        let cfg = study_config(regime, quick, &out);
        let report = run_study(&cfg, &data)?;
        let md = report.markdown();
        println!("\n{md}");
        let _ = writeln!(summary, "{md}");
        loaded = Some((cfg.regime.dataset, data));
        reports.push(report);
    }
    let wall = started.elapsed().as_secs_f64();
    let _ = writeln!(
        summary,
        "Whole bench: {wall:.0} s wall time ({} runs trained, {} kept from the store).",
        reports.iter().map(|r| r.trained).sum::<usize>(),
        reports.iter().map(|r| r.reused).sum::<usize>()
    );
    std::fs::create_dir_all(&out)?;
    trainer_cuda::atomic::write_atomic(&out.join("summary.md"), summary.as_bytes())?;
    println!(
        "convergence: {} regime(s) in {wall:.0} s; tables in {}",
        reports.len(),
        out.join("summary.md").display()
    );
    Ok(reports)
}

/// Real time spent per `iter_custom` call (criterion's loop sizing needs some).
const PAUSE: Duration = Duration::from_millis(2);

fn bench(c: &mut Criterion, reports: &[StudyReport]) {
    for report in reports {
        let (Some(reference), Some(ratios)) = (&report.reference, &report.ratios) else {
            continue;
        };
        let mut g = c.benchmark_group(format!("convergence/{}", report.regime.name));
        g.sample_size(10)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(1));
        let name = format!(
            "{}@{}",
            reference.family.name(),
            trainer_cuda::study::score::show_epochs(reference.budget_epochs)
        );
        let runs = [
            (
                Family::Onecycle.name().to_string(),
                ratios.onecycle_seconds[0],
            ),
            (name, ratios.reference_seconds[0]),
        ];
        for (who, secs) in runs {
            if !secs.is_finite() {
                println!(
                    "convergence/{}/time_to_target/{who}: target R not reached on seed 0, nothing to time",
                    report.regime.name,
                );
                continue;
            }
            let once = Duration::from_secs_f64(secs);
            g.bench_function(format!("time_to_target/{who}"), |b| {
                b.iter_custom(|iters| {
                    // Criterion sizes its loops by the wall time of this closure; a 2 ms
                    // pause keeps that to one or two "iterations" per sample.
                    std::thread::sleep(PAUSE);
                    u32::try_from(iters)
                        .ok()
                        .and_then(|n| once.checked_mul(n))
                        .unwrap_or(Duration::MAX)
                });
            });
        }
        g.finish();
    }
}

fn main() {
    // Train only when criterion would benchmark: `cargo bench` passes `--bench`;
    // `cargo test --benches` (no `--bench`), `-- --test` and `--list` only check or list.
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if !has("--bench") || has("--test") || has("--list") {
        println!(
            "convergence: training skipped (test or list mode); run `cargo bench --bench convergence`"
        );
        return;
    }
    let reports = match studies() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("convergence bench failed: {e:#}");
            std::process::exit(1);
        }
    };
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &reports);
    c.final_summary();
}
