//! `SpaceError`: why a space operation failed (a database-backed space can fail; `TSpace` never does).

use thiserror::Error;

/// What a space operation failed with.
///
/// Kept small (one pointer-sized box per variant's payload) so that `Result<Option<V>, SpaceError>` moves
/// cheaply on `TSpace`'s hot path, where it is always `Ok`.
#[derive(Debug, Error)]
pub enum SpaceError {
    /// A database call failed (connection lost, server down, statement error).
    #[error("pg space {:?}: database error while {}: {}", .0.space, .0.context, .0.source)]
    Database(Box<DbFailure>),
    /// A value could not be turned into its stored form or back.
    #[error("pg space {:?} key {:?}: value (de)serialization: {}", .0.space, .0.key, .0.source)]
    Serde(Box<SerdeFailure>),
    /// A name or key is empty, too long or contains the separator U+001F.
    #[error("space: invalid name or key {0:?}")]
    InvalidName(Box<str>),
    /// The space does not offer this operation (e.g. listeners on a `pg:` space).
    #[error("space {:?}: {} is not supported by this kind of space", .0.0, .0.1)]
    Unsupported(Box<(String, &'static str)>),
}

/// A database failure of a space operation.
#[derive(Debug)]
pub struct DbFailure {
    /// The space.
    pub space: String,
    /// The step that failed (e.g. "taking an entry").
    pub context: &'static str,
    /// The driver's error.
    pub source: sqlx::Error,
}

/// A (de)serialization failure of a space value.
#[derive(Debug)]
pub struct SerdeFailure {
    /// The space.
    pub space: String,
    /// The key.
    pub key: String,
    /// The serde error.
    pub source: serde_json::Error,
}

impl SpaceError {
    /// A database failure while doing `context` on `space`.
    pub fn database(space: &str, context: &'static str, source: sqlx::Error) -> Self {
        SpaceError::Database(Box::new(DbFailure {
            space: space.to_owned(),
            context,
            source,
        }))
    }

    /// A (de)serialization failure of a value under `key` of `space`.
    pub fn serde(space: &str, key: &str, source: serde_json::Error) -> Self {
        SpaceError::Serde(Box::new(SerdeFailure {
            space: space.to_owned(),
            key: key.to_owned(),
            source,
        }))
    }

    /// `op` is not offered by `space`.
    pub fn unsupported(space: &str, op: &'static str) -> Self {
        SpaceError::Unsupported(Box::new((space.to_owned(), op)))
    }

    /// Log this error as failing `op` for `component`, and count it in `space_errors_total`.
    ///
    /// Every request path that meets a space error calls this (and then answers or drops the request),
    /// so a failing space is visible in the log and in the metrics, never silent.
    pub fn report(&self, component: &str, op: &'static str) {
        tracing::error!(component, op, error = %self, "space operation failed");
        metrics::counter!("space_errors_total", "component" => component.to_owned(), "op" => op)
            .increment(1);
    }

    /// True when the database could not be reached (retrying later may succeed).
    pub fn is_connection(&self) -> bool {
        match self {
            SpaceError::Database(d) => {
                matches!(
                    d.source,
                    sqlx::Error::Io(_)
                        | sqlx::Error::PoolTimedOut
                        | sqlx::Error::PoolClosed
                        | sqlx::Error::WorkerCrashed
                ) || d
                    .source
                    .as_database_error()
                    .and_then(|e| e.code())
                    .is_some_and(|c| c.starts_with("57P") || c.starts_with("08"))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_small() {
        assert!(std::mem::size_of::<SpaceError>() <= 24);
        assert!(std::mem::size_of::<Result<(), SpaceError>>() <= 24);
    }

    #[test]
    fn says_which_space_and_step() {
        let e = SpaceError::database("saf", "taking an entry", sqlx::Error::PoolTimedOut);
        let text = e.to_string();
        assert!(
            text.contains("\"saf\"") && text.contains("taking an entry"),
            "{text}"
        );
        assert!(e.is_connection());
    }
}
