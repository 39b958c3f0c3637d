//! Progress bars (indicatif) for training, evaluation and range tests.
//!
//! Bars draw on stderr when it is a terminal and stay silent otherwise (CI logs get
//! the plain summary lines instead).

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether to draw bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// Bars on a terminal, summary lines on stderr.
    Normal,
    /// Nothing on stderr (tests, benches).
    Quiet,
}

/// A progress bar over a known number of steps.
pub struct Bar {
    bar: ProgressBar,
    verbosity: Verbosity,
}

impl Bar {
    /// A bar for `len` steps with a label such as `onecycle epoch 1/2`.
    pub fn new(len: u64, label: &str, verbosity: Verbosity) -> Self {
        let target = match verbosity {
            Verbosity::Normal => ProgressDrawTarget::stderr(),
            Verbosity::Quiet => ProgressDrawTarget::hidden(),
        };
        let bar = ProgressBar::with_draw_target(Some(len), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>18} [{bar:28.cyan/blue}] {pos:>5}/{len:5} {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        if verbosity == Verbosity::Normal {
            // Keeps the ETA moving between steps; a hidden bar needs no ticker thread.
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        Self { bar, verbosity }
    }

    /// Advances one step and shows the latest numbers.
    pub fn step(&self, loss: f64, acc: Option<f64>, lr: f64, img_per_s: f64) {
        self.bar.inc(1);
        let acc = acc.map_or_else(String::new, |a| format!(" acc {:.2}%", 100.0 * a));
        self.bar.set_message(format!(
            "loss {loss:.4}{acc} lr {lr:.2e} {img_per_s:.0} img/s"
        ));
    }

    /// Jumps to `pos` (a resumed run).
    pub fn set_position(&self, pos: u64) {
        self.bar.set_position(pos);
    }

    /// Finishes the bar, leaving a summary line.
    pub fn finish(&self, summary: &str) {
        self.bar.finish_and_clear();
        self.note(summary);
    }

    /// A line on stderr (not while quiet).
    pub fn note(&self, line: &str) {
        if self.verbosity == Verbosity::Normal {
            eprintln!("{line}");
        }
    }
}

/// A line on stderr unless quiet.
pub fn note(verbosity: Verbosity, line: &str) {
    if verbosity == Verbosity::Normal {
        eprintln!("{line}");
    }
}
