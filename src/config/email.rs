//! The settings of the email channel (SMTP): on when `SMTP_HOST` is set. The password is a secret:
//! errors name the variable, never the value. Clear-text SMTP is accepted only towards a relay on
//! this machine.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::Mailbox;

use super::validate::{Checker, Said};
pub use crate::channels::email::{Settings as EmailSettings, SmtpTls};

/// The variables of the email channel that mean nothing without `SMTP_HOST`.
const VARS: &[&str] = &[
    "SMTP_PORT",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_FROM",
    "SMTP_TO",
    "SMTP_CA_FILE",
];

/// Whether `host` names this machine (clear text never leaves it).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_host(s: &str) -> Result<String, Said> {
    let bare = s.trim_start_matches('[').trim_end_matches(']');
    if s.contains("://") || s.contains('/') || s.contains('@') || s.chars().any(char::is_whitespace)
    {
        return Err(Said::from((
            "give the server's host name only, e.g. smtp.qq.com or smtp.gmail.com",
            "只写服务器主机名，例如 smtp.qq.com 或 smtp.gmail.com",
        )));
    }
    if bare.parse::<IpAddr>().is_ok() {
        return Ok(bare.to_string());
    }
    if s.contains(':') {
        return Err(Said::from((
            "give the host name only and put the port in SMTP_PORT",
            "只写主机名，端口写在 SMTP_PORT 中",
        )));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if s.len() > 253 || !s.trim_end_matches('.').split('.').all(label_ok) {
        return Err(Said::from(("give a host name such as smtp.qq.com (letters, digits, dots and dashes) or an IP address", "写 smtp.qq.com 这样的主机名（字母、数字、点和连字符）或 IP 地址")));
    }
    Ok(s.to_string())
}

fn mailbox(s: &str) -> Result<String, Said> {
    Mailbox::from_str(s.trim())
        .map(|m| m.to_string())
        .map_err(|_| {
            Said::from((
                "write an address such as alerts@example.com or Name <alerts@example.com>",
                "写 alerts@example.com 或 Name <alerts@example.com> 这样的地址",
            ))
        })
}

/// The encryption for `port`: implicit TLS on 465 when `SMTP_TLS` is not set; a mode that cannot
/// work on the port given (it would wait for `SMTP_TIMEOUT` on every attempt) is a mistake.
fn match_port(c: &mut Checker, tls: SmtpTls, tls_given: bool, port: Option<u16>) -> SmtpTls {
    match (tls, port) {
        (SmtpTls::Starttls, Some(465)) if !tls_given => SmtpTls::Tls,
        (SmtpTls::Starttls, Some(465)) => {
            c.error(
                "SMTP_TLS",
                "starttls",
                ("does not work with SMTP_PORT=465, where the server expects TLS from the first byte", "与 SMTP_PORT=465 不配：该端口从第一个字节起就要求 TLS"),
                ("set SMTP_TLS=tls for port 465 (SSL/TLS), or SMTP_PORT=587 for starttls", "端口 465（SSL/TLS）请设 SMTP_TLS=tls；用 starttls 则设 SMTP_PORT=587"),
            );
            tls
        }
        (SmtpTls::Tls, Some(p @ (587 | 25))) => {
            c.error(
                "SMTP_TLS",
                "tls",
                (
                    format!("does not work with SMTP_PORT={p}, where the server starts in clear text and offers STARTTLS"),
                    format!("与 SMTP_PORT={p} 不配：该端口先以明文开始，再提供 STARTTLS"),
                ),
                (
                    format!("set SMTP_TLS=starttls for port {p}, or SMTP_PORT=465 for tls"),
                    format!("端口 {p} 请设 SMTP_TLS=starttls；用 tls 则设 SMTP_PORT=465"),
                ),
            );
            tls
        }
        _ => tls,
    }
}

/// Reads and checks the email variables; `None` while `SMTP_HOST` is unset or on a mistake.
pub(super) fn check(c: &mut Checker) -> Option<EmailSettings> {
    // Checked even while email is off, so that a typo shows before it matters.
    let tls: SmtpTls = c.choice(
        "SMTP_TLS",
        ("is not an SMTP encryption mode", "不是 SMTP 加密方式"),
    );
    let tls_given = c.given("SMTP_TLS").is_some();
    let timeout = c.duration("SMTP_TIMEOUT", Duration::from_secs(1));
    let port = c.parse_optional("SMTP_PORT", ("is not a port", "不是端口"), |s| {
        s.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
            Said::from((
                "use a port number such as 587 (starttls) or 465 (tls), or unset it",
                "写端口号，例如 587（starttls）或 465（tls），或删除它",
            ))
        })
    });
    let Some(host_raw) = c.given("SMTP_HOST") else {
        for var in VARS {
            if c.given(var).is_some() && (*var != "SMTP_PORT" || port.is_some()) {
                let shown = if *var == "SMTP_PASSWORD" {
                    "[redacted]"
                } else {
                    c.given(var).unwrap_or_default()
                };
                c.error(
                        var,
                        shown,
                        ("is set but SMTP_HOST is not (email is off)", "已设置，但 SMTP_HOST 没有设置（邮件未启用）"),
                        (
                            format!("set SMTP_HOST to your mail provider's SMTP server, e.g. smtp.qq.com, or unset {var}"),
                            format!("把 SMTP_HOST 设为邮箱服务商的 SMTP 服务器，例如 smtp.qq.com；或删除 {var}"),
                        ),
                    );
            }
        }
        return None;
    };
    let host = match check_host(host_raw) {
        Ok(h) => h,
        Err(fix) => {
            c.error(
                "SMTP_HOST",
                host_raw,
                ("is not a host name", "不是主机名"),
                fix,
            );
            return None;
        }
    };
    if tls == SmtpTls::None && !is_loopback(&host) {
        c.error(
                "SMTP_TLS",
                "none",
                (
                    format!("would send the password and every message in clear text to {host}"),
                    format!("会把密码和每条消息以明文发给 {host}"),
                ),
                ("use starttls (port 587) or tls (port 465); none is allowed only for a relay on this machine (SMTP_HOST=127.0.0.1, ::1 or localhost)", "用 starttls（端口 587）或 tls（端口 465）；none 只允许用于本机的中继（SMTP_HOST=127.0.0.1、::1 或 localhost）"),
            );
    }
    let tls = match_port(c, tls, tls_given, port);
    let port = port.unwrap_or_else(|| tls.default_port());
    let username = c.text("SMTP_USERNAME");
    let password = c.secret("SMTP_PASSWORD");
    match (&username, &password) {
            (Some(u), None) => c.error(
                "SMTP_PASSWORD",
                "",
                (
                    format!("is not set but SMTP_USERNAME={u} is"),
                    format!("没有设置，但设置了 SMTP_USERNAME={u}"),
                ),
                ("set the password (many providers want an app password or authorisation code), or unset SMTP_USERNAME for a relay without login", "设置密码（很多邮箱要求应用专用密码或授权码），或对无需登录的中继删除 SMTP_USERNAME"),
            ),
            (None, Some(_)) => c.error(
                "SMTP_USERNAME",
                "",
                ("is not set but SMTP_PASSWORD is", "没有设置，但设置了 SMTP_PASSWORD"),
                ("set the login name (usually your email address), or unset SMTP_PASSWORD", "设置登录名（通常是你的邮箱地址），或删除 SMTP_PASSWORD"),
            ),
            _ => {}
        }
    let from = match c.given("SMTP_FROM") {
        Some(_) => c.parse_optional(
            "SMTP_FROM",
            ("is not an email address", "不是邮箱地址"),
            mailbox,
        ),
        None => match username.as_deref().map(mailbox) {
            Some(Ok(m)) => Some(m),
            _ => {
                c.error(
                        "SMTP_FROM",
                        "",
                        ("is not set (and SMTP_USERNAME is not an address)", "没有设置（SMTP_USERNAME 也不是邮箱地址）"),
                        ("set the sender address, e.g. SMTP_FROM=alerts@example.com (most providers want the login's own address)", "设置发件地址，例如 SMTP_FROM=alerts@example.com（多数邮箱要求与登录账号相同）"),
                    );
                None
            }
        },
    };
    let to = match c.given("SMTP_TO") {
        None => {
            c.error(
                    "SMTP_TO",
                    "",
                    ("is not set, so email has no recipient", "没有设置，邮件没有收件人"),
                    ("set the address(es) to send to, comma-separated, e.g. SMTP_TO=me@example.com,ops@example.com", "设置收件地址，多个用逗号分隔，例如 SMTP_TO=me@example.com,ops@example.com"),
                );
            None
        }
        Some(list) => {
            let mut out = Vec::new();
            let mut ok = true;
            for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match mailbox(item) {
                    Ok(m) => out.push(m),
                    Err(fix) => {
                        ok = false;
                        c.error(
                            "SMTP_TO",
                            list,
                            (
                                format!("{item:?} is not an email address"),
                                format!("{item:?} 不是邮箱地址"),
                            ),
                            (
                                format!("{}; separate several with commas", fix.en),
                                format!("{}；多个地址用逗号分隔", fix.zh.unwrap_or(fix.en.clone())),
                            ),
                        );
                    }
                }
            }
            if ok && out.is_empty() {
                c.error(
                    "SMTP_TO",
                    list,
                    ("has no address", "没有地址"),
                    (
                        "set the address(es) to send to, comma-separated",
                        "设置收件地址，多个用逗号分隔",
                    ),
                );
            }
            (ok && !out.is_empty()).then_some(out)
        }
    };
    let ca_file = c.text("SMTP_CA_FILE").map(PathBuf::from);
    if let Some(path) = &ca_file {
        // Read now, so that `config` finds what `serve` would refuse.
        if let Err((problem, fix)) = crate::channels::email::ca_file(path) {
            let (problem_zh, fix_zh) = if problem.starts_with("cannot be read") {
                ("无法读取".to_string(), "给出可读的 PEM 文件，或删除它")
            } else {
                (
                    "不是有效的 PEM 证书文件".to_string(),
                    "给出中继的 PEM 格式 CA 证书（-----BEGIN CERTIFICATE-----），或删除它",
                )
            };
            c.error(
                "SMTP_CA_FILE",
                &path.display().to_string(),
                (problem, problem_zh),
                (fix, fix_zh),
            );
        }
    }
    Some(EmailSettings {
        host,
        port,
        tls,
        username,
        password,
        from: from?,
        to: to?,
        timeout,
        ca_file,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, RawConfig};

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        let mut raw = RawConfig::default();
        for (k, v) in vars {
            raw.set(k, *v);
        }
        Config::from_raw(&raw).map_err(|e| e.to_string())
    }

    const OK: &[(&str, &str)] = &[
        ("SMTP_HOST", "smtp.example.com"),
        ("SMTP_USERNAME", "alerts@example.com"),
        ("SMTP_PASSWORD", "pa55-word-xyz"),
        ("SMTP_TO", "me@example.com, Ops <ops@example.com>"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v: Vec<_> = OK
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .copied()
            .collect();
        v.extend(extra.iter().filter(|(_, val)| !val.is_empty()));
        v
    }

    #[test]
    fn defaults_are_starttls_on_587_from_the_login() {
        let c = config(OK).unwrap();
        let e = c.notify.channels.email.clone().unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.tls),
            ("smtp.example.com", 587, SmtpTls::Starttls)
        );
        assert_eq!(e.from, "alerts@example.com");
        assert_eq!(e.to, ["me@example.com", "Ops <ops@example.com>"]);
        assert_eq!(e.timeout, Duration::from_secs(30));
        assert!(c.notify.channels.configured().contains(&"email"));
        assert!(!format!("{c:?}").contains("pa55-word-xyz"));
        let c = config(&with(&[("SMTP_TLS", "tls")])).unwrap();
        assert_eq!(c.notify.channels.email.unwrap().port, 465);
    }

    #[test]
    fn clear_text_is_refused_unless_the_relay_is_on_this_machine() {
        let err = config(&with(&[("SMTP_TLS", "none")])).unwrap_err();
        assert!(
            err.contains("SMTP_TLS") && err.contains("clear text"),
            "{err}"
        );
        assert!(err.contains("starttls"), "names the fix: {err}");
        for host in ["127.0.0.1", "localhost", "::1", "[::1]"] {
            let c = config(&with(&[("SMTP_TLS", "none"), ("SMTP_HOST", host)])).unwrap();
            assert_eq!(c.notify.channels.email.unwrap().port, 25, "{host}");
        }
    }

    #[test]
    fn each_mistake_names_its_variable_and_fix_without_the_password() {
        for (extra, var, words) in [
            (
                vec![("SMTP_HOST", "smtp://smtp.example.com")],
                "SMTP_HOST",
                "host name only",
            ),
            (
                vec![("SMTP_HOST", "smtp!.example.com")],
                "SMTP_HOST",
                "letters, digits",
            ),
            (
                vec![("SMTP_HOST", "smtp.example.com:465")],
                "SMTP_HOST",
                "SMTP_PORT",
            ),
            (vec![("SMTP_PORT", "0")], "SMTP_PORT", "587"),
            (vec![("SMTP_TLS", "maybe")], "SMTP_TLS", "starttls"),
            (
                vec![("SMTP_TO", "me@example.com,not an address")],
                "SMTP_TO",
                "\"not an address\"",
            ),
            (vec![("SMTP_TO", " , ")], "SMTP_TO", "comma-separated"),
            (vec![("SMTP_TO", "")], "SMTP_TO", "is not set"),
            (
                vec![("SMTP_FROM", "nobody")],
                "SMTP_FROM",
                "alerts@example.com",
            ),
            (
                vec![("SMTP_USERNAME", "login-name")],
                "SMTP_FROM",
                "sender address",
            ),
            (
                vec![("SMTP_USERNAME", "")],
                "SMTP_USERNAME",
                "SMTP_PASSWORD",
            ),
            (vec![("SMTP_TIMEOUT", "soon")], "SMTP_TIMEOUT", "duration"),
        ] {
            let err = config(&with(&extra)).unwrap_err();
            assert!(err.contains(var) && err.contains(words), "{extra:?}: {err}");
            assert!(err.contains("fix:"), "{err}");
            assert!(!err.contains("pa55-word-xyz"), "{err}");
        }
        let err = config(&with(&[("SMTP_PASSWORD", "")])).unwrap_err();
        assert!(
            err.contains("SMTP_PASSWORD") && err.contains("app password"),
            "{err}"
        );
    }

    #[test]
    fn the_encryption_must_fit_the_port() {
        // Port 465 alone means implicit TLS.
        let c = config(&with(&[("SMTP_PORT", "465")])).unwrap();
        let e = c.notify.channels.email.unwrap();
        assert_eq!((e.port, e.tls), (465, SmtpTls::Tls));
        for (tls, port) in [("tls", "465"), ("starttls", "587"), ("starttls", "25")] {
            let c = config(&with(&[("SMTP_TLS", tls), ("SMTP_PORT", port)])).unwrap();
            assert_eq!(c.notify.channels.email.unwrap().tls.as_str(), tls);
        }
        for (tls, port, fix) in [
            ("starttls", "465", "SMTP_TLS=tls"),
            ("tls", "587", "SMTP_TLS=starttls"),
            ("tls", "25", "SMTP_TLS=starttls"),
        ] {
            let err = config(&with(&[("SMTP_TLS", tls), ("SMTP_PORT", port)])).unwrap_err();
            assert!(
                err.contains("SMTP_TLS")
                    && err.contains(&format!("SMTP_PORT={port}"))
                    && err.contains(fix),
                "{tls} {port}: {err}"
            );
        }
    }

    #[test]
    fn the_ca_file_is_read_while_checking_the_configuration() {
        let dir = std::env::temp_dir().join(format!("flexus-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let good = dir.join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["relay.test".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(&good, cert.pem()).unwrap();
        let missing = dir.join("missing.pem");
        for (path, words) in [(&empty, "no PEM certificate"), (&missing, "cannot be read")] {
            let p = path.display().to_string();
            let err = config(&with(&[("SMTP_CA_FILE", p.leak())])).unwrap_err();
            assert!(
                err.contains("SMTP_CA_FILE") && err.contains(words) && err.contains("fix:"),
                "{err}"
            );
        }
        let p = good.display().to_string();
        let c = config(&with(&[("SMTP_CA_FILE", p.leak())])).unwrap();
        assert!(c.notify.channels.email.unwrap().ca_file.is_some());
        assert_eq!(crate::channels::email::ca_file(&good).unwrap().1, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn email_variables_without_a_host_are_a_mistake() {
        let err = config(&[
            ("SMTP_TO", "me@example.com"),
            ("SMTP_PASSWORD", "pa55-word-xyz"),
        ])
        .unwrap_err();
        assert!(
            err.contains("SMTP_TO")
                && err.contains("SMTP_PASSWORD")
                && err.contains("set SMTP_HOST"),
            "{err}"
        );
        assert!(!err.contains("pa55-word-xyz"), "{err}");
        let c = config(&[]).unwrap();
        assert!(c.notify.channels.email.is_none());
    }
}
