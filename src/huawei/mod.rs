//! Huawei Cloud: the request signer, the signed HTTP transport, the BSS client and its wire types.
//!
//! There is no Huawei SDK for Rust, so the HTTP APIs are called directly. Pure parts (signing,
//! error classification, answer validation) are kept apart from the client that does I/O.

pub mod bss;
pub mod ces;
pub mod ecs;
pub mod error;
pub mod gateway;
pub mod rms;
pub mod signer;
pub mod transport;
pub mod wire;

use serde::Serialize;

pub use error::HuaweiError;

/// The Huawei Cloud site an account belongs to; it decides the BSS endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Site {
    Cn,
    Intl,
    Eu,
}

impl std::str::FromStr for Site {
    /// How to write a known site.
    type Err = &'static str;

    /// Parses `HUAWEICLOUD_SITE`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cn" | "china" => Ok(Self::Cn),
            "intl" | "international" => Ok(Self::Intl),
            "eu" | "europe" => Ok(Self::Eu),
            _ => Err("use cn (China), intl (international) or eu (Europe)"),
        }
    }
}

impl Site {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cn => "cn",
            Self::Intl => "intl",
            Self::Eu => "eu",
        }
    }

    /// The site's BSS endpoint.
    pub fn bss_endpoint(self) -> &'static str {
        match self {
            Self::Cn => "https://bss.myhuaweicloud.com",
            Self::Intl => "https://bss-intl.myhuaweicloud.com",
            Self::Eu => "https://bss.myhuaweicloud.eu",
        }
    }

    pub fn other_sites_hint(self) -> &'static str {
        match self {
            Self::Cn => "intl (huaweicloud.com/intl accounts) or eu (Europe)",
            Self::Intl => "cn (China site accounts) or eu (Europe)",
            Self::Eu => "cn (China site accounts) or intl (huaweicloud.com/intl accounts)",
        }
    }
}
