//! `.env` files read the way python-dotenv reads them, so the original script's `.env` loads
//! unchanged.
//!
//! The original Python script called `load_dotenv()`; users' files were written for its rules, which
//! are looser than those of the `dotenvy` crate (`SERVER_NAME=华为 新加坡` is fine there, an error
//! in dotenvy). This module ports python-dotenv 1.x's parser (`dotenv/parser.py`) and its `${VAR}`
//! interpolation (`dotenv/variables.py`) rule by rule:
//!
//! - unquoted values run to the end of the line; ` #` (whitespace then `#`) starts a comment;
//!   trailing whitespace is dropped; `=` and inner spaces stay;
//! - `export NAME=value`, spaces around `=`, a name without `=` (ignored), empty values;
//! - single quotes are literal except `\'` and `\\`; double quotes also decode `\n \t \r \a \b \f \v \"`;
//!   quoted values may span lines;
//! - `${NAME}` and `${NAME:-default}` are replaced (the environment wins over the file);
//! - lines end in LF, CRLF or CR (python reads files with universal newlines).
//!
//! Two deliberate differences, both about files python-dotenv would half-read: a leading byte-order
//! mark is dropped (python-dotenv would make it part of the first name), and a line it cannot parse
//! is an error naming the line and how to quote it (python-dotenv warns and skips it, losing the
//! variable). Errors never echo a value: a secret may be on the line.
//! `tests/fixtures/dotenv-cases.json`, made by python-dotenv itself
//! (`scripts/gen-dotenv-fixture.py`), is the table the tests compare against.
//!
//! Reading and parsing are pure; [`load`] only reads the file. Setting the process environment is
//! the caller's (`main`) job.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One `NAME=value` statement. `value` is `None` for a bare `NAME` line, which sets nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: Option<String>,
    /// The line the statement starts on (1-based).
    pub line: usize,
}

/// Why a line could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The line has no name before `=`, or a `'quoted'` name is not closed.
    NoName,
    /// A value opens a quote that never closes.
    UnclosedQuote(char),
    /// Something other than a `# comment` follows the closing quote.
    TextAfterQuote,
    /// Something follows the name that is neither `=` nor a comment (`NAME value`, `MY NAME=x`).
    NoEquals,
    /// The name cannot be an environment variable (it contains `=` or a NUL, or the value a NUL).
    NotAVariable,
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    /// The variable's name when it could be read.
    pub key: Option<String>,
    pub problem: Problem,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.key.as_deref().unwrap_or("NAME");
        write!(f, "line {}", self.line)?;
        if let Some(key) = &self.key {
            write!(f, " ({key})")?;
        }
        let problem = match self.problem {
            Problem::NoName => "there is no variable name before `=`".to_string(),
            Problem::UnclosedQuote(q) => format!("the value opens a {q} quote that never closes"),
            Problem::TextAfterQuote => "text follows the value's closing quote".to_string(),
            Problem::NoEquals => "the name is not followed by `=`".to_string(),
            Problem::NotAVariable => {
                "this name or value cannot be an environment variable (`=` in the name, or a NUL)"
                    .to_string()
            }
        };
        write!(f, ": {problem}; ")?;
        match self.problem {
            Problem::NoName | Problem::NoEquals | Problem::NotAVariable => write!(
                f,
                "write it as {name}=value (names are letters, digits and _), or start the line with # to make it a comment"
            ),
            Problem::UnclosedQuote(_) | Problem::TextAfterQuote => write!(
                f,
                "quote the whole value once: {name}='value with spaces # and signs' (inside single quotes write \\' for ' and \\\\ for \\), or leave it unquoted if it has no ` #`"
            ),
        }
    }
}

/// Why an env file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    Io(PathBuf, std::io::Error),
    NotUtf8(PathBuf),
    Lines(PathBuf, Vec<LineError>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(p, e) => write!(f, "cannot read the env file {}: {e}", p.display()),
            LoadError::NotUtf8(p) => write!(
                f,
                "cannot read the env file {}: it is not UTF-8 text; save it as UTF-8",
                p.display()
            ),
            LoadError::Lines(p, errors) => {
                write!(f, "cannot read the env file {}:", p.display())?;
                for e in errors {
                    write!(f, "\n  - {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    /// The error for a person, in `lang` (English is the [`fmt::Display`] text). The system's own
    /// words (an I/O error) are quoted as outside text.
    pub fn render(&self, lang: crate::messages::Lang) -> String {
        if lang == crate::messages::Lang::En {
            return self.to_string();
        }
        match self {
            LoadError::Io(p, e) => format!("无法读取配置文件 {}：「{e}」", p.display()),
            LoadError::NotUtf8(p) => {
                format!(
                    "无法读取配置文件 {}：它不是 UTF-8 文本；请另存为 UTF-8",
                    p.display()
                )
            }
            LoadError::Lines(p, errors) => {
                let mut out = format!("无法读取配置文件 {}：", p.display());
                for e in errors {
                    out.push_str(&format!("\n  - {}", e.render_zh()));
                }
                out
            }
        }
    }
}

impl LineError {
    /// The Chinese of the [`fmt::Display`] text.
    fn render_zh(&self) -> String {
        let name = self.key.as_deref().unwrap_or("NAME");
        let mut out = format!("第 {} 行", self.line);
        if let Some(key) = &self.key {
            out.push_str(&format!("（{key}）"));
        }
        let problem = match self.problem {
            Problem::NoName => "`=` 前面没有变量名".to_string(),
            Problem::UnclosedQuote(q) => format!("值以 {q} 引号开头，却没有闭合"),
            Problem::TextAfterQuote => "值的闭合引号后面还有文字".to_string(),
            Problem::NoEquals => "变量名后面没有 `=`".to_string(),
            Problem::NotAVariable => {
                "这个名字或值不能作为环境变量（名字中有 `=`，或含 NUL）".to_string()
            }
        };
        let fix = match self.problem {
            Problem::NoName | Problem::NoEquals | Problem::NotAVariable => format!(
                "写成 {name}=value（名字由字母、数字和 _ 组成），或在行首加 # 使它成为注释"
            ),
            Problem::UnclosedQuote(_) | Problem::TextAfterQuote => format!(
                "把整个值用一对引号括起来：`{name}='含空格 # 和符号的值'`（单引号内用 \\' 表示 '，用 \\\\ 表示 \\），值中没有 ` #` 时也可以不加引号"
            ),
        };
        format!("{out}：{problem}；改法：{fix}")
    }
}

/// Reads `path` and returns the variables it sets, in file order, resolved against `environment`
/// (the process environment in production). Names `environment` already has are left out: the
/// environment wins, as with `load_dotenv()`.
///
/// `Ok(None)` when the file does not exist and `required` is false.
///
/// # Errors
/// The file cannot be read, is not UTF-8, or has lines python-dotenv could not parse either.
pub fn load(
    path: &Path,
    required: bool,
    environment: &HashMap<String, String>,
) -> Result<Option<Vec<(String, String)>>, LoadError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => return Err(LoadError::Io(path.to_owned(), e)),
    };
    let text = String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8(path.to_owned()))?;
    let (entries, mut errors) = parse_file_text(&text);
    let mut out = Vec::new();
    for (entry, value) in entries.iter().zip(resolve(&entries, environment)) {
        let Some(value) = value else { continue };
        if entry.key.contains(['=', '\0']) || value.contains('\0') {
            errors.push(LineError {
                line: entry.line,
                key: Some(entry.key.clone()),
                problem: Problem::NotAVariable,
            });
        } else if !environment.contains_key(&entry.key) {
            out.push((entry.key.clone(), value));
        }
    }
    if errors.is_empty() {
        Ok(Some(out))
    } else {
        Err(LoadError::Lines(path.to_owned(), errors))
    }
}

/// Parses the text of a file as python-dotenv sees it: a leading BOM dropped, CRLF and CR read as
/// LF. Returns the statements read and the lines that could not be.
pub fn parse_file_text(text: &str) -> (Vec<Entry>, Vec<LineError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    parse(&text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Parses `.env` text (python-dotenv's `parse_stream`), without interpolation: the statements read
/// and the statements that could not be (reading goes on after them, so all are reported at once).
pub fn parse(text: &str) -> (Vec<Entry>, Vec<LineError>) {
    let mut reader = Reader {
        s: text.chars().collect(),
        pos: 0,
        line: 1,
    };
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    while reader.pos < reader.s.len() {
        match reader.binding() {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    (entries, errors)
}

/// Replaces `${NAME}` and `${NAME:-default}` in each value (python-dotenv's `resolve_variables`
/// with `override=False`): a name is looked up in `environment` first, then among the values set
/// earlier in the file; unknown names become the default or nothing. Returns one value per entry.
pub fn resolve(entries: &[Entry], environment: &HashMap<String, String>) -> Vec<Option<String>> {
    let mut seen: HashMap<&str, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let value = entry.value.as_deref().map(|v| {
            interpolate(v, |name| match environment.get(name) {
                Some(v) => Some(v.clone()),
                None => seen.get(name).map(|v| v.clone().unwrap_or_default()),
            })
        });
        seen.insert(&entry.key, value.clone());
        out.push(value);
    }
    out
}

/// `dotenv/variables.py`: `\$\{(?P<name>[^\}:]*)(?::-(?P<default>[^\}]*))?\}`.
fn interpolate(value: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let s: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < s.len() {
        if let Some((name, default, end)) = variable_at(&s, i) {
            out.push_str(&lookup(&name).unwrap_or_else(|| default.unwrap_or_default()));
            i = end;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// A `${…}` starting at `i`: its name, default and the index after it.
fn variable_at(s: &[char], i: usize) -> Option<(String, Option<String>, usize)> {
    if s.get(i) != Some(&'$') || s.get(i + 1) != Some(&'{') {
        return None;
    }
    let mut j = i + 2;
    while j < s.len() && s[j] != '}' && s[j] != ':' {
        j += 1;
    }
    let name: String = s[i + 2..j].iter().collect();
    match s.get(j) {
        Some('}') => Some((name, None, j + 1)),
        Some(':') if s.get(j + 1) == Some(&'-') => {
            let start = j + 2;
            let close = s[start..].iter().position(|&c| c == '}')? + start;
            Some((name, Some(s[start..close].iter().collect()), close + 1))
        }
        _ => None,
    }
}

/// Python's `\s` (`str.isspace`): Unicode white space plus the ASCII separators U+001C–U+001F.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `[^\S\r\n]`: white space other than a line break.
fn is_inline_space(c: char) -> bool {
    is_space(c) && c != '\r' && c != '\n'
}

struct Reader {
    s: Vec<char>,
    pos: usize,
    line: usize,
}

/// A failed step inside a statement (python-dotenv's `Error`).
struct Fail(Problem);

impl Reader {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    /// Moves to `to`, counting line breaks (`\r\n`, `\n` or `\r`) on the way.
    fn advance_to(&mut self, to: usize) {
        let mut i = self.pos;
        while i < to {
            match self.s[i] {
                '\n' => self.line += 1,
                '\r' if self.s.get(i + 1) != Some(&'\n') || i + 1 >= to => self.line += 1,
                _ => {}
            }
            i += 1;
        }
        self.pos = to;
    }

    fn skip_while(&mut self, f: impl Fn(char) -> bool) {
        let mut end = self.pos;
        while end < self.s.len() && f(self.s[end]) {
            end += 1;
        }
        self.advance_to(end);
    }

    /// `parse_binding`: one statement, or `None` for blank space, a comment or a bare name.
    fn binding(&mut self) -> Result<Option<Entry>, LineError> {
        self.skip_while(is_space);
        let line = self.line;
        if self.pos >= self.s.len() {
            return Ok(None);
        }
        let mut key = None;
        match self.statement(&mut key) {
            Ok(value) => Ok(key.map(|key| Entry { key, value, line })),
            Err(Fail(problem)) => {
                // `_rest_of_line`: skip to the end of the line where reading stopped.
                self.skip_while(|c| c != '\r' && c != '\n');
                if self.peek().is_some() {
                    self.advance_to(self.pos + 1);
                }
                Err(LineError { line, key, problem })
            }
        }
    }

    fn statement(&mut self, key: &mut Option<String>) -> Result<Option<String>, Fail> {
        // `_export`: "export" followed by at least one space.
        let export: Vec<char> = "export".chars().collect();
        if self.s[self.pos..].starts_with(&export)
            && self
                .s
                .get(self.pos + export.len())
                .is_some_and(|&c| is_inline_space(c))
        {
            self.advance_to(self.pos + export.len());
            self.skip_while(is_inline_space);
        }
        *key = self.key()?;
        self.skip_while(is_inline_space);
        let mut quoted = false;
        let value = if self.peek() == Some('=') {
            self.advance_to(self.pos + 1);
            self.skip_while(is_inline_space);
            let (value, q) = self.value()?;
            quoted = q;
            Some(value)
        } else {
            None
        };
        // `_comment`: optional spaces then `#` to the end of the line.
        let mut j = self.pos;
        while j < self.s.len() && is_inline_space(self.s[j]) {
            j += 1;
        }
        if self.s.get(j) == Some(&'#') {
            while j < self.s.len() && self.s[j] != '\r' && self.s[j] != '\n' {
                j += 1;
            }
            self.advance_to(j);
        }
        // `_end_of_line`.
        self.skip_while(is_inline_space);
        match self.peek() {
            None => {}
            Some('\r') if self.s.get(self.pos + 1) == Some(&'\n') => self.advance_to(self.pos + 2),
            Some('\r' | '\n') => self.advance_to(self.pos + 1),
            Some(_) if quoted => return Err(Fail(Problem::TextAfterQuote)),
            Some(_) => return Err(Fail(Problem::NoEquals)),
        }
        Ok(value)
    }

    /// `parse_key`: `None` for a comment line.
    fn key(&mut self) -> Result<Option<String>, Fail> {
        match self.peek() {
            Some('#') => Ok(None),
            Some('\'') => {
                // `'([^']+)'`
                let start = self.pos + 1;
                let close = self.s[start..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map(|p| p + start)
                    .filter(|&c| c > start)
                    .ok_or(Fail(Problem::NoName))?;
                let key = self.s[start..close].iter().collect();
                self.advance_to(close + 1);
                Ok(Some(key))
            }
            _ => {
                // `([^=\#\s]+)`
                let start = self.pos;
                let mut end = start;
                while end < self.s.len()
                    && !matches!(self.s[end], '=' | '#')
                    && !is_space(self.s[end])
                {
                    end += 1;
                }
                if end == start {
                    return Err(Fail(Problem::NoName));
                }
                let key = self.s[start..end].iter().collect();
                self.advance_to(end);
                Ok(Some(key))
            }
        }
    }

    /// `parse_value`: the value and whether it was quoted.
    fn value(&mut self) -> Result<(String, bool), Fail> {
        match self.peek() {
            Some(q @ ('\'' | '"')) => {
                let raw = self.quoted(q)?;
                let escapes: &[char] = if q == '\'' {
                    &['\\', '\'']
                } else {
                    &['\\', '\'', '"', 'a', 'b', 'f', 'n', 'r', 't', 'v']
                };
                Ok((decode_escapes(&raw, escapes), true))
            }
            None | Some('\r' | '\n') => Ok((String::new(), false)),
            Some(_) => {
                let start = self.pos;
                let mut end = start;
                while end < self.s.len() && self.s[end] != '\r' && self.s[end] != '\n' {
                    end += 1;
                }
                let part = self.s[start..end].to_vec();
                self.advance_to(end);
                // `re.sub(r"\s+#.*", "", part).rstrip()`: the first `#` after white space starts
                // a comment, from the beginning of that white space.
                let cut = (1..part.len())
                    .find(|&i| part[i] == '#' && is_space(part[i - 1]))
                    .map_or(part.len(), |hash| {
                        let mut start = hash;
                        while start > 0 && is_space(part[start - 1]) {
                            start -= 1;
                        }
                        start
                    });
                let mut value = &part[..cut];
                while let Some((&last, rest)) = value.split_last() {
                    if !is_space(last) {
                        break;
                    }
                    value = rest;
                }
                Ok((value.iter().collect(), false))
            }
        }
    }

    /// `'((?:\\'|[^'])*)'` (or with `"`), including the regex's backtracking: `\'` is taken as an
    /// escaped quote, unless no closing quote follows, in which case the last `\'` closes.
    fn quoted(&mut self, q: char) -> Result<String, Fail> {
        let start = self.pos + 1;
        let mut i = start;
        let mut last_escaped = None;
        let close = loop {
            match self.s.get(i) {
                None => break last_escaped.ok_or(Fail(Problem::UnclosedQuote(q)))?,
                Some('\\') if self.s.get(i + 1) == Some(&q) => {
                    last_escaped = Some(i + 1);
                    i += 2;
                }
                Some(&c) if c == q => break i,
                Some(_) => i += 1,
            }
        };
        let raw = self.s[start..close].iter().collect();
        self.advance_to(close + 1);
        Ok(raw)
    }
}

/// python-dotenv's `decode_escapes`: `\x` for each `x` in `escapes`, left to right.
fn decode_escapes(raw: &str, escapes: &[char]) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&next) if c == '\\' && escapes.contains(&next) => {
                chars.next();
                out.push(match next {
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    other => other,
                });
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
