//! Space addresses: `scheme:name` strings (`tspace:default`, `pg:queues`, `file:/var/lib/sy/txn.log`).
//!
//! A bare name means `tspace:NAME`, as in jPOS where `SpaceFactory.getSpace("x")` is the default TSpace.

use std::fmt;

use thiserror::Error;

/// Where a space (or a durable store addressed like one) lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// In-memory [`crate::space::TSpace`].
    TSpace,
    /// PostgreSQL-backed durable space (provided by the ledger layer).
    Pg,
    /// Append-only file (used by the transaction manager's recovery store).
    File,
}

impl Scheme {
    /// The scheme's textual prefix, without the colon.
    pub fn as_str(&self) -> &'static str {
        match self {
            Scheme::TSpace => "tspace",
            Scheme::Pg => "pg",
            Scheme::File => "file",
        }
    }
}

/// A parsed space address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpaceAddr {
    /// Which implementation serves it.
    pub scheme: Scheme,
    /// Space name (for `file:` the path).
    pub name: String,
}

/// A space address that cannot be parsed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AddrError {
    /// The part before `:` is not a known scheme.
    #[error("space address '{addr}': unknown scheme '{scheme}' (expected tspace, pg or file)")]
    UnknownScheme {
        /// The address as given.
        addr: String,
        /// The scheme found.
        scheme: String,
    },
    /// Nothing after the scheme.
    #[error("space address '{0}': empty name")]
    EmptyName(String),
}

impl SpaceAddr {
    /// Parse `scheme:name`; a bare name is a `tspace`.
    pub fn parse(addr: &str) -> Result<Self, AddrError> {
        let (scheme, name) = match addr.split_once(':') {
            None => (Scheme::TSpace, addr),
            Some((s, name)) => {
                let scheme = match s {
                    "tspace" => Scheme::TSpace,
                    "pg" => Scheme::Pg,
                    "file" => Scheme::File,
                    other => {
                        return Err(AddrError::UnknownScheme {
                            addr: addr.to_owned(),
                            scheme: other.to_owned(),
                        })
                    }
                };
                (scheme, name)
            }
        };
        if name.is_empty() {
            return Err(AddrError::EmptyName(addr.to_owned()));
        }
        Ok(SpaceAddr {
            scheme,
            name: name.to_owned(),
        })
    }

    /// An in-memory space address.
    pub fn tspace(name: &str) -> Self {
        SpaceAddr {
            scheme: Scheme::TSpace,
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for SpaceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme.as_str(), self.name)
    }
}

impl std::str::FromStr for SpaceAddr {
    type Err = AddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpaceAddr::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses() {
        type Want = Result<(Scheme, &'static str), ()>;
        let cases: &[(&str, Want)] = &[
            ("default", Ok((Scheme::TSpace, "default"))),
            ("tspace:q", Ok((Scheme::TSpace, "q"))),
            ("pg:queues", Ok((Scheme::Pg, "queues"))),
            ("file:/tmp/a:b.log", Ok((Scheme::File, "/tmp/a:b.log"))),
            ("jdbm:x", Err(())),
            ("tspace:", Err(())),
            ("", Err(())),
        ];
        for (input, want) in cases {
            let got = SpaceAddr::parse(input);
            match want {
                Ok((scheme, name)) => {
                    let a = got.unwrap_or_else(|e| panic!("{input}: {e}"));
                    assert_eq!((&a.scheme, a.name.as_str()), (scheme, *name), "{input}");
                }
                Err(()) => assert!(got.is_err(), "{input} should fail"),
            }
        }
    }

    #[test]
    fn displays_with_scheme() {
        assert_eq!(
            SpaceAddr::parse("q").map(|a| a.to_string()),
            Ok("tspace:q".to_owned())
        );
    }
}
