//! Command-line parsers for the trainer's [`Choice`]s: the names as possible values, each
//! with its description in `--help`.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::train::choice::Choice;

/// The parser of a `T` on the command line.
pub fn choice<T: Choice + Send + Sync>() -> impl TypedValueParser<Value = T> {
    let values = T::ALL
        .iter()
        .map(|v| PossibleValue::new(v.name()).help(v.describe()));
    PossibleValuesParser::new(values)
        .try_map(|s| T::from_name(&s).ok_or_else(|| format!("unknown value {s:?}")))
}
