//! `switchyard iso ...`: pack, unpack and dump messages with a named or file spec.

use clap::Subcommand;

/// ISO-8583 codec commands.
#[derive(Debug, Subcommand)]
pub enum IsoCommand {
    /// List the built-in specs.
    Specs,
}

/// Run an `iso` command.
pub fn run(cmd: IsoCommand) -> anyhow::Result<()> {
    match cmd {
        IsoCommand::Specs => Ok(()),
    }
}
