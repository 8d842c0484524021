//! The one error type of the core. Variants carry what a user needs to fix the problem:
//! the file, the 1-based line number, the offending value.

use std::path::PathBuf;

/// Every fallible core operation returns this.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: cannot read file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A line of an input file is malformed. `line` is 1-based, `value` the offending text
    /// (shortened to a readable length).
    #[error("{path}:{line}: {message}{}", value.as_ref().map(|v| format!(" (value: {v:?})")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        line: u64,
        message: String,
        value: Option<String>,
    },
    /// The file as a whole is unusable (empty, no rating column, binary, ...).
    #[error("{path}: {message}")]
    Data { path: PathBuf, message: String },
    /// A hyper-parameter or option is out of range.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    Param {
        name: &'static str,
        value: String,
        reason: String,
    },
    /// A model file is corrupted, truncated, or written by an incompatible version.
    #[error("model file {path}: {message}")]
    ModelFile { path: PathBuf, message: String },
    /// A user id that the model (or data) does not know.
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    /// A book id that the model (or data) does not know.
    #[error("unknown book {0:?}")]
    UnknownItem(String),
    /// A request that cannot be satisfied with the given data (e.g. a split of 3 ratings
    /// into 5 folds).
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for a [`Error::Param`].
    pub fn param(
        name: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Error::Param {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Shortens a value for an error message (char-boundary safe), so a 2 GB line never ends up
/// in an error string.
pub fn excerpt(value: &str, max_chars: usize) -> String {
    let mut out: String = value.chars().take(max_chars).collect();
    if value.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    out
}
