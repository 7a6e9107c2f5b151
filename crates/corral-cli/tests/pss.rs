//! End-to-end tests of `corral pss`, driving the real binary.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

mod shared;

fn corral() -> Command {
    Command::cargo_bin("corral").unwrap()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The top-level examples (`examples/psp-migration/` has tests of its own).
const EXAMPLES: [&str; 5] = [
    "examples/jobs.yaml",
    "examples/legacy-psp.yaml",
    "examples/rbac.json",
    "examples/rollout.yaml",
    "examples/web.yaml",
];

fn run_json(args: &[&str]) -> (Option<i32>, Value) {
    let output = corral()
        .current_dir(workspace())
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    (output.status.code(), value)
}

#[test]
fn examples_report_strictest_levels_fields_and_namespace_labels() {
    let (code, report) = run_json(&[&["pss"][..], &EXAMPLES].concat());
    assert_eq!(code, Some(0));
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let web = results.iter().find(|r| r["kind"] == "Deployment").unwrap();
    assert_eq!(web["strictest"], "privileged");
    assert_eq!(web["allowed"], false);
    let privileged = web["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["check"] == "privileged")
        .unwrap();
    assert_eq!(
        (privileged["line"].as_u64(), privileged["column"].as_u64()),
        (Some(35), Some(13))
    );
    assert_eq!(
        privileged["field"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert_eq!(
        privileged["detail"],
        r#"container "web" must not set securityContext.privileged=true"#
    );
    // The Namespace in the input enforces baseline: the template would be warned about.
    assert_eq!(
        web["namespacePolicy"]["enforce"]["policy"],
        "baseline:latest"
    );
    assert_eq!(web["namespacePolicy"]["enforce"]["allowed"], false);
    let shop = &report["namespaces"][0];
    assert_eq!(
        (
            shop["name"].as_str(),
            shop["strictest"].as_str(),
            shop["workloads"].as_u64()
        ),
        (Some("shop"), Some("privileged"), Some(3))
    );
    assert_eq!(
        shop["labels"]["pod-security.kubernetes.io/enforce-version"],
        "v1.37"
    );
    assert_eq!(
        shop["labels"]["pod-security.kubernetes.io/warn"],
        "baseline"
    );
}

#[test]
fn level_flag_sets_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    fs::write(&good, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n  containers: [{name: c, image: x, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]\n").unwrap();
    let bad = dir.path().join("bad.yaml");
    fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostPID: true, containers: [{name: c, image: x}]}\n").unwrap();
    let status = |args: &[&str], file: &Path| {
        corral()
            .args(args)
            .arg(file)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(status(&["pss", "--level", "restricted"], &good), Some(0));
    assert_eq!(status(&["pss", "--level", "baseline"], &bad), Some(1));
    let output = corral()
        .args(["pss", "--level", "baseline"])
        .arg(&bad)
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(r#"violates PodSecurity "baseline:latest": host namespaces (hostPID=true)"#),
        "{text}"
    );
    assert!(
        text.contains("bad.yaml:4:8: host namespaces: hostPID=true (hostNamespaces)"),
        "{text}"
    );
}

#[test]
fn versions_are_validated_and_clamped() {
    let output = corral()
        .args(["pss", "--version", "v1.05"])
        .args(EXAMPLES)
        .current_dir(workspace())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains(r#"must be "latest" or "v1.N""#));
    let (code, report) = run_json(&[
        "pss",
        "--level",
        "baseline",
        "--version",
        "v1.10000",
        "examples/web.yaml",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(
        report["results"][0]["message"]
            .as_str()
            .unwrap()
            .split(':')
            .next(),
        Some(r#"would violate PodSecurity "baseline"#)
    );
    assert!(report["results"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with(r#"would violate PodSecurity "baseline:v1.10000""#));
    let output = corral()
        .args(["pss", "--level", "privileged"])
        .args(EXAMPLES)
        .current_dir(workspace())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn exemptions_from_a_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("psa.yaml");
    fs::write(&config, "apiVersion: pod-security.admission.config.k8s.io/v1\nkind: PodSecurityConfiguration\ndefaults: {enforce: baseline}\nexemptions: {namespaces: [shop], runtimeClasses: [], usernames: []}\n").unwrap();
    let (code, report) = run_json(
        &[
            &[
                "pss",
                "--level",
                "restricted",
                "--config",
                config.to_str().unwrap(),
            ][..],
            &EXAMPLES,
        ]
        .concat(),
    );
    assert_eq!(code, Some(0), "every workload is in an exempt namespace");
    assert_eq!(report["results"][0]["exempt"], "namespace shop is exempt");
    assert_eq!(report["namespaces"][0]["exempt"], true);
}

#[test]
fn sarif_points_at_fields() {
    let output = corral()
        .current_dir(workspace())
        .args(["pss", "examples/web.yaml", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    // Columns count Unicode code points, as everywhere in Corral.
    assert_eq!(sarif["runs"][0]["columnKind"], "unicodeCodePoints");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let privileged = results
        .iter()
        .find(|r| r["ruleId"] == "privileged")
        .unwrap();
    let region = &privileged["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(35), Some(13))
    );
    assert_eq!(
        privileged["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "examples/web.yaml"
    );
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 19);
    assert_eq!(
        rules[privileged["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "privileged"
    );
}

#[test]
fn shared_corpus_is_evaluated() {
    if shared::shared("corpus").is_none() {
        return;
    }
    let (code, report) = run_json(&["pss", "../shared/corpus", "--quiet"]);
    // Three corpus objects hold placeholders where numbers belong: input errors.
    assert_eq!(code, Some(2));
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 550);
    let count = |level: &str| results.iter().filter(|r| r["strictest"] == level).count();
    assert_eq!(
        (count("restricted"), count("baseline"), count("privileged")),
        (64, 435, 51)
    );
}
