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

/// `corral psp map PATHS --format json` in `dir`.
fn map_json(dir: &Path, paths: &[&str]) -> Value {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(dir)
        .args(["psp", "map", "--format", "json"])
        .args(paths)
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
    let value = map_json(&workspace(), &["examples/legacy-psp.yaml"]);
    let psp = &value["psps"][0];
    assert_eq!(psp["name"], "restricted");
    // seLinux RunAsAny lets pods choose any SELinux type: beyond baseline.
    assert_eq!(psp["level"], "privileged");
    // So does the missing AppArmor allow-list: pods may run unconfined.
    assert_eq!(
        psp["limiting"],
        serde_json::json!([
            "spec.seLinux",
            "apparmor.security.beta.kubernetes.io/allowedProfileNames"
        ])
    );
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
        field("spec.requiredDropCapabilities")["level"],
        "restricted"
    );
    assert_eq!(field("spec.readOnlyRootFilesystem")["level"], "no-opinion");
    assert_eq!(
        field("spec.readOnlyRootFilesystem")["lost_control"],
        "containers must run with a read-only root filesystem"
    );
    assert_eq!(field("spec.runAsUser")["mutating"], true);
    assert_eq!(
        field("spec.runAsUser")["injects"],
        "sets runAsNonRoot: true when no non-zero runAsUser is set"
    );
}

#[test]
fn workloads_get_the_psps_their_service_account_may_use() {
    let value = map_json(
        &workspace(),
        &[
            "examples/legacy-psp.yaml",
            "examples/web.yaml",
            "examples/rbac.json",
        ],
    );
    let web = value["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "web")
        .unwrap()
        .clone();
    assert_eq!(web["service_account"], "web");
    assert_eq!(web["usable_psps"], serde_json::json!(["restricted"]));
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
    apparmor.security.beta.kubernetes.io/defaultProfileName: runtime/default
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
    let value = map_json(dir.path(), &["cluster.yaml"]);
    assert_eq!(value["psps"][0]["level"], "restricted");
    let api = &value["workloads"][0];
    assert_eq!(api["psp"], "restricted");
    assert_eq!(api["level_as_written"], "baseline");
    assert_eq!(api["level_after_patches"], "restricted");
    assert_eq!(api["relies_on_mutation"], true);
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
            "metadata.annotations[container.apparmor.security.beta.kubernetes.io/api]",
            "securityContext.seccompProfile.type",
        ]
    );
}

/// `corral psp plan ARGS` in the workspace: its standard output.
fn plan(args: &[&str]) -> String {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .args(["psp", "plan"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

const EXAMPLE: &str = "examples/psp-migration";

#[test]
fn the_example_cluster_plan_is_pinned() {
    insta::assert_snapshot!("plan_text", plan(&[EXAMPLE]));
    insta::assert_snapshot!("plan_markdown", plan(&[EXAMPLE, "--format", "markdown"]));
    let json = plan(&[EXAMPLE, "--format", "json"]);
    insta::assert_snapshot!("plan_json", json);
    // The documented schema.
    let value: Value = serde_json::from_str(&json).unwrap();
    let has = |v: &Value, keys: &[&str]| {
        for key in keys {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
    };
    for psp in value["psps"].as_array().unwrap() {
        has(psp, &["name", "level", "fields"]);
        for field in psp["fields"].as_array().unwrap() {
            has(field, &["field", "value", "level", "mutating"]);
        }
    }
    for w in value["workloads"].as_array().unwrap() {
        has(
            w,
            &[
                "kind",
                "namespace",
                "name",
                "file",
                "line",
                "psp",
                "relies_on_mutation",
                "patch",
            ],
        );
    }
    for ns in value["namespaces"].as_array().unwrap() {
        has(
            ns,
            &[
                "name",
                "current_psps",
                "level_as_written",
                "level_after_patches",
                "labels",
                "lost_controls",
            ],
        );
    }
    // The same input gives the same bytes.
    assert_eq!(json, plan(&[EXAMPLE, "--format", "json"]));
}

#[test]
fn the_example_plan_covers_what_the_official_dry_run_misses() {
    let value: Value = serde_json::from_str(&plan(&[EXAMPLE, "--format", "json"])).unwrap();
    let namespace = |name: &str| {
        value["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == name)
            .unwrap()
            .clone()
    };
    let workload = |name: &str| {
        value["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == name)
            .unwrap()
            .clone()
    };
    // The privileged system namespace stays privileged, pinned.
    let system = namespace("kube-system");
    assert_eq!(
        system["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    assert_eq!(
        system["labels"]["pod-security.kubernetes.io/enforce-version"],
        "v1.37"
    );
    assert_eq!(
        system["labels"]["pod-security.kubernetes.io/warn"],
        "baseline"
    );
    // shop reaches restricted only once web carries what the PSP injected.
    let shop = namespace("shop");
    assert_eq!(shop["level_as_written"], "baseline");
    assert_eq!(shop["level_after_patches"], "restricted");
    assert_eq!(workload("web")["relies_on_mutation"], true);
    // The scaled-to-zero Deployment and the CronJob are planned too.
    assert_eq!(workload("cart")["psp"], "restricted");
    assert_eq!(workload("cart")["patch"], Value::Null);
    assert_eq!(workload("backup")["kind"], "CronJob");
    assert_eq!(workload("backup")["relies_on_mutation"], true);
    // The StatefulSet needs capabilities only the baseline PSP allows.
    assert_eq!(workload("postgres")["psp"], "baseline");
    // data mixes PSPs: enforcing baseline loses the restricted PSP's controls.
    let data = namespace("data");
    assert_eq!(
        data["current_psps"],
        serde_json::json!(["baseline", "restricted"])
    );
    let lost: Vec<&str> = data["lost_controls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["field"].as_str().unwrap())
        .collect();
    assert!(lost.contains(&"spec.requiredDropCapabilities"), "{lost:?}");
    assert!(lost.contains(&"spec.readOnlyRootFilesystem"), "{lost:?}");
    // An empty namespace breaks nothing at restricted.
    assert_eq!(
        namespace("sandbox")["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}

#[test]
fn the_target_version_is_evaluated_and_pinned() {
    let value: Value = serde_json::from_str(&plan(&[
        EXAMPLE,
        "--format",
        "json",
        "--target-version",
        "v1.24",
    ]))
    .unwrap();
    assert_eq!(value["target_version"], "v1.24");
    for ns in value["namespaces"].as_array().unwrap() {
        for mode in ["enforce", "audit", "warn"] {
            assert_eq!(
                ns["labels"][format!("pod-security.kubernetes.io/{mode}-version")],
                "v1.24"
            );
        }
    }
    let output = Command::cargo_bin("corral")
        .unwrap()
        .args(["psp", "plan", "--target-version", "1.24", EXAMPLE])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// Strategic merge, as far as these patches need it: mappings merge, lists
/// of named items merge by name, other lists are replaced.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (Value::Array(target), Value::Array(patch))
            if patch.iter().all(|item| item.get("name").is_some()) =>
        {
            for item in patch {
                match target
                    .iter_mut()
                    .find(|t| t.get("name") == item.get("name"))
                {
                    Some(existing) => merge(existing, item),
                    None => target.push(item.clone()),
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn objects(path: &Path) -> Vec<corral_core::Object> {
    let name: std::sync::Arc<str> = std::sync::Arc::from(path.to_string_lossy().as_ref());
    let (objects, diagnostics) = corral_core::load_bytes(
        &name,
        &std::fs::read(path).unwrap(),
        &corral_core::Limits::default(),
        &|_| {},
    );
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    objects
}

/// `corral pss --level LEVEL --version v1.37 FILE`: its exit status.
fn pss_status(file: &Path, level: &str) -> Option<i32> {
    Command::cargo_bin("corral")
        .unwrap()
        .args(["pss", "--level", level, "--version", "v1.37"])
        .arg(file)
        .output()
        .unwrap()
        .status
        .code()
}

#[test]
fn emitted_patches_bring_workloads_to_the_planned_level() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .args([
            "psp",
            "plan",
            EXAMPLE,
            "--emit",
            "labels,namespaces,patches",
            "-o",
        ])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(status.status.success());
    let mut files: Vec<String> = walk(out.path())
        .into_iter()
        .map(|p| p.strip_prefix(out.path()).unwrap().display().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "labels.sh",
            "namespaces/data.yaml",
            "namespaces/kube-system.yaml",
            "namespaces/monitoring.yaml",
            "namespaces/sandbox.yaml",
            "namespaces/shop.yaml",
            "patches/data/cronjob-backup.yaml",
            "patches/data/statefulset-postgres.yaml",
            "patches/shop/deployment-web.yaml",
        ]
    );

    // Each patch, merged into the workload as written, meets the level the
    // plan says; the workload as written does not (for those relying on it).
    let plan: Value = serde_json::from_str(&plan(&[EXAMPLE, "--format", "json"])).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    for w in plan["workloads"].as_array().unwrap() {
        let Some(patch) = w["patch"].as_object() else {
            continue;
        };
        let file = workspace().join(patch["file"].as_str().unwrap());
        let original = objects(&file)
            .into_iter()
            .find(|o| o.name.as_deref() == w["name"].as_str() && o.kind == w["kind"])
            .unwrap();
        let mut merged: Value = original.decode().unwrap();
        let patch_path = out.path().join(format!(
            "patches/{}/{}-{}.yaml",
            w["namespace"].as_str().unwrap(),
            w["kind"].as_str().unwrap().to_lowercase(),
            w["name"].as_str().unwrap()
        ));
        let patch_object: Value = objects(&patch_path)[0].decode().unwrap();
        merge(&mut merged, &patch_object);
        let level = w["level_after_patches"].as_str().unwrap();
        let merged_path = scratch.path().join("merged.json");
        std::fs::write(&merged_path, serde_json::to_vec(&merged).unwrap()).unwrap();
        if level != "privileged" {
            assert_eq!(pss_status(&merged_path, level), Some(0), "{}", w["name"]);
        }
        if w["relies_on_mutation"] == true {
            let written_path = scratch.path().join("written.json");
            let written: Value = original.decode().unwrap();
            std::fs::write(&written_path, serde_json::to_vec(&written).unwrap()).unwrap();
            assert_eq!(pss_status(&written_path, level), Some(1), "{}", w["name"]);
        }
    }

    // The namespace manifests keep their other labels.
    let shop: Value = objects(&out.path().join("namespaces/shop.yaml"))[0]
        .decode()
        .unwrap();
    assert_eq!(shop["metadata"]["labels"]["team"], "shop");
    assert_eq!(
        shop["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );

    // The label script is valid shell, and refuses an unknown stage.
    let script = out.path().join("labels.sh");
    assert!(std::process::Command::new("sh")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap()
        .success());
    let status = std::process::Command::new("sh")
        .arg(&script)
        .arg("now")
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.contains("kubectl label --dry-run=server --overwrite ns shop pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=v1.37"));
}

#[test]
fn emit_needs_a_directory() {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .current_dir(workspace())
        .args(["psp", "plan", EXAMPLE, "--emit", "labels"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("-o DIR"));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
