//! `hash-password`: the bcrypt hash of a password, for `basic_auth_users` in the web configuration
//! file — what `htpasswd -nBC 10 "" | tr -d ':\n'` prints, without installing apache2-utils. On a
//! terminal the password is asked twice and not echoed (`stty -echo`); otherwise the first line of
//! standard input is read, so that scripts can pipe it in. Needs no configuration.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use crate::messages::Lang;

/// What the command says, in `lang`.
fn text(lang: Lang, what: &str) -> &'static str {
    match (lang, what) {
        (Lang::Zh, "ask") => "密码：",
        (Lang::Zh, "again") => "再输入一次：",
        (Lang::Zh, "differ") => "两次输入的密码不一致，未生成哈希",
        (Lang::Zh, "empty") => "密码为空，未生成哈希",
        (Lang::Zh, "cost") => "--cost 须在 4 到 31 之间（默认 10，约 70 毫秒一次校验）",
        (Lang::Zh, _) => "无法读取密码",
        (Lang::En, "ask") => "Password: ",
        (Lang::En, "again") => "Again: ",
        (Lang::En, "differ") => "the two passwords differ; no hash made",
        (Lang::En, "empty") => "the password is empty; no hash made",
        (Lang::En, "cost") => "--cost must be 4 to 31 (default 10: about 70 ms per check)",
        (Lang::En, _) => "cannot read the password",
    }
}

/// Turns the terminal's echo on or off (best effort: without `stty` the password shows).
fn echo(on: bool) {
    if let Ok(tty) = std::fs::File::open("/dev/tty") {
        let _ = std::process::Command::new("stty")
            .arg(if on { "echo" } else { "-echo" })
            .stdin(tty)
            .status();
    }
}

fn ask(lang: Lang, what: &str) -> Option<String> {
    eprint!("{}", text(lang, what));
    let _ = std::io::stderr().flush();
    echo(false);
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    echo(true);
    eprintln!();
    read.ok()
        .map(|_| line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn run(cost: u32, lang: Lang) -> ExitCode {
    if !(4..=31).contains(&cost) {
        crate::errln!("{}", text(lang, "cost"));
        return ExitCode::from(super::EXIT_CONFIG);
    }
    let password = if std::io::stdin().is_terminal() {
        let (Some(a), Some(b)) = (ask(lang, "ask"), ask(lang, "again")) else {
            crate::errln!("{}", text(lang, "read"));
            return ExitCode::FAILURE;
        };
        if a != b {
            crate::errln!("{}", text(lang, "differ"));
            return ExitCode::FAILURE;
        }
        a
    } else {
        let mut line = String::new();
        if std::io::stdin().lock().read_line(&mut line).is_err() {
            crate::errln!("{}", text(lang, "read"));
            return ExitCode::FAILURE;
        }
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if password.is_empty() {
        crate::errln!("{}", text(lang, "empty"));
        return ExitCode::FAILURE;
    }
    match bcrypt::hash(&password, cost) {
        Ok(hash) => {
            crate::outln!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            crate::errln!("{}: {e}", text(lang, "read"));
            ExitCode::FAILURE
        }
    }
}
