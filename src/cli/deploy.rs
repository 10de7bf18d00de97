//! `switchyard deploy check DIR`: parse and validate every descriptor without starting anything.

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;

use crate::deploy::{check_dir, descriptor_files};
use crate::txn::ParticipantRegistry;

/// Deploy-descriptor commands.
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Validate a deploy directory: syntax, keys, values, references; prints every problem as FILE:LINE.
    Check {
        /// The deploy directory.
        #[arg(default_value = "deploy")]
        dir: PathBuf,
    },
}

impl DeployCommand {
    /// The deploy directory the command works on.
    pub fn dir(&self) -> &std::path::Path {
        match self {
            DeployCommand::Check { dir } => dir,
        }
    }
}

/// Run a deploy command.
pub fn run(cmd: DeployCommand, registry: &ParticipantRegistry) -> anyhow::Result<()> {
    match cmd {
        DeployCommand::Check { dir } => {
            let errors = check_dir(&dir, registry);
            for e in &errors {
                eprintln!("{e}");
            }
            if !errors.is_empty() {
                bail!("{} problem(s) in {}", errors.len(), dir.display());
            }
            let n = descriptor_files(&dir)?.len();
            println!("{}: {n} descriptor(s) OK", dir.display());
            Ok(())
        }
    }
}
