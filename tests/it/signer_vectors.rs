//! The signer against the six vectors made by Huawei's own SDK signer.

use flexus_traffic_monitor::huawei::signer::{self, RequestParts, Signed};
use serde_json::Value;

use crate::helpers::fakes::{AK, SK};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../fixtures/huawei-signing-vectors.json")).unwrap()
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The headers a raw vector gives the signer.
fn headers_in(case: &Value) -> Vec<(String, String)> {
    case["headers_in"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), as_text(v)))
        .collect()
}

/// Signs the request `case` describes (its method and body; the rest given) with the test keys.
fn sign(
    case: &Value,
    host: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
) -> Signed {
    let body = case["body"].as_str().unwrap_or("").as_bytes();
    let parts = RequestParts {
        method: case["method"].as_str().unwrap(),
        host,
        path,
        query,
        headers,
        body,
    };
    signer::sign(&parts, AK, SK)
}

/// Asserts that `signed` has the canonical request and string to sign of `case`.
fn assert_intermediates(signed: &Signed, case: &Value, name: &str) {
    assert_eq!(
        signed.canonical_request,
        case["canonical_request"].as_str().unwrap(),
        "{name}"
    );
    assert_eq!(
        signed.string_to_sign,
        case["string_to_sign"].as_str().unwrap(),
        "{name}"
    );
}

#[test]
fn raw_vectors_reproduce_every_intermediate_string() {
    let v = vectors();
    let raw = v["raw"].as_array().unwrap();
    assert_eq!(raw.len(), 3);
    for case in raw {
        let name = case["name"].as_str().unwrap();
        let query: Vec<(String, String)> = case["query_params_in"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (as_text(&p[0]), as_text(&p[1])))
            .collect();
        let headers = headers_in(case);
        let host = case["host"].as_str().unwrap();
        let path = case["resource_path"].as_str().unwrap();
        let signed = sign(case, host, path, &query, &headers);
        assert_intermediates(&signed, case, name);
        assert_eq!(
            signed.signed_headers,
            case["signed_headers"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            signed.authorization,
            case["authorization"].as_str().unwrap(),
            "{name}"
        );
        let mut url = format!("https://{host}{path}");
        if !signed.canonical_query.is_empty() {
            url = format!("{url}?{}", signed.canonical_query);
        }
        assert_eq!(
            url,
            case["final_url"].as_str().unwrap(),
            "{name}: the URL sent carries the signed query"
        );
    }
}

#[test]
fn e2e_vectors_reproduce_what_the_sdk_put_on_the_wire() {
    let v = vectors();
    let e2e = v["e2e"].as_array().unwrap();
    assert_eq!(e2e.len(), 3);
    for case in e2e {
        let name = case["name"].as_str().unwrap();
        let url = url::Url::parse(case["url"].as_str().unwrap()).unwrap();
        let query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let all = case["headers"].as_object().unwrap();
        let headers: Vec<(String, String)> = all
            .iter()
            .filter(|(k, _)| *k != "Host" && *k != "Authorization")
            .map(|(k, v)| (k.clone(), as_text(v)))
            .collect();
        let host = all["Host"].as_str().unwrap();
        let signed = sign(case, host, url.path(), &query, &headers);
        assert_intermediates(&signed, case, name);
        assert_eq!(
            signed.authorization,
            all["Authorization"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(url.query().unwrap_or(""), signed.canonical_query, "{name}");
    }
}

#[test]
fn a_wrong_secret_key_gives_a_different_signature() {
    let v = vectors();
    let case = &v["raw"][0];
    let headers = headers_in(case);
    let body = case["body"].as_str().unwrap().as_bytes();
    let parts = RequestParts {
        method: "POST",
        host: "bss.myhuaweicloud.com",
        path: case["resource_path"].as_str().unwrap(),
        query: &[],
        headers: &headers,
        body,
    };
    assert_ne!(
        signer::sign(&parts, AK, "other-sk").authorization,
        case["authorization"].as_str().unwrap()
    );
}
