//! The `onecycle` binary: outputs and error paths (exit codes, one clear line, no panic).

use std::process::{Command, Output};

fn onecycle(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onecycle"))
        .args(args)
        .env_remove("ONECYCLE_DATA")
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The workspace's data directory when MNIST is in it; `None` (with a note on stderr: the
/// test skips) when it is not.
fn mnist_data() -> Option<std::path::PathBuf> {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    if data.join("mnist").is_dir() {
        Some(data)
    } else {
        eprintln!("skipped: MNIST not found; run `cargo run --release -p trainer-cuda -- data fetch mnist`");
        None
    }
}

/// Runs a recorded `onecycle train ...` command into `out` (quietly, on `data`) and
/// returns its `metrics.json`.
fn rerun_recorded(cmd: &str, data: &std::path::Path, out: &std::path::Path) -> serde_json::Value {
    let mut words: Vec<String> = cmd.split_whitespace().skip(1).map(String::from).collect();
    assert_eq!(words[0], "train", "{cmd}");
    words.extend(
        [
            "--quiet",
            "--data-dir",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let o = onecycle(&refs);
    assert!(o.status.success(), "{cmd}: {}", stderr(&o));
    serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
}

/// Fails with a clear message and no panic or backtrace.
fn assert_clean_failure(o: &Output, needle: &str) {
    assert!(
        !o.status.success(),
        "expected failure, got success: {}",
        stdout(o)
    );
    let err = stderr(o);
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(!err.contains("stack backtrace"), "backtrace: {err}");
}

#[test]
fn pytorch_schedule_csv_matches_hand_worked_values() {
    let o = onecycle(&[
        "schedule",
        "--preset",
        "pytorch",
        "--max-lr",
        "0.1",
        "--total-steps",
        "10",
        "--steps-past",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let rows: Vec<Vec<f64>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|f| f.parse().unwrap()).collect())
        .collect();
    assert_eq!(text.lines().next(), Some("step,lr,momentum"));
    assert_eq!(rows.len(), 12);
    // initial = 0.1/25; the peak at step pct·T − 1 = 2; the final value at T − 1 = 9 is
    // initial/1e4, held past the end; momentum mirrors the lr between 0.95 and 0.85.
    assert_eq!(rows[0][1], 0.004);
    assert_eq!(rows[0][2], 0.95);
    assert!(
        (rows[1][1] - 0.052).abs() < 1e-15,
        "halfway up: (0.004 + 0.1)/2"
    );
    assert_eq!(rows[2][1], 0.1);
    assert_eq!(rows[2][2], 0.85);
    assert!((rows[9][1] - 4e-7).abs() < 1e-20);
    assert_eq!(rows[11][1], rows[9][1]);
    assert_eq!(rows[11][2], 0.95);
}

#[test]
fn schedule_json_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("s.svg");
    let o = onecycle(&[
        "schedule",
        "--preset",
        "optax-linear",
        "--max-lr",
        "1",
        "--total-steps",
        "20",
        "--format",
        "json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["steps"].as_array().unwrap().len(), 20);
    assert_eq!(v["max_lr"], 1.0);
    // optax linear: the peak at int(0.3·20) = 6.
    assert_eq!(v["steps"][6]["lr"], 1.0);
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("<svg") && svg.contains("<polyline"));
}

#[test]
fn bad_schedule_inputs_fail_with_one_clear_line() {
    assert_clean_failure(
        &onecycle(&[
            "schedule",
            "--preset",
            "keras",
            "--max-lr",
            "1",
            "--total-steps",
            "5",
        ]),
        "pytorch, fastai, optax-cos, optax-linear",
    );
    assert_clean_failure(
        &onecycle(&["schedule", "--max-lr", "-1", "--total-steps", "5"]),
        "invalid schedule",
    );
    assert_clean_failure(
        &onecycle(&["schedule", "--max-lr", "x", "--total-steps", "5"]),
        "invalid value 'x'",
    );
    assert_clean_failure(
        &onecycle(&["schedule", "--max-lr", "1", "--total-steps", "0"]),
        "invalid schedule",
    );
    assert_clean_failure(
        &onecycle(&["schedule", "--max-lr", "1", "--total-steps", "3"]),
        "would be empty",
    );
    assert_clean_failure(
        &onecycle(&[
            "schedule",
            "--max-lr",
            "1",
            "--total-steps",
            "100",
            "--pct-start",
            "1.5",
        ]),
        "pct_start",
    );
    assert_clean_failure(
        &onecycle(&[
            "schedule",
            "--max-lr",
            "1",
            "--total-steps",
            "100",
            "--three-phase",
            "--pct-start",
            "0.6",
        ]),
        "invalid schedule",
    );
    assert_clean_failure(
        &onecycle(&[
            "schedule",
            "--max-lr",
            "1",
            "--total-steps",
            "100",
            "--base-momentum",
            "0.99",
        ]),
        "momentum",
    );
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn find_lr_from_csv_prints_the_four_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    // A bowl in log-lr: loss = 1 + (log10 lr + 2)^2 / 4 over 1e-6..1, 100 points.
    let mut csv = String::from("lr,loss\n");
    for i in 0..100 {
        let e = -6.0 + 6.0 * f64::from(i) / 99.0;
        csv.push_str(&format!(
            "{},{}\n",
            10f64.powf(e),
            1.0 + (e + 2.0).powi(2) / 4.0
        ));
    }
    let f = write(dir.path(), "c.csv", &csv);
    let plot = dir.path().join("p.svg");
    let o = onecycle(&[
        "find-lr",
        "--from-csv",
        &f,
        "--format",
        "json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 8, "{keys:?}");
    // The bowl never blows up past its starting loss: no divergence edge, no `auto`.
    assert!(
        v["auto"].is_null() && v["edge"].is_null() && v["spread"].is_null(),
        "{v}"
    );
    assert_eq!(v["edges"], serde_json::json!([]), "{v}");
    // The minimum of the bowl is at lr 1e-2, so `minimum` suggests 1e-3 (within one grid step).
    let minimum = v["minimum"].as_f64().unwrap();
    assert!((minimum.log10() + 3.0).abs() < 0.07, "minimum {minimum}");
    for k in ["valley", "slide", "steep"] {
        let x = v[k].as_f64().unwrap();
        assert!(x > 1e-6 && x <= 1.0, "{k} = {x}");
    }
    assert!(std::fs::read_to_string(plot).unwrap().contains("<circle"));
    let text = onecycle(&["find-lr", "--from-csv", &f]);
    assert!(stdout(&text).contains("valley") && stdout(&text).contains("raise --end-lr"));
}

#[test]
fn find_lr_sweeps_report_every_edge_their_spread_and_write_every_curve() {
    let Some(data) = mnist_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("r.csv");
    let base = [
        "find-lr",
        "--data-dir",
        data.to_str().unwrap(),
        "--train-limit",
        "3000",
        "--batch-size",
        "32",
        "--steps",
        "60",
        "--start-lr",
        "1e-3",
        "--device",
        "cpu",
        "--quiet",
        "--csv",
        csv.to_str().unwrap(),
    ];
    let o = onecycle(&[&base[..], &["--sweeps", "3", "--format", "json"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let mut edges: Vec<f64> = v["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_f64().unwrap())
        .collect();
    assert_eq!(edges.len(), 3, "{v}");
    edges.sort_by(f64::total_cmp);
    assert_eq!(v["edge"].as_f64(), Some(edges[1]), "{v}");
    assert_eq!(v["spread"].as_f64(), Some(edges[2] / edges[0]), "{v}");
    assert_eq!(v["auto"].as_f64(), Some(edges[1] / 30.0), "{v}");
    for f in ["r.csv", "r-sweep2.csv", "r-sweep3.csv", "r.svg"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let text = stdout(&onecycle(&[&base[..], &["--sweeps", "2"]].concat()));
    assert!(
        text.contains("of 2 sweeps") && text.contains("spread"),
        "{text}"
    );
    assert_clean_failure(
        &onecycle(&[&base[..], &["--sweeps", "0"]].concat()),
        "between 1 and 16",
    );
}

#[test]
fn find_lr_csv_errors() {
    let dir = tempfile::tempdir().unwrap();
    assert_clean_failure(
        &onecycle(&["find-lr", "--from-csv", "/nonexistent/x.csv"]),
        "cannot read /nonexistent/x.csv",
    );
    let f = write(dir.path(), "bad.csv", "lr,loss\n0.1,1\n0.2,oops\n");
    assert_clean_failure(&onecycle(&["find-lr", "--from-csv", &f]), "bad.csv:3");
    let f = write(dir.path(), "hdr.csv", "rate,value\n0.1,1\n");
    assert_clean_failure(
        &onecycle(&["find-lr", "--from-csv", &f]),
        "must name an `lr`",
    );
    let mut short = String::from("lr,loss\n");
    for i in 0..12 {
        short.push_str(&format!(
            "{},{}\n",
            1e-4 * f64::from(i + 1),
            2.0 - 0.01 * f64::from(i)
        ));
    }
    let f = write(dir.path(), "short.csv", &short);
    assert_clean_failure(&onecycle(&["find-lr", "--from-csv", &f]), "12 points");
}

#[test]
fn training_commands_reject_bad_options_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // Resume from a directory that is not a run.
    assert_clean_failure(
        &onecycle(&[
            "train",
            "--resume",
            d,
            "--data-dir",
            "/nonexistent-data-dir-for-test",
            "--device",
            "cpu",
        ]),
        "run.json",
    );
    assert_clean_failure(
        &onecycle(&["train", "--max-lr", "fast"]),
        "not a learning rate",
    );
    assert_clean_failure(
        &onecycle(&["compare", "--budgets", "2,1"]),
        "strictly ascending",
    );
    assert_clean_failure(&onecycle(&["compare", "--seeds", "0"]), "runs nothing");
    // Refused up front, not an allocation abort once the data is loaded.
    assert_clean_failure(
        &onecycle(&["compare", "--seeds", "4294967295"]),
        "more than the study can report",
    );
    assert_clean_failure(
        &onecycle(&["compare", "--budgets", "1,2", "--tune-budget", "4"]),
        "not on the ladder",
    );
    assert_clean_failure(
        &onecycle(&["train", "--epochs", "0"]),
        "not a training budget",
    );
    for wd in ["-1", "NaN", "inf"] {
        for cmd in ["train", "compare"] {
            assert_clean_failure(
                &onecycle(&[cmd, &format!("--weight-decay={wd}")]),
                "finite number >= 0",
            );
        }
    }
    assert_clean_failure(
        &onecycle(&["train", "--optimizer", "lbfgs"]),
        "invalid value 'lbfgs'",
    );
    assert_clean_failure(
        &onecycle(&["data", "fetch", "imagenet"]),
        "invalid value 'imagenet'",
    );
}

#[test]
fn corrupt_data_is_reported_with_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mnist = dir.path().join("mnist");
    std::fs::create_dir_all(&mnist).unwrap();
    for f in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ] {
        std::fs::write(mnist.join(f), b"not an idx file").unwrap();
    }
    let o = onecycle(&[
        "train",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--device",
        "cpu",
        "--max-lr",
        "0.1",
    ]);
    assert_clean_failure(&o, "mnist");
    assert!(
        stderr(&o).contains("onecycle data fetch mnist"),
        "no fix named: {}",
        stderr(&o)
    );
}

/// `train --resume` in a new process ends byte-for-byte where an uninterrupted run ends.
#[test]
fn resumed_run_matches_the_uninterrupted_run_byte_for_byte() {
    let Some(data) = mnist_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (full, part) = (dir.path().join("full"), dir.path().join("part"));
    let common = |out: &std::path::Path| -> Vec<String> {
        [
            "train",
            "--schedule",
            "onecycle",
            "--max-lr",
            "0.05",
            "--epochs",
            "3",
            "--train-limit",
            "1024",
            "--test-limit",
            "500",
            "--batch-size",
            "64",
            "--device",
            "cpu",
            "--seed",
            "4",
            "--quiet",
            "--data-dir",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = onecycle(&refs);
        assert!(o.status.success(), "{}", stderr(&o));
        o
    };
    run(common(&full));
    let mut stop = common(&part);
    stop.extend(["--stop-after-epoch".to_string(), "1".to_string()]);
    let o = run(stop);
    assert!(stdout(&o).contains("stopped"), "{}", stdout(&o));
    // Starting a fresh run over a directory with checkpoints is refused (no data lost).
    let again = common(&part);
    let refs: Vec<&str> = again.iter().map(String::as_str).collect();
    assert_clean_failure(&onecycle(&refs), "--resume");
    let mut resume = common(&part);
    resume.extend(["--resume".to_string(), part.to_str().unwrap().to_string()]);
    run(resume);
    for f in ["steps.csv", "checkpoints/epoch-0003.safetensors"] {
        let (a, b) = (
            std::fs::read(full.join(f)).unwrap(),
            std::fs::read(part.join(f)).unwrap(),
        );
        assert!(
            a == b,
            "{f} differs between the resumed and the uninterrupted run"
        );
    }
    // Evaluations agree in everything but wall-clock columns (train_seconds, img_per_s).
    let evals = |p: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(p.join("epochs.csv"))
            .unwrap()
            .lines()
            .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(evals(&full), evals(&part));
    assert_eq!(evals(&full).len(), 4, "header + one evaluation per epoch");
}

/// A small `compare` study: its JSON holds what the issue asks for, a second run into the
/// same directory trains nothing, and a run's recorded `onecycle train` command reproduces
/// its validation accuracy exactly.
#[test]
fn study_runs_are_kept_and_their_commands_reproduce_them() {
    let Some(data) = mnist_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    let args = [
        "compare",
        "--train-limit",
        "512",
        "--val-size",
        "500",
        "--test-limit",
        "500",
        "--budgets",
        "0.5,1",
        "--seeds",
        "1",
        "--grid",
        "0.1",
        "--batch-size",
        "32",
        "--device",
        "cpu",
        "--reference",
        "none",
        "--quiet",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let o = onecycle(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("| family | lr | to (a) | to (b) | to (c) |"));
    let json = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let study = json(&out.join("study.json"));
    let runs = study["runs"].as_array().unwrap();
    // 5 budget-aware families + the finder at 2 budgets, the constant lr once.
    assert_eq!(runs.len(), 6 * 2 + 1);
    for key in [
        "family",
        "lr",
        "budget",
        "seed",
        "final_val_acc",
        "final_test_acc",
        "steps",
        "train_seconds",
        "command",
    ] {
        assert!(runs.iter().all(|r| !r[key].is_null()), "a run lacks {key}");
    }
    assert_eq!(study["targets"].as_array().unwrap().len(), 3);
    assert!(!study["speedups"].as_array().unwrap().is_empty());
    for f in [
        "study.md",
        "accuracy-vs-budget.svg",
        "val-curves.svg",
        "find-lr.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let trained = study["trained"].as_u64().unwrap();
    assert!(trained > 0);

    // The same study again: everything comes from the store.
    let o = onecycle(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let again = json(&out.join("study.json"));
    assert_eq!(again["trained"], 0);
    // Every lookup of the first invocation (trained, or found again within it) is a hit.
    let lookups = trained + study["reused"].as_u64().unwrap();
    assert_eq!(again["reused"].as_u64().unwrap(), lookups);
    assert_eq!(again["runs"], study["runs"]);
    // The study's cost is the training time its records hold, whichever invocation paid it.
    let cost = study["recorded_train_seconds"].as_f64().unwrap();
    assert!(cost > 0.0 && cost <= study["wall_seconds"].as_f64().unwrap());
    assert_eq!(
        again["recorded_train_seconds"],
        study["recorded_train_seconds"]
    );

    // The 1cycle run at 1 epoch, reproduced from its recorded command.
    let run = runs
        .iter()
        .find(|r| r["family"] == "1cycle" && r["budget"] == 1.0)
        .unwrap();
    let cmd = run["command"].as_str().unwrap();
    let metrics = rerun_recorded(cmd, &data, &dir.path().join("again"));
    let last = metrics["evals"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(metrics["eval_split"], "validation");
    assert_eq!(last["acc"], run["final_val_acc"], "{cmd}");
    assert_eq!(metrics["final_test"]["acc"], run["final_test_acc"], "{cmd}");
}

/// Reference mode on a slice of MNIST: the reference is tuned at its own budget and run
/// on every seed, study.json holds its target and the three ratios, only the chosen
/// families run, each ladder stops at the first rung that reaches every target, and the
/// reference's recorded command reproduces it.
#[test]
fn reference_mode_reports_three_ratios_and_stops_ladders_at_the_targets() {
    let Some(data) = mnist_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    let budgets = [0.25, 0.5, 1.0, 2.0];
    let o = onecycle(&[
        "compare",
        "--train-limit",
        "512",
        "--val-size",
        "500",
        "--test-limit",
        "200",
        "--budgets",
        "0.25,0.5,1,2",
        "--seeds",
        "2",
        "--grid",
        "0.03,0.1",
        "--batch-size",
        "32",
        "--device",
        "cpu",
        "--reference",
        "step@2,constant@1",
        "--families",
        "linear,1cycle",
        "--quiet",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(md.contains("### Against the reference step@2"), "{md}");
    assert!(md.contains("### Against the reference constant@1"), "{md}");
    assert!(
        md.contains(
            "| strict | reference's first evaluation at the target / 1cycle epochs (MLPerf) |"
        ),
        "{md}"
    );
    let study: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("study.json")).unwrap()).unwrap();
    let reference = &study["reference"];
    assert_eq!(reference["family"], "step");
    assert_eq!(reference["budget_epochs"], 2.0);
    assert!(reference["tuning"].as_array().unwrap().len() >= 2);
    assert_eq!(reference["first_hit"].as_array().unwrap().len(), 2);
    for ratio in ["budget", "strict", "budget_aware"] {
        assert_eq!(
            study["ratios"][ratio]["per_seed"].as_array().unwrap().len(),
            2,
            "{ratio}"
        );
    }
    let second = &study["second_references"][0]["reference"];
    assert_eq!(second["family"], "constant");
    assert!(out.join("reference-curves.svg").is_file());
    // Every target of both references, and the ladders' stopping point.
    let targets: Vec<f64> = study["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["acc"].as_f64().unwrap())
        .collect();
    assert_eq!(targets.len(), 4);
    let stop = targets.iter().copied().fold(f64::MIN, f64::max);
    let runs = study["runs"].as_array().unwrap();
    for family in ["1cycle", "linear"] {
        for seed in 0..2u64 {
            let ladder: Vec<(f64, f64)> = runs
                .iter()
                .filter(|r| r["family"] == family && r["seed"] == seed)
                .map(|r| {
                    (
                        r["budget"].as_f64().unwrap(),
                        r["final_val_acc"].as_f64().unwrap(),
                    )
                })
                .collect();
            let n = ladder.len();
            assert!(n >= 1, "{family} seed {seed} ran no rung");
            let rungs: Vec<f64> = ladder.iter().map(|x| x.0).collect();
            assert_eq!(
                rungs,
                budgets[..n],
                "{family} seed {seed}: not a prefix of the ladder"
            );
            assert!(
                ladder[..n - 1].iter().all(|x| x.1 < stop),
                "{family} seed {seed} climbed past a rung at every target: {ladder:?}"
            );
            assert!(
                n == budgets.len() || ladder[n - 1].1 >= stop,
                "{family} seed {seed} stopped below the targets: {ladder:?}"
            );
        }
    }
    assert!(runs
        .iter()
        .all(|r| r["family"] == "1cycle" || r["family"] == "linear"));

    // The reference on seed 1, reproduced from its recorded command.
    let refs = study["reference_runs"].as_array().unwrap();
    assert_eq!(refs.len(), 4, "two references on two seeds");
    let run = refs
        .iter()
        .find(|r| r["family"] == "step" && r["seed"] == 1)
        .unwrap();
    let cmd = run["command"].as_str().unwrap();
    assert!(
        cmd.contains("--schedule step") && cmd.contains("--epochs 2"),
        "{cmd}"
    );
    let metrics = rerun_recorded(cmd, &data, &dir.path().join("again"));
    let evals = metrics["evals"].as_array().unwrap();
    assert_eq!(evals.last().unwrap()["acc"], run["final_val_acc"], "{cmd}");
    assert_eq!(evals.len(), 2, "the reference is evaluated once per epoch");
}

#[test]
fn compare_refuses_bad_references_and_families_before_loading_data() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["compare", "--reference", "step@0"],
            "positive number of epochs",
        ),
        (
            &["compare", "--reference", "sgdr@8"],
            "not a reference schedule",
        ),
        (
            &["compare", "--families", "1cycle,sgdr"],
            "not a family of the study",
        ),
        (
            &[
                "compare",
                "--reference",
                "none",
                "--families",
                "1cycle,linear",
            ],
            "add constant and one of step, cosine, linear",
        ),
        (
            &["compare", "--families", "linear"],
            "add 1cycle to --families",
        ),
        (
            &["train", "--resume", "/nonexistent-run-dir-for-test"],
            "no run directory there",
        ),
        (&["compare", "--seeds", "0"], "runs nothing"),
    ];
    for (args, needle) in cases {
        assert_clean_failure(&onecycle(args), needle);
    }
}

/// Two processes on one run directory: while a `train` runs, a second `train --out` and a
/// `--resume` of it are refused with the holder's pid and write nothing; the first run
/// finishes and resumes cleanly afterwards (the lock died with its process).
#[test]
fn a_run_directory_has_one_writer() {
    let Some(data) = mnist_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let (d, o) = (data.to_str().unwrap(), out.to_str().unwrap());
    let train = [
        "train",
        "--schedule",
        "onecycle",
        "--max-lr",
        "0.05",
        "--epochs",
        "2",
        "--train-limit",
        "4096",
        "--test-limit",
        "200",
        "--batch-size",
        "64",
        "--device",
        "cpu",
        "--quiet",
        "--data-dir",
        d,
        "--out",
        o,
    ];
    let mut first = Command::new(env!("CARGO_BIN_EXE_onecycle"))
        .args(train)
        .env_remove("ONECYCLE_DATA")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = first.id().to_string();
    // run.json is written after the lock is taken.
    let started = std::time::Instant::now();
    while !out.join("run.json").exists() {
        assert!(
            started.elapsed().as_secs() < 60,
            "the first run never took its lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = onecycle(&train);
    let resume = onecycle(&[
        "train",
        "--resume",
        o,
        "--data-dir",
        d,
        "--device",
        "cpu",
        "--quiet",
    ]);
    let still_running = first.try_wait().unwrap().is_none();
    let status = first.wait().unwrap();
    assert!(status.success(), "the first run failed");
    if still_running {
        for o in [&second, &resume] {
            assert_clean_failure(o, &format!("in use by process {pid}"));
            assert!(stderr(o).contains("onecycle train"), "{}", stderr(o));
        }
    }
    // The first run's outputs are its own: a resume of it (lock released) verifies them.
    let o = onecycle(&[
        "train",
        "--resume",
        o,
        "--data-dir",
        d,
        "--device",
        "cpu",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A study record edited by hand, or copied under another run's key, is not reported:
/// the study trains that run again and says so.
#[test]
fn an_edited_or_copied_study_record_is_retrained_not_reported() {
    let Some(data) = mnist_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    let args = [
        "compare",
        "--train-limit",
        "256",
        "--val-size",
        "200",
        "--test-limit",
        "100",
        "--budgets",
        "0.5,1",
        "--seeds",
        "1",
        "--grid",
        "0.03,0.1",
        "--batch-size",
        "32",
        "--reference",
        "step@1",
        "--families",
        "1cycle,linear",
        "--device",
        "cpu",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let o = onecycle(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let study = read(&out.join("study.json"));
    let runs: Vec<std::path::PathBuf> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("run-"))
        .collect();
    assert!(runs.len() >= 2);
    // Edit one record's accuracy (curve and all); copy another over a third's name.
    let mut edited = read(&runs[0]);
    let truth = edited["final_val_acc"].clone();
    edited["final_val_acc"] = serde_json::json!(0.99);
    edited["curve"].as_array_mut().unwrap().last_mut().unwrap()[1] = serde_json::json!(0.99);
    std::fs::write(&runs[0], serde_json::to_string(&edited).unwrap()).unwrap();
    std::fs::copy(&runs[1], &runs[2 % runs.len()]).ok();
    let o = onecycle(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("(edited or damaged)"), "{err}");
    let again = read(&out.join("study.json"));
    assert!(again["trained"].as_u64().unwrap() >= 1);
    let accs = |s: &serde_json::Value| -> Vec<String> {
        s["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let what = [&r["family"], &r["lr"], &r["budget"], &r["final_val_acc"]];
                what.map(ToString::to_string).join(" ")
            })
            .collect()
    };
    assert_eq!(
        accs(&again),
        accs(&study),
        "the retrained runs equal the originals"
    );
    assert_eq!(read(&runs[0])["final_val_acc"], truth);
}

/// `--resume` continues a run as recorded: typed flags that contradict `run.json` are
/// refused, each named with the run's value, before anything is trained; the same flags,
/// or none (an `mlp` run needs no `--model mlp`), resume it.
#[test]
fn resume_refuses_flags_that_contradict_the_run() {
    let Some(data) = mnist_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("mlp");
    let (d, r) = (data.to_str().unwrap(), run.to_str().unwrap());
    let o = onecycle(&[
        "train",
        "--model",
        "mlp",
        "--schedule",
        "linear",
        "--max-lr",
        "0.05",
        "--epochs",
        "2",
        "--train-limit",
        "512",
        "--test-limit",
        "100",
        "--batch-size",
        "64",
        "--seed",
        "3",
        "--device",
        "cpu",
        "--quiet",
        "--data-dir",
        d,
        "--out",
        r,
        "--stop-after-epoch",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let steps = std::fs::read_to_string(run.join("steps.csv")).unwrap();
    let o = onecycle(&[
        "train",
        "--resume",
        r,
        "--epochs",
        "5",
        "--max-lr",
        "0.1",
        "--seed",
        "3",
        "--weight-decay",
        "0",
        "--model",
        "mnist-cnn",
        "--data-dir",
        d,
        "--quiet",
    ]);
    assert_clean_failure(&o, "holds a run with other settings");
    let err = stderr(&o);
    for want in [
        "--epochs 5 (the run has 2)",
        "--max-lr 0.1 (the run has 0.05)",
        "--weight-decay 0 (the run has 0.0001)",
        "--model mnist-cnn (the run has mlp)",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    assert!(
        !err.contains("--seed"),
        "an agreeing flag is not a difference: {err}"
    );
    assert_eq!(
        std::fs::read_to_string(run.join("steps.csv")).unwrap(),
        steps,
        "a refused resume trained"
    );
    // No model flag: the run's own model; the agreeing --seed and --max-lr are accepted.
    let o = onecycle(&[
        "train",
        "--resume",
        r,
        "--seed",
        "3",
        "--max-lr",
        "0.05",
        "--data-dir",
        d,
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(run.join("checkpoints/epoch-0002.safetensors").is_file());
}

/// Data directory entries that are not what they seem: a FIFO in place of a data file is
/// refused at once (it used to block the read for ever), with advice that names the
/// user's `--data-dir`; a `mnist` that is a symlink loop is refused before any download.
#[cfg(unix)]
#[test]
fn odd_data_entries_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    std::fs::create_dir_all(root.join("mnist")).unwrap();
    let fifo = root.join("mnist/train-images-idx3-ubyte");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let r = root.to_str().unwrap();
    let args = [
        "train",
        "--max-lr",
        "0.1",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--quiet",
        "--data-dir",
        r,
        "--out",
    ];
    let out = dir.path().join("run");
    let mut a: Vec<&str> = args.to_vec();
    a.push(out.to_str().unwrap());
    let o = onecycle(&a);
    assert_clean_failure(&o, "not a regular file");
    assert!(
        stderr(&o).contains(&format!("--data-dir {r}")),
        "{}",
        stderr(&o)
    );

    let loop_root = dir.path().join("loop");
    std::fs::create_dir_all(&loop_root).unwrap();
    std::os::unix::fs::symlink("mnist", loop_root.join("mnist")).unwrap();
    let l = loop_root.to_str().unwrap();
    let o = onecycle(&[
        "train",
        "--max-lr",
        "0.1",
        "--device",
        "cpu",
        "--quiet",
        "--data-dir",
        l,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_clean_failure(&o, "symbolic link that cannot be used");
    assert!(!stderr(&o).contains("fetching it (once)"), "{}", stderr(&o));
}

/// `RAYON_NUM_THREADS` far above the machine's threads is capped with a warning (it used
/// to start thousands of threads and crawl); the run completes.
#[test]
fn an_absurd_thread_count_is_capped() {
    let Some(data) = mnist_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_onecycle"))
        .args([
            "train",
            "--max-lr",
            "0.05",
            "--epochs",
            "0.5",
            "--train-limit",
            "256",
            "--test-limit",
            "100",
            "--batch-size",
            "32",
            "--device",
            "cpu",
            "--quiet",
            "--data-dir",
            data.to_str().unwrap(),
            "--out",
            dir.path().join("r").to_str().unwrap(),
        ])
        .env_remove("ONECYCLE_DATA")
        .env("RAYON_NUM_THREADS", "99999")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("RAYON_NUM_THREADS=99999 is more than this machine's"),
        "{}",
        stderr(&o)
    );
}

/// Only the newest `--keep-checkpoints` checkpoints stay on disk (default 3), the manifest
/// lists exactly those, and a run stopped and resumed with pruned history still ends bit
/// for bit where the uninterrupted run (keeping every checkpoint) ends.
#[test]
fn old_checkpoints_are_pruned_and_resume_still_matches() {
    let Some(data) = mnist_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = data.to_str().unwrap().to_string();
    let args = |out: &std::path::Path, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "train",
            "--schedule",
            "onecycle",
            "--max-lr",
            "0.05",
            "--epochs",
            "5",
            "--train-limit",
            "512",
            "--test-limit",
            "100",
            "--batch-size",
            "64",
            "--seed",
            "2",
            "--device",
            "cpu",
            "--quiet",
            "--data-dir",
            &d,
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |v: Vec<String>| {
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        let o = onecycle(&refs);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    let (all, pruned) = (dir.path().join("all"), dir.path().join("pruned"));
    run(args(&all, &["--keep-checkpoints", "0"]));
    run(args(
        &pruned,
        &["--stop-after-epoch", "4", "--keep-checkpoints", "2"],
    ));
    let listed = |p: &std::path::Path| -> Vec<u64> {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p.join("checkpoint.json")).unwrap())
                .unwrap();
        m["checkpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["epochs_done"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(listed(&all), vec![1, 2, 3, 4, 5]);
    assert_eq!(listed(&pruned), vec![3, 4]);
    let mut files: Vec<String> = std::fs::read_dir(pruned.join("checkpoints"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "epoch-0003.json",
            "epoch-0003.safetensors",
            "epoch-0004.json",
            "epoch-0004.safetensors"
        ]
    );
    // Resumed with the default (3 kept): epochs 3, 4, 5 remain, and the result is the
    // uninterrupted run's.
    run(args(&pruned, &["--resume", pruned.to_str().unwrap()]));
    assert_eq!(listed(&pruned), vec![3, 4, 5]);
    let last = "checkpoints/epoch-0005.safetensors";
    assert!(
        std::fs::read(all.join(last)).unwrap() == std::fs::read(pruned.join(last)).unwrap(),
        "the pruned, resumed run differs from the uninterrupted one"
    );
}
