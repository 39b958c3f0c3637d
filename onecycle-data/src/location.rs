//! Where the data lives: the data directory, resolved once, and each data set's
//! [`Location`] in it, which knows its name, its directory and the fix for a bad file.

use std::path::{Path, PathBuf};

use super::error::Fix;
use super::name::DatasetName;

/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "ONECYCLE_DATA";
/// Data directory used when neither `--data-dir` nor [`DATA_DIR_ENV`] is given.
pub const DEFAULT_DATA_DIR: &str = "data";

/// The data directory: `cli` if given, else `$ONECYCLE_DATA` if set and non-empty,
/// else `./data` (relative to the current directory).
///
/// ```
/// use std::path::Path;
/// use onecycle_data::resolve_data_dir;
/// assert_eq!(resolve_data_dir(Some(Path::new("/srv/d"))), Path::new("/srv/d"));
/// ```
#[must_use]
pub fn resolve_data_dir(cli: Option<&Path>) -> PathBuf {
    if let Some(dir) = cli {
        return dir.to_path_buf();
    }
    data_dir_or(DEFAULT_DATA_DIR)
}

/// The data directory `$ONECYCLE_DATA` when set and non-empty, else `fallback`: how
/// tests, examples and benches find the workspace's `data/` from any working directory.
///
/// ```
/// let fallback = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
/// let dir = onecycle_data::data_dir_or(fallback);
/// match std::env::var_os(onecycle_data::DATA_DIR_ENV).filter(|v| !v.is_empty()) {
///     Some(set) => assert_eq!(dir.as_os_str(), set),
///     None => assert_eq!(dir.to_str(), Some(fallback)),
/// }
/// ```
#[must_use]
pub fn data_dir_or(fallback: impl Into<PathBuf>) -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => fallback.into(),
    }
}

/// One data set in one data directory: `<data dir>/<name>`, resolved once and handed
/// down from [`load`](crate::load) to the fetcher and the loader.
///
/// ```
/// use std::path::Path;
/// use onecycle_data::{DatasetName, Location};
/// let at = Location::new(DatasetName::FashionMnist, Path::new("/srv/d"));
/// assert_eq!(at.dir(), Path::new("/srv/d/fashion-mnist"));
/// assert!(at.fix().to_string().contains("onecycle data fetch fashion-mnist --data-dir /srv/d"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    name: DatasetName,
    data_dir: PathBuf,
    dir: PathBuf,
}

impl Location {
    /// Data set `name` in the data directory `data_dir`.
    #[must_use]
    pub fn new(name: DatasetName, data_dir: &Path) -> Self {
        Self {
            name,
            data_dir: data_dir.to_path_buf(),
            dir: name.dir(data_dir),
        }
    }

    /// The data set.
    #[must_use]
    pub const fn name(&self) -> DatasetName {
        self.name
    }

    /// The data directory holding it.
    #[must_use]
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Its own directory, `<data dir>/<name>`.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What to do about a bad or missing file here.
    #[must_use]
    pub fn fix(&self) -> Fix {
        match self.name {
            DatasetName::Cifar10 => Fix::SupplyCifar10 {
                dir: self.dir.clone(),
            },
            dataset => Fix::Refetch {
                dataset,
                dir: self.dir.clone(),
            },
        }
    }
}
