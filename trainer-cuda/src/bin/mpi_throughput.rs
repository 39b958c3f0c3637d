//! Data-parallel throughput bench (needs `--features mpi`): training img/s of one model on a
//! synthetic global batch, and the share of each step spent in the gradient all-reduce.
//!
//! ```text
//! RAYON_NUM_THREADS=2 target/release/mpi_throughput                        # 1 process × 2 threads
//! mpirun -np 2 -x RAYON_NUM_THREADS=1 target/release/mpi_throughput        # 2 ranks × 1 thread
//! ```
//!
//! Rank 0 prints one table row. The all-reduce time is measured around the one `MPI_Allreduce`
//! of each step and includes waiting for the slower rank.

use std::cell::Cell;
use std::time::Instant;

use clap::Parser;
use trainer_cuda::data::synthetic_batch;
use trainer_cuda::dist::{Collective, DataParallel, MpiWorld};
use trainer_cuda::nn::{
    build_network, tune_allocator, Backend, DeviceKind, ModelKind, Network, OptimizerKind,
};

#[derive(Parser, Debug)]
#[command(about = "Data-parallel training throughput over MPI on synthetic data")]
struct Args {
    /// Model: mnist-cnn, mlp or resnet-small.
    #[arg(long, default_value = "mnist-cnn")]
    model: String,
    /// Global batch size (divided over the ranks).
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Timed training steps.
    #[arg(long, default_value_t = 40)]
    steps: usize,
    /// Untimed warm-up steps.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
}

/// A world that times its gradient all-reduces.
struct Timed<'a> {
    inner: &'a dyn Collective,
    seconds: Cell<f64>,
}

impl Collective for Timed<'_> {
    fn rank(&self) -> usize {
        self.inner.rank()
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn sum_f32(&self, values: &mut [f32]) {
        let t = Instant::now();
        self.inner.sum_f32(values);
        self.seconds
            .set(self.seconds.get() + t.elapsed().as_secs_f64());
    }
    fn sum_f64(&self, values: &mut [f64]) {
        self.inner.sum_f64(values);
    }
    fn all_equal(&self, value: u64) -> bool {
        self.inner.all_equal(value)
    }
    fn abort(&self, code: i32) -> ! {
        self.inner.abort(code)
    }
}

fn main() {
    let Some(world) = MpiWorld::init() else {
        eprintln!("mpi_throughput: MPI was initialised twice");
        std::process::exit(1);
    };
    if let Err(e) = run(&Args::parse(), &world) {
        eprintln!("mpi_throughput: rank {}: {e}", world.rank());
        world.abort(1);
    }
}

fn run(args: &Args, world: &MpiWorld) -> Result<(), Box<dyn std::error::Error>> {
    tune_allocator();
    let kind: ModelKind = args.model.parse()?;
    trainer_cuda::dist::shard_size(args.batch, world.size())?;
    let (input, classes) = (kind.designed_input(), 10);
    let opt = OptimizerKind::Sgd {
        nesterov: false,
        weight_decay: 0.0,
    };
    let mut net = build_network(kind, opt, DeviceKind::Cpu(Backend::Fast), 0, input, classes)?;
    let (images, labels) = synthetic_batch(args.batch, input.0 * input.1 * input.2, classes);
    let timed = Timed {
        inner: world,
        seconds: Cell::new(0.0),
    };
    let mut replica = DataParallel::new(net.as_mut(), &timed);
    for _ in 0..args.warmup {
        replica.train_step(&images, &labels, 0.01, Some(0.9))?;
    }
    timed.seconds.set(0.0);
    let start = Instant::now();
    for _ in 0..args.steps {
        replica.train_step(&images, &labels, 0.01, Some(0.9))?;
    }
    let secs = start.elapsed().as_secs_f64();
    let reduce = timed.seconds.get();
    if world.rank() == 0 {
        println!("| ranks × threads | model | global batch | img/s | ms/step | all-reduce ms/step | all-reduce share |");
        println!("|---|---|---|---|---|---|---|");
        println!(
            "| {} × {} | {kind} | {} | {:.0} | {:.2} | {:.3} | {:.1}% |",
            world.size(),
            rayon::current_num_threads(),
            args.batch,
            (args.batch * args.steps) as f64 / secs,
            secs * 1e3 / args.steps as f64,
            reduce * 1e3 / args.steps as f64,
            100.0 * reduce / secs
        );
    }
    Ok(())
}
