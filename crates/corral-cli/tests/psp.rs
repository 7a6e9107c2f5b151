//! `corral psp map` on the example PodSecurityPolicy: its level, the field
//! that limits it, what it mutates and what PSS cannot express.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn the_example_psp_is_mapped_field_by_field() {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .args(["psp", "map", "examples/legacy-psp.yaml", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    let psp = &value["psps"][0];
    assert_eq!(psp["name"], "restricted");
    // seLinux RunAsAny lets pods choose any SELinux type: beyond baseline.
    assert_eq!(psp["level"], "privileged");
    assert_eq!(psp["limiting"], serde_json::json!(["spec.seLinux"]));
    assert_eq!(psp["mutating"], true);
    let field = |name: &str| {
        psp["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        field("spec.requiredDropCapabilities")["verdict"],
        serde_json::json!({"level": "restricted"})
    );
    assert_eq!(
        field("spec.readOnlyRootFilesystem")["verdict"],
        "no-opinion"
    );
    assert_eq!(
        field("spec.readOnlyRootFilesystem")["lostControl"],
        "containers must run with a read-only root filesystem"
    );
    assert_eq!(
        field("spec.runAsUser")["mutates"],
        "sets runAsNonRoot: true when no non-zero runAsUser is set"
    );
}

#[test]
fn workloads_get_the_psps_their_service_account_may_use() {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .args(["psp", "map", "examples", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    let web = value["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "web")
        .unwrap()
        .clone();
    assert_eq!(web["serviceAccount"], "web");
    assert_eq!(web["usable"], serde_json::json!(["restricted"]));
    assert_eq!(web["psp"], "restricted");
    assert_eq!(web["grants"][0]["subject"], "Group system:serviceaccounts");
    assert_eq!(
        web["grants"][0]["binding"],
        "ClusterRoleBinding psp:restricted:all-service-accounts"
    );
}
