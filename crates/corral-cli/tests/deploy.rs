//! `deploy/`: the Helm chart renders to the plain manifests committed
//! beside it (`deploy/corral.yaml`; `CORRAL_UPDATE_DEPLOY=1` rewrites
//! them), its CRD and snapshot ClusterRole are the ones `deploy/` ships,
//! and the manifests pass Corral's own checks: `corral scan` with nothing
//! unexplained, the operator at Pod Security `restricted`, and the
//! recorder failing `baseline` on exactly what an eBPF recorder needs.
//!
//! Helm itself lints and renders the chart: the Helm v4 library that
//! helm-sdkpy (PyPI) bundles, driven by `tests/helm/render.py` with the
//! Python `scripts/test.sh` names in `HELM_PYTHON`. `helm lint` must report
//! no warning and no error, and the rendering is what `helm template corral
//! deploy/chart/corral --namespace corral` prints (helm-sdkpy has no
//! client-only template action: the script runs Helm's install against a
//! loopback stub API server that discards every write; see its docstring).

mod installed;
use installed::tool;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// Helm's lint messages and rendering of the chart, or None outside CI
/// without helm-sdkpy.
fn helm() -> Option<(Vec<Value>, String)> {
    let python = tool("HELM_PYTHON")?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helm/render.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(deploy().join("chart/corral"))
        .args(["corral", "corral"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "helm: {stderr}");
    let result: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("helm's output: {e}: {stderr}"));
    let lint = result["lint"].as_array().expect("lint messages").clone();
    let manifest = result["manifest"].as_str().expect("a manifest").to_string();
    Some((lint, manifest))
}

#[test]
fn helm_lints_the_chart_clean_and_renders_the_committed_manifests() {
    let Some((lint, rendered)) = helm() else {
        return;
    };
    // Helm's linter: information (Chart.yaml's icon: none is published)
    // only; no warning, no error.
    let problems: Vec<&Value> = lint.iter().filter(|m| m["severity"] != "info").collect();
    assert!(problems.is_empty(), "helm lint: {problems:?}");
    assert!(rendered.starts_with("---\n# Source: corral/templates/"));
    let committed = deploy().join("corral.yaml");
    if std::env::var_os("CORRAL_UPDATE_DEPLOY").is_some() {
        std::fs::write(&committed, &rendered).unwrap();
    }
    assert!(
        std::fs::read_to_string(&committed).unwrap() == rendered,
        "deploy/corral.yaml is not what Helm renders: run the test with CORRAL_UPDATE_DEPLOY=1"
    );
}

#[test]
fn the_chart_ships_deploys_crd_and_snapshot_role() {
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
