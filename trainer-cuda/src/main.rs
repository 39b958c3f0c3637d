//! The `onecycle` binary.

use std::process::ExitCode;

use clap::Parser;
use trainer_cuda::cli::{run, Cli};

fn main() -> ExitCode {
    // Keep big training buffers mapped between steps (see `tune_allocator`).
    let _ = trainer_cuda::nn::tune_allocator();
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match run(&cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the problem and its causes, no backtrace.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
