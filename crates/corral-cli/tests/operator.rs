//! The in-cluster recorder's publishing and `corral operator`'s reconcile,
//! with the real kube-rs client against a stand-in API server that keeps
//! what is applied (server-side apply PATCHes) and answers gets and
//! label-selected lists from it. The recordings are the demo's, recorded
//! from real containers (`examples/advise-demo/recordings`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use corral_operator::publish::{publish, Published};
use corral_operator::reconcile::{reconcile_named, reconcile_one, Context};
use corral_operator::RecordingResource;
use serde_json::{json, Value};

mod replay;
use replay::{list, status, Answer};

/// What the stand-in API server holds: objects by their path.
struct Store {
    objects: BTreeMap<String, Value>,
    applies: Vec<String>,
    /// The Security Profiles Operator's CRD is served.
    spo: bool,
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Does a `k=v,!k` label selector select these labels?
fn selects(selector: &str, labels: &Value) -> bool {
    selector
        .split(',')
        .filter(|s| !s.is_empty())
        .all(|term| match term.strip_prefix('!') {
            Some(key) => labels.get(key).is_none(),
            None => {
                let (key, value) = term.split_once('=').unwrap_or((term, ""));
                labels.get(key).and_then(Value::as_str) == Some(value)
            }
        })
}

/// A collection's path (a list), as opposed to one object's.
fn is_collection(path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let base = if segments.first() == Some(&"api") {
        2
    } else {
        3
    };
    let rest = segments.get(base..).unwrap_or_default();
    rest.len() == 1 || (rest.len() == 3 && rest[0] == "namespaces")
}

/// The lists an object's path is in: its namespace's and the cluster's.
fn collections(path: &str) -> [String; 2] {
    let collection = path.rsplit_once('/').map_or("", |(c, _)| c).to_string();
    let segments: Vec<&str> = collection.split('/').collect();
    let cluster_wide = match segments.iter().position(|s| *s == "namespaces") {
        Some(at) if at + 2 < segments.len() => {
            [&segments[..at], &segments[at + 2..]].concat().join("/")
        }
        _ => collection.clone(),
    };
    [collection, cluster_wide]
}

fn answer(store: &Mutex<Store>, request: &replay::Request) -> Answer {
    let mut store = store.lock().unwrap();
    let path = request.path.clone();
    match request.method.as_str() {
        "PATCH" if !store.spo && path.contains("/seccompprofiles/") => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
        "PATCH" => {
            let mut object = request.body.clone();
            object["metadata"]["resourceVersion"] = json!("1");
            store.applies.push(path.clone());
            store.objects.insert(path, object.clone());
            (200, object, None)
        }
        "GET" if is_collection(&path) => {
            let selector = request
                .query
                .split('&')
                .find_map(|p| p.strip_prefix("labelSelector="))
                .map(decode)
                .unwrap_or_default();
            let found: Vec<Value> = store
                .objects
                .iter()
                .filter(|(p, _)| collections(p).contains(&path))
                .map(|(_, o)| o.clone())
                .filter(|o| selects(&selector, &o["metadata"]["labels"]))
                .collect();
            // Of any kind: the path names a resource, not its kind.
            list("", found, None)
        }
        "GET" => match store.objects.get(&path) {
            Some(object) => (200, object.clone(), None),
            None => status(404, "NotFound", "not found"),
        },
        _ => status(405, "MethodNotAllowed", "not replayed"),
    }
}

/// The demo's cluster (`examples/advise-demo/inventory.yaml`), as the API
/// holds it; shop is labelled for recording.
fn cluster() -> BTreeMap<String, Value> {
    let pod = |ns: &str, name: &str, app: &str, ip: &str, port: u16| {
        (
            format!("/api/v1/namespaces/{ns}/pods/{name}"),
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "namespace": ns, "labels": {"app": app, "pod-template-hash": "6d4b9c8f6d"}},
                   "spec": {"containers": [{"name": app, "image": "busybox", "ports": [{"name": "main", "containerPort": port}]}]},
                   "status": {"podIP": ip, "podIPs": [{"ip": ip}]}}),
        )
    };
    let deployment = |ns: &str, app: &str| {
        (
            format!("/apis/apps/v1/namespaces/{ns}/deployments/{app}"),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "namespace": ns},
                   "spec": {"selector": {"matchLabels": {"app": app}},
                            "template": {"metadata": {"labels": {"app": app}},
                                         "spec": {"containers": [{"name": app, "image": "busybox"}]}}}}),
        )
    };
    let namespace = |name: &str, labels: Value| {
        (
            format!("/api/v1/namespaces/{name}"),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}),
        )
    };
    BTreeMap::from([
        namespace("shop", json!({"team": "shop", "corral.dev/record": "true"})),
        namespace("data", json!({})),
        namespace("kube-system", json!({})),
        deployment("shop", "frontend"),
        deployment("shop", "backend"),
        deployment("data", "db"),
        pod(
            "shop",
            "frontend-6d4b9c8f6d-x2x9q",
            "frontend",
            "10.126.0.2",
            0,
        ),
        pod(
            "shop",
            "backend-6d4b9c8f6d-x2x9q",
            "backend",
            "10.126.0.3",
            8080,
        ),
        pod("data", "db-6d4b9c8f6d-x2x9q", "db", "10.126.0.4", 5432),
        (
            "/api/v1/namespaces/kube-system/pods/coredns-5d78c9869d-abcde".to_string(),
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "coredns-5d78c9869d-abcde", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
                   "spec": {"containers": [{"name": "coredns", "image": "coredns"}]},
                   "status": {"podIP": "10.126.0.10"}}),
        ),
        (
            "/api/v1/namespaces/kube-system/services/kube-dns".to_string(),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
                   "spec": {"selector": {"k8s-app": "kube-dns"}, "clusterIP": "10.96.0.10",
                            "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                      {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}}),
        ),
    ])
}

fn demo(name: &str) -> corral_record::Recording {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/advise-demo/recordings")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn recordings_are_published_per_node_then_merged_into_advised_resources() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Mutex::new(Store {
        objects: cluster(),
        applies: Vec::new(),
        spo: true,
    }));
    let server = store.clone();
    let kubeconfig = replay::start(
        dir.path(),
        Arc::new(move |request: &replay::Request| answer(&server, request)),
    );
    let target = corral_cluster::Target {
        kubeconfig: Some(kubeconfig),
        ..corral_cluster::Target::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = runtime.block_on(corral_cluster::client(&target)).unwrap();

    // The backend's container: twice on node-1 (two windows), once on
    // node-2 (another replica); the db's namespace is not labelled.
    let backend = demo("shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json");
    let mut later = backend.clone();
    later.runs[0].started += 600;
    later.runs[0].ended += 600;
    let mut replica = backend.clone();
    replica.runs[0].started += 60;
    if let Some(c) = replica.container.as_mut() {
        c.pod = Some("backend-6d4b9c8f6d-q8w2z".into());
        c.id = "backend-2".into();
    }
    let db = demo("data_db-6d4b9c8f6d-x2x9q_db_db-1.json");
    let first = runtime
        .block_on(publish(&client, vec![backend, db], "node-1"))
        .unwrap();
    assert_eq!(
        first,
        Published {
            written: vec!["shop/backend-backend-node-1".into()],
            skipped: 1,
            unnamed: 0,
            replaced: Vec::new(),
        }
    );
    runtime
        .block_on(publish(&client, vec![later], "node-1"))
        .unwrap();
    runtime
        .block_on(publish(&client, vec![replica], "node-2"))
        .unwrap();
    let path = |name: &str| format!("/apis/corral.dev/v1alpha1/namespaces/shop/recordings/{name}");
    let stored = |path: &str| store.lock().unwrap().objects.get(path).cloned().unwrap();
    // The node's Recording holds both windows.
    let node1: RecordingResource =
        serde_json::from_value(stored(&path("backend-backend-node-1"))).unwrap();
    assert_eq!(node1.spec.runs, 2);
    assert_eq!(node1.spec.node, "node-1");
    assert_eq!(
        node1.metadata.labels.as_ref().unwrap()["corral.dev/workload"],
        "backend"
    );

    // The operator: one reconcile merges both nodes and writes the advice.
    let context = Context {
        client: client.clone(),
        output: None,
    };
    let written = runtime.block_on(reconcile_one(&node1, &context)).unwrap();
    assert!(
        written.iter().any(|w| w.contains("SeccompProfile shop/")),
        "{written:?}"
    );
    let merged: RecordingResource =
        serde_json::from_value(stored(&path("backend-backend-merged"))).unwrap();
    assert_eq!(merged.spec.runs, 3);
    assert_eq!(merged.spec.node, "merged");
    assert_eq!(
        merged.metadata.labels.as_ref().unwrap()["corral.dev/merged"],
        "true"
    );
    let profiles: Vec<Value> = store
        .lock()
        .unwrap()
        .objects
        .iter()
        .filter(|(p, _)| p.contains("/seccompprofiles/"))
        .map(|(_, o)| o.clone())
        .collect();
    assert_eq!(profiles.len(), 1);
    assert_eq!(profiles[0]["kind"], "SeccompProfile");
    assert_eq!(profiles[0]["spec"]["defaultAction"], "SCMP_ACT_ERRNO");
    let allowed = profiles[0]["spec"]["syscalls"][0]["names"]
        .as_array()
        .unwrap();
    assert!(
        allowed.iter().any(|s| s == "accept4" || s == "accept"),
        "{allowed:?}"
    );
    let advice = merged.spec.advice.as_ref().unwrap();
    assert_eq!(advice.seccomp_profile, profiles[0]["metadata"]["name"]);
    assert!(advice.security_context_patch.contains("securityContext"));
    assert!(advice.advice.contains("\"workload\": \"backend\""));
    // The backend's recorded flows give the namespace a NetworkPolicy.
    let policies: Vec<String> = store
        .lock()
        .unwrap()
        .applies
        .iter()
        .filter(|p| p.contains("/networkpolicies/"))
        .cloned()
        .collect();
    assert!(!policies.is_empty(), "{written:?}");

    // A merged Recording is the operator's own: reconciling it writes
    // nothing.
    assert!(runtime
        .block_on(reconcile_one(&merged, &context))
        .unwrap()
        .is_empty());

    // Without the Security Profiles Operator, the rest is still written.
    store.lock().unwrap().spo = false;
    let written = runtime.block_on(reconcile_one(&node1, &context)).unwrap();
    assert!(
        written
            .iter()
            .any(|w| w.starts_with("no SeccompProfile shop/")),
        "{written:?}"
    );
    let merged: RecordingResource =
        serde_json::from_value(stored(&path("backend-backend-merged"))).unwrap();
    let advice = merged.spec.advice.unwrap();
    assert_eq!(advice.seccomp_profile, "");
    assert!(advice.security_context_patch.contains("securityContext"));

    // With an output directory, the same advice as files.
    let out = dir.path().join("advice");
    let client_again = client.clone();
    let files = Context {
        client,
        output: Some(out.clone()),
    };
    let written = runtime.block_on(reconcile_one(&node1, &files)).unwrap();
    assert!(
        out.join("shop")
            .join("seccompprofile-shop-backend-backend.json")
            .is_file(),
        "{written:?}"
    );
    assert!(out
        .join("shop")
        .join("recording-backend-backend-merged.json")
        .is_file());

    // A Recording from a compromised node naming syscall 0 `ptrace` (the
    // CRD's schema cannot tell): the operator's reader refuses it, and
    // nothing is advised from it; the error says why.
    let mut hostile = stored(&path("backend-backend-node-2"));
    hostile["metadata"]["name"] = "backend-backend-node-3".into();
    hostile["metadata"]["labels"]["corral.dev/node"] = "node-3".into();
    let at = hostile["spec"]["recording"]["workload"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["number"] == 0)
        .unwrap();
    hostile["spec"]["recording"]["workload"]["syscalls"][at]["name"] = "ptrace".into();
    store
        .lock()
        .unwrap()
        .objects
        .insert(path("backend-backend-node-3"), hostile);
    let applies = store.lock().unwrap().applies.len();
    let error = runtime
        .block_on(reconcile_one(&node1, &context))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(r#"syscall number 0 is "read" on x86_64, not "ptrace""#),
        "{error}"
    );
    assert_eq!(store.lock().unwrap().applies.len(), applies);
    // The controller watches metadata only, and reads each Recording it
    // reconciles by name: the unreadable one fails its own reconcile,
    // named.
    let error = runtime
        .block_on(reconcile_named("shop", "backend-backend-node-3", &context))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("reading Recording shop/backend-backend-node-3: ")
            && error.contains(r#"not "ptrace""#),
        "{error}"
    );
    assert_eq!(store.lock().unwrap().applies.len(), applies);

    // node-3's recorder publishes: the unreadable Recording is not merged
    // with (nor does it stop publishing), but replaced, and said.
    let mut fresh = demo("shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json");
    fresh.runs[0].started += 1200;
    let published = runtime
        .block_on(publish(&client_again, vec![fresh], "node-3"))
        .unwrap();
    assert_eq!(published.written, ["shop/backend-backend-node-3"]);
    assert_eq!(published.replaced.len(), 1, "{published:?}");
    assert!(
        published.replaced[0].starts_with("shop/backend-backend-node-3: ")
            && published.replaced[0].contains(r#"not "ptrace""#),
        "{published:?}"
    );
    let node3: RecordingResource =
        serde_json::from_value(stored(&path("backend-backend-node-3"))).unwrap();
    assert_eq!(node3.spec.runs, 1);
    // Reconciled by name again, the workload container is advised from
    // every node's recording.
    let written = runtime
        .block_on(reconcile_named("shop", "backend-backend-node-3", &context))
        .unwrap();
    assert!(!written.is_empty());
    let merged: RecordingResource =
        serde_json::from_value(stored(&path("backend-backend-merged"))).unwrap();
    assert_eq!(merged.spec.runs, 4);
}

/// A node that records for weeks: 2,000 ten-minute windows of the demo
/// backend, each published as the DaemonSet publishes it (the node's
/// Recording read back from the stand-in and merged with the window), a
/// new peer in every tenth (pods come and go), now and then a gap (the
/// recorder restarted). The Recording stays bounded, and what the
/// advisors read of it is what all 2,000 runs give.
#[test]
fn a_long_lived_nodes_published_recording_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Mutex::new(Store {
        objects: cluster(),
        applies: Vec::new(),
        spo: true,
    }));
    let server = store.clone();
    let kubeconfig = replay::start(
        dir.path(),
        Arc::new(move |request: &replay::Request| answer(&server, request)),
    );
    let target = corral_cluster::Target {
        kubeconfig: Some(kubeconfig),
        ..corral_cluster::Target::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = runtime.block_on(corral_cluster::client(&target)).unwrap();
    let backend = demo("shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json");
    let mut at = backend.runs[0].started;
    let windows: Vec<corral_record::Recording> = (0..2000u32)
        .map(|i| {
            if i % 97 == 0 {
                at += 3600;
            }
            let mut window = backend.clone();
            window.runs[0].started = at;
            window.runs[0].ended = at + 600;
            at += 600;
            if i % 10 == 0 {
                window.workload.connects.push(corral_record::Endpoint {
                    address: std::net::IpAddr::from([10, 9, (i / 250) as u8, (i % 250) as u8]),
                    port: 8080,
                    count: 1,
                    runs: 1,
                });
            }
            window
        })
        .collect();
    let unbounded = corral_record::Recording::merge(windows.clone()).unwrap();
    let path = "/apis/corral.dev/v1alpha1/namespaces/shop/recordings/backend-backend-node-1";
    let mut largest = 0;
    for (i, window) in windows.into_iter().enumerate() {
        runtime
            .block_on(publish(&client, vec![window], "node-1"))
            .unwrap();
        if i % 10 == 0 {
            let store = store.lock().unwrap();
            let size = serde_json::to_vec(&store.objects[path]["spec"]["recording"]);
            largest = largest.max(size.unwrap().len());
        }
    }
    let stored = store.lock().unwrap().objects[path].clone();
    // Well under etcd's 1.5 MiB, the whole object included.
    assert!(
        largest <= corral_record::MAX_RECORDING_BYTES,
        "{largest} bytes"
    );
    assert!(serde_json::to_vec(&stored).unwrap().len() < 1024 * 1024);
    let node: RecordingResource = serde_json::from_value(stored).unwrap();
    let recording = &node.spec.recording;
    assert_eq!(recording.runs.len(), corral_record::DEFAULT_MAX_RUNS);
    assert_eq!(node.spec.runs, 2000);
    assert_eq!(recording.run_count(), 2000);
    assert_eq!(recording.recorded_seconds(), unbounded.recorded_seconds());
    assert_eq!(recording.dropped(), unbounded.dropped());
    // Every peer kept: nothing was cut, so every advice can be given.
    assert!(recording.truncated.is_empty(), "{:?}", recording.truncated);
    assert_eq!(recording.workload, unbounded.workload);
    assert_eq!(recording.execs, unbounded.execs);
}
