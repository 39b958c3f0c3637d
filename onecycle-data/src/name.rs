//! The names of the data sets: on the command line, in run records (serde) and as
//! directory names. A leaf of the crate: it uses nothing else here.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The data sets the trainer knows.
///
/// ```
/// use onecycle_data::DatasetName;
/// let d: DatasetName = "fashion-mnist".parse().unwrap();
/// assert_eq!(d, DatasetName::FashionMnist);
/// assert_eq!(d.to_string(), "fashion-mnist");
/// assert!("imagenet".parse::<DatasetName>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
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

    /// One line on what the data set is (a command line's help for its name).
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Mnist => {
                "MNIST handwritten digits: 60 000 + 10 000 grey 28×28 images, 10 classes"
            }
            Self::FashionMnist => {
                "Fashion-MNIST (Zalando): 60 000 + 10 000 grey 28×28 images, 10 classes"
            }
            Self::Cifar10 => {
                "CIFAR-10: 50 000 + 10 000 colour 32×32 images, 10 classes (not fetchable)"
            }
        }
    }

    /// The data set's directory inside `data_dir`.
    #[must_use]
    pub fn dir(self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.as_str())
    }

    /// Whether [`fetch`](crate::fetch) can obtain it.
    #[must_use]
    pub const fn is_fetchable(self) -> bool {
        !matches!(self, Self::Cifar10)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_agree_across_fromstr_serde_and_dirs() {
        for d in DatasetName::ALL {
            let s = d.as_str();
            assert_eq!(s.parse::<DatasetName>(), Ok(d));
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{s}\""));
            assert_eq!(d.dir(Path::new("data")), Path::new("data").join(s));
        }
        assert_eq!(" MNIST ".parse::<DatasetName>(), Ok(DatasetName::Mnist));
        let err = "cifar100".parse::<DatasetName>().unwrap_err().to_string();
        assert!(
            err.contains("cifar100") && err.contains("fashion-mnist"),
            "{err}"
        );
    }
}
