//! The email channel against a local SMTP server: the message as a mail client sees it (headers,
//! subject, plain and HTML bodies) in both languages, STARTTLS before the login, transient replies
//! retried into one delivery, a refused login, sender or recipient kept and reported without the
//! password, a message refused after DATA parked instead of retried forever, one delivery when the
//! server stalls after accepting, and a hanging server that delays no other channel.

use std::time::Duration;

use crate::helpers::fakes::channels::{FakeChannels, SERVICES};
use crate::helpers::fakes::smtp::{FakeSmtp, Stage, FROM, TO};
use crate::helpers::process::run;
use crate::helpers::{base_env, notifications, numbered_alert, state_dir, FakeBss, TestApp};

const ID: &str = "pkg-1";

fn env_with(bss: &FakeBss, smtp: &FakeSmtp, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = base_env(bss, &[ID]);
    env.extend(smtp.env());
    env.push(("MESSAGE_LANG".into(), "en".into()));
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// The password in every form it takes on the wire must appear nowhere.
fn assert_no_password(text: &str, password: &str) {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for form in [
        password.to_string(),
        b64(password),
        b64(&format!("\0{FROM}\0{password}")),
    ] {
        assert!(!text.contains(&form), "{form} leaked in: {text}");
    }
}

#[tokio::test]
async fn an_alert_arrives_as_a_proper_email_in_both_languages() {
    for (lang, subject, title, level) in [
        ("zh", "【3 级】", "流量告警（普通）", "级别：3 级"),
        (
            "en",
            "[Level 3] ",
            "Traffic alert (normal)",
            "Level: level 3",
        ),
    ] {
        let bss = FakeBss::start().await;
        let smtp = FakeSmtp::start().await;
        bss.set_gb(ID, 15.0, 100.0);
        let env = env_with(
            &bss,
            &smtp,
            &[("MESSAGE_LANG", lang), ("SERVER_NAME", "web <1> & co")],
        );
        let app = TestApp::spawn(&env).await;
        app.poll_and_evaluate().await;
        assert_eq!(smtp.violations(), Vec::<String>::new());
        let mails = smtp.mails();
        assert_eq!(mails.len(), 1, "{lang}: {mails:#?}");
        let m = &mails[0];
        // Envelope and headers.
        assert_eq!(m.mail_from, FROM);
        assert_eq!(m.rcpt_to, TO);
        assert_eq!(m.header("From"), Some(FROM));
        let to = m.header("To").unwrap();
        assert!(TO.iter().all(|a| to.contains(a)), "{to}");
        assert!(
            m.subject.starts_with(subject)
                && m.subject.contains(title)
                && m.subject.ends_with(" - web <1> & co"),
            "{lang}: {}",
            m.subject
        );
        let date = chrono::DateTime::parse_from_rfc2822(m.header("Date").unwrap()).unwrap();
        assert!((chrono::Utc::now() - date.to_utc()).num_seconds().abs() < 60);
        let id = m.header("Message-ID").unwrap();
        assert!(
            id.starts_with("<flexus.1-") && id.ends_with("@example.com>"),
            "{id}"
        );
        assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"));
        assert_eq!(m.header("MIME-Version"), Some("1.0"));
        // Bodies: plain text without markup, HTML with it (the server name escaped).
        assert!(
            m.text.contains("15.00 GB") && m.text.contains(level),
            "{}",
            m.text
        );
        assert!(
            m.text.contains("web <1> & co") && !m.text.contains("<b>"),
            "{}",
            m.text
        );
        let html = m.html.as_deref().unwrap();
        assert!(
            html.contains("<b>web &lt;1&gt; &amp; co</b>") && html.contains("<br>"),
            "{html}"
        );
        // Counted as the other channels are.
        let st = app.status().await;
        assert_eq!(st["alerting"]["channels"]["email"]["pending"], 0, "{st}");
        let metrics = app.scrape().await;
        assert_eq!(notifications(&metrics, "email", "sent"), Some(1.0));
    }
}

#[tokio::test]
async fn starttls_comes_before_the_login_and_the_certificate_is_checked() {
    let bss = FakeBss::start().await;
    let smtp = FakeSmtp::start_tls(&state_dir("smtp-tls")).await;
    let env = env_with(&bss, &smtp, &[]);
    let app = TestApp::spawn(&env).await;
    app.notifier.enqueue(&numbered_alert(1)).unwrap();
    app.notifier.flush(Duration::from_secs(10)).await;
    assert_eq!(smtp.violations(), Vec::<String>::new());
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls, "sent over the encrypted connection");
    assert!(mails[0].text.contains("Alert1"));
    app.stop().await;

    // Without the CA the certificate is not trusted: nothing is sent, not even the login.
    let untrusted: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "SMTP_CA_FILE")
        .cloned()
        .collect();
    let app = TestApp::spawn(&untrusted).await;
    app.notifier.enqueue(&numbered_alert(2)).unwrap();
    app.notifier.flush(Duration::from_secs(3)).await;
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(
        app.notifier.pending(),
        1,
        "kept until the certificate is trusted"
    );
    let why = app.notifier.outbox_view().last_error.unwrap_or_default();
    assert!(
        why.starts_with("email: ") && why.contains("SMTP_CA_FILE") && why.contains("certificate"),
        "{why}"
    );
}

#[tokio::test]
async fn starttls_required_sends_nothing_to_a_server_without_it() {
    let bss = FakeBss::start().await;
    // A server that offers no STARTTLS (as a downgrading middlebox would make it look).
    let smtp = FakeSmtp::start().await;
    let app = TestApp::spawn(&env_with(&bss, &smtp, &[("SMTP_TLS", "starttls")])).await;
    app.notifier.enqueue(&numbered_alert(1)).unwrap();
    app.notifier.flush(Duration::from_secs(3)).await;
    assert_eq!(smtp.logins(), 0, "no login in clear text");
    assert_eq!(smtp.attempts(), 0, "no message in clear text");
    assert_eq!(app.notifier.pending(), 1, "kept until the setting is fixed");
    let why = app.notifier.outbox_view().last_error.unwrap_or_default();
    assert!(
        why.contains("STARTTLS") && why.contains("SMTP_TLS"),
        "{why}"
    );
}

#[tokio::test]
async fn a_transient_failure_is_retried_and_delivered_once() {
    let bss = FakeBss::start().await;
    let smtp = FakeSmtp::start().await;
    smtp.fail(Stage::Greeting, 421, "4.3.2 Service not available, closing");
    smtp.fail(Stage::Data, 451, "4.3.0 Temporary local problem, try later");
    let app = TestApp::spawn(&env_with(&bss, &smtp, &[])).await;
    app.notifier.enqueue(&numbered_alert(1)).unwrap();
    app.notifier.flush(Duration::from_secs(15)).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(app.notifier.pending(), 0);
    // The failed DATA and the accepted one carry the same Message-ID: a copy sent twice is
    // recognisable as one message.
    let ids = smtp.message_ids();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], ids[1]);
    assert_eq!(mails[0].header("Message-ID"), Some(ids[0].as_str()));
    let m = app.scrape().await;
    assert_eq!(notifications(&m, "email", "retry"), Some(2.0));
    assert_eq!(smtp.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_refused_login_keeps_the_messages_and_never_shows_the_password() {
    let bss = FakeBss::start().await;
    let smtp = FakeSmtp::start().await;
    let wrong = "wrong-pa55word-987654";
    let env = env_with(&bss, &smtp, &[]);
    let mut wrong_env = env.clone();
    wrong_env.push(("SMTP_PASSWORD".into(), wrong.into()));
    let app = TestApp::spawn(&wrong_env).await;
    app.notifier.enqueue(&numbered_alert(1)).unwrap();
    app.notifier.flush(Duration::from_secs(3)).await;
    assert!(smtp.logins_refused() >= 1);
    assert!(smtp.mails().is_empty());
    let st = app.status().await;
    assert_eq!(st["alerting"]["channels"]["email"]["pending"], 1, "{st}");
    assert_eq!(st["alerting"]["channels"]["email"]["dead"], 0, "{st}");
    let why = app.notifier.outbox_view().last_error.unwrap_or_default();
    assert!(
        why.contains("535") && why.contains("SMTP_PASSWORD"),
        "the login is named as the thing to fix: {why}"
    );
    assert!(
        why.contains("[redacted]"),
        "the server's echo is scrubbed: {why}"
    );
    assert_no_password(&why, wrong);
    assert_no_password(&st.to_string(), wrong);
    assert_no_password(&app.scrape().await, wrong);
    app.stop().await;
    // With the right password the kept message goes out, once.
    let app = TestApp::spawn(&env).await;
    app.notifier.flush(Duration::from_secs(10)).await;
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(app.notifier.pending(), 0);
}

#[tokio::test]
async fn a_refused_message_is_parked_not_retried_forever() {
    let bss = FakeBss::start().await;
    let smtp = FakeSmtp::start().await;
    // Refused after the whole message was read: this message, not a setting.
    smtp.fail(Stage::Data, 550, "5.7.1 Message rejected as spam");
    let app = TestApp::spawn(&env_with(&bss, &smtp, &[])).await;
    app.notifier.enqueue(&numbered_alert(1)).unwrap();
    app.notifier.enqueue(&numbered_alert(2)).unwrap();
    app.notifier.flush(Duration::from_secs(10)).await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("Alert2"), "the next message goes on");
    assert_eq!(smtp.attempts(), 2, "the refused one was tried once");
    let st = app.status().await;
    assert_eq!(st["alerting"]["channels"]["email"]["dead"], 1, "{st}");
    assert_eq!(st["alerting"]["channels"]["email"]["pending"], 0, "{st}");
    let m = app.scrape().await;
    assert_eq!(notifications(&m, "email", "failed"), Some(1.0));
}

#[tokio::test]
async fn a_refused_sender_or_recipient_keeps_the_message_until_fixed() {
    for (stage, code, text, names) in [
        (
            Stage::Mail,
            553,
            "Mail from must equal authorized user",
            &["SMTP_FROM", "SMTP_USERNAME"][..],
        ),
        (
            Stage::Rcpt,
            550,
            "5.1.1 <owner@example.com>: Recipient address rejected: User unknown",
            &["SMTP_TO"][..],
        ),
    ] {
        let bss = FakeBss::start().await;
        let smtp = FakeSmtp::start().await;
        smtp.fail(stage, code, text);
        let env = env_with(&bss, &smtp, &[]);
        let app = TestApp::spawn(&env).await;
        app.notifier.enqueue(&numbered_alert(1)).unwrap();
        app.notifier.flush(Duration::from_secs(3)).await;
        assert!(smtp.mails().is_empty());
        let st = app.status().await;
        assert_eq!(
            st["alerting"]["channels"]["email"]["dead"], 0,
            "{stage:?}: {st}"
        );
        assert_eq!(
            st["alerting"]["channels"]["email"]["pending"], 1,
            "{stage:?}: {st}"
        );
        let why = app.notifier.outbox_view().last_error.unwrap_or_default();
        assert!(
            why.contains(&code.to_string()) && names.iter().all(|n| why.contains(n)),
            "{stage:?}: the setting is named: {why}"
        );
        app.stop().await;
        // Once the setting is right (here: the server accepts), the kept message goes out once.
        let app = TestApp::spawn(&env).await;
        app.notifier.flush(Duration::from_secs(10)).await;
        assert_eq!(smtp.mails().len(), 1, "{stage:?}");
        assert_eq!(app.notifier.pending(), 0, "{stage:?}");
        assert_eq!(smtp.violations(), Vec::<String>::new());
    }
}

#[tokio::test]
async fn a_server_stalling_after_accepting_gets_the_message_once() {
    let bss = FakeBss::start().await;
    let smtp = FakeSmtp::start().await;
    smtp.set_hang_on_quit(true);
    let app = TestApp::spawn(&env_with(&bss, &smtp, &[("SMTP_TIMEOUT", "1s")])).await;
    app.notifier.enqueue(&numbered_alert(1)).unwrap();
    app.notifier.flush(Duration::from_secs(10)).await;
    assert_eq!(
        smtp.message_ids().len(),
        1,
        "sent once: {:?}",
        smtp.message_ids()
    );
    assert_eq!(smtp.mails().len(), 1);
    assert_eq!(app.notifier.pending(), 0);
    assert_eq!(app.notifier.outbox_view().last_error, None);
    let m = app.scrape().await;
    assert_eq!(notifications(&m, "email", "sent"), Some(1.0));
    assert_eq!(notifications(&m, "email", "retry"), None);
}

#[tokio::test]
async fn a_hanging_mail_server_delays_no_other_channel() {
    let bss = FakeBss::start().await;
    let smtp = FakeSmtp::start().await;
    let ch = FakeChannels::start().await;
    smtp.set_hang(true);
    let mut env = env_with(&bss, &smtp, &[("SMTP_TIMEOUT", "60s")]);
    env.extend(ch.env());
    let app = TestApp::spawn(&env).await;
    for i in 0..2 {
        app.notifier.enqueue(&numbered_alert(i)).unwrap();
    }
    // Well inside one SMTP timeout: the other channels cannot be waiting for email.
    app.notifier.flush(Duration::from_secs(10)).await;
    for service in SERVICES {
        assert_eq!(ch.received(service).len(), 2, "{service}");
    }
    assert!(smtp.mails().is_empty());
    assert_eq!(
        app.status().await["alerting"]["channels"]["email"]["pending"],
        2
    );
    // The server answers again (also on the connection that was waiting): both messages, in
    // order, once each.
    smtp.set_hang(false);
    app.notifier.flush(Duration::from_secs(30)).await;
    let texts: Vec<String> = smtp.mails().into_iter().map(|m| m.text).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(texts[0].contains("Alert0") && texts[1].contains("Alert1"));
    assert_eq!(app.notifier.outbox_view().last_error, None);
}

#[tokio::test]
async fn notify_test_prints_the_mail_servers_answer() {
    let bss = FakeBss::start().await;
    let smtp = FakeSmtp::start_tls(&state_dir("smtp-notify-test")).await;
    let env = env_with(&bss, &smtp, &[]);
    let out = run(&env, &["notify-test"]).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("[email] answered SMTP 250:\n2.0.0 Ok: queued")
            && text.contains("[email] ok"),
        "{text}"
    );
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].tls && mails[0].text.contains("test message"),
        "{:?}",
        mails[0]
    );
    assert!(mails[0]
        .header("Message-ID")
        .unwrap()
        .starts_with("<flexus.notify-test-"));

    let wrong = "wrong-pa55word-987654";
    let mut wrong_env = env.clone();
    wrong_env.push(("SMTP_PASSWORD".into(), wrong.into()));
    let out = run(&wrong_env, &["notify-test"]).await;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
    assert!(
        text.contains("[email] answered SMTP 535:")
            && text.contains("[email] not delivered")
            && text.contains("SMTP_PASSWORD"),
        "{text}"
    );
    assert_no_password(&text, wrong);
    assert_no_password(&err, wrong);
    assert_eq!(smtp.violations(), Vec::<String>::new());
}
