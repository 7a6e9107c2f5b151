//! `corral advise netpol --format cilium|calico`, driven as a user would:
//! the demo's recordings (from real runc containers), with the frontend's
//! recording given a SaaS API it looked up by name and one address it
//! reached with no lookup. The policies name the API, keep the other
//! address as a flagged CIDR, pass the command's own proof (and, for
//! Calico, the project's CRD schema), and the output is the same each run.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The demo's recordings, the frontend's with the external peers added.
fn recordings(dir: &Path) -> PathBuf {
    let out = dir.join("recordings");
    std::fs::create_dir_all(&out).unwrap();
    let demo = workspace().join("examples/advise-demo/recordings");
    for entry in std::fs::read_dir(&demo).unwrap() {
        let path = entry.unwrap().path();
        let mut recording: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let name = path.file_name().unwrap().to_owned();
        if name.to_string_lossy().contains("frontend") {
            let workload = &mut recording["workload"];
            let connects = workload["connects"].as_array_mut().unwrap();
            connects.push(json!({"address": "203.0.113.7", "port": 443, "count": 2, "runs": 1}));
            connects.push(json!({"address": "198.51.100.9", "port": 8443, "count": 1, "runs": 1}));
            workload["dnsQueries"] = json!([
                {"name": "api.example.com", "type": "A", "answers": ["203.0.113.7"], "count": 1, "runs": 1},
                {"name": "api.example.com.shop.svc.cluster.local", "type": "A", "answers": [], "count": 1, "runs": 1}
            ]);
        }
        std::fs::write(out.join(name), serde_json::to_vec(&recording).unwrap()).unwrap();
    }
    out
}

fn run(recordings: &Path, inventory: &Path, format: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_corral"))
        .args(["advise", "netpol", "--format", format, "--recording"])
        .arg(recordings)
        .arg("--inventory")
        .arg(inventory)
        .output()
        .unwrap()
}

fn advise(recordings: &Path, format: &str) -> (String, String) {
    let output = run(
        recordings,
        &workspace().join("examples/advise-demo/inventory.yaml"),
        format,
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{format}: {stderr}\n{stdout}");
    (stdout, stderr)
}

/// The YAML documents of the output, as JSON.
fn documents(text: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policies.yaml");
    std::fs::write(&path, text).unwrap();
    let loaded = corral_core::load(
        &[corral_core::Input::Path(path)],
        &corral_core::Limits::default(),
    );
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    loaded.objects.iter().map(|o| to_json(&o.root)).collect()
}

fn to_json(node: &corral_core::Node) -> Value {
    use corral_core::{ScalarKind, Value as Y};
    match &node.value {
        Y::Scalar(s) => match s.kind {
            ScalarKind::Null => Value::Null,
            ScalarKind::Bool(b) => json!(b),
            ScalarKind::Int | ScalarKind::Float => json!(s.as_i64().unwrap()),
            ScalarKind::Str => json!(s.text.as_str()),
        },
        Y::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Y::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|e| (e.key.to_string(), to_json(&e.value)))
                .collect(),
        ),
    }
}

fn frontend(documents: &[Value]) -> &Value {
    documents
        .iter()
        .find(|d| d["metadata"]["name"] == "frontend-corral")
        .expect("a policy for the frontend")
}

#[test]
fn cilium_policies_name_the_peers_looked_up() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = recordings(dir.path());
    let (stdout, stderr) = advise(&recordings, "cilium");
    let docs = documents(&stdout);
    assert_eq!(docs.len(), 3, "{stdout}");
    assert!(docs.iter().all(|d| d["kind"] == "CiliumNetworkPolicy"));
    let egress = frontend(&docs)["spec"]["egress"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        egress.contains(&json!({"toFQDNs": [{"matchName": "api.example.com"}],
        "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]})),
        "{stdout}"
    );
    assert!(
        egress.contains(&json!({"toCIDR": ["198.51.100.9/32"],
        "toPorts": [{"ports": [{"port": "8443", "protocol": "TCP"}]}]})),
        "{stdout}"
    );
    assert_eq!(
        egress[0]["toPorts"][0]["rules"]["dns"],
        json!([{"matchName": "api.example.com"}, {"matchName": "api.example.com.shop.svc.cluster.local"}])
    );
    assert!(
        stderr.contains("198.51.100.9") && stderr.contains("warning"),
        "{stderr}"
    );
    // Deterministic.
    assert_eq!(advise(&recordings, "cilium").0, stdout);
}

#[test]
fn calico_policies_name_the_peers_looked_up() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = recordings(dir.path());
    let (stdout, _) = advise(&recordings, "calico");
    let docs = documents(&stdout);
    assert_eq!(docs.len(), 3, "{stdout}");
    assert!(docs
        .iter()
        .all(|d| d["apiVersion"] == "projectcalico.org/v3"));
    let policy = frontend(&docs);
    assert_eq!(policy["spec"]["selector"], "app == 'frontend'");
    let egress = policy["spec"]["egress"].as_array().unwrap();
    assert!(
        egress.contains(&json!({"action": "Allow", "protocol": "TCP",
        "destination": {"domains": ["api.example.com"], "ports": [443]}})),
        "{stdout}"
    );
    // The default format is unchanged: the address, with the name noted.
    let (kubernetes, _) = advise(&recordings, "yaml");
    assert!(kubernetes.contains("203.0.113.7/32"), "{kubernetes}");
    assert!(!kubernetes.contains("toFQDNs"));
}

/// A label value Cilium's CRD refuses (longer than 63 characters, which
/// the API server would refuse on the pod too): the command checks each
/// object against the CRD and fails, naming the field, as it does when its
/// proof fails.
#[test]
fn a_policy_the_crd_refuses_fails_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = recordings(dir.path());
    let long = "f".repeat(70);
    let inventory =
        std::fs::read_to_string(workspace().join("examples/advise-demo/inventory.yaml"))
            .unwrap()
            .replace("app: frontend", &format!("app: {long}"));
    let path = dir.path().join("inventory.yaml");
    std::fs::write(&path, inventory).unwrap();
    let output = run(&recordings, &path, "cilium");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("the CRD schema refuses the policy") && stderr.contains("/spec/"),
        "{stderr}"
    );
    // The Kubernetes format has no such schema check here.
    assert!(run(&recordings, &path, "yaml").status.success());
}
