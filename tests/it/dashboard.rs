//! The Grafana dashboard colours levels with the thresholds the exporter runs with
//! (`flexus_free_traffic_threshold_gb`), by the program's own rule, not with fixed numbers.

use flexus_traffic_monitor::level::{Level, Thresholds};

use crate::helpers::process::{output_text, tool};

fn dashboard() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/grafana/dashboards/flexus-traffic.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn panel<'a>(dash: &'a serde_json::Value, title: &str) -> &'a serde_json::Value {
    dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("no panel {title:?}"))
}

/// How many thresholds a reading is below: the value the "Level now" panel maps to a level.
fn crossed(level: Level) -> u8 {
    match level {
        Level::Ok => 0,
        Level::L3 => 1,
        Level::L2 => 2,
        Level::L1 => 3,
    }
}

/// No panel that shows GB colours it with fixed GB steps: they would disagree with a user's own
/// `THRESHOLD_LEVEL_*`.
#[test]
fn no_gigabyte_panel_has_fixed_thresholds() {
    let dash = dashboard();
    for p in dash["panels"].as_array().unwrap() {
        let defaults = &p["fieldConfig"]["defaults"];
        if defaults["unit"] == "gbytes" {
            assert!(
                defaults["thresholds"].is_null() && defaults["color"]["mode"] != "thresholds",
                "{} is coloured by fixed GB steps",
                p["title"]
            );
        }
    }
    // The level panel names every value it can show.
    let mappings = &panel(&dash, "Level now")["fieldConfig"]["defaults"]["mappings"][0]["options"];
    for level in [Level::Ok, Level::L3, Level::L2, Level::L1] {
        assert!(
            mappings[crossed(level).to_string()]["text"].is_string(),
            "{level:?} has no text"
        );
    }
}

/// The "Level now" expression, run by promtool over readings on both sides of every threshold of
/// two exporters with different thresholds, gives the level `Level::of` gives.
#[test]
fn the_level_panel_agrees_with_the_program_at_every_boundary() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let dash = dashboard();
    let expr = panel(&dash, "Level now")["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .replace("$job", ".+")
        .replace("$server", ".+");

    let jobs = [
        (
            "custom",
            Thresholds {
                t1: 100.0,
                t2: 150.0,
                t3: 400.0,
            },
        ),
        ("default", Thresholds::default()),
    ];
    let readings = [
        0.0, 99.99, 100.0, 149.9, 150.0, 199.99, 200.0, 299.9, 300.0, 399.9, 400.0, 499.9, 500.0,
        1000.0,
    ];
    let mut series = String::new();
    let mut samples = String::new();
    for (job, t) in &jobs {
        let instance = format!("{job}:9184");
        for (level, value) in [("1", t.t1), ("2", t.t2), ("3", t.t3)] {
            series += &format!(
                "      - series: 'flexus_free_traffic_threshold_gb{{job=\"{job}\",instance=\"{instance}\",level=\"{level}\"}}'\n        values: '{value}x5'\n"
            );
        }
        for (i, gb) in readings.iter().enumerate() {
            let labels = format!(
                "job=\"{job}\",instance=\"{instance}\",server=\"s\",usage_type=\"flexus\",free_resource_id=\"p{i}\""
            );
            series += &format!(
                "      - series: 'flexus_free_traffic_remaining_gb{{{labels}}}'\n        values: '{gb}x5'\n"
            );
            samples += &format!(
                "          - labels: '{{{labels}}}'\n            value: {}\n",
                crossed(Level::of(*gb, t))
            );
        }
    }
    let quoted = serde_json::to_string(&expr).unwrap();
    let file = format!(
        "tests:\n  - interval: 1m\n    input_series:\n{series}    promql_expr_test:\n      - expr: {quoted}\n        eval_time: 2m\n        exp_samples:\n{samples}"
    );
    let dir = crate::helpers::state_dir("dashboard-level");
    let path = dir.join("level.test.yml");
    std::fs::write(&path, file).unwrap();
    let out = std::process::Command::new(promtool)
        .args(["test", "rules"])
        .arg(&path)
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(out.status.success() && text.contains("SUCCESS"), "{text}");
}
