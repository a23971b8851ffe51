//! `notify-test`: sends one test message straight to every configured channel (not through the
//! outbox) and prints exactly what each service answered, so a wrong key, secret or chat is seen
//! at once.

use std::process::ExitCode;

use super::say;
use crate::app::clients;
use crate::channels::{Client, Part};
use crate::config::Config;
use crate::messages::{render, Message};
use crate::notifier::{meta, parts_for};

pub async fn run(config: Config) -> ExitCode {
    let lang = config.notify.lang;
    let clients = match clients(&config) {
        Ok(c) => c,
        Err(e) => {
            crate::logging::print_error(&say::failed(lang, None, "无法准备通知渠道", &e));
            return ExitCode::FAILURE;
        }
    };
    if clients.iter().all(|c| matches!(c, Client::Console { .. })) {
        crate::errln!("{}", super::say::no_channel(config.notify.lang));
        return ExitCode::from(super::EXIT_CONFIG);
    }
    let message = Message::Test {
        server: config.watch.server_name.clone(),
    };
    let html = render(&message, config.notify.lang, &config.alerting.thresholds);
    let meta = meta(&message);
    let id = format!("notify-test-{}", chrono::Utc::now().timestamp_millis());
    let mut all_ok = true;
    for client in &clients {
        let parts = parts_for(client, &html, &meta, false);
        let Some(q) = parts.first() else { continue };
        let part = Part {
            id: &id,
            title: &q.title,
            text: &q.text,
            markup: true,
            meta: q.meta.as_ref(),
            index: 1,
            count: 1,
            queued_at: q.created_at,
        };
        let name = client.name();
        match client.send_raw(&part).await {
            Err(e) => {
                all_ok = false;
                crate::outln!("{}", say::send_failed(lang, name, &e));
            }
            Ok(raw) => {
                crate::outln!(
                    "{}",
                    say::answered(
                        lang,
                        name,
                        client.protocol(),
                        &raw.status.to_string(),
                        &raw.body
                    )
                );
                match client.classify(&raw) {
                    Ok(()) => crate::outln!("{}\n", say::delivered(lang, name, None)),
                    Err(e) => {
                        all_ok = false;
                        crate::outln!("{}\n", say::delivered(lang, name, Some(&e)));
                    }
                }
            }
        }
    }
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
