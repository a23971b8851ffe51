//! Errors of Huawei Cloud API calls, mapped to what the user must do.
//!
//! The mapping follows the error table in the project's Huawei API notes: a wrong key, a missing
//! permission, a wrong site and clock skew are configuration errors (retrying cannot fix them);
//! throttling and server errors are transient. The request id is kept so a user can quote it to
//! Huawei support. No variant ever holds a URL, a key or a signature.

use serde::Deserialize;

use super::Site;

/// Why a call to a Huawei Cloud API failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HuaweiError {
    #[error("network error talking to Huawei Cloud: {0}")]
    Transport(String),
    #[error("Huawei Cloud did not answer within {0:?} (check the network, or raise HTTP_TIMEOUT)")]
    Timeout(std::time::Duration),
    #[error("throttled by Huawei Cloud ({code}){rid}; will retry later", rid = rid(.request_id))]
    Throttled {
        code: String,
        request_id: Option<String>,
    },
    #[error("Huawei Cloud rejected the access key or signature ({code}: {msg}){rid}: check HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK (five failures in a row lock the key for 5 minutes)", rid = rid(.request_id))]
    BadCredentials {
        code: String,
        msg: String,
        request_id: Option<String>,
    },
    #[error("Huawei Cloud says the request signature expired ({code}){rid}: this machine's clock is more than 15 minutes off; sync it (e.g. enable NTP with `timedatectl set-ntp true`)", rid = rid(.request_id))]
    ClockSkew {
        code: String,
        request_id: Option<String>,
    },
    #[error("the access key lacks permission ({code}: {msg}){rid}: grant the IAM user `BSS ReadonlyAccess` (action bss:order:view)", rid = rid(.request_id))]
    PermissionDenied {
        code: String,
        msg: String,
        request_id: Option<String>,
    },
    #[error("the account does not belong to the {site} site ({code}){rid}: set HUAWEICLOUD_SITE to {hint}", rid = rid(.request_id), site = .site.as_str(), hint = .site.other_sites_hint())]
    WrongSite {
        code: String,
        site: Site,
        request_id: Option<String>,
    },
    #[error("Huawei Cloud server error HTTP {status} ({code}: {msg}){rid}; will retry", rid = rid(.request_id))]
    Server {
        status: u16,
        code: String,
        msg: String,
        request_id: Option<String>,
    },
    #[error("Huawei Cloud refused the request, HTTP {status} ({code}: {msg}){rid}", rid = rid(.request_id))]
    Api {
        status: u16,
        code: String,
        msg: String,
        request_id: Option<String>,
    },
    #[error("Huawei Cloud sent an answer that cannot be read ({reason}){rid}", rid = rid(.request_id))]
    BadResponse {
        reason: String,
        request_id: Option<String>,
    },
}

fn rid(request_id: &Option<String>) -> String {
    match request_id {
        Some(id) => format!(" [request id {id}]"),
        None => String::new(),
    }
}

impl HuaweiError {
    /// True for errors a retry may fix (throttling, 5xx).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Server { .. })
    }

    /// True for errors only the user can fix: key, permission, site, clock.
    pub fn is_configuration(&self) -> bool {
        matches!(
            self,
            Self::BadCredentials { .. }
                | Self::ClockSkew { .. }
                | Self::PermissionDenied { .. }
                | Self::WrongSite { .. }
        )
    }

    /// A short label for the `result` label of request counters.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Transport(_) => "network",
            Self::Timeout(_) => "timeout",
            Self::Throttled { .. } => "throttled",
            Self::BadCredentials { .. } => "bad_credentials",
            Self::ClockSkew { .. } => "clock_skew",
            Self::PermissionDenied { .. } => "permission_denied",
            Self::WrongSite { .. } => "wrong_site",
            Self::Server { .. } => "server_error",
            Self::Api { .. } => "api_error",
            Self::BadResponse { .. } => "bad_response",
        }
    }
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_msg: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
}

/// The code and message of a Cloud Eye v1 error body, which has its own shapes (Cloud Eye API
/// "Error Codes"): `{"code": 429, "message": "...", "details": {"code": "ces.0429", "details":
/// "..."}}`, or `{"http_code": "403", "message": {"code": "403", "details": "..."}}`.
fn ces_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (None, None);
    };
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let inner = v
        .get("details")
        .filter(|d| d.is_object())
        .or_else(|| v.get("message").filter(|m| m.is_object()));
    let code = inner.and_then(|d| d.get("code")).and_then(text);
    let msg = inner
        .and_then(|d| d.get("details"))
        .and_then(text)
        .or_else(|| v.get("message").and_then(text));
    (code, msg)
}

/// Looks at an answer's status and body and says whether it is an error, and which.
///
/// `None` means success. HTTP 200 with a BSS `error_code` other than `CBC.0000` is an error too
/// (some BSS business errors come back that way).
pub fn classify(
    status: u16,
    body: &[u8],
    header_request_id: Option<String>,
    site: Site,
) -> Option<HuaweiError> {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let (ces_code, ces_msg) = ces_error(body);
    let code = parsed.error_code.clone().or(ces_code).unwrap_or_default();
    let msg: String = parsed
        .error_msg
        .clone()
        .or(ces_msg)
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    let request_id = header_request_id.or(parsed.request_id);
    // BSS reports some business errors as HTTP 200 with a `CBC.` code other than `CBC.0000`. Other
    // services' 200 answers may carry an `error_code` that is data, not an error of the call: an
    // ECS job that ended `FAIL` has its own `error_code` and `fail_reason` (ECS API "Querying Task
    // Execution Status"), which the caller reports.
    let ok_code = code.is_empty() || code == "CBC.0000" || !code.starts_with("CBC.");
    if (200..300).contains(&status) && ok_code {
        return None;
    }
    let lower = msg.to_ascii_lowercase();
    let code_or_status = if code.is_empty() {
        format!("HTTP {status}")
    } else {
        code.clone()
    };
    Some(match status {
        429 => HuaweiError::Throttled {
            code: code_or_status,
            request_id,
        },
        _ if code == "APIGW.0308" || code == "ces.0429" => HuaweiError::Throttled {
            code: code_or_status,
            request_id,
        },
        401 | 403 if lower.contains("expired") || lower.contains("x-sdk-date") => {
            HuaweiError::ClockSkew {
                code: code_or_status,
                request_id,
            }
        }
        _ if code == "CBC.0150" || code == "CBC.0156" => HuaweiError::WrongSite {
            code,
            site,
            request_id,
        },
        _ if code == "CBC.0151" => HuaweiError::PermissionDenied {
            code,
            msg,
            request_id,
        },
        401 => HuaweiError::BadCredentials {
            code: code_or_status,
            msg,
            request_id,
        },
        403 if code.starts_with("APIGW.") => HuaweiError::BadCredentials {
            code,
            msg,
            request_id,
        },
        500..=599 => HuaweiError::Server {
            status,
            code: code_or_status,
            msg,
            request_id,
        },
        _ => HuaweiError::Api {
            status,
            code: code_or_status,
            msg,
            request_id,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: u16, body: &str) -> Option<HuaweiError> {
        classify(status, body.as_bytes(), Some("rid-1".into()), Site::Cn)
    }

    #[test]
    fn success_and_business_errors() {
        assert_eq!(c(200, r#"{"free_resources":[]}"#), None);
        assert_eq!(c(200, r#"{"error_code":"CBC.0000"}"#), None);
        assert_eq!(
            c(
                200,
                r#"{"status":"FAIL","error_code":"Ecs.0503","fail_reason":"x"}"#
            ),
            None,
            "a failed ECS job is an answer, not a failed call"
        );
        assert!(matches!(
            c(200, r#"{"error_code":"CBC.0999","error_msg":"x"}"#),
            Some(HuaweiError::Api { status: 200, .. })
        ));
    }

    #[test]
    fn the_error_table_maps_to_what_the_user_must_do() {
        assert!(matches!(
            c(
                401,
                r#"{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information"}"#
            ),
            Some(HuaweiError::BadCredentials { .. })
        ));
        assert!(matches!(
            c(
                401,
                r#"{"error_code":"APIGW.0301","error_msg":"signature expired"}"#
            ),
            Some(HuaweiError::ClockSkew { .. })
        ));
        assert!(matches!(
            c(
                403,
                r#"{"error_code":"CBC.0151","error_msg":"Access denied."}"#
            ),
            Some(HuaweiError::PermissionDenied { .. })
        ));
        assert!(matches!(
            c(403, r#"{"error_code":"CBC.0150"}"#),
            Some(HuaweiError::WrongSite { .. })
        ));
        assert!(matches!(
            c(403, r#"{"error_code":"CBC.0156"}"#),
            Some(HuaweiError::WrongSite { .. })
        ));
        assert!(matches!(
            c(429, r#"{"error_code":"APIGW.0308"}"#),
            Some(HuaweiError::Throttled { .. })
        ));
        assert!(matches!(
            c(
                429,
                r#"{"code":429,"element":"Too Many Requests","message":"too many","details":{"details":"Too many requests","code":"ces.0429"}}"#
            ),
            Some(HuaweiError::Throttled { code, .. }) if code == "ces.0429"
        ));
        assert!(matches!(
            c(
                403,
                r#"{"http_code":"403","message":{"details":"Policy doesn't allow [ces:metricData:list] to be performed","code":"403"}}"#
            ),
            Some(HuaweiError::Api { status: 403, msg, .. }) if msg.contains("ces:metricData:list")
        ));
        assert!(matches!(
            c(503, "<html>busy</html>"),
            Some(HuaweiError::Server { status: 503, .. })
        ));
        assert!(matches!(
            c(404, ""),
            Some(HuaweiError::Api { status: 404, .. })
        ));
    }

    #[test]
    fn messages_name_the_fix_and_the_request_id() {
        let e = c(403, r#"{"error_code":"CBC.0151"}"#).unwrap();
        assert!(e.to_string().contains("BSS ReadonlyAccess") && e.to_string().contains("rid-1"));
        let e = c(403, r#"{"error_code":"CBC.0150"}"#).unwrap();
        assert!(e.to_string().contains("HUAWEICLOUD_SITE"), "{e}");
        assert!(e.is_configuration() && !e.is_retryable());
    }
}
