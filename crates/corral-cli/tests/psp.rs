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

/// `corral psp map PATH --format json` in `dir`.
fn map_json(dir: &Path, path: &str) -> Value {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(dir)
        .args(["psp", "map", path, "--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_example_psp_is_mapped_field_by_field() {
    let value = map_json(&workspace(), "examples/legacy-psp.yaml");
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
    let value = map_json(&workspace(), "examples");
    let web = value["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "web")
        .unwrap()
        .clone();
    assert_eq!(web["serviceAccount"], "web");
    assert_eq!(web["usable"], serde_json::json!(["restricted"]));
    // It may use restricted, which does not admit a privileged container.
    assert_eq!(web["psp"], Value::Null);
    assert_eq!(
        web["denied"],
        serde_json::json!([{"psp": "restricted", "reasons": ["container `web` is privileged"]}])
    );
    assert_eq!(web["grants"][0]["subject"], "Group system:serviceaccounts");
    assert_eq!(
        web["grants"][0]["binding"],
        "ClusterRoleBinding psp:restricted:all-service-accounts"
    );
}

#[test]
fn a_workload_that_meets_restricted_only_through_the_psp_relies_on_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cluster.yaml"),
        r#"apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata:
  name: restricted
  annotations:
    seccomp.security.alpha.kubernetes.io/allowedProfileNames: runtime/default
    seccomp.security.alpha.kubernetes.io/defaultProfileName: runtime/default
    apparmor.security.beta.kubernetes.io/allowedProfileNames: runtime/default
spec:
  allowPrivilegeEscalation: false
  requiredDropCapabilities: [ALL]
  volumes: [configMap, secret]
  runAsUser: {rule: MustRunAsNonRoot}
  seLinux: {rule: MustRunAs}
  supplementalGroups: {rule: RunAsAny}
  fsGroup: {rule: RunAsAny}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: psp-restricted}
rules: [{apiGroups: [policy], resources: [podsecuritypolicies], resourceNames: [restricted], verbs: [use]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: psp, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: psp-restricted}
subjects: [{kind: Group, name: "system:serviceaccounts:shop"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - {name: api, image: "registry.example.com/api:1.0"}
"#,
    )
    .unwrap();
    let value = map_json(dir.path(), "cluster.yaml");
    assert_eq!(value["psps"][0]["level"], "restricted");
    let api = &value["workloads"][0];
    assert_eq!(api["psp"], "restricted");
    assert_eq!(api["levelAsWritten"], "baseline");
    assert_eq!(api["levelWithPsp"], "restricted");
    assert_eq!(api["reliesOnMutation"], true);
    let fields: Vec<&str> = api["mutations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "containers[0].securityContext.allowPrivilegeEscalation",
            "containers[0].securityContext.capabilities.drop",
            "containers[0].securityContext.runAsNonRoot",
            "securityContext.seccompProfile.type",
        ]
    );
}
