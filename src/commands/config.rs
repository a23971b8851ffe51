//! `config`: validate and print the effective configuration.
//!
//! It runs exactly the checks `serve` runs before starting ([`Config::require_for_serve`]) and
//! exits with the same code when one fails, so "valid" here means `serve` will accept it.
//!
//! What needs the reader comes first: the problems (on standard error, naming the env file read
//! and where to fix them), then the warnings, then the ~90 settings, then one line recalling the
//! verdict, so that neither `config | head` nor a scrolled terminal hides a problem.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{unknown_variables, Config, ConfigErrors};

/// `source` is the env file that was read (none when the environment alone configures it).
pub fn run(json: bool, source: Option<&Path>) -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return problems(&e, source),
    };
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    let mut warnings = unknown_variables(names.iter().map(String::as_str));
    warnings.extend(config.warnings());
    let verdict = config.require_for_serve();
    if let Err(e) = &verdict {
        crate::errln!("{}", e.in_file(source));
    }
    if json {
        for w in &warnings {
            crate::errln!("warning: {w}");
        }
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&config).expect("config serializes")
        );
    } else {
        for w in &warnings {
            crate::outln!("warning: {w}\n");
        }
        match source {
            Some(f) => crate::outln!("# settings in effect (read from {})", f.display()),
            None => crate::outln!("# settings in effect (from the environment; no env file read)"),
        }
        for (var, value) in config.effective() {
            crate::outln!("{var}={value}");
        }
    }
    match verdict {
        Ok(()) => {
            if !json {
                crate::outln!("\nconfiguration is valid: `serve` and `check` accept it");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            if !json {
                crate::outln!(
                    "\nconfiguration is not valid: {} problem{} listed above",
                    e.0.len(),
                    if e.0.len() == 1 { "" } else { "s" }
                );
            }
            ExitCode::from(super::EXIT_CONFIG)
        }
    }
}

fn problems(e: &ConfigErrors, source: Option<&Path>) -> ExitCode {
    crate::errln!("{}", e.in_file(source));
    ExitCode::from(super::EXIT_CONFIG)
}
