//! The `flexus-traffic-monitor` binary: parses the command line, loads `.env`, sets up logging and
//! hands over to the library's commands.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use flexus_traffic_monitor::cli::{self, Command};
use flexus_traffic_monitor::commands;
use flexus_traffic_monitor::config::{self, Config};
use flexus_traffic_monitor::envfile;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::parse(help_lang());
    let source = match load_env_file(cli.env_file.as_deref()) {
        Ok(source) => source,
        Err(e) => {
            flexus_traffic_monitor::errln!("{}", e.render(commands::env_lang()));
            return ExitCode::from(commands::EXIT_CONFIG);
        }
    };
    share_the_services_state(source.as_deref());
    if let Command::HashPassword { cost } = cli.command {
        return commands::hash_password::run(cost, commands::env_lang());
    }
    if let Command::Config { json } = cli.command {
        return commands::config::run(json, source.as_deref());
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return commands::config_problems(&e, source.as_deref(), commands::env_lang()),
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
        Command::Serve { web_config_file } => {
            let mut config = config;
            if web_config_file.is_some() {
                config.http.web_config_file = web_config_file;
            }
            commands::serve::run(config).await
        }
        Command::Check { json, no_send } => {
            let mut config = config;
            if no_send {
                config.notify.print_only();
            }
            commands::check::run(config, json).await
        }
        Command::Discover { json } => commands::discover::run(config, json).await,
        Command::Demo { speed } => commands::demo::run(config, speed).await,
        Command::NotifyTest => commands::notify_test::run(config).await,
        Command::Lift => commands::lift::run(config).await,
        Command::Config { .. } | Command::HashPassword { .. } => unreachable!("handled above"),
    }
}

/// The language of `--help`, read before the command line is: `MESSAGE_LANG` from the environment,
/// else from the env file the command would read (`--env-file FILE` or `./.env`, quietly: a broken
/// file is reported once the command line is parsed), else Chinese.
fn help_lang() -> flexus_traffic_monitor::messages::Lang {
    if std::env::var_os("MESSAGE_LANG").is_some() {
        return commands::env_lang();
    }
    let args: Vec<String> = std::env::args().collect();
    let file = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| match a.strip_prefix("--env-file") {
            Some("") => args.get(i + 1).cloned(),
            Some(rest) => rest.strip_prefix('=').map(str::to_string),
            None => None,
        })
        .unwrap_or_else(|| ".env".into());
    envfile::load(Path::new(&file), false, &HashMap::new())
        .ok()
        .flatten()
        .and_then(|vars| {
            vars.into_iter()
                .find(|(k, _)| k == "MESSAGE_LANG")
                .and_then(|(_, v)| v.parse().ok())
        })
        .unwrap_or(flexus_traffic_monitor::messages::Lang::Zh)
}

/// Loads `--env-file` (which must exist) or `./.env` (if present) into the process environment,
/// read as python-dotenv reads it; variables already set win. Returns the file read, if any.
fn load_env_file(path: Option<&Path>) -> Result<Option<PathBuf>, envfile::LoadError> {
    let environment: HashMap<String, String> = std::env::vars().collect();
    let file = path.unwrap_or(Path::new(".env"));
    let vars = envfile::load(file, path.is_some(), &environment)?;
    let read = vars
        .is_some()
        .then(|| std::path::absolute(file).unwrap_or(file.to_path_buf()));
    for (key, value) in vars.unwrap_or_default() {
        // Edition 2021: safe. Nothing else runs yet that reads the environment.
        std::env::set_var(key, value);
    }
    Ok(read)
}

/// A command run by hand with the installed env file uses the service's state directory (as
/// systemd's `StateDirectory=` and the cron line give it), unless `STATE_DIR` says otherwise.
fn share_the_services_state(source: Option<&Path>) {
    let given = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if given("STATE_DIR") || given(config::vars::SYSTEMD_STATE_DIRECTORY) {
        return;
    }
    if let Some(dir) = source.and_then(config::installed_state_dir) {
        // Edition 2021: safe. Nothing else runs yet that reads the environment.
        std::env::set_var(config::vars::SYSTEMD_STATE_DIRECTORY, dir);
    }
}
