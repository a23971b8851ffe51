//! The web configuration file (`serve --web.config.file`, `WEB_CONFIG_FILE`): TLS, basic auth and
//! response headers of the HTTP listener, in the format of Prometheus' exporter-toolkit (what
//! node_exporter and blackbox_exporter read), so one file serves them all.
//!
//! The format's facts follow exporter-toolkit's `docs/web-configuration.md` and `web/tls_config.go`:
//! the same keys, unknown keys refused (its `yaml.UnmarshalStrict`), relative paths taken from the
//! file's directory, an empty `tls_server_config` meaning plain HTTP, only five response headers
//! (two of them with fixed values). Where the Go and the Rust TLS stacks differ, a value this program
//! cannot honour is refused with a message that says so, never silently ignored: TLS 1.0 and 1.1,
//! the CBC cipher suites and the P-521 curve (rustls with ring has none of them), `http2: true`
//! (this server speaks HTTP/1.1 only) and `rate_limit` (the listener has its own limits).
//! Every problem names its key (`tls_server_config.min_version`, `basic_auth_users.alice`) and the
//! fix, in English and Chinese.
//!
//! Parts: [`raw`] (the YAML as written), [`tls`] (the rustls server configuration and the check of
//! client certificates), [`auth`] (basic auth against the bcrypt hashes, cached), [`watch`] (the file
//! re-read when it or a file it names changes, the last good one kept on a broken edit). It does not
//! know the routes: `http` decides which ones ask for a password.

pub mod auth;
pub mod raw;
pub mod tls;
pub mod watch;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};

/// The flag of `serve`, as exporter-toolkit names it.
pub const FLAG: &str = "--web.config.file";

/// A web configuration file, checked.
#[derive(Clone)]
pub struct WebConfig {
    /// The TLS side of the listener, when `tls_server_config` turns it on.
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// User name → bcrypt hash; empty: no basic auth.
    pub users: BTreeMap<String, String>,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Other files it was built from (certificate, key, client CA), for [`watch`].
    pub files: Vec<PathBuf>,
    /// Only clients with a certificate signed by the client CA get in.
    pub verified_clients_only: bool,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("headers", &self.headers)
            .field("files", &self.files)
            .finish()
    }
}

/// One problem of a web configuration file: the key (a dotted path, or a user), what is wrong and
/// the fix, in English and in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}; fix: {fix}")]
pub struct Problem {
    pub key: String,
    pub problem: String,
    pub fix: String,
    /// The problem and the fix in Chinese.
    pub zh: (String, String),
}

impl Problem {
    pub fn new(
        key: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
        zh_problem: impl Into<String>,
        zh_fix: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
            fix: fix.into(),
            zh: (zh_problem.into(), zh_fix.into()),
        }
    }
}

/// Reads and checks the file at `path` (and the files it names).
///
/// # Errors
/// The first problem found.
pub fn load(path: &Path) -> Result<WebConfig, Problem> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Problem::new(
            "(file)",
            format!("cannot be read: {e}"),
            format!("give {FLAG} (or WEB_CONFIG_FILE) the path of a readable YAML file"),
            format!("无法读取：{e}"),
            format!("为 {FLAG}（或 WEB_CONFIG_FILE）指定一个可读的 YAML 文件路径"),
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    parse(&text, dir)
}

/// Checks the text of a web configuration file; relative paths in it are taken from `dir`.
///
/// # Errors
/// The first problem found.
pub fn parse(text: &str, dir: &Path) -> Result<WebConfig, Problem> {
    let raw: raw::Raw = if is_blank_yaml(text) {
        raw::Raw::default()
    } else {
        serde_norway::from_str(text).map_err(|e| yaml_problem(&e))?
    };
    if raw.rate_limit.is_some() {
        return Err(Problem::new(
            "rate_limit",
            "is not supported by flexus-traffic-monitor (its listener already bounds connections and the time of each request)",
            "remove rate_limit from the file",
            "flexus-traffic-monitor 不支持（监听器本身已限制连接数和每个请求的时间）",
            "从文件中删除 rate_limit",
        ));
    }
    let http = raw.http_server_config.unwrap_or_default();
    if http.http2 == Some(true) {
        return Err(Problem::new(
            "http_server_config.http2",
            "true cannot be honoured: this server speaks HTTP/1.1 only (Prometheus, Alertmanager and browsers all use it)",
            "remove http2, or set it to false",
            "无法满足 true：本服务只支持 HTTP/1.1（Prometheus、Alertmanager 和浏览器都使用它）",
            "删除 http2，或设为 false",
        ));
    }
    let headers = headers(http.headers.unwrap_or_default())?;
    let users = users(raw.basic_auth_users.unwrap_or_default())?;
    let (tls, files, verified_clients_only) = match raw.tls_server_config {
        Some(t) if t.is_enabled() => {
            let built = tls::build(&t, dir)?;
            (Some(built.config), built.files, built.verified_clients_only)
        }
        Some(t) => {
            tls::refuse_without_tls(&t)?;
            (None, Vec::new(), false)
        }
        None => (None, Vec::new(), false),
    };
    Ok(WebConfig {
        tls,
        users,
        headers,
        files,
        verified_clients_only,
    })
}

/// Empty, or only comments: an empty configuration, as exporter-toolkit reads it.
fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---"
    })
}

/// A YAML error as a problem naming its key: serde_norway puts the path of a nested error first
/// (`tls_server_config: unknown field ...`).
fn yaml_problem(e: &serde_norway::Error) -> Problem {
    // The names of this program's structs mean nothing to the reader of the file.
    let text = e
        .to_string()
        .replace("struct RawTls", "a mapping of TLS keys")
        .replace("struct RawHttp", "a mapping of HTTP keys")
        .replace("struct Raw", "a mapping of keys");
    let (path, message) = match text.split_once(": ") {
        Some((p, m)) if !p.contains(' ') => (p.to_string(), m.to_string()),
        _ => (String::new(), text.clone()),
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let key = if path.is_empty() {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        let expected = rest
            .split_once("expected ")
            .map(|(_, x)| {
                x.split(" at line")
                    .next()
                    .unwrap_or(x)
                    .trim_start_matches("one of ")
            })
            .unwrap_or_default();
        let at = message.find(" at line").map_or("", |i| &message[i + 1..]);
        return Problem::new(
            key,
            format!("is not a key of the web configuration file (exporter-toolkit format), {at}"),
            format!("remove it or correct its spelling; the keys here are {expected}"),
            format!("不是 Web 配置文件（exporter-toolkit 格式）的键，{at}"),
            format!("删除它或更正拼写；此处可用的键：{expected}"),
        );
    }
    Problem::new(
        if path.is_empty() { "(file)".to_string() } else { path },
        format!("is not valid: {message}"),
        "write it as exporter-toolkit's web configuration format describes (see the README's example)",
        format!("无效：{message}"),
        "按 exporter-toolkit Web 配置格式书写（见 README 中的示例）",
    )
}

/// The headers exporter-toolkit lets a file set, with the values it allows (`None`: any).
const HEADERS: [(&str, Option<&[&str]>); 5] = [
    ("Strict-Transport-Security", None),
    ("X-Content-Type-Options", Some(&["nosniff"])),
    ("X-Frame-Options", Some(&["deny", "sameorigin"])),
    ("X-XSS-Protection", None),
    ("Content-Security-Policy", None),
];

fn headers(given: BTreeMap<String, String>) -> Result<Vec<(HeaderName, HeaderValue)>, Problem> {
    let mut out = Vec::new();
    for (name, value) in given {
        let key = format!("http_server_config.headers.{name}");
        let names = HEADERS.map(|(n, _)| n).join(", ");
        let Some((_, allowed)) = HEADERS.iter().find(|(n, _)| *n == name) else {
            return Err(Problem::new(
                key,
                "cannot be configured (exporter-toolkit allows only a few security headers)",
                format!("remove it; the headers allowed are {names}"),
                "不允许配置（exporter-toolkit 只允许少数几个安全相关的响应头）",
                format!("删除它；允许的响应头：{names}"),
            ));
        };
        // "Unset if blank."
        if value.is_empty() {
            continue;
        }
        if let Some(allowed) = allowed {
            if !allowed.contains(&value.as_str()) {
                let list = allowed.join(", ");
                return Err(Problem::new(
                    key,
                    format!("{value:?} is not an accepted value"),
                    format!("write one of: {list}"),
                    format!("{value:?} 不是可接受的值"),
                    format!("改为以下之一：{list}"),
                ));
            }
        }
        let Ok(value) = HeaderValue::from_str(&value) else {
            return Err(Problem::new(
                key,
                "is not a valid header value (control characters or line breaks)",
                "write the value on one line of visible characters",
                "不是有效的响应头值（含控制字符或换行）",
                "把值写在一行内，只用可见字符",
            ));
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Problem::new(
                "http_server_config.headers",
                "holds an invalid header name",
                "remove it",
                "含无效的响应头名称",
                "删除它",
            )
        })?;
        out.push((name, value));
    }
    Ok(out)
}

/// How to make a hash, said in every problem about one.
const HASH_HOW: &str = "hash the password with `flexus-traffic-monitor hash-password` or `htpasswd -nBC 10 \"\" | tr -d ':\\n'`";
const HASH_HOW_ZH: &str =
    "用 `flexus-traffic-monitor hash-password` 或 `htpasswd -nBC 10 \"\" | tr -d ':\\n'` 生成密码哈希";

fn users(given: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, Problem> {
    for (user, hash) in &given {
        let key = format!("basic_auth_users.{user}");
        // Never the hash itself in the message: it is as good as the password to a cracker.
        let why = match hash.parse::<bcrypt::HashParts>() {
            Err(e) => Some(e.to_string()),
            Ok(parts) if !(4..=31).contains(&parts.get_cost()) => {
                Some(format!("its cost {} is outside 4..31", parts.get_cost()))
            }
            Ok(_) => None,
        };
        if let Some(why) = why {
            return Err(Problem::new(
                key,
                format!("the password of user {user:?} is not a bcrypt hash ({why})"),
                format!(
                    "{HASH_HOW}, and paste the whole hash ($2y$10$..., 60 characters) in quotes"
                ),
                format!("用户 {user:?} 的密码不是 bcrypt 哈希（{why}）"),
                format!("{HASH_HOW_ZH}，并把完整的哈希（$2y$10$...，60 个字符）加引号粘贴"),
            ));
        }
    }
    Ok(given)
}

/// Whether serving on `addr` with `web` exposes the routes: a non-loopback address without TLS or
/// without basic auth. The words for a warning at start, if so (pure).
pub fn exposure(addr: SocketAddr, web: Option<&WebConfig>) -> Option<&'static str> {
    if addr.ip().is_loopback() {
        return None;
    }
    match web {
        None => Some("LISTEN_ADDR is reachable from other machines and there is no web configuration file: /metrics, the page and the APIs are served over plain HTTP without a password; set WEB_CONFIG_FILE (TLS and basic_auth_users), or listen on 127.0.0.1"),
        Some(w) if w.tls.is_none() => Some("LISTEN_ADDR is reachable from other machines and the web configuration file has no tls_server_config: passwords and readings travel in clear text; add a certificate"),
        Some(w) if w.users.is_empty() && !w.verified_clients_only => Some("LISTEN_ADDR is reachable from other machines and the web configuration file has no basic_auth_users: anyone can read /metrics, the page and the APIs; add a user, or require client certificates (RequireAndVerifyClientCert)"),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests;
