//! `corral snapshot` and `--cluster` with the real kube-rs client against a
//! local HTTP server that replays a real cluster's list responses (the
//! dump in KubeHound's collector tests, `../shared/fixtures/kubehound/
//! pkg/collector/testdata`, Apache-2.0) with the API server's quirks: a
//! list in two pages, a continue token that expired (410 Gone), throttling
//! (429 with Retry-After), a forbidden kind (403) and an API group the
//! server does not serve (404). Then the snapshot, as input to `corral
//! pss`, `paths` and `psp plan`, gives what the same objects give as
//! manifests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use assert_cmd::Command;
use serde_json::{json, Value};

mod replay;
mod shared;
use replay::{list, status, Answer};

fn testdata() -> Option<PathBuf> {
    shared::shared("fixtures/kubehound/pkg/collector/testdata/test-cluster")
}

fn items(dir: &Path, file: &str) -> Vec<Value> {
    let list: Value = serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap();
    list["items"].as_array().unwrap().clone()
}

/// Two definitions: Argo Rollouts (a pod template in its schema) and one
/// without.
fn crds() -> Vec<Value> {
    vec![
        crd("argoproj.io", "Rollout", "rollouts", true),
        crd("cert-manager.io", "Certificate", "certificates", false),
    ]
}

fn rollout() -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
           "metadata": {"name": "canary", "namespace": "test-app"},
           "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}}})
}

/// A CustomResourceDefinition, its schema with a pod template or not.
fn crd(group: &str, kind: &str, plural: &str, templated: bool) -> Value {
    let spec = if templated {
        json!({"type": "object", "properties": {"template": {"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"containers": {"type": "array", "items": {"type": "object"}}}}}}}})
    } else {
        json!({"type": "object", "properties": {"secretName": {"type": "string"}}})
    };
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": format!("{plural}.{group}")},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"kind": kind, "plural": plural},
                    "versions": [{"name": "v1alpha1", "served": true, "storage": true,
                                  "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}}}]}})
}

/// The replayed API server: what it answers, and how often each path was
/// asked for.
struct Replay {
    data: PathBuf,
    seen: Mutex<HashMap<String, usize>>,
    /// A path answered only after 10 s, to time out on.
    stall: Option<&'static str>,
}

impl Replay {
    fn answer(&self, path: &str, query: &str) -> Answer {
        let count = {
            let mut seen = self.seen.lock().unwrap();
            let n = seen.entry(path.to_string()).or_default();
            *n += 1;
            *n
        };
        if self.stall == Some(path) {
            std::thread::sleep(std::time::Duration::from_secs(10));
        }
        let resumed = query.split('&').find_map(|p| p.strip_prefix("continue="));
        let data = &self.data;
        let pods = || items(data, "namespace-1/pods.json");
        match path {
            // Two pages; the second holds the same pod under another name,
            // so that the list really spans them.
            "/api/v1/pods" => match resumed {
                None => list("Pod", pods(), Some("page-2")),
                Some("page-2") => {
                    let mut second = pods();
                    second[0]["metadata"]["name"] = json!("app-monitors-client-78cb6d7899-x7k2q");
                    list("Pod", second, None)
                }
                Some(_) => status(400, "BadRequest", "unknown continue token"),
            },
            // The first page's continue token expires before the second
            // is asked for: the list starts again.
            "/apis/rbac.authorization.k8s.io/v1/roles" => match (resumed, count) {
                (None, 1) => list("Role", items(data, "namespace-1/roles.rbac.authorization.k8s.io.json"), Some("stale")),
                (Some("stale"), _) => status(410, "Expired", "The provided continue parameter is too old to display a consistent list result."),
                _ => list("Role", items(data, "namespace-1/roles.rbac.authorization.k8s.io.json"), None),
            },
            // Throttled once, with Retry-After.
            "/api/v1/nodes" if count == 1 => {
                let (code, body, _) = status(429, "TooManyRequests", "Too many requests, please try again later.");
                (code, body, Some(1))
            }
            "/api/v1/nodes" => list("Node", items(data, "nodes.json"), None),
            "/api/v1/namespaces" => list(
                "Namespace",
                vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test-app"}})],
                None,
            ),
            "/apis/rbac.authorization.k8s.io/v1/rolebindings" => list(
                "RoleBinding",
                items(data, "namespace-1/rolebindings.rbac.authorization.k8s.io.json"),
                None,
            ),
            "/apis/rbac.authorization.k8s.io/v1/clusterroles" => list(
                "ClusterRole",
                items(data, "clusterroles.rbac.authorization.k8s.io.json"),
                None,
            ),
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings" => list(
                "ClusterRoleBinding",
                items(data, "clusterrolebindings.rbac.authorization.k8s.io.json"),
                None,
            ),
            "/apis/discovery.k8s.io/v1/endpointslices" => list(
                "EndpointSlice",
                items(data, "namespace-1/endpointslices.discovery.k8s.io.json"),
                None,
            ),
            "/api/v1/secrets" => status(
                403,
                "Forbidden",
                "secrets is forbidden: User \"corral\" cannot list resource \"secrets\" in API group \"\" at the cluster scope",
            ),
            "/apis/policy/v1beta1/podsecuritypolicies" => {
                status(404, "NotFound", "the server could not find the requested resource")
            }
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions" => {
                list("CustomResourceDefinition", crds(), None)
            }
            "/apis/argoproj.io/v1alpha1/rollouts" => list("Rollout", vec![rollout()], None),
            "/api/v1/namespaces/kube-system/configmaps/aws-auth" => {
                status(404, "NotFound", "configmaps \"aws-auth\" not found")
            }
            // Every other kind: an empty `List` (the path names a resource,
            // not its kind).
            _ => list("", Vec::new(), None),
        }
    }
}

/// Start the replay server; a kubeconfig pointing at it.
fn start(dir: &Path, data: PathBuf) -> (Arc<Replay>, PathBuf) {
    start_stalling(dir, data, None)
}

fn start_stalling(
    dir: &Path,
    data: PathBuf,
    stall: Option<&'static str>,
) -> (Arc<Replay>, PathBuf) {
    let replay = Arc::new(Replay {
        data,
        seen: Mutex::new(HashMap::new()),
        stall,
    });
    let server = replay.clone();
    let kubeconfig = replay::start(
        dir,
        Arc::new(move |request: &replay::Request| {
            // The snapshot only reads: anything else is noted.
            if request.method != "GET" || !request.body.is_null() {
                let mut seen = server.seen.lock().unwrap();
                *seen
                    .entry(format!("{} {}", request.method, request.path))
                    .or_default() += 1;
            }
            server.answer(&request.path, &request.query)
        }),
    );
    (replay, kubeconfig)
}

fn corral(args: &[&str], kubeconfig: &Path) -> (i32, String, String) {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn snapshot_lists_every_kind_through_the_api_servers_quirks() {
    let Some(data) = testdata() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (replay, kubeconfig) = start(dir.path(), data);
    let out = dir.path().join("snapshot.json");
    let (code, _, stderr) = corral(
        &["snapshot", "--format", "json", "-o", out.to_str().unwrap()],
        &kubeconfig,
    );
    assert_eq!(code, 0, "{stderr}");
    let snapshot: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(snapshot["kind"], "List");
    let objects: Vec<(String, String)> = snapshot["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                format!(
                    "{} {}",
                    o["apiVersion"].as_str().unwrap(),
                    o["kind"].as_str().unwrap()
                ),
                o["metadata"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names = |kind: &str| -> Vec<&str> {
        objects
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, n)| n.as_str())
            .collect()
    };
    // Both pages of pods, in order.
    assert_eq!(
        names("v1 Pod"),
        [
            "app-monitors-client-78cb6d7899-j2rjp",
            "app-monitors-client-78cb6d7899-x7k2q"
        ]
    );
    // The expired list was read again, once.
    assert_eq!(names("rbac.authorization.k8s.io/v1 Role"), ["test-reader"]);
    // Throttled, then read.
    assert_eq!(names("v1 Node"), ["node-1"]);
    assert_eq!(
        names("rbac.authorization.k8s.io/v1 ClusterRoleBinding"),
        ["app-monitors-read"]
    );
    assert_eq!(names("discovery.k8s.io/v1 EndpointSlice").len(), 1);
    // Custom resources with a pod template, found from their definitions.
    assert_eq!(names("argoproj.io/v1alpha1 Rollout"), ["canary"]);
    assert!(!replay
        .seen
        .lock()
        .unwrap()
        .contains_key("/apis/cert-manager.io/v1alpha1/certificates"));
    let seen = replay.seen.lock().unwrap().clone();
    assert_eq!(seen["/api/v1/nodes"], 2, "{seen:?}");
    assert_eq!(
        seen["/apis/rbac.authorization.k8s.io/v1/roles"], 3,
        "{seen:?}"
    );
    assert_eq!(seen["/api/v1/pods"], 2, "{seen:?}");
    assert!(
        seen.keys().all(|k| k.starts_with('/')),
        "only reads: {seen:?}"
    );
    // What was skipped, and why.
    assert!(
        stderr.contains(
            "warning: Secret skipped: forbidden; Corral needs `list` on secrets cluster-wide"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "warning: PodSecurityPolicy skipped: the server does not serve policy/v1beta1"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("aws-auth"),
        "no aws-auth is no warning: {stderr}"
    );
    // Deterministic: the same cluster, the same bytes.
    let again = dir.path().join("again.json");
    let (code, _, _) = corral(
        &[
            "snapshot",
            "--format",
            "json",
            "-o",
            again.to_str().unwrap(),
        ],
        &kubeconfig,
    );
    assert_eq!(code, 0);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
}

/// A report without where things are written, its lists in a fixed
/// order: the snapshot's files and lines are not the manifests', and
/// reports list by place.
fn without_places(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in ["file", "line", "column", "path", "source", "document"] {
                map.remove(key);
            }
            map.values_mut().for_each(without_places);
        }
        Value::Array(items) => {
            items.iter_mut().for_each(without_places);
            items.sort_by_key(|item| item.to_string());
        }
        _ => {}
    }
}

#[test]
fn every_command_reads_the_snapshot_as_it_reads_manifests() {
    let Some(data) = testdata() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_replay, kubeconfig) = start(dir.path(), data.clone());
    let snapshot = dir.path().join("snapshot.yaml");
    let (code, _, stderr) = corral(&["snapshot", "-o", snapshot.to_str().unwrap()], &kubeconfig);
    assert_eq!(code, 0, "{stderr}");
    // The same objects as manifests: the dump's files, and what the
    // replayed server adds to them (the second pod, the namespace, the
    // custom resource definitions and a Rollout).
    let manifests = dir.path().join("manifests");
    std::fs::create_dir_all(&manifests).unwrap();
    for file in [
        "nodes.json",
        "clusterroles.rbac.authorization.k8s.io.json",
        "clusterrolebindings.rbac.authorization.k8s.io.json",
        "namespace-1/pods.json",
        "namespace-1/roles.rbac.authorization.k8s.io.json",
        "namespace-1/rolebindings.rbac.authorization.k8s.io.json",
    ] {
        std::fs::copy(data.join(file), manifests.join(file.replace('/', "-"))).unwrap();
    }
    let mut second = items(&data, "namespace-1/pods.json");
    second[0]["metadata"]["name"] = json!("app-monitors-client-78cb6d7899-x7k2q");
    second.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "test-app"}}));
    // The dump's EndpointSlice list has no `kind: List`: its items.
    second.extend(items(
        &data,
        "namespace-1/endpointslices.discovery.k8s.io.json",
    ));
    second.extend(crds());
    second.push(rollout());
    std::fs::write(
        manifests.join("added.json"),
        json!({"apiVersion": "v1", "kind": "List", "items": second}).to_string(),
    )
    .unwrap();
    for command in [
        &["pss", "--format", "json"][..],
        &[
            "paths",
            "--from",
            "all-pods",
            "--to",
            "any-critical",
            "--format",
            "json",
        ][..],
        &["psp", "plan", "--format", "json"][..],
        &["inventory", "--format", "json"][..],
    ] {
        let run = |input: &[&str]| {
            let mut args = command.to_vec();
            args.extend_from_slice(input);
            let (code, stdout, stderr) = corral(&args, &kubeconfig);
            let mut value: Value = serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("{command:?}: {e}: {stdout} {stderr}"));
            without_places(&mut value);
            (code, value)
        };
        let from_manifests = run(&[manifests.to_str().unwrap()]);
        let from_snapshot = run(&[snapshot.to_str().unwrap()]);
        let live = run(&["--cluster"]);
        assert_eq!(from_snapshot, from_manifests, "{command:?}");
        assert_eq!(live, from_manifests, "{command:?} --cluster");
    }
}

/// `deploy/snapshot-clusterrole.yaml` grants exactly what the snapshot
/// reads: `list` on each kind but secrets, `get` on aws-auth alone, and
/// nothing else.
#[test]
fn the_shipped_cluster_role_grants_what_the_snapshot_reads() {
    use corral_core::model::{Model, Resource, TemplatePaths};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/snapshot-clusterrole.yaml");
    let loaded = corral_core::load(
        &[corral_core::Input::from_arg(path.to_str().unwrap())],
        &corral_core::Limits::default(),
    );
    let (model, errors) = Model::build(loaded.objects, &TemplatePaths::default());
    assert!(errors.is_empty() && loaded.diagnostics.is_empty());
    let mut granted = std::collections::BTreeSet::new();
    for (_, resource) in model.iter() {
        let Resource::ClusterRole(role) = resource else {
            continue;
        };
        for rule in role.rules.iter().flatten() {
            for group in rule.api_groups.iter().flatten() {
                for resource in rule.resources.iter().flatten() {
                    for verb in &rule.verbs {
                        let names = rule.resource_names.clone().unwrap_or_default().join(",");
                        granted.insert((group.clone(), resource.clone(), verb.clone(), names));
                    }
                }
            }
        }
    }
    let mut needed: std::collections::BTreeSet<(String, String, String, String)> =
        corral_cluster::KINDS
            .iter()
            .filter(|k| k.kind != "Secret")
            .map(|k| {
                (
                    k.group.into(),
                    k.plural.into(),
                    "list".into(),
                    String::new(),
                )
            })
            .collect();
    needed.insert((
        "".into(),
        "configmaps".into(),
        "get".into(),
        "aws-auth".into(),
    ));
    // The one custom resource granted by default.
    needed.insert((
        "argoproj.io".into(),
        "rollouts".into(),
        "list".into(),
        String::new(),
    ));
    assert_eq!(granted, needed);
}

/// A request that outlasts `--request-timeout` skips its kind with a
/// warning; the rest of the snapshot is written.
#[test]
fn a_kind_that_times_out_is_skipped_and_the_rest_read() {
    let Some(data) = testdata() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_replay, kubeconfig) = start_stalling(
        dir.path(),
        data,
        Some("/apis/certificates.k8s.io/v1/certificatesigningrequests"),
    );
    let (code, stdout, stderr) = corral(
        &["snapshot", "--format", "json", "--request-timeout", "1s"],
        &kubeconfig,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: CertificateSigningRequest skipped:"),
        "{stderr}"
    );
    let snapshot: Value = serde_json::from_str(&stdout).unwrap();
    assert!(snapshot["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["kind"] == "Pod"));
}
