//! Basic auth against `basic_auth_users`, as exporter-toolkit checks it: bcrypt, one comparison at a
//! time (it is meant to be slow: about 70 ms at cost 10), the verdict cached per user, hash and
//! password so that a scraper's every request does not pay it again; an unknown user is compared
//! with a fixed hash all the same, so that timing does not tell which users exist.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use base64::Engine;
use sha2::{Digest, Sha256};

/// bcrypt (cost 10) of a password nobody is given: what an unknown user is compared with.
const DECOY_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// Verdicts kept at most; the cache starts afresh when full.
const CACHE_MAX: usize = 1024;

/// The checker, shared by every request.
#[derive(Default)]
pub struct BasicAuth {
    /// SHA-256 of (user, hash, password) → whether they matched. Never the password itself.
    cache: Mutex<HashMap<[u8; 32], bool>>,
    /// One bcrypt comparison at a time, as exporter-toolkit's `bcryptMtx`.
    one_at_a_time: tokio::sync::Mutex<()>,
}

/// The user and password of a `Basic` `Authorization` header.
pub fn credentials(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

impl BasicAuth {
    /// Whether `header` (the request's `Authorization`) names a user of `users` with its password.
    pub async fn check(&self, users: &BTreeMap<String, String>, header: Option<&str>) -> bool {
        let Some((user, pass)) = header.and_then(credentials) else {
            return false;
        };
        let known = users.get(&user);
        let hash = known.map_or(DECOY_HASH, String::as_str).to_string();
        let key: [u8; 32] = {
            let mut h = Sha256::new();
            for part in [user.as_bytes(), hash.as_bytes(), pass.as_bytes()] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part);
            }
            h.finalize().into()
        };
        if let Some(ok) = self.lock().get(&key) {
            return *ok && known.is_some();
        }
        let matched = {
            let _turn = self.one_at_a_time.lock().await;
            tokio::task::spawn_blocking(move || bcrypt::verify(pass, &hash).unwrap_or(false))
                .await
                .unwrap_or(false)
        };
        let ok = matched && known.is_some();
        let mut cache = self.lock();
        if cache.len() >= CACHE_MAX {
            cache.clear();
        }
        cache.insert(key, ok);
        ok
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], bool>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(user: &str, pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        )
    }

    #[tokio::test]
    async fn a_user_gets_in_with_the_password_of_the_hash_and_not_otherwise() {
        let users = BTreeMap::from([(
            "alice".to_string(),
            bcrypt::hash("s3cret", 4).expect("cost 4 is valid"),
        )]);
        let auth = BasicAuth::default();
        assert!(auth.check(&users, Some(&header("alice", "s3cret"))).await);
        // Cached, and still right.
        assert!(auth.check(&users, Some(&header("alice", "s3cret"))).await);
        assert!(!auth.check(&users, Some(&header("alice", "wrong"))).await);
        assert!(!auth.check(&users, Some(&header("bob", "s3cret"))).await);
        assert!(!auth.check(&users, Some("Bearer s3cret")).await);
        assert!(!auth.check(&users, None).await);
    }

    #[test]
    fn a_password_may_hold_colons() {
        assert_eq!(
            credentials(&header("u", "a:b")),
            Some(("u".to_string(), "a:b".to_string()))
        );
    }
}
