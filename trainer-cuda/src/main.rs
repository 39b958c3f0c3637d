//! The `onecycle` binary.

use std::process::ExitCode;

use trainer_cuda::cli::{run_in, Cli};
use trainer_cuda::dist::Collective;

fn main() -> ExitCode {
    // Keep big training buffers mapped between steps (see `tune_allocator`).
    let _ = trainer_cuda::nn::tune_allocator();
    if let Some((asked, used)) = trainer_cuda::nn::cap_threads() {
        eprintln!(
            "warning: {}={asked} is more than this machine's {used} hardware threads: using {used} (results do not depend on it)",
            trainer_cuda::nn::THREADS_ENV
        );
    }
    let cli = Cli::parse_recording();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let world = world();
    match run_in(&cli, world.as_ref(), &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if world.size() > 1 => {
            // Name the rank, then end every process of the job now instead of leaving the
            // others blocked in a collective. One write of the whole line, so that the ranks'
            // messages do not interleave mid-line in mpirun's combined stderr.
            let line = format!("error: rank {} of {}: {e:#}\n", world.rank(), world.size());
            let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
            world.abort(1)
        }
        Err(e) => {
            // One line: the problem and its causes, no backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// MPI's world under the `mpi` feature (a plain launch is a world of one), else one process.
fn world() -> Box<dyn Collective> {
    #[cfg(feature = "mpi")]
    if let Some(world) = trainer_cuda::dist::MpiWorld::init() {
        return Box::new(world);
    }
    Box::new(trainer_cuda::dist::Solo)
}
