//! Email over SMTP with `lettre` (tokio, rustls with Mozilla's roots: no OpenSSL).
//!
//! Encryption: STARTTLS required (587, the default), implicit TLS (465), or none for a relay on
//! this machine (the configuration refuses it for any other host). Credentials are sent only over
//! an encrypted connection, or to that local relay. One connection per message (no pool: messages
//! are rare); the whole exchange is bounded by `SMTP_TIMEOUT`.
//!
//! The message: `Subject` in the chosen language with the level and the server name; a plain-text
//! body and an HTML alternative (both base64, so non-ASCII text needs no 8BITMIME); `Message-ID`
//! made from the outbox part's id (the same on every retry, also after a restart, so a copy sent
//! twice after a crash is recognisable); `Date` when the message was queued; `Auto-Submitted:
//! auto-generated` (RFC 3834) so that auto-responders stay quiet; urgent messages carry
//! `Importance: high`.
//!
//! The server's answer is the SMTP reply (RFC 5321 §4.2): 2xx accepted; 4xx transient (retried with
//! back-off); 530/534/535/538 a login or encryption problem the user must fix (kept, retried
//! slowly); any other 5xx refuses this message (or a recipient) for good (kept in `dead/`). One
//! transaction carries every recipient, so a refused recipient refuses the message. A TLS failure
//! or a client-side refusal (no STARTTLS offered, no usable login mechanism) needs the user too.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;

use super::http::Answer;
use super::render::{self, Limit};
use super::{Failure, Part};
use crate::messages::Lang;
use crate::secret::Secret;

/// One email carries a whole message (servers take megabytes); parts only for very long notes.
pub const LIMIT: Limit = Limit::chars(100_000);
/// Providers throttle bursts (and may block the account for them).
pub const PACE: Duration = Duration::from_secs(2);
/// Longest subject, in characters.
const SUBJECT_CHARS: usize = 120;

/// How the SMTP connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: a relay on this machine only.
    None,
}

impl SmtpTls {
    /// The `SMTP_TLS` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starttls => "starttls",
            Self::Tls => "tls",
            Self::None => "none",
        }
    }

    /// The port servers use for this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Self::Starttls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

impl FromStr for SmtpTls {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(Self::Starttls),
            "tls" | "ssl" | "smtps" => Ok(Self::Tls),
            "none" => Ok(Self::None),
            _ => Err("use starttls (port 587), tls (implicit TLS, port 465) or none (a relay on this machine only)"),
        }
    }
}

/// The settings of the email channel (validated by the configuration).
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// The sender, as a mailbox (`Name <addr>` or `addr`).
    pub from: String,
    /// The recipients, at least one.
    pub to: Vec<String>,
    /// Bounds one whole delivery: connect, TLS, login and sending.
    #[serde(serialize_with = "human")]
    pub timeout: Duration,
    /// Extra root certificates (PEM) to trust, for a relay with its own certificate authority.
    pub ca_file: Option<PathBuf>,
}

fn human<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// A configured email channel.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    lang: Lang,
    /// `host:port`, for errors.
    server: String,
    timeout: Duration,
    /// Strings that never leave this module: the password and its encodings on the wire.
    secrets: Vec<String>,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

/// The secret forms of a password: itself, and as AUTH PLAIN and AUTH LOGIN put it on the wire.
fn secrets_of(username: &str, password: &str) -> Vec<String> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mut v = vec![
        password.to_string(),
        b64(password),
        b64(&format!("\0{username}\0{password}")),
    ];
    v.retain(|s| s.len() >= 4);
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v
}

impl Email {
    /// # Errors
    /// When `SMTP_CA_FILE` cannot be read or holds no certificate, or TLS cannot be set up; the
    /// error names the variable.
    pub fn new(s: &Settings, lang: Lang) -> Result<Self, String> {
        let parse = |m: &str, var: &str| {
            Mailbox::from_str(m).map_err(|e| {
                format!("{var}: {e}; fix: write an address such as alerts@example.com")
            })
        };
        let from = parse(&s.from, "SMTP_FROM")?;
        let to =
            s.to.iter()
                .map(|m| parse(m, "SMTP_TO"))
                .collect::<Result<Vec<_>, _>>()?;
        let tls = if s.tls == SmtpTls::None {
            Tls::None
        } else {
            let mut b = TlsParameters::builder(s.host.clone());
            if let Some(path) = &s.ca_file {
                let pem = std::fs::read(path).map_err(|e| {
                    format!("SMTP_CA_FILE={}: cannot read it ({e}); fix: give a readable PEM file, or unset it", path.display())
                })?;
                let cert = Certificate::from_pem(&pem).map_err(|e| {
                    format!("SMTP_CA_FILE={}: not a PEM certificate ({e}); fix: give the relay's CA certificate in PEM form", path.display())
                })?;
                b = b.add_root_certificate(cert);
            }
            let params = b
                .build_rustls()
                .map_err(|e| format!("SMTP_HOST={}: cannot set up TLS ({e})", s.host))?;
            if s.tls == SmtpTls::Tls {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        let mut secrets = Vec::new();
        if let (Some(user), Some(pass)) = (&s.username, &s.password) {
            b = b.credentials(Credentials::new(user.clone(), pass.expose().to_string()));
            secrets = secrets_of(user, pass.expose());
        }
        Ok(Self {
            transport: b.build(),
            from,
            to,
            lang,
            server: format!("{}:{}", s.host, s.port),
            timeout: s.timeout,
            secrets,
        })
    }

    fn scrub(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), "[redacted]");
        }
        out
    }

    /// The email of `part`.
    ///
    /// # Errors
    /// When the message cannot be built (it cannot be sent at all).
    pub fn message(&self, part: &Part<'_>) -> Result<Message, Failure> {
        let urgent = part
            .meta
            .is_some_and(|m| m.level.as_deref() == Some("level1") || m.kind.starts_with("shut"));
        let (plain, html) = if part.markup {
            (render::plain(part.text), Some(html_document(part.text)))
        } else {
            (part.text.to_string(), None)
        };
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(subject(self.lang, part))
            .message_id(Some(message_id(part.id, self.from.email.domain())))
            .date(part.queued_at.into())
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ));
        if urgent {
            b = b.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Importance"),
                "high".into(),
            ));
        }
        for to in &self.to {
            b = b.to(to.clone());
        }
        let single = |kind: ContentType, text: String| {
            Body::new_with_encoding(text, ContentTransferEncoding::Base64)
                .map(|body| SinglePart::builder().header(kind).body(body))
                .map_err(|_| Failure::Refused("the message cannot be encoded".into()))
        };
        let plain = single(ContentType::TEXT_PLAIN, plain)?;
        let built = match html {
            Some(h) => b.multipart(
                MultiPart::alternative()
                    .singlepart(plain)
                    .singlepart(single(ContentType::TEXT_HTML, h)?),
            ),
            None => b.singlepart(plain),
        };
        built.map_err(|e| Failure::Refused(format!("the email cannot be built: {e}")))
    }

    /// Sends `part` and returns the server's reply (code and text) as the answer.
    ///
    /// # Errors
    /// When no reply came: network trouble or a timeout ([`Failure::Transient`]), or TLS or the
    /// client refusing to go on ([`Failure::Fix`]).
    pub(super) async fn send(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        let message = self.message(part)?;
        let sent = tokio::time::timeout(self.timeout, self.transport.send(message)).await;
        let answer = |code: String, text: String| Answer {
            status: code.parse().unwrap_or(0),
            body: self.scrub(&text),
            retry_after: None,
        };
        match sent {
            Err(_) => Err(Failure::Transient(format!(
                "the SMTP server {} did not finish within {} (SMTP_TIMEOUT); if it never answers, check SMTP_PORT and SMTP_TLS (tls is for port 465, starttls for 587)",
                self.server,
                humantime::format_duration(self.timeout)
            ))),
            Ok(Ok(reply)) => Ok(answer(
                reply.code().to_string(),
                reply.message().collect::<Vec<_>>().join(" "),
            )),
            Ok(Err(e)) => {
                if let Some(code) = e.status() {
                    let text = std::error::Error::source(&e)
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    return Ok(answer(code.to_string(), text));
                }
                let d = self.scrub(&format!(
                    "SMTP server {}: {}",
                    self.server,
                    crate::huawei::transport::error_chain(&e)
                ));
                let lower = d.to_ascii_lowercase();
                if e.is_tls()
                    || ["certificate", "corrupt message", "handshake"]
                        .iter()
                        .any(|w| lower.contains(w))
                {
                    Err(Failure::Fix(format!("{d}; check SMTP_TLS and SMTP_PORT (tls is for port 465, starttls for 587) and that the server's certificate names SMTP_HOST (or set SMTP_CA_FILE for a private CA)")))
                } else if e.is_client() {
                    Err(Failure::Fix(format!("{d}; check SMTP_TLS, SMTP_USERNAME and SMTP_PASSWORD against the provider's SMTP settings")))
                } else {
                    Err(Failure::Transient(d))
                }
            }
        }
    }
}

/// Classifies the SMTP reply.
///
/// # Errors
/// See [`Failure`].
pub fn classify(a: &Answer) -> Result<(), Failure> {
    let d = format!(
        "the SMTP server answered {} {}",
        a.status,
        a.body.chars().take(300).collect::<String>()
    );
    match a.status {
        200..=299 => Ok(()),
        530 | 534 | 535 | 538 => Err(Failure::Fix(format!(
            "{d}; login refused: check SMTP_USERNAME and SMTP_PASSWORD (many providers want an app password or authorisation code, and SMTP access turned on in the mailbox settings)"
        ))),
        400..=499 => Err(Failure::Transient(d)),
        500..=599 => Err(Failure::Refused(format!(
            "{d}; refused for good: check SMTP_FROM (most providers want the login's own address) and SMTP_TO"
        ))),
        _ => Err(Failure::Transient(d)),
    }
}

/// The level as a subject tag.
fn level_tag(lang: Lang, level: &str) -> Option<&'static str> {
    Some(match (lang, level) {
        (Lang::Zh, "level1") => "【1 级】",
        (Lang::Zh, "level2") => "【2 级】",
        (Lang::Zh, "level3") => "【3 级】",
        (Lang::Zh, "ok") => "【正常】",
        (Lang::En, "level1") => "[Level 1]",
        (Lang::En, "level2") => "[Level 2]",
        (Lang::En, "level3") => "[Level 3]",
        (Lang::En, "ok") => "[OK]",
        _ => return None,
    })
}

/// The subject: level, the message's first line, the server, and the part number when there are
/// several; at most 120 characters.
pub fn subject(lang: Lang, part: &Part<'_>) -> String {
    let meta = part.meta;
    let mut s = String::new();
    if let Some(tag) = meta
        .and_then(|m| m.level.as_deref())
        .and_then(|l| level_tag(lang, l))
    {
        s.push_str(tag);
        if lang == Lang::En {
            s.push(' ');
        }
    }
    s.push_str(part.title.trim());
    if let Some(server) = meta.map(|m| m.server.trim()).filter(|s| !s.is_empty()) {
        s.push_str(" - ");
        s.push_str(server);
    }
    if part.count > 1 {
        s.push_str(&format!(" ({}/{})", part.index, part.count));
    }
    // No line breaks in a header.
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() <= SUBJECT_CHARS {
        s
    } else {
        let mut cut: String = s.chars().take(SUBJECT_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// `<id@domain>`, from the outbox part's id: the same for every attempt at this part.
pub fn message_id(id: &str, domain: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("<flexus.{id}@{domain}>")
}

/// The HTML alternative: the message's own markup (`<b>`, `<code>`, entities), lines as breaks.
fn html_document(html: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body><div style=\"font-family:sans-serif;line-height:1.5\">\n{}\n</div></body></html>\n",
        html.replace('\n', "<br>\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::Meta;

    fn a(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    #[test]
    fn replies_map_to_what_to_do() {
        assert_eq!(classify(&a(250, "2.0.0 Ok: queued as 1")), Ok(()));
        for code in [421, 450, 451, 452, 454] {
            assert!(
                matches!(classify(&a(code, "try later")), Err(Failure::Transient(_))),
                "{code}"
            );
        }
        for code in [530, 534, 535] {
            let e = classify(&a(code, "5.7.8 bad credentials")).unwrap_err();
            assert!(
                matches!(&e, Failure::Fix(d) if d.contains("SMTP_PASSWORD")),
                "{code}: {e}"
            );
        }
        for code in [550, 552, 553, 554, 501] {
            assert!(
                matches!(classify(&a(code, "no")), Err(Failure::Refused(_))),
                "{code}"
            );
        }
    }

    #[test]
    fn subjects_carry_level_title_and_server_in_the_language() {
        let meta = Meta {
            kind: "alert".into(),
            level: Some("level2".into()),
            server: "web-1".into(),
            ..Meta::default()
        };
        let part = Part {
            id: "1-0001",
            title: "🟠 流量告警（高频）",
            text: "x",
            markup: true,
            meta: Some(&meta),
            index: 1,
            count: 1,
            queued_at: chrono::Utc::now(),
        };
        assert_eq!(
            subject(Lang::Zh, &part),
            "【2 级】🟠 流量告警（高频） - web-1"
        );
        let en = Part {
            title: "Traffic alert (high-frequency)",
            index: 2,
            count: 3,
            ..part.clone()
        };
        assert_eq!(
            subject(Lang::En, &en),
            "[Level 2] Traffic alert (high-frequency) - web-1 (2/3)"
        );
        let long = "x\ny".repeat(100);
        let p = Part {
            title: &long,
            meta: None,
            ..part
        };
        let s = subject(Lang::En, &p);
        assert_eq!(s.chars().count(), SUBJECT_CHARS);
        assert!(!s.contains('\n'));
    }

    #[test]
    fn message_ids_are_stable_and_well_formed() {
        assert_eq!(
            message_id("0-00017-00001234-000001", "example.com"),
            "<flexus.0-00017-00001234-000001@example.com>"
        );
        assert_eq!(message_id("a b<c>", "x.org"), "<flexus.a-b-c-@x.org>");
    }

    #[test]
    fn the_password_and_its_wire_forms_are_scrubbed() {
        let s = secrets_of("me@example.com", "hunter22");
        assert!(s.contains(&"hunter22".to_string()));
        // AUTH PLAIN of "\0me@example.com\0hunter22".
        assert!(
            s.contains(&"AG1lQGV4YW1wbGUuY29tAGh1bnRlcjIy".to_string()),
            "{s:?}"
        );
    }
}
