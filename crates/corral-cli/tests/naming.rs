//! Workload naming, driving the binary: a recorded pod's workload is the
//! top of its `ownerReferences` chain as the manifests or inventory hold
//! it (a Deployment through its ReplicaSet, a CronJob through its Job, a
//! StatefulSet), never its name without suffixes (`redis-cache` is not
//! `redis`); with owners absent, the pod's controller reference and the
//! ReplicaSet's pod-template-hash; with nothing, the pod itself, which the
//! advice says. A command recording's workload is `corral record
//! --workload`'s name, else its file's stem. An inventory of Pods alone
//! is enough for `advise all`. The live cluster (`--cluster`, through a
//! stand-in API server) names them the same way.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

// Only its lists are served here.
#[allow(dead_code)]
mod replay;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A real recording (the example's frontend), as `namespace/pod`'s
/// container `container`.
fn recording(namespace: &str, pod: &str, container: &str) -> Value {
    let path = workspace().join(
        "examples/advise-demo/recordings/shop_frontend-6d4b9c8f6d-x2x9q_frontend_frontend-1.json",
    );
    let mut r: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    r["container"]["namespace"] = json!(namespace);
    r["container"]["pod"] = json!(pod);
    r["container"]["name"] = json!(container);
    r["container"]["id"] = json!(format!("{pod}-{container}"));
    r
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path
}

fn corral(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
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

fn pod(namespace: &str, name: &str, labels: &str, owner: Option<(&str, &str, &str)>) -> String {
    let owners = owner
        .map(|(api, kind, owner)| {
            format!("\n  ownerReferences: [{{apiVersion: {api}, kind: {kind}, name: {owner}, uid: u-{owner}, controller: true}}]")
        })
        .unwrap_or_default();
    format!("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {namespace}\n  labels: {labels}{owners}\nspec:\n  containers: [{{name: main, image: busybox}}]\n")
}

const TEMPLATE: &str =
    "{metadata: {labels: {app: x}}, spec: {containers: [{name: main, image: busybox}]}}";

/// Files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn workloads_are_named_by_owner_references_not_by_name_suffixes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let recordings = d.join("recordings");
    fs::create_dir(&recordings).unwrap();
    for (pod, container) in [
        ("redis-cache-7d4b9c8f6d-x2x9q", "main"),
        ("redis-cache-7d4b9c8f6d-abcde", "main"),
        ("db-0", "main"),
        ("backup-28301234-q7w2n", "main"),
        ("web-5c9f7b6d8-zzzzz", "main"),
    ] {
        write(
            &recordings,
            &format!("{pod}.json"),
            &recording("apps", pod, container),
        );
    }
    // redis is another Deployment; redis-cache's pods are its through
    // their ReplicaSet. The Job of the CronJob is there, the StatefulSet
    // too; web's ReplicaSet and Deployment are not (its pods' hash says).
    let mut inventory = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: redis, namespace: apps}}\nspec: {{selector: {{matchLabels: {{app: x}}}}, template: {TEMPLATE}}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: redis-cache, namespace: apps}}\nspec: {{selector: {{matchLabels: {{app: x}}}}, template: {TEMPLATE}}}\n---\napiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: redis-cache-7d4b9c8f6d\n  namespace: apps\n  ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: redis-cache, uid: u, controller: true}}]\nspec: {{selector: {{matchLabels: {{app: x}}}}, template: {TEMPLATE}}}\n---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db, namespace: apps}}\nspec: {{selector: {{matchLabels: {{app: x}}}}, serviceName: db, template: {TEMPLATE}}}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: backup, namespace: apps}}\nspec:\n  schedule: '@daily'\n  jobTemplate: {{spec: {{template: {TEMPLATE}}}}}\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: backup-28301234\n  namespace: apps\n  ownerReferences: [{{apiVersion: batch/v1, kind: CronJob, name: backup, uid: u, controller: true}}]\nspec: {{template: {TEMPLATE}}}\n"
    );
    for p in [
        "redis-cache-7d4b9c8f6d-x2x9q",
        "redis-cache-7d4b9c8f6d-abcde",
    ] {
        inventory.push_str(&pod(
            "apps",
            p,
            "{app: x, pod-template-hash: 7d4b9c8f6d}",
            Some(("apps/v1", "ReplicaSet", "redis-cache-7d4b9c8f6d")),
        ));
    }
    inventory.push_str(&pod(
        "apps",
        "db-0",
        "{app: x}",
        Some(("apps/v1", "StatefulSet", "db")),
    ));
    inventory.push_str(&pod(
        "apps",
        "backup-28301234-q7w2n",
        "{app: x}",
        Some(("batch/v1", "Job", "backup-28301234")),
    ));
    inventory.push_str(&pod(
        "apps",
        "web-5c9f7b6d8-zzzzz",
        "{app: x, pod-template-hash: 5c9f7b6d8}",
        Some(("apps/v1", "ReplicaSet", "web-5c9f7b6d8")),
    ));
    fs::write(d.join("inventory.yaml"), &inventory).unwrap();

    let (code, _, stderr) = corral(
        d,
        &[
            "advise",
            "seccomp",
            "--recording",
            "recordings",
            "--manifests",
            "inventory.yaml",
            "-o",
            "profiles",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        listing(&d.join("profiles")),
        [
            "apps-backup-main.coverage.json",
            "apps-backup-main.json",
            "apps-backup-main.report.json",
            "apps-db-main.coverage.json",
            "apps-db-main.json",
            "apps-db-main.report.json",
            "apps-redis-cache-main.coverage.json",
            "apps-redis-cache-main.json",
            "apps-redis-cache-main.report.json",
            "apps-web-main.coverage.json",
            "apps-web-main.json",
            "apps-web-main.report.json",
        ]
    );

    // The patches go to each workload's own object and line: the CronJob's
    // template, not the Job's; the StatefulSet.
    let (code, patches, stderr) = corral(
        d,
        &[
            "advise",
            "securitycontext",
            "--recording",
            "recordings",
            "--manifests",
            "inventory.yaml",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    // The document holding `needle`: its first and last lines.
    let document = |needle: &str| {
        let lines: Vec<&str> = inventory.lines().collect();
        let at = lines.iter().position(|l| l.contains(needle)).unwrap();
        let start = lines[..at]
            .iter()
            .rposition(|l| *l == "---")
            .map_or(1, |i| i + 2);
        let end = lines[at..]
            .iter()
            .position(|l| *l == "---")
            .map_or(lines.len(), |i| at + i);
        start..=end
    };
    let edit_line = |workload: &str| -> usize {
        let prefix = format!("# apps/{workload}: edit inventory.yaml:");
        let line = patches
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()));
        line.unwrap_or_else(|| panic!("{workload}: {patches}"))
            .parse()
            .unwrap()
    };
    assert!(
        document("kind: CronJob").contains(&edit_line("backup")),
        "{patches}"
    );
    assert!(
        document("kind: StatefulSet").contains(&edit_line("db")),
        "{patches}"
    );
    assert!(
        document("name: redis-cache, namespace").contains(&edit_line("redis-cache")),
        "{patches}"
    );
    assert!(patches.contains("kind: CronJob"), "{patches}");
    assert!(patches.contains("kind: StatefulSet"), "{patches}");
    assert!(!patches.contains("apps/redis:"), "{patches}");

    // Without the inventory nothing names an owner: each pod is its own
    // workload (replicas are not merged by guessing), and the advice says so.
    let (code, summary, stderr) = corral(
        d,
        &["advise", "all", "--recording", "recordings", "-o", "bare"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        summary.contains("## apps/redis-cache-7d4b9c8f6d-x2x9q\n"),
        "{summary}"
    );
    assert!(
        summary.contains("## apps/redis-cache-7d4b9c8f6d-abcde\n"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "Workload: the pod db-0 itself: no owner known (give the pods with --inventory"
        ),
        "{summary}"
    );
    assert!(
        !summary.contains("## apps/redis\n") && !summary.contains("## apps/db\n"),
        "{summary}"
    );
}

/// An inventory of Pods alone (`kubectl get pods -o yaml`): each pod is
/// advised, as its Deployment when its owner references say so, else as
/// itself; and its NetworkPolicy selects its pods.
#[test]
fn an_inventory_of_pods_alone_is_advised() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let recordings = d.join("recordings");
    fs::create_dir(&recordings).unwrap();
    write(
        &recordings,
        "a.json",
        &recording("shop", "frontend-6d4b9c8f6d-x2x9q", "frontend"),
    );
    write(
        &recordings,
        "b.json",
        &recording("shop", "lonely", "frontend"),
    );
    let mut inventory = pod(
        "shop",
        "frontend-6d4b9c8f6d-x2x9q",
        "{app: frontend, pod-template-hash: 6d4b9c8f6d}",
        Some(("apps/v1", "ReplicaSet", "frontend-6d4b9c8f6d")),
    );
    inventory.push_str(&pod("shop", "lonely", "{app: lonely}", None));
    inventory.push_str("status: {podIP: 10.126.0.9}\n");
    fs::write(d.join("pods.yaml"), inventory).unwrap();
    let (code, summary, stderr) = corral(
        d,
        &[
            "advise",
            "all",
            "--recording",
            "recordings",
            "--inventory",
            "pods.yaml",
            "-o",
            "out",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        summary.contains("## shop/frontend\n\nWorkload: Deployment frontend, by its pods' ReplicaSet and pod-template-hash label."),
        "{summary}"
    );
    assert!(
        summary.contains("## shop/lonely\n\nWorkload: the pod lonely itself: it names no controller in the inventory."),
        "{summary}"
    );
    for file in [
        "seccomp/shop-frontend-frontend.json",
        "seccomp/shop-lonely-frontend.json",
        "securitycontext/shop-frontend.yaml",
        "securitycontext/shop-lonely.yaml",
        "netpol/shop-frontend.yaml",
        "netpol/shop-lonely.yaml",
        "advice.json",
    ] {
        assert!(d.join("out").join(file).exists(), "{file}: {summary}");
    }
    let patch = fs::read_to_string(d.join("out/securitycontext/shop-lonely.yaml")).unwrap();
    assert!(
        patch.contains("kind: Pod") && patch.contains("edit pods.yaml:"),
        "{patch}"
    );
    let netpol = fs::read_to_string(d.join("out/netpol/shop-frontend.yaml")).unwrap();
    assert!(netpol.contains("app: frontend"), "{netpol}");
}

/// `corral record --workload` refuses what cannot be a workload's name.
#[test]
fn record_workload_must_be_a_name() {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .args(["record", "--workload", "Not/A name", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("a workload name is lowercase"));
}

/// `--cluster`: the live cluster's pods, ReplicaSets and Deployments (a
/// stand-in API server) name the workload as an inventory would.
#[test]
fn the_live_cluster_names_workloads_by_owner_references() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let recordings = d.join("recordings");
    fs::create_dir(&recordings).unwrap();
    write(
        &recordings,
        "r.json",
        &recording("apps", "redis-cache-7d4b9c8f6d-x2x9q", "main"),
    );
    let template = json!({"metadata": {"labels": {"app": "x"}},
                          "spec": {"containers": [{"name": "main", "image": "busybox"}]}});
    let deployment = |name: &str| {
        json!({"metadata": {"name": name, "namespace": "apps"},
               "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template.clone()}})
    };
    let pods = vec![
        json!({"metadata": {"name": "redis-cache-7d4b9c8f6d-x2x9q", "namespace": "apps",
        "labels": {"app": "x", "pod-template-hash": "7d4b9c8f6d"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": "redis-cache-7d4b9c8f6d", "uid": "rs", "controller": true}]},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]}}),
    ];
    let replica_sets = vec![
        json!({"metadata": {"name": "redis-cache-7d4b9c8f6d", "namespace": "apps",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
            "name": "redis-cache", "uid": "d", "controller": true}]},
        "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template.clone()}}),
    ];
    let deployments = vec![deployment("redis"), deployment("redis-cache")];
    let handler = move |request: &replay::Request| -> replay::Answer {
        let path = request.path.as_str();
        let items = if path.ends_with("/pods") {
            pods.clone()
        } else if path.ends_with("/replicasets") {
            replica_sets.clone()
        } else if path.ends_with("/deployments") {
            deployments.clone()
        } else {
            Vec::new()
        };
        replay::list("", items, None)
    };
    let kubeconfig = replay::start(d, std::sync::Arc::new(handler));
    let kubeconfig = kubeconfig.to_str().unwrap();
    let (code, stdout, stderr) = corral(
        d,
        &[
            "advise",
            "securitycontext",
            "--format",
            "json",
            "--recording",
            "recordings",
            "--cluster",
            "--kubeconfig",
            kubeconfig,
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let advice: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(advice[0]["workload"], "redis-cache", "{advice}");
    // It is the inventory: not both.
    let (code, _, stderr) = corral(
        d,
        &[
            "advise",
            "all",
            "--recording",
            "recordings",
            "--cluster",
            "--kubeconfig",
            kubeconfig,
            "--inventory",
            "x.yaml",
            "-o",
            "out",
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not both"), "{stderr}");
}
