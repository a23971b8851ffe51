//! The commands the actions run: a [`Step`] (argv without a shell, optional standard input,
//! alternatives) and a [`Probe`] (a read-only check that ours is in place). Shared by the builders
//! of each action ([`super::throttle`], [`super::fence`]), the planner and the runner; it imports
//! none of them, so no module of `actions` needs another's types in a circle.

use serde::Serialize;

/// One command: argv run without a shell, optional standard input, extra environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// A failure is expected sometimes (removing what may not be there) and is not an error.
    pub tolerate_failure: bool,
    /// Tried in turn when `argv` fails (e.g. a queue discipline this kernel lacks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
}

impl Step {
    pub fn new(argv: Vec<String>) -> Self {
        Self {
            argv,
            stdin: None,
            tolerate_failure: false,
            alternatives: Vec::new(),
            env: Vec::new(),
        }
    }

    /// A step whose failure is not an error.
    pub fn tolerant(argv: Vec<String>) -> Self {
        Self {
            tolerate_failure: true,
            ..Self::new(argv)
        }
    }

    #[must_use]
    pub fn stdin(mut self, text: String) -> Self {
        self.stdin = Some(text);
        self
    }

    #[must_use]
    pub fn or(mut self, argv: Vec<String>) -> Self {
        self.alternatives.push(argv);
        self
    }

    #[must_use]
    pub fn with_env(mut self, env: Vec<(String, String)>) -> Self {
        self.env = env;
        self
    }

    /// The command as one shell line (what `DRY_RUN` prints and messages show), which works when
    /// pasted into a shell: a script on standard input is passed by `printf`, one quoted argument
    /// a line, rather than by a here-document, whose line breaks a message cannot carry intact
    /// (messages show control characters visibly, and chat clients fold long code blocks).
    pub fn display(&self) -> String {
        let env: String = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={} ", shell_words::quote(v)))
            .collect();
        let command = format!("{env}{}", shell_words::join(&self.argv));
        match &self.stdin {
            None => command,
            Some(input) => {
                let lines: Vec<&str> = input.lines().collect();
                format!("printf '%s\\n' {} | {command}", shell_words::join(lines))
            }
        }
    }
}

/// A read-only check: "ours is there" when `argv` exits 0 and its output contains every text of
/// `expect` (so that rules of an older version, which lack a newer rule, count as missing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub argv: Vec<String>,
    pub expect: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_on_standard_input_is_shown_as_one_line_a_shell_runs() {
        let s = Step::new(vec!["cat".into()])
            .stdin("table inet t {\n  iifname \"lo\" accept\n}\n".into());
        let line = s.display();
        assert!(!line.contains('\n'), "{line}");
        let out = std::process::Command::new("bash")
            .args(["-c", &line])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "table inet t {\n  iifname \"lo\" accept\n}\n"
        );
    }
}
