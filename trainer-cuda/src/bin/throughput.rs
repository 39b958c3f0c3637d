//! Training-throughput bench: `throughput --model mnist-cnn --batch 128 --steps 50 [--generic]`.
//!
//! Trains on synthetic random inputs of the model's shape with SGD (momentum 0.9) and prints
//! images per second and peak memory (`ru_maxrss`) as a table, the same columns as
//! `scripts/torch_throughput.py`.

use std::time::Instant;

use clap::Parser;
use trainer_cuda::data::synthetic_batch;
use trainer_cuda::nn::{
    build_network, peak_rss_bytes, tune_allocator, Backend, DeviceKind, ModelKind, OptimizerKind,
};

#[derive(Parser, Debug)]
#[command(about = "Training throughput of one model on synthetic data")]
struct Args {
    /// Model: mnist-cnn, mlp or resnet-small.
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
}

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
    let (input, classes) = match kind {
        ModelKind::ResNetSmall => ((3, 32, 32), 10),
        _ => ((1, 28, 28), 10),
    };
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
    let start = Instant::now();
    let mut loss = 0.0;
    for _ in 0..args.steps {
        loss = net.train_step(&images, &labels, 0.01, Some(0.9))?;
    }
    let secs = start.elapsed().as_secs_f64();
    let ips = (args.batch * args.steps) as f64 / secs;
    let rss = peak_rss_bytes().map_or("n/a".to_string(), |b| {
        format!("{:.0}", b as f64 / 1048576.0)
    });
    println!(
        "| impl | model | batch | steps | threads | img/s | ms/step | peak RSS MiB | last loss |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| dfdx {}{} | {} | {} | {} | {} | {:.0} | {:.2} | {} | {:.4} |",
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
        rss,
        loss
    );
    Ok(())
}
