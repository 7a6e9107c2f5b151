//! `corral drift --cloud` and `corral scan --cloud` on the drift
//! scenarios (`crates/corral-scan/tests/fixtures/drift/`), driving the
//! binary: every drifted scenario exits 1 with the rules it holds, in text
//! and JSON alike, `scan --cloud` reports the same drift findings among
//! its others, and each consistent account exits 0. Runtime drift: a
//! command recording checked against the policies advised from an earlier
//! one, its pods found in the inventory as `advise` finds them, each
//! drift a finding of a `CRL-B` rule in every report format, at the
//! workload's container in the manifests, else at the recording.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

mod installed;

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

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A command recording of workload `web` (`corral record --workload web`)
/// that connected to `peers` (TCP, port 443 or 5432) and made the example
/// frontend's syscalls plus `extra` (number, name).
fn command_recording(peers: &[(&str, u16)], extra: Option<(u32, &str)>) -> Value {
    let path = workspace().join(
        "examples/advise-demo/recordings/shop_frontend-6d4b9c8f6d-x2x9q_frontend_frontend-1.json",
    );
    let mut r: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    r.as_object_mut().unwrap().remove("container");
    r["runs"][0]["command"] = json!(["/app"]);
    r["runs"][0]["workload"] = json!("web");
    let activity = &mut r["workload"];
    activity["connects"] = Value::Array(
        peers
            .iter()
            .map(|(address, port)| json!({"address": address, "port": port, "count": 1, "runs": 1}))
            .collect(),
    );
    for key in ["accepts", "listeners", "udp", "dnsQueries"] {
        activity[key] = json!([]);
    }
    if let Some((number, name)) = extra {
        let syscalls = activity["syscalls"].as_array_mut().unwrap();
        let at = syscalls
            .iter()
            .position(|s| s["number"].as_u64().unwrap() > number as u64)
            .unwrap_or(syscalls.len());
        syscalls.insert(at, json!({"number": number, "name": name, "runs": 1}));
    }
    r
}

/// Deployment default/web, its pod (through its ReplicaSet), the cluster
/// DNS.
const INVENTORY: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: main
          image: busybox
---
apiVersion: v1
kind: Pod
metadata:
  name: web-6d4b9c8f6d-x2x9q
  namespace: default
  labels: {app: web, pod-template-hash: 6d4b9c8f6d}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-6d4b9c8f6d, uid: u, controller: true}]
spec: {containers: [{name: main, image: busybox}]}
status: {podIP: 10.1.0.2, podIPs: [{ip: 10.1.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns-1, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec: {containers: [{name: coredns, image: coredns}]}
status: {podIP: 10.1.0.53}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  selector: {k8s-app: kube-dns}
  clusterIP: 10.96.0.10
  ports: [{name: dns, port: 53, protocol: UDP, targetPort: 53}]
";

fn corral_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn runtime_drift_of_a_command_recording_is_found_and_reported_as_rules() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("inventory.yaml"), INVENTORY).unwrap();
    let write = |name: &str, value: &Value| {
        fs::write(d.join(name), serde_json::to_vec_pretty(value).unwrap()).unwrap();
    };
    write(
        "before.json",
        &command_recording(&[("203.0.113.5", 443)], None),
    );
    // Another file name: `--workload web` names it, not its stem.
    write(
        "after.json",
        &command_recording(
            &[("203.0.113.5", 443), ("198.51.100.7", 5432)],
            Some((101, "ptrace")),
        ),
    );
    let (code, summary, stderr) = corral_in(
        d,
        &[
            "advise",
            "all",
            "--recording",
            "before.json",
            "--inventory",
            "inventory.yaml",
            "-o",
            "policies",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(summary.contains("## default/web\n"), "{summary}");
    assert!(
        summary.contains("as named with corral record --workload"),
        "{summary}"
    );
    let netpol = fs::read_to_string(d.join("policies/netpol/default-web.yaml")).unwrap();
    assert!(netpol.contains("203.0.113.5/32"), "{netpol}");

    let drift = |recording: &str, format: &str, extra: &[&str]| {
        let mut args = vec![
            "drift",
            "--recording",
            recording,
            "--policies",
            "policies",
            "--format",
            format,
        ];
        args.extend_from_slice(extra);
        corral_in(d, &args)
    };
    // The same behaviour: no drift.
    let (code, json, stderr) = drift("before.json", "json", &["--inventory", "inventory.yaml"]);
    assert_eq!(code, Some(0), "{json}{stderr}");
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["findings"], json!([]), "{json}");

    // The new connection and the new syscall, as CRL-B rules at the
    // Deployment's container (the inventory stands for the manifests).
    let (code, json, stderr) = drift("after.json", "json", &["--inventory", "inventory.yaml"]);
    assert_eq!(code, Some(1), "{json}{stderr}");
    let report: Value = serde_json::from_str(&json).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let rules: BTreeSet<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, BTreeSet::from(["CRL-B001", "CRL-B006"]), "{json}");
    let egress = findings.iter().find(|f| f["rule"] == "CRL-B006").unwrap();
    assert!(
        egress["message"]
            .as_str()
            .unwrap()
            .contains("198.51.100.7 port 5432/TCP is denied"),
        "{egress}"
    );
    let syscall = findings.iter().find(|f| f["rule"] == "CRL-B001").unwrap();
    assert!(
        syscall["message"].as_str().unwrap().contains("ptrace"),
        "{syscall}"
    );
    assert_eq!(syscall["file"], "inventory.yaml");
    assert_eq!(syscall["line"], 10, "at `- name: main`: {syscall}");
    assert_eq!(syscall["kind"], "Deployment");
    // A flow is the pods', all containers together: at their list.
    assert_eq!(egress["line"], 9, "{egress}");

    // Text and GitHub annotations name the rules too.
    let (code, text, _) = drift("after.json", "text", &["--inventory", "inventory.yaml"]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("[CRL-B006]") && text.contains("[CRL-B001]"),
        "{text}"
    );
    assert!(text.contains("  --> inventory.yaml:10"), "{text}");
    let (_, github, _) = drift("after.json", "github", &["--inventory", "inventory.yaml"]);
    assert!(
        github.contains("::error file=inventory.yaml,line=10") && github.contains("CRL-B001"),
        "{github}"
    );
    // Gating like scan's: below --fail-on it passes.
    let (code, _, _) = drift(
        "after.json",
        "json",
        &["--inventory", "inventory.yaml", "--fail-on", "critical"],
    );
    assert_eq!(code, Some(0));

    // Without manifests or inventory: at the recording file, and no flow
    // check.
    let (code, json, _) = drift("after.json", "json", &[]);
    assert_eq!(code, Some(1));
    let report: Value = serde_json::from_str(&json).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{json}");
    assert_eq!(findings[0]["rule"], "CRL-B001");
    assert_eq!(findings[0]["file"], "after.json");

    // SARIF, valid by Microsoft's SARIF Multitool.
    let (code, sarif, stderr) = drift("after.json", "sarif", &["--inventory", "inventory.yaml"]);
    assert_eq!(code, Some(1), "{stderr}");
    let parsed: Value = serde_json::from_str(&sarif).unwrap();
    let ids: BTreeSet<&str> = parsed["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, BTreeSet::from(["CRL-B001", "CRL-B006"]));
    if let Some(multitool) = installed::tool("SARIF_MULTITOOL") {
        let file = d.join("drift.sarif");
        fs::write(&file, &sarif).unwrap();
        installed::assert_sarif_valid(&multitool, &file, &[]);
    }
}
