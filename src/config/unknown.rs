//! Variables that look like ours but are not: a typo such as `THRESHOLD_LEVLE_1=100` would
//! otherwise be ignored in silence and the default used.
//!
//! A name is suspicious when it starts with one of our prefixes (taken from the variable table,
//! without generic ones like `HTTP_` that other programs use) or is a small edit away from a name
//! in the table; the warning suggests the closest name. Pure: the caller passes the names.

use super::vars::{SYSTEMD_STATE_DIRECTORY, VARS};

/// First words of our names that other software uses too; a name starting with them is not
/// suspicious by its prefix alone (`HTTP_PROXY`, `SERVER_SOFTWARE`, `STATE_DIRECTORY`...).
const SHARED_PREFIXES: &[&str] = &[
    "HTTP", "HTTPS", "STATE", "SERVER", "DEBUG", "DRY", "LISTEN", "DAILY", "READING", "MESSAGE",
    "FREE", "AUTO", "LOG", "NO",
];

/// Variables of other software that share a prefix with ours.
const NOT_OURS: &[&str] = &["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"];

/// Warnings for the names in `names` that look like ours but are not in the variable table.
pub fn unknown_variables<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    unknown_variables_in(names, crate::messages::Lang::En)
}

/// [`unknown_variables`], in `lang`.
pub fn unknown_variables_in<'a>(
    names: impl IntoIterator<Item = &'a str>,
    lang: crate::messages::Lang,
) -> Vec<String> {
    let zh = lang == crate::messages::Lang::Zh;
    let mut out: Vec<String> = names
        .into_iter()
        .filter(|n| looks_like_ours(n))
        .map(|n| match (closest(n), zh) {
            (Some(known), false) => format!(
                "{n} is not a variable this program reads (it is ignored); did you mean {known}?"
            ),
            (None, false) => format!(
                "{n} is not a variable this program reads (it is ignored); `flexus-traffic-monitor --help` lists them all"
            ),
            (Some(known), true) => format!("{n} 不是本程序读取的变量（会被忽略）；是不是想写 {known}？"),
            (None, true) => format!(
                "{n} 不是本程序读取的变量（会被忽略）；`flexus-traffic-monitor --help` 列出了全部变量"
            ),
        })
        .collect();
    out.sort();
    out
}

fn known(name: &str) -> bool {
    name == SYSTEMD_STATE_DIRECTORY
        || NOT_OURS.contains(&name)
        || VARS.iter().any(|v| v.name == name)
}

fn looks_like_ours(name: &str) -> bool {
    if known(name) {
        return false;
    }
    let first = name.split('_').next().unwrap_or_default();
    let by_prefix = name.contains('_')
        && !SHARED_PREFIXES.contains(&first)
        && VARS
            .iter()
            .any(|v| v.name.split('_').next() == Some(first) && v.name.contains('_'));
    by_prefix || closest(name).is_some()
}

/// The known name nearest to `name`, if it is near enough to be a typo of it.
fn closest(name: &str) -> Option<&'static str> {
    let upper = name.to_ascii_uppercase();
    VARS.iter()
        .map(|v| (distance(&upper, v.name), v.name))
        .filter(|(d, known)| *d <= (known.len() / 5).clamp(1, 3))
        .min()
        .map(|(_, known)| known)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbours (`LEVLE` → `LEVEL` is one edit).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_of_a_known_name_gets_a_suggestion() {
        let w = unknown_variables(["THRESHOLD_LEVLE_1", "PATH", "HOME"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("did you mean THRESHOLD_LEVEL_1?"), "{w:?}");
        let w = unknown_variables(["TELEGRAM_CHATID", "SHUTDOWN_DELAI", "POLL_INTERVALL"]);
        assert!(w[0].contains("did you mean POLL_INTERVAL"), "{w:?}");
        assert!(w[1].contains("did you mean SHUTDOWN_DELAY"), "{w:?}");
        assert!(w[2].contains("did you mean TELEGRAM_CHAT_ID"), "{w:?}");
        // Lower case, as some people write them.
        assert!(unknown_variables(["server_name"])[0].contains("did you mean SERVER_NAME"));
    }

    #[test]
    fn our_prefix_without_a_near_name_still_warns() {
        let w = unknown_variables(["HUAWEICLOUD_SECRET_KEY_OLD"]);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("--help"), "{w:?}");
    }

    #[test]
    fn known_and_foreign_variables_are_quiet() {
        let quiet = [
            "HUAWEICLOUD_SDK_AK",
            "THRESHOLD_LEVEL_1",
            "STATE_DIRECTORY",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "NO_PROXY",
            "SERVER_SOFTWARE",
            "PATH",
            "HOME",
            "RUST_LOG",
            "LANG",
            "INVOCATION_ID",
            "DEBUG",
            "TERM",
        ];
        assert_eq!(unknown_variables(quiet), Vec::<String>::new());
    }
}
