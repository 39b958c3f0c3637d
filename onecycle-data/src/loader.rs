//! Loading and verifying an installed data set: reading its files with the
//! [`idx`] and [`cifar`] readers, checking the pinned SHA-256 digests,
//! dimensions, counts and labels, and normalising the images into a [`Split`].
//!
//! Nothing here fetches: a missing file is an error naming the fix. Fetching is
//! [`fetch`](super::fetch)'s, which calls [`verify`] and never the other way round.

use std::path::Path;

use super::catalog::{
    locate, IdxFile, IdxSource, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, CLASSES, MNIST_SIDE,
};
use super::content::{read_maybe_gz, sha256_hex};
use super::dataset::{Dataset, Normalization, Split};
use super::error::{DataError, FileProblem, Fix};
use super::location::Location;
use super::{cifar, idx};

/// Whether hashes are checked when loading a directory of IDX files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashCheck {
    /// Compare the decompressed content with the pinned SHA-256 digests.
    Verify,
    /// Check the structure only (for generated or third-party copies).
    Skip,
}

/// Checks every file of an installed data set: the pinned digests for MNIST and
/// Fashion-MNIST, the record structure for CIFAR-10. Fetches nothing.
///
/// # Errors
/// [`DataError::BadFile`] naming the file, with the fix.
pub fn verify(at: &Location) -> Result<(), DataError> {
    let dir = at.dir();
    let fix = at.fix();
    match at.name().idx_source() {
        Some(source) => {
            // Report a missing file before spending time hashing the others.
            if let Some(file) = source
                .files()
                .iter()
                .find(|f| !locate(dir, f.name).exists())
            {
                let path = locate(dir, file.name);
                return Err(DataError::file(path, FileProblem::Missing).with_fix(fix));
            }
            for file in source.files() {
                let path = locate(dir, file.name);
                let bytes = read_maybe_gz(&path).map_err(|e| e.with_fix(fix.clone()))?;
                check_hash(&path, &bytes, file.sha256).map_err(|e| e.with_fix(fix.clone()))?;
            }
        }
        None => {
            load_cifar10_dir(dir).map_err(|e| e.with_fix(fix))?;
        }
    }
    Ok(())
}

/// Loads the installed data set at `at` (hashes checked for MNIST and
/// Fashion-MNIST), with the data set's own fix in errors. Fetches nothing.
pub(crate) fn load_installed(at: &Location) -> Result<Split, DataError> {
    let split = match at.name().idx_source() {
        Some(source) => load_idx_dir(at.dir(), source, HashCheck::Verify),
        None => load_cifar10_dir(at.dir()),
    };
    split.map_err(|e| e.with_fix(at.fix()))
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
    images: &IdxFile,
    labels: &IdxFile,
    hashes: HashCheck,
) -> Result<(Vec<u8>, Vec<u8>), DataError> {
    let read = |file: &IdxFile, ndims| {
        let path = locate(dir, file.name);
        let bytes = read_maybe_gz(&path)?;
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
/// suggested is [`Fix::CheckFile`] ([`load`](super::load) replaces it with the
/// data set's own).
pub fn load_idx_dir(dir: &Path, source: &IdxSource, hashes: HashCheck) -> Result<Split, DataError> {
    let (train_px, train_lbl) =
        read_idx_pair(dir, &source.train_images, &source.train_labels, hashes)?;
    let (test_px, test_lbl) = read_idx_pair(dir, &source.test_images, &source.test_labels, hashes)?;
    let plane = MNIST_SIDE * MNIST_SIDE;
    let norm = Normalization::from_pixels(&train_px, 1, plane);
    let make =
        |px: Vec<u8>, lbl| Dataset::from_bytes(px, lbl, 1, MNIST_SIDE, MNIST_SIDE, CLASSES, &norm);
    Ok(Split {
        train: make(train_px, train_lbl),
        test: make(test_px, test_lbl),
    })
}

/// Loads a CIFAR-10 directory: `data_batch_1.bin ..= data_batch_5.bin` (training)
/// and `test_batch.bin` (test), raw or `.gz`, structure checked.
///
/// # Errors
/// [`DataError::BadFile`] naming the file; [`FileProblem::Missing`] for an absent one.
pub fn load_cifar10_dir(dir: &Path) -> Result<Split, DataError> {
    let read = |name: &str| cifar::read_cifar_file(&locate(dir, name));
    let mut train = cifar::CifarRecords::default();
    for name in CIFAR10_TRAIN_FILES {
        let part = read(name)?;
        train.images.extend_from_slice(&part.images);
        train.labels.extend_from_slice(&part.labels);
    }
    let test = read(CIFAR10_TEST_FILE)?;
    let plane = 32 * 32;
    let norm = Normalization::from_pixels(&train.images, 3, plane);
    let make = |px: Vec<u8>, lbl| Dataset::from_bytes(px, lbl, 3, 32, 32, cifar::CLASSES, &norm);
    Ok(Split {
        train: make(train.images, train.labels),
        test: make(test.images, test.labels),
    })
}
