//! A small collector for the nanoseconds-per-operation figures the benches print as tables.
//!
//! Criterion drives the measurements (`iter_custom`); each sample's time per operation is
//! also recorded here under the bench's id, and [`Timings::median_ns`] reports the median
//! of those samples, so the table shows the same measurements criterion analysed.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Samples of nanoseconds per operation, by bench id.
#[derive(Debug, Default)]
pub struct Timings {
    samples: Mutex<BTreeMap<String, Vec<f64>>>,
}

impl Timings {
    /// An empty collector (usable in a `static`).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            samples: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records that `ops` operations took `elapsed` under `id`.
    pub fn record(&self, id: &str, elapsed: Duration, ops: u64) {
        if ops == 0 {
            return;
        }
        let ns = elapsed.as_secs_f64() * 1e9 / ops as f64;
        if let Ok(mut m) = self.samples.lock() {
            m.entry(id.to_string()).or_default().push(ns);
        }
    }

    /// Median nanoseconds per operation recorded under `id`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = onecycle_benches::timing::Timings::new();
    /// t.record("x", Duration::from_nanos(300), 100);
    /// t.record("x", Duration::from_nanos(500), 100);
    /// t.record("x", Duration::from_nanos(9000), 100);
    /// assert_eq!(t.median_ns("x"), Some(5.0));
    /// assert_eq!(t.median_ns("y"), None);
    /// ```
    #[must_use]
    pub fn median_ns(&self, id: &str) -> Option<f64> {
        let m = self.samples.lock().ok()?;
        let mut v = m.get(id)?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        })
    }
}

/// Formats a median for a table cell: `3.21` or `—` when missing.
#[must_use]
pub fn cell(ns: Option<f64>) -> String {
    ns.map_or("—".into(), |v| {
        if v < 100.0 {
            format!("{v:.2}")
        } else {
            format!("{v:.0}")
        }
    })
}
