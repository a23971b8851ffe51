use std::collections::HashMap;

use serde::Deserialize;

use super::*;

#[derive(Deserialize)]
struct Fixture {
    environment: HashMap<String, String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    input: String,
    values: Vec<(String, Option<String>)>,
    error_lines: Vec<usize>,
}

/// What `DotEnv.dict()` returns: one value per name in first-seen order, the last one winning.
fn as_python_dict(entries: &[Entry], values: Vec<Option<String>>) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for (entry, value) in entries.iter().zip(values) {
        match out.iter_mut().find(|(k, _)| *k == entry.key) {
            Some(slot) => slot.1 = value,
            None => out.push((entry.key.clone(), value)),
        }
    }
    out
}

#[test]
fn reads_every_fixture_case_as_python_dotenv_does() {
    let fixture: Fixture =
        serde_json::from_str(include_str!("../../tests/fixtures/dotenv-cases.json"))
            .expect("the fixture is JSON");
    assert!(fixture.cases.len() >= 30, "the table lost cases");
    let mut failures = Vec::new();
    for case in &fixture.cases {
        let (entries, errors) = parse_file_text(&case.input);
        let values = as_python_dict(&entries, resolve(&entries, &fixture.environment));
        let error_lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        if values != case.values || error_lines != case.error_lines {
            failures.push(format!(
                "{}: input {:?}\n  python-dotenv: {:?} errors at {:?}\n  we:            {:?} errors at {:?}",
                case.name, case.input, case.values, case.error_lines, values, error_lines
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_original_scripts_unquoted_values_load() {
    let (entries, errors) =
        parse_file_text("SERVER_NAME=华为 新加坡\nFREE_RESOURCE_IDS=a1, b2   # two packages\n");
    assert!(errors.is_empty());
    assert_eq!(entries[0].value.as_deref(), Some("华为 新加坡"));
    assert_eq!(entries[1].value.as_deref(), Some("a1, b2"));
}

#[test]
fn an_unreadable_line_names_its_line_and_variable_and_how_to_quote_without_the_value() {
    let (_, errors) = parse_file_text("A=1\n\nHUAWEICLOUD_SDK_SK=\"s3cr3t\" tail\n");
    assert_eq!(errors.len(), 1);
    let text = errors[0].to_string();
    assert!(text.starts_with("line 3 (HUAWEICLOUD_SDK_SK): "), "{text}");
    assert!(
        text.contains("text follows the value's closing quote"),
        "{text}"
    );
    assert!(text.contains("HUAWEICLOUD_SDK_SK='value"), "{text}");
    assert!(!text.contains("s3cr3t") && !text.contains("tail"), "{text}");

    let (_, errors) = parse_file_text("X=1\nTELEGRAM_BOT_TOKEN='123:abc\n");
    assert_eq!(errors[0].problem, Problem::UnclosedQuote('\''));
    assert!(errors[0]
        .to_string()
        .starts_with("line 2 (TELEGRAM_BOT_TOKEN)"));
    assert!(!errors[0].to_string().contains("123:abc"));

    let (_, errors) = parse_file_text("=value\nMY NAME=x\n");
    assert_eq!(errors[0].problem, Problem::NoName);
    assert_eq!(errors[1].problem, Problem::NoEquals);
    assert_eq!(errors[1].line, 2);
}

#[test]
fn load_skips_what_the_environment_has_and_refuses_bad_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(".env");
    std::fs::write(&path, "\u{feff}A=file\r\nB=${A} two\r\nexport C='c'\r\n").expect("write");
    let env = HashMap::from([("A".to_string(), "env".to_string())]);
    let got = load(&path, true, &env).expect("loads").expect("exists");
    assert_eq!(
        got,
        vec![
            ("B".to_string(), "env two".to_string()),
            ("C".to_string(), "c".to_string())
        ]
    );

    assert!(load(&dir.path().join("missing"), false, &env)
        .expect("optional")
        .is_none());
    assert!(matches!(
        load(&dir.path().join("missing"), true, &env),
        Err(LoadError::Io(..))
    ));

    std::fs::write(&path, "A=1\nB=\"x\" y\n'C=D'=2\n").expect("write");
    let err = load(&path, true, &HashMap::new()).expect_err("bad lines");
    let text = err.to_string();
    assert!(
        text.contains("line 2 (B)") && text.contains("line 3 (C=D)"),
        "{text}"
    );

    std::fs::write(&path, b"A=\xff\n").expect("write");
    assert!(load(&path, true, &HashMap::new())
        .expect_err("latin-1")
        .to_string()
        .contains("not UTF-8"));
}
