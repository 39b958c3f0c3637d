//! `train --resume`: the flags a user typed, checked against the run they resume. A run
//! continues as recorded in its `run.json`; a typed flag that says otherwise is refused
//! with every difference in the user's own flag syntax, never silently dropped.

use clap::{parser::ValueSource, ArgMatches};

use crate::cli::train::TrainArgs;
use crate::train::choice::Choice;
use crate::train::config::{MaxLr, RunConfig};

/// The ids (field names) of the arguments given on the command line in `m`.
pub fn given(m: &ArgMatches) -> Vec<String> {
    m.ids()
        .filter(|id| m.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

fn enum_name<T: Choice>(v: &T) -> String {
    v.name().to_string()
}

fn limit(n: Option<usize>) -> String {
    n.map_or_else(|| "none".to_string(), |n| n.to_string())
}

/// Every flag in `args.given` whose value differs from the run's `cfg`, as
/// `--flag typed (the run has stored)`. `--max-lr auto` agrees with any stored lr (the
/// lr it found is what the run stores).
pub fn conflicts(args: &TrainArgs, cfg: &RunConfig) -> Vec<String> {
    let c = &args.common;
    let s = &cfg.schedule;
    let mut out = Vec::new();
    let mut check = |id: &str, flag: &str, typed: String, stored: String| {
        if args.given.iter().any(|g| g == id) && typed != stored {
            out.push(format!("{flag} {typed} (the run has {stored})"));
        }
    };
    check(
        "schedule",
        "--schedule",
        args.schedule.name().into(),
        s.kind.name().into(),
    );
    check(
        "preset",
        "--preset",
        args.preset.name().into(),
        s.preset.name().into(),
    );
    check(
        "three_phase",
        "--three-phase",
        args.three_phase.to_string(),
        s.three_phase.to_string(),
    );
    if let MaxLr::Value(v) = args.max_lr {
        check("max_lr", "--max-lr", v.to_string(), s.lr.to_string());
    }
    check(
        "epochs",
        "--epochs",
        args.epochs.to_string(),
        cfg.epochs.to_string(),
    );
    check(
        "evals_per_epoch",
        "--evals-per-epoch",
        args.evals_per_epoch.to_string(),
        cfg.evals_per_epoch.to_string(),
    );
    check(
        "val_size",
        "--val-size",
        args.val_size.to_string(),
        cfg.val_size.to_string(),
    );
    check(
        "dataset",
        "--dataset",
        c.dataset.to_string(),
        cfg.dataset.to_string(),
    );
    check(
        "model",
        "--model",
        enum_name(&c.model),
        enum_name(&cfg.model),
    );
    check(
        "optimizer",
        "--optimizer",
        enum_name(&c.optimizer),
        enum_name(&cfg.optimizer),
    );
    check(
        "weight_decay",
        "--weight-decay",
        c.weight_decay.to_string(),
        cfg.weight_decay.to_string(),
    );
    check(
        "batch_size",
        "--batch-size",
        c.batch_size.to_string(),
        cfg.batch_size.to_string(),
    );
    check("seed", "--seed", c.seed.to_string(), cfg.seed.to_string());
    check(
        "train_limit",
        "--train-limit",
        limit(c.train_limit),
        limit(cfg.train_limit),
    );
    check(
        "test_limit",
        "--test-limit",
        limit(c.test_limit),
        limit(cfg.test_limit),
    );
    out
}
