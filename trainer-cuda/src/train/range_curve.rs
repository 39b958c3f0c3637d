//! A recorded LR range-test curve: reading it from CSV, fastai's suggestions over it,
//! and its plot (the suggestions and the chosen max lr marked).

use std::path::Path;

use anyhow::{bail, Context, Result};
use onecycle_core::finder::{self, Suggestions};

use crate::plot::{Chart, Marker, Series};

/// A recorded range test: learning rates and losses, in recording order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curve {
    /// Learning rate of each step.
    pub lrs: Vec<f64>,
    /// Loss of each step (as recorded; no extra smoothing).
    pub losses: Vec<f64>,
    /// The raw (unsmoothed) loss of each step, when recorded (the `raw_loss` column).
    pub raw_losses: Option<Vec<f64>>,
}

/// Parses CSV text with a header naming `lr` and `loss` columns, and optionally `raw_loss`
/// (others are ignored).
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
    let raw_col = find("raw_loss");
    let mut curve = Curve {
        raw_losses: raw_col.map(|_| Vec::new()),
        ..Curve::default()
    };
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
        if let (Some(col), Some(raw)) = (raw_col, curve.raw_losses.as_mut()) {
            raw.push(get(col, "raw_loss")?);
        }
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

/// The divergence edge and the `auto` max lr of the curve: read on its raw losses when it
/// has them, else on the recorded (smoothed) losses, where the edge moves up by the
/// smoothing's lag.
///
/// # Errors
/// No blow-up at the end of the curve, no descent before it, too few points.
pub fn edge(curve: &Curve) -> Result<finder::Edge<f64>> {
    let losses = curve.raw_losses.as_deref().unwrap_or(&curve.losses);
    finder::divergence_edge(&curve.lrs, losses)
        .map_err(|e| anyhow::anyhow!("no auto learning rate from this curve: {e}"))
}

/// Loss against lr (log axis), with the suggestions marked on the curve and, when
/// given, the max lr a run chose from it with the rule's name (e.g. `("valley", 0.05)`).
pub fn curve_chart(
    curve: &Curve,
    s: Option<&Suggestions<f64>>,
    chosen: Option<(&str, f64)>,
) -> Chart {
    let mut markers = Vec::new();
    if let Some((rule, lr)) = chosen {
        markers.push(Marker {
            name: format!("chosen max lr {lr:.2e} ({rule})"),
            at: (lr, interpolate_loss(curve, lr)),
        });
    }
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
            ..Series::default()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_columns_by_name_and_skips_blank_lines() {
        let c = parse_curve_csv("loss, LR ,extra\n2.5,1e-3,x\n\n2.0,1e-2,y\n", "t.csv").unwrap();
        assert_eq!(c.lrs, vec![1e-3, 1e-2]);
        assert_eq!(c.losses, vec![2.5, 2.0]);
        assert_eq!(c.raw_losses, None);
    }

    #[test]
    fn the_edge_reads_the_raw_column_when_there_is_one() {
        // Smoothed losses lag: they blow up one row later than the raw ones.
        let text = "lr,loss,raw_loss\n1e-5,2.3,2.3\n1e-4,2.3,2.3\n1e-3,2.0,1.0\n1e-2,1.0,0.5\n\
                    1e-1,0.6,0.4\n1,0.6,5.0\n10,4.0,50.0\n";
        let c = parse_curve_csv(text, "t.csv").unwrap();
        assert_eq!(
            c.raw_losses.as_deref(),
            Some(&[2.3, 2.3, 1.0, 0.5, 0.4, 5.0, 50.0][..])
        );
        let e = edge(&c).unwrap();
        assert_eq!((e.lr, e.auto), (1.0, 1.0 / 30.0));
        let smoothed_only = Curve {
            raw_losses: None,
            ..c
        };
        assert_eq!(edge(&smoothed_only).unwrap().lr, 10.0);
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
            raw_losses: None,
        };
        assert!((interpolate_loss(&c, 1e-2) - 2.0).abs() < 1e-12);
        assert_eq!(interpolate_loss(&c, 1e-5), 1.0);
        assert_eq!(interpolate_loss(&c, 1.0), 3.0);
    }
}
