//! `tls_server_config` → a rustls server configuration (ring provider, as reqwest and lettre use).
//!
//! Client certificates follow Go's five `client_auth_type` policies (exporter-toolkit maps them to
//! `crypto/tls.ClientAuthType`): `NoClientCert`, `RequestClientCert` (asked, not checked),
//! `RequireAnyClientCert` (required, not checked against a CA), `VerifyClientCertIfGiven` and
//! `RequireAndVerifyClientCert` (checked against `client_ca_file` / `client_ca`). With
//! `client_allowed_sans`, the client's certificate must also carry one of these SANs exactly (DNS
//! name, IP address, e-mail or URI), as exporter-toolkit's `VerifyPeerCertificate` checks; a client
//! without a certificate is then refused too.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme, SupportedCipherSuite,
};
use tokio_rustls::rustls;

use super::raw::RawTls;
use super::Problem;

/// What [`build`] made.
pub struct Built {
    pub config: Arc<ServerConfig>,
    /// The files read (certificate, key, client CA).
    pub files: Vec<PathBuf>,
    /// Only clients with a certificate from the client CA get in (`RequireAndVerifyClientCert`).
    pub verified_clients_only: bool,
}

/// Go's client authentication policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    /// The names exporter-toolkit accepts (`RequireClientCert` is its old name of
    /// `RequireAnyClientCert`; empty is the default).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "" | "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            "RequireAnyClientCert" | "RequireClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            _ => return None,
        })
    }

    fn verifies(self) -> bool {
        matches!(
            self,
            Self::VerifyClientCertIfGiven | Self::RequireAndVerifyClientCert
        )
    }

    fn requires(self) -> bool {
        matches!(
            self,
            Self::RequireAnyClientCert | Self::RequireAndVerifyClientCert
        )
    }
}

const AUTH_TYPES: &str = "NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert";

/// An empty `tls_server_config` (plain HTTP) that still sets keys only TLS gives a meaning to.
///
/// # Errors
/// When it does: they would be silently ignored.
pub fn refuse_without_tls(t: &RawTls) -> Result<(), Problem> {
    let set = [
        ("client_allowed_sans", t.client_allowed_sans.is_some()),
        ("min_version", t.min_version.is_some()),
        ("max_version", t.max_version.is_some()),
        ("cipher_suites", t.cipher_suites.is_some()),
        ("curve_preferences", t.curve_preferences.is_some()),
    ];
    if let Some((name, _)) = set.iter().find(|(_, s)| *s) {
        return Err(Problem::new(
            format!("tls_server_config.{name}"),
            "is set but TLS is off (no cert_file or cert)",
            "add cert_file and key_file, or remove this key",
            "已设置，但 TLS 未开启（没有 cert_file 或 cert）",
            "加上 cert_file 和 key_file，或删除此键",
        ));
    }
    Ok(())
}

fn key(name: &str) -> String {
    format!("tls_server_config.{name}")
}

/// Builds the server side of TLS from `t`; relative paths are taken from `dir`.
///
/// # Errors
/// The first problem found, naming its key.
pub fn build(t: &RawTls, dir: &Path) -> Result<Built, Problem> {
    let mut files = Vec::new();
    let cert_pem = pem_source(
        t.cert.as_deref(),
        t.cert_file.as_deref(),
        "cert",
        dir,
        &mut files,
    )?;
    let key_pem = pem_source(
        t.key.as_deref(),
        t.key_file.as_deref(),
        "key",
        dir,
        &mut files,
    )?;
    let ca_pem = match (nonempty(&t.client_ca), nonempty(&t.client_ca_file)) {
        (None, None) => None,
        _ => Some(pem_source(
            t.client_ca.as_deref(),
            t.client_ca_file.as_deref(),
            "client_ca",
            dir,
            &mut files,
        )?),
    };
    let (cert_key_name, key_key_name) = (
        if nonempty(&t.cert_file).is_some() {
            "cert_file"
        } else {
            "cert"
        },
        if nonempty(&t.key_file).is_some() {
            "key_file"
        } else {
            "key"
        },
    );
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad_pem(cert_key_name, &e.to_string()))?;
    if chain.is_empty() {
        return Err(bad_pem(cert_key_name, "no CERTIFICATE block"));
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        Problem::new(
            key(key_key_name),
            format!("holds no usable private key ({e})"),
            "give the PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) of the certificate",
            format!("没有可用的私钥（{e}）"),
            "提供证书对应的 PEM 私钥（PKCS#8、PKCS#1 RSA 或 SEC1 EC）",
        )
    })?;

    let auth = match t.client_auth_type.as_deref() {
        None => ClientAuth::NoClientCert,
        Some(s) => ClientAuth::parse(s).ok_or_else(|| {
            Problem::new(
                key("client_auth_type"),
                format!("{s:?} is not a client auth type"),
                format!("write one of: {AUTH_TYPES} (RequireAndVerifyClientCert to let in only clients with a certificate from client_ca_file)"),
                format!("{s:?} 不是客户端认证类型"),
                format!("改为以下之一：{AUTH_TYPES}（只允许持有 client_ca_file 所签证书的客户端：RequireAndVerifyClientCert）"),
            )
        })?,
    };
    if ca_pem.is_some() && auth == ClientAuth::NoClientCert {
        return Err(Problem::new(
            key("client_auth_type"),
            "client CAs are configured without a client auth policy (client_auth_type is NoClientCert)",
            "set client_auth_type: RequireAndVerifyClientCert, or remove client_ca_file",
            "配置了客户端 CA，但没有客户端认证策略（client_auth_type 为 NoClientCert）",
            "设置 client_auth_type: RequireAndVerifyClientCert，或删除 client_ca_file",
        ));
    }
    if auth.verifies() && ca_pem.is_none() {
        return Err(Problem::new(
            key("client_ca_file"),
            format!("is missing: client_auth_type {auth:?} checks client certificates against it"),
            "set client_ca_file to the PEM file of the CA that signs your clients' certificates",
            format!("缺失：client_auth_type {auth:?} 需要用它校验客户端证书"),
            "把 client_ca_file 设为签发客户端证书的 CA 的 PEM 文件",
        ));
    }
    let sans = t.client_allowed_sans.clone();
    if sans.is_some() && auth == ClientAuth::NoClientCert {
        return Err(Problem::new(
            key("client_allowed_sans"),
            "cannot be checked: client_auth_type is NoClientCert, so no client sends a certificate",
            "set client_auth_type: RequireAndVerifyClientCert (with client_ca_file), or remove client_allowed_sans",
            "无法检查：client_auth_type 为 NoClientCert，客户端不会发送证书",
            "设置 client_auth_type: RequireAndVerifyClientCert（并设置 client_ca_file），或删除 client_allowed_sans",
        ));
    }

    let (min, max) = (
        version(t.min_version.as_deref(), "min_version", 12)?,
        version(t.max_version.as_deref(), "max_version", 13)?,
    );
    if min > max {
        return Err(Problem::new(
            key("min_version"),
            format!("TLS{min} is above max_version TLS{max}"),
            "make min_version at most max_version (TLS12 or TLS13)",
            format!("TLS{min} 高于 max_version TLS{max}"),
            "让 min_version 不高于 max_version（TLS12 或 TLS13）",
        ));
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
            .into_iter()
            .filter(|(v, _)| (min..=max).contains(v))
            .map(|(_, p)| p)
            .collect();

    let base = rustls::crypto::ring::default_provider();
    let cipher_suites = suites(t.cipher_suites.as_deref(), &base.cipher_suites, max)?;
    let kx_groups = match t.curve_preferences.as_deref() {
        None | Some([]) => base.kx_groups.clone(),
        Some(names) => curves(names)?,
    };
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        kx_groups,
        ..base
    });

    let signing = provider
        .key_provider
        .load_private_key(private.clone_key())
        .map_err(|e| {
            Problem::new(
                key(key_key_name),
                format!("is a key type rustls cannot use ({e})"),
                "use an RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519 key",
                format!("是 rustls 无法使用的密钥类型（{e}）"),
                "使用 RSA（2048 位以上）、ECDSA P-256/P-384 或 Ed25519 密钥",
            )
        })?;
    let certified = rustls::sign::CertifiedKey::new(chain.clone(), signing);
    if let Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) =
        certified.keys_match()
    {
        return Err(Problem::new(
            key(key_key_name),
            format!("does not belong to the certificate in {cert_key_name}"),
            "give the private key the certificate was made for",
            format!("与 {cert_key_name} 中的证书不匹配"),
            "提供与证书配套的私钥",
        ));
    }

    let algorithms = provider.signature_verification_algorithms;
    let inner = match &ca_pem {
        Some(pem) if auth.verifies() => Some(web_pki_verifier(pem, &provider, auth)?),
        _ => None,
    };
    let verifier: Option<Arc<dyn ClientCertVerifier>> = match auth {
        ClientAuth::NoClientCert => None,
        _ => Some(Arc::new(ClientCerts {
            inner,
            mandatory: auth.requires() || sans.is_some(),
            sans,
            algorithms,
        })),
    };
    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| {
            Problem::new(
                key("cipher_suites"),
                format!("leaves no usable cipher suite for the TLS versions allowed ({e})"),
                "list at least one TLS 1.2 suite, or allow TLS13",
                format!("在允许的 TLS 版本下没有可用的密码套件（{e}）"),
                "至少列出一个 TLS 1.2 套件，或允许 TLS13",
            )
        })?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, private).map_err(|e| {
        Problem::new(
            key(cert_key_name),
            format!("cannot be used with its key ({e})"),
            "give a certificate and the private key made for it",
            format!("无法与其私钥一起使用（{e}）"),
            "提供证书及与之配套的私钥",
        )
    })?;
    // Go's PreferServerCipherSuites, default true in exporter-toolkit.
    config.ignore_client_order = t.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Built {
        config: Arc::new(config),
        files,
        verified_clients_only: auth == ClientAuth::RequireAndVerifyClientCert,
    })
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn bad_pem(name: &str, why: &str) -> Problem {
    Problem::new(
        key(name),
        format!("holds no PEM certificate ({why})"),
        "give a PEM file that starts with -----BEGIN CERTIFICATE-----",
        format!("没有 PEM 证书（{why}）"),
        "提供以 -----BEGIN CERTIFICATE----- 开头的 PEM 文件",
    )
}

/// The PEM text of `name`, given inline or as `name_file` (exactly one of them).
fn pem_source(
    inline: Option<&str>,
    file: Option<&str>,
    name: &str,
    dir: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Vec<u8>, Problem> {
    let inline = inline.filter(|s| !s.is_empty());
    let file = file.filter(|s| !s.is_empty());
    match (inline, file) {
        (Some(_), Some(_)) => Err(Problem::new(
            key(name),
            format!("is given both inline ({name}) and as a file ({name}_file)"),
            format!("keep one of {name} and {name}_file"),
            format!("同时以内联（{name}）和文件（{name}_file）给出"),
            format!("{name} 和 {name}_file 只保留一个"),
        )),
        (None, None) => Err(Problem::new(
            key(&format!("{name}_file")),
            format!("is missing: TLS needs one of {name} or {name}_file"),
            format!("set {name}_file to the PEM file (or {name} to the PEM text)"),
            format!("缺失：TLS 需要 {name} 或 {name}_file 之一"),
            format!("把 {name}_file 设为 PEM 文件（或把 {name} 设为 PEM 文本）"),
        )),
        (Some(text), None) => Ok(text.as_bytes().to_vec()),
        (None, Some(path)) => {
            let path = dir.join(path);
            let bytes = std::fs::read(&path).map_err(|e| {
                Problem::new(
                    key(&format!("{name}_file")),
                    format!("{} cannot be read: {e}", path.display()),
                    "give the path of a readable PEM file (relative paths start at the web configuration file's directory)",
                    format!("{} 无法读取：{e}", path.display()),
                    "给出可读的 PEM 文件路径（相对路径从 Web 配置文件所在目录算起）",
                )
            })?;
            files.push(path);
            Ok(bytes)
        }
    }
}

/// `TLS12` → 12. TLS 1.0 and 1.1 are refused: rustls has neither.
fn version(v: Option<&str>, name: &str, default: u8) -> Result<u8, Problem> {
    match v {
        None | Some("") => Ok(default),
        Some("TLS12") => Ok(12),
        Some("TLS13") => Ok(13),
        Some(old @ ("TLS10" | "TLS11")) => Err(Problem::new(
            key(name),
            format!("{old} cannot be honoured: rustls implements TLS 1.2 and 1.3 only (1.0 and 1.1 are deprecated, RFC 8996)"),
            "write TLS12 or TLS13",
            format!("无法满足 {old}：rustls 只实现 TLS 1.2 和 1.3（1.0 和 1.1 已弃用，RFC 8996）"),
            "改为 TLS12 或 TLS13",
        )),
        Some(other) => Err(Problem::new(
            key(name),
            format!("{other:?} is an unknown TLS version"),
            "write TLS12 or TLS13",
            format!("{other:?} 是未知的 TLS 版本"),
            "改为 TLS12 或 TLS13",
        )),
    }
}

/// Go's names of the secure cipher suites (`tls.CipherSuites()`, the ones exporter-toolkit accepts)
/// that rustls has not: CBC with SHA-1.
const GO_ONLY_SUITES: [&str; 4] = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
];

/// Go's name of a rustls suite (`TLS13_AES_128_GCM_SHA256` is Go's `TLS_AES_128_GCM_SHA256`).
fn go_name(s: &SupportedCipherSuite) -> String {
    let name = format!("{:?}", s.suite());
    name.strip_prefix("TLS13_")
        .map_or(name.clone(), |rest| format!("TLS_{rest}"))
}

/// The suites `names` allow, in their order. As in Go, the list chooses among the TLS 1.2 suites;
/// TLS 1.3's are always on (naming them is allowed and changes nothing).
fn suites(
    names: Option<&[String]>,
    all: &[SupportedCipherSuite],
    max: u8,
) -> Result<Vec<SupportedCipherSuite>, Problem> {
    let Some(names) = names.filter(|n| !n.is_empty()) else {
        return Ok(all.to_vec());
    };
    let known: Vec<String> = all.iter().map(go_name).collect();
    let mut tls12 = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let k = format!("{}[{i}]", key("cipher_suites"));
        if GO_ONLY_SUITES.contains(&name.as_str()) {
            return Err(Problem::new(
                k,
                format!(
                    "{name} cannot be honoured: rustls does not implement the CBC cipher suites"
                ),
                format!("remove it; the suites available are {}", known.join(", ")),
                format!("无法满足 {name}：rustls 不实现 CBC 密码套件"),
                format!("删除它；可用的套件：{}", known.join(", ")),
            ));
        }
        let Some(pos) = known.iter().position(|n| n == name) else {
            return Err(Problem::new(
                k,
                format!("{name:?} is an unknown cipher suite"),
                format!("write Go's name of a suite: {}", known.join(", ")),
                format!("{name:?} 是未知的密码套件"),
                format!("使用 Go 的套件名称：{}", known.join(", ")),
            ));
        };
        let suite = all[pos];
        if matches!(suite, SupportedCipherSuite::Tls12(_)) {
            tls12.push(suite);
        }
    }
    if tls12.is_empty() && max == 12 {
        return Err(Problem::new(
            key("cipher_suites"),
            "lists no TLS 1.2 suite while max_version is TLS12: no connection could be made",
            "add a TLS 1.2 suite such as TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, or allow TLS13",
            "max_version 为 TLS12，但没有列出任何 TLS 1.2 套件：无法建立连接",
            "加上一个 TLS 1.2 套件（如 TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256），或允许 TLS13",
        ));
    }
    let mut out: Vec<SupportedCipherSuite> = all
        .iter()
        .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
        .copied()
        .collect();
    out.extend(tls12);
    Ok(out)
}

/// `curve_preferences`, in order. Go's `CurveP521` is refused: ring has no P-521 key exchange.
fn curves(names: &[String]) -> Result<Vec<&'static dyn rustls::crypto::SupportedKxGroup>, Problem> {
    use rustls::crypto::ring::kx_group;
    let mut out: Vec<&'static dyn rustls::crypto::SupportedKxGroup> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let k = format!("{}[{i}]", key("curve_preferences"));
        out.push(match name.as_str() {
            "X25519" => kx_group::X25519,
            "CurveP256" => kx_group::SECP256R1,
            "CurveP384" => kx_group::SECP384R1,
            "CurveP521" => {
                return Err(Problem::new(
                    k,
                    "CurveP521 cannot be honoured: rustls with ring has no P-521 key exchange",
                    "remove it; the curves available are X25519, CurveP256, CurveP384",
                    "无法满足 CurveP521：基于 ring 的 rustls 没有 P-521 密钥交换",
                    "删除它；可用的曲线：X25519、CurveP256、CurveP384",
                ))
            }
            other => {
                return Err(Problem::new(
                    k,
                    format!("{other:?} is an unknown curve"),
                    "write X25519, CurveP256 or CurveP384",
                    format!("{other:?} 是未知的曲线"),
                    "改为 X25519、CurveP256 或 CurveP384",
                ))
            }
        });
    }
    Ok(out)
}

fn web_pki_verifier(
    pem: &[u8],
    provider: &Arc<CryptoProvider>,
    auth: ClientAuth,
) -> Result<Arc<dyn ClientCertVerifier>, Problem> {
    let bad = |why: String| {
        Problem::new(
            key("client_ca_file"),
            format!("holds no usable CA certificate ({why})"),
            "give the PEM file of the CA that signs your clients' certificates",
            format!("没有可用的 CA 证书（{why}）"),
            "提供签发客户端证书的 CA 的 PEM 文件",
        )
    };
    let mut roots = RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no CERTIFICATE block".into()));
    }
    for c in certs {
        roots.add(c).map_err(|e| bad(e.to_string()))?;
    }
    let builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
    let builder = if auth == ClientAuth::VerifyClientCertIfGiven {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder.build().map_err(|e| bad(e.to_string()))
}

/// Go's client certificate policies over rustls: an optional chain check against the client CAs,
/// whether a certificate is required, and the SAN list.
#[derive(Debug)]
struct ClientCerts {
    /// Checks the chain (the `Verify…` policies).
    inner: Option<Arc<dyn ClientCertVerifier>>,
    mandatory: bool,
    sans: Option<Vec<String>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for ClientCerts {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.as_ref().map_or(&[], |i| i.root_hint_subjects())
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if let Some(inner) = &self.inner {
            inner.verify_client_cert(end_entity, intermediates, now)?;
        }
        if let Some(allowed) = &self.sans {
            let found = sans_of(end_entity);
            if !found.iter().any(|s| allowed.contains(s)) {
                tracing::info!(client_sans = ?found, "tls: client certificate refused: none of its SANs is in client_allowed_sans");
                return Err(rustls::Error::InvalidCertificate(
                    CertificateError::ApplicationVerificationFailure,
                ));
            }
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Every SAN of a certificate as Go prints it: DNS names, e-mail addresses, IP addresses, URIs.
pub fn sans_of(der: &CertificateDer<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else {
        return Vec::new();
    };
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                Some((*s).to_string())
            }
            GeneralName::IPAddress(b) => match b.len() {
                4 => <[u8; 4]>::try_from(*b)
                    .ok()
                    .map(|a| IpAddr::from(a).to_string()),
                16 => <[u8; 16]>::try_from(*b)
                    .ok()
                    .map(|a| IpAddr::from(a).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}
