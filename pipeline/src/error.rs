//! The one error type of the lake's I/O, classified where a failure is
//! first seen so that callers decide by variant, never by downcasting.

use crate::aws_client::CallError;
use crate::convert::ConvertError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A retry may succeed: a timeout, a 5xx or throttling past the
    /// client's retries, a local I/O error, the converter failing to run.
    #[error("{0}")]
    Transient(String),
    /// The same request fails again: an answer of 4xx, a name S3 could
    /// not hold, a key that could leave the lake.
    #[error("{0}")]
    Permanent(String),
    /// Over a size limit, refused before it was read.
    #[error("{0}")]
    TooLarge(String),
    /// A lake document (manifest, journal) that cannot be read: fixing or
    /// deleting it lets the work go on.
    #[error("{0}")]
    Unreadable(String),
    /// The converter gave up on these inputs (over its memory or time, or
    /// trapped): the same bytes fail again.
    #[error("{0}")]
    GaveUp(String),
    /// A conditional write lost: another writer changed the object since
    /// it was read (S3's 412 Precondition Failed, or 409 for a concurrent
    /// conditional write). Re-reading and planning again may succeed.
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether a redelivery of the same work may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Transient(_) | Error::Unreadable(_) | Error::Conflict(_)
        )
    }

    /// The same failure, its message prefixed with what was being done.
    pub fn context(self, doing: impl std::fmt::Display) -> Self {
        let prefix = |message: String| format!("{doing}: {message}");
        match self {
            Error::Transient(m) => Error::Transient(prefix(m)),
            Error::Permanent(m) => Error::Permanent(prefix(m)),
            Error::TooLarge(m) => Error::TooLarge(prefix(m)),
            Error::Unreadable(m) => Error::Unreadable(prefix(m)),
            Error::GaveUp(m) => Error::GaveUp(prefix(m)),
            Error::Conflict(m) => Error::Conflict(prefix(m)),
        }
    }
}

/// `.context(…)` on results, keeping the variant.
pub trait Context<T> {
    fn context(self, doing: impl std::fmt::Display) -> Result<T>;
    fn with_context<D: std::fmt::Display>(self, doing: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, doing: impl std::fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(doing))
    }

    fn with_context<D: std::fmt::Display>(self, doing: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| e.into().context(doing()))
    }
}

impl From<CallError> for Error {
    fn from(error: CallError) -> Self {
        if error.too_large {
            Error::TooLarge(error.message)
        } else if error.retryable {
            Error::Transient(error.message)
        } else {
            Error::Permanent(error.message)
        }
    }
}

impl From<ConvertError> for Error {
    fn from(error: ConvertError) -> Self {
        match error {
            ConvertError::GaveUp(message) => Error::GaveUp(message),
            ConvertError::Failed(message) => Error::Transient(message),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::Transient(error.to_string())
    }
}
