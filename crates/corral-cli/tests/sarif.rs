//! Corral's SARIF passes Microsoft's SARIF Multitool validation with no
//! error or warning. `scripts/test.sh` installs the tool and sets
//! `SARIF_MULTITOOL`; CI must have it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod installed;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The SARIF Multitool, if installed (CI always has it).
fn multitool() -> Option<std::ffi::OsString> {
    installed::tool("SARIF_MULTITOOL")
}

use installed::assert_sarif_valid as assert_valid;

#[test]
fn pss_sarif_validates() {
    let Some(multitool) = multitool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("pss.sarif");
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .args(["pss", "examples", "--format", "sarif", "--output"])
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_valid(&multitool, &sarif, &[]);
}

#[test]
fn scan_sarif_passes_githubs_rules() {
    let Some(multitool) = multitool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("scan.sarif");
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .args(["scan", "examples", "--format", "sarif", "--output"])
        .arg(&sarif)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = value["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
        assert!(result["partialFingerprints"]["primaryLocationLineHash"].is_string());
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(uri.starts_with("examples/"), "{uri}");
    }
    assert_valid(&multitool, &sarif, &["--rule-kind", "Gh;Sarif"]);
}

#[test]
fn paths_sarif_passes_githubs_rules() {
    let Some(multitool) = multitool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("paths.sarif");
    let data = "crates/corral-paths/tests/data/aws";
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .args(["paths", &format!("{data}/cluster.yaml"), "--cloud"])
        .args(
            [
                "authorization-details.json",
                "describe-cluster.json",
                "describe-instances.json",
                "describe-pod-identity-association.json",
                "describe-access-entry.json",
                "list-associated-access-policies.json",
            ]
            .map(|f| format!("{data}/{f}")),
        )
        .args(["--format", "sarif", "--output"])
        .arg(&sarif)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = value["runs"][0]["results"].as_array().unwrap();
    // payments reaches the admin role and, through it, cluster-admin.
    let payments: Vec<&str> = results
        .iter()
        .filter(|r| {
            r["message"]["text"]
                .as_str()
                .unwrap()
                .starts_with("container/shop/payments/payments reaches")
        })
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(payments, ["CRL-A003"], "{results:#?}");
    for result in results {
        let location = &result["locations"][0]["physicalLocation"];
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
        assert_eq!(
            location["artifactLocation"]["uri"],
            format!("{data}/cluster.yaml")
        );
        let flow = result["codeFlows"][0]["threadFlows"][0]["locations"]
            .as_array()
            .unwrap();
        assert!(!flow.is_empty());
    }
    assert_valid(&multitool, &sarif, &["--rule-kind", "Gh;Sarif"]);
}

/// `corral drift --cloud` in SARIF, on the EKS drift scenario: results in
/// the manifest and in the cloud's files, each at its line, valid for
/// GitHub. The same account in step with its cluster: no result, exit 0.
#[test]
fn drift_sarif_passes_githubs_rules() {
    let Some(multitool) = multitool() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = "crates/corral-scan/tests/fixtures/drift";
    let drift = |scenario: &str, sarif: &Path| {
        let cloud: Vec<String> = std::fs::read_dir(workspace().join(data).join(scenario))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".json"))
            .map(|f| format!("{data}/{scenario}/{f}"))
            .collect();
        Command::cargo_bin("corral")
            .unwrap()
            .current_dir(workspace())
            .args([
                "drift",
                &format!("{data}/{scenario}/cluster.yaml"),
                "--cloud",
            ])
            .args(&cloud)
            .args(["--format", "sarif", "--output"])
            .arg(sarif)
            .output()
            .unwrap()
    };
    let sarif = dir.path().join("drift.sarif");
    let output = drift("aws", &sarif);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = value["runs"][0]["results"].as_array().unwrap();
    let mut places: Vec<String> = results
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            format!(
                "{} {}",
                r["ruleId"].as_str().unwrap(),
                location["artifactLocation"]["uri"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
            )
        })
        .collect();
    places.dedup();
    assert!(
        places.contains(&"CRL-D001 cluster.yaml".to_string()),
        "{places:?}"
    );
    assert!(
        places.contains(&"CRL-D003 authorization-details.json".to_string()),
        "{places:?}"
    );
    assert_valid(&multitool, &sarif, &["--rule-kind", "Gh;Sarif"]);
    let clean = dir.path().join("clean.sarif");
    let output = drift("aws-consistent", &clean);
    assert_eq!(output.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&clean).unwrap()).unwrap();
    assert!(value["runs"][0]["results"].as_array().unwrap().is_empty());
}
