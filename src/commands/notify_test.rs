//! `notify-test`: sends one test message straight to Telegram (not through the outbox) and prints
//! exactly what Telegram answered, so a wrong token or chat id is seen at once.

use std::process::ExitCode;

use crate::config::Config;
use crate::messages::{render, Message};
use crate::telegram::client::classify;
use crate::telegram::TelegramClient;

pub async fn run(config: Config) -> ExitCode {
    let (Some(token), Some(chat)) = (
        &config.notify.telegram.bot_token,
        &config.notify.telegram.chat_id,
    ) else {
        crate::logging::print_error("TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID must both be set; fix: put them in .env (the token from @BotFather, the chat id from @userinfobot or getUpdates)");
        return ExitCode::from(super::EXIT_CONFIG);
    };
    let client = match TelegramClient::new(
        config.notify.telegram.api_url.clone(),
        token.clone(),
        chat.clone(),
        config.notify.telegram.thread_id,
        config.http_timeout,
    ) {
        Ok(c) => c,
        Err(e) => {
            crate::logging::print_error(&format!("error: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let text = render(
        &Message::Test {
            server: config.watch.server_name.clone(),
        },
        config.notify.lang,
        &config.alerting.thresholds,
    );
    match client.send_raw(&text, true).await {
        Err(e) => {
            crate::logging::print_error(&format!("error: {e}"));
            ExitCode::FAILURE
        }
        Ok(raw) => {
            println!("Telegram answered HTTP {}:\n{}", raw.status, raw.body);
            match classify(&raw) {
                Ok(()) => {
                    println!("\nok: the message was delivered");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    crate::logging::print_error(&format!("\nnot delivered: {e}"));
                    ExitCode::FAILURE
                }
            }
        }
    }
}
