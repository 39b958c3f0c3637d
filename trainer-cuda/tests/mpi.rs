//! Data-parallel training over MPI, end to end: `mpirun --oversubscribe -np 2 onecycle ...`
//! on this machine's Open MPI (CI installs `openmpi-bin`). Built only with `--features mpi`.
//!
//! Equivalence tolerance. Two ranks with 32 images each compute each half of the global
//! batch's gradient and average the two; one process sums all 64 at once. The two differ only
//! in the order of f32 additions: each step's gradient by a few ulps (pairwise-summation
//! depth, log2(64) + 2), which 32 SGD-with-momentum steps at lr ≤ 0.05 carry into weights and
//! momentum buffers. The check allows 64 ulps of each tensor's largest value (2⁻²⁴·64·max|t|);
//! measured: at most 5. A wrong shard, a missing average (a gradient twice too large) or a rank
//! skipping a step moves weights by ~lr·|g| ≈ 1e-3, some 10⁴ ulps.

#![cfg(feature = "mpi")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn data_dir() -> PathBuf {
    trainer_cuda::data::data_dir_or(concat!(env!("CARGO_MANIFEST_DIR"), "/../data"))
}

/// `onecycle args` as `np` MPI processes.
fn mpirun(np: usize) -> Command {
    let mut c = Command::new("mpirun");
    c.args([
        "--allow-run-as-root",
        "--oversubscribe",
        "-np",
        &np.to_string(),
    ])
    .args(["-x", "ONECYCLE_DATA"])
    .arg(env!("CARGO_BIN_EXE_onecycle"))
    .env("ONECYCLE_DATA", data_dir());
    c
}

/// `onecycle args` as a plain process (a world of one).
fn plain() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_onecycle"));
    c.env("ONECYCLE_DATA", data_dir());
    c
}

fn ok(mut c: Command, args: &[&str]) -> Output {
    let out = c.args(args).output().expect("launch");
    assert!(
        out.status.success(),
        "{:?} failed: {}\n{}",
        args,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A short MLP run (no batch norm) on 2,048 MNIST images: 32 steps of global batch 64.
fn run_args<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "train",
        "--model",
        "mlp",
        "--train-limit",
        "2048",
        "--test-limit",
        "500",
        "--batch-size",
        "64",
        "--max-lr",
        "0.05",
        "--quiet",
        "--out",
        out,
    ];
    a.extend_from_slice(extra);
    a
}

/// The tensors of a safetensors file (all f32 here), by name.
fn tensors(path: &Path) -> BTreeMap<String, Vec<f32>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.as_str() != "__metadata__")
        .map(|(k, v)| {
            let o = &v["data_offsets"];
            let (a, b) = (
                o[0].as_u64().unwrap() as usize,
                o[1].as_u64().unwrap() as usize,
            );
            let values = data[a..b]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            (k.clone(), values)
        })
        .collect()
}

fn last_checkpoint(dir: &Path) -> PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    files.pop().expect("a checkpoint")
}

/// The `lr` and `momentum` columns of steps.csv, as written.
fn schedule_columns(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("steps.csv"))
        .unwrap()
        .lines()
        .map(|l| l.split(',').skip(2).take(2).collect::<Vec<_>>().join(","))
        .collect()
}

#[test]
fn two_ranks_equal_one_process_with_the_global_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    ok(
        plain(),
        &run_args(one.to_str().unwrap(), &["--epochs", "1"]),
    );
    ok(
        mpirun(2),
        &run_args(
            two.to_str().unwrap(),
            &["--epochs", "1", "--log-every-rank"],
        ),
    );

    let (a, b) = (
        tensors(&last_checkpoint(&one)),
        tensors(&last_checkpoint(&two)),
    );
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let mut worst_ulps = 0f64;
    for (name, x) in &a {
        let y = &b[name];
        let scale = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        let ulp = f64::from(scale) * f64::from(f32::EPSILON) / 2.0;
        let diff = x
            .iter()
            .zip(y)
            .map(|(p, q)| f64::from((p - q).abs()))
            .fold(0.0, f64::max);
        worst_ulps = worst_ulps.max(diff / ulp);
        assert!(
            diff <= 64.0 * ulp,
            "{name}: differs by {diff:e} ({:.1} ulps)",
            diff / ulp
        );
    }
    eprintln!("2 ranks vs 1 process: worst difference {worst_ulps:.1} ulps");
    assert!(a.values().flatten().any(|v| *v != 0.0));
    // The schedule is a pure function of the global step: every rank logged the same lr and
    // momentum at every step, and so did the single process.
    let rank_0 = schedule_columns(&two);
    assert_eq!(rank_0.len(), 1 + 32);
    assert_eq!(schedule_columns(&two.join("rank-1")), rank_0);
    assert_eq!(schedule_columns(&one), rank_0);
}

#[test]
fn a_global_batch_that_does_not_divide_is_refused_at_start_up() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let mut args = run_args(out.to_str().unwrap(), &["--epochs", "1"]);
    let i = args.iter().position(|a| *a == "64").unwrap();
    args[i] = "63";
    let started = Instant::now();
    let result = mpirun(2).args(&args).output().unwrap();
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("must divide by the 2 processes"),
        "{stderr}"
    );
    assert!(stderr.contains("--batch-size 62 or 64"), "{stderr}");
    assert!(
        stderr.contains("rank 0 of 2") || stderr.contains("rank 1 of 2"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(!out.exists(), "nothing is written for a refused launch");
}

#[test]
fn resuming_a_two_rank_run_equals_the_uninterrupted_two_rank_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, split) = (tmp.path().join("whole"), tmp.path().join("split"));
    ok(
        mpirun(2),
        &run_args(whole.to_str().unwrap(), &["--epochs", "2"]),
    );
    ok(
        mpirun(2),
        &run_args(
            split.to_str().unwrap(),
            &["--epochs", "2", "--stop-after-epoch", "1"],
        ),
    );
    ok(
        mpirun(2),
        &[
            "train",
            "--model",
            "mlp",
            "--quiet",
            "--resume",
            split.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(last_checkpoint(&whole)).unwrap(),
        std::fs::read(last_checkpoint(&split)).unwrap(),
        "final checkpoints differ"
    );
    assert_eq!(schedule_columns(&whole), schedule_columns(&split));
}

/// The PIDs of `mpirun`'s child processes and their MPI ranks (from their environment).
fn ranks_of(mpirun: u32) -> Vec<(u32, usize)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|r| r.split_whitespace().nth(1));
        if ppid != Some(&mpirun.to_string()) {
            continue;
        }
        let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        for var in env.split(|b| *b == 0) {
            if let Some(rank) = var.strip_prefix(b"OMPI_COMM_WORLD_RANK=") {
                if let Ok(rank) = String::from_utf8_lossy(rank).parse() {
                    found.push((pid, rank));
                }
            }
        }
    }
    found
}

#[test]
fn a_killed_rank_ends_the_job_and_the_last_checkpoint_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    // Long enough to be killed mid-run: 8 epochs of 32 steps.
    let args = run_args(dir.to_str().unwrap(), &["--epochs", "8"]);
    let mut job = mpirun(2)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first complete checkpoint.
    let started = Instant::now();
    while !dir.join("checkpoint.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no checkpoint within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let ranks = ranks_of(job.id());
    let (victim, _) = *ranks
        .iter()
        .find(|(_, r)| *r == 1)
        .expect("rank 1's process");
    Command::new("kill")
        .args(["-9", &victim.to_string()])
        .status()
        .unwrap();
    let killed = Instant::now();
    let status = loop {
        if let Some(s) = job.try_wait().unwrap() {
            break s;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "the job outlived a killed rank by 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "a job with a killed rank exited 0");
    eprintln!(
        "job ended {:.2} s after rank 1 was killed",
        killed.elapsed().as_secs_f64()
    );
    // The last complete checkpoint resumes and the run finishes.
    ok(
        mpirun(2),
        &[
            "train",
            "--model",
            "mlp",
            "--quiet",
            "--resume",
            dir.to_str().unwrap(),
        ],
    );
    let steps = std::fs::read_to_string(dir.join("steps.csv")).unwrap();
    assert_eq!(
        steps.lines().count(),
        1 + 8 * 32,
        "every step logged once after the resume"
    );
}

#[test]
fn the_range_test_sees_the_all_reduced_loss_and_suggests_the_same_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let (one, two) = (tmp.path().join("one.csv"), tmp.path().join("two.csv"));
    let args = |csv: &Path| -> Vec<String> {
        [
            "find-lr",
            "--model",
            "mlp",
            "--train-limit",
            "2048",
            "--batch-size",
            "64",
            "--sweeps",
            "1",
            "--sweep-batch-size",
            "64",
            "--start-lr",
            "1e-5",
            "--steps",
            "100",
            "--quiet",
            "--csv",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([csv.to_str().unwrap().to_owned()])
        .collect()
    };
    let single = ok(
        plain(),
        &args(&one).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let world = ok(
        mpirun(2),
        &args(&two).iter().map(String::as_str).collect::<Vec<_>>(),
    );
    // Rank 0 alone reports, and it reports what one process with the global batch finds.
    assert_eq!(
        String::from_utf8_lossy(&world.stdout),
        String::from_utf8_lossy(&single.stdout)
    );
    let curve = |p: &Path| -> Vec<(f64, f64)> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let v: Vec<f64> = l.split(',').map(|x| x.parse().unwrap()).collect();
                (v[0], v[2])
            })
            .collect()
    };
    let (a, b) = (curve(&one), curve(&two));
    assert_eq!(a.len(), b.len());
    // Up to the lowest loss, where every suggestion lies, the raw loss is the mean over the
    // global batch either way (f32 summation order aside); past it the sweep diverges and
    // amplifies those last-bit differences, so only the lrs are compared there.
    let lowest = (0..a.len())
        .min_by(|&i, &j| a[i].1.total_cmp(&a[j].1))
        .unwrap();
    for (i, ((lr_a, loss_a), (lr_b, loss_b))) in a.iter().zip(&b).enumerate() {
        assert_eq!(lr_a, lr_b, "point {i}: the sweep's lr");
        if i <= lowest {
            assert!(
                (loss_a / loss_b - 1.0).abs() < 1e-4,
                "point {i}: loss {loss_a} vs {loss_b}"
            );
        }
    }
    assert!(
        lowest > 20,
        "the sweep found its lowest loss at point {lowest}"
    );
}
