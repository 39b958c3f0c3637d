//! One writer per run directory: an exclusive OS file lock (`flock` on Unix, `LockFileEx`
//! on Windows) on `<dir>/.onecycle.lock`, taken before anything else is written there and
//! held until the [`DirLock`] is dropped. The kernel releases it when the process dies, so
//! a killed run never leaves a stale lock; the file only names the last holder's pid.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The lock file's name inside a run directory.
pub const LOCK_FILE: &str = ".onecycle.lock";

/// An exclusive lock on a run directory, released on drop.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Creates `dir` if needed and locks it for this process; `what` names the work in the
    /// error a second process gets (e.g. "onecycle train").
    ///
    /// ```
    /// use trainer_cuda::lock::DirLock;
    /// let dir = tempfile::tempdir().unwrap();
    /// let held = DirLock::acquire(dir.path(), "onecycle train").unwrap();
    /// let err = DirLock::acquire(dir.path(), "onecycle train").unwrap_err().to_string();
    /// assert!(err.contains(&format!("process {}", std::process::id())), "{err}");
    /// drop(held);
    /// DirLock::acquire(dir.path(), "onecycle train").unwrap();
    /// ```
    ///
    /// # Errors
    /// The directory is locked by another holder (the error names its pid and the fix), or
    /// cannot be created or locked.
    pub fn acquire(dir: &Path, what: &str) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the run directory {}", dir.display()))?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                bail!(
                    "{} is in use by {} ({what} holds its lock): wait for it to finish, or give another directory",
                    dir.display(),
                    if holder.is_empty() {
                        "another process".to_string()
                    } else {
                        format!("process {holder}")
                    }
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write the lock file {}", path.display()))?;
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
