//! `onecycle schedule` at any length: the table streams (first rows at once,
//! constant memory), a reader that closes the pipe ends it quietly, and
//! `--plot` stays bounded, all with `--total-steps` at `u32::MAX`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_onecycle"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// Reads `n` lines, closes the pipe, and waits (at most 20 s) for the exit.
fn first_lines_then_close(mut child: Child, n: usize) -> (Vec<String>, bool, String) {
    let out = child.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(out)
        .lines()
        .take(n)
        .map(|l| l.unwrap())
        .collect(); // the reader (and the pipe) drop here
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            child.kill().ok();
            panic!("still running 20 s after the pipe closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (lines, status.success(), err)
}

const MAX: &str = "4294967295";

#[test]
fn csv_of_u32_max_steps_streams_and_a_closed_pipe_ends_it_quietly() {
    let child = spawn(&["schedule", "--max-lr", "0.1", "--total-steps", MAX]);
    let (lines, ok, err) = first_lines_then_close(child, 3);
    // initial = 0.1/25; PyTorch's phase 1 ends at 0.3·T − 1 ≈ 1.3e9, so step 1
    // is still the initial lr to f64 precision.
    assert_eq!(lines, ["step,lr,momentum", "0,0.004,0.95", "1,0.004,0.95"]);
    assert!(ok, "exit status after the pipe closed: stderr {err}");
    assert!(err.is_empty(), "closed pipe must be quiet, got: {err}");
}

#[test]
fn json_streams_too_and_parses_for_a_short_run() {
    let child = spawn(&[
        "schedule",
        "--max-lr",
        "0.1",
        "--total-steps",
        MAX,
        "--format",
        "json",
    ]);
    let (lines, ok, err) = first_lines_then_close(child, 8);
    assert_eq!(lines[0], "{");
    assert_eq!(lines[2], format!("  \"total_steps\": {MAX},"));
    assert_eq!(lines[6], "  \"steps\": [");
    assert_eq!(lines[7], "    {");
    assert!(ok && err.is_empty(), "{err}");
    // A short run: the whole document parses, with the hand-worked values of
    // PyTorch's OneCycleLR(max_lr=0.1, total_steps=10): peak at step 2.
    let o = Command::new(env!("CARGO_BIN_EXE_onecycle"))
        .args([
            "schedule",
            "--max-lr",
            "0.1",
            "--total-steps",
            "10",
            "--format",
            "json",
            "--preset",
            "pytorch",
            "--anneal",
            "linear",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["preset"], "pytorch");
    assert_eq!(v["final_lr"], 4e-7);
    let steps = v["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 10);
    assert_eq!(steps[2]["lr"], 0.1);
    assert_eq!(steps[2]["momentum"], 0.85);
    // Linear from 0.004 to 0.1 over steps 0..=2: half way at step 1.
    assert!((steps[1]["lr"].as_f64().unwrap() - 0.052).abs() < 1e-15);
    assert_eq!(steps[9]["lr"], 4e-7);
}

#[test]
fn plot_of_u32_max_steps_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("long.svg");
    let child = spawn(&[
        "schedule",
        "--max-lr",
        "0.1",
        "--total-steps",
        MAX,
        "--plot",
        svg.to_str().unwrap(),
    ]);
    // The plot is written before the table starts.
    let (lines, ok, err) = first_lines_then_close(child, 1);
    assert_eq!(lines, ["step,lr,momentum"]);
    assert!(ok && err.is_empty(), "{err}");
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<polyline"));
    // Two curves of at most 4096 + a few boundary points each.
    assert!(text.len() < 2_000_000, "plot of {} bytes", text.len());
}

#[test]
fn plot_samples_include_both_sides_of_every_phase_boundary() {
    use onecycle_core::OneCycleConfig;
    use trainer_cuda::cli::schedule::{plot_steps, PLOT_POINTS};
    let s = OneCycleConfig::optax_linear(0.1_f64, u32::MAX)
        .build()
        .unwrap();
    let steps = plot_steps(&s, 0);
    assert!(
        steps.len() <= PLOT_POINTS as usize + 5,
        "{} points",
        steps.len()
    );
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
    assert_eq!((steps[0], *steps.last().unwrap()), (0, u32::MAX - 1));
    // optax: boundaries at int(0.3·T) and int(0.85·T), computed here by hand.
    let t = f64::from(u32::MAX);
    for b in [(0.3 * t).floor() as u32, (0.85 * t).floor() as u32] {
        assert!(
            steps.contains(&b) && steps.contains(&(b - 1)),
            "boundary {b}"
        );
    }
    // The peak is drawn exactly: lr at int(0.3·T) is max_lr.
    assert_eq!(s.lr((0.3 * t).floor() as u32), 0.1);
    // A short schedule plots every step.
    let short = OneCycleConfig::pytorch(0.1_f64, 10).build().unwrap();
    assert_eq!(plot_steps(&short, 2), (0..12).collect::<Vec<_>>());
}

/// The document the command printed before it streamed: `serde_json`'s pretty
/// layout of the resolved config and every row.
#[derive(serde::Serialize)]
struct PreviousDoc {
    preset: &'static str,
    total_steps: u32,
    initial_lr: f64,
    max_lr: f64,
    final_lr: f64,
    steps: Vec<PreviousRow>,
}

#[derive(serde::Serialize)]
struct PreviousRow {
    step: u32,
    lr: f64,
    momentum: Option<f64>,
}

#[test]
fn streamed_json_is_byte_identical_to_the_previous_document() {
    use onecycle_core::Preset;
    for preset in Preset::ALL {
        let (max_lr, total, past) = (0.3_f64, 57_u32, 4_u32);
        let s = preset.config(max_lr, total).build().unwrap();
        let doc = PreviousDoc {
            preset: preset.name(),
            total_steps: total,
            initial_lr: s.initial_lr(),
            max_lr: s.max_lr(),
            final_lr: s.final_lr(),
            steps: (0..total + past)
                .map(|step| PreviousRow {
                    step,
                    lr: s.lr(step),
                    momentum: s.momentum(step),
                })
                .collect(),
        };
        let want = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        let o = Command::new(env!("CARGO_BIN_EXE_onecycle"))
            .args([
                "schedule",
                "--preset",
                preset.name(),
                "--max-lr",
                "0.3",
                "--total-steps",
                "57",
                "--steps-past",
                "4",
                "--format",
                "json",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(o.stderr.is_empty());
        assert_eq!(
            String::from_utf8(o.stdout).unwrap(),
            want,
            "{}",
            preset.name()
        );
    }
}

#[test]
fn streamed_csv_is_byte_identical_to_the_previous_table() {
    use onecycle_core::Preset;
    for preset in Preset::ALL {
        let s = preset.config(0.3_f64, 57).build().unwrap();
        let mut want = String::from("step,lr,momentum\n");
        for step in 0..61 {
            match s.momentum(step) {
                Some(m) => want += &format!("{step},{},{m}\n", s.lr(step)),
                None => want += &format!("{step},{},\n", s.lr(step)),
            }
        }
        let o = Command::new(env!("CARGO_BIN_EXE_onecycle"))
            .args([
                "schedule",
                "--preset",
                preset.name(),
                "--max-lr",
                "0.3",
                "--total-steps",
                "57",
                "--steps-past",
                "4",
            ])
            .output()
            .unwrap();
        assert!(o.status.success() && o.stderr.is_empty());
        assert_eq!(
            String::from_utf8(o.stdout).unwrap(),
            want,
            "{}",
            preset.name()
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_is_still_an_error() {
    let o = Command::new(env!("CARGO_BIN_EXE_onecycle"))
        .args(["schedule", "--max-lr", "0.1", "--total-steps", "100000"])
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "writing to /dev/full succeeded");
    assert!(err.starts_with("error: cannot write to stdout"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
