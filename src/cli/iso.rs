//! `switchyard iso ...`: unpack, pack and dump messages with a built-in or file spec.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use crate::iso::encoding::hex_decode;
use crate::iso::{json, MaskPolicy, Spec};

/// ISO-8583 codec commands.
#[derive(Debug, Subcommand)]
pub enum IsoCommand {
    /// Unpack a message (hex argument or raw bytes from --file) and print its JSON form.
    Unpack(Input),
    /// Read the JSON form on stdin and print the packed message as uppercase hex.
    Pack {
        /// Built-in spec name or path to a spec YAML.
        #[arg(long)]
        spec: String,
    },
    /// Unpack a message and print it field by field with names, masked.
    Dump(Input),
    /// List the built-in specs.
    Specs,
}

/// Where a packed message comes from.
#[derive(Debug, Args)]
pub struct Input {
    /// Built-in spec name or path to a spec YAML.
    #[arg(long)]
    spec: String,
    /// Raw message bytes from this file instead of a hex argument.
    #[arg(long, conflicts_with = "hex")]
    file: Option<PathBuf>,
    /// The message as hex.
    #[arg(required_unless_present = "file")]
    hex: Option<String>,
}

impl Input {
    fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match (&self.file, &self.hex) {
            (Some(f), _) => std::fs::read(f).with_context(|| format!("reading {}", f.display())),
            (None, Some(h)) => hex_decode(h).map_err(|i| {
                anyhow::anyhow!("bad hex at character {i}: expected pairs of 0-9/A-F")
            }),
            (None, None) => bail!("give the message as a hex argument or with --file"),
        }
    }
}

/// Run an `iso` command.
pub fn run(cmd: IsoCommand) -> anyhow::Result<()> {
    match cmd {
        IsoCommand::Unpack(input) => {
            let spec = Spec::load(&input.spec)?;
            let msg = spec.unpack(&input.bytes()?)?;
            println!("{}", json::to_json(&spec, &msg)?);
        }
        IsoCommand::Pack { spec } => {
            let spec = Spec::load(&spec)?;
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the JSON message from stdin")?;
            let value: serde_json::Value =
                serde_json::from_str(&text).context("stdin is not valid JSON")?;
            let msg = json::from_json(&spec, &value)?;
            println!("{}", crate::iso::encoding::hex_string(&spec.pack(&msg)?));
        }
        IsoCommand::Dump(input) => {
            let spec = Spec::load(&input.spec)?;
            let msg = spec.unpack(&input.bytes()?)?;
            print!("{}", MaskPolicy::default().dump(&spec, &msg));
        }
        IsoCommand::Specs => {
            for (name, _) in crate::iso::spec::BUILTIN_SPECS {
                let spec = Spec::builtin(name)?;
                println!("{name:<12} {}", spec.description);
            }
        }
    }
    Ok(())
}
