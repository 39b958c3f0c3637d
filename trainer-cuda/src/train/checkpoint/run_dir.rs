//! The run directory: its paths, writing a checkpoint (files first, then the manifest,
//! atomically), reading the config and the manifest, choosing and loading a verified resume
//! point, and pruning old checkpoints.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};

use super::manifest::{
    is_sha256_hex, CheckpointEntry, CheckpointManifest, CheckpointState, MANIFEST_FORMAT,
};
use super::verified::{read_verified, BadFile, Problem};
use crate::atomic::write_atomic;
use crate::data::content::sha256_hex;
use crate::nn::Network;
use crate::train::config::RunConfig;

/// Where a run's files go.
#[derive(Clone, Debug)]
pub struct RunDir {
    /// The directory.
    pub path: PathBuf,
}

/// Which checkpoint a resume starts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResumeFrom {
    /// The latest; a latest checkpoint that fails verification is an error.
    #[default]
    Latest,
    /// The newest checkpoint that verifies (`--resume-from-verified`).
    NewestVerified,
}

/// A verified resume point: its state, and the bytes of its weights, both matching the
/// SHA-256 recorded when they were written.
#[derive(Clone, Debug)]
pub struct ResumePoint {
    /// The state to resume from (metrics up to its epoch).
    pub state: CheckpointState,
    /// Newer checkpoints that failed verification and were passed over, newest first (only
    /// with [`ResumeFrom::NewestVerified`]), each described in a sentence.
    pub skipped: Vec<String>,
    weights: Vec<u8>,
    weights_path: PathBuf,
}

impl ResumePoint {
    /// Loads the verified weights into `net`.
    ///
    /// # Errors
    /// A checkpoint of another model (or of a network built differently).
    pub fn load_into(&self, net: &mut dyn Network) -> Result<()> {
        net.load_bytes(&self.weights, &self.weights_path)
            .map_err(|e| anyhow!("cannot load {}: {e}", self.weights_path.display()))
    }
}

/// The bytes of `run.json` for `cfg` (what [`RunDir::write_config`] writes).
fn config_bytes(cfg: &RunConfig) -> Result<Vec<u8>> {
    Ok(serde_json::to_string_pretty(cfg)?.into_bytes())
}

impl RunDir {
    /// The run's config file.
    pub fn config_path(&self) -> PathBuf {
        self.path.join("run.json")
    }

    /// The checkpoint manifest ([`CheckpointManifest`]).
    pub fn state_path(&self) -> PathBuf {
        self.path.join("checkpoint.json")
    }

    /// The weights file for an epoch (1-based count of completed epochs).
    pub fn weights_name(epochs_done: u32) -> String {
        format!("checkpoints/epoch-{epochs_done:04}.safetensors")
    }

    /// The resume-state file for an epoch (1-based count of completed epochs).
    pub fn state_name(epochs_done: u32) -> String {
        format!("checkpoints/epoch-{epochs_done:04}.json")
    }

    /// What a user who cannot resume can do instead.
    fn start_over(&self) -> String {
        format!(
            "start over without --resume (another --out, or delete {})",
            self.path.display()
        )
    }

    /// Writes the run's config (once, at the start).
    ///
    /// # Errors
    /// An unwritable directory.
    pub fn write_config(&self, cfg: &RunConfig) -> Result<()> {
        write_atomic(&self.config_path(), &config_bytes(cfg)?)
    }

    /// Reads the run's config, verified against the SHA-256 that its checkpoints recorded
    /// (when it has any).
    ///
    /// # Errors
    /// A missing, changed or malformed `run.json`, or a bad `checkpoint.json`, with the fix.
    pub fn read_config(&self) -> Result<RunConfig> {
        let p = self.config_path();
        let bytes = std::fs::read(&p).with_context(|| {
            format!(
                "cannot read {}: is {} a directory written by `onecycle train --out`?",
                p.display(),
                self.path.display()
            )
        })?;
        if let Some(m) = self.read_manifest()? {
            if sha256_hex(&bytes) != m.config_sha256 {
                bail!(
                    "{} does not match the SHA-256 recorded with the run's checkpoints (file \
                     changed or truncated): restore it, or {}",
                    p.display(),
                    self.start_over()
                );
            }
        }
        serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid run config", p.display()))
    }

    /// Reads the checkpoint manifest, if any, and checks its structure.
    ///
    /// # Errors
    /// An unreadable or malformed `checkpoint.json`, or one written before checkpoints
    /// were hashed.
    pub fn read_manifest(&self) -> Result<Option<CheckpointManifest>> {
        let p = self.state_path();
        let text = match std::fs::read_to_string(&p) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", p.display())),
        };
        let corrupt = || format!("{} is corrupt: {}", p.display(), self.start_over());
        let value: serde_json::Value = serde_json::from_str(&text).with_context(corrupt)?;
        match value.get("format") {
            None if value.get("weights").is_some() => bail!(
                "{} was written by a version of onecycle that recorded no SHA-256 of its \
                 checkpoints, so they cannot be verified and are not resumed: {}",
                p.display(),
                self.start_over()
            ),
            Some(f) if f.as_u64() != Some(u64::from(MANIFEST_FORMAT)) => bail!(
                "{} has checkpoint format {f}, which this version of onecycle (format \
                 {MANIFEST_FORMAT}) does not read: resume with the version that wrote it, or {}",
                p.display(),
                self.start_over()
            ),
            _ => {}
        }
        let m: CheckpointManifest = serde_json::from_value(value).with_context(corrupt)?;
        let consistent = is_sha256_hex(&m.config_sha256)
            && !m.checkpoints.is_empty()
            && m.checkpoints
                .windows(2)
                .all(|w| w[0].epochs_done < w[1].epochs_done)
            && m.checkpoints.iter().all(|e| {
                e.weights == Self::weights_name(e.epochs_done)
                    && e.state == Self::state_name(e.epochs_done)
                    && is_sha256_hex(&e.weights_sha256)
                    && is_sha256_hex(&e.state_sha256)
            });
        if !consistent {
            bail!(corrupt());
        }
        Ok(Some(m))
    }

    /// Verifies both files of `entry` (hash first, then the state's contents).
    fn verify(&self, entry: &CheckpointEntry) -> Result<ResumePoint, BadFile> {
        let weights_path = self.path.join(&entry.weights);
        let weights = read_verified(&weights_path, &entry.weights_sha256)?;
        let state_path = self.path.join(&entry.state);
        let bytes = read_verified(&state_path, &entry.state_sha256)?;
        let invalid = |e: String| BadFile {
            path: state_path.clone(),
            problem: Problem::Invalid(e),
        };
        let state: CheckpointState =
            serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        if state.epochs_done != entry.epochs_done || state.weights != entry.weights {
            return Err(invalid(format!(
                "it is the state of epoch {} ({}), not of epoch {} ({})",
                state.epochs_done, state.weights, entry.epochs_done, entry.weights
            )));
        }
        Ok(ResumePoint {
            state,
            skipped: Vec::new(),
            weights,
            weights_path,
        })
    }

    /// The checkpoint to resume from, verified: every file it reads matches the SHA-256
    /// recorded when it was written, checked before the file is parsed. Files are read one
    /// at a time; only the chosen checkpoint's weights are kept.
    ///
    /// # Errors
    /// No checkpoint yet, a bad `checkpoint.json`, or (with [`ResumeFrom::Latest`]) a
    /// latest checkpoint that is missing, unreadable, changed or truncated: the error names
    /// the file and the choices (`--resume-from-verified` and the epoch it would continue
    /// after, or starting over). With [`ResumeFrom::NewestVerified`], only when no
    /// checkpoint verifies.
    pub fn resume_point(&self, from: ResumeFrom) -> Result<ResumePoint> {
        let manifest = self.read_manifest()?.with_context(|| {
            format!(
                "{} has no checkpoint yet (no checkpoint.json): start a fresh run instead of --resume",
                self.path.display()
            )
        })?;
        let entries = &manifest.checkpoints;
        let mut skipped = Vec::new();
        for (i, entry) in entries.iter().enumerate().rev() {
            match self.verify(entry) {
                Ok(mut point) => {
                    point.skipped = skipped;
                    return Ok(point);
                }
                Err(bad) if from == ResumeFrom::Latest => {
                    let dir = self.path.display();
                    let fallback = entries[..i].iter().rev().find(|e| self.verify(e).is_ok());
                    match fallback {
                        Some(e) => bail!(
                            "{bad}: rerun with --resume {dir} --resume-from-verified to continue \
                             after epoch {} (the newest checkpoint that verifies), or {}",
                            e.epochs_done,
                            self.start_over()
                        ),
                        None => bail!(
                            "{bad}, and no earlier checkpoint verifies: {}",
                            self.start_over()
                        ),
                    }
                }
                Err(bad) => skipped.push(bad.to_string()),
            }
        }
        bail!(
            "none of the {} checkpoints in {} verifies (the latest: {}): {}",
            entries.len(),
            self.path.display(),
            skipped.first().map_or("", String::as_str),
            self.start_over()
        )
    }

    /// Saves the network and its resume state, then, atomically, the manifest with their
    /// SHA-256s: a crash in between leaves the previous checkpoint in force. Checkpoints of
    /// later epochs (left by a run resumed from an earlier one) leave the manifest.
    ///
    /// # Errors
    /// An unwritable directory, or a bad `checkpoint.json` already there.
    pub fn checkpoint(
        &self,
        net: &dyn Network,
        state: &CheckpointState,
        cfg: &RunConfig,
    ) -> Result<()> {
        let epochs_done = state.epochs_done;
        if state.weights != Self::weights_name(epochs_done) {
            bail!(
                "internal: the checkpoint of epoch {epochs_done} is named {}",
                state.weights
            );
        }
        let weights_path = self.path.join(&state.weights);
        let weights = net
            .checkpoint_bytes()
            .map_err(|e| anyhow!("cannot save {}: {e}", weights_path.display()))?;
        let state_bytes = serde_json::to_string_pretty(state)?.into_bytes();
        let entry = CheckpointEntry {
            epochs_done,
            weights: state.weights.clone(),
            weights_sha256: sha256_hex(&weights),
            state: Self::state_name(epochs_done),
            state_sha256: sha256_hex(&state_bytes),
        };
        // `write_atomic` creates `checkpoints/`.
        write_atomic(&weights_path, &weights)?;
        write_atomic(&self.path.join(&entry.state), &state_bytes)?;
        let mut manifest = match self.read_manifest()? {
            Some(m) => m,
            // A fresh run: `run.json` holds `cfg` as `write_config` wrote it.
            None => CheckpointManifest {
                format: MANIFEST_FORMAT,
                config_sha256: sha256_hex(&config_bytes(cfg)?),
                checkpoints: Vec::new(),
            },
        };
        manifest.checkpoints.retain(|e| e.epochs_done < epochs_done);
        manifest.checkpoints.push(entry);
        write_atomic(
            &self.state_path(),
            serde_json::to_string_pretty(&manifest)?.as_bytes(),
        )
    }
}

impl RunDir {
    /// Drops all but the newest `keep` (at least one) checkpoints: first from the manifest,
    /// atomically, then their files, so that a crash in between leaves only unlisted
    /// files behind, never a listed file missing.
    ///
    /// # Errors
    /// An unreadable manifest or an unwritable directory.
    pub fn prune_checkpoints(&self, keep: u32) -> Result<()> {
        let Some(mut manifest) = self.read_manifest()? else {
            return Ok(());
        };
        let keep = usize::try_from(keep.max(1)).unwrap_or(usize::MAX);
        let n = manifest.checkpoints.len();
        if n <= keep {
            return Ok(());
        }
        let dropped: Vec<CheckpointEntry> = manifest.checkpoints.drain(..n - keep).collect();
        write_atomic(
            &self.state_path(),
            serde_json::to_string_pretty(&manifest)?.as_bytes(),
        )?;
        for e in dropped {
            for f in [&e.weights, &e.state] {
                match std::fs::remove_file(self.path.join(f)) {
                    Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                        return Err(anyhow!("cannot remove the old checkpoint {f}: {err}"));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// Loads the latest checkpoint of `dir` into `net`, after verifying its files against the
/// SHA-256s recorded when they were written.
///
/// # Errors
/// No checkpoint yet, a latest checkpoint that fails verification (see
/// [`RunDir::resume_point`]), or a checkpoint of another model.
pub fn load_latest(dir: &RunDir, net: &mut dyn Network) -> Result<CheckpointState> {
    load_checkpoint(dir, net, ResumeFrom::Latest)
}

/// Loads the checkpoint of `dir` that `from` selects into `net` (verified as in
/// [`RunDir::resume_point`]).
///
/// # Errors
/// As [`RunDir::resume_point`] and [`ResumePoint::load_into`].
pub fn load_checkpoint(
    dir: &RunDir,
    net: &mut dyn Network,
    from: ResumeFrom,
) -> Result<CheckpointState> {
    let point = dir.resume_point(from)?;
    point.load_into(net)?;
    Ok(point.state)
}
