//! Local fakes of the services the program talks to. Each runs on a loopback port started by
//! [`serve`]; the Huawei gateway fakes (BSS, ECS/RMS) check every request's signature with the
//! program's own verifying extractor, `huawei::gateway::Signed`, keyed by [`TestKeys`] — the same
//! extractor the demo's fake cloud uses. The SMTP server ([`smtp`]) is a TCP server of its own.

pub mod bss;
pub mod ces;
pub mod channels;
pub mod cloud;
pub mod smtp;
pub mod telegram;

use std::net::SocketAddr;

use axum::Router;
use flexus_traffic_monitor::huawei::gateway::GatewayKeys;

/// The access key every fake gateway accepts.
pub const AK: &str = "test-ak";
/// The secret key every fake gateway accepts.
pub const SK: &str = "test-sk";

/// The key pair every fake gateway accepts.
pub struct TestKeys;

impl GatewayKeys for TestKeys {
    const ACCESS_KEY: &'static str = AK;
    const SECRET_KEY: &'static str = SK;
}

/// The access and secret key of a second account (its fake gateway accepts only these).
pub const AK2: &str = "intl-ak-2";
pub const SK2: &str = "intl-sk-secret-2";

/// The key pair of the second account.
pub struct OtherKeys;

impl GatewayKeys for OtherKeys {
    const ACCESS_KEY: &'static str = AK2;
    const SECRET_KEY: &'static str = SK2;
}

/// A fake BSS and a fake Telegram, the pair most tests start with.
pub async fn bss_and_telegram() -> (bss::FakeBss, telegram::FakeTelegram) {
    (
        bss::FakeBss::start().await,
        telegram::FakeTelegram::start().await,
    )
}

/// Serves `router` on a fresh loopback port in the background and returns its address.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}
