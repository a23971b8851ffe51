//! What Huawei's API gateway checks on an incoming request, as an axum extractor: the
//! SDK-HMAC-SHA256 signature (with [`signer::verify`]) and which headers were signed. Used by the
//! demo's simulated cloud and by every fake in the tests, so that they all check signatures one way.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;

use super::signer::{self, Received, VerifyError};

/// The key pair a gateway accepts.
pub trait GatewayKeys {
    const ACCESS_KEY: &'static str;
    const SECRET_KEY: &'static str;
}

/// A request whose signature checked out.
#[derive(Debug)]
pub struct Signed<K> {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The lower-case names the client signed.
    pub signed_headers: Vec<String>,
    keys: PhantomData<K>,
}

impl<K> Signed<K> {
    /// Whether `name` (lower case) was signed.
    pub fn is_signed(&self, name: &str) -> bool {
        self.signed_headers.iter().any(|h| h == name)
    }

    /// A header's value, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Headers the client sent but did not sign, other than those HTTP clients add on their own
    /// and those with `_` (which the SDK leaves unsigned).
    pub fn unsigned_headers(&self) -> Vec<String> {
        self.headers
            .keys()
            .map(|n| n.as_str())
            .filter(|n| {
                !n.contains('_')
                    && !self.is_signed(n)
                    && !matches!(
                        *n,
                        "authorization"
                            | "content-length"
                            | "accept"
                            | "accept-encoding"
                            | "user-agent"
                            | "connection"
                    )
            })
            .map(str::to_string)
            .collect()
    }
}

/// Why the gateway refused a request.
#[derive(Debug)]
pub struct Refused(pub VerifyError);

impl Refused {
    /// The gateway's message.
    pub fn message(&self) -> String {
        format!("Incorrect IAM authentication information: {}", self.0)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let body = json!({"error_code": "APIGW.0301", "error_msg": self.message()});
        (StatusCode::UNAUTHORIZED, Json(body)).into_response()
    }
}

impl<S, K> FromRequest<S> for Signed<K>
where
    S: Send + Sync,
    K: GatewayKeys + Send,
{
    type Rejection = Refused;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let body = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .unwrap_or_default();
        let pairs = signer::header_pairs(&parts.headers);
        let received = Received {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            raw_query: parts.uri.query().unwrap_or(""),
            headers: &pairs,
            body: &body,
        };
        signer::verify(&received, K::ACCESS_KEY, K::SECRET_KEY, Utc::now()).map_err(Refused)?;
        let signed_headers = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(signer::parse_authorization)
            .map(|(_, s, _)| s.split(';').map(str::to_string).collect())
            .unwrap_or_default();
        Ok(Self {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
            signed_headers,
            keys: PhantomData,
        })
    }
}
