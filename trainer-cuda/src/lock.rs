//! One writer per run directory: an exclusive OS file lock (`flock` on Unix, `LockFileEx`
//! on Windows) on `<dir>/.onecycle.lock`, taken before anything else is written there and
//! held until the [`DirLock`] is dropped. The kernel releases it when the process dies, so
//! a killed run never leaves a stale lock. The file stays empty (taking the lock changes
//! nothing in the directory once it exists); the holder's pid is read from the kernel's
//! lock table (`/proc/locks`) where there is one.

use std::fs::{File, OpenOptions, TryLockError};
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
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot open the lock file {} (the run directory must be writable)",
                    path.display()
                )
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                bail!(
                    "{} is in use by {} ({what} holds its lock): wait for it to finish, or give another directory",
                    dir.display(),
                    holder(&file).map_or_else(
                        || "another process".to_string(),
                        |pid| format!("process {pid}")
                    )
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The pid holding a lock on `file`, from the kernel's lock table (Linux), if it is there.
fn holder(file: &File) -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let ino = file.metadata().ok()?.ino();
        let table = std::fs::read_to_string("/proc/locks").ok()?;
        // `1: FLOCK  ADVISORY  WRITE 4242 08:01:1234567 0 EOF`: pid, then dev:inode.
        table.lines().find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let at = f.iter().position(|x| *x == "WRITE" || *x == "READ")?;
            let pid = f.get(at + 1)?.parse().ok()?;
            let inode: u64 = f.get(at + 2)?.rsplit(':').next()?.parse().ok()?;
            (inode == ino).then_some(pid)
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        None
    }
}
