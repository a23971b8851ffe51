//! How the program logs: the format (`LOG_FORMAT`: text or JSON lines), colour only on a
//! terminal (and never with `NO_COLOR`), and text in which nothing from outside can forge a line.
//!
//! Values logged from outside the program (a webhook label, a BSS `error_msg`, a Telegram answer)
//! may hold a newline, which would start a fake log line (`… WARN … acting`), or an escape sequence
//! that clears the screen of whoever reads the log. In the text format every field value and the
//! message are written with their control characters (and the Unicode line and direction
//! overrides) escaped as `\n`, `\u{1b}`, …; JSON escapes them by construction. It does not decide
//! what is logged where (each module does).

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, MakeWriter};
use tracing_subscriber::EnvFilter;

/// `LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (for Loki, journald shippers, jq).
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }
}

impl FromStr for LogFormat {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("use text (default) or json (one JSON object per line)"),
        }
    }
}

/// Colour only when stderr is a terminal and `NO_COLOR` is unset or empty (no-color.org). Pure.
pub fn colour(stderr_is_terminal: bool, no_color: Option<&str>) -> bool {
    stderr_is_terminal && no_color.is_none_or(str::is_empty)
}

/// Whether a character must not reach a text log as it is.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Writes `s` with control characters escaped (`\n`, `\r`, `\t`, otherwise `\u{..}`).
///
/// # Errors
/// When the writer fails.
pub fn write_escaped(w: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut rest = s;
    while let Some(at) = rest.find(needs_escape) {
        w.write_str(&rest[..at])?;
        let c = rest[at..].chars().next().expect("found a char at `at`");
        match c {
            '\n' => w.write_str("\\n")?,
            '\r' => w.write_str("\\r")?,
            '\t' => w.write_str("\\t")?,
            c => write!(w, "\\u{{{:x}}}", u32::from(c))?,
        }
        rest = &rest[at + c.len_utf8()..];
    }
    w.write_str(rest)
}

/// `s` with its control characters escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = write_escaped(&mut out, s);
    out
}

/// `s` with its control characters escaped except line breaks (for multi-line text).
pub fn escape_keep_lines(s: &str) -> String {
    s.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

/// Set by [`init`] when logs are JSON lines: then everything on stderr must be one.
static JSON: AtomicBool = AtomicBool::new(false);

/// Prints an error for the user on stderr: a line with control characters escaped, or a JSON
/// error event with `LOG_FORMAT=json`.
pub fn print_error(text: &str) {
    if JSON.load(Ordering::Relaxed) {
        tracing::error!("{text}");
    } else {
        crate::errln!("{}", escape(text));
    }
}

/// Prints a message of the console sink on stderr: as it is, with control characters other than
/// line breaks escaped, or as a JSON event (field `text`) with `LOG_FORMAT=json`.
pub fn print_message(text: &str) {
    if JSON.load(Ordering::Relaxed) {
        tracing::info!(text, "message");
    } else {
        crate::errln!("{}", escape_keep_lines(text));
    }
}

/// Field formatting of the text format: the message first, then `name=value`, every value with
/// its control characters escaped. Strings and `?` values keep their `Debug` quotes; `%` values
/// (errors, ids) are written as they display.
#[derive(Debug, Default, Clone, Copy)]
pub struct EscapedFields;

impl<'w> FormatFields<'w> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut v = Visitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut v);
        v.result
    }
}

struct Visitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Visitor<'_> {
    fn field(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        let text = value.to_string();
        self.result = (|| {
            if !self.first {
                self.writer.write_char(' ')?;
            }
            self.first = false;
            if field.name() != "message" {
                write!(self.writer, "{}=", field.name())?;
            }
            write_escaped(&mut self.writer, &text)
        })();
    }
}

impl Visit for Visitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.field(field, format_args!("{value}"));
        } else {
            self.field(field, format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, format_args!("{value:?}"));
    }
}

/// How to log.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub format: LogFormat,
    pub colour: bool,
    /// Verbose logs of this crate (`DEBUG_MODE`).
    pub debug: bool,
    /// Warnings only (the demo prints its own story).
    pub quiet: bool,
}

/// The subscriber for `options`, writing to `writer`; `RUST_LOG` overrides the level filter.
pub fn subscriber<W>(options: Options, writer: W) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let default = match (options.debug, options.quiet) {
        (true, _) => "flexus_traffic_monitor=debug,info",
        (false, true) => "warn",
        (false, false) => "info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // A log line that cannot be written (stderr a closed pipe) is dropped: the default reports it
    // with `eprintln!`, which panics on that same closed stderr.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .log_internal_errors(false);
    match options.format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .finish(),
        ),
        LogFormat::Text => Box::new(
            builder
                .with_ansi(options.colour)
                .fmt_fields(EscapedFields)
                .finish(),
        ),
    }
}

/// Installs the subscriber for the program, logging to stderr.
pub fn init(format: LogFormat, debug: bool, quiet: bool) {
    use std::io::IsTerminal;
    let options = Options {
        format,
        colour: colour(
            std::io::stderr().is_terminal(),
            std::env::var("NO_COLOR").ok().as_deref(),
        ),
        debug,
        quiet,
    };
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
    if tracing::subscriber::set_global_default(subscriber(options, std::io::stderr)).is_err() {
        crate::errln!("logging was already set up");
    }
}

/// Serializes a value as its `Display` text, the English of the logs (errors in JSON answers).
pub fn as_text<T: std::fmt::Display, S: serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// [`as_text`] of an optional value (`null` when absent).
pub fn opt_as_text<T: std::fmt::Display, S: serde::Serializer>(
    v: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Buf {
        type Writer = Buf;
        fn make_writer(&'w self) -> Buf {
            self.clone()
        }
    }

    const FORGED: &str = "boom\n2026-11-29T23:00:00Z  WARN flexus_traffic_monitor: shutdown guard: acting\u{1b}[2J\u{202e}";

    fn log_with(format: LogFormat, colour: bool) -> String {
        let buf = Buf::default();
        let options = Options {
            format,
            colour,
            debug: false,
            quiet: false,
        };
        tracing::subscriber::with_default(subscriber(options, buf.clone()), || {
            let label = FORGED.to_string();
            tracing::warn!(error = %FORGED, label, debug = ?FORGED, "bss poll failed: {FORGED}");
            tracing::info!("second");
        });
        let bytes = buf.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn text_logs_escape_control_characters_in_every_value() {
        let out = log_with(LogFormat::Text, false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{202e}'),
            "{out:?}"
        );
        assert!(lines[0].contains("bss poll failed: boom\\n2026"), "{out}");
        assert!(lines[0].contains("error=boom\\n2026"), "{out}");
        assert!(lines[0].contains("acting\\u{1b}[2J\\u{202e}"), "{out}");
        assert!(lines[1].contains("second"));
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("")));
        assert!(!colour(true, Some("1")));
        assert!(!colour(false, None));
        let plain = log_with(LogFormat::Text, false);
        assert!(!plain.contains('\u{1b}'));
        let coloured = log_with(LogFormat::Text, true);
        assert!(coloured.contains("\u{1b}["), "the level is coloured");
        // Still no raw escape from the value: every ESC is followed by the formatter's own `[`
        // codes, and the forged one is escaped.
        assert!(coloured.contains("\\u{1b}[2J"));
    }

    #[test]
    fn json_logs_are_one_object_per_line_with_the_values_intact() {
        let out = log_with(LogFormat::Json, false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["level"], "WARN");
        assert_eq!(first["error"], FORGED);
        assert_eq!(first["label"], FORGED);
        assert_eq!(first["message"], format!("bss poll failed: {FORGED}"));
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(second["message"], "second");
        assert!(first["timestamp"].is_string());
    }

    #[test]
    fn log_format_reads_text_or_json() {
        assert_eq!("JSON".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!(" text ".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
