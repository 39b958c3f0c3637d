//! Opt-in wall-clock profile of training steps: time per phase of a step and per fast CPU op
//! (forward and backward), for the throughput bench's per-layer breakdown.
//!
//! Off by default; when off, each timed region costs one relaxed atomic load. Timings are
//! totals since the last [`take`], in the order the regions were first seen.
//!
//! ```
//! use trainer_cuda::nn::profile;
//! profile::set_enabled(true);
//! let v = profile::timed(profile::Phase::Step, || "sum".into(), || (0..1000u64).sum::<u64>());
//! assert_eq!(v, 499_500);
//! let entries = profile::take();
//! profile::set_enabled(false);
//! assert_eq!(entries[0].name, "sum");
//! assert_eq!(entries[0].calls, 1);
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ENABLED: AtomicBool = AtomicBool::new(false);
static TOTALS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// Where a timed region runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A part of the whole training step (upload, forward, backward, update).
    Step,
    /// One op's forward pass (inside [`Phase::Step`]'s forward).
    Forward,
    /// One op's backward pass (inside [`Phase::Step`]'s backward).
    Backward,
}

/// Accumulated time of one region.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// What ran, with its shape (e.g. `conv 32→64 14×14 + BN + ReLU + pool`).
    pub name: String,
    /// Where it ran.
    pub phase: Phase,
    /// Total wall time.
    pub total: Duration,
    /// How many times it ran.
    pub calls: u64,
}

/// Turns the profile on or off (process-wide).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Returns the totals so far and starts again from zero.
pub fn take() -> Vec<Entry> {
    std::mem::take(
        &mut *TOTALS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// Runs `f`, adding its wall time to the region `name()` of `phase` when the profile is on
/// (`name` is only called then).
pub fn timed<R>(phase: Phase, name: impl FnOnce() -> String, f: impl FnOnce() -> R) -> R {
    let _span = Span::new(phase, name);
    f()
}

/// A timed region that ends when the value is dropped (so early returns are counted too).
pub struct Span {
    open: Option<(Phase, String, Instant)>,
}

impl Span {
    /// Starts a region; `name` is only called when the profile is on.
    pub fn new(phase: Phase, name: impl FnOnce() -> String) -> Self {
        let open = ENABLED
            .load(Ordering::Relaxed)
            .then(|| (phase, name(), Instant::now()));
        Self { open }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        let Some((phase, name, start)) = self.open.take() else {
            return;
        };
        let spent = start.elapsed();
        let mut totals = TOTALS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match totals
            .iter_mut()
            .find(|e| e.phase == phase && e.name == name)
        {
            Some(e) => {
                e.total += spent;
                e.calls += 1;
            }
            None => totals.push(Entry {
                name,
                phase,
                total: spent,
                calls: 1,
            }),
        }
    }
}
