//! Throughput bench: `throughput --model mnist-cnn --batch 128 --steps 50 [--generic] [--profile]`.
//!
//! Trains on synthetic random inputs of the model's shape with SGD (momentum 0.9) and prints one
//! table row, the same columns as `scripts/torch_throughput.py`: training images per second,
//! the matrix-multiply rate that implies, evaluation images per second (eval mode, batches of
//! 256, loss and accuracy as the trainer computes them), the machine's own sgemm rate measured
//! in the same process, and peak memory of the training (`ru_maxrss` before the evaluation).
//!
//! FLOP model (per image, 2 FLOPs per multiply-add; [`Network::matmul_flops_per_image`]): a
//! convolution costs `2·c_out·c_in·k²·oh·ow` forward, a linear layer `2·fin·fout`; a training
//! step adds the weight gradient (the same again) and the input gradient (again, except for a
//! first convolution, which needs none). For `mnist-cnn`: conv 1→32 on 28×28 0.45 MFLOP,
//! conv 32→64 on 14×14 7.23 MFLOP, linear 3136→10 0.06 MFLOP: 7.74 MFLOP forward, 22.77 MFLOP
//! per training image. Batch norm, ReLU, pooling and the loss are not counted (memory-bound).
//!
//! The sgemm rate is the median of 5 products of two 2048×2048 f32 matrices by the `gemm`
//! crate on all rayon threads; `scripts/torch_throughput.py` measures PyTorch's `a @ b` the same
//! way, and `scripts/speed_table.py` runs both benches alternately and prints the medians.
//!
//! `--profile` adds a per-region breakdown of the training step (ms per step): the step's
//! phases and, inside them, each fast CPU op's forward and backward
//! ([`trainer_cuda::nn::profile`]).

use std::time::Instant;

use clap::Parser;
use trainer_cuda::data::synthetic_batch;
use trainer_cuda::nn::{
    build_network, cpu_ops, peak_rss_bytes, profile, tune_allocator, Backend, DeviceKind,
    ModelKind, Network, OptimizerKind,
};

#[derive(Parser, Debug)]
#[command(about = "Training throughput of one model on synthetic data")]
struct Args {
    /// Model: mnist-cnn, mlp, resnet-small or resnet-mnist.
    #[arg(long, default_value = "mnist-cnn")]
    model: String,
    /// Batch size.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Timed training steps.
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Use the device-generic layers instead of the fast CPU ops.
    #[arg(long)]
    generic: bool,
    /// `cpu` or `cuda` (the GPU always runs the generic layers; needs `--features cuda`).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Skip the glibc allocator tuning (to measure its effect).
    #[arg(long)]
    no_malloc_tuning: bool,
    /// Images scored by the evaluation-throughput measurement (0 skips it).
    #[arg(long, default_value_t = 2560)]
    eval_images: usize,
    /// Side of the square sgemm that measures the machine's rate (0 skips it).
    #[arg(long, default_value_t = 2048)]
    sgemm_size: usize,
    /// Print the per-region breakdown of the training step.
    #[arg(long)]
    profile: bool,
}

/// Evaluation batch, as the trainer's (`trainer_cuda::train::run::EVAL_BATCH`).
const EVAL_BATCH: usize = trainer_cuda::train::run::EVAL_BATCH;

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("throughput: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let tuned = !args.no_malloc_tuning && tune_allocator();
    let kind: ModelKind = args.model.parse()?;
    if args.batch == 0 || args.steps == 0 {
        return Err("--batch and --steps must be at least 1".into());
    }
    let (input, classes) = (kind.designed_input(), 10);
    let backend = if args.generic {
        Backend::Generic
    } else {
        Backend::Fast
    };
    let opt = OptimizerKind::Sgd {
        nesterov: false,
        weight_decay: 0.0,
    };
    let device = match args.device.as_str() {
        "cpu" => DeviceKind::Cpu(backend),
        "cuda" => DeviceKind::Cuda,
        other => return Err(format!("--device {other}: use cpu or cuda").into()),
    };
    let mut net = build_network(kind, opt, device, 0, input, classes)?;
    let (images, labels) = synthetic_batch(args.batch, input.0 * input.1 * input.2, classes);
    for _ in 0..args.warmup {
        net.train_step(&images, &labels, 0.01, Some(0.9))?;
    }
    profile::set_enabled(args.profile);
    let start = Instant::now();
    let mut loss = 0.0;
    for _ in 0..args.steps {
        loss = net.train_step(&images, &labels, 0.01, Some(0.9))?;
    }
    let secs = start.elapsed().as_secs_f64();
    profile::set_enabled(false);
    let regions = profile::take();
    // Peak memory of training alone, before the evaluation and sgemm buffers.
    let rss = peak_rss_bytes().map_or("n/a".to_string(), |b| {
        format!("{:.0}", b as f64 / 1048576.0)
    });
    let ips = (args.batch * args.steps) as f64 / secs;
    let eval_ips = eval_throughput(net.as_mut(), args.eval_images, input, classes)?;
    let sgemm = (args.sgemm_size > 0).then(|| cpu_ops::sgemm_rate_gflops(args.sgemm_size, 5));
    let (_, train_flops) = net.matmul_flops_per_image();
    println!(
        "| impl | model | batch | steps | threads | img/s | ms/step | GFLOP/s | eval img/s | \
         sgemm GFLOP/s | peak RSS MiB | last loss |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| dfdx {}{} | {} | {} | {} | {} | {:.0} | {:.2} | {:.1} | {} | {} | {} | {:.4} |",
        match device {
            DeviceKind::Cuda => "cuda (generic)",
            _ if args.generic => "generic",
            _ => "fast-cpu",
        },
        if tuned { "" } else { " (no mallopt)" },
        kind,
        args.batch,
        args.steps,
        rayon::current_num_threads(),
        ips,
        secs * 1000.0 / args.steps as f64,
        ips * train_flops as f64 / 1e9,
        eval_ips.map_or("n/a".into(), |v| format!("{v:.0}")),
        sgemm.map_or("n/a".into(), |v| format!("{v:.1}")),
        rss,
        loss
    );
    if args.profile {
        print_profile(&regions, args.steps, secs);
    }
    Ok(())
}

/// Images per second of [`Network::evaluate`] over `n` synthetic images (`None` for `n = 0`).
fn eval_throughput(
    net: &mut dyn Network,
    n: usize,
    (c, h, w): (usize, usize, usize),
    classes: usize,
) -> Result<Option<f64>, Box<dyn std::error::Error>> {
    if n == 0 {
        return Ok(None);
    }
    let (images, labels) = synthetic_batch(n, c * h * w, classes);
    net.evaluate(&images, &labels, EVAL_BATCH)?; // warm-up
    let start = Instant::now();
    let result = net.evaluate(&images, &labels, EVAL_BATCH)?;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(result.total, n, "every image scored once");
    Ok(Some(n as f64 / secs))
}

/// The step's regions in ms per step, ops indented under their phase, and what no region
/// covers (dfdx's own layers — linear, flatten, loss — and tape bookkeeping).
fn print_profile(regions: &[profile::Entry], steps: usize, secs: f64) {
    let per_step = |d: std::time::Duration| d.as_secs_f64() * 1000.0 / steps as f64;
    let step_ms = secs * 1000.0 / steps as f64;
    println!();
    println!("| region | ms/step | share of step |");
    println!("|---|---|---|");
    let row = |name: &str, ms: f64| println!("| {name} | {ms:.2} | {:.1}% |", 100.0 * ms / step_ms);
    let sum_of = |phase| {
        regions
            .iter()
            .filter(|e| e.phase == phase)
            .map(|e| per_step(e.total))
            .sum::<f64>()
    };
    for e in regions.iter().filter(|e| e.phase == profile::Phase::Step) {
        let ms = per_step(e.total);
        row(&e.name, ms);
        let inner = if e.name.starts_with("forward") {
            Some(profile::Phase::Forward)
        } else if e.name.starts_with("backward") {
            Some(profile::Phase::Backward)
        } else {
            None
        };
        if let Some(phase) = inner {
            for op in regions.iter().filter(|o| o.phase == phase) {
                row(&format!("&nbsp;&nbsp;{}", op.name), per_step(op.total));
            }
            row(
                "&nbsp;&nbsp;dfdx ops (linear, flatten, loss) and tape",
                ms - sum_of(phase),
            );
        }
    }
    row(
        "not in any region (freeing the step's buffers)",
        step_ms - sum_of(profile::Phase::Step),
    );
}
