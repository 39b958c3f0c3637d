//! Shared code of the onecycle benches (`cargo bench -p onecycle-benches`).
//!
//! ```text
//! cargo bench -p onecycle-benches                          # all three, full size
//! cargo bench -p onecycle-benches --bench convergence      # the super-convergence study
//! cargo bench -p onecycle-benches --bench schedule         # ns per lr(step)/momentum(step)
//! cargo bench -p onecycle-benches --bench finder           # range-test record/suggest costs
//! ONECYCLE_BENCH_QUICK=1 cargo bench -p onecycle-benches   # CI size (< 3 min, real data)
//! ONECYCLE_BENCH_REGIMES=mnist-5k cargo bench -p onecycle-benches --bench convergence
//! ```
//!
//! The data sets are read from `$ONECYCLE_DATA` or the workspace's `data/` and fetched
//! there on first use. The convergence bench runs `trainer_cuda::study::run_study` (the
//! same code as `onecycle compare`) for each regime of [`plan::regimes`] and writes each
//! study to `<target>/criterion/study/<regime>/` (`study-quick/` in the quick mode), with
//! all tables in `summary.md` beside them. Finished runs are kept there and skipped when
//! the bench runs again; delete the directory for a fresh measurement.
//!
//! * [`plan`]: the regimes, the fixed settings and the quick mode.
//! * [`reference`](mod@reference): a textbook 1cycle implementation the `schedule` bench
//!   measures the library against.
//! * [`timing`]: ns-per-operation samples behind the printed tables.
//! * [`output`]: criterion's output directory, where the study files go.

pub mod output;
pub mod plan;
pub mod reference;
pub mod timing;
