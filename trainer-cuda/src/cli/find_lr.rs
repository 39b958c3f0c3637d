//! `onecycle find-lr`: LR range-test suggestions, from a recorded curve or a live run.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use onecycle_core::finder::{self, Method, Suggestions};
use serde::Serialize;

use crate::plot::{Chart, Marker, Series};

/// Output format of `onecycle find-lr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SuggestFormat {
    /// A small table.
    Text,
    /// `{"valley": x, "slide": x, "minimum": x, "steep": x}`.
    Json,
}

/// A recorded range test: learning rates and losses, in recording order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curve {
    /// Learning rate of each step.
    pub lrs: Vec<f64>,
    /// Loss of each step (as recorded; no extra smoothing).
    pub losses: Vec<f64>,
}

/// Parses CSV text with a header naming `lr` and `loss` columns (others are ignored).
///
/// # Errors
/// A missing header or column, a row with too few fields, or a field that is not a
/// number: the message names the line.
pub fn parse_curve_csv(text: &str, origin: &str) -> Result<Curve> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let Some((_, header)) = lines.next() else {
        bail!("{origin} is empty: expected a header `lr,loss` and one row per range-test step");
    };
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let find = |name: &str| cols.iter().position(|c| c == name);
    let (Some(lr_col), Some(loss_col)) = (find("lr"), find("loss")) else {
        bail!(
            "{origin}: the header `{header}` must name an `lr` and a `loss` column (e.g. `lr,loss`)"
        );
    };
    let mut curve = Curve::default();
    for (line_no, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |col: usize, name: &str| -> Result<f64> {
            let field = fields.get(col).with_context(|| {
                format!("{origin}:{line_no}: row `{line}` has no `{name}` field ({} columns in the header)", cols.len())
            })?;
            field.parse::<f64>().with_context(|| {
                format!("{origin}:{line_no}: `{field}` is not a number ({name} column)")
            })
        };
        curve.lrs.push(get(lr_col, "lr")?);
        curve.losses.push(get(loss_col, "loss")?);
    }
    if curve.lrs.is_empty() {
        bail!("{origin} has a header but no rows: record a range test first");
    }
    Ok(curve)
}

/// Reads and parses a curve file.
///
/// # Errors
/// Unreadable file or malformed content (see [`parse_curve_csv`]).
pub fn read_curve_csv(path: &Path) -> Result<Curve> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}: check the path", path.display()))?;
    parse_curve_csv(&text, &path.display().to_string())
}

/// The four suggestions over fastai's window of the curve
/// (the first `len/10` points and the last 5 are dropped).
///
/// # Errors
/// Too few points, or non-finite values, as reported by the core.
pub fn suggestions(curve: &Curve) -> Result<Suggestions<f64>> {
    finder::suggest_all(&curve.lrs, &curve.losses, curve.lrs.len()).map_err(|e| {
        anyhow::anyhow!(
            "cannot suggest a learning rate from {} points: {e}",
            curve.lrs.len()
        )
    })
}

#[derive(Serialize)]
struct SuggestionJson {
    valley: f64,
    slide: f64,
    minimum: f64,
    steep: f64,
}

/// Formats suggestions as text or JSON.
pub fn format_suggestions(s: &Suggestions<f64>, format: SuggestFormat) -> String {
    match format {
        SuggestFormat::Json => {
            let doc = SuggestionJson {
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
            for m in Method::ALL {
                let v = match m {
                    Method::Valley => s.valley,
                    Method::Slide => s.slide,
                    Method::Minimum => s.minimum,
                    Method::Steep => s.steep,
                };
                let note = if m == Method::Valley {
                    "  (default)"
                } else {
                    ""
                };
                t.push_str(&format!("{:<8} {v:.3e}{note}\n", m.name()));
            }
            t
        }
    }
}

/// Loss against lr (log axis), with the suggestions marked on the curve.
pub fn curve_chart(curve: &Curve, s: Option<&Suggestions<f64>>) -> Chart {
    let mut markers = Vec::new();
    if let Some(s) = s {
        for (name, lr) in [
            ("valley", s.valley),
            ("slide", s.slide),
            ("minimum", s.minimum),
            ("steep", s.steep),
        ] {
            markers.push(Marker {
                name: format!("{name} {lr:.2e}"),
                at: (lr, interpolate_loss(curve, lr)),
            });
        }
    }
    Chart {
        title: "LR range test".into(),
        x_label: "learning rate (log)".into(),
        y_label: "loss".into(),
        log_x: true,
        series: vec![Series {
            name: "loss".into(),
            points: curve
                .lrs
                .iter()
                .copied()
                .zip(curve.losses.iter().copied())
                .collect(),
        }],
        markers,
        ..Chart::default()
    }
}

/// Loss at `lr` by linear interpolation in log(lr) (clamped to the ends).
pub fn interpolate_loss(curve: &Curve, lr: f64) -> f64 {
    let pts: Vec<(f64, f64)> = curve
        .lrs
        .iter()
        .zip(&curve.losses)
        .filter(|(x, y)| **x > 0.0 && x.is_finite() && y.is_finite())
        .map(|(x, y)| (x.ln(), *y))
        .collect();
    let x = lr.ln();
    match pts.as_slice() {
        [] => f64::NAN,
        [only] => only.1,
        _ => {
            if x <= pts[0].0 {
                return pts[0].1;
            }
            for w in pts.windows(2) {
                let ((x0, y0), (x1, y1)) = (w[0], w[1]);
                if x >= x0 && x <= x1 {
                    return if x1 == x0 {
                        y0
                    } else {
                        y0 + (y1 - y0) * (x - x0) / (x1 - x0)
                    };
                }
            }
            pts[pts.len() - 1].1
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
pub fn run_live(args: &FindLrArgs, out: &mut dyn Write) -> Result<()> {
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
    let data = c.load_data()?;
    let (mut net, _) = c.build(&data)?;
    let train_set = data.train.head(c.train_limit);
    let outcome = crate::train::range_test::range_test(
        net.as_mut(),
        &train_set,
        c.batch_size,
        c.seed,
        cfg,
        Some(c.optimizer.default_momentum()),
        c.verbosity(),
    )?;
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
    curve_chart(&outcome.curve(), Some(&s)).save_svg(&plot)?;
    crate::train::progress::note(
        c.verbosity(),
        &format!(
            "find-lr: curve in {}, plot in {}",
            csv.display(),
            plot.display()
        ),
    );
    out.write_all(format_suggestions(&s, args.format).as_bytes())
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
    if let Some(plot) = &args.plot {
        curve_chart(&curve, Some(&s)).save_svg(plot)?;
    }
    out.write_all(format_suggestions(&s, args.format).as_bytes())
        .context("cannot write to stdout")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_by_name_and_skips_blank_lines() {
        let c = parse_curve_csv("loss, LR ,extra\n2.5,1e-3,x\n\n2.0,1e-2,y\n", "t.csv").unwrap();
        assert_eq!(c.lrs, vec![1e-3, 1e-2]);
        assert_eq!(c.losses, vec![2.5, 2.0]);
    }

    #[test]
    fn malformed_csv_errors_name_the_line() {
        let e = parse_curve_csv("lr,loss\n0.1,abc\n", "t.csv").unwrap_err();
        assert!(e.to_string().contains("t.csv:2"), "{e}");
        let e = parse_curve_csv("lr,loss\n0.1\n", "t.csv").unwrap_err();
        assert!(e.to_string().contains("no `loss` field"), "{e}");
        let e = parse_curve_csv("rate,loss\n0.1,1\n", "t.csv").unwrap_err();
        assert!(e.to_string().contains("must name an `lr`"), "{e}");
        assert!(parse_curve_csv("", "t.csv").is_err());
        assert!(parse_curve_csv("lr,loss\n", "t.csv").is_err());
    }

    #[test]
    fn interpolation_is_linear_in_log_lr() {
        let c = Curve {
            lrs: vec![1e-3, 1e-1],
            losses: vec![1.0, 3.0],
        };
        assert!((interpolate_loss(&c, 1e-2) - 2.0).abs() < 1e-12);
        assert_eq!(interpolate_loss(&c, 1e-5), 1.0);
        assert_eq!(interpolate_loss(&c, 1.0), 3.0);
    }

    #[test]
    fn json_has_exactly_the_four_keys() {
        let s = Suggestions {
            valley: 1e-3,
            slide: 2e-3,
            minimum: 3e-3,
            steep: 4e-3,
        };
        let v: serde_json::Value =
            serde_json::from_str(&format_suggestions(&s, SuggestFormat::Json)).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 4);
        assert_eq!(obj["valley"], 1e-3);
        assert_eq!(obj["steep"], 4e-3);
    }
}
