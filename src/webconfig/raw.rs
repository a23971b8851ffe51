//! The web configuration file as written: exporter-toolkit's YAML keys, nothing checked yet
//! beyond their types. Unknown keys are errors (`deny_unknown_fields`), as exporter-toolkit's
//! `yaml.UnmarshalStrict` makes them.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    pub tls_server_config: Option<RawTls>,
    pub http_server_config: Option<RawHttp>,
    #[serde(default, deserialize_with = "unique")]
    pub basic_auth_users: Option<BTreeMap<String, String>>,
    /// Known to exporter-toolkit; refused here with a reason (see [`super::parse`]).
    pub rate_limit: Option<serde_norway::Value>,
}

/// `tls_server_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert: Option<String>,
    pub key: Option<String>,
    pub client_ca: Option<String>,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub client_auth_type: Option<String>,
    pub client_ca_file: Option<String>,
    pub client_allowed_sans: Option<Vec<String>>,
    pub min_version: Option<String>,
    pub max_version: Option<String>,
    pub cipher_suites: Option<Vec<String>>,
    pub prefer_server_cipher_suites: Option<bool>,
    pub curve_preferences: Option<Vec<String>>,
}

impl RawTls {
    /// Whether any key that turns TLS on is set (exporter-toolkit's `TLSConfig.IsEnabled`): an
    /// empty `tls_server_config` means plain HTTP.
    pub fn is_enabled(&self) -> bool {
        [
            &self.cert,
            &self.key,
            &self.client_ca,
            &self.cert_file,
            &self.key_file,
            &self.client_auth_type,
            &self.client_ca_file,
        ]
        .iter()
        .any(|v| v.as_deref().is_some_and(|s| !s.is_empty()))
    }
}

/// `http_server_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub http2: Option<bool>,
    #[serde(default, deserialize_with = "unique")]
    pub headers: Option<BTreeMap<String, String>>,
}

/// A mapping of strings in which a key may appear once (Go's `yaml.UnmarshalStrict` refuses a
/// repeated key; a map would silently keep the last).
fn unique<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a mapping of names to strings")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some((k, v)) = a.next_entry::<String, String>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!("{k:?} appears twice")));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique).map(Some)
}
