//! What is in force and what happens next, told alike by the level-1 message, the status page and
//! `/api/v1/status`; and `lift` run while the service runs: the service learns of it through
//! `STATE_DIR`, stops listing the lifted action, tells the owner, and does not put it back after a
//! restart while the level lasts. The real binary, under `DRY_RUN` (the actions are recorded and
//! printed, nothing on this machine is changed).

use std::time::Duration;

use crate::helpers::process::{run, serve_ready, stop, wait_for_message};
use crate::helpers::{app_env, bss_and_telegram, get_json, get_text, ID};

async fn status(base: &str) -> serde_json::Value {
    get_json(&format!("{base}/api/v1/status")).await
}

fn active(st: &serde_json::Value) -> Vec<String> {
    st["alerting"]["actions"]["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}@{}",
                a["action"].as_str().unwrap(),
                a["level"].as_str().unwrap()
            )
        })
        .collect()
}

/// Waits (10 s at most) until the actions in force are `want`.
async fn wait_active(base: &str, want: &[&str]) -> serde_json::Value {
    for _ in 0..100 {
        let st = status(base).await;
        if active(&st) == want {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let st = status(base).await;
    panic!(
        "actions in force are {:?}, not {want:?}: {st:#}",
        active(&st)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_only_the_fence_every_surface_tells_it_and_a_lift_while_serving_holds() {
    let (bss, tg) = bss_and_telegram().await;
    bss.set_gb(ID, 3.0, 100.0); // below level 1 (5 GB)
    let env = app_env(
        &bss,
        &tg,
        &[
            ("LEVEL1_ACTIONS", "fence"),
            ("SHUTDOWN_MODE", "command"),
            ("DRY_RUN", "true"),
            ("FALLBACK", "always"),
            ("POLL_INTERVAL", "1s"),
            ("MESSAGE_LANG", "en"),
        ],
    );
    let (child, base) = serve_ready(&env).await;

    // The level-1 alert names what acts and why nothing shuts down.
    wait_for_message(&tg, "Free traffic almost used up").await;
    let alert = tg
        .texts()
        .into_iter()
        .find(|t| t.contains("Free traffic almost used up"))
        .unwrap();
    assert!(
        alert.contains(
            "In force: fence. No automatic shutdown (shutdown is not in LEVEL1_ACTIONS)."
        ),
        "{alert}"
    );
    assert!(!alert.contains("SHUTDOWN_MODE=off"), "{alert}");
    // Level 1 is named by what it does here, not "(shutdown)".
    assert!(
        alert.contains("Level: level 1 (fence)") && !alert.contains("level 1 (shutdown)"),
        "{alert}"
    );

    // The status and the page tell the same story.
    let st = wait_active(&base, &["fence@1"]).await;
    assert_eq!(
        st["alerting"]["shutdown"]["at_level_1"]["no_shutdown"], "not_in_level1_actions",
        "{st:#}"
    );
    let page = get_text(&format!("{base}/")).await;
    assert!(!page.contains("shuts down if confirmed"), "{page}");
    assert!(
        page.contains("Below level 1: fence in force; no automatic shutdown (shutdown is not in LEVEL1_ACTIONS)."),
        "{page}"
    );
    assert!(
        page.contains("In force on this server: fence (level 1"),
        "{page}"
    );

    // `lift` while the service runs: learnt, no longer listed, told to the owner.
    let out = run(&env, &["lift"]).await;
    let said = crate::helpers::process::output_text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("the running service recorded the lift"),
        "{said}"
    );
    let st = wait_active(&base, &[]).await;
    assert_eq!(
        st["alerting"]["actions"]["lifted_by_hand"],
        serde_json::json!(["fence@1"]),
        "{st:#}"
    );
    wait_for_message(
        &tg,
        "They stay off until the package's level has recovered once",
    )
    .await;
    let page = get_text(&format!("{base}/")).await;
    assert!(
        page.contains("Lifted by hand (flexus-traffic-monitor lift): fence (level 1)"),
        "{page}"
    );
    stop(child).await;

    // A restart at level 1 does not put it back.
    let (child, base) = serve_ready(&env).await;
    for _ in 0..30 {
        if status(&base).await["bss"]["polls"].as_u64().unwrap_or(0) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let st = status(&base).await;
    assert!(st["bss"]["polls"].as_u64().unwrap_or(0) >= 2, "{st:#}");
    assert_eq!(active(&st), Vec::<String>::new(), "{st:#}");
    stop(child).await;
}
