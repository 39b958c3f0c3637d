//! `export`: pre-trains the demo MLP on MNIST on the host, picks the fine-tuning
//! hyper-parameters on a validation set, and writes the firmware's blob
//! (`firmware-demo/model/blob.bin`) and the results the firmware must reproduce
//! bit for bit (`firmware-demo/model/expected.txt`).
//!
//! ```text
//! cargo run --release -p onecycle-finetune --bin export -- [--data-dir DIR] [--out-dir DIR] [--check | --explore]
//! ```
//!
//! `--explore` prints the step-budget × batch × learning-rate × sample-order study
//! behind the demo's setup (about 40 s) and writes nothing.
//! `--check` regenerates everything in memory and compares it byte for byte with
//! the files in `--out-dir` (exit 1 when they differ) instead of writing.

mod explore;
mod mnist;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use onecycle_finetune::blob::{encode, encoded_len, Hyper, Parts};
use onecycle_finetune::finetune::{evaluate, fine_tune, RunSpec, Samples};
use onecycle_finetune::model::{Params, B1, HIDDEN, INPUTS, W1, W2};
use onecycle_finetune::rng::XorShift32;
use onecycle_finetune::{checksum, ConstantLr, OneCycleSteps, StepSchedule};

/// Error type of the tool: one line naming the problem and the fix.
pub type Result<T> = std::result::Result<T, String>;

/// Rotation of the shifted domain, degrees.
const ANGLE_DEG: f64 = 40.0;
/// Upright training images used for pre-training (the rest are never seen upright).
const PRETRAIN_N: usize = 50_000;
/// Pre-training: epochs, batch and 1cycle peak learning rate.
const PRETRAIN_EPOCHS: u32 = 2;
const PRETRAIN_BATCH: u32 = 32;
const PRETRAIN_MAX_LR: f32 = 0.2;
/// Shifted-domain fine-tuning set: rotated MNIST training images 50 000.. .
const N_TRAIN: usize = 300;
/// Held-out shifted test set on the device: rotated t10k images 0.. .
const N_TEST: usize = 400;
/// Validation set for choosing hyper-parameters: rotated t10k images 5 000.. .
const VAL_FROM: usize = 5_000;
const N_VAL: usize = 2_000;
/// Upright held-out digits on the device (forgetting check): t10k images 9 000.. .
/// (Never trained on; the rotated sets use t10k 0..400 and 5 000..7 000.)
const SOURCE_FROM: usize = 9_000;
const N_SOURCE: usize = 200;
/// Fine-tuning run length.
const STEPS: u32 = 150;
const BATCH: u32 = 16;
const SEED: u32 = 2024;
const FIRST_LAYER: bool = true;
/// Momentum of the constant-lr baseline (the usual SGD default).
const CONSTANT_MOMENTUM: f32 = 0.9;
/// Learning rates tried, for both the constant baseline and the 1cycle peak.
const GRID: [f32; 12] = [
    0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0,
];

/// Samples held in memory.
pub struct VecSamples {
    pixels: Vec<[u8; INPUTS]>,
    labels: Vec<u8>,
}

impl Samples for VecSamples {
    fn len(&self) -> usize {
        self.labels.len()
    }
    fn get(&self, i: usize) -> Option<(&[u8; INPUTS], usize)> {
        Some((self.pixels.get(i)?, usize::from(*self.labels.get(i)?)))
    }
}

fn take(split: &mnist::Split, from: usize, n: usize, degrees: f64) -> VecSamples {
    let idx = from..(from + n).min(split.len());
    VecSamples {
        pixels: idx
            .clone()
            .map(|i| mnist::shrink_rotated(split.image(i), degrees))
            .collect(),
        labels: idx.map(|i| split.labels[i]).collect(),
    }
}

/// He-uniform initial weights, zero biases, from a fixed seed.
fn init_params() -> Params {
    let mut p = Params::zeroed();
    let mut rng = XorShift32::new(12_345);
    let mut uniform =
        |bound: f64| ((f64::from(rng.next_u32()) / f64::from(u32::MAX)) * 2.0 - 1.0) * bound;
    let b1 = (6.0 / INPUTS as f64).sqrt();
    for w in &mut p.0[W1..B1] {
        *w = uniform(b1) as f32;
    }
    let b2 = (6.0 / HIDDEN as f64).sqrt();
    for w in &mut p.0[W2..W2 + 10 * HIDDEN] {
        *w = uniform(b2) as f32;
    }
    p
}

fn run<S: StepSchedule>(start: &Params, train: &VecSamples, schedule: &S) -> Params {
    run_with(start, train, schedule, STEPS, BATCH, SEED)
}

/// Fine-tunes a copy of `start` for `steps` steps of batch [`BATCH`], sample order `seed`.
fn run_with<S: StepSchedule + ?Sized>(
    start: &Params,
    train: &VecSamples,
    schedule: &S,
    steps: u32,
    batch: u32,
    seed: u32,
) -> Params {
    let mut p = start.clone();
    let mut v = Params::zeroed();
    let spec = RunSpec {
        steps,
        batch,
        seed,
        first_layer: FIRST_LAYER,
    };
    fine_tune(&mut p, &mut v, train, schedule, spec, |_, _, _, _| {});
    p
}

fn pct(correct: u32, n: usize) -> f64 {
    100.0 * f64::from(correct) / n as f64
}

/// The datasets and the pre-trained model every mode starts from.
pub struct Data {
    /// Pre-trained parameters.
    pub params: Params,
    /// Correct upright t10k digits of the pre-trained model (of 10 000).
    pub source_correct: u32,
    /// Upright t10k digits (all of them: the pre-training report).
    pub upright_test: VecSamples,
    /// Rotated fine-tuning samples.
    pub shifted_train: VecSamples,
    /// Rotated held-out test samples (the device's test set).
    pub shifted_test: VecSamples,
    /// Rotated validation samples (hyper-parameter choice).
    pub shifted_val: VecSamples,
    /// Upright held-out samples for the device's forgetting check.
    pub upright_holdout: VecSamples,
}

/// Loads MNIST, builds the splits and pre-trains the model.
fn prepare(data_dir: &Path) -> Result<Data> {
    let (train_split, test_split) = mnist::load(data_dir)?;
    let upright = take(&train_split, 0, PRETRAIN_N, 0.0);
    let upright_test = take(&test_split, 0, test_split.len(), 0.0);
    let shifted_train = take(&train_split, PRETRAIN_N, N_TRAIN, ANGLE_DEG);
    let shifted_test = take(&test_split, 0, N_TEST, ANGLE_DEG);
    let shifted_val = take(&test_split, VAL_FROM, N_VAL, ANGLE_DEG);
    let upright_holdout = take(&test_split, SOURCE_FROM, N_SOURCE, 0.0);

    // Pre-training on upright digits, with the project's own 1cycle schedule.
    let mut params = init_params();
    let mut velocity = Params::zeroed();
    let steps = PRETRAIN_EPOCHS * PRETRAIN_N as u32 / PRETRAIN_BATCH;
    let schedule = OneCycleSteps::pytorch(PRETRAIN_MAX_LR, steps)
        .map_err(|e| format!("pre-training schedule: {e}"))?;
    let spec = RunSpec {
        steps,
        batch: PRETRAIN_BATCH,
        seed: 1,
        first_layer: true,
    };
    fine_tune(
        &mut params,
        &mut velocity,
        &upright,
        &schedule,
        spec,
        |_, _, _, _| {},
    );
    let source_correct = evaluate(&params, &upright_test);
    eprintln!(
        "pre-trained: upright MNIST test {source_correct}/{} ({:.2} %)",
        upright_test.len(),
        pct(source_correct, upright_test.len())
    );
    Ok(Data {
        params,
        source_correct,
        upright_test,
        shifted_train,
        shifted_test,
        shifted_val,
        upright_holdout,
    })
}

/// Everything the tool produces: the blob and the expected-results text.
fn build(data: &Data) -> Result<(Vec<u8>, String)> {
    let Data {
        params,
        source_correct,
        upright_test,
        shifted_train,
        shifted_test,
        shifted_val,
        upright_holdout,
    } = data;
    let source_correct = *source_correct;
    let source_acc_bp =
        (f64::from(source_correct) * 10_000.0 / upright_test.len() as f64).round() as u32;

    let mut text = String::new();
    let _ = writeln!(
        text,
        "# Written by `cargo run --release -p onecycle-finetune --bin export`; do not edit."
    );
    let _ = writeln!(
        text,
        "# The firmware must log exactly these results (bit-identical f32 on host and device)."
    );
    let val_before = evaluate(params, shifted_val);
    let _ = writeln!(
        text,
        "# Hyper-parameter grid ({STEPS} steps, batch {BATCH}): correct of {N_VAL} rotated t10k validation digits,"
    );
    let _ = writeln!(
        text,
        "# mean over the sample orders {:?} (the same grid for both; the best mean wins, ties keep the smaller lr):",
        explore::ORDERS
    );
    let _ = writeln!(text, "#   pre-trained: {val_before}/{N_VAL}");
    let grid = explore::grid(data, STEPS, BATCH)?;
    for row in &grid {
        let _ = writeln!(
            text,
            "#   lr {:<6} constant {:7.1}   1cycle(max_lr) {:7.1}",
            row.lr, row.constant, row.onecycle
        );
    }
    let (best_c, best_o) = explore::best_of(&grid);
    let hyper = Hyper {
        steps: STEPS,
        batch: BATCH,
        seed: SEED,
        onecycle_max_lr: best_o,
        constant_lr: best_c,
        constant_momentum: CONSTANT_MOMENTUM,
        angle_deg: ANGLE_DEG as f32,
        first_layer: u32::from(FIRST_LAYER),
        source_acc_bp,
    };

    // What the device will compute on the held-out shifted test set.
    let before = evaluate(params, shifted_test);
    let sched = OneCycleSteps::pytorch(hyper.onecycle_max_lr, STEPS)
        .map_err(|e| format!("1cycle schedule: {e}"))?;
    let p_o = run(params, shifted_train, &sched);
    let p_c = run(
        params,
        shifted_train,
        &ConstantLr {
            lr: hyper.constant_lr,
            momentum: CONSTANT_MOMENTUM,
        },
    );
    let (after_o, after_c) = (evaluate(&p_o, shifted_test), evaluate(&p_c, shifted_test));
    let source_before = evaluate(params, upright_holdout);
    let (source_o, source_c) = (
        evaluate(&p_o, upright_holdout),
        evaluate(&p_c, upright_holdout),
    );
    let _ = writeln!(text, "angle_deg={ANGLE_DEG}");
    let _ = writeln!(
        text,
        "source_correct={source_correct}/{}",
        upright_test.len()
    );
    let _ = writeln!(text, "steps={STEPS}");
    let _ = writeln!(text, "batch={BATCH}");
    let _ = writeln!(text, "n_test={N_TEST}");
    let _ = writeln!(text, "pretrained_correct={before}");
    let _ = writeln!(text, "onecycle_max_lr={}", hyper.onecycle_max_lr);
    let _ = writeln!(text, "onecycle_correct={after_o}");
    let _ = writeln!(text, "onecycle_checksum={:#010x}", checksum(&p_o));
    let _ = writeln!(text, "constant_lr={}", hyper.constant_lr);
    let _ = writeln!(text, "constant_correct={after_c}");
    let _ = writeln!(text, "constant_checksum={:#010x}", checksum(&p_c));
    let _ = writeln!(text, "n_source={N_SOURCE}");
    let _ = writeln!(text, "source_pretrained_correct={source_before}");
    let _ = writeln!(text, "source_onecycle_correct={source_o}");
    let _ = writeln!(text, "source_constant_correct={source_c}");
    eprintln!(
        "shifted test ({ANGLE_DEG}°): pre-trained {before}/{N_TEST} ({:.2} %), 1cycle {after_o} ({:.2} %), constant {after_c} ({:.2} %)",
        pct(before, N_TEST),
        pct(after_o, N_TEST),
        pct(after_c, N_TEST)
    );

    let flat = |s: &VecSamples| s.pixels.iter().flatten().copied().collect::<Vec<u8>>();
    let (train_px, test_px, source_px) = (
        flat(shifted_train),
        flat(shifted_test),
        flat(upright_holdout),
    );
    let mut blob = vec![0u8; encoded_len(N_TRAIN, N_TEST, N_SOURCE)];
    let parts = Parts {
        hyper,
        params,
        train_labels: &shifted_train.labels,
        train_pixels: &train_px,
        test_labels: &shifted_test.labels,
        test_pixels: &test_px,
        source_labels: &upright_holdout.labels,
        source_pixels: &source_px,
    };
    encode(&parts, &mut blob).map_err(|e| format!("encoding the blob: {e}"))?;
    Ok((blob, text))
}

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| format!("cannot rename {} to {}: {e}", tmp.display(), path.display()))
}

struct Args {
    data_dir: PathBuf,
    out_dir: PathBuf,
    check: bool,
    explore: bool,
}

fn parse_args() -> Result<Args> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = Args {
        data_dir: onecycle_data::data_dir_or(root.join("data")),
        out_dir: root.join("firmware-demo/model"),
        check: false,
        explore: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data-dir" => args.data_dir = it.next().ok_or("--data-dir needs a directory")?.into(),
            "--out-dir" => args.out_dir = it.next().ok_or("--out-dir needs a directory")?.into(),
            "--check" => args.check = true,
            "--explore" => args.explore = true,
            "-h" | "--help" => {
                return Err("usage: export [--data-dir DIR (default $ONECYCLE_DATA, else data; MNIST is read from DIR/mnist)] [--out-dir DIR (default firmware-demo/model)] [--check | --explore]".into())
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(args)
}

fn main_inner() -> Result<bool> {
    let args = parse_args()?;
    let data = prepare(&args.data_dir)?;
    if args.explore {
        explore::explore(&data)?;
        return Ok(true);
    }
    let (blob, text) = build(&data)?;
    let files = [("blob.bin", blob), ("expected.txt", text.into_bytes())];
    if args.check {
        let mut same = true;
        for (name, bytes) in &files {
            let path = args.out_dir.join(name);
            let old =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if &old != bytes {
                eprintln!(
                    "{} differs from the regenerated one ({} vs {} bytes)",
                    path.display(),
                    old.len(),
                    bytes.len()
                );
                same = false;
            } else {
                eprintln!(
                    "{} regenerates identically ({} bytes)",
                    path.display(),
                    bytes.len()
                );
            }
        }
        return Ok(same);
    }
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.out_dir.display()))?;
    for (name, bytes) in &files {
        write_atomic(&args.out_dir.join(name), bytes)?;
    }
    eprintln!("wrote {}", args.out_dir.display());
    Ok(true)
}

fn main() -> ExitCode {
    match main_inner() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
