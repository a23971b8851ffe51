//! `config`: validate and print the effective configuration.
//!
//! It runs exactly the checks `serve` runs before starting ([`Config::require_for_serve`]) and
//! exits with the same code when one fails, so "valid" here means `serve` will accept it.
//!
//! What needs the reader comes first: the problems (on standard error, naming the env file read
//! and where to fix them), then the warnings, then the ~90 settings, then one line recalling the
//! verdict, so that neither `config | head` nor a scrolled terminal hides a problem. Headings and
//! verdicts follow `MESSAGE_LANG` ([`super::say`]).

use std::path::Path;
use std::process::ExitCode;

use super::say;
use crate::config::{unknown_variables_in, Config};

/// `source` is the env file that was read (none when the environment alone configures it).
pub fn run(json: bool, source: Option<&Path>) -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return super::config_problems(&e, source, super::env_lang()),
    };
    let lang = config.notify.lang;
    let names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    let mut warnings = unknown_variables_in(names.iter().map(String::as_str), lang);
    warnings.extend(config.warnings_in(lang));
    let verdict = super::with_container_problem(config.require_for_serve(), &config);
    if let Err(e) = &verdict {
        crate::errln!("{}", e.render(source, lang));
    }
    if json {
        for w in &warnings {
            crate::errln!("{}{w}", say::warning(lang));
        }
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&config).expect("config serializes")
        );
    } else {
        for w in &warnings {
            crate::outln!("{}{w}\n", say::warning(lang));
        }
        crate::outln!("{}", say::settings_heading(lang, source));
        for (var, value) in config.effective_in(lang) {
            crate::outln!("{var}={value}");
        }
    }
    let problems = verdict.as_ref().map_or_else(|e| e.0.len(), |()| 0);
    if !json {
        crate::outln!("\n{}", say::verdict(lang, problems));
    }
    if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_CONFIG)
    }
}
