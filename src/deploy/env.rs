//! `${VAR}` and `${VAR:-default}` substitution in descriptor text, before it is parsed.
//!
//! Substitution is textual and never adds lines, so YAML error locations still point at the file's own
//! lines. Comment lines are left alone (a variable named in a comment needs no value); `$${` writes a
//! literal `${`.

use thiserror::Error;

/// A reference that cannot be substituted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvError {
    /// `${VAR}` with `VAR` unset and no default.
    #[error("line {line}: environment variable {var} is not set and has no default (write ${{{var}:-default}})")]
    Unset {
        /// 1-based line.
        line: usize,
        /// The variable.
        var: String,
    },
    /// `${` without a closing `}` or with an invalid name.
    #[error(
        "line {line}: malformed variable reference (expected ${{NAME}} or ${{NAME:-default}})"
    )]
    Malformed {
        /// 1-based line.
        line: usize,
    },
}

/// Replace every `${VAR}` / `${VAR:-default}` in `text` using `lookup`.
pub fn substitute(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, EnvError> {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with('#') {
            out.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(pos) = rest.find("${") {
            if rest[..pos].ends_with('$') {
                out.push_str(&rest[..pos - 1]);
                out.push_str("${");
                rest = &rest[pos + 2..];
                continue;
            }
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 2..];
            let end = after.find('}').ok_or(EnvError::Malformed { line: n })?;
            let inner = &after[..end];
            let (var, default) = match inner.split_once(":-") {
                Some((v, d)) => (v, Some(d)),
                None => (inner, None),
            };
            let valid = !var.is_empty()
                && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !var.as_bytes()[0].is_ascii_digit();
            if !valid {
                return Err(EnvError::Malformed { line: n });
            }
            match (
                lookup(var).filter(|v| !v.is_empty() || default.is_none()),
                default,
            ) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(EnvError::Unset {
                        line: n,
                        var: var.to_owned(),
                    })
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// Substitute from the process environment.
pub fn substitute_env(text: &str) -> Result<String, EnvError> {
    substitute(text, |v| std::env::var(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(v: &str) -> Option<String> {
        match v {
            "PORT" => Some("9000".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn table() {
        let cases: &[(&str, Result<&str, EnvError>)] = &[
            ("listen: 127.0.0.1:${PORT}", Ok("listen: 127.0.0.1:9000")),
            (
                "listen: ${HOST:-127.0.0.1}:${PORT:-1}",
                Ok("listen: 127.0.0.1:9000"),
            ),
            ("x: ${EMPTY:-d}", Ok("x: d")),
            ("x: ${EMPTY}", Ok("x: ")),
            ("x: $${PORT}", Ok("x: ${PORT}")),
            ("# ${NOPE}\nx: 1", Ok("# ${NOPE}\nx: 1")),
            (
                "a: 1\nb: ${NOPE}",
                Err(EnvError::Unset {
                    line: 2,
                    var: "NOPE".into(),
                }),
            ),
            ("b: ${PORT", Err(EnvError::Malformed { line: 1 })),
            ("b: ${1X}", Err(EnvError::Malformed { line: 1 })),
        ];
        for (input, want) in cases {
            assert_eq!(
                substitute(input, env).as_deref(),
                want.as_ref().map(|s| *s),
                "{input}"
            );
        }
    }
}
