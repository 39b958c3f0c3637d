//! The IDX file format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! An IDX file is a 4-byte magic `00 00 TT NN` (`TT = 0x08`: unsigned bytes, the
//! only type these data sets use; `NN`: number of dimensions), then `NN` big-endian
//! `u32` sizes, then the items row-major. Image files have three dimensions
//! (`count, rows, cols`), label files one (`count`). The file length must be exactly
//! header + product of the sizes. A file starting with the gzip magic `1F 8B` is
//! decompressed first, so `train-images-idx3-ubyte` and `train-images-idx3-ubyte.gz`
//! load alike (see [`read_maybe_gz`]).

use std::path::Path;

use super::content::read_maybe_gz;
use super::error::{DataError, FileProblem};

/// The unsigned-byte type code of the IDX header.
const UBYTE: u8 = 0x08;

/// A parsed IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Sizes, outermost first (for images: `[count, rows, cols]`).
    pub dims: Vec<usize>,
    /// The items, row-major; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

impl IdxArray {
    /// Number of items (the first dimension).
    #[must_use]
    pub fn count(&self) -> usize {
        self.dims.first().copied().unwrap_or(0)
    }
}

/// Parses IDX bytes that must have `ndims` dimensions; `path` only names the
/// file in errors.
///
/// # Errors
/// [`DataError::BadFile`] with [`FileProblem::BadMagic`] (not IDX, not unsigned
/// bytes, or another number of dimensions), [`FileProblem::Truncated`] or
/// [`FileProblem::TrailingBytes`].
///
/// ```
/// use std::path::Path;
/// use onecycle_data::idx::parse_idx;
/// // Two labels: 3 and 7.
/// let bytes = vec![0, 0, 8, 1, 0, 0, 0, 2, 3, 7];
/// let a = parse_idx(Path::new("labels"), bytes, 1).unwrap();
/// assert_eq!((a.dims, a.data), (vec![2], vec![3, 7]));
/// assert!(parse_idx(Path::new("labels"), vec![0, 0, 8, 3], 1).is_err());
/// ```
pub fn parse_idx(path: &Path, mut bytes: Vec<u8>, ndims: u8) -> Result<IdxArray, DataError> {
    let expected_magic = match ndims {
        1 => "0x00000801 (IDX, unsigned bytes, 1 dimension: a label file)",
        3 => "0x00000803 (IDX, unsigned bytes, 3 dimensions: an image file)",
        _ => "an IDX unsigned-byte file",
    };
    let bad_magic = |found| {
        DataError::file(
            path,
            FileProblem::BadMagic {
                found,
                expected: expected_magic,
            },
        )
    };
    let Some(magic) = bytes.get(..4) else {
        return Err(bad_magic(None));
    };
    if magic != [0, 0, UBYTE, ndims] {
        return Err(bad_magic(Some(u32::from_be_bytes([
            magic[0], magic[1], magic[2], magic[3],
        ]))));
    }
    let header = 4 + 4 * usize::from(ndims);
    let actual = bytes.len() as u64;
    let Some(size_bytes) = bytes.get(4..header) else {
        return Err(DataError::file(
            path,
            FileProblem::Truncated {
                expected: header as u64,
                actual,
            },
        ));
    };
    let dims: Vec<usize> = size_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    // Computed in u64 with overflow checks: an absurd header cannot overflow.
    let body: Option<u64> = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
    let expected = body
        .and_then(|b| b.checked_add(header as u64))
        .unwrap_or(u64::MAX);
    if actual < expected {
        return Err(DataError::file(
            path,
            FileProblem::Truncated { expected, actual },
        ));
    }
    if actual > expected {
        return Err(DataError::file(
            path,
            FileProblem::TrailingBytes { expected, actual },
        ));
    }
    bytes.drain(..header);
    Ok(IdxArray { dims, data: bytes })
}

/// Reads an IDX image file (three dimensions), raw or gzip.
///
/// # Errors
/// As [`read_maybe_gz`] and [`parse_idx`].
pub fn read_idx_images(path: &Path) -> Result<IdxArray, DataError> {
    parse_idx(path, read_maybe_gz(path)?, 3)
}

/// Reads an IDX label file (one dimension), raw or gzip.
///
/// # Errors
/// As [`read_maybe_gz`] and [`parse_idx`].
pub fn read_idx_labels(path: &Path) -> Result<IdxArray, DataError> {
    parse_idx(path, read_maybe_gz(path)?, 1)
}
