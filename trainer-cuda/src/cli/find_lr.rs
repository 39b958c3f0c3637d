//! `onecycle find-lr`: LR range-test suggestions, from a recorded curve or a live run.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use onecycle_core::finder::{Edge, Method, Suggestions};
use serde::Serialize;

use crate::cli::common::check_world;
use crate::dist::{Collective, DataParallel};
use crate::train::progress::Verbosity;
use crate::train::range_curve::{curve_chart, edge, read_curve_csv, suggestions};

/// Output format of `onecycle find-lr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SuggestFormat {
    /// A small table.
    Text,
    /// `{"auto": x, "edge": x, "valley": x, "slide": x, "minimum": x, "steep": x}`
    /// (`auto` and `edge` are `null` when the loss did not blow up).
    Json,
}

#[derive(Serialize)]
struct SuggestionJson {
    auto: Option<f64>,
    edge: Option<f64>,
    valley: f64,
    slide: f64,
    minimum: f64,
    steep: f64,
}

/// Formats the `auto` lr (from the divergence edge, when there is one) and fastai's four
/// suggestions as text or JSON.
pub fn format_suggestions(
    s: &Suggestions<f64>,
    edge: Option<&Edge<f64>>,
    format: SuggestFormat,
) -> String {
    match format {
        SuggestFormat::Json => {
            let doc = SuggestionJson {
                auto: edge.map(|e| e.auto),
                edge: edge.map(|e| e.lr),
                valley: s.valley,
                slide: s.slide,
                minimum: s.minimum,
                steep: s.steep,
            };
            let mut t = serde_json::to_string(&doc).expect("plain numbers serialise");
            t.push('\n');
            t
        }
        SuggestFormat::Text => {
            let mut t = String::from("method   suggested lr\n");
            match edge {
                Some(e) => t.push_str(&format!(
                    "auto     {:.3e}  (--max-lr auto: the divergence edge {:.3e} / {})\n",
                    e.auto,
                    e.lr,
                    onecycle_core::finder::AUTO_DIVISOR
                )),
                None => {
                    t.push_str("auto     none      (the loss did not blow up: raise --end-lr)\n")
                }
            }
            for m in Method::ALL {
                let v = match m {
                    Method::Valley => s.valley,
                    Method::Slide => s.slide,
                    Method::Minimum => s.minimum,
                    Method::Steep => s.steep,
                };
                t.push_str(&format!("{:<8} {v:.3e}  (fastai)\n", m.name()));
            }
            t
        }
    }
}

/// Arguments of `onecycle find-lr`: a live range test on a model, or `--from-csv`.
#[derive(Args, Debug, Clone)]
pub struct FindLrArgs {
    /// A recorded range test: CSV with an `lr,loss` header; the loss is taken as recorded.
    /// Without it, the range test runs on the model and data below.
    #[arg(long, value_name = "FILE")]
    pub from_csv: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: SuggestFormat,
    /// Draw loss against lr, with the suggestions marked, into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// First learning rate of the sweep (fastai: 1e-7).
    #[arg(long, default_value_t = 1e-5)]
    pub start_lr: f64,
    /// Last learning rate of the sweep.
    #[arg(long, default_value_t = 10.0)]
    pub end_lr: f64,
    /// Steps of the sweep, at most 2048 (fastai: 100; see `trainer_range_config` for why 400).
    #[arg(long, default_value_t = 400)]
    pub steps: u32,
    /// Linear instead of exponential sweep.
    #[arg(long)]
    pub linear: bool,
    /// Where to write the recorded curve (`lr,loss,raw_loss`); default `runs/find-lr.csv`.
    #[arg(long, value_name = "FILE.csv")]
    pub csv: Option<PathBuf>,
    /// Data, model and device.
    #[command(flatten)]
    pub common: crate::cli::common::TrainingArgs,
}

/// Runs `onecycle find-lr` on a model: the range test with onecycle-core's state machine on
/// real batches; the weights are restored afterwards.
///
/// # Errors
/// Data, model or config problems; too short a curve for suggestions.
pub fn run_live(args: &FindLrArgs, world: &dyn Collective, out: &mut dyn Write) -> Result<()> {
    use onecycle_core::finder::Sweep;
    let cfg = onecycle_core::RangeTestConfig {
        start_lr: args.start_lr,
        end_lr: args.end_lr,
        num_steps: args.steps,
        sweep: if args.linear {
            Sweep::Linear
        } else {
            Sweep::Exponential
        },
        ..onecycle_core::RangeTestConfig::default()
    };
    let c = &args.common;
    check_world(c.batch_size, world)?;
    let writer = world.rank() == 0;
    let verbosity = if writer {
        c.verbosity()
    } else {
        Verbosity::Quiet
    };
    let data = c.load_data()?;
    let (mut net, _) = c.build(&data)?;
    let train_set = data.train.head(c.train_limit);
    let outcome = crate::train::range_test::range_test(
        &mut DataParallel::new(net.as_mut(), world),
        &train_set,
        c.batch_size,
        c.seed,
        cfg,
        Some(c.optimizer.default_momentum()),
        verbosity,
    )?;
    if !writer {
        // Every rank has the same curve (the loss is all-reduced); rank 0 reports it.
        return Ok(());
    }
    let csv = args
        .csv
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/find-lr.csv"));
    crate::atomic::write_atomic(&csv, outcome.csv().as_bytes())?;
    let plot = args
        .plot
        .clone()
        .unwrap_or_else(|| csv.with_extension("svg"));
    let s = outcome.suggestions.map_err(|e| {
        anyhow::anyhow!(
            "{e} ({} points recorded, stopped: {:?}; curve in {}): widen --start-lr/--end-lr or raise --steps",
            outcome.points.len(),
            outcome.stop,
            csv.display()
        )
    })?;
    let edge = outcome.edge.as_ref().ok();
    curve_chart(&outcome.curve(), Some(&s), edge.map(|e| ("auto", e.auto))).save_svg(&plot)?;
    crate::train::progress::note(
        verbosity,
        &format!(
            "find-lr: curve in {}, plot in {}",
            csv.display(),
            plot.display()
        ),
    );
    out.write_all(format_suggestions(&s, edge, args.format).as_bytes())
        .context("cannot write to stdout")?;
    Ok(())
}

/// Runs `onecycle find-lr --from-csv FILE`.
///
/// # Errors
/// See [`read_curve_csv`] and [`suggestions`]; an unwritable plot.
pub fn run_from_csv(path: &Path, args: &FindLrArgs, out: &mut dyn Write) -> Result<()> {
    let curve = read_curve_csv(path)?;
    let s = suggestions(&curve)?;
    let edge = edge(&curve).ok();
    if let Some(plot) = &args.plot {
        curve_chart(&curve, Some(&s), edge.as_ref().map(|e| ("auto", e.auto))).save_svg(plot)?;
    }
    out.write_all(format_suggestions(&s, edge.as_ref(), args.format).as_bytes())
        .context("cannot write to stdout")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_auto_edge_and_fastais_four_keys() {
        let s = Suggestions {
            valley: 1e-3,
            slide: 2e-3,
            minimum: 3e-3,
            steep: 4e-3,
        };
        let edge = onecycle_core::finder::divergence_edge(
            &[1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0],
            &[2.3, 2.3, 2.3, 0.5, 0.4, 9.0],
        )
        .unwrap();
        let json = |e| -> serde_json::Value {
            serde_json::from_str(&format_suggestions(&s, e, SuggestFormat::Json)).unwrap()
        };
        let v = json(Some(&edge));
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 6);
        assert_eq!(
            (obj["edge"].as_f64(), obj["auto"].as_f64()),
            (Some(1.0), Some(1.0 / 30.0))
        );
        assert_eq!(obj["valley"], 1e-3);
        assert_eq!(obj["steep"], 4e-3);
        // No blow-up: `auto` is null, fastai's four are still there.
        let v = json(None);
        assert!(v["auto"].is_null() && v["edge"].is_null());
        assert_eq!(v["minimum"], 3e-3);
        let text = format_suggestions(&s, None, SuggestFormat::Text);
        assert!(text.contains("raise --end-lr"), "{text}");
    }
}
