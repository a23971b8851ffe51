//! The language checker: finds English prose left in a Chinese text, and Chinese in an English
//! one. The unit tests run it on every message ([`super::lang_check`]); the integration tests on
//! what every command and the installer print, in both languages.

use super::to_plain;

/// Names of products and programs that stay as they are in Chinese text.
const NAMES: &[&str] = &[
    "Huawei Cloud",
    "Flexus L",
    "Cloud Eye",
    "Flexus",
    "Prometheus",
    "Alertmanager",
    "Telegram",
    "flexus-traffic-monitor",
    "nftables",
    "iptables",
    "sudo",
];

/// Removes every `open … close` span (the markers too).
pub fn without_spans(s: &str, open: &str, close: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find(open) {
        out.push_str(&rest[..start]);
        match rest[start + open.len()..].find(close) {
            Some(end) => rest = &rest[start + open.len() + end + close.len()..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A word of English prose: letters only, not all capitals (codes, variable names and units are
/// capitals), and not a lone letter.
fn is_english_word(token: &str) -> bool {
    let t = token.trim_matches(|c: char| "()[]{},.;:!?\"'`".contains(c));
    t.len() >= 2
        && t.chars().all(|c| c.is_ascii_alphabetic())
        && !t.chars().all(|c| c.is_ascii_uppercase())
}

/// The runs of two or more English words left in a Chinese rendering (HTML) once code spans
/// (`<code>…</code>`, and `` `…` `` in what commands print), quoted outside text (`「…」`) and
/// product names are taken out. Two words belong to one run
/// when only ASCII spaces and ASCII punctuation stand between them.
pub fn english_runs(html_text: &str) -> Vec<String> {
    let text = without_spans(html_text, "<code>", "</code>");
    let text = without_spans(&text, "`", "`");
    let mut text = without_spans(&to_plain(&text), "「", "」");
    for name in NAMES {
        text = text.replace(name, "·");
    }
    let mut runs = Vec::new();
    let mut run: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut gap_breaks = false;
    let flush = |run: &mut Vec<String>, runs: &mut Vec<String>| {
        if run.len() >= 2 {
            runs.push(run.join(" "));
        }
        run.clear();
    };
    for c in text.chars().chain([' ']) {
        let word_char = c.is_ascii_alphanumeric() || "_-./=@*$~%+#".contains(c);
        if word_char {
            if gap_breaks {
                flush(&mut run, &mut runs);
                gap_breaks = false;
            }
            token.push(c);
            continue;
        }
        if !token.is_empty() {
            if is_english_word(&token) {
                run.push(std::mem::take(&mut token));
            } else {
                flush(&mut run, &mut runs);
                token.clear();
            }
        }
        if !(c == ' ' || (c.is_ascii_punctuation() && c != '\n')) {
            gap_breaks = true;
        }
    }
    flush(&mut run, &mut runs);
    runs
}

pub use super::describe::has_cjk;
