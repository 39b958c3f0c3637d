//! `cargo bench --bench convergence`: 1cycle against constant lr, step decay and cosine on
//! real MNIST (see `onecycle_benches::convergence` for the protocol).
//!
//! The experiment runs **once** (≈ 11 training runs; `ONECYCLE_BENCH_QUICK=1` for the CI
//! size). It prints the Markdown table and writes `convergence.md`, `accuracy.svg` and
//! `evals.csv` to `<target>/criterion/convergence/` (`convergence-quick/` in the quick mode).
//!
//! What criterion times: `convergence/time_to_target/{onecycle,best_baseline}` report the
//! **measured training seconds to the target accuracy** of the real 1cycle and fastest-baseline
//! runs (`iter_custom` returns that duration per iteration). The runs are not repeated, so the
//! spread criterion shows is zero by construction: the figure is one real measurement, not a
//! statistic over repeats. Evaluation time is excluded; the range test is not counted.
//!
//! Without `--bench` (`cargo test --benches`), with `--test` or with `--list` the training
//! is skipped, as criterion itself would only test or list.

use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use onecycle_benches::convergence::{load_data, run_experiment};
use onecycle_benches::output::criterion_dir;
use onecycle_benches::plan::{Plan, QUICK_ENV};
use onecycle_benches::report::{ConvergenceReport, Role};

fn experiment() -> anyhow::Result<ConvergenceReport> {
    // As the `onecycle` CLI does: keep per-step buffers mapped (2× faster training on glibc).
    let _ = onecycle_benches_tune();
    let plan = Plan::from_env()?;
    eprintln!(
        "convergence: {} on {}{} (set {QUICK_ENV}=1 for the quick mode)",
        plan.dataset.as_str(),
        plan.data_dir.display(),
        if plan.quick { ", quick mode" } else { "" }
    );
    let data = load_data(&plan)?;
    let report = run_experiment(&plan, &data)?;
    println!("\n{}", report.markdown());
    // The quick mode keeps its own directory so that it never overwrites a full run's files.
    let dir = criterion_dir().join(if plan.quick {
        "convergence-quick"
    } else {
        "convergence"
    });
    let svg = report.write(&dir)?;
    println!(
        "Plot: {}\nTable: {}\n",
        svg.display(),
        dir.join("convergence.md").display()
    );
    Ok(report)
}

/// Real time spent per `iter_custom` call (criterion's loop sizing needs some).
const PAUSE: Duration = Duration::from_millis(2);

fn onecycle_benches_tune() -> bool {
    trainer_cuda::nn::tune_allocator()
}

fn bench(c: &mut Criterion, report: &ConvergenceReport) {
    let mut g = c.benchmark_group("convergence");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1));
    let runs = [
        ("onecycle", report.row(Role::OneCycle)),
        ("best_baseline", report.best_baseline()),
    ];
    for (id, row) in runs {
        let Some(secs) = row.and_then(|r| r.seconds_to_target) else {
            println!("convergence/time_to_target/{id}: target not reached, nothing to time");
            continue;
        };
        let once = Duration::from_secs_f64(secs);
        g.bench_function(format!("time_to_target/{id}"), |b| {
            b.iter_custom(|iters| {
                // Criterion sizes its loops by the wall time of this closure; a 2 ms pause
                // keeps that to one or two "iterations" per sample (see measurement_time).
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
    let report = match experiment() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("convergence bench failed: {e:#}");
            std::process::exit(1);
        }
    };
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &report);
    c.final_summary();
}
