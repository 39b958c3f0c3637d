//! Typed errors of the data layer. Every message names the file (or directory)
//! and the fix; nothing in this module panics on bad input.
//!
//! It uses nothing of the crate but the [`DatasetName`]s.

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::name::DatasetName;

/// What the user should do about a bad or missing file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fix {
    /// Delete the data set's directory and fetch it again.
    Refetch {
        /// The data set.
        dataset: DatasetName,
        /// Its directory (`<data dir>/<name>`).
        dir: PathBuf,
    },
    /// CIFAR-10 cannot be fetched by `onecycle`; the user has to supply the files.
    SupplyCifar10 {
        /// The directory the files belong in.
        dir: PathBuf,
    },
    /// A file given directly (not through a data set): check or regenerate it.
    CheckFile,
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refetch { dataset, dir } => {
                write!(
                    f,
                    "delete {} and rerun `onecycle data fetch {dataset}",
                    dir.display()
                )?;
                // The data directory the user chose, so that the advice fetches there.
                match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    Some(root) => write!(f, " --data-dir {}`", root.display()),
                    None => f.write_str("`"),
                }
            }
            Self::SupplyCifar10 { dir } => write!(
                f,
                "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html \
                 and put data_batch_1.bin ..= data_batch_5.bin and test_batch.bin from its \
                 cifar-10-batches-bin/ into {}",
                dir.display()
            ),
            Self::CheckFile => f.write_str("replace it with an intact copy in the expected format"),
        }
    }
}

/// What is wrong with one file.
#[derive(Debug)]
#[non_exhaustive]
pub enum FileProblem {
    /// The file could not be read.
    Io(io::Error),
    /// The file starts with the gzip magic but does not decompress.
    Gzip(io::Error),
    /// The first bytes are not the expected magic number.
    BadMagic {
        /// The magic found (first four bytes, big-endian), if there were four bytes.
        found: Option<u32>,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// The file is shorter than its header (or record size) says.
    Truncated {
        /// Bytes the header promises (or the next record boundary).
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The file is longer than its header says.
    TrailingBytes {
        /// Bytes the header promises.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The dimensions are not the ones the data set has.
    WrongDims {
        /// Dimensions expected (excluding the item count).
        expected: Vec<usize>,
        /// Dimensions found.
        found: Vec<usize>,
    },
    /// A label is not below the number of classes.
    LabelOutOfRange {
        /// Index of the item.
        index: usize,
        /// The label found.
        label: u8,
        /// Number of classes.
        classes: usize,
    },
    /// The SHA-256 of the (decompressed) content is not the pinned one.
    HashMismatch {
        /// Pinned digest (lower-case hex).
        expected: &'static str,
        /// Digest of the file's content.
        actual: String,
    },
    /// The file does not exist.
    Missing,
    /// The path is not a regular file (a directory, FIFO, socket or device): reading it
    /// could block or mean nothing.
    NotRegular,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read it: {e}"),
            Self::Gzip(e) => write!(f, "it starts like gzip but does not decompress: {e}"),
            Self::BadMagic {
                found: Some(m),
                expected,
            } => write!(f, "wrong magic number 0x{m:08X} (expected {expected})"),
            Self::BadMagic {
                found: None,
                expected,
            } => write!(f, "too short for a magic number (expected {expected})"),
            Self::Truncated { expected, actual } => {
                write!(f, "truncated: {actual} bytes, expected {expected}")
            }
            Self::TrailingBytes { expected, actual } => write!(
                f,
                "{actual} bytes, but the header describes {expected} (trailing garbage)"
            ),
            Self::WrongDims { expected, found } => {
                write!(f, "item dimensions {found:?}, expected {expected:?}")
            }
            Self::LabelOutOfRange {
                index,
                label,
                classes,
            } => write!(
                f,
                "label {label} at index {index} is not below the {classes} classes"
            ),
            Self::HashMismatch { expected, actual } => {
                write!(f, "SHA-256 of the content is {actual}, expected {expected}")
            }
            Self::Missing => f.write_str("missing"),
            Self::NotRegular => {
                f.write_str("not a regular file (a directory, FIFO, socket or device)")
            }
        }
    }
}

/// Errors of the data layer.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// One file is missing, unreadable or malformed.
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: FileProblem,
        /// What to do.
        fix: Fix,
    },
    /// The image and label files of a split disagree on the number of items.
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Its item count.
        n_images: usize,
        /// The label file.
        labels: PathBuf,
        /// Its item count.
        n_labels: usize,
        /// What to do.
        fix: Fix,
    },
    /// Fetching failed; nothing was installed.
    Fetch {
        /// The data set.
        dataset: DatasetName,
        /// What failed.
        detail: String,
        /// What to do.
        hint: String,
    },
    /// A batch size the iterator cannot serve.
    BatchSize {
        /// The batch size asked for.
        batch_size: usize,
        /// Number of items in the data set.
        len: usize,
    },
}

impl DataError {
    pub(crate) fn file(path: impl Into<PathBuf>, problem: FileProblem) -> Self {
        Self::BadFile {
            path: path.into(),
            problem,
            fix: Fix::CheckFile,
        }
    }

    /// Replaces the suggested fix (used when a loader knows which data set a file belongs to).
    #[must_use]
    pub fn with_fix(mut self, new: Fix) -> Self {
        match &mut self {
            Self::BadFile { fix, .. } | Self::CountMismatch { fix, .. } => *fix = new,
            Self::Fetch { .. } | Self::BatchSize { .. } => {}
        }
        self
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadFile { path, problem, fix } => {
                write!(f, "{}: {problem}; {fix}", path.display())
            }
            Self::CountMismatch {
                images,
                n_images,
                labels,
                n_labels,
                fix,
            } => write!(
                f,
                "{} holds {n_images} images but {} holds {n_labels} labels; {fix}",
                images.display(),
                labels.display()
            ),
            Self::Fetch {
                dataset,
                detail,
                hint,
            } => write!(f, "fetching {dataset} failed: {detail}; {hint}"),
            Self::BatchSize { batch_size, len } => write!(
                f,
                "batch size {batch_size} does not fit a data set of {len} items; \
                 use a batch size between 1 and {len}"
            ),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::BadFile {
                problem: FileProblem::Io(e) | FileProblem::Gzip(e),
                ..
            } => Some(e),
            _ => None,
        }
    }
}
