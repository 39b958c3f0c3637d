//! `onecycle schedule`: print (and plot) a 1cycle schedule, step by step.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use onecycle_core::{Anneal, OneCycle, OneCycleConfig, Preset};

use crate::plot::{Chart, Series};

/// Output format of `onecycle schedule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// `step,lr,momentum` header and one row per step.
    Csv,
    /// One JSON document with the resolved config and every step.
    Json,
}

/// Arguments of `onecycle schedule`. Unset options take the preset's defaults.
#[derive(Args, Debug, Clone)]
pub struct ScheduleArgs {
    /// Whose conventions and defaults to reproduce: pytorch, fastai, optax-cos, optax-linear.
    #[arg(long, default_value = "pytorch", value_parser = parse_preset)]
    pub preset: Preset,
    /// Peak learning rate.
    #[arg(long)]
    pub max_lr: f64,
    /// Number of training steps in the cycle.
    #[arg(long)]
    pub total_steps: u32,
    /// Fraction of the cycle spent increasing the learning rate.
    #[arg(long)]
    pub pct_start: Option<f64>,
    /// initial lr = max lr / div factor.
    #[arg(long)]
    pub div_factor: Option<f64>,
    /// PyTorch/optax: final lr = initial lr / this; fastai: its `div_final`, final lr = max lr / this.
    #[arg(long)]
    pub final_div_factor: Option<f64>,
    /// Annealing strategy.
    #[arg(long, value_parser = crate::cli::choice::choice::<Anneal>())]
    pub anneal: Option<Anneal>,
    /// Smith's three phases: up, back down to the initial lr, then annihilation.
    #[arg(long)]
    pub three_phase: bool,
    /// Lower momentum bound (reached at the lr peak).
    #[arg(long)]
    pub base_momentum: Option<f64>,
    /// Upper momentum bound (at the start and the end).
    #[arg(long)]
    pub max_momentum: Option<f64>,
    /// End of the second phase as a fraction of the cycle (three-phase schedules).
    #[arg(long)]
    pub pct_final: Option<f64>,
    /// Extra rows past the end of the cycle (they hold the final value).
    #[arg(long, default_value_t = 0)]
    pub steps_past: u32,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: TableFormat,
    /// Also draw lr and momentum against step into this SVG file.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// clap value parser for presets, with the valid names in the error.
pub fn parse_preset(s: &str) -> Result<Preset, String> {
    s.parse::<Preset>().map_err(|e| e.to_string())
}

impl ScheduleArgs {
    /// The config these arguments describe (preset defaults, then overrides).
    pub fn config(&self) -> OneCycleConfig<f64> {
        let mut cfg = self.preset.config(self.max_lr, self.total_steps);
        if let Some(p) = self.pct_start {
            cfg.pct_start = p;
        }
        if let Some(d) = self.div_factor {
            cfg.div_factor = d;
        }
        if let Some(f) = self.final_div_factor {
            cfg.final_div_factor = f;
        }
        if let Some(a) = self.anneal {
            cfg.anneal = a;
        }
        if self.three_phase || self.pct_final.is_some() {
            cfg = cfg.three_phase(self.pct_final);
        }
        if self.base_momentum.is_some() || self.max_momentum.is_some() {
            let mut m = cfg.momentum.unwrap_or(onecycle_core::MomentumRange {
                base: 0.85,
                max: 0.95,
            });
            if let Some(b) = self.base_momentum {
                m.base = b;
            }
            if let Some(x) = self.max_momentum {
                m.max = x;
            }
            cfg.momentum = Some(m);
        }
        cfg
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// Training step.
    pub step: u32,
    /// Learning rate for that step.
    pub lr: f64,
    /// Momentum (or Adam β1) for that step, when cycled.
    pub momentum: Option<f64>,
}

/// The most points `--plot` draws per curve, whatever `--total-steps` is.
pub const PLOT_POINTS: u32 = 4096;

/// The rows for steps `0..total + past` (saturating at `u32::MAX`), computed
/// as they are consumed: constant memory for any length.
pub fn rows(schedule: &OneCycle<f64>, past: u32) -> impl Iterator<Item = Row> + '_ {
    let end = schedule.total_steps().saturating_add(past);
    (0..end).map(|step| row(schedule, step))
}

fn row(schedule: &OneCycle<f64>, step: u32) -> Row {
    let (lr, momentum) = schedule.at(step);
    Row { step, lr, momentum }
}

/// The steps `--plot` draws: at most [`PLOT_POINTS`] evenly spaced ones, plus
/// the first and last step and both sides of every phase boundary (so the
/// peak and the corners are exact), in order.
pub fn plot_steps(schedule: &OneCycle<f64>, past: u32) -> Vec<u32> {
    let end = u64::from(schedule.total_steps().saturating_add(past));
    let n = u64::from(PLOT_POINTS).min(end);
    let mut steps: Vec<u32> = (0..n)
        .map(|i| u32::try_from(i * (end - 1) / (n - 1).max(1)).unwrap_or(u32::MAX))
        .collect();
    for b in schedule.phase_starts() {
        steps.extend([b.saturating_sub(1), b]);
    }
    steps.push(schedule.total_steps() - 1);
    steps.retain(|&k| u64::from(k) < end);
    steps.sort_unstable();
    steps.dedup();
    steps
}

/// Writes the CSV table: header `step,lr,momentum`, values that round-trip exactly.
fn write_csv(out: &mut impl Write, rows: impl Iterator<Item = Row>) -> std::io::Result<()> {
    out.write_all(b"step,lr,momentum\n")?;
    for r in rows {
        // `{}` on f64 prints the shortest text that parses back to the same value.
        match r.momentum {
            Some(m) => writeln!(out, "{},{},{}", r.step, r.lr, m)?,
            None => writeln!(out, "{},{},", r.step, r.lr)?,
        }
    }
    Ok(())
}

/// A JSON number or `null`, as serde_json writes it.
fn json_num(x: Option<f64>) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| "null".into())
}

/// Writes the JSON document (the resolved config, then `"steps"`: one object
/// per row), streamed row by row in `serde_json`'s pretty layout.
fn write_json(
    out: &mut impl Write,
    preset: &str,
    schedule: &OneCycle<f64>,
    rows: impl Iterator<Item = Row>,
) -> std::io::Result<()> {
    let name = serde_json::to_string(preset).unwrap_or_else(|_| "\"\"".into());
    write!(
        out,
        "{{\n  \"preset\": {name},\n  \"total_steps\": {},\n  \"initial_lr\": {},\n  \"max_lr\": {},\n  \"final_lr\": {},\n  \"steps\": [",
        schedule.total_steps(),
        json_num(Some(schedule.initial_lr())),
        json_num(Some(schedule.max_lr())),
        json_num(Some(schedule.final_lr())),
    )?;
    for (i, r) in rows.enumerate() {
        let sep = if i == 0 { "\n" } else { ",\n" };
        write!(
            out,
            "{sep}    {{\n      \"step\": {},\n      \"lr\": {},\n      \"momentum\": {}\n    }}",
            r.step,
            json_num(Some(r.lr)),
            json_num(r.momentum),
        )?;
    }
    out.write_all(b"\n  ]\n}\n")
}

/// The lr and momentum chart of a schedule, from its sampled rows.
pub fn chart(rows: &[Row], title: &str) -> Vec<Chart> {
    let lr = Chart {
        title: format!("{title}: learning rate"),
        x_label: "step".into(),
        y_label: "learning rate".into(),
        series: vec![Series {
            name: "lr".into(),
            points: rows.iter().map(|r| (f64::from(r.step), r.lr)).collect(),
            ..Series::default()
        }],
        ..Chart::default()
    };
    let mut charts = vec![lr];
    if rows.iter().any(|r| r.momentum.is_some()) {
        charts.push(Chart {
            title: format!("{title}: momentum"),
            x_label: "step".into(),
            y_label: "momentum".into(),
            series: vec![Series {
                name: "momentum".into(),
                points: rows
                    .iter()
                    .filter_map(|r| r.momentum.map(|m| (f64::from(r.step), m)))
                    .collect(),
                ..Series::default()
            }],
            ..Chart::default()
        });
    }
    charts
}

/// Runs `onecycle schedule`: the plot first (bounded, [`plot_steps`]), then
/// the table streamed to `out`. A reader that closes the pipe early (`| head`)
/// ends the table quietly.
///
/// # Errors
/// An invalid config (the core's message names the problem and the fix), an
/// unwritable plot file, or a write error other than a closed pipe.
pub fn run(args: &ScheduleArgs, out: &mut dyn Write) -> Result<()> {
    let schedule = args
        .config()
        .build()
        .map_err(|e| anyhow::anyhow!("invalid schedule: {e}"))?;
    if let Some(path) = &args.plot {
        let title = format!(
            "{} 1cycle, {} steps",
            args.preset.name(),
            schedule.total_steps()
        );
        let sampled: Vec<Row> = plot_steps(&schedule, args.steps_past)
            .into_iter()
            .map(|k| row(&schedule, k))
            .collect();
        crate::plot::save_stacked_svg(&chart(&sampled, &title), path)?;
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
    let rows = rows(&schedule, args.steps_past);
    let written = match args.format {
        TableFormat::Csv => write_csv(&mut out, rows),
        TableFormat::Json => write_json(&mut out, args.preset.name(), &schedule, rows),
    }
    .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to stdout"),
    }
}
