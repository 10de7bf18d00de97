//! Descriptor loading: read a `*.yml` file, substitute `${VAR}`s, find `kind:` and `name:`, and parse
//! the rest into that kind's serde struct (`deny_unknown_fields`), keeping serde_yaml's line numbers.
//!
//! Semantic checks happen later, in the kinds; they report a key, and [`line_of`] finds its line.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::env::{substitute_env, EnvError};
use super::error::DeployError;
use super::kinds::{
    channel::ChannelSpec, http::HttpSpec, ledger::LedgerSpec, logger::LoggerSpec, mux::MuxSpec,
    mux_pool::MuxPoolSpec, server::ServerSpec, sim_host::SimHostSpec, space::SpaceSpec,
    txnmgr::TxnmgrSpec,
};

/// The kinds a descriptor can have.
pub const KINDS: &[&str] = &[
    "logger", "space", "server", "channel", "mux", "mux-pool", "txnmgr", "http", "ledger",
    "sim-host",
];

/// A kind's parsed keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `kind: logger`.
    Logger(LoggerSpec),
    /// `kind: space`.
    Space(SpaceSpec),
    /// `kind: server`.
    Server(ServerSpec),
    /// `kind: channel`.
    Channel(ChannelSpec),
    /// `kind: mux`.
    Mux(MuxSpec),
    /// `kind: mux-pool`.
    MuxPool(MuxPoolSpec),
    /// `kind: txnmgr`.
    Txnmgr(TxnmgrSpec),
    /// `kind: http`.
    Http(HttpSpec),
    /// `kind: ledger`.
    Ledger(LedgerSpec),
    /// `kind: sim-host`.
    SimHost(SimHostSpec),
}

/// A reference from one component to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    /// Kind of the target (`space`, `channel`, `mux`, `ledger` ...).
    pub kind: &'static str,
    /// Name of the target.
    pub name: String,
    /// The key holding the reference.
    pub key: String,
}

impl Ref {
    /// A reference to `kind` `name` held by `key`.
    pub fn new(kind: &'static str, name: &str, key: &str) -> Self {
        Ref {
            kind,
            name: name.to_owned(),
            key: key.to_owned(),
        }
    }
}

impl Kind {
    /// The kind's name as written in YAML.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Kind::Logger(_) => "logger",
            Kind::Space(_) => "space",
            Kind::Server(_) => "server",
            Kind::Channel(_) => "channel",
            Kind::Mux(_) => "mux",
            Kind::MuxPool(_) => "mux-pool",
            Kind::Txnmgr(_) => "txnmgr",
            Kind::Http(_) => "http",
            Kind::Ledger(_) => "ledger",
            Kind::SimHost(_) => "sim-host",
        }
    }

    /// Components this one refers to by name.
    pub fn refs(&self) -> Vec<Ref> {
        match self {
            Kind::Server(s) => s.refs(),
            Kind::Mux(s) => s.refs(),
            Kind::MuxPool(s) => s.refs(),
            Kind::Txnmgr(s) => s.refs(),
            Kind::Http(s) => s.refs(),
            Kind::Space(s) => s.refs(),
            Kind::Logger(_) | Kind::Channel(_) | Kind::Ledger(_) | Kind::SimHost(_) => Vec::new(),
        }
    }
}

/// One parsed descriptor file.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    /// The file.
    pub file: PathBuf,
    /// `name:`.
    pub name: String,
    /// The substituted text (for finding key lines).
    pub text: String,
    /// The kind and its keys.
    pub kind: Kind,
}

impl Descriptor {
    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<Descriptor, DeployError> {
        let raw = std::fs::read_to_string(path)
            .map_err(|e| DeployError::at(path, 0, "", format!("cannot read: {e}")))?;
        Descriptor::parse(path, &raw)
    }

    /// Parse `raw` as the contents of `path`.
    pub fn parse(path: &Path, raw: &str) -> Result<Descriptor, DeployError> {
        let text = substitute_env(raw).map_err(|e| {
            let line = match e {
                EnvError::Unset { line, .. } | EnvError::Malformed { line } => line,
            };
            DeployError::at(path, line, "", e.to_string())
        })?;
        let head: serde_yaml::Value =
            serde_yaml::from_str(&text).map_err(|e| yaml_error(path, &text, &e))?;
        let field = |key: &str| -> Result<String, DeployError> {
            match head.get(key) {
                Some(serde_yaml::Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
                Some(_) => Err(DeployError::at(
                    path,
                    line_of(&text, &[key]),
                    key,
                    "expected a non-empty string",
                )),
                None => Err(DeployError::at(
                    path,
                    1,
                    key,
                    format!("missing; every descriptor needs `{key}:`"),
                )),
            }
        };
        let kind_name = field("kind")?;
        let name = field("name")?;
        let kind = match kind_name.as_str() {
            "logger" => Kind::Logger(typed(path, &text)?),
            "space" => Kind::Space(typed(path, &text)?),
            "server" => Kind::Server(typed(path, &text)?),
            "channel" => Kind::Channel(typed(path, &text)?),
            "mux" => Kind::Mux(typed(path, &text)?),
            "mux-pool" => Kind::MuxPool(typed(path, &text)?),
            "txnmgr" => Kind::Txnmgr(typed(path, &text)?),
            "http" => Kind::Http(typed(path, &text)?),
            "ledger" => Kind::Ledger(typed(path, &text)?),
            "sim-host" => Kind::SimHost(typed(path, &text)?),
            other => {
                return Err(DeployError::at(
                    path,
                    line_of(&text, &["kind"]),
                    "kind",
                    format!(
                        "unknown kind '{other}' (expected one of: {})",
                        KINDS.join(", ")
                    ),
                ))
            }
        };
        Ok(Descriptor {
            file: path.to_owned(),
            name,
            text,
            kind,
        })
    }

    /// A `DeployError` about `key` in this descriptor, at the key's line.
    pub fn error(&self, key: &str, message: impl Into<String>) -> DeployError {
        let path: Vec<&str> = split_key(key);
        DeployError::at(&self.file, line_of(&self.text, &path), key, message)
    }
}

/// Split a dotted key path, keeping participant names like `core.CheckFields` whole after
/// `participant-config`.
fn split_key(key: &str) -> Vec<&str> {
    match key.split_once('.') {
        Some((first, rest)) if first == "participant-config" => vec![first, rest],
        Some((first, rest)) => {
            let mut v = vec![first];
            v.extend(split_key(rest));
            v
        }
        None => vec![key],
    }
}

fn typed<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, DeployError> {
    serde_yaml::from_str(text).map_err(|e| yaml_error(path, text, &e))
}

/// A serde_yaml error as a `DeployError`, keeping its line and naming the key when it can.
pub fn yaml_error(path: &Path, text: &str, e: &serde_yaml::Error) -> DeployError {
    let msg = e.to_string();
    let line = e.location().map_or(0, |l| l.line());
    // "unknown field `x`" / "missing field `x`": the key is between backticks.
    let key = msg
        .split('`')
        .nth(1)
        .filter(|_| msg.contains("field `"))
        .map(str::to_owned)
        .or_else(|| key_at_line(text, line))
        .unwrap_or_default();
    let message = match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    let line = if line == 0 && !key.is_empty() {
        line_of(text, &[&key])
    } else {
        line
    };
    DeployError::at(path, line, &key, message)
}

/// The mapping key written on `line` (1-based), if any.
fn key_at_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (k, _) = l.trim_start().trim_start_matches("- ").split_once(':')?;
    let k = k.trim().trim_matches(|c| c == '"' || c == '\'');
    (!k.is_empty() && !k.contains(' ')).then(|| k.to_owned())
}

/// The 1-based line where the key path `path` (outermost first) is written; each later key is
/// searched from the line of the one before. 0 when not found.
pub fn line_of(text: &str, path: &[&str]) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut found = 0;
    for key in path {
        let hit = (from..lines.len()).find(|&i| has_key(lines[i], key));
        match hit {
            Some(i) => {
                found = i + 1;
                from = i;
            }
            None => return found,
        }
    }
    found
}

/// True if `line` writes `key:` as a mapping key (block or flow style, plain or quoted).
fn has_key(line: &str, key: &str) -> bool {
    let code = line.split(" #").next().unwrap_or(line);
    for quoted in [key.to_owned(), format!("\"{key}\""), format!("'{key}'")] {
        let mut start = 0;
        while let Some(pos) = code[start..].find(&quoted) {
            let at = start + pos;
            let before = code[..at].chars().last();
            let after = &code[at + quoted.len()..];
            let boundary = matches!(before, None | Some(' ' | '{' | ',' | '-' | '\t'));
            if boundary && after.trim_start().starts_with(':') {
                return true;
            }
            start = at + quoted.len();
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_key_lines() {
        let text = "kind: txnmgr\nname: t\nparticipant-config:\n  core.Delay: { prepare-delay: 5 }\n  core.CheckFields:\n    mandatory: [3]\n";
        assert_eq!(line_of(text, &["name"]), 2);
        assert_eq!(
            line_of(text, &["participant-config", "core.CheckFields"]),
            5
        );
        assert_eq!(
            line_of(text, &["participant-config", "core.Delay", "prepare-delay"]),
            4
        );
        assert_eq!(line_of(text, &["nope"]), 0);
        assert_eq!(
            split_key("participant-config.core.CheckFields"),
            ["participant-config", "core.CheckFields"]
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let p = Path::new("20_server.yml");
        let cases = [
            (
                "kind: server\nname: s\nlisten: 127.0.0.1:1\nqueue: q\nlisen: x\n",
                5,
                "lisen",
            ),
            (
                "kind: server\nname: s\nlisten: nope\nqueue: q\n",
                3,
                "listen",
            ),
            ("kind: bogus\nname: s\n", 1, "kind"),
            ("name: s\n", 1, "kind"),
            (
                "kind: server\nname: s\nlisten: ${NOT_SET_ANYWHERE_42}\n",
                3,
                "",
            ),
        ];
        for (text, line, key) in cases {
            let e = Descriptor::parse(p, text).expect_err("error");
            assert_eq!((e.line, e.key.as_str()), (line, key), "{text}: {e}");
            assert!(
                e.to_string().starts_with(&format!("20_server.yml:{line}")),
                "{e}"
            );
        }
    }
}
