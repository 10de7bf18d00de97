//! `DeployError`: every deploy problem names the file, the line, the key and what was expected.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// A descriptor that cannot be deployed, or a component that failed to start or stop.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub struct DeployError {
    /// The descriptor file.
    pub file: PathBuf,
    /// 1-based line of the offending key (0 when unknown).
    pub line: usize,
    /// The key (dotted path, e.g. `participant-config.core.CheckFields`), empty when not about one key.
    pub key: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl DeployError {
    /// An error at `file:line` about `key`.
    pub fn at(file: &Path, line: usize, key: &str, message: impl Into<String>) -> Self {
        DeployError {
            file: file.to_owned(),
            line,
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for DeployError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if !self.key.is_empty() {
            write!(f, ": key '{}'", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_file_line_and_key() {
        let e = DeployError::at(
            Path::new("deploy/20_server.yml"),
            4,
            "listen",
            "expected host:port",
        );
        assert_eq!(
            e.to_string(),
            "deploy/20_server.yml:4: key 'listen': expected host:port"
        );
        let e = DeployError::at(Path::new("x.yml"), 0, "", "cannot read");
        assert_eq!(e.to_string(), "x.yml: cannot read");
    }
}
