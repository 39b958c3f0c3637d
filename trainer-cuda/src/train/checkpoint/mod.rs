//! A run's directory and its checkpoints, apart from the training loop that writes them.
//!
//! Each epoch writes `checkpoints/epoch-NNNN.safetensors` (parameters, batch-norm
//! statistics and optimiser state, in the format of [`crate::nn::Network::checkpoint_bytes`])
//! and `checkpoints/epoch-NNNN.json` (the resume state: step count and metrics so far),
//! then `checkpoint.json`, which lists every checkpoint with the SHA-256 of both files and of
//! `run.json`. A resume checks every file it reads against those hashes before parsing it,
//! and stops on a mismatch, a missing or an unreadable file unless asked to fall back to the
//! newest checkpoint that verifies.
//!
//! * [`manifest`]: what is written (the resume state, the manifest and its entries);
//! * [`run_dir`]: where and how: the run directory's paths, writing a checkpoint, reading
//!   the config and the manifest, choosing and loading a verified resume point, pruning;
//! * `verified`: reading a file only when its SHA-256 is the recorded one.

pub mod manifest;
pub mod run_dir;
mod verified;

pub use manifest::{CheckpointEntry, CheckpointManifest, CheckpointState, MANIFEST_FORMAT};
pub use run_dir::{load_checkpoint, load_latest, ResumeFrom, ResumePoint, RunDir};
