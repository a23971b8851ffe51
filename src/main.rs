//! The `flexus-traffic-monitor` binary: parses the command line, loads `.env`, sets up logging and
//! hands over to the library's commands.

use std::process::ExitCode;

use clap::Parser;
use flexus_traffic_monitor::cli::{Cli, Command};
use flexus_traffic_monitor::commands;
use flexus_traffic_monitor::config::Config;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match &cli.env_file {
        Some(path) => dotenvy::from_path(path).map(|()| true),
        None => match dotenvy::dotenv() {
            Ok(_) => Ok(true),
            Err(e) if e.not_found() => Ok(false),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = loaded {
        eprintln!("cannot read the env file: {e}; fix the line it names (KEY=value, one per line)");
        return ExitCode::from(commands::EXIT_CONFIG);
    }
    if let Command::Config { json } = cli.command {
        return commands::config::run(json);
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return commands::config_error(&e),
    };
    let demo = matches!(cli.command, Command::Demo { .. });
    init_logging(config.alerting.cadence.debug, demo);
    if !demo {
        for w in config.warnings() {
            tracing::warn!("{w}");
        }
    }
    match cli.command {
        Command::Serve => commands::serve::run(config).await,
        Command::Check { json } => commands::check::run(config, json).await,
        Command::Discover { json } => commands::discover::run(config, json).await,
        Command::Demo { speed } => commands::demo::run(config, speed).await,
        Command::NotifyTest => commands::notify_test::run(config).await,
        Command::Lift => commands::lift::run(config).await,
        Command::Config { .. } => unreachable!("handled above"),
    }
}

fn init_logging(debug: bool, quiet: bool) {
    let default = match (debug, quiet) {
        (true, _) => "flexus_traffic_monitor=debug,info",
        (false, true) => "warn",
        (false, false) => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
