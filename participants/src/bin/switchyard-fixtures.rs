//! `switchyard-fixtures load FILE.yml`: load jCard fixtures (run as `switchyard fixtures load FILE.yml`;
//! the main CLI execs `switchyard-<command>` for commands it does not know).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use switchyard::cli::db::DbTarget;
use switchyard_participants::fixtures::{load, Fixtures};
use switchyard_participants::{PanKey, PAN_KEY_ENV};

/// Load jCard fixtures (issuers, products, cards, accounts ...) into the switch's database.
#[derive(Debug, Parser)]
#[command(name = "switchyard fixtures", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load FILE (idempotent: reloading changes nothing that is already there).
    Load {
        /// The fixture file.
        file: PathBuf,
        /// Key for PAN hashes (must match the switch's); default: the key in VAR/pan.key.
        #[arg(long, env = PAN_KEY_ENV, hide_env_values = true)]
        pan_key: Option<String>,
        #[command(flatten)]
        db: DbTarget,
    },
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Load { file, pan_key, db } => {
            let fx = Fixtures::from_file(&file)?;
            let pool = db.pool(4).await?;
            switchyard::ledger::migrate(&pool)
                .await
                .context("migrating")?;
            let key = PanKey::resolve(pan_key, &db.var).context("PAN key")?;
            let sum = load(&pool, &key, &fx).await?;
            println!(
                "{}: {} entities loaded, {} opening GL transactions posted",
                file.display(),
                sum.entities,
                sum.posted
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
