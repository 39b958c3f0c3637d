//! Reading a checkpoint file only when its SHA-256 is the one recorded when it was written.

use std::path::{Path, PathBuf};

use crate::data::content::sha256_hex;

/// Why a checkpoint file failed verification.
#[derive(Debug)]
pub(super) enum Problem {
    Missing,
    Unreadable(std::io::Error),
    Mismatch,
    Invalid(String),
}

/// A checkpoint file that failed verification.
#[derive(Debug)]
pub(super) struct BadFile {
    pub(super) path: PathBuf,
    pub(super) problem: Problem,
}

impl std::fmt::Display for BadFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.path.display();
        match &self.problem {
            Problem::Missing => write!(f, "checkpoint {p} is missing"),
            Problem::Unreadable(e) => write!(f, "checkpoint {p} cannot be read ({e})"),
            Problem::Mismatch => write!(
                f,
                "checkpoint {p} does not match the SHA-256 recorded when it was written \
                 (file changed or truncated)"
            ),
            Problem::Invalid(e) => write!(f, "checkpoint {p} is not valid ({e})"),
        }
    }
}

/// Reads `path` whole and checks its SHA-256 against `expected` before anyone parses it.
pub(super) fn read_verified(path: &Path, expected: &str) -> Result<Vec<u8>, BadFile> {
    let bad = |problem| BadFile {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|e| {
        bad(if e.kind() == std::io::ErrorKind::NotFound {
            Problem::Missing
        } else {
            Problem::Unreadable(e)
        })
    })?;
    if sha256_hex(&bytes) == expected {
        Ok(bytes)
    } else {
        Err(bad(Problem::Mismatch))
    }
}
