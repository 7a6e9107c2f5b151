//! `deploy/`: the Helm chart renders to the plain manifests committed
//! beside it (`deploy/corral.yaml`; `CORRAL_UPDATE_DEPLOY=1` rewrites
//! them), its CRD and snapshot ClusterRole are the ones `deploy/` ships,
//! and the manifests pass Corral's own checks: `corral scan` with nothing
//! unexplained, the operator at Pod Security `restricted`, and the
//! recorder failing `baseline` on exactly what an eBPF recorder needs.
//!
//! The chart's templates use only `{{ .Values.PATH }}` and
//! `{{ .Release.Namespace }}`, which the test renders itself: `helm` is
//! not installable on this project's machines (not in Debian 12, PyPI,
//! npm or crates.io), so `helm lint` and `helm template` cannot run here;
//! any other template action fails the test rather than go unrendered.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The chart rendered as `helm template corral deploy/chart/corral
/// --namespace corral` would, for the template actions it uses.
fn render() -> String {
    let chart = deploy().join("chart/corral");
    let values_text = std::fs::read_to_string(chart.join("values.yaml")).unwrap();
    let values =
        corral_core::parse_config("values.yaml", &values_text, &corral_core::Limits::default())
            .unwrap()
            .unwrap();
    let mut templates: Vec<PathBuf> = std::fs::read_dir(chart.join("templates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    templates.sort();
    let mut out =
        String::from("# Rendered from deploy/chart/corral (namespace corral); do not edit.\n");
    for template in templates {
        let text = std::fs::read_to_string(&template).unwrap();
        let name = template.file_name().unwrap().to_string_lossy().into_owned();
        out.push_str(&format!("---\n# Source: corral/templates/{name}\n"));
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("a closed action") + start;
            let action = rest[start + 2..end].trim();
            let value = match action {
                ".Release.Namespace" => "corral".to_string(),
                _ => {
                    let path = action.strip_prefix(".Values.").unwrap_or_else(|| {
                        panic!("{name}: unsupported template action {{{{ {action} }}}}")
                    });
                    values
                        .at(path)
                        .and_then(|v| v.as_str())
                        .unwrap_or_else(|| panic!("{name}: no value {path}"))
                        .to_string()
                }
            };
            out.push_str(&value);
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
    }
    out
}

#[test]
fn the_chart_renders_to_the_committed_manifests() {
    let rendered = render();
    let committed = deploy().join("corral.yaml");
    if std::env::var_os("CORRAL_UPDATE_DEPLOY").is_some() {
        std::fs::write(&committed, &rendered).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&committed).unwrap(),
        rendered,
        "deploy/corral.yaml is stale: run the test with CORRAL_UPDATE_DEPLOY=1"
    );
    assert_eq!(
        std::fs::read_to_string(deploy().join("chart/corral/crds/recording.yaml")).unwrap(),
        std::fs::read_to_string(deploy().join("crds/recording.yaml")).unwrap()
    );
    let snapshot_role =
        std::fs::read_to_string(deploy().join("snapshot-clusterrole.yaml")).unwrap();
    let template =
        std::fs::read_to_string(deploy().join("chart/corral/templates/snapshot-clusterrole.yaml"))
            .unwrap();
    assert!(
        snapshot_role.starts_with(&template),
        "the chart's corral-snapshot ClusterRole is deploy/snapshot-clusterrole.yaml's"
    );
}

fn corral(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(deploy())
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_manifests_pass_corrals_own_checks() {
    // Scan: nothing high or worse but what the recorder's annotation
    // explains (`corral.dev/ignore` with its reason).
    let (code, stdout, stderr) = corral(&[
        "scan",
        "corral.yaml",
        "crds/recording.yaml",
        "snapshot-clusterrole.yaml",
        "--show-suppressed",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let open: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppressed"].is_null())
        .map(|f| format!("{} {} {}", f["rule"], f["kind"], f["severity"]))
        .collect();
    // An image we publish no digest for yet (low) is all that is left.
    // Each workload's `corral.dev/ignore` names exactly the rules it
    // breaks: no stale entry.
    for (workload, listed) in [
        (
            "corral-recorder",
            "CRL-P004,CRL-P005,CRL-P012,CRL-P013,CRL-P014,CRL-W006,CRL-W011,CRL-W018",
        ),
        ("corral-operator", "CRL-W018"),
    ] {
        let text = std::fs::read_to_string(deploy().join("corral.yaml")).unwrap();
        assert!(text.contains(&format!("corral.dev/ignore: {listed}\n")));
        let suppressed: BTreeSet<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["suppressed"].is_null() && f["name"] == workload)
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert_eq!(suppressed, listed.split(',').collect(), "{workload}");
    }
    assert!(
        open.iter().all(|f| f.starts_with("\"CRL-W014\"")),
        "{open:?}"
    );

    // PSS: the operator meets restricted; the recorder breaks baseline on
    // exactly its capabilities, hostPID and its read-only host paths.
    let (_, stdout, stderr) = corral(&[
        "pss",
        "corral.yaml",
        "--level",
        "restricted",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let result = |name: &str| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no result for {name}"))
            .clone()
    };
    assert_eq!(
        result("corral-operator")["allowed"],
        true,
        "{:#}",
        result("corral-operator")
    );
    let (_, stdout, _) = corral(&[
        "pss",
        "corral.yaml",
        "--level",
        "baseline",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let recorder = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "corral-recorder")
        .unwrap()
        .clone();
    let checks: BTreeSet<&str> = recorder["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        checks,
        BTreeSet::from(["capabilities_baseline", "hostNamespaces", "hostPathVolumes"])
    );
}
