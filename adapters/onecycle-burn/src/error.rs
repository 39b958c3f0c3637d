//! The crate's error: the core's typed errors, plus what can go wrong with burn's data.

use core::fmt;

use onecycle_core::{ConfigError, FinderError};

/// Why an onecycle-burn call failed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// An invalid 1cycle configuration (the core's error, unchanged).
    Config(ConfigError),
    /// An invalid range-test configuration or a curve too short to suggest from (the core's).
    Finder(FinderError),
    /// The data loader yielded no batch.
    EmptyLoader,
    /// The data loader failed; its message.
    Data(String),
    /// The training step's loss was not a one-element tensor.
    NonScalarLoss {
        /// How many elements it had.
        elements: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "invalid 1cycle configuration: {e}"),
            Self::Finder(e) => write!(f, "range test: {e}"),
            Self::EmptyLoader => f.write_str(
                "the data loader yielded no batch; give the range test a loader with data",
            ),
            Self::Data(e) => write!(f, "the data loader failed: {e}"),
            Self::NonScalarLoss { elements } => write!(
                f,
                "the training step's loss has {elements} elements; reduce it to one (mean) \
                 before returning it"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            Self::Finder(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

impl From<FinderError> for Error {
    fn from(e: FinderError) -> Self {
        Self::Finder(e)
    }
}
