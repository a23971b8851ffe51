//! Per-channel rendering: the Telegram-HTML text of a message (as `messages::render` makes it)
//! turned into the markup each service understands, and cut into parts that fit its size limit.
//!
//! The HTML that `messages` produces uses only `<b>` and `<code>` (never across lines) and the
//! entities `&amp; &lt; &gt; &quot;`, so it is read back here as a list of lines of styled runs.
//! Splitting happens on line boundaries; a single line longer than the limit is sent as plain text
//! cut between characters (escaped one character at a time), so no part ever has a broken tag or
//! entity.

/// The markup a service takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Telegram `parse_mode: HTML`.
    TelegramHtml,
    /// Feishu card markdown: specials written as HTML numeric entities (`&#42;`).
    FeishuMarkdown,
    /// CommonMark-like markdown (DingTalk, WeCom, ServerChan, PushPlus): specials escaped with `\`.
    Markdown,
    /// No markup.
    Plain,
}

/// How a limit is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Unicode characters (Telegram).
    Chars,
    /// UTF-8 bytes (the Chinese services).
    Bytes,
}

/// A size limit of one message part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: usize,
    pub unit: Unit,
}

impl Limit {
    pub const fn chars(max: usize) -> Self {
        Self {
            max,
            unit: Unit::Chars,
        }
    }
    pub const fn bytes(max: usize) -> Self {
        Self {
            max,
            unit: Unit::Bytes,
        }
    }
    /// The size of `s` in this limit's unit.
    pub fn measure(&self, s: &str) -> usize {
        match self.unit {
            Unit::Chars => s.chars().count(),
            Unit::Bytes => s.len(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Bold,
    Code,
}

type Line = Vec<(Style, String)>;

/// Reads the HTML of `messages::render` back into lines of styled runs (entities decoded).
fn parse(html: &str) -> Vec<Line> {
    html.split('\n')
        .map(|line| {
            let mut runs: Line = Vec::new();
            let mut style = Style::Plain;
            let mut rest = line;
            while !rest.is_empty() {
                let (tag, next) = [
                    ("<b>", Style::Bold),
                    ("</b>", Style::Plain),
                    ("<code>", Style::Code),
                    ("</code>", Style::Plain),
                ]
                .iter()
                .find(|(t, _)| rest.starts_with(t))
                .map_or((None, style), |(t, s)| (Some(*t), *s));
                if let Some(t) = tag {
                    style = next;
                    rest = &rest[t.len()..];
                    continue;
                }
                let skip = rest.chars().next().map_or(0, char::len_utf8);
                let end = rest[skip..].find('<').map_or(rest.len(), |i| i + skip);
                let text = decode(&rest[..end]);
                match runs.last_mut() {
                    Some((s, t)) if *s == style => t.push_str(&text),
                    _ => runs.push((style, text)),
                }
                rest = &rest[end..];
            }
            runs
        })
        .collect()
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// Escapes one character of outside text for `format`.
fn escape_char(format: Format, c: char, out: &mut String) {
    match format {
        Format::TelegramHtml => match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        },
        Format::FeishuMarkdown => {
            if "*~><[]()#_`&\\|".contains(c) {
                out.push_str(&format!("&#{};", c as u32));
            } else {
                out.push(c);
            }
        }
        Format::Markdown => {
            if "\\`*_[]<>|~".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        Format::Plain => out.push(c),
    }
}

fn escape(format: Format, s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        escape_char(format, c, &mut out);
    }
    out
}

fn render_line(format: Format, line: &Line) -> String {
    let mut out = String::new();
    for (style, text) in line {
        if text.is_empty() {
            continue;
        }
        let body = escape(format, text);
        let (open, close) = match (format, style) {
            (_, Style::Plain) | (Format::Plain, _) => ("", ""),
            (Format::TelegramHtml, Style::Bold) => ("<b>", "</b>"),
            (Format::TelegramHtml, Style::Code) => ("<code>", "</code>"),
            (_, Style::Bold) => ("**", "**"),
            // Code spans would show the escapes literally; ids read fine as plain text.
            (_, Style::Code) => ("", ""),
        };
        out.push_str(open);
        out.push_str(&body);
        out.push_str(close);
    }
    out
}

/// The plain text of `html` (tags removed, entities decoded).
pub fn plain(html: &str) -> String {
    convert(html, Format::Plain)
}

/// The text of `html` in `format`, whole.
pub fn convert(html: &str, format: Format) -> String {
    parse(html)
        .iter()
        .map(|l| render_line(format, l))
        .collect::<Vec<_>>()
        .join(if format == Format::Markdown {
            // Two spaces keep markdown's line breaks.
            "  \n"
        } else {
            "\n"
        })
}

/// The text of `html` in `format`, cut into parts of at most `limit` each, on line boundaries
/// where possible; markup is never cut inside.
pub fn parts(html: &str, format: Format, limit: Limit) -> Vec<String> {
    let sep = if format == Format::Markdown {
        "  \n"
    } else {
        "\n"
    };
    let mut parts = Vec::new();
    let mut current = String::new();
    for line in parse(html) {
        let rendered = render_line(format, &line);
        let joined = if current.is_empty() {
            rendered.clone()
        } else {
            format!("{current}{sep}{rendered}")
        };
        if limit.measure(&joined) <= limit.max {
            current = joined;
            continue;
        }
        if !current.is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        if limit.measure(&rendered) <= limit.max {
            current = rendered;
            continue;
        }
        // One line longer than a whole part: plain text, cut between escaped characters.
        let text: String = line.iter().map(|(_, t)| t.as_str()).collect();
        for c in text.chars() {
            let mut unit = String::new();
            escape_char(format, c, &mut unit);
            if limit.measure(&current) + limit.measure(&unit) > limit.max && !current.is_empty() {
                parts.push(std::mem::take(&mut current));
            }
            current.push_str(&unit);
        }
    }
    if !current.trim().is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
}

/// The first line of `html` as plain text, cut to `max` characters (titles).
pub fn title(html: &str, max: usize) -> String {
    let first = plain(html).lines().next().unwrap_or_default().to_string();
    let t = first.trim();
    if t.chars().count() <= max {
        t.to_string()
    } else {
        let mut s: String = t.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTML: &str = "‼️ <b>Free traffic</b>\nServer: <b>my_server*1 &lt;b&gt;</b>\nPackage: x (<code>id_1</code>)";

    #[test]
    fn each_format_keeps_the_words_and_escapes_outside_text() {
        assert_eq!(
            convert(HTML, Format::Plain),
            "‼️ Free traffic\nServer: my_server*1 <b>\nPackage: x (id_1)"
        );
        assert_eq!(convert(HTML, Format::TelegramHtml), HTML);
        let md = convert(HTML, Format::Markdown);
        assert!(md.contains("**my\\_server\\*1 \\<b\\>**"), "{md}");
        assert!(md.contains("  \n"), "{md}");
        let fs = convert(HTML, Format::FeishuMarkdown);
        assert!(fs.contains("**my&#95;server&#42;1 &#60;b&#62;**"), "{fs}");
        assert!(!fs.contains("<b>"), "{fs}");
    }

    #[test]
    fn parts_fit_the_limit_and_never_cut_markup() {
        let line = "<b>bold &amp; é</b> tail".to_string();
        let html = vec![line; 300].join("\n");
        for (format, limit) in [
            (Format::TelegramHtml, Limit::chars(4096)),
            (Format::Markdown, Limit::bytes(4096)),
            (Format::FeishuMarkdown, Limit::bytes(2000)),
            (Format::Plain, Limit::bytes(1000)),
        ] {
            let ps = parts(&html, format, limit);
            assert!(ps.len() > 1, "{format:?}");
            for p in &ps {
                assert!(limit.measure(p) <= limit.max, "{format:?}");
                // Every part is well formed on its own: whole lines only.
                assert_eq!(p.matches("**").count() % 2, 0, "{format:?}: {p}");
                assert_eq!(p.matches("<b>").count(), p.matches("</b>").count());
            }
            let words: usize = ps
                .iter()
                .map(|p| plain_of(format, p).matches("tail").count())
                .sum();
            assert_eq!(words, 300, "{format:?}");
        }
    }

    fn plain_of(format: Format, s: &str) -> String {
        match format {
            Format::TelegramHtml => plain(s),
            _ => s.to_string(),
        }
    }

    #[test]
    fn an_overlong_line_is_cut_between_escaped_characters() {
        let html = format!("<b>{}</b>", "&amp;".repeat(3000));
        let ps = parts(&html, Format::TelegramHtml, Limit::chars(4096));
        assert!(ps.len() >= 3, "{}", ps.len());
        for p in &ps {
            assert!(p.chars().count() <= 4096);
            assert_eq!(p.replace("&amp;", ""), "", "a cut entity");
        }
        let ps = parts(&html, Format::Markdown, Limit::bytes(101));
        assert!(ps.iter().all(|p| p.len() <= 101 && !p.ends_with('\\')));
    }

    #[test]
    fn titles_are_the_first_line_cut_to_size() {
        assert_eq!(title(HTML, 32), "‼️ Free traffic");
        assert_eq!(title("<b>abcdefgh</b>", 5), "abcd…");
    }
}
