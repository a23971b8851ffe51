//! `check`: one poll, print the readings, exit with a code that says how it went.

use std::process::ExitCode;

use chrono::Utc;
use serde_json::json;

use crate::config::Config;
use crate::level::Level;

pub async fn run(config: Config, json_out: bool) -> ExitCode {
    if let Err(e) = config.require_polling() {
        return super::config_error(&e);
    }
    let bss = match super::bss_client(&config) {
        Ok(b) => b,
        Err(e) => return super::config_error(&e),
    };
    let results = match bss
        .list_free_resource_usages(&config.free_resource_ids, Utc::now())
        .await
    {
        Ok(r) => r,
        Err(e) => {
            if json_out {
                println!(
                    "{}",
                    json!({ "ok": false, "error": e.to_string(), "error_kind": e.kind() })
                );
            } else {
                eprintln!("error: {e}");
            }
            return ExitCode::from(super::EXIT_POLL_FAILED);
        }
    };
    let all_ok = results.iter().all(|(_, r)| r.is_ok());
    if json_out {
        let packages: Vec<_> = results
            .iter()
            .map(|(id, r)| match r {
                Ok(r) => json!({
                    "free_resource_id": id, "ok": true, "reading": r, "used_gb": r.used_gb(),
                    "level": Level::of(r.remaining_gb, &config.thresholds).label(),
                }),
                Err(e) => json!({ "free_resource_id": id, "ok": false, "error": e.to_string() }),
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "ok": all_ok, "server": config.server_name, "packages": packages })
            )
            .expect("json")
        );
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|(id, r)| match r {
                Ok(r) => vec![
                    id.clone(),
                    r.usage_type.clone(),
                    format!("{:.2}", r.total_gb),
                    format!("{:.2}", r.used_gb()),
                    format!("{:.2}", r.remaining_gb),
                    Level::of(r.remaining_gb, &config.thresholds)
                        .label()
                        .to_string(),
                    r.cycle_end
                        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                        .unwrap_or_default(),
                ],
                Err(e) => vec![
                    id.clone(),
                    format!("ERROR: {e}"),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
            })
            .collect();
        print!(
            "{}",
            super::table(
                &[
                    "FREE_RESOURCE_ID",
                    "TYPE",
                    "QUOTA_GB",
                    "USED_GB",
                    "REMAINING_GB",
                    "LEVEL",
                    "CYCLE_END"
                ],
                &rows
            )
        );
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_PARTIAL)
    }
}
