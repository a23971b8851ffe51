//! A local SMTP server speaking enough ESMTP for the email channel: EHLO, STARTTLS (a certificate
//! made on the spot, trusted by the client through `SMTP_CA_FILE`), AUTH PLAIN and LOGIN, MAIL FROM,
//! RCPT TO, DATA, QUIT. It checks the order of the conversation, that login happens only over TLS
//! when TLS is on, the envelope against the configured addresses, and the message's headers and
//! MIME structure; it records each accepted message decoded (subject, plain text, HTML), and can be
//! told to answer a stage with an SMTP error (421/451 transient, 535/550 permanent), to hang, or to
//! accept a message and then never answer `QUIT`.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

pub const USER: &str = "alerts@example.com";
pub const PASSWORD: &str = "smtp-pa55word-0123456789";
pub const FROM: &str = "alerts@example.com";
pub const TO: &[&str] = &["owner@example.com", "ops@example.net"];

/// Where in the conversation a scripted error is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Instead of the greeting (then the connection closes).
    Greeting,
    Auth,
    Mail,
    Rcpt,
    /// After the message's final dot.
    Data,
}

/// One accepted message.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// Headers, unfolded, in order.
    pub headers: Vec<(String, String)>,
    /// `Subject`, decoded.
    pub subject: String,
    /// The text/plain part, decoded.
    pub text: String,
    /// The text/html part, decoded, when there is one.
    pub html: Option<String>,
    /// Whether the conversation was encrypted when the message was sent.
    pub tls: bool,
    pub raw: String,
}

impl Mail {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Inner {
    mails: Vec<Mail>,
    script: VecDeque<(Stage, u16, String)>,
    hang: bool,
    /// Say nothing after `QUIT` (the message was already accepted).
    hang_on_quit: bool,
    /// Transactions begun (`MAIL FROM` received).
    attempts: usize,
    logins_refused: usize,
    /// `AUTH` commands received, however they ended.
    logins: usize,
    /// The Message-ID of every message that reached the end of DATA, accepted or not.
    message_ids: Vec<String>,
    /// Protocol mistakes of the client (the server also answered them with an error).
    violations: Vec<String>,
}

#[derive(Clone)]
pub struct FakeSmtp {
    pub addr: SocketAddr,
    /// The certificate (PEM) the client must trust, when STARTTLS is offered.
    pub ca_file: Option<PathBuf>,
    inner: Arc<Mutex<Inner>>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl FakeSmtp {
    /// A server without TLS (for `SMTP_TLS=none` on loopback).
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// A server offering STARTTLS and refusing login and mail before it.
    pub async fn start_tls(dir: &std::path::Path) -> Self {
        // A certificate authority of its own, and the server's certificate for 127.0.0.1.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let ca_file = dir.join("fake-smtp-ca.pem");
        std::fs::write(&ca_file, ca_cert.pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        let mut s = Self::start_with(Some(TlsAcceptor::from(Arc::new(config)))).await;
        s.ca_file = Some(ca_file);
        s
    }

    async fn start_with(tls: Option<TlsAcceptor>) -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = state.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _ = session(Box::new(stream), tls, state).await;
                });
            }
        });
        Self {
            addr,
            ca_file: None,
            inner,
        }
    }

    /// Environment configuring the email channel against this server (login on).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("SMTP_HOST", "127.0.0.1".to_string()),
            ("SMTP_PORT", self.addr.port().to_string()),
            ("SMTP_USERNAME", USER.into()),
            ("SMTP_PASSWORD", PASSWORD.into()),
            ("SMTP_TO", TO.join(", ")),
            ("SMTP_TIMEOUT", "3s".into()),
        ];
        match &self.ca_file {
            Some(ca) => {
                v.push(("SMTP_TLS", "starttls".into()));
                v.push(("SMTP_CA_FILE", ca.display().to_string()));
            }
            None => v.push(("SMTP_TLS", "none".into())),
        }
        v.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// The next time the conversation reaches `stage`, answer `code text` instead.
    pub fn fail(&self, stage: Stage, code: u16, text: &str) {
        self.inner
            .lock()
            .unwrap()
            .script
            .push_back((stage, code, text.to_string()));
    }

    /// Accept connections but say nothing until told otherwise (a server that hangs).
    pub fn set_hang(&self, hang: bool) {
        self.inner.lock().unwrap().hang = hang;
    }

    /// Accept messages but never answer `QUIT`, until told otherwise.
    pub fn set_hang_on_quit(&self, hang: bool) {
        self.inner.lock().unwrap().hang_on_quit = hang;
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.inner.lock().unwrap().mails.clone()
    }

    /// Transactions begun, accepted or not.
    pub fn attempts(&self) -> usize {
        self.inner.lock().unwrap().attempts
    }

    /// The Message-ID of every message that reached the end of DATA, accepted or not.
    pub fn message_ids(&self) -> Vec<String> {
        self.inner.lock().unwrap().message_ids.clone()
    }

    /// `AUTH` commands received, however they ended.
    pub fn logins(&self) -> usize {
        self.inner.lock().unwrap().logins
    }

    pub fn logins_refused(&self) -> usize {
        self.inner.lock().unwrap().logins_refused
    }

    pub fn violations(&self) -> Vec<String> {
        self.inner.lock().unwrap().violations.clone()
    }
}

fn scripted(state: &Mutex<Inner>, stage: Stage) -> Option<String> {
    let mut st = state.lock().unwrap();
    if st.script.front().is_some_and(|(s, _, _)| *s == stage) {
        st.script.pop_front().map(|(_, c, t)| format!("{c} {t}"))
    } else {
        None
    }
}

fn violation(state: &Mutex<Inner>, what: String) {
    state.lock().unwrap().violations.push(what);
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .unwrap_or_default()
}

async fn reply(io: &mut BufReader<Box<dyn Io>>, line: &str) -> std::io::Result<()> {
    io.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await?;
    io.get_mut().flush().await
}

async fn read_line(io: &mut BufReader<Box<dyn Io>>) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if io.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line))
}

/// Checks the credentials of `AUTH PLAIN` (`\0user\0pass`).
fn plain_ok(blob: &str) -> bool {
    let raw = b64(blob);
    let parts: Vec<&[u8]> = raw.split(|b| *b == 0).collect();
    parts.len() == 3 && parts[1] == USER.as_bytes() && parts[2] == PASSWORD.as_bytes()
}

async fn session(
    stream: Box<dyn Io>,
    tls: Option<TlsAcceptor>,
    state: Arc<Mutex<Inner>>,
) -> std::io::Result<()> {
    let mut io = BufReader::new(stream);
    // A server that hangs: not a word until it is told to answer again.
    while state.lock().unwrap().hang {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    if let Some(r) = scripted(&state, Stage::Greeting) {
        return reply(&mut io, &r).await;
    }
    reply(&mut io, "220 fake.smtp.test ESMTP ready").await?;
    let mut encrypted = false;
    let mut greeted = false;
    let mut authed = false;
    let mut mail: Option<Mail> = None;
    while let Some(line) = read_line(&mut io).await? {
        if !line.ends_with("\r\n") {
            violation(&state, format!("line without CRLF: {line:?}"));
        }
        let line = line.trim_end().to_string();
        let upper = line.to_ascii_uppercase();
        let verb = upper
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        match verb.as_str() {
            "EHLO" => {
                greeted = true;
                mail = None;
                let mut lines = vec!["250-fake.smtp.test".to_string()];
                if tls.is_some() && !encrypted {
                    lines.push("250-STARTTLS".into());
                } else {
                    lines.push("250-AUTH PLAIN LOGIN".into());
                }
                lines.push("250-SIZE 10240000".into());
                lines.push("250 8BITMIME".into());
                reply(&mut io, &lines.join("\r\n")).await?;
            }
            "STARTTLS" => {
                let Some(acceptor) = tls.clone().filter(|_| !encrypted) else {
                    reply(&mut io, "502 5.5.1 STARTTLS not offered").await?;
                    continue;
                };
                reply(&mut io, "220 2.0.0 go ahead").await?;
                let plain = io.into_inner();
                let stream = acceptor.accept(plain).await?;
                io = BufReader::new(Box::new(stream));
                encrypted = true;
                greeted = false;
            }
            "AUTH" => {
                state.lock().unwrap().logins += 1;
                if !greeted {
                    violation(&state, "AUTH before EHLO".into());
                }
                if tls.is_some() && !encrypted {
                    violation(
                        &state,
                        "AUTH before STARTTLS: the password went in clear text".into(),
                    );
                    reply(&mut io, "538 5.7.11 encryption required").await?;
                    continue;
                }
                let words: Vec<&str> = line.split_whitespace().collect();
                let good = match words.get(1).map(|m| m.to_ascii_uppercase()).as_deref() {
                    Some("PLAIN") => {
                        let blob = match words.get(2) {
                            Some(b) => b.to_string(),
                            None => {
                                reply(&mut io, "334 ").await?;
                                read_line(&mut io).await?.unwrap_or_default()
                            }
                        };
                        (plain_ok(&blob), blob.trim().to_string())
                    }
                    Some("LOGIN") => {
                        reply(&mut io, "334 VXNlcm5hbWU6").await?;
                        let user = read_line(&mut io).await?.unwrap_or_default();
                        reply(&mut io, "334 UGFzc3dvcmQ6").await?;
                        let pass = read_line(&mut io).await?.unwrap_or_default();
                        (
                            b64(&user) == USER.as_bytes() && b64(&pass) == PASSWORD.as_bytes(),
                            pass.trim().to_string(),
                        )
                    }
                    _ => {
                        reply(&mut io, "504 5.5.4 mechanism not supported").await?;
                        continue;
                    }
                };
                if let Some(r) = scripted(&state, Stage::Auth) {
                    reply(&mut io, &r).await?;
                } else if good.0 {
                    authed = true;
                    reply(&mut io, "235 2.7.0 Authentication successful").await?;
                } else {
                    state.lock().unwrap().logins_refused += 1;
                    // Some servers quote what they were sent; the client must not pass it on.
                    reply(
                        &mut io,
                        &format!("535 5.7.8 Authentication credentials invalid ({})", good.1),
                    )
                    .await?;
                }
            }
            "MAIL" => {
                state.lock().unwrap().attempts += 1;
                if !greeted {
                    violation(&state, "MAIL before EHLO".into());
                }
                if !authed {
                    reply(&mut io, "530 5.7.0 Authentication required").await?;
                    continue;
                }
                if let Some(r) = scripted(&state, Stage::Mail) {
                    reply(&mut io, &r).await?;
                    continue;
                }
                let from = angle(&line);
                if from != FROM {
                    violation(&state, format!("MAIL FROM {from:?}, expected {FROM}"));
                }
                mail = Some(Mail {
                    mail_from: from,
                    tls: encrypted,
                    ..Mail::default()
                });
                reply(&mut io, "250 2.1.0 Ok").await?;
            }
            "RCPT" => {
                let Some(m) = mail.as_mut() else {
                    violation(&state, "RCPT before MAIL".into());
                    reply(&mut io, "503 5.5.1 need MAIL first").await?;
                    continue;
                };
                if let Some(r) = scripted(&state, Stage::Rcpt) {
                    reply(&mut io, &r).await?;
                    continue;
                }
                let to = angle(&line);
                if !TO.contains(&to.as_str()) {
                    violation(&state, format!("RCPT TO {to:?} is not configured"));
                }
                m.rcpt_to.push(to);
                reply(&mut io, "250 2.1.5 Ok").await?;
            }
            "DATA" => {
                let Some(mut m) = mail.take().filter(|m| !m.rcpt_to.is_empty()) else {
                    violation(&state, "DATA without MAIL and RCPT".into());
                    reply(&mut io, "503 5.5.1 need RCPT first").await?;
                    continue;
                };
                reply(&mut io, "354 End data with <CR><LF>.<CR><LF>").await?;
                let mut raw = String::new();
                loop {
                    let Some(l) = read_line(&mut io).await? else {
                        return Ok(());
                    };
                    if l == ".\r\n" {
                        break;
                    }
                    if l.len() > 1000 {
                        violation(&state, "a line over 998 characters".into());
                    }
                    // Dot-unstuffing.
                    raw.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                if let Ok((h, _)) = split_entity(&raw) {
                    let id = get(&h, "Message-ID").unwrap_or_default().to_string();
                    state.lock().unwrap().message_ids.push(id);
                }
                if let Some(r) = scripted(&state, Stage::Data) {
                    reply(&mut io, &r).await?;
                    continue;
                }
                if let Err(e) = parse(&raw, &mut m) {
                    violation(&state, e);
                    reply(&mut io, "554 5.6.0 malformed message").await?;
                    continue;
                }
                state.lock().unwrap().mails.push(m);
                reply(&mut io, "250 2.0.0 Ok: queued").await?;
            }
            "RSET" => {
                mail = None;
                reply(&mut io, "250 2.0.0 Ok").await?;
            }
            "NOOP" => reply(&mut io, "250 2.0.0 Ok").await?,
            "QUIT" => {
                while state.lock().unwrap().hang_on_quit {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                reply(&mut io, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => {
                violation(&state, format!("unknown command {line:?}"));
                reply(&mut io, "500 5.5.2 unknown command").await?;
            }
        }
    }
    Ok(())
}

/// The address between `<` and `>` of `MAIL FROM:<a>` or `RCPT TO:<a>`.
fn angle(line: &str) -> String {
    line.split_once('<')
        .and_then(|(_, r)| r.split_once('>'))
        .map(|(a, _)| a.to_string())
        .unwrap_or_default()
}

/// Headers (unfolded) and body of a MIME entity.
fn split_entity(raw: &str) -> Result<(Vec<(String, String)>, String), String> {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or("no blank line after the headers")?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with(' ') || line.starts_with('\t') {
            let last = headers.last_mut().ok_or("a folded first header")?;
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("not a header: {line:?}"))?;
            headers.push((k.to_string(), v.trim().to_string()));
        }
    }
    Ok((headers, body.to_string()))
}

fn get<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Decodes RFC 2047 `=?utf-8?b?...?=` words (adjacent words joined, as the RFC says).
fn decode_words(v: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    let mut rest = v;
    while let Some(start) = rest.find("=?") {
        let between = &rest[..start];
        if !between.trim().is_empty() || bytes.is_empty() {
            bytes.extend_from_slice(between.as_bytes());
        }
        let word = &rest[start + 2..];
        let end = word.find("?=").ok_or("an unterminated encoded word")?;
        let mut parts = word[..end].splitn(3, '?');
        let (charset, enc, text) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        if !charset.eq_ignore_ascii_case("utf-8") || !enc.eq_ignore_ascii_case("b") {
            return Err(format!("unexpected encoded word {charset}?{enc}"));
        }
        bytes.extend(b64(text));
        rest = &word[end + 2..];
    }
    bytes.extend_from_slice(rest.as_bytes());
    String::from_utf8(bytes).map_err(|_| "an encoded word that is not UTF-8".to_string())
}

fn decode_body(headers: &[(String, String)], body: &str) -> Result<String, String> {
    let cte = get(headers, "Content-Transfer-Encoding").unwrap_or("7bit");
    let bytes = match cte.to_ascii_lowercase().as_str() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.replace("\r\n", "").trim())
            .map_err(|e| format!("bad base64 body: {e}"))?,
        "7bit" | "8bit" => body.as_bytes().to_vec(),
        other => return Err(format!("unexpected Content-Transfer-Encoding {other}")),
    };
    let ct = get(headers, "Content-Type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !ct.contains("charset=utf-8") {
        return Err(format!("a text part without charset=utf-8: {ct}"));
    }
    String::from_utf8(bytes).map_err(|_| "a body that is not UTF-8".into())
}

/// Checks the message and fills `m` with what it says.
fn parse(raw: &str, m: &mut Mail) -> Result<(), String> {
    m.raw = raw.to_string();
    let (headers, body) = split_entity(raw)?;
    for required in [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
    ] {
        if get(&headers, required).is_none() {
            return Err(format!("no {required} header"));
        }
    }
    for once in ["From", "To", "Subject", "Date", "Message-ID"] {
        if headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(once))
            .count()
            != 1
        {
            return Err(format!("{once} more than once"));
        }
    }
    if headers.iter().any(|(_, v)| !v.is_ascii()) {
        return Err("a raw non-ASCII header".into());
    }
    m.subject = decode_words(get(&headers, "Subject").unwrap_or_default())?;
    let ct = get(&headers, "Content-Type")
        .unwrap_or_default()
        .to_string();
    if ct.to_ascii_lowercase().starts_with("multipart/alternative") {
        let boundary = ct
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("boundary="))
            .next()
            .ok_or("multipart without a boundary")?
            .trim_matches('"')
            .to_string();
        let delimiter = format!("--{boundary}");
        let close = format!("{delimiter}--");
        if !body.contains(&close) {
            return Err("multipart without its closing delimiter".into());
        }
        for part in body.split(&delimiter).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.strip_prefix("\r\n").unwrap_or(part);
            let part = part.strip_suffix("\r\n").unwrap_or(part);
            let (h, b) = split_entity(part)?;
            let kind = get(&h, "Content-Type")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let text = decode_body(&h, &b)?;
            if kind.starts_with("text/plain") {
                m.text = text;
            } else if kind.starts_with("text/html") {
                m.html = Some(text);
            } else {
                return Err(format!("unexpected part {kind}"));
            }
        }
        if m.text.is_empty() {
            return Err("no text/plain part".into());
        }
    } else if ct.to_ascii_lowercase().starts_with("text/plain") {
        m.text = decode_body(&headers, &body)?;
    } else {
        return Err(format!("unexpected Content-Type {ct}"));
    }
    m.headers = headers;
    Ok(())
}
