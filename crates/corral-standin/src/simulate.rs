//! A simulated cluster in the stand-in: Nodes, Namespaces (some labelled
//! `corral.dev/record: "true"`), Deployments → ReplicaSets → Pods (with
//! ownerReferences), Services and EndpointSlices, of realistic size (pods
//! carry managedFields-like bulk, which an operator's trimming drops); and
//! the recorder DaemonSet's publishers: each window, every node's
//! `Recording` of every recorded workload container on it is applied
//! (`corral.dev/v1alpha1`, named `WORKLOAD-CONTAINER-NODE`, as
//! `corral-operator`'s `publish` writes them), its body one of the real
//! recordings given (`examples/advise-demo/recordings`), renamed to the
//! simulated container. A changed workload container's recordings gain
//! the window's run; the others are applied unchanged (no new version, no
//! watch event), as a publisher re-applying the same recording does.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::Handle;

/// The cluster's size and the windows' churn.
#[derive(Clone, Debug)]
pub struct Scale {
    pub nodes: usize,
    pub pods: usize,
    pub namespaces: usize,
    /// Pods per Deployment.
    pub replicas: usize,
    /// The fraction of namespaces labelled for recording.
    pub recorded: f64,
    /// The fraction of recorded workload containers whose recordings
    /// change in a window.
    pub changed: f64,
    /// Recorded containers per pod (the first named after its recording,
    /// the others `sidecar-N`).
    pub containers: usize,
    /// A window's length, in seconds (the runs' timestamps).
    pub window_seconds: u64,
}

impl Default for Scale {
    fn default() -> Self {
        Scale {
            nodes: 5_000,
            pods: 150_000,
            namespaces: 2_000,
            replicas: 5,
            recorded: 0.1,
            changed: 0.1,
            containers: 1,
            window_seconds: 600,
        }
    }
}

/// A recorded workload container, and where its pods run.
struct Recorded {
    namespace: String,
    workload: String,
    container: String,
    image: String,
    template: usize,
    /// (pod, pod uid, node) of each replica.
    pods: Vec<(String, String, String)>,
}

pub struct Simulation {
    scale: Scale,
    templates: Vec<Value>,
    recorded: Vec<Recorded>,
    /// The window published last (0: the one applied at start).
    pub window: u64,
    /// The workload containers (indexes into `recorded`) the last window
    /// changed.
    changed: Vec<usize>,
    /// Each recorded container's last run start (its windows so far).
    runs: Vec<Vec<u64>>,
}

/// A deterministic generator (SplitMix64).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// `len` lowercase letters and digits.
    fn word(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len())] as char)
            .collect()
    }
}

/// The recordings (JSON files, `corral record`'s format) under `dir`,
/// sorted by name.
pub fn templates(dir: &Path) -> Result<Vec<Value>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut templates = Vec::new();
    for file in files {
        let text = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let value: Value = serde_json::from_slice(&text).map_err(|e| {
            format!(
                "{}: line {}, column {}: {e}",
                file.display(),
                e.line(),
                e.column()
            )
        })?;
        if value["formatVersion"] != json!(1) || !value["runs"].is_array() {
            return Err(format!(
                "{}: not a recording (formatVersion 1 with runs)",
                file.display()
            ));
        }
        templates.push(value);
    }
    if templates.is_empty() {
        return Err(format!("{}: no recordings (*.json)", dir.display()));
    }
    Ok(templates)
}

/// `corral-operator`'s object names: lower case, `-` for anything but
/// letters and digits.
fn object_name(parts: &[&str]) -> String {
    let joined = parts.join("-").to_ascii_lowercase();
    let mut name: String = joined
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name.truncate(253);
    name.trim_matches('-').to_string()
}

/// A managedFields entry like the API server's, for the bulk it adds
/// (about 1.5 KB a container).
fn managed_fields(manager: &str, fields: &[&str], containers: &[String]) -> Value {
    let mut v1 = serde_json::Map::new();
    for field in fields {
        let mut entry = serde_json::Map::new();
        entry.insert(".".into(), json!({}));
        for container in containers {
            entry.insert(
                format!("k:{{\"name\":\"{container}\"}}"),
                json!({".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
                       "f:resources": {".": {}, "f:limits": {".": {}, "f:memory": {}}},
                       "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}),
            );
        }
        v1.insert(format!("f:{field}"), Value::Object(entry));
    }
    json!({"manager": manager, "operation": "Update", "apiVersion": "v1",
           "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": v1})
}

fn ip(n: usize) -> String {
    format!("10.{}.{}.{}", 64 + (n >> 16) % 64, (n >> 8) % 256, n % 256)
}

impl Simulation {
    /// Populate `server` with the cluster of `scale`, and publish window
    /// 0 (every recorded container's recording on every node).
    pub fn populate(
        server: &Handle,
        scale: Scale,
        templates: Vec<Value>,
    ) -> Result<Simulation, String> {
        let fail = |what: &str, e: crate::Status| format!("simulating {what}: {e}");
        let mut random = Random(0x5eed);
        let nodes: Vec<String> = (0..scale.nodes.max(1))
            .map(|i| format!("node-{i:05}"))
            .collect();
        for (i, node) in nodes.iter().enumerate() {
            let images: Vec<Value> = (0..20)
                .map(|j| json!({"names": [format!("registry.example.com/team-{j}/image@sha256:{:064x}", j * 7919 + 1)], "sizeBytes": 10_000_000 + j}))
                .collect();
            server
                .create(json!({"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": node, "labels": {
                        "kubernetes.io/hostname": node, "kubernetes.io/os": "linux",
                        "topology.kubernetes.io/zone": format!("zone-{}", i % 3),
                        "node.kubernetes.io/instance-type": "m6i.4xlarge"}},
                    "spec": {"podCIDR": format!("10.{}.{}.0/24", 128 + i / 256 % 64, i % 256)},
                    "status": {"addresses": [{"type": "InternalIP", "address": ip(i + 1_000_000)}],
                        "capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"},
                        "images": images}}))
                .map_err(|e| fail("nodes", e))?;
        }
        let namespaces = scale.namespaces.max(1);
        let recorded_namespaces =
            ((namespaces as f64) * scale.recorded.clamp(0.0, 1.0)).round() as usize;
        for i in 0..namespaces {
            let mut labels = json!({"kubernetes.io/metadata.name": format!("ns-{i:04}"), "team": format!("team-{}", i % 40)});
            if i < recorded_namespaces {
                labels["corral.dev/record"] = json!("true");
            }
            server
                .create(json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": format!("ns-{i:04}"), "labels": labels}}))
                .map_err(|e| fail("namespaces", e))?;
        }
        let replicas = scale.replicas.max(1);
        let deployments = scale.pods.div_ceil(replicas).max(1);
        let mut recorded = Vec::new();
        let mut pod_index = 0usize;
        for d in 0..deployments {
            let ns_index = d % namespaces;
            let namespace = format!("ns-{ns_index:04}");
            let name = format!("app-{d:05}");
            let template = d % templates.len();
            let base = templates[template]["container"]["name"]
                .as_str()
                .unwrap_or("app")
                .to_string();
            let containers: Vec<String> = (0..scale.containers.max(1))
                .map(|c| {
                    if c == 0 {
                        base.clone()
                    } else {
                        format!("sidecar-{c}")
                    }
                })
                .collect();
            let image = format!("registry.example.com/{namespace}/{name}:1.{}", d % 10);
            let labels =
                json!({"app": name, "team": format!("team-{}", ns_index % 40), "version": "v1"});
            let hash = random.word(10);
            let container_specs: Vec<Value> = containers
                .iter()
                .enumerate()
                .map(|(c, container)| {
                    json!({"name": container, "image": image,
                        "ports": [{"name": "http", "containerPort": 8080 + c, "protocol": "TCP"}],
                        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}]})
                })
                .collect();
            let template_spec = json!({"metadata": {"labels": labels},
                "spec": {"containers": container_specs, "volumes": [{"name": "config", "configMap": {"name": name}}],
                         "serviceAccountName": "default"}});
            let deployment = server
                .create(json!({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": name, "namespace": namespace, "labels": labels},
                    "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                             "template": template_spec}}))
                .map_err(|e| fail("deployments", e))?;
            let owner = |kind: &str, object: &Value| {
                json!([{"apiVersion": "apps/v1", "kind": kind, "name": object["metadata"]["name"],
                        "uid": object["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}])
            };
            let mut rs_labels = labels.clone();
            rs_labels["pod-template-hash"] = json!(hash);
            let replica_set = server
                .create(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": format!("{name}-{hash}"), "namespace": namespace, "labels": rs_labels,
                                 "ownerReferences": owner("Deployment", &deployment)},
                    "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name, "pod-template-hash": hash}},
                             "template": template_spec}}))
                .map_err(|e| fail("replicasets", e))?;
            let mut pods = Vec::new();
            let mut endpoints = Vec::new();
            for _ in 0..replicas {
                if pod_index >= scale.pods {
                    break;
                }
                let pod_name = format!("{name}-{hash}-{}", random.word(5));
                let node = &nodes[random.below(nodes.len())];
                let pod_ip = ip(pod_index);
                let mut spec = template_spec["spec"].clone();
                spec["nodeName"] = json!(node);
                let statuses: Vec<Value> = containers
                    .iter()
                    .map(|c| json!({"name": c, "ready": true, "restartCount": 0, "image": image,
                        "imageID": format!("{image}@sha256:{:064x}", d + 1),
                        "containerID": format!("containerd://{:064x}", pod_index * 4 + 1),
                        "started": true, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}))
                    .collect();
                let pod = server
                    .create(json!({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": pod_name, "namespace": namespace, "labels": rs_labels,
                            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"},
                            "ownerReferences": owner("ReplicaSet", &replica_set),
                            "managedFields": [
                                managed_fields("kube-controller-manager", &["labels", "ownerReferences", "containers", "volumes", "env", "ports", "resources"], &containers),
                                managed_fields("kubelet", &["conditions", "containerStatuses", "hostIP", "podIP", "podIPs", "startTime", "phase"], &containers)]},
                        "spec": spec,
                        "status": {"phase": "Running", "podIP": pod_ip, "podIPs": [{"ip": pod_ip}],
                            "hostIP": "10.0.0.1", "startTime": "2026-01-01T00:00:00Z", "qosClass": "Burstable",
                            "conditions": [{"type": "Ready", "status": "True"}, {"type": "ContainersReady", "status": "True"},
                                           {"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"}],
                            "containerStatuses": statuses}}))
                    .map_err(|e| fail("pods", e))?;
                endpoints.push(json!({"addresses": [pod_ip], "conditions": {"ready": true},
                    "nodeName": node, "targetRef": {"kind": "Pod", "namespace": namespace, "name": pod_name,
                    "uid": pod["metadata"]["uid"]}}));
                pods.push((
                    pod_name,
                    pod["metadata"]["uid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    node.clone(),
                ));
                pod_index += 1;
            }
            let service = server
                .create(json!({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": name, "namespace": namespace, "labels": labels},
                    "spec": {"selector": {"app": name}, "type": "ClusterIP", "clusterIP": ip(d + 2_000_000),
                             "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]}}))
                .map_err(|e| fail("services", e))?;
            server
                .create(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": format!("{name}-{}", random.word(5)), "namespace": namespace,
                        "labels": {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                        "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": name,
                                             "uid": service["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
                    "addressType": "IPv4", "endpoints": endpoints,
                    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}))
                .map_err(|e| fail("endpointslices", e))?;
            if ns_index < recorded_namespaces {
                for container in &containers {
                    recorded.push(Recorded {
                        namespace: namespace.clone(),
                        workload: name.clone(),
                        container: container.clone(),
                        image: image.clone(),
                        template,
                        pods: pods.clone(),
                    });
                }
            }
        }
        let runs = vec![Vec::new(); recorded.len()];
        let mut simulation = Simulation {
            scale,
            templates,
            recorded,
            window: 0,
            changed: Vec::new(),
            runs,
        };
        simulation.publish(server, true)?;
        Ok(simulation)
    }

    /// The recorded workload containers.
    pub fn recorded(&self) -> usize {
        self.recorded.len()
    }

    fn started(&self, window: u64) -> u64 {
        1_800_000_000 + window * self.scale.window_seconds
    }

    /// Whether `window` changes recorded container `index`.
    fn changes(&self, index: usize, window: u64) -> bool {
        let mut random = Random(window.wrapping_mul(1_000_003) ^ index as u64);
        (random.next() % 1_000_000) as f64 / 1_000_000.0 < self.scale.changed
    }

    /// Publish the next window: every node's Recording of every recorded
    /// container; a summary.
    pub fn next_window(&mut self, server: &Handle) -> Result<Value, String> {
        self.window += 1;
        self.publish(server, false)
    }

    fn publish(&mut self, server: &Handle, all: bool) -> Result<Value, String> {
        let began = std::time::Instant::now();
        let started = self.started(self.window);
        self.changed = (0..self.recorded.len())
            .filter(|&i| all || self.changes(i, self.window))
            .collect();
        for &i in &self.changed {
            self.runs[i].push(started);
            // Bounded, as the publishers' summaries keep them.
            if self.runs[i].len() > 8 {
                self.runs[i].remove(0);
            }
        }
        let rv = server.resource_version();
        let mut applied = 0usize;
        for (i, recorded) in self.recorded.iter().enumerate() {
            let mut by_node: BTreeMap<&str, Vec<&(String, String, String)>> = BTreeMap::new();
            for pod in &recorded.pods {
                by_node.entry(pod.2.as_str()).or_default().push(pod);
            }
            for (node, pods) in by_node {
                let pod = pods[0];
                let mut recording = self.templates[recorded.template].clone();
                recording["container"] = json!({"id": format!("{}-{}", pod.0, recorded.container),
                    "runtimeRoot": "/run/containerd/runc/k8s.io", "namespace": recorded.namespace,
                    "pod": pod.0, "podUid": pod.1, "name": recorded.container, "image": recorded.image});
                let run = recording["runs"][0].clone();
                recording["runs"] = self.runs[i]
                    .iter()
                    .map(|&s| {
                        let mut run = run.clone();
                        run["started"] = json!(s);
                        run["ended"] = json!(s + self.scale.window_seconds);
                        run
                    })
                    .collect();
                let name = object_name(&[&recorded.workload, &recorded.container, node]);
                server
                    .publish(json!({"apiVersion": "corral.dev/v1alpha1", "kind": "Recording",
                        "metadata": {"name": name, "namespace": recorded.namespace, "labels": {
                            "corral.dev/workload": recorded.workload, "corral.dev/container": recorded.container,
                            "corral.dev/node": node}},
                        "spec": {"workload": recorded.workload, "container": recorded.container, "node": node,
                                 "runs": self.runs[i].len(), "recording": recording}}))
                    .map_err(|e| format!("publishing Recording {}/{name}: {e}", recorded.namespace))?;
                applied += 1;
            }
        }
        Ok(
            json!({"window": self.window, "started": started, "recorded": self.recorded.len(),
                  "changed": self.changed.len(), "applied": applied,
                  "written": server.resource_version() - rv,
                  "milliseconds": began.elapsed().as_millis() as u64}),
        )
    }

    /// Whether every workload container the last window changed has its
    /// merged Recording (`WORKLOAD-CONTAINER-merged`) with the window's
    /// run: `{"window", "changed", "pending", "converged", "examples"}`.
    pub fn converged(&self, server: &Handle) -> Value {
        let started = self.started(self.window);
        let mut pending = Vec::new();
        for &i in &self.changed {
            let r = &self.recorded[i];
            let name = object_name(&[&r.workload, &r.container, "merged"]);
            let done = server
                .get("recordings.corral.dev", &r.namespace, &name)
                .is_some_and(|m| {
                    m["spec"]["recording"]["runs"]
                        .as_array()
                        .is_some_and(|runs| runs.iter().any(|run| run["started"] == json!(started)))
                });
            if !done {
                pending.push(format!("{}/{name}", r.namespace));
            }
        }
        json!({"window": self.window, "changed": self.changed.len(), "pending": pending.len(),
               "converged": pending.is_empty(), "examples": pending.iter().take(3).collect::<Vec<_>>()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Scale {
        Scale {
            nodes: 4,
            pods: 30,
            namespaces: 3,
            replicas: 3,
            recorded: 0.34,
            changed: 1.0,
            containers: 1,
            window_seconds: 60,
        }
    }

    fn examples() -> Vec<Value> {
        templates(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/advise-demo/recordings"),
        )
        .unwrap()
    }

    #[test]
    fn a_small_cluster_and_its_windows() {
        let server = crate::StandIn::start();
        let mut simulation = Simulation::populate(&server, small(), examples()).unwrap();
        assert_eq!(server.count("nodes"), 4);
        assert_eq!(server.count("namespaces"), 3);
        assert_eq!(server.count("pods"), 30);
        assert_eq!(server.count("deployments.apps"), 10);
        assert_eq!(server.count("replicasets.apps"), 10);
        assert_eq!(server.count("endpointslices.discovery.k8s.io"), 10);
        // ns-0000 holds deployments 0, 3, 6, 9: four workload containers.
        assert_eq!(simulation.recorded(), 4);
        let recordings = server.list("recordings.corral.dev", Some("ns-0000"));
        assert!(!recordings.is_empty());
        assert!(recordings.iter().all(|r| r["spec"]["runs"] == json!(1)));
        let pod = &server.list("pods", Some("ns-0000"))[0];
        assert!(pod["metadata"]["managedFields"].as_array().unwrap().len() == 2);
        assert!(pod["metadata"]["ownerReferences"][0]["uid"].is_string());
        // Nothing merged yet: not converged.
        assert_eq!(simulation.converged(&server)["converged"], json!(false));

        let before = server.resource_version();
        let summary = simulation.next_window(&server).unwrap();
        let changed = summary["changed"].as_u64().unwrap();
        assert_eq!(summary["applied"], json!(recordings.len()));
        // Only the changed containers' recordings were written.
        assert!(server.resource_version() - before <= summary["applied"].as_u64().unwrap());
        assert_eq!(summary["written"].as_u64().unwrap() == 0, changed == 0);
        // Converged when each changed container's merged Recording holds
        // the window's run.
        let started = simulation.started(simulation.window);
        let changed: Vec<usize> = simulation.changed.clone();
        for (n, &i) in changed.iter().enumerate() {
            let state = simulation.converged(&server);
            assert_eq!(state["pending"], json!(changed.len() - n));
            assert_eq!(state["converged"], json!(false));
            let r = &simulation.recorded[i];
            let mut merged = json!({"apiVersion": "corral.dev/v1alpha1", "kind": "Recording",
                "metadata": {"name": object_name(&[&r.workload, &r.container, "merged"]), "namespace": r.namespace},
                "spec": {"recording": {"runs": [{"started": started - 60}]}}});
            server.apply(merged.clone()).unwrap();
            assert_eq!(
                simulation.converged(&server)["pending"],
                json!(changed.len() - n),
                "an older run is not the window's"
            );
            merged["spec"]["recording"]["runs"][0]["started"] = json!(started);
            server.apply(merged).unwrap();
        }
        assert_eq!(simulation.converged(&server)["converged"], json!(true));
        // Deleting a deployment takes its ReplicaSet and pods.
        server
            .delete("deployments.apps", "ns-0001", "app-00001")
            .unwrap();
        assert_eq!(server.count("replicasets.apps"), 9);
        assert_eq!(server.count("pods"), 27);
    }
}
