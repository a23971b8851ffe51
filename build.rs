//! Build identity for `flexus_build_info`: the git revision (when built from a checkout; a release
//! build may set `FLEXUS_REVISION` instead), the compiler's version and the target triple. Nothing
//! here uses the network; anything unknown becomes `unknown`.

use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=FLEXUS_REVISION");
    let revision = std::env::var("FLEXUS_REVISION")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .or_else(|| {
            // Rebuild when the checkout moves to another commit.
            for path in ["HEAD", "logs/HEAD"] {
                if let Some(p) = output("git", &["rev-parse", "--git-path", path]) {
                    println!("cargo:rerun-if-changed={p}");
                }
            }
            output("git", &["rev-parse", "--short=12", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    // "rustc 1.90.0 (1159e78c4 2025-09-14)" -> "1.90.0"
    let rustc_version = output(&rustc, &["--version"])
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=FLEXUS_REVISION={revision}");
    println!("cargo:rustc-env=FLEXUS_RUSTC_VERSION={rustc_version}");
    println!("cargo:rustc-env=FLEXUS_TARGET={target}");
}
