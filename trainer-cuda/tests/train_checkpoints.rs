//! Checkpoints that cannot silently lie: every file a resume reads is checked against
//! the SHA-256 recorded when it was written, before it is parsed. A changed, truncated or
//! missing checkpoint stops the resume with an error naming the file and the choices;
//! `--resume-from-verified` continues after the newest checkpoint that verifies and then
//! ends bit-for-bit where the uninterrupted run ends.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use trainer_cuda::data::Split;
use trainer_cuda::nn::{Network, Snapshot};
use trainer_cuda::train::{
    load_checkpoint, load_latest, train, Metrics, ModelName, OptimizerName, PresetName, ResumeFrom,
    RunConfig, RunDir, RunEnd, RunResult, ScheduleKind, ScheduleSpec,
};

mod common;
use common::{control, net, synthetic};

// ---------------------------------------------------------------- library level

fn data() -> Split {
    Split {
        train: synthetic(256, 1),
        test: synthetic(64, 2),
    }
}

/// Three epochs of 8 steps, Adam (so that the optimiser state and step count matter).
fn config() -> RunConfig {
    RunConfig {
        dataset: trainer_cuda::data::DatasetName::Mnist,
        model: ModelName::MnistCnn,
        optimizer: OptimizerName::Adam,
        weight_decay: 1e-4,
        batch_size: 32,
        epochs: 3.0,
        seed: 5,
        schedule: ScheduleSpec {
            kind: ScheduleKind::Onecycle,
            lr: 0.01,
            total_steps: 3 * (256 / 32),
            preset: PresetName::PyTorch,
            three_phase: false,
            fixed_momentum: 0.9,
        },
        evals_per_epoch: 2,
        val_size: 0,
        train_limit: None,
        test_limit: None,
    }
}

/// A run directory holding a run stopped after `stop` epochs.
fn stopped_run(stop: u32) -> (tempfile::TempDir, RunDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = RunDir {
        path: tmp.path().to_path_buf(),
    };
    let cfg = config();
    dir.write_config(&cfg).unwrap();
    let mut n = net(&cfg);
    let r = train(
        &cfg,
        n.as_mut(),
        &data(),
        None,
        &control(Some(&dir), Some(stop)),
    )
    .unwrap();
    assert_eq!(r.end, RunEnd::Stopped);
    (tmp, dir)
}

fn flip_byte(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let i = b.len() / 2;
    b[i] ^= 0x10;
    std::fs::write(path, b).unwrap();
}

fn truncate(path: &Path) {
    let b = std::fs::read(path).unwrap();
    std::fs::write(path, &b[..b.len() - 100]).unwrap();
}

fn bits(s: &Snapshot) -> Vec<(String, Vec<u32>)> {
    s.tensors
        .iter()
        .map(|t| (t.name.clone(), t.data.iter().map(|v| v.to_bits()).collect()))
        .collect()
}

/// `load_latest` fails with `needles` in its message and leaves the network as it was.
fn assert_refused(dir: &RunDir, needles: &[&str]) {
    let cfg = config();
    let mut n = net(&cfg);
    let before = bits(&n.snapshot());
    let err = format!("{:#}", load_latest(dir, n.as_mut()).unwrap_err());
    for needle in needles {
        assert!(err.contains(needle), "error lacks {needle:?}: {err}");
    }
    assert_eq!(bits(&n.snapshot()), before, "weights were loaded: {err}");
}

const EPOCH2: &str = "checkpoints/epoch-0002.safetensors";

#[test]
fn a_flipped_byte_in_the_latest_weights_stops_the_resume() {
    let (_tmp, dir) = stopped_run(2);
    flip_byte(&dir.path.join(EPOCH2));
    assert_refused(
        &dir,
        &[
            &dir.path.join(EPOCH2).display().to_string(),
            "does not match the SHA-256 recorded when it was written",
            "--resume-from-verified",
            "after epoch 1",
            "start over without --resume",
        ],
    );
}

#[test]
fn a_truncated_latest_checkpoint_stops_the_resume() {
    let (_tmp, dir) = stopped_run(2);
    truncate(&dir.path.join(EPOCH2));
    assert_refused(
        &dir,
        &[
            EPOCH2,
            "does not match the SHA-256",
            "--resume-from-verified",
            "after epoch 1",
        ],
    );
}

#[test]
fn a_missing_latest_checkpoint_stops_the_resume() {
    let (_tmp, dir) = stopped_run(2);
    std::fs::remove_file(dir.path.join(EPOCH2)).unwrap();
    assert_refused(
        &dir,
        &[
            EPOCH2,
            "is missing",
            "--resume-from-verified",
            "after epoch 1",
        ],
    );
}

#[test]
fn a_changed_resume_state_stops_the_resume() {
    let (_tmp, dir) = stopped_run(2);
    // The metrics and step count travel in a JSON file beside the weights: hashed too.
    let state = dir.path.join("checkpoints/epoch-0002.json");
    let text = std::fs::read_to_string(&state).unwrap();
    let changed = text.replacen("\"steps_done\": 16", "\"steps_done\": 15", 1);
    assert_ne!(text, changed);
    std::fs::write(&state, changed).unwrap();
    assert_refused(
        &dir,
        &[
            "checkpoints/epoch-0002.json",
            "does not match the SHA-256",
            "--resume-from-verified",
            "after epoch 1",
        ],
    );
}

#[test]
fn with_no_good_checkpoint_left_the_only_choice_is_to_start_over() {
    let (_tmp, dir) = stopped_run(1);
    flip_byte(&dir.path.join("checkpoints/epoch-0001.safetensors"));
    assert_refused(
        &dir,
        &[
            "checkpoints/epoch-0001.safetensors",
            "no earlier checkpoint verifies",
            "start over without --resume",
        ],
    );
    let mut n = net(&config());
    let err = format!(
        "{:#}",
        load_checkpoint(&dir, n.as_mut(), ResumeFrom::NewestVerified).unwrap_err()
    );
    assert!(
        err.contains("none of the 1 checkpoints") && err.contains("start over"),
        "{err}"
    );
}

#[test]
fn checkpoints_from_before_hashing_are_refused_with_the_fix() {
    let (_tmp, dir) = stopped_run(1);
    // The old checkpoint.json was the bare resume state, with no hash anywhere.
    std::fs::copy(
        dir.path.join("checkpoints/epoch-0001.json"),
        dir.state_path(),
    )
    .unwrap();
    assert_refused(
        &dir,
        &["recorded no SHA-256", "start over without --resume"],
    );
    let err = format!("{:#}", dir.read_config().unwrap_err());
    assert!(err.contains("recorded no SHA-256"), "{err}");
}

#[test]
fn a_changed_run_config_is_refused() {
    let (_tmp, dir) = stopped_run(1);
    let mut cfg = config();
    cfg.schedule.lr = 0.02;
    dir.write_config(&cfg).unwrap();
    let err = format!("{:#}", dir.read_config().unwrap_err());
    assert!(err.contains("run.json does not match the SHA-256"), "{err}");
}

fn losses(m: &Metrics) -> Vec<u64> {
    m.steps.iter().map(|s| s.loss.to_bits()).collect()
}

fn accs(m: &Metrics) -> Vec<u64> {
    m.evals.iter().map(|e| e.acc.to_bits()).collect()
}

fn assert_same_run(a: &RunResult, a_net: &dyn Network, b: &RunResult, b_net: &dyn Network) {
    assert_eq!(bits(&a_net.snapshot()), bits(&b_net.snapshot()));
    assert_eq!(
        a_net.snapshot().optimizer_step,
        b_net.snapshot().optimizer_step
    );
    assert_eq!(losses(&a.metrics), losses(&b.metrics));
    assert_eq!(accs(&a.metrics), accs(&b.metrics));
    assert_eq!(a.metrics.steps.len(), 24);
    assert_eq!(
        a.metrics.final_test.map(|t| t.acc.to_bits()),
        b.metrics.final_test.map(|t| t.acc.to_bits())
    );
}

#[test]
fn resume_from_verified_continues_after_the_previous_epoch_bit_for_bit() {
    let cfg = config();
    let d = data();
    let mut straight = net(&cfg);
    let full = train(&cfg, straight.as_mut(), &d, None, &control(None, None)).unwrap();
    assert_eq!(full.end, RunEnd::Completed);

    let (_tmp, dir) = stopped_run(2);
    flip_byte(&dir.path.join(EPOCH2));
    let point = dir.resume_point(ResumeFrom::NewestVerified).unwrap();
    assert_eq!(point.state.epochs_done, 1);
    assert_eq!(point.state.steps_done, 8);
    // The metrics are those of epoch 1, not the (intact) ones recorded after epoch 2.
    assert_eq!(point.state.metrics.steps.len(), 8);
    assert_eq!(point.skipped.len(), 1);
    assert!(point.skipped[0].contains(EPOCH2), "{:?}", point.skipped);

    let cfg2 = dir.read_config().unwrap();
    let mut resumed = net(&cfg2);
    let state = load_checkpoint(&dir, resumed.as_mut(), ResumeFrom::NewestVerified).unwrap();
    assert_eq!(state.epochs_done, 1);
    let rest = train(
        &cfg2,
        resumed.as_mut(),
        &d,
        Some(state),
        &control(Some(&dir), None),
    )
    .unwrap();
    assert_eq!(rest.end, RunEnd::Completed);
    assert_same_run(&full, straight.as_ref(), &rest, resumed.as_ref());

    // Epoch 2 was trained again and its checkpoint rewritten: the run verifies throughout.
    let mut last = net(&cfg2);
    assert_eq!(load_latest(&dir, last.as_mut()).unwrap().epochs_done, 3);
    assert_eq!(bits(&last.snapshot()), bits(&straight.snapshot()));
    let manifest = dir.read_manifest().unwrap().unwrap();
    let epochs: Vec<u32> = manifest.checkpoints.iter().map(|e| e.epochs_done).collect();
    assert_eq!(epochs, vec![1, 2, 3]);
}

#[test]
fn an_intact_run_resumes_from_its_latest_checkpoint_with_either_choice() {
    let (_tmp, dir) = stopped_run(2);
    let point = dir.resume_point(ResumeFrom::NewestVerified).unwrap();
    assert_eq!(point.state.epochs_done, 2);
    assert!(point.skipped.is_empty());
    assert_eq!(
        dir.resume_point(ResumeFrom::Latest).unwrap().state,
        point.state
    );
}

// ---------------------------------------------------------------- the binary

fn onecycle(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onecycle"))
        .args(args)
        .env_remove("ONECYCLE_DATA")
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_success(o: &Output) {
    assert!(o.status.success(), "{}", stderr(o));
}

/// Fails with a clear message and no panic or backtrace.
fn assert_clean_failure(o: &Output, needles: &[&str]) {
    assert!(!o.status.success(), "expected failure: {}", stderr(o));
    let err = stderr(o);
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    }
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(!err.contains("stack backtrace"), "backtrace: {err}");
}

/// A generated CIFAR-10 directory (the format's only check is its structure): five
/// training files of 20 records and a test file of 20, classes told apart by brightness.
fn write_cifar(data_dir: &Path) {
    let dir = data_dir.join("cifar10");
    std::fs::create_dir_all(&dir).unwrap();
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u8
    };
    let mut file = |name: &str| {
        let mut bytes = Vec::new();
        for _ in 0..20 {
            let label = next() % 10;
            bytes.push(label);
            for _ in 0..3072 {
                bytes.push(label * 12 + next() % 128);
            }
        }
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    for i in 1..=5 {
        file(&format!("data_batch_{i}.bin"));
    }
    file("test_batch.bin");
}

fn train_args(data: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "train",
        "--dataset",
        "cifar10",
        "--model",
        "mlp",
        "--schedule",
        "onecycle",
        "--max-lr",
        "0.05",
        "--epochs",
        "3",
        "--batch-size",
        "25",
        "--device",
        "cpu",
        "--seed",
        "3",
        "--quiet",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// Every file under `dir` with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn train_resume_refuses_bad_checkpoints_and_falls_back_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    write_cifar(&data);
    let (full, part) = (tmp.path().join("full"), tmp.path().join("part"));
    assert_success(&onecycle(&train_args(&data, &full, &[])));
    assert_success(&onecycle(&train_args(
        &data,
        &part,
        &["--stop-after-epoch", "2"],
    )));
    let part_s = part.to_str().unwrap();
    let resume = |extra: &[&str]| {
        let mut args = vec!["--resume", part_s];
        args.extend_from_slice(extra);
        onecycle(&train_args(&data, &part, &args))
    };
    let weights = part.join(EPOCH2);
    let good = std::fs::read(&weights).unwrap();
    let before = tree(&part);

    type Damage = fn(&Path);
    let damages: [(&str, Damage, &str); 3] = [
        ("flipped", flip_byte, "does not match the SHA-256"),
        ("truncated", truncate, "does not match the SHA-256"),
        (
            "missing",
            |p| std::fs::remove_file(p).unwrap(),
            "is missing",
        ),
    ];
    for (what, damage, problem) in damages {
        damage(&weights);
        let damaged = tree(&part);
        let o = resume(&[]);
        assert_clean_failure(
            &o,
            &[
                &weights.display().to_string(),
                problem,
                &format!("--resume {part_s} --resume-from-verified"),
                "after epoch 1",
                "start over without --resume",
            ],
        );
        // Nothing was trained or written.
        assert_eq!(tree(&part), damaged, "{what}: the run directory changed");
        std::fs::write(&weights, &good).unwrap();
    }
    assert_eq!(tree(&part), before);

    // The flag needs --resume.
    assert_clean_failure(
        &onecycle(&train_args(&data, &part, &["--resume-from-verified"])),
        &["--resume"],
    );

    flip_byte(&weights);
    let o = resume(&["--resume-from-verified"]);
    assert_success(&o);
    for f in [
        "steps.csv",
        "checkpoints/epoch-0002.safetensors",
        "checkpoints/epoch-0003.safetensors",
    ] {
        let (a, b) = (
            std::fs::read(full.join(f)).unwrap(),
            std::fs::read(part.join(f)).unwrap(),
        );
        assert!(a == b, "{f} differs from the uninterrupted run");
    }
    // Evaluations agree in everything but wall-clock columns (train_seconds, img_per_s).
    let evals = |p: &Path| -> Vec<String> {
        std::fs::read_to_string(p.join("epochs.csv"))
            .unwrap()
            .lines()
            .map(|l| l.split(',').take(5).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(evals(&full), evals(&part));
    assert_eq!(evals(&full).len(), 4, "header + one evaluation per epoch");
}
