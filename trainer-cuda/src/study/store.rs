//! The study's run store: one JSON file per finished run, named by the SHA-256 of what
//! defines the run, so that a study run again into the same directory skips every run
//! it already has (and a changed setting can never be served a stale result).

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::data::content::sha256_hex;
use crate::nn::{Backend, DeviceKind};
use crate::train::config::RunConfig;
use crate::train::range_test::{RangePlan, Sweeps};

/// Bumped whenever the meaning of a stored record changes; part of every key.
const STORE_VERSION: &str = "onecycle-study-v1";

/// What one finished training run measured, and how to reproduce it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's full config.
    pub config: RunConfig,
    /// The device it ran on (`cpu`, `cpu-generic` or `cuda`).
    pub device: String,
    /// Optimiser steps taken.
    pub steps: u32,
    /// Validation accuracy of the final weights.
    pub final_val_acc: f64,
    /// Test accuracy of the final weights (reported, never used to choose).
    pub final_test_acc: f64,
    /// Training seconds (evaluation excluded).
    pub train_seconds: f64,
    /// Whether the loss became non-finite (then the accuracies are those at that point, 0).
    pub diverged: bool,
    /// Validation curve: `(epochs done, accuracy)` at every evaluation.
    pub curve: Vec<(f64, f64)>,
    /// The `onecycle train` command that reproduces this run.
    pub command: String,
    /// SHA-256 of this record's JSON with this field absent ([`RunRecord::seal`]); records
    /// written before it existed have none and are checked by their configuration alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
}

impl RunRecord {
    fn content_hash(&self) -> Result<String> {
        let bare = Self {
            content_sha256: None,
            ..self.clone()
        };
        sha256_json(&bare)
    }

    /// The record with the hash of its own content.
    ///
    /// # Errors
    /// Never for the plain types of a record.
    pub fn seal(mut self) -> Result<Self> {
        self.content_sha256 = Some(self.content_hash()?);
        Ok(self)
    }

    /// Why this record may not be reused under `key` (`None` when it may): its recorded
    /// configuration and device must hash to `key`, its command must be the one they give,
    /// its final accuracy must be its curve's last (unless it diverged), and its content
    /// must match its own hash when it has one.
    pub fn defect(&self, key: &str) -> Option<String> {
        let own = RunStore::key("run", &(&self.config, self.device.as_str())).ok()?;
        if own != key {
            return Some(
                "its recorded configuration is not the one it is stored under (a record of another run)"
                    .into(),
            );
        }
        if self.command != train_command(&self.config, &self.device) {
            return Some("its command does not match its configuration".into());
        }
        if !self.diverged && self.curve.last().map_or(0.0, |p| p.1) != self.final_val_acc {
            return Some("its final validation accuracy is not its curve's last".into());
        }
        match &self.content_sha256 {
            Some(h) if self.content_hash().ok().as_ref() != Some(h) => {
                Some("its content does not match its SHA-256 (edited or damaged)".into())
            }
            _ => None,
        }
    }
}

/// SHA-256 of `value`'s JSON: the content hash both kinds of record carry (computed with
/// their own hash field absent).
fn sha256_json<T: Serialize>(value: &T) -> Result<String> {
    Ok(sha256_hex(serde_json::to_string(value)?.as_bytes()))
}

/// A range test run at the start of a seed's 1cycle-finder runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RangeRecord {
    /// The seed of the network it ran on.
    pub seed: u64,
    /// fastai's valley suggestion.
    pub valley: f64,
    /// The divergence edge: where the raw loss broke down for good
    /// ([`RangeRecord::auto`] is the max lr the finder family uses).
    pub edge: f64,
    /// All four suggestions: `(rule, lr)` (of the first sweep).
    pub suggestions: Vec<(String, f64)>,
    /// Each sweep's divergence edge, when the plan ran more than one (`edge` is their
    /// median).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edges: Vec<f64>,
    /// What `auto` divides the edge by; absent: [`AUTO_DIVISOR`].
    ///
    /// [`AUTO_DIVISOR`]: onecycle_core::finder::AUTO_DIVISOR
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub divisor: Option<f64>,
    /// The recorded curve: learning rates.
    pub lrs: Vec<f64>,
    /// The recorded curve: smoothed losses.
    pub losses: Vec<f64>,
    /// The store key it was made under ([`RangeRecord::seal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// SHA-256 of this record's JSON with this field absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
}

impl RangeRecord {
    fn content_hash(&self) -> Result<String> {
        let bare = Self {
            content_sha256: None,
            ..self.clone()
        };
        sha256_json(&bare)
    }

    /// The `auto` max lr: the (median) divergence edge / the plan's divisor
    /// ([`AUTO_DIVISOR`] for a record without one).
    ///
    /// [`AUTO_DIVISOR`]: onecycle_core::finder::AUTO_DIVISOR
    pub fn auto(&self) -> f64 {
        self.edge / self.divisor.unwrap_or(onecycle_core::finder::AUTO_DIVISOR)
    }

    /// The largest sweep edge over the smallest, for a record of several sweeps.
    pub fn spread(&self) -> Option<f64> {
        let max = self.edges.iter().copied().reduce(f64::max)?;
        let min = self.edges.iter().copied().reduce(f64::min)?;
        Some(max / min)
    }

    /// How `auto` is read off the record, in words.
    pub fn rule(&self) -> String {
        let divisor = self.divisor.unwrap_or(onecycle_core::finder::AUTO_DIVISOR);
        if self.edges.len() > 1 {
            format!(
                "the median divergence edge of {} sweeps / {divisor}",
                self.edges.len()
            )
        } else {
            format!("the divergence edge / {divisor}")
        }
    }

    /// The record with the key it is stored under and the hash of its own content.
    ///
    /// # Errors
    /// Never for the plain types of a record.
    pub fn seal(mut self, key: &str) -> Result<Self> {
        self.key = Some(key.to_string());
        self.content_sha256 = None;
        self.content_sha256 = Some(self.content_hash()?);
        Ok(self)
    }

    /// Why this record may not be reused under `key` (`None` when it may): it must name
    /// `key` as its own and match its content hash; a record without them is not trusted.
    pub fn defect(&self, key: &str) -> Option<String> {
        if self.key.as_deref() != Some(key) {
            return Some(
                "it was not made under this key (a record of another range test, or unsealed)"
                    .into(),
            );
        }
        match &self.content_sha256 {
            Some(h) if self.content_hash().ok().as_ref() == Some(h) => None,
            _ => Some("its content does not match its SHA-256 (edited or damaged)".into()),
        }
    }

    /// The record of `sweeps`, run on a network of `seed`, `auto` = their median edge /
    /// `divisor`.
    ///
    /// # Errors
    /// A first sweep too short for suggestions, or a sweep without a divergence edge.
    pub fn from_sweeps(seed: u64, sweeps: &Sweeps, divisor: f64) -> Result<Self> {
        let first = &sweeps.outcomes[0];
        let s = first
            .suggestions
            .as_ref()
            .map_err(|e| anyhow::anyhow!("the range test gave no suggestion: {e}"))?;
        crate::train::range_test::auto_lr(sweeps)?;
        let edge = sweeps.consensus.as_ref().map_or(f64::NAN, |c| c.edge);
        let edges = if sweeps.outcomes.len() > 1 {
            sweeps.edges()
        } else {
            Vec::new()
        };
        let curve = first.curve();
        Ok(Self {
            seed,
            valley: s.valley,
            edge,
            suggestions: vec![
                ("valley".into(), s.valley),
                ("slide".into(), s.slide),
                ("minimum".into(), s.minimum),
                ("steep".into(), s.steep),
            ],
            edges,
            divisor: (divisor != onecycle_core::finder::AUTO_DIVISOR).then_some(divisor),
            lrs: curve.lrs,
            losses: curve.losses,
            key: None,
            content_sha256: None,
        })
    }
}

/// The part of a range record's store key that names its plan: the sweep's configuration
/// alone for [`RangePlan::long`] (the key every record before several sweeps was stored
/// under, so they are reused), the whole plan otherwise.
pub fn range_key(plan: &RangePlan) -> String {
    if *plan == RangePlan::long() {
        format!("{:?}", plan.config)
    } else {
        format!("{plan:?}")
    }
}

/// The `--device` name of a device.
pub fn device_name(device: DeviceKind) -> &'static str {
    match device {
        DeviceKind::Cpu(Backend::Fast) => "cpu",
        DeviceKind::Cpu(Backend::Generic) => "cpu-generic",
        DeviceKind::Cuda => "cuda",
    }
}

/// A directory of finished runs.
#[derive(Clone, Debug)]
pub struct RunStore {
    dir: PathBuf,
}

impl RunStore {
    /// The store under `out/runs`.
    pub fn new(out: &Path) -> Self {
        Self {
            dir: out.join("runs"),
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of anything serialisable: SHA-256 over the store version and its JSON.
    ///
    /// # Errors
    /// Never for the plain config types used here.
    pub fn key<T: Serialize>(kind: &str, what: &T) -> Result<String> {
        let json = serde_json::to_string(what)?;
        Ok(sha256_hex(
            format!("{STORE_VERSION}\n{kind}\n{json}").as_bytes(),
        ))
    }

    fn path(&self, kind: &str, key: &str) -> PathBuf {
        self.dir.join(format!("{kind}-{key}.json"))
    }

    /// The stored value under `key`, if there is a readable one. A file that does not
    /// parse (e.g. from an older version) is treated as missing and will be rewritten.
    pub fn get<T: DeserializeOwned>(&self, kind: &str, key: &str) -> Option<T> {
        let text = std::fs::read_to_string(self.path(kind, key)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Removes what is stored under `key` (nothing to remove is fine).
    ///
    /// # Errors
    /// A file that exists but cannot be removed.
    pub fn remove(&self, kind: &str, key: &str) -> Result<()> {
        match std::fs::remove_file(self.path(kind, key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Stores `value` under `key`, atomically.
    ///
    /// # Errors
    /// An unwritable directory.
    pub fn put<T: Serialize>(&self, kind: &str, key: &str, value: &T) -> Result<()> {
        // `write_atomic` creates the directory.
        write_atomic(
            &self.path(kind, key),
            serde_json::to_string_pretty(value)?.as_bytes(),
        )
    }

    /// The stored value under `key`, or `make()`'s, stored first.
    ///
    /// # Errors
    /// `make`'s error, or an unwritable directory.
    pub fn get_or_make<T, F>(&self, kind: &str, key: &str, make: F) -> Result<(T, bool)>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Result<T>,
    {
        if let Some(v) = self.get(kind, key) {
            return Ok((v, true));
        }
        let v = make()?;
        self.put(kind, key, &v)?;
        Ok((v, false))
    }
}

/// The `onecycle train` command that reproduces a run of `cfg` on `device`.
///
/// Every option that defines the run is spelled out, so that later changes of the
/// command-line defaults cannot change what it runs.
pub fn train_command(cfg: &RunConfig, device: &str) -> String {
    use crate::train::choice::Choice;
    let s = &cfg.schedule;
    let mut c = format!(
        "onecycle train --dataset {} --model {} --optimizer {} --weight-decay {} --batch-size {} --seed {} --device {device} --schedule {} --preset {}{} --max-lr {} --epochs {} --evals-per-epoch {} --val-size {}",
        cfg.dataset,
        cfg.model.name(),
        cfg.optimizer.name(),
        cfg.weight_decay,
        cfg.batch_size,
        cfg.seed,
        s.kind.name(),
        s.preset.name(),
        if s.three_phase { " --three-phase" } else { "" },
        s.lr,
        cfg.epochs,
        cfg.evals_per_epoch,
        cfg.val_size,
    );
    if let Some(n) = cfg.train_limit {
        c.push_str(&format!(" --train-limit {n}"));
    }
    if let Some(n) = cfg.test_limit {
        c.push_str(&format!(" --test-limit {n}"));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::test_support::run_config;

    fn sealed() -> (RunRecord, String) {
        let config = run_config();
        let key = RunStore::key("run", &(&config, "cpu")).unwrap();
        let rec = RunRecord {
            command: train_command(&config, "cpu"),
            config,
            device: "cpu".into(),
            steps: 10,
            final_val_acc: 0.97,
            final_test_acc: 0.96,
            train_seconds: 1.5,
            diverged: false,
            curve: vec![(0.5, 0.9), (1.0, 0.97)],
            content_sha256: None,
        };
        (rec.seal().unwrap(), key)
    }

    #[test]
    fn a_range_record_is_reused_only_sealed_under_its_key_and_unedited() {
        let rec = RangeRecord {
            seed: 0,
            valley: 0.02,
            edge: 0.5,
            suggestions: vec![("valley".into(), 0.02)],
            edges: Vec::new(),
            divisor: None,
            lrs: vec![1e-3, 1e-2],
            losses: vec![2.3, 2.1],
            key: None,
            content_sha256: None,
        };
        assert_eq!(rec.auto(), 0.5 / onecycle_core::finder::AUTO_DIVISOR);
        // Several sweeps with their own divisor: auto is the median edge over it, and the
        // fields join the sealed content.
        let several = RangeRecord {
            edges: vec![0.6, 0.5, 0.4],
            divisor: Some(10.0),
            ..rec.clone()
        };
        assert_eq!(several.auto(), 0.05);
        let sealed = several.clone().seal("k").unwrap();
        let mut edited = sealed.clone();
        edited.divisor = Some(5.0);
        assert!(edited.defect("k").unwrap().contains("SHA-256"));
        // A record of one sweep serialises without them (records before them still verify).
        let json = serde_json::to_string(&rec).unwrap();
        assert!(
            !json.contains("edges") && !json.contains("divisor"),
            "{json}"
        );
        assert!(
            rec.defect("k").is_some(),
            "an unsealed record is not trusted"
        );
        let sealed = rec.seal("k").unwrap();
        assert_eq!(sealed.defect("k"), None);
        assert!(sealed.defect("other").unwrap().contains("another"));
        let mut edited = sealed.clone();
        edited.valley = 0.5;
        assert!(edited.defect("k").unwrap().contains("SHA-256"));
        let back: RangeRecord =
            serde_json::from_str(&serde_json::to_string(&sealed).unwrap()).unwrap();
        assert_eq!(back.defect("k"), None);
    }

    #[test]
    fn a_record_is_reused_only_under_its_own_key_and_unedited() {
        let (rec, key) = sealed();
        assert_eq!(rec.defect(&key), None);
        // Stored under another run's key (copied to another lr's name).
        let mut other = run_config();
        other.schedule.lr = 0.5;
        let other_key = RunStore::key("run", &(&other, "cpu")).unwrap();
        assert!(rec.defect(&other_key).unwrap().contains("another run"));
        // An edited accuracy, curve and all: the content hash catches it.
        let mut edited = rec.clone();
        edited.final_val_acc = 0.99;
        edited.curve.last_mut().unwrap().1 = 0.99;
        assert!(edited.defect(&key).unwrap().contains("SHA-256"));
        // The final accuracy alone: inconsistent with the curve, even without a hash.
        let mut old = rec.clone();
        old.content_sha256 = None;
        assert_eq!(
            old.defect(&key),
            None,
            "an old-format record checks out by its config"
        );
        old.final_val_acc = 0.99;
        assert!(old.defect(&key).unwrap().contains("curve"));
        // A command swapped in from another run.
        let mut swapped = rec.clone();
        swapped.command = train_command(&other, "cpu");
        assert!(swapped.defect(&key).unwrap().contains("command"));
        // The JSON round trip keeps the seal valid.
        let back: RunRecord = serde_json::from_str(&serde_json::to_string(&rec).unwrap()).unwrap();
        assert_eq!(back.defect(&key), None);
    }

    #[test]
    fn a_stored_value_is_found_again_and_a_different_key_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = RunStore::new(dir.path());
        let k1 = RunStore::key("run", &("a", 1)).unwrap();
        let k2 = RunStore::key("run", &("a", 2)).unwrap();
        assert_ne!(k1, k2);
        assert_eq!(k1.len(), 64);
        let mut calls = 0;
        let (v, cached) = store
            .get_or_make("run", &k1, || {
                calls += 1;
                Ok(7u32)
            })
            .unwrap();
        assert_eq!((v, cached), (7, false));
        let (v, cached) = store
            .get_or_make("run", &k1, || -> Result<u32> { unreachable!() })
            .unwrap();
        assert_eq!((v, cached, calls), (7, true, 1));
        assert_eq!(store.get::<u32>("run", &k2), None);
        // A file that does not parse counts as missing.
        std::fs::write(store.dir().join(format!("run-{k2}.json")), "{half").unwrap();
        assert_eq!(store.get::<u32>("run", &k2), None);
    }
}
