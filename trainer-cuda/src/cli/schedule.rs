//! `onecycle schedule`: print (and plot) a 1cycle schedule, step by step.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use onecycle_core::{Anneal, OneCycle, OneCycleConfig, Phases, Preset};
use serde::Serialize;

use crate::plot::{Chart, Series};

/// Output format of `onecycle schedule`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// `step,lr,momentum` header and one row per step.
    Csv,
    /// One JSON document with the resolved config and every step.
    Json,
}

/// Annealing strategy as a CLI value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AnnealArg {
    /// Cosine annealing.
    Cos,
    /// Linear annealing.
    Linear,
}

impl From<AnnealArg> for Anneal {
    fn from(a: AnnealArg) -> Self {
        match a {
            AnnealArg::Cos => Anneal::Cos,
            AnnealArg::Linear => Anneal::Linear,
        }
    }
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
    #[arg(long, value_enum)]
    pub anneal: Option<AnnealArg>,
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
            cfg.anneal = a.into();
        }
        if self.three_phase || self.pct_final.is_some() {
            let pct_final = match (self.pct_final, cfg.phases) {
                (Some(q), _) => q,
                (None, Phases::Three { pct_final }) => pct_final,
                (None, Phases::Two) => 2.0 * cfg.pct_start,
            };
            cfg.phases = Phases::Three { pct_final };
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
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Training step.
    pub step: u32,
    /// Learning rate for that step.
    pub lr: f64,
    /// Momentum (or Adam β1) for that step, when cycled.
    pub momentum: Option<f64>,
}

/// Evaluates the schedule for steps `0..total + past` (saturating at `u32::MAX`).
pub fn rows(schedule: &OneCycle<f64>, past: u32) -> Vec<Row> {
    let end = schedule.total_steps().saturating_add(past);
    (0..end)
        .map(|step| Row {
            step,
            lr: schedule.lr(step),
            momentum: schedule.momentum(step),
        })
        .collect()
}

/// CSV text: header `step,lr,momentum`, values printed so that they round-trip exactly.
pub fn to_csv(rows: &[Row]) -> String {
    let mut s = String::with_capacity(32 * rows.len() + 20);
    s.push_str("step,lr,momentum\n");
    for r in rows {
        // `{}` on f64 prints the shortest text that parses back to the same value.
        match r.momentum {
            Some(m) => s.push_str(&format!("{},{},{}\n", r.step, r.lr, m)),
            None => s.push_str(&format!("{},{},\n", r.step, r.lr)),
        }
    }
    s
}

#[derive(Serialize)]
struct JsonDoc<'a> {
    preset: &'a str,
    total_steps: u32,
    initial_lr: f64,
    max_lr: f64,
    final_lr: f64,
    steps: &'a [Row],
}

/// The lr and momentum chart of a schedule.
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

/// Runs `onecycle schedule`.
///
/// # Errors
/// An invalid config (the core's message names the problem and the fix), or an
/// unwritable plot file.
pub fn run(args: &ScheduleArgs, out: &mut dyn Write) -> Result<()> {
    let schedule = args
        .config()
        .build()
        .map_err(|e| anyhow::anyhow!("invalid schedule: {e}"))?;
    let rows = rows(&schedule, args.steps_past);
    let text = match args.format {
        TableFormat::Csv => to_csv(&rows),
        TableFormat::Json => {
            let doc = JsonDoc {
                preset: args.preset.name(),
                total_steps: schedule.total_steps(),
                initial_lr: schedule.initial_lr(),
                max_lr: schedule.max_lr(),
                final_lr: schedule.final_lr(),
                steps: &rows,
            };
            let mut s = serde_json::to_string_pretty(&doc)?;
            s.push('\n');
            s
        }
    };
    if let Some(path) = &args.plot {
        let title = format!(
            "{} 1cycle, {} steps",
            args.preset.name(),
            schedule.total_steps()
        );
        crate::plot::save_stacked_svg(&chart(&rows, &title), path)?;
    }
    out.write_all(text.as_bytes())
        .context("cannot write to stdout")?;
    Ok(())
}
