//! `config`: validate and print the effective configuration.
//!
//! It runs exactly the checks `serve` runs before starting ([`Config::require_for_serve`]) and
//! exits with the same code when one fails, so "valid" here means `serve` will accept it.

use std::process::ExitCode;

use crate::config::{unknown_variables, Config};

pub fn run(json: bool) -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return super::config_error(&e),
    };
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    let mut warnings = unknown_variables(names.iter().map(String::as_str));
    warnings.extend(config.warnings());
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&config).expect("config serializes")
        );
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    } else {
        for (var, value) in config.effective() {
            println!("{var}={value}");
        }
        for w in &warnings {
            println!("\nwarning: {w}");
        }
    }
    match config.require_for_serve() {
        Ok(()) => {
            if !json {
                println!("\nconfiguration is valid: `serve` and `check` accept it");
            }
            ExitCode::SUCCESS
        }
        Err(e) => super::config_error(&e),
    }
}
