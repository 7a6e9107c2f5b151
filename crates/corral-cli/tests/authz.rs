//! The one authorization model through the real binary: `corral paths` and
//! `corral scan` on manifests that never define the built-in roles, each
//! case with a decoy that must yield nothing.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn corral(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("corral")
        .unwrap()
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .args(args)
        .output()
        .unwrap()
}

const WEB: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      automountServiceAccountToken: true
      containers:
        - name: web
          image: nginx:1.27
";

fn everyone_admin(group: &str) -> String {
    format!(
        "\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: all-accounts-admin}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}}
subjects:
  - {{kind: Group, name: '{group}', apiGroup: rbac.authorization.k8s.io}}
"
    )
}

fn cluster(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn a001(dir: &Path) -> Vec<String> {
    let output = corral(dir, &["scan", ".", "--format", "json"]);
    let value: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "CRL-A001")
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn built_in_cluster_admin_bound_to_all_service_accounts_is_a_path() {
    let dir = cluster(&[
        ("web.yaml", WEB),
        ("rbac.yaml", &everyone_admin("system:serviceaccounts")),
    ]);
    let output = corral(
        dir.path(),
        &[
            "paths",
            ".",
            "--from",
            "pod/shop/Deployment/web",
            "--to",
            "cluster-admin",
        ],
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("-GROUP_MEMBER-> group/system:serviceaccounts"),
        "{text}"
    );
    assert!(
        text.contains("permissions/cluster-admin::all-accounts-admin"),
        "{text}"
    );
    // The scanner's attack-path rule sees it too, at the workload.
    assert_eq!(a001(dir.path()), ["web.yaml"]);

    // Decoy: the group of another namespace's accounts.
    let decoy = cluster(&[
        ("web.yaml", WEB),
        ("rbac.yaml", &everyone_admin("system:serviceaccounts:other")),
    ]);
    let output = corral(
        decoy.path(),
        &[
            "paths",
            ".",
            "--from",
            "pod/shop/Deployment/web",
            "--to",
            "cluster-admin",
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(a001(decoy.path()).is_empty());
}

#[test]
fn get_on_pods_exec_runs_commands_only_before_1_35() {
    let privileged = "\
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops}
spec:
  containers:
    - name: agent
      image: busybox
      securityContext: {privileged: true}
";
    let rbac = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: exec-get, namespace: ops}
rules:
  - {apiGroups: [''], resources: [pods/exec], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: exec-get, namespace: ops}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: exec-get}
subjects: [{kind: User, name: dev, apiGroup: rbac.authorization.k8s.io}]
";
    let dir = cluster(&[("agent.yaml", privileged), ("rbac.yaml", rbac)]);
    let args = ["paths", ".", "--from", "user/dev", "--to", "nodes"];
    let latest = corral(dir.path(), &args);
    assert_eq!(latest.status.code(), Some(0));
    let old = corral(
        dir.path(),
        &[&args[..], &["--kubernetes-version", "v1.34"]].concat(),
    );
    let text = String::from_utf8_lossy(&old.stdout);
    assert_eq!(old.status.code(), Some(1), "{text}");
    assert!(text.contains("POD_EXEC"), "{text}");
    // The rule's own line is the evidence, with the verb it grants.
    assert!(text.contains("rbac.yaml:5"), "{text}");
    assert!(text.contains("`get` on pods/exec"), "{text}");
    // The fix names that verb; the hub's own hop has none.
    assert!(
        text.contains("fix: drop `get` on pods/exec from rules[0]"),
        "{text}"
    );
    assert!(!text.contains("fix: drop create on pods/exec"), "{text}");
    let bad = corral(
        dir.path(),
        &[&args[..], &["--kubernetes-version", "2.0"]].concat(),
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn access_answers_can_i_and_who_can_with_the_rule() {
    let dir = cluster(&[("rbac.yaml", &everyone_admin("system:serviceaccounts"))]);
    let can = |subject: &str| {
        corral(
            dir.path(),
            &[
                "access",
                ".",
                "--verb",
                "get",
                "--resource",
                "nodes/proxy",
                "--as",
                subject,
            ],
        )
    };
    let yes = can("sa/shop/web");
    let text = String::from_utf8_lossy(&yes.stdout);
    assert_eq!(yes.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with("yes: ServiceAccount shop/web may get nodes/proxy"),
        "{text}"
    );
    assert!(
        text.contains("ClusterRoleBinding all-accounts-admin (./rbac.yaml:4)"),
        "{text}"
    );
    assert!(
        text.contains("rule: (built-in) k8s-bootstrap-rbac/cluster-roles.yaml:"),
        "{text}"
    );
    let no = can("user/alice");
    assert_eq!(no.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no.stdout).starts_with("no: User alice may not get"));
    // Who may: the input's binding and the built-in system:masters one.
    let who = corral(
        dir.path(),
        &[
            "access",
            ".",
            "--verb",
            "create",
            "--resource",
            "pods/exec",
            "-n",
            "shop",
            "--json",
        ],
    );
    let value: Value = serde_json::from_slice(&who.stdout).unwrap();
    let bindings: Vec<(&str, bool)> = value["by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["binding"].as_str().unwrap(),
                b["built_in"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        bindings,
        [
            ("ClusterRoleBinding all-accounts-admin", false),
            ("ClusterRoleBinding cluster-admin", true)
        ]
    );
    let bad = corral(
        dir.path(),
        &[
            "access",
            ".",
            "--verb",
            "get",
            "--resource",
            "pods",
            "--as",
            "robot/r2",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn the_fix_of_a_path_through_a_built_in_role_is_in_the_users_file() {
    let binding = "\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-edit, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: ServiceAccount, name: web, namespace: shop}]
";
    let dir = cluster(&[("web.yaml", WEB), ("rbac.yaml", binding)]);
    let output = corral(dir.path(), &["scan", ".", "--format", "json"]);
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    let a002: Vec<&Value> = value["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "CRL-A002")
        .collect();
    assert_eq!(a002.len(), 1, "{value}");
    let fix = a002[0]["fix"].as_str().unwrap();
    assert!(!fix.contains("k8s-bootstrap-rbac"), "{fix}");
    assert!(fix.contains("change the binding at ./rbac.yaml:5"), "{fix}");
}
