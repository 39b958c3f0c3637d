//! `onecycle find-lr`: LR range-test suggestions, from a recorded curve or a live run.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use onecycle_core::finder::{Consensus, Edge, Method, Suggestions, AUTO_DIVISOR};
use serde::Serialize;

use crate::dist::check_world;
use crate::dist::{Collective, DataParallel};
use crate::train::progress::Verbosity;
use crate::train::range_curve::{curve_chart, edge, read_curve_csv, suggestions};
use crate::train::range_test::trainer_range_plan;

/// Output format of `onecycle find-lr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SuggestFormat {
    /// A small table.
    Text,
    /// `{"auto": x, "edge": x, "edges": [x, ...], "spread": x, "valley": x, "slide": x,
    /// "minimum": x, "steep": x}` (`auto`, `edge` and `spread` are `null` and `edges` empty
    /// when the loss did not blow up).
    Json,
}

#[derive(Serialize)]
struct SuggestionJson<'a> {
    auto: Option<f64>,
    edge: Option<f64>,
    edges: &'a [f64],
    spread: Option<f64>,
    valley: f64,
    slide: f64,
    minimum: f64,
    steep: f64,
}

/// The divergence edges of a range test's sweeps and what they agree on.
#[derive(Clone, Debug)]
pub struct Agreement {
    /// Each sweep's edge, in sweep order.
    pub edges: Vec<f64>,
    /// Their median, the `auto` lr and the spread.
    pub consensus: Consensus<f64>,
    /// What `auto` divides the median edge by.
    pub divisor: f64,
}

/// Formats the `auto` lr (from the sweeps' divergence edges, when there are) with its
/// confidence (the spread of the edges) and fastai's four suggestions as text or JSON.
pub fn format_suggestions(
    s: &Suggestions<f64>,
    agreement: Option<&Agreement>,
    format: SuggestFormat,
) -> String {
    let c = agreement.map(|a| a.consensus);
    match format {
        SuggestFormat::Json => {
            let doc = SuggestionJson {
                auto: c.map(|c| c.auto),
                edge: c.map(|c| c.edge),
                edges: agreement.map_or(&[], |a| &a.edges),
                spread: c.map(|c| c.spread),
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
            match agreement {
                Some(a) if a.edges.len() == 1 => t.push_str(&format!(
                    "auto     {:.3e}  (--max-lr auto: the divergence edge {:.3e} / {}; one \
                     sweep, no spread: --sweeps 3 gives one)\n",
                    a.consensus.auto, a.consensus.edge, a.divisor
                )),
                Some(a) => t.push_str(&format!(
                    "auto     {:.3e}  (--max-lr auto: the median divergence edge {:.3e} of {} \
                     sweeps / {}; spread {:.2}x over {}{})\n",
                    a.consensus.auto,
                    a.consensus.edge,
                    a.edges.len(),
                    a.divisor,
                    a.consensus.spread,
                    a.edges
                        .iter()
                        .map(|e| format!("{e:.3e}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if a.consensus.spread > 2.0 {
                        ": the sweeps disagree, treat auto as a rough guide"
                    } else {
                        ""
                    }
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
    /// First learning rate of each sweep (default: the `--max-lr auto` plan's; fastai: 1e-7).
    #[arg(long)]
    pub start_lr: Option<f64>,
    /// Last learning rate of each sweep (default: the plan's).
    #[arg(long)]
    pub end_lr: Option<f64>,
    /// Steps of each sweep, at most 2048 (default: the plan's; fastai: 100).
    #[arg(long)]
    pub steps: Option<u32>,
    /// Linear instead of exponential sweep.
    #[arg(long)]
    pub linear: bool,
    /// Sweeps from the same initial network, each on other batches (at most 16; default:
    /// the plan's): `auto` is read off their median divergence edge, and their spread (max /
    /// min) is its confidence. Sweep 1's curve goes to `--csv`, sweep i's beside it as
    /// `NAME-sweepI.csv`.
    #[arg(long)]
    pub sweeps: Option<u32>,
    /// Images per sweep step (default: the plan's; `--batch-size` is the training run's,
    /// which the plan uses when it names none).
    #[arg(long)]
    pub sweep_batch_size: Option<usize>,
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
    let mut plan = trainer_range_plan();
    plan.config.start_lr = args.start_lr.unwrap_or(plan.config.start_lr);
    plan.config.end_lr = args.end_lr.unwrap_or(plan.config.end_lr);
    plan.config.num_steps = args.steps.unwrap_or(plan.config.num_steps);
    if args.linear {
        plan.config.sweep = Sweep::Linear;
    }
    plan.sweeps = args.sweeps.unwrap_or(plan.sweeps);
    plan.batch_size = args.sweep_batch_size.or(plan.batch_size);
    let c = &args.common;
    check_world(plan.batch_for(c.batch_size), world)?;
    let writer = world.rank() == 0;
    let verbosity = if writer {
        c.verbosity()
    } else {
        Verbosity::Quiet
    };
    let data = c.load_data()?;
    let (mut net, _) = c.build(&data)?;
    let train_set = data.train.head(c.train_limit);
    let sweeps = plan.run(
        &mut DataParallel::new(net.as_mut(), world),
        &train_set,
        c.batch_size,
        c.seed,
        Some(c.optimizer.default_momentum()),
        verbosity,
    )?;
    if !writer {
        // Every rank has the same curves (the loss is all-reduced); rank 0 reports them.
        return Ok(());
    }
    let csv = args
        .csv
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs/find-lr.csv"));
    for (i, outcome) in sweeps.outcomes.iter().enumerate() {
        crate::atomic::write_atomic(&sweep_csv(&csv, i), outcome.csv().as_bytes())?;
    }
    let plot = args
        .plot
        .clone()
        .unwrap_or_else(|| csv.with_extension("svg"));
    let first = &sweeps.outcomes[0];
    let s = first.suggestions.map_err(|e| {
        anyhow::anyhow!(
            "{e} ({} points recorded, stopped: {:?}; curve in {}): widen --start-lr/--end-lr or raise --steps",
            first.points.len(),
            first.stop,
            csv.display()
        )
    })?;
    let agreement = sweeps.consensus.ok().map(|consensus| Agreement {
        edges: sweeps.edges(),
        consensus,
        divisor: plan.divisor,
    });
    curve_chart(
        &first.curve(),
        Some(&s),
        agreement.as_ref().map(|a| ("auto", a.consensus.auto)),
    )
    .save_svg(&plot)?;
    crate::train::progress::note(
        verbosity,
        &format!(
            "find-lr: curve{} in {}, plot in {}",
            if sweeps.outcomes.len() > 1 {
                " of sweep 1 (the others beside it)"
            } else {
                ""
            },
            csv.display(),
            plot.display()
        ),
    );
    out.write_all(format_suggestions(&s, agreement.as_ref(), args.format).as_bytes())
        .context("cannot write to stdout")?;
    Ok(())
}

/// Where sweep `i` (from 0) writes its curve: `csv` itself for the first, `NAME-sweepI.csv`
/// beside it (I from 1) for the others.
fn sweep_csv(csv: &Path, i: usize) -> PathBuf {
    if i == 0 {
        return csv.to_path_buf();
    }
    let stem = csv
        .file_stem()
        .map_or_else(|| "find-lr".into(), |s| s.to_string_lossy().into_owned());
    csv.with_file_name(format!("{stem}-sweep{}.csv", i + 1))
}

/// One sweep's edge as an [`Agreement`] (a spread of 1).
fn single(edge: &Edge<f64>) -> Agreement {
    Agreement {
        edges: vec![edge.lr],
        consensus: Consensus {
            edge: edge.lr,
            auto: edge.auto,
            spread: 1.0,
            sweeps: 1,
        },
        divisor: AUTO_DIVISOR,
    }
}

/// Runs `onecycle find-lr --from-csv FILE`.
///
/// # Errors
/// See [`read_curve_csv`] and [`suggestions`]; an unwritable plot.
pub fn run_from_csv(path: &Path, args: &FindLrArgs, out: &mut dyn Write) -> Result<()> {
    let curve = read_curve_csv(path)?;
    let s = suggestions(&curve)?;
    let agreement = edge(&curve).ok().map(|e| single(&e));
    if let Some(plot) = &args.plot {
        curve_chart(
            &curve,
            Some(&s),
            agreement.as_ref().map(|a| ("auto", a.consensus.auto)),
        )
        .save_svg(plot)?;
    }
    out.write_all(format_suggestions(&s, agreement.as_ref(), args.format).as_bytes())
        .context("cannot write to stdout")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use onecycle_core::finder::consensus;

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
        let json = |a: Option<&Agreement>| -> serde_json::Value {
            serde_json::from_str(&format_suggestions(&s, a, SuggestFormat::Json)).unwrap()
        };
        let v = json(Some(&single(&edge)));
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 8);
        assert_eq!(
            (obj["edge"].as_f64(), obj["auto"].as_f64()),
            (Some(1.0), Some(1.0 / 30.0))
        );
        assert_eq!(obj["spread"], 1.0);
        assert_eq!(obj["edges"], serde_json::json!([1.0]));
        assert_eq!(obj["valley"], 1e-3);
        assert_eq!(obj["steep"], 4e-3);
        // No blow-up: `auto` is null, fastai's four are still there.
        let v = json(None);
        assert!(v["auto"].is_null() && v["edge"].is_null() && v["spread"].is_null());
        assert_eq!(v["edges"], serde_json::json!([]));
        assert_eq!(v["minimum"], 3e-3);
        let text = format_suggestions(&s, None, SuggestFormat::Text);
        assert!(text.contains("raise --end-lr"), "{text}");
    }

    #[test]
    fn several_sweeps_report_the_median_edge_and_the_spread_as_confidence() {
        let s = Suggestions {
            valley: 1e-3,
            slide: 2e-3,
            minimum: 3e-3,
            steep: 4e-3,
        };
        let edges = vec![0.5, 0.4, 0.45];
        let agreed = Agreement {
            consensus: consensus(&mut edges.clone(), 10.0).unwrap(),
            edges: edges.clone(),
            divisor: 10.0,
        };
        let v: serde_json::Value =
            serde_json::from_str(&format_suggestions(&s, Some(&agreed), SuggestFormat::Json))
                .unwrap();
        assert_eq!(v["edge"], 0.45);
        assert!((v["auto"].as_f64().unwrap() - 0.045).abs() < 1e-15);
        assert!((v["spread"].as_f64().unwrap() - 1.25).abs() < 1e-12);
        assert_eq!(
            v["edges"],
            serde_json::json!([0.5, 0.4, 0.45]),
            "in sweep order"
        );
        let text = format_suggestions(&s, Some(&agreed), SuggestFormat::Text);
        assert!(
            text.contains("median divergence edge 4.500e-1 of 3 sweeps / 10"),
            "{text}"
        );
        assert!(
            text.contains("spread 1.25x") && !text.contains("disagree"),
            "{text}"
        );
        let wide = Agreement {
            consensus: consensus(&mut [0.1, 0.5, 0.3], 10.0).unwrap(),
            edges: vec![0.1, 0.5, 0.3],
            divisor: 10.0,
        };
        let text = format_suggestions(&s, Some(&wide), SuggestFormat::Text);
        assert!(
            text.contains("spread 5.00x") && text.contains("disagree"),
            "{text}"
        );
    }

    #[test]
    fn each_sweep_writes_its_own_curve_beside_the_first() {
        let csv = Path::new("out/find-lr.csv");
        assert_eq!(sweep_csv(csv, 0), csv);
        assert_eq!(sweep_csv(csv, 2), Path::new("out/find-lr-sweep3.csv"));
    }
}
