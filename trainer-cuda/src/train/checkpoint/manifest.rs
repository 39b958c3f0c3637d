//! What a checkpoint records: the resume state of one epoch, and the manifest
//! (`checkpoint.json`) listing every checkpoint with the SHA-256 of its files.

use serde::{Deserialize, Serialize};

use crate::train::metrics::Metrics;

/// The resume point stored with each epoch's checkpoint (`checkpoints/epoch-NNNN.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Epochs completed.
    pub epochs_done: u32,
    /// Optimiser steps completed.
    pub steps_done: u32,
    /// Checkpoint file, relative to the run directory.
    pub weights: String,
    /// Metrics up to this point.
    pub metrics: Metrics,
}

/// Layout version of `checkpoint.json`. Before it, `checkpoint.json` was a bare
/// [`CheckpointState`] without any hash; such runs are refused on resume.
pub const MANIFEST_FORMAT: u32 = 2;

/// `checkpoint.json`: every checkpoint of the run, with the SHA-256 of each of its files
/// recorded when they were written. A resume verifies the files against it before it
/// parses them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// SHA-256 of `run.json`.
    pub config_sha256: String,
    /// The checkpoints, oldest first.
    pub checkpoints: Vec<CheckpointEntry>,
}

/// One checkpoint in [`CheckpointManifest`]: the weights (parameters, batch-norm
/// statistics and optimiser state, one safetensors file) and the resume state (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEntry {
    /// Epochs completed.
    pub epochs_done: u32,
    /// [`RunDir::weights_name`](super::RunDir::weights_name).
    pub weights: String,
    /// SHA-256 of the weights file.
    pub weights_sha256: String,
    /// [`RunDir::state_name`](super::RunDir::state_name).
    pub state: String,
    /// SHA-256 of the state file.
    pub state_sha256: String,
}

/// Whether `s` is a SHA-256 digest in lower-case hex.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
