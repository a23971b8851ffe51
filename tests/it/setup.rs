//! A newcomer's path through the binary: the original script's `.env`, `config`, signals.

use crate::binary::command;
use crate::helpers::state_dir;

/// The original script's `.env`, with values python-dotenv accepts unquoted.
const OLD_ENV: &str = "\u{feff}# migrated from the Python script\r\n\
HUAWEICLOUD_SDK_AK=test-ak\r\n\
export HUAWEICLOUD_SDK_SK='test-sk'\r\n\
FREE_RESOURCE_IDS=a1, b2   # two packages\r\n\
SERVER_NAME=华为 新加坡\r\n\
THRESHOLD_LEVEL_1 = 150\r\n";

#[test]
fn the_original_scripts_env_file_loads_as_python_dotenv_read_it() {
    let dir = state_dir("old-env");
    std::fs::write(dir.join(".env"), OLD_ENV).unwrap();
    let out = command(&[])
        .current_dir(&dir)
        .args(["config"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("SERVER_NAME=华为 新加坡"), "{text}\n{err}");
    assert!(text.contains("FREE_RESOURCE_IDS=a1,b2"), "{text}\n{err}");
    assert!(text.contains("THRESHOLD_LEVEL_1=150 GB"), "{text}\n{err}");
    assert!(text.contains("HUAWEICLOUD_SDK_SK=[redacted]"), "{text}");
}

#[test]
fn an_unreadable_env_line_names_its_line_and_how_to_quote_it() {
    let dir = state_dir("bad-env");
    std::fs::write(
        dir.join(".env"),
        "HUAWEICLOUD_SDK_AK=test-ak\n\nHUAWEICLOUD_SDK_SK=\"top-secret\" extra\n",
    )
    .unwrap();
    let out = command(&[])
        .current_dir(&dir)
        .arg("config")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3 (HUAWEICLOUD_SDK_SK)"), "{err}");
    assert!(err.contains("HUAWEICLOUD_SDK_SK='value"), "{err}");
    assert!(!err.contains("top-secret"), "{err}");
}
