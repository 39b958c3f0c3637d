//! A file's *content*: its bytes, decompressed when the file is gzip, and their
//! SHA-256. The pinned digests of the catalogue are of this content, so the IDX
//! and CIFAR-10 readers, the load-time hash check and the fetch-time hash check
//! all go through this one module.

use std::fs;
use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

use super::error::{DataError, FileProblem};

/// Reads a file whole, decompressing it when it starts with the gzip magic.
///
/// # Errors
/// [`DataError::BadFile`] with [`FileProblem::Missing`], [`FileProblem::NotRegular`],
/// [`FileProblem::Io`] or [`FileProblem::Gzip`].
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    // A FIFO would block the read for ever, a device would never end: regular files only.
    if fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(DataError::file(path, FileProblem::NotRegular));
    }
    let raw = fs::read(path).map_err(|e| {
        let problem = if e.kind() == std::io::ErrorKind::NotFound {
            FileProblem::Missing
        } else {
            FileProblem::Io(e)
        };
        DataError::file(path, problem)
    })?;
    if raw.starts_with(&[0x1F, 0x8B]) {
        let mut out = Vec::with_capacity(raw.len() * 2);
        MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| DataError::file(path, FileProblem::Gzip(e)))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Lower-case hex SHA-256 of `bytes`.
///
/// ```
/// use onecycle_data::content::sha256_hex;
/// assert_eq!(
///     sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
#[must_use]
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}
