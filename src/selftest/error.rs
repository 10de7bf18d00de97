//! What can stop the self-test runner (as opposed to a case failing, which is a result).

use std::path::PathBuf;

use thiserror::Error;

/// A problem with the suite itself or its connection to the switch.
#[derive(Debug, Error)]
pub enum SelftestError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A case file is not valid.
    #[error("{file}: {reason}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// What is wrong (with line and column from the YAML parser).
        reason: String,
    },
    /// A case is not valid (a bad timeout, an unknown variable ...).
    #[error("{file}: case {description:?}: {reason}")]
    Case {
        /// The file.
        file: PathBuf,
        /// The case.
        description: String,
        /// What is wrong.
        reason: String,
    },
    /// A JUnit report could not be written.
    #[error("writing JUnit report {path}: {reason}")]
    Junit {
        /// The report file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}
