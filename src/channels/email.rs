//! Email over SMTP with `lettre` (tokio, rustls with Mozilla's roots: no OpenSSL).
//!
//! Encryption: STARTTLS required (587, the default), implicit TLS (465), or none for a relay on
//! this machine (the configuration refuses it for any other host). Credentials are sent only over
//! an encrypted connection, or to that local relay. One connection per message (no pool: messages
//! are rare), driven step by step so that each refusal is known with its step. `SMTP_TIMEOUT` bounds
//! the exchange up to the reply to the end of DATA; the `QUIT` after it has a short wait of its own
//! and its answer is ignored (the message is accepted by then: retrying would send it twice).
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
//! slowly); a 5xx at the greeting, login, `MAIL FROM`, `RCPT TO` or `DATA` command, or a 5.1.x
//! status (an address), is a setting to fix too (see [`refusal`]); only a 5xx to the message itself
//! after DATA refuses this message for good (kept in `dead/`). One transaction carries every
//! recipient, so a refused recipient holds the message. A TLS failure or a client-side refusal (no
//! STARTTLS offered, no usable login mechanism) needs the user too.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, Tls, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use lettre::Message;
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
/// How long `QUIT` may take once the message is accepted (its answer changes nothing).
const QUIT_WAIT: Duration = Duration::from_secs(2);

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
    /// Bounds one delivery: connect, TLS, login and sending, up to the reply to the message.
    #[serde(serialize_with = "human")]
    pub timeout: Duration,
    /// Extra root certificates (PEM) to trust, for a relay with its own certificate authority.
    pub ca_file: Option<PathBuf>,
}

/// The certificates of `SMTP_CA_FILE` and how many there are.
///
/// # Errors
/// The problem and its fix, when the file cannot be read, is not PEM, or holds no certificate.
pub fn ca_file(path: &std::path::Path) -> Result<(Certificate, usize), (String, &'static str)> {
    const FIX: &str =
        "give the relay's CA certificate in PEM form (-----BEGIN CERTIFICATE-----), or unset it";
    let pem = std::fs::read(path).map_err(|e| {
        (
            format!("cannot be read ({e})"),
            "give a readable PEM file, or unset it",
        )
    })?;
    let count = String::from_utf8_lossy(&pem)
        .matches("-----BEGIN CERTIFICATE-----")
        .count();
    if count == 0 {
        return Err(("holds no PEM certificate".into(), FIX));
    }
    let cert = Certificate::from_pem(&pem)
        .map_err(|e| (format!("is not a valid PEM certificate file ({e})"), FIX))?;
    Ok((cert, count))
}

fn human<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

/// A configured email channel.
pub struct Email {
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    hello: ClientId,
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
                let (cert, _) = ca_file(path).map_err(|(problem, fix)| {
                    format!("SMTP_CA_FILE={}: {problem}; fix: {fix}", path.display())
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
        let mut credentials = None;
        let mut secrets = Vec::new();
        if let (Some(user), Some(pass)) = (&s.username, &s.password) {
            credentials = Some(Credentials::new(user.clone(), pass.expose().to_string()));
            secrets = secrets_of(user, pass.expose());
        }
        Ok(Self {
            host: s.host.clone(),
            port: s.port,
            tls,
            credentials,
            hello: ClientId::default(),
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

    /// One SMTP transaction up to the reply to the end of DATA, recording in `step` how far it
    /// got and keeping the connection in `conn` (for a polite `QUIT` afterwards).
    async fn transaction(
        &self,
        envelope: &Envelope,
        email: &[u8],
        step: &mut Step,
        conn: &mut Option<AsyncSmtpConnection>,
    ) -> Result<Response, Trouble> {
        let wrapper = match &self.tls {
            Tls::Wrapper(p) => Some(p.clone()),
            _ => None,
        };
        let c = conn.insert(
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.timeout),
                &self.hello,
                wrapper,
                None,
            )
            .await?,
        );
        if let Tls::Required(p) = &self.tls {
            // Refused when the server offers no STARTTLS: no login and no message in clear text.
            c.starttls(p.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            *step = Step::Login;
            c.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        *step = Step::Sender;
        let mut options = Vec::new();
        let non_ascii = envelope
            .from()
            .is_some_and(|a| !AsRef::<str>::as_ref(a).is_ascii())
            || envelope
                .to()
                .iter()
                .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii {
            if !c.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(Trouble::NoSmtpUtf8);
            }
            options.push(MailParameter::SmtpUtfEight);
        }
        if !email.is_ascii() && c.server_info().supports_feature(Extension::EightBitMime) {
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        c.command(Mail::new(envelope.from().cloned(), options))
            .await?;
        *step = Step::Recipient;
        for to in envelope.to() {
            c.command(Rcpt::new(to.clone(), Vec::new())).await?;
        }
        *step = Step::Data;
        c.command(Data).await?;
        *step = Step::Content;
        Ok(c.message(email).await?)
    }

    /// Sends `part` and returns the server's reply (code and text) as the answer; a refusal
    /// carries the step it answered (see [`Step::tag`]).
    ///
    /// `SMTP_TIMEOUT` bounds the transaction up to the reply to the end of DATA; `QUIT` after it
    /// has a short wait of its own and its answer is ignored, so a server that stalls after
    /// accepting the message does not make it look lost (and sent twice).
    ///
    /// # Errors
    /// When no reply came: network trouble or a timeout ([`Failure::Transient`]), or TLS or the
    /// client refusing to go on ([`Failure::Fix`]).
    pub(super) async fn send(&self, part: &Part<'_>) -> Result<Answer, Failure> {
        let message = self.message(part)?;
        let envelope = message.envelope().clone();
        let email = message.formatted();
        let mut step = Step::Connect;
        let mut conn = None;
        let sent = tokio::time::timeout(
            self.timeout,
            self.transaction(&envelope, &email, &mut step, &mut conn),
        )
        .await;
        // After a reply (accepted or refused) the conversation is in order: say goodbye briefly.
        let replied = matches!(&sent, Ok(Ok(_)))
            || matches!(&sent, Ok(Err(Trouble::Smtp(e))) if e.status().is_some());
        if let Some(mut c) = conn {
            if replied {
                let _ = tokio::time::timeout(QUIT_WAIT.min(self.timeout), c.abort()).await;
            }
        }
        let answer = |code: String, text: String| Answer {
            status: code.parse().unwrap_or(0),
            body: self.scrub(&text),
            retry_after: None,
        };
        match sent {
            Err(_) if step == Step::Connect => Err(Failure::Transient(format!(
                "the SMTP server {} did not finish greeting within {} (SMTP_TIMEOUT); if it never answers, check SMTP_PORT and SMTP_TLS (tls is for port 465, starttls for 587)",
                self.server,
                humantime::format_duration(self.timeout)
            ))),
            Err(_) => Err(Failure::Transient(format!(
                "the SMTP server {} stopped answering at {} (SMTP_TIMEOUT {})",
                self.server,
                step.tag(),
                humantime::format_duration(self.timeout)
            ))),
            Ok(Ok(reply)) => Ok(answer(
                reply.code().to_string(),
                reply.message().collect::<Vec<_>>().join(" "),
            )),
            Ok(Err(Trouble::NoSmtpUtf8)) => Err(Failure::Fix(format!(
                "the SMTP server {} does not take addresses with non-ASCII characters (no SMTPUTF8): check SMTP_FROM and SMTP_TO",
                self.server
            ))),
            Ok(Err(Trouble::Smtp(e))) => {
                if let Some(code) = e.status() {
                    let text = std::error::Error::source(&e)
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    return Ok(answer(code.to_string(), format!("[{}] {text}", step.tag())));
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

/// Why a transaction stopped without the server's final reply.
enum Trouble {
    Smtp(lettre::transport::smtp::Error),
    /// The addresses need SMTPUTF8 and the server does not offer it.
    NoSmtpUtf8,
}

impl From<lettre::transport::smtp::Error> for Trouble {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Self::Smtp(e)
    }
}

/// How far an SMTP transaction got: a refusal means something different at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Greeting, EHLO, TLS.
    Connect,
    Login,
    /// `MAIL FROM`.
    Sender,
    /// `RCPT TO`.
    Recipient,
    /// The `DATA` command.
    Data,
    /// The message itself, up to the reply to its final dot.
    Content,
}

impl Step {
    const ALL: [Step; 6] = [
        Self::Connect,
        Self::Login,
        Self::Sender,
        Self::Recipient,
        Self::Data,
        Self::Content,
    ];

    /// How the step is named in a refusal's text (`[MAIL FROM] 5.7.1 ...`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Login => "AUTH",
            Self::Sender => "MAIL FROM",
            Self::Recipient => "RCPT TO",
            Self::Data => "DATA",
            Self::Content => "end of DATA",
        }
    }

    /// The step a reply's text names, and the text after it.
    fn of(body: &str) -> (Option<Self>, &str) {
        for step in Self::ALL {
            if let Some(rest) = body
                .strip_prefix('[')
                .and_then(|b| b.strip_prefix(step.tag()))
                .and_then(|b| b.strip_prefix("] "))
            {
                return (Some(step), rest);
            }
        }
        (None, body)
    }
}

/// What a permanent (5xx) refusal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server will not talk to us or take the login: a setting.
    Server,
    /// The sender address: a setting (`SMTP_FROM`, sometimes `SMTP_USERNAME`).
    Sender,
    /// A recipient address: a setting (`SMTP_TO`).
    Recipient,
    /// The addresses in general (the `DATA` command, or a 5.1.x status after the message).
    Addresses,
    /// This message (content, size, spam): only it is refused, for good.
    Message,
}

/// Which refusal a 5xx reply at `step` with `text` (after the code) is. Only a refusal of the
/// message itself, after DATA, is final; a refused sender or recipient is a setting to fix, and
/// every message waits for it.
pub fn refusal(step: Option<Step>, text: &str) -> Refusal {
    let lower = text.to_ascii_lowercase();
    let about_sender = ["sender", "from", "authori", "authentic"]
        .iter()
        .any(|w| lower.contains(w));
    match step {
        Some(Step::Connect | Step::Login) => Refusal::Server,
        Some(Step::Sender) => Refusal::Sender,
        Some(Step::Recipient) => Refusal::Recipient,
        Some(Step::Data) => Refusal::Addresses,
        Some(Step::Content) | None => {
            let status = lower.trim_start();
            if status.starts_with("5.1.7") || status.starts_with("5.1.8") {
                Refusal::Sender
            } else if status.starts_with("5.1.") {
                Refusal::Addresses
            } else if status.starts_with("5.7.") && about_sender {
                Refusal::Sender
            } else {
                Refusal::Message
            }
        }
    }
}

/// Whether the server says the sender must be the login's own address.
fn wants_login_address(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "authorized user",
        "authorised user",
        "authenticated user",
        "must equal",
        "must be the same",
        "same as",
        "not owned",
        "does not match",
        "login",
    ]
    .iter()
    .any(|w| lower.contains(w))
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
    const KEPT: &str = "the messages are kept and retried every 5 minutes";
    match a.status {
        200..=299 => Ok(()),
        530 | 534 | 535 | 538 => Err(Failure::Fix(format!(
            "{d}; login refused: check SMTP_USERNAME and SMTP_PASSWORD (many providers want an app password or authorisation code, and SMTP access turned on in the mailbox settings)"
        ))),
        400..=499 => Err(Failure::Transient(d)),
        500..=599 => {
            let (step, text) = Step::of(&a.body);
            Err(match refusal(step, text) {
                Refusal::Server => Failure::Fix(format!(
                    "{d}; the server refused the connection or login: check SMTP_HOST, SMTP_PORT, SMTP_TLS and SMTP_USERNAME against the provider's SMTP settings; {KEPT}"
                )),
                Refusal::Sender if wants_login_address(text) => Failure::Fix(format!(
                    "{d}; sender refused: set SMTP_FROM to the address you log in with (SMTP_USERNAME), or unset it; {KEPT}"
                )),
                Refusal::Sender => Failure::Fix(format!(
                    "{d}; sender refused: check SMTP_FROM (most providers accept only the login's own address, SMTP_USERNAME); {KEPT}"
                )),
                Refusal::Recipient => Failure::Fix(format!(
                    "{d}; recipient refused: check every address in SMTP_TO (one refused recipient holds the message for all); {KEPT}"
                )),
                Refusal::Addresses => Failure::Fix(format!(
                    "{d}; addresses refused: check SMTP_FROM and SMTP_TO; {KEPT}"
                )),
                Refusal::Message => Failure::Refused(format!(
                    "{d}; this message was refused for good (content, size or spam filter)"
                )),
            })
        }
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
        // Refused after the message: this message only, for good.
        for code in [550, 552, 554] {
            for text in [
                "[end of DATA] 5.7.1 Message rejected as spam",
                "[end of DATA] 5.3.4 Message size exceeds fixed limit",
            ] {
                assert!(
                    matches!(classify(&a(code, text)), Err(Failure::Refused(_))),
                    "{code} {text}"
                );
            }
        }
        // Refused sender or recipient: a setting; the message is kept.
        for (code, text, names) in [
            (501, "[MAIL FROM] Bad address syntax", &["SMTP_FROM"][..]),
            (
                553,
                "[MAIL FROM] Mail from must equal authorized user",
                &["SMTP_FROM", "SMTP_USERNAME"][..],
            ),
            (550, "[RCPT TO] 5.1.1 User unknown", &["SMTP_TO"][..]),
            (
                554,
                "[DATA] 5.5.1 No valid recipients",
                &["SMTP_FROM", "SMTP_TO"][..],
            ),
            (
                550,
                "[end of DATA] 5.1.1 Recipient address rejected",
                &["SMTP_TO"][..],
            ),
            (
                550,
                "[end of DATA] 5.7.1 Sender address not authorized",
                &["SMTP_FROM"][..],
            ),
            (554, "[connect] 5.7.1 Access denied", &["SMTP_HOST"][..]),
        ] {
            let e = classify(&a(code, text)).unwrap_err();
            assert!(
                matches!(&e, Failure::Fix(d) if names.iter().all(|n| d.contains(n))),
                "{code} {text}: {e}"
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
