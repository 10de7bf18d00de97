//! Participant plugins: a deploy directory that names participants this binary does not know (say
//! `jcard.Authorization`) is run by the binary that registers them, `switchyard-<namespace>` (here
//! `switchyard-jcard`), found next to this one — the same convention as external subcommands.
//!
//! Participants are compiled in (a registry of factories, no dynamic loading), so a crate of
//! participants ships its own `switchyard`-compatible binary built with `cli::main_with`. The plain
//! `switchyard run` then works on any deploy directory whose plugins are installed beside it: it
//! replaces itself (`exec`) with the plugin binary and the same arguments, so signals, exit status
//! and logs are the plugin's own.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::deploy::{descriptor_files, Descriptor, Kind};
use crate::txn::ParticipantRegistry;

/// Set in the plugin's environment so that a plugin missing the names too fails instead of looping.
const DELEGATED_ENV: &str = "SWITCHYARD_PLUGIN_OF";

/// Namespaces (text before the first `.`) of participants the deploy directory uses and `registry`
/// lacks. Unreadable descriptors are skipped: deploying reports them properly.
pub fn missing_namespaces(dir: &Path, registry: &ParticipantRegistry) -> BTreeSet<String> {
    let Ok(files) = descriptor_files(dir) else {
        return BTreeSet::new();
    };
    let mut missing = BTreeSet::new();
    for f in files {
        let Ok(desc) = Descriptor::load(&f) else {
            continue;
        };
        if let Kind::Txnmgr(spec) = &desc.kind {
            for name in spec.participant_names() {
                if !registry.contains(name) {
                    if let Some((ns, _)) = name.split_once('.') {
                        missing.insert(ns.to_owned());
                    }
                }
            }
        }
    }
    missing
}

/// The `switchyard-<ns>` binary next to this one, if installed.
fn plugin_binary(ns: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.join(format!("switchyard-{ns}"));
    path.is_file().then_some(path)
}

/// If `dir` needs participants from a plugin, `exec` that plugin with this process's arguments
/// (returns only on failure); otherwise return `Ok(())` and let the caller go on.
pub fn delegate_if_needed(dir: &Path, registry: &ParticipantRegistry) -> anyhow::Result<()> {
    let missing = missing_namespaces(dir, registry);
    let Some(ns) = missing.iter().next() else {
        return Ok(());
    };
    if let Ok(from) = std::env::var(DELEGATED_ENV) {
        bail!(
            "{} uses participants of namespace(s) {missing:?} that neither this binary nor {from} registers",
            dir.display()
        );
    }
    let Some(bin) = plugin_binary(ns) else {
        // Deploying reports the unknown participant with its file and line.
        return Ok(());
    };
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    tracing::debug!(plugin = %bin.display(), "participants of '{ns}' live in a plugin binary");
    let err = std::process::Command::new(&bin)
        .args(args)
        .env(DELEGATED_ENV, &bin)
        .exec();
    Err(err).with_context(|| format!("running plugin {}", bin.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unregistered_namespaces_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("10_space.yml"),
            "kind: space\nname: default\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("30_txnmgr.yml"),
            "kind: txnmgr\nname: t\nparticipants: [core.Trace, acme.Fraud]\n\
             groups:\n  g: [jcard.CheckCard, core.SendResponse]\n",
        )
        .expect("write");
        let registry = ParticipantRegistry::with_builtins();
        let missing = missing_namespaces(dir.path(), &registry);
        assert_eq!(
            missing.into_iter().collect::<Vec<_>>(),
            vec!["acme".to_owned(), "jcard".to_owned()]
        );
    }

    #[test]
    fn nothing_missing_for_core_participants() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("30_txnmgr.yml"),
            "kind: txnmgr\nname: t\nparticipants: [core.Trace, core.SendResponse]\n",
        )
        .expect("write");
        let registry = ParticipantRegistry::with_builtins();
        assert!(missing_namespaces(dir.path(), &registry).is_empty());
    }
}
