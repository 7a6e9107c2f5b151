//! End-to-end tests of `corral inventory`, driving the real binary.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

mod shared;

fn corral() -> Command {
    let mut cmd = Command::cargo_bin("corral").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("valid JSON")
}

#[test]
fn examples_inventory_is_complete_and_deterministic() {
    let run = || {
        corral()
            .current_dir(workspace())
            .args(["inventory", "examples", "--format", "json"])
            .output()
            .unwrap()
    };
    let first = run();
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(first.stdout, run().stdout);
    let report = json(&first.stdout);
    let objects = report["objects"].as_array().unwrap();
    // 11 top-level objects, 24 in examples/psp-migration/, 17 in
    // examples/advise-demo/ (its inventory, policies and patches; its
    // recordings and profiles have no kind), 29 in examples/attack-paths/
    // (its AWS JSON has no kind).
    assert_eq!(objects.len(), 81);
    assert_eq!(report["counts"]["Deployment"], 11);
    assert_eq!(report["errors"], Value::Array(vec![]));
    let rollout = objects.iter().find(|o| o["kind"] == "Rollout").unwrap();
    assert_eq!(rollout["file"], "examples/rollout.yaml");
    assert_eq!(rollout["line"], 3);
    assert_eq!(rollout["podTemplate"], "spec.template");
}

#[test]
fn text_report_is_a_table_with_counts() {
    let output = corral()
        .current_dir(workspace())
        .args(["inventory", "examples/web.yaml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("KIND "), "{stdout}");
    assert!(
        lines[3].starts_with("Deployment") && lines[3].ends_with("examples/web.yaml:16"),
        "{stdout}"
    );
    assert!(stdout.contains("     1  Deployment\n"));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "4 objects in 1 files\n"
    );
}

#[test]
fn stdin_is_read_with_dash() {
    let output = corral()
        .args(["inventory", "-", "--format", "json"])
        .write_stdin("apiVersion: v1\nkind: Namespace\nmetadata: {name: piped}\n")
        .output()
        .unwrap();
    assert!(output.status.success());
    let report = json(&output.stdout);
    assert_eq!(report["objects"][0]["file"], "<stdin>");
    assert_eq!(report["objects"][0]["name"], "piped");
}

#[test]
fn bad_file_is_reported_others_listed_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("good.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: good}\n",
    )
    .unwrap();
    fs::write(dir.path().join("chart.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  {{- include \"x\" . }}\n").unwrap();
    let output = corral()
        .current_dir(dir.path())
        .args(["inventory", ".", "-f", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let report = json(&output.stdout);
    assert_eq!(report["objects"].as_array().unwrap().len(), 1);
    let error = &report["errors"][0];
    assert_eq!(
        (error["file"].as_str(), error["line"].as_u64()),
        (Some("./chart.yaml"), Some(4))
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("./chart.yaml:4:"), "{stderr}");
    assert!(
        stderr.contains("hint: this looks like an unrendered Helm template"),
        "{stderr}"
    );
}

#[test]
fn output_file_quiet_verbose_and_color() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.yaml");
    fs::write(&input, "replicas: 3\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, name: c}\n").unwrap();
    let report = dir.path().join("report.json");
    let output = corral()
        .args(["inventory", "--quiet", "--format", "json", "--output"])
        .arg(&report)
        .arg(&input)
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
    assert_eq!(json(&fs::read(&report).unwrap())["counts"]["Pod"], 1);

    let verbose = corral()
        .args(["inventory", "--verbose"])
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8(verbose.stderr).unwrap();
    assert!(
        stderr.contains(":1:1: note: skipped: the document has no apiVersion and kind"),
        "{stderr}"
    );
    assert!(
        stderr.contains(":9:21: warning: duplicate key \"name\""),
        "{stderr}"
    );
    assert!(!stderr.contains('\x1b'), "no colour off a terminal");

    let colored = corral()
        .args(["inventory", "--color", "always"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(String::from_utf8(colored.stderr).unwrap().contains("\x1b["));
}

#[test]
fn usage_errors_exit_2() {
    let output = corral()
        .args(["inventory", "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = corral().args(["no-such-command"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn missing_path_is_an_input_error() {
    let output = corral()
        .args(["inventory", "/nonexistent/manifests"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8(output.stderr)
        .unwrap()
        .contains("/nonexistent/manifests: error: cannot read: No such file or directory"));
}

/// The shared corpus: every object found, none in error, and each object's
/// line and column are those of its `kind:` key in the file.
#[test]
fn shared_corpus_every_object_at_its_kind_line() {
    if shared::shared("corpus").is_none() {
        return;
    }
    let output = corral()
        .current_dir(workspace())
        .args(["inventory", "../shared/corpus", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = json(&output.stdout);
    let objects = report["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 2577);
    assert_eq!(report["errors"], Value::Array(vec![]));
    let counted: u64 = report["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, 2577);
    let mut files = std::collections::HashMap::new();
    for object in objects {
        let file = object["file"].as_str().unwrap();
        let text = files
            .entry(file.to_string())
            .or_insert_with(|| fs::read_to_string(workspace().join(file)).unwrap());
        let line = text
            .lines()
            .nth(object["line"].as_u64().unwrap() as usize - 1)
            .unwrap();
        let column = object["column"].as_u64().unwrap() as usize;
        let at: String = line.chars().skip(column - 1).collect();
        let kind = object["kind"].as_str().unwrap();
        let value = at.strip_prefix("kind:").map(|v| {
            v.split(" #")
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['"', '\''])
        });
        assert!(
            value == Some(kind),
            "{file}:{}:{column}: expected `kind: {kind}`, found {line:?}",
            object["line"]
        );
    }
}
