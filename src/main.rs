//! The `flexus-traffic-monitor` binary: parses the command line, loads `.env`, sets up logging and
//! hands over to the library's commands.

use std::collections::HashMap;
use std::process::ExitCode;

use clap::Parser;
use flexus_traffic_monitor::cli::{Cli, Command};
use flexus_traffic_monitor::commands;
use flexus_traffic_monitor::config::Config;
use flexus_traffic_monitor::envfile;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = load_env_file(cli.env_file.as_deref()) {
        eprintln!("{e}");
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
    flexus_traffic_monitor::logging::init(config.log_format, config.alerting.cadence.debug, demo);
    if !demo {
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect();
        let unknown =
            flexus_traffic_monitor::config::unknown_variables(names.iter().map(String::as_str));
        for w in unknown.into_iter().chain(config.warnings()) {
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

/// Loads `--env-file` (which must exist) or `./.env` (if present) into the process environment,
/// read as python-dotenv reads it; variables already set win.
fn load_env_file(path: Option<&std::path::Path>) -> Result<(), envfile::LoadError> {
    let environment: HashMap<String, String> = std::env::vars().collect();
    let vars = envfile::load(
        path.unwrap_or(std::path::Path::new(".env")),
        path.is_some(),
        &environment,
    )?;
    for (key, value) in vars.unwrap_or_default() {
        // Edition 2021: safe. Nothing else runs yet that reads the environment.
        std::env::set_var(key, value);
    }
    Ok(())
}
