//! `corral drift --cloud` and `corral scan --cloud` on the drift
//! scenarios (`crates/corral-scan/tests/fixtures/drift/`), driving the
//! binary: every drifted scenario exits 1 with the rules it holds, in text
//! and JSON alike, `scan --cloud` reports the same drift findings among
//! its others, and each consistent account exits 0.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn scenario(name: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corral-scan/tests/fixtures/drift")
        .join(name);
    let mut cloud: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    cloud.sort();
    (dir.join("cluster.yaml"), cloud)
}

fn run(command: &str, name: &str, format: &str) -> (Option<i32>, String) {
    let (cluster, cloud) = scenario(name);
    let output = Command::cargo_bin("corral")
        .unwrap()
        .arg(command)
        .arg(&cluster)
        .args(["--format", format, "--cloud"])
        .args(&cloud)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

fn drift_rules(json: &str) -> BTreeSet<String> {
    let report: Value = serde_json::from_str(json).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .filter(|r| r.starts_with("CRL-D"))
        .map(str::to_string)
        .collect()
}

#[test]
fn drift_is_found_on_each_cloud_and_nothing_on_consistent_accounts() {
    let ids = |list: &[&str]| -> BTreeSet<String> { list.iter().map(|s| s.to_string()).collect() };
    for (name, expected) in [
        (
            "aws",
            ids(&[
                "CRL-D001", "CRL-D002", "CRL-D003", "CRL-D004", "CRL-D005", "CRL-D006", "CRL-D007",
            ]),
        ),
        (
            "gcp",
            ids(&["CRL-D002", "CRL-D008", "CRL-D009", "CRL-D010"]),
        ),
        ("azure", ids(&["CRL-D002", "CRL-D011"])),
    ] {
        let (code, json) = run("drift", name, "json");
        assert_eq!(code, Some(1), "{name}");
        assert_eq!(drift_rules(&json), expected, "{name}");
        // Only the drift rules: no workload or RBAC findings.
        let report: Value = serde_json::from_str(&json).unwrap();
        assert!(report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["rule"].as_str().unwrap().starts_with("CRL-D")));
        // Text names every rule too, each at a file and line.
        let (code, text) = run("drift", name, "text");
        assert_eq!(code, Some(1));
        for rule in &expected {
            assert!(text.contains(&format!("[{rule}]")), "{name}: {text}");
        }
        assert!(text.contains("  --> "), "{text}");
        // scan --cloud has the same drift findings.
        let (_, json) = run("scan", name, "json");
        assert_eq!(drift_rules(&json), expected, "scan {name}");

        let consistent = format!("{name}-consistent");
        let (code, text) = run("drift", &consistent, "text");
        assert_eq!(code, Some(0), "{consistent}: {text}");
        let (_, json) = run("drift", &consistent, "json");
        assert!(drift_rules(&json).is_empty(), "{consistent}");
    }
}
