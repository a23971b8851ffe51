use std::path::Path;

use super::*;

fn problem(text: &str) -> Problem {
    parse(text, Path::new(".")).expect_err("refused")
}

#[test]
fn an_empty_file_is_plain_http_without_auth() {
    let c = parse("# nothing yet\n", Path::new(".")).expect("accepted");
    assert!(c.tls.is_none() && c.users.is_empty() && c.headers.is_empty());
}

#[test]
fn an_unknown_key_is_named_with_its_path() {
    let p = problem("tls_server_config:\n  cert_filse: a.crt\n");
    assert_eq!(p.key, "tls_server_config.cert_filse");
    assert!(p.fix.contains("cert_file"), "{p}");
}

#[test]
fn a_bad_hash_names_its_user_and_never_shows_the_hash() {
    let p = problem("basic_auth_users:\n  alice: $2y$10$tooshort\n");
    assert_eq!(p.key, "basic_auth_users.alice");
    assert!(p.problem.contains("\"alice\""), "{p}");
    assert!(!p.to_string().contains("tooshort"), "{p}");
}

#[test]
fn a_public_address_warns_until_tls_and_a_password_are_in_place() {
    let public: SocketAddr = "0.0.0.0:9184".parse().expect("an address");
    let local: SocketAddr = "127.0.0.1:9184".parse().expect("an address");
    assert!(exposure(local, None).is_none());
    assert!(exposure(public, None).is_some());
    let hash = bcrypt::hash("pw", 4).expect("cost 4 is valid");
    let users = parse(
        &format!("basic_auth_users:\n  a: '{hash}'\n"),
        Path::new("."),
    )
    .expect("accepted");
    // Without TLS the password would travel in clear text.
    assert!(exposure(public, Some(&users)).is_some());
}
