//! The in-cluster recorder's publishing and `corral operator`, with the
//! real kube-rs client and kube-runtime controllers against the stand-in
//! API server (`corral-standin`: list, watch, apply, status, owner garbage
//! collection, request accounting). The recordings are the demo's,
//! recorded from real containers (`examples/advise-demo/recordings`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use corral_operator::publish::{publish, Published};
use corral_operator::reconcile::{run, Settings};
use corral_standin::{default_resources, Config, StandIn};
use serde_json::{json, Value};

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

fn fast() -> Settings {
    Settings {
        concurrency: 4,
        debounce: Duration::from_millis(200),
        namespace_debounce: Duration::from_millis(200),
        refresh: Duration::from_secs(600),
    }
}

fn health() -> std::sync::Arc<corral_operator::serve::Health> {
    std::sync::Arc::new(corral_operator::serve::Health::new(std::sync::Arc::new(
        corral_operator::metrics::Metrics::new(),
    )))
}

/// Wait (at most 30 s) until `check` gives something.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Cluster {
    server: StandIn,
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    _dir: tempfile::TempDir,
}

fn start(config: Config) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let server = StandIn::with_config(config);
    let kubeconfig = server.kubeconfig(dir.path());
    for object in cluster().into_values() {
        let status = object.get("status").is_some();
        server.apply(object.clone()).unwrap();
        if status {
            server.apply_status(object).unwrap();
        }
    }
    let target = corral_cluster::Target {
        kubeconfig: Some(kubeconfig),
        ..corral_cluster::Target::default()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = runtime.block_on(corral_cluster::client(&target)).unwrap();
    Cluster {
        server,
        runtime,
        client,
        _dir: dir,
    }
}

/// (verb, resource.group) pairs the operator's ClusterRole and Roles in
/// deploy/corral.yaml grant.
fn operator_rbac() -> BTreeSet<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/corral.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    let name: std::sync::Arc<str> = std::sync::Arc::from("deploy/corral.yaml");
    let (objects, _) = corral_core::load_bytes(
        &name,
        text.as_bytes(),
        &corral_core::Limits::default(),
        &|_| {},
    );
    let mut granted = BTreeSet::new();
    for object in objects {
        if !matches!(object.kind.as_str(), "ClusterRole" | "Role")
            || !object
                .name
                .as_deref()
                .unwrap_or_default()
                .starts_with("corral-operator")
        {
            continue;
        }
        let role: Value = object.decode().unwrap();
        for rule in role["rules"].as_array().into_iter().flatten() {
            let strings = |key: &str| -> Vec<String> {
                rule[key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            };
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    for verb in strings("verbs") {
                        let named = if group.is_empty() {
                            resource.clone()
                        } else {
                            match resource.split_once('/') {
                                Some((r, sub)) => format!("{r}.{group}/{sub}"),
                                None => format!("{resource}.{group}"),
                            }
                        };
                        granted.insert((verb, named));
                    }
                }
            }
        }
    }
    assert!(
        !granted.is_empty(),
        "no operator role in deploy/corral.yaml"
    );
    granted
}

fn merged_runs(server: &StandIn) -> Option<u64> {
    server
        .get("recordings.corral.dev", "shop", "backend-backend-merged")?
        .pointer("/status/runs")?
        .as_u64()
}

fn condition(recording: &Value, kind: &str) -> Value {
    recording["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == kind)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn recordings_are_published_per_node_then_advised_once_per_workload_container_from_watches() {
    let Cluster {
        server,
        runtime,
        client,
        _dir,
    } = start(Config::default());

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
        .block_on(publish(&client, vec![backend.clone(), db], "node-1"))
        .unwrap();
    assert_eq!(
        first,
        Published {
            written: vec!["shop/backend-backend-node-1".into()],
            skipped: 1,
            unnamed: 0,
            replaced: Vec::new(),
            collided: Vec::new(),
        }
    );
    runtime
        .block_on(publish(&client, vec![later], "node-1"))
        .unwrap();
    runtime
        .block_on(publish(&client, vec![replica], "node-2"))
        .unwrap();
    let node1 = server
        .get("recordings.corral.dev", "shop", "backend-backend-node-1")
        .unwrap();
    assert_eq!(node1["spec"]["runs"], 2);
    assert_eq!(
        node1["metadata"]["labels"]["corral.dev/workload"],
        "backend"
    );
    assert_eq!(
        node1["metadata"]["annotations"]["corral.dev/workload"],
        "backend"
    );

    // The operator: both nodes' Recordings merged into one, advised once.
    server.reset_stats();
    let operator = runtime.spawn(run(client.clone(), None, fast(), health()));
    wait_for("the merged Recording", || {
        merged_runs(&server).filter(|r| *r == 3)
    });
    wait_for("the NetworkPolicy", || {
        Some(()).filter(|_| {
            !server
                .list("networkpolicies.networking.k8s.io", Some("shop"))
                .is_empty()
        })
    });
    // Everything it asked is what the chart's RBAC grants it.
    let asked: BTreeSet<(String, String)> = server.stats().api.keys().cloned().collect();
    assert!(asked.len() >= 8, "{asked:?}");
    let granted = operator_rbac();
    for (verb, resource) in &asked {
        // A server-side apply that makes the object is a create too.
        let also = (verb == "patch" && !resource.ends_with("/status")).then_some("create");
        for verb in std::iter::once(verb.as_str()).chain(also) {
            assert!(
                granted.contains(&(verb.to_string(), resource.clone())),
                "the operator did {verb} on {resource}, which deploy/corral.yaml does not grant it ({granted:?})"
            );
        }
    }
    let merged = server
        .get("recordings.corral.dev", "shop", "backend-backend-merged")
        .unwrap();
    assert_eq!(merged["metadata"]["labels"]["corral.dev/merged"], "true");
    assert_eq!(merged["spec"]["runs"], 3);
    assert_eq!(merged["status"]["sources"], 2);
    assert_eq!(condition(&merged, "Merged")["status"], "True");
    assert_eq!(
        condition(&merged, "SeccompProfileWritten")["status"],
        "True",
        "{merged:#}"
    );
    let uid = merged["metadata"]["uid"].as_str().unwrap().to_string();
    let profile_name = merged["status"]["seccompProfile"]
        .as_str()
        .unwrap()
        .to_string();
    let profile = server
        .get(
            "seccompprofiles.security-profiles-operator.x-k8s.io",
            "shop",
            &profile_name,
        )
        .unwrap();
    assert_eq!(profile["spec"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(
        profile["metadata"]["ownerReferences"][0]["uid"],
        uid.as_str()
    );
    let allowed = profile["spec"]["syscalls"][0]["names"].as_array().unwrap();
    assert!(
        allowed.iter().any(|s| s == "accept4" || s == "accept"),
        "{allowed:?}"
    );
    let advice = &merged["spec"]["advice"];
    assert!(advice["securityContextPatch"]
        .as_str()
        .unwrap()
        .contains("securityContext"));
    assert!(advice["advice"]
        .as_str()
        .unwrap()
        .contains("\"workload\": \"backend\""));
    // The backend's recorded flows give the namespace a NetworkPolicy,
    // Corral's and owned by the merged Recording.
    let policies = wait_for("the NetworkPolicy", || {
        Some(server.list("networkpolicies.networking.k8s.io", Some("shop")))
            .filter(|p| !p.is_empty())
    });
    for policy in &policies {
        assert_eq!(
            policy["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "corral"
        );
        assert_eq!(
            policy["metadata"]["ownerReferences"][0]["uid"],
            uid.as_str()
        );
    }
    // An Event on the merged Recording says what was done.
    let events = server.list("events.events.k8s.io", Some("shop"));
    assert!(
        events.iter().any(|e| e["reason"] == "Advised"
            && e["regarding"]["name"] == "backend-backend-merged"),
        "{events:?}"
    );

    // Synced: a new window from node-1 is watched, not listed, and reads
    // only the workload container's own Recordings.
    std::thread::sleep(Duration::from_millis(500));
    server.reset_stats();
    let mut third = backend.clone();
    third.runs[0].started += 1200;
    third.runs[0].ended += 1200;
    runtime
        .block_on(publish(&client, vec![third], "node-1"))
        .unwrap();
    wait_for("the next window merged", || {
        merged_runs(&server).filter(|r| *r == 4)
    });
    std::thread::sleep(Duration::from_millis(800));
    let stats = server.stats();
    assert_eq!(stats.requests("list"), 0, "{:?}", stats.api);
    let gets = stats
        .api
        .get(&("get".to_string(), "recordings.corral.dev".to_string()))
        .map_or(0, |c| c.requests);
    // The publisher's read of its own Recording, and the operator's of the
    // two nodes' Recordings.
    assert!(gets <= 3, "{:?}", stats.api);

    // A change to the merged Recording that is not its nodes' Recordings
    // (a label someone adds; the operator's own status writes) reads and
    // writes nothing.
    server.reset_stats();
    let mut labelled = server
        .get("recordings.corral.dev", "shop", "backend-backend-merged")
        .unwrap();
    labelled["metadata"]["labels"]["team"] = "shop".into();
    server.apply(labelled).unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let stats = server.stats();
    assert_eq!(
        stats.requests("get") + stats.requests("list") + stats.requests("patch"),
        0,
        "{:?}",
        stats.api
    );

    // A Recording from a compromised node naming syscall 0 `ptrace` (the
    // CRD's schema cannot tell): the operator's reader refuses it, nothing
    // is advised from it, and the merged Recording's status says why.
    let profile_before = server
        .get(
            "seccompprofiles.security-profiles-operator.x-k8s.io",
            "shop",
            &profile_name,
        )
        .unwrap();
    let mut hostile = server
        .get("recordings.corral.dev", "shop", "backend-backend-node-2")
        .unwrap();
    hostile["metadata"] = json!({"name": "backend-backend-node-3", "namespace": "shop",
        "labels": {"corral.dev/workload": "backend", "corral.dev/container": "backend", "corral.dev/node": "node-3"}});
    hostile["spec"]["node"] = "node-3".into();
    let at = hostile["spec"]["recording"]["workload"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["number"] == 0)
        .unwrap();
    hostile["spec"]["recording"]["workload"]["syscalls"][at]["name"] = "ptrace".into();
    server.apply(hostile).unwrap();
    let refused = wait_for("the refusal in the status", || {
        let merged = server.get("recordings.corral.dev", "shop", "backend-backend-merged")?;
        let c = condition(&merged, "Merged");
        (c["status"] == "False").then_some(c)
    });
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("backend-backend-node-3")
            && message.contains(r#"syscall number 0 is "read" on x86_64, not "ptrace""#),
        "{message}"
    );
    assert_eq!(
        server
            .get(
                "seccompprofiles.security-profiles-operator.x-k8s.io",
                "shop",
                &profile_name
            )
            .unwrap(),
        profile_before
    );
    assert!(server
        .list("events.events.k8s.io", Some("shop"))
        .iter()
        .any(|e| e["reason"] == "NotMerged" && e["type"] == "Warning"));

    // node-3's recorder publishes: the unreadable Recording is not merged
    // with (nor does it stop publishing), but replaced, and said; then the
    // workload container is advised from every node's Recording again.
    let mut fresh = demo("shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json");
    fresh.runs[0].started += 1800;
    let published = runtime
        .block_on(publish(&client, vec![fresh], "node-3"))
        .unwrap();
    assert_eq!(published.written, ["shop/backend-backend-node-3"]);
    assert_eq!(published.replaced.len(), 1, "{published:?}");
    assert!(
        published.replaced[0].contains(r#"not "ptrace""#),
        "{published:?}"
    );
    wait_for("the three nodes merged", || {
        merged_runs(&server).filter(|r| *r == 5)
    });

    // The nodes' Recordings go: so does the merged one, and by ownership
    // what was advised from it.
    for node in ["node-1", "node-2", "node-3"] {
        server
            .delete(
                "recordings.corral.dev",
                "shop",
                &format!("backend-backend-{node}"),
            )
            .unwrap();
    }
    wait_for("the advice deleted", || {
        (server
            .get("recordings.corral.dev", "shop", "backend-backend-merged")
            .is_none()
            && server
                .get(
                    "seccompprofiles.security-profiles-operator.x-k8s.io",
                    "shop",
                    &profile_name,
                )
                .is_none()
            && server
                .list("networkpolicies.networking.k8s.io", Some("shop"))
                .is_empty())
        .then_some(())
    });
    operator.abort();
}

#[test]
fn without_the_security_profiles_operator_the_rest_is_advised_and_the_status_says_so() {
    let config = Config {
        resources: default_resources()
            .into_iter()
            .filter(|r| r.plural != "seccompprofiles")
            .collect(),
        ..Config::default()
    };
    let Cluster {
        server,
        runtime,
        client,
        _dir,
    } = start(config);
    let backend = demo("shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json");
    runtime
        .block_on(publish(&client, vec![backend], "node-1"))
        .unwrap();
    let operator = runtime.spawn(run(client.clone(), None, fast(), health()));
    let merged = wait_for("the merged Recording", || {
        let merged = server.get("recordings.corral.dev", "shop", "backend-backend-merged")?;
        (condition(&merged, "SeccompProfileWritten")["status"] == "False").then_some(merged)
    });
    assert_eq!(
        condition(&merged, "SeccompProfileWritten")["reason"],
        "SecurityProfilesOperatorMissing"
    );
    assert_eq!(merged["status"]["seccompProfile"], "");
    assert!(merged["spec"]["advice"]["securityContextPatch"]
        .as_str()
        .unwrap()
        .contains("securityContext"));
    wait_for("the NetworkPolicy", || {
        Some(()).filter(|_| {
            !server
                .list("networkpolicies.networking.k8s.io", Some("shop"))
                .is_empty()
        })
    });
    assert!(server
        .list("events.events.k8s.io", Some("shop"))
        .iter()
        .any(|e| e["reason"] == "SeccompProfileNotWritten" && e["type"] == "Warning"));
    operator.abort();
}

#[test]
fn with_an_output_directory_the_advice_is_written_as_files() {
    let Cluster {
        server,
        runtime,
        client,
        _dir,
    } = start(Config::default());
    let backend = demo("shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json");
    runtime
        .block_on(publish(&client, vec![backend], "node-1"))
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let operator = runtime.spawn(run(
        client.clone(),
        Some(out.path().to_path_buf()),
        fast(),
        health(),
    ));
    let shop = out.path().join("shop");
    wait_for("the files", || {
        (shop
            .join("seccompprofile-shop-backend-backend.json")
            .is_file()
            && shop.join("recording-backend-backend-merged.json").is_file())
        .then_some(())
    });
    // Nothing applied.
    assert!(server
        .get("recordings.corral.dev", "shop", "backend-backend-merged")
        .is_none());
    operator.abort();
}

/// A node that records for weeks: 2,000 ten-minute windows of the demo
/// backend, each published as the DaemonSet publishes it (the node's
/// Recording read back from the stand-in and merged with the window), a
/// new peer in every tenth (pods come and go), now and then a gap (the
/// recorder restarted). The Recording stays bounded, and what the
/// advisors read of it is what all 2,000 runs give.
#[test]
fn a_long_lived_nodes_published_recording_stays_bounded() {
    let Cluster {
        server,
        runtime,
        client,
        _dir,
    } = start(Config::default());
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
    let stored = || {
        server
            .get("recordings.corral.dev", "shop", "backend-backend-node-1")
            .unwrap()
    };
    let mut largest = 0;
    for (i, window) in windows.into_iter().enumerate() {
        runtime
            .block_on(publish(&client, vec![window], "node-1"))
            .unwrap();
        if i % 10 == 0 {
            let size = serde_json::to_vec(&stored()["spec"]["recording"]);
            largest = largest.max(size.unwrap().len());
        }
    }
    let stored = stored();
    // Well under etcd's 1.5 MiB, the whole object included.
    assert!(
        largest <= corral_record::MAX_RECORDING_BYTES,
        "{largest} bytes"
    );
    assert!(serde_json::to_vec(&stored).unwrap().len() < 1024 * 1024);
    let node: corral_operator::RecordingResource = serde_json::from_value(stored).unwrap();
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

/// Names join workload, container and node with `-`: workload `web`'s
/// container `api-server` and workload `web-api`'s container `server` meet
/// on one name. The second is not published into the first's Recording,
/// and the operator advises the first only, from its own recording.
#[test]
fn two_containers_whose_names_meet_are_never_mixed() {
    let Cluster {
        server,
        runtime,
        client,
        _dir,
    } = start(Config::default());
    let named = |pod: &str, container: &str| {
        let mut recording = demo("shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json");
        let c = recording.container.as_mut().unwrap();
        c.pod = Some(pod.into());
        c.name = Some(container.into());
        recording
    };
    let first = named("web-6d4b9c8f6d-x2x9q", "api-server");
    let second = named("web-api-7f5c8d9b4c-q8w2z", "server");
    let published = runtime
        .block_on(publish(&client, vec![first, second], "node-1"))
        .unwrap();
    assert_eq!(published.written, ["shop/web-api-server-node-1"]);
    assert_eq!(published.collided.len(), 1, "{published:?}");
    assert!(
        published.collided[0].contains("holds workload web container api-server"),
        "{published:?}"
    );
    let stored = server
        .get("recordings.corral.dev", "shop", "web-api-server-node-1")
        .unwrap();
    assert_eq!(stored["spec"]["workload"], "web");
    assert_eq!(stored["spec"]["runs"], 1);

    let operator = runtime.spawn(run(client.clone(), None, fast(), health()));
    wait_for("the merged Recording", || {
        server
            .get("recordings.corral.dev", "shop", "web-api-server-merged")
            .filter(|m| m["status"]["runs"] == 1)
    });
    // On another node their per-node names differ, their merged names
    // still meet: the merged Recording stays the first one's.
    let mut again = named("web-api-7f5c8d9b4c-q8w2z", "server");
    again.runs[0].started += 600;
    let published = runtime
        .block_on(publish(&client, vec![again], "node-2"))
        .unwrap();
    assert_eq!(published.written, ["shop/web-api-server-node-2"]);
    std::thread::sleep(Duration::from_millis(1500));
    let merged = server
        .get("recordings.corral.dev", "shop", "web-api-server-merged")
        .unwrap();
    assert_eq!(merged["spec"]["workload"], "web");
    assert_eq!(merged["spec"]["container"], "api-server");
    assert_eq!(merged["status"]["runs"], 1);
    assert_eq!(merged["status"]["sources"], 1);
    operator.abort();
}
