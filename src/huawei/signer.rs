//! `SDK-HMAC-SHA256`, the request signature of Huawei Cloud's API gateway.
//!
//! Pure functions only: no clock, no sockets. The caller puts `X-Sdk-Date` among the headers; this
//! module builds the canonical request, the string to sign and the `Authorization` header exactly as
//! Huawei's SDK signer does (`huaweicloudsdkcore/auth/signer.py`), which the vectors in
//! `tests/fixtures/huawei-signing-vectors.json` pin down. Rules are in the project's Huawei API notes:
//! the canonical URI always ends in `/` (only in the canonical form), the query is sorted on raw
//! strings and encoded keeping `A-Za-z0-9-_.~`, every header without `_` in its name is signed, and the
//! signature is a plain HMAC-SHA256 keyed with the SK (no derived key, no region scope).

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

/// The algorithm name that opens the string to sign and the `Authorization` header.
pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The header that carries the signing time, `YYYYMMDDTHHMMSSZ` in UTC.
pub const DATE_HEADER: &str = "X-Sdk-Date";

/// Bytes kept as they are: the RFC 3986 unreserved set. Everything else is `%XX` (upper-case hex),
/// so a space is `%20`, never `+` (the SDK's `quote(s, safe='~')`).
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a path segment, query key or query value the way the signer expects.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, KEEP).to_string()
}

/// What is signed: everything of a request except `Authorization`.
#[derive(Debug, Clone)]
pub struct RequestParts<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The `Host` header value: host, plus `:port` only when the URL names one.
    pub host: &'a str,
    /// The path as it will be sent (may hold percent-escapes).
    pub path: &'a str,
    /// Raw (unencoded) query pairs, in any order.
    pub query: &'a [(String, String)],
    /// Headers other than `Host` and `Authorization`, `X-Sdk-Date` among them.
    pub headers: &'a [(String, String)],
    /// The exact body bytes.
    pub body: &'a [u8],
}

/// The result of signing, with every intermediate string (tests compare them with the vectors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signed_headers: String,
    /// The query string to send, exactly as signed (empty when there is none).
    pub canonical_query: String,
    /// The value of the `Authorization` header.
    pub authorization: String,
}

/// The canonical URI: each segment decoded, re-encoded, and a trailing `/` appended when missing.
pub fn canonical_uri(path: &str) -> String {
    let mut out = path
        .split('/')
        .map(|seg| encode(&percent_decode_str(seg).decode_utf8_lossy()))
        .collect::<Vec<_>>()
        .join("/");
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// The canonical query: pairs sorted on their raw strings, then encoded and joined `k=v&k=v`.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = query.iter().collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Signs a request. The date is read from the `X-Sdk-Date` header among `parts.headers`.
pub fn sign(parts: &RequestParts<'_>, access_key: &str, secret_key: &str) -> Signed {
    // Signed headers: every header whose name has no '_' (the SDK skips those), lower-cased and
    // sorted. `Host` is always among them.
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(name, _)| !name.contains('_') && !name.eq_ignore_ascii_case("host"))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    headers.push(("host".to_string(), parts.host.trim().to_string()));
    headers.sort();

    let date = headers
        .iter()
        .find(|(name, _)| name == "x-sdk-date")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let canonical_headers: String = headers
        .iter()
        .map(|(name, value)| format!("{name}:{value}\n"))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let query = canonical_query(parts.query);
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        parts.method.to_ascii_uppercase(),
        canonical_uri(parts.path),
        query,
        canonical_headers,
        signed_headers,
        sha256_hex(parts.body)
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC-SHA256 accepts a key of any length");
    mac.update(string_to_sign.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let authorization = format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={signed_headers}, Signature={signature}"
    );
    Signed {
        canonical_request,
        string_to_sign,
        signed_headers,
        canonical_query: query,
        authorization,
    }
}

/// Formats a time as `X-Sdk-Date` wants it.
pub fn format_date(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Parses the parts of an `Authorization` header: (access key, signed headers, signature).
/// Used by the local fakes that check signatures.
pub fn parse_authorization(value: &str) -> Option<(String, String, String)> {
    let rest = value.strip_prefix(ALGORITHM)?.trim_start();
    let mut access = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Access" => access = Some(v.to_string()),
            "SignedHeaders" => signed = Some(v.to_string()),
            "Signature" => signature = Some(v.to_string()),
            _ => return None,
        }
    }
    Some((access?, signed?, signature?))
}

/// Why a received request's signature is not valid (what the gateway would say).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("Authorization header missing or malformed")]
    Malformed,
    #[error("ak not found")]
    UnknownKey,
    #[error("host and x-sdk-date must be signed")]
    MissingSignedHeader,
    #[error("signature expired")]
    Expired,
    #[error("verify aksk signature fail")]
    Mismatch,
}

/// A request as a server received it, for [`verify`].
#[derive(Debug, Clone)]
pub struct Received<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// The raw query string, as it arrived (without `?`).
    pub raw_query: &'a str,
    /// Lower-case header names and values.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The headers of a received request as `(lower-case name, value)` pairs, for [`Received`].
pub fn header_pairs(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect()
}

/// Checks a received request's signature as Huawei's API gateway does: the access key, the signed
/// headers, a date within 15 minutes of `now`, the signature itself, and that the query that arrived
/// is exactly the canonical one. Used by the demo cloud and by the tests' fakes.
///
/// # Errors
/// What the gateway would reject the request for.
pub fn verify(
    req: &Received<'_>,
    access_key: &str,
    secret_key: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), VerifyError> {
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let (access, signed_headers, signature) = header("authorization")
        .and_then(parse_authorization)
        .ok_or(VerifyError::Malformed)?;
    if access != access_key {
        return Err(VerifyError::UnknownKey);
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") || !names.contains(&"x-sdk-date") {
        return Err(VerifyError::MissingSignedHeader);
    }
    let date = header("x-sdk-date").ok_or(VerifyError::MissingSignedHeader)?;
    let when = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| VerifyError::Malformed)?;
    if (now.naive_utc() - when).num_seconds().abs() > 15 * 60 {
        return Err(VerifyError::Expired);
    }
    let mut signed = Vec::new();
    let mut host = "";
    for name in &names {
        let value = header(name).ok_or(VerifyError::MissingSignedHeader)?;
        if *name == "host" {
            host = value;
        } else {
            signed.push((name.to_string(), value.to_string()));
        }
    }
    let query: Vec<(String, String)> = req
        .raw_query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (
                percent_decode_str(k).decode_utf8_lossy().into_owned(),
                percent_decode_str(v).decode_utf8_lossy().into_owned(),
            )
        })
        .collect();
    let expected = sign(
        &RequestParts {
            method: req.method,
            host,
            path: req.path,
            query: &query,
            headers: &signed,
            body: req.body,
        },
        access_key,
        secret_key,
    );
    let expected_signature = parse_authorization(&expected.authorization)
        .map(|(_, _, s)| s)
        .unwrap_or_default();
    let same: bool =
        subtle::ConstantTimeEq::ct_eq(expected_signature.as_bytes(), signature.as_bytes()).into();
    if !same
        || expected.signed_headers != signed_headers
        || expected.canonical_query != req.raw_query
    {
        return Err(VerifyError::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tilde_is_kept_and_space_is_percent_20() {
        assert_eq!(encode("a b~c"), "a%20b~c");
        assert_eq!(encode("+/=&*'()!"), "%2B%2F%3D%26%2A%27%28%29%21");
        assert_eq!(encode("流"), "%E6%B5%81");
    }

    #[test]
    fn canonical_uri_appends_a_slash_once() {
        assert_eq!(canonical_uri("/v2/a"), "/v2/a/");
        assert_eq!(canonical_uri("/v2/a/"), "/v2/a/");
        assert_eq!(canonical_uri("/v2/a%20b"), "/v2/a%20b/");
    }

    #[test]
    fn authorization_header_parses_back() {
        let (a, s, g) = parse_authorization(
            "SDK-HMAC-SHA256 Access=ak, SignedHeaders=host;x-sdk-date, Signature=ab12",
        )
        .unwrap();
        assert_eq!(
            (a.as_str(), s.as_str(), g.as_str()),
            ("ak", "host;x-sdk-date", "ab12")
        );
        assert!(parse_authorization("Bearer x").is_none());
    }

    #[test]
    fn verify_accepts_a_signed_request_and_rejects_tampering() {
        let now = chrono::Utc::now();
        let date = format_date(now);
        let query = vec![("a b".to_string(), "c/d".to_string())];
        let headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            (DATE_HEADER.to_string(), date.clone()),
        ];
        let s = sign(
            &RequestParts {
                method: "POST",
                host: "127.0.0.1:8080",
                path: "/v2/x",
                query: &query,
                headers: &headers,
                body: b"{}",
            },
            "ak",
            "sk",
        );
        let received = vec![
            ("authorization".to_string(), s.authorization.clone()),
            ("content-type".to_string(), "application/json".to_string()),
            ("host".to_string(), "127.0.0.1:8080".to_string()),
            ("x-sdk-date".to_string(), date),
        ];
        let req = Received {
            method: "POST",
            path: "/v2/x",
            raw_query: &s.canonical_query,
            headers: &received,
            body: b"{}",
        };
        assert_eq!(verify(&req, "ak", "sk", now), Ok(()));
        assert_eq!(
            verify(
                &Received {
                    body: b"{ }",
                    ..req.clone()
                },
                "ak",
                "sk",
                now
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(
                &Received {
                    raw_query: "a+b=c%2Fd",
                    ..req.clone()
                },
                "ak",
                "sk",
                now
            ),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(verify(&req, "ak", "other", now), Err(VerifyError::Mismatch));
        assert_eq!(verify(&req, "ak2", "sk", now), Err(VerifyError::UnknownKey));
        assert_eq!(
            verify(&req, "ak", "sk", now + chrono::Duration::minutes(16)),
            Err(VerifyError::Expired)
        );
    }

    proptest! {
        #[test]
        fn any_string_round_trips_through_the_encoder(s in any::<String>()) {
            let e = encode(&s);
            prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
            prop_assert_eq!(percent_decode_str(&e).decode_utf8().unwrap(), s);
        }

        #[test]
        fn unreserved_strings_are_unchanged(s in "[A-Za-z0-9._~-]*") {
            prop_assert_eq!(encode(&s), s);
        }
    }
}
