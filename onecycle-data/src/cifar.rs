//! The CIFAR-10 binary format (`cifar-10-batches-bin/*.bin`).
//!
//! A file is a sequence of 3073-byte records: one label byte (`0..10`) followed by
//! a 32×32 colour image as 1024 red, 1024 green and 1024 blue bytes, each plane
//! row-major, which is exactly the `C×H×W` layout the trainer uses. The original
//! files hold 10 000 records each (five training files, one test file); any
//! positive whole number of records is accepted, so the loader can be tested on
//! small generated files. There is no magic number and no published per-file
//! digest, so only the structure is checked.

use std::path::Path;

use super::content::read_maybe_gz;
use super::error::{DataError, FileProblem};

/// Bytes of one image: 3 channels × 32 × 32.
pub const IMAGE_BYTES: usize = 3 * 32 * 32;
/// Bytes of one record: the label, then the image.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;
/// Number of CIFAR-10 classes.
pub const CLASSES: usize = 10;

/// The records of one or more CIFAR-10 binary files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CifarRecords {
    /// Images, `N × 3 × 32 × 32` bytes, row-major.
    pub images: Vec<u8>,
    /// Labels, `N` bytes, each below [`CLASSES`].
    pub labels: Vec<u8>,
}

/// Parses the bytes of one CIFAR-10 binary file; `path` only names it in errors.
///
/// # Errors
/// [`DataError::BadFile`] with [`FileProblem::Truncated`] (empty, or not a whole
/// number of records) or [`FileProblem::LabelOutOfRange`].
///
/// ```
/// use std::path::Path;
/// use onecycle_data::cifar::{parse_cifar, RECORD_BYTES};
/// let mut rec = vec![7u8; RECORD_BYTES];
/// rec[0] = 3; // the label
/// let r = parse_cifar(Path::new("x.bin"), &rec).unwrap();
/// assert_eq!(r.labels, vec![3]);
/// assert!(parse_cifar(Path::new("x.bin"), &rec[..100]).is_err());
/// ```
pub fn parse_cifar(path: &Path, bytes: &[u8]) -> Result<CifarRecords, DataError> {
    let actual = bytes.len() as u64;
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD_BYTES) {
        let records = bytes.len() / RECORD_BYTES + 1;
        return Err(DataError::file(
            path,
            FileProblem::Truncated {
                expected: (records * RECORD_BYTES) as u64,
                actual,
            },
        ));
    }
    let n = bytes.len() / RECORD_BYTES;
    let mut out = CifarRecords {
        images: Vec::with_capacity(n * IMAGE_BYTES),
        labels: Vec::with_capacity(n),
    };
    for (index, rec) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let label = rec[0];
        if usize::from(label) >= CLASSES {
            return Err(DataError::file(
                path,
                FileProblem::LabelOutOfRange {
                    index,
                    label,
                    classes: CLASSES,
                },
            ));
        }
        out.labels.push(label);
        out.images.extend_from_slice(&rec[1..]);
    }
    Ok(out)
}

/// Reads one CIFAR-10 binary file (raw or gzip-compressed).
///
/// # Errors
/// As [`read_maybe_gz`] and [`parse_cifar`].
pub fn read_cifar_file(path: &Path) -> Result<CifarRecords, DataError> {
    parse_cifar(path, &read_maybe_gz(path)?)
}
