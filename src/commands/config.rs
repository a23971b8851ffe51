//! `config`: validate and print the effective configuration.

use std::process::ExitCode;

use crate::config::Config;

pub fn run(json: bool) -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return super::config_error(&e),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&config).expect("config serializes")
        );
    } else {
        for (var, value) in config.effective() {
            println!("{var}={value}");
        }
        for w in config.warnings() {
            println!("\nwarning: {w}");
        }
        match config.require_polling() {
            Ok(()) => println!("\nconfiguration is valid"),
            Err(e) => println!("\nconfiguration is valid, but `serve` and `check` also need:\n{e}"),
        }
    }
    ExitCode::SUCCESS
}
