//! The module map as a rule: the crate's top-level modules import each other without a circle, so
//! domain types sit below configuration and every layer can be read (and tested) from the bottom up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its files name through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if top == "main" || top == "lib" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let deps = graph.entry(top.clone()).or_default();
            for (i, _) in text.match_indices("crate::") {
                let name: String = text[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top {
                    deps.insert(name);
                }
            }
        }
    }
    graph
}

/// A path `from → … → from`, if there is one.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in graph.get(last).into_iter().flatten() {
            if next == from {
                let mut found = path.clone();
                found.push(next.clone());
                return Some(found);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn modules_import_each_other_without_a_circle() {
    let graph = imports();
    assert!(graph.contains_key("config") && graph.contains_key("huawei"));
    for module in graph.keys() {
        if let Some(path) = cycle_through(&graph, module) {
            panic!("import circle: {}", path.join(" → "));
        }
    }
}

#[test]
fn domain_modules_do_not_know_the_configuration() {
    let graph = imports();
    for domain in ["level", "policy", "messages", "huawei", "target", "reading"] {
        assert!(
            !graph[domain].contains("config"),
            "{domain} imports config: {:?}",
            graph[domain]
        );
    }
}

/// Every module a file of `dir` (and below) names through `crate::`, with the file's path.
fn crate_paths(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, _) in text.match_indices("crate::") {
                    let rest = &text[i + 7..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    // A braced list after the crate root hides which modules it names: refused too.
                    if !name.is_empty() || rest.starts_with('{') {
                        found.push((path.display().to_string(), name));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn test_modules_share_code_only_through_helpers() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let paths = crate_paths(&tests);
    assert!(paths.iter().any(|(_, name)| name == "helpers"));
    for (file, name) in paths {
        assert_eq!(
            name, "helpers",
            "{file} names module `{name}` through crate: test modules share code only through helpers"
        );
    }
}

/// The module map in `src/lib.rs` names every top-level module, so a reader finds each one's place.
#[test]
fn the_module_map_names_every_module() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let missing: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .filter(|m| !lib.contains(&format!("[`{m}`]")))
        .collect();
    assert!(
        missing.is_empty(),
        "src/lib.rs's module map does not name {missing:?}: add a line saying what each owns"
    );
}
