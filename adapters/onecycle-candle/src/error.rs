//! The crate's error: the core's typed errors, plus what can go wrong with candle.

use core::fmt;

use onecycle_core::{ConfigError, FinderError};

/// Why an onecycle-candle call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// An invalid 1cycle configuration (the core's error, unchanged).
    Config(ConfigError),
    /// An invalid range-test configuration or a curve too short to suggest from (the core's).
    Finder(FinderError),
    /// The schedule cycles momentum but the optimiser has no momentum to cycle (candle's
    /// `SGD`). PyTorch's `OneCycleLR` refuses the same combination.
    MomentumUnsupported {
        /// The optimiser's name.
        optimizer: &'static str,
    },
    /// The loss was not a one-element tensor.
    NonScalarLoss {
        /// How many elements it had.
        elements: usize,
    },
    /// candle failed (a forward pass, the backward pass or an update).
    Candle(candle_core::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "invalid 1cycle configuration: {e}"),
            Self::Finder(e) => write!(f, "range test: {e}"),
            Self::MomentumUnsupported { optimizer } => write!(
                f,
                "the schedule cycles momentum but candle's {optimizer} has no momentum; \
                 set the config's `momentum` to `None`, or use AdamW (β₁ is cycled)"
            ),
            Self::NonScalarLoss { elements } => write!(
                f,
                "the loss has {elements} elements; reduce it to one (mean) before returning it"
            ),
            Self::Candle(e) => write!(f, "candle: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            Self::Finder(e) => Some(e),
            Self::Candle(e) => Some(e),
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

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Self::Candle(e)
    }
}
