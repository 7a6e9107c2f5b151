//! The NetworkPolicy a workload's recorded flows call for: ingress from the
//! peers that connected to it, on the ports they reached; egress to the
//! peers it reached, on their ports (a Service's target port, since
//! policies apply after the Service is resolved to its pods); DNS to the
//! cluster's DNS pods always. Pods are selected by their workload's stable
//! labels, Services by their selector, other namespaces by
//! `kubernetes.io/metadata.name`, and everything else by an `ipBlock`
//! (/32 or /128, or wider with `cidr_prefix`), with the DNS names it was
//! resolved from.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use corral_core::model::Model;
use corral_record::{Evidence, Recording};

use crate::workload::{Recorded, WorkloadKey};
use serde::Serialize;
use serde_json::{json, Value};

use super::inventory::{Inventory, PodInfo};

/// Labels that differ between a workload's pods or revisions.
const VOLATILE_LABELS: [&str; 8] = [
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-completion-index",
];

#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Widen IPv4 peers outside the cluster to this prefix length.
    pub cidr_prefix_v4: Option<u8>,
    pub cidr_prefix_v6: Option<u8>,
}

/// A peer of a rule.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    /// Pods of `namespace` with these labels.
    Pods {
        namespace: String,
        labels: BTreeMap<String, String>,
    },
    Block(String),
}

/// A flow the recording saw, as the evaluator checks it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Flow {
    /// `ingress` (a peer connected to the workload) or `egress`.
    pub direction: String,
    pub peer: IpAddr,
    /// The destination port: the peer's for egress, the workload's for
    /// ingress.
    pub port: u16,
    pub protocol: String,
}

/// A workload's policy and the flows it was made from.
#[derive(Clone, Debug, Serialize)]
pub struct Advised {
    pub namespace: String,
    pub workload: String,
    /// Its pods, by name.
    pub pods: Vec<String>,
    pub policy: Value,
    pub flows: Vec<Flow>,
    /// Flows left out, and why (loopback, the pod itself...).
    pub skipped: Vec<String>,
    /// The rules the policy was written from, for the other formats
    /// (`names`: CiliumNetworkPolicy, Calico NetworkPolicy).
    #[serde(skip)]
    pub plan: Plan,
}

/// Ports of a rule: (the port as JSON, a number or a name; the protocol).
pub type Ports = BTreeSet<(String, String)>;

/// What a workload's policy allows, before it is written in a format.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// The workload's pod labels that select it.
    pub selector: BTreeMap<String, String>,
    /// The cluster DNS pods and their ports.
    pub dns: Option<(Peer, Vec<(Value, String)>)>,
    pub ingress: Vec<(Peer, Ports)>,
    /// Egress to peers inside the cluster.
    pub egress: Vec<(Peer, Ports)>,
    /// Egress outside the cluster, by address as recorded: port, protocol.
    pub external: BTreeMap<IpAddr, BTreeSet<(u16, String)>>,
    /// Every DNS question the workload asked (lower case), with the
    /// addresses its answers gave.
    pub lookups: BTreeMap<String, BTreeSet<IpAddr>>,
    /// How addresses are widened into blocks.
    pub options: Options,
}

pub fn stable_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| !VOLATILE_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Each workload's (namespace, name) recordings (one per container) and
/// pods (by name).
pub type ByWorkload<'a> = BTreeMap<(String, String), (Vec<&'a Recording>, Vec<String>)>;

/// The ingress flows of each workload that other workloads' recordings
/// show: UDP datagrams sent to its pods' addresses. Keys and `pods` are
/// (namespace, workload).
pub fn inbound_udp(
    workloads: &ByWorkload,
    inventory: &Inventory,
) -> BTreeMap<(String, String), Vec<Flow>> {
    let ips = |namespace: &str, pods: &[String]| -> Vec<IpAddr> {
        pods.iter()
            .filter_map(|p| inventory.pod(namespace, p))
            .flat_map(|p| p.ips.iter().copied())
            .collect()
    };
    let mut found: BTreeMap<(String, String), BTreeSet<Flow>> = BTreeMap::new();
    for (receiver, (_, receiver_pods)) in workloads {
        let receiver_ips = ips(&receiver.0, receiver_pods);
        for (sender, (recordings, sender_pods)) in workloads {
            let Some(sender_ip) = ips(&sender.0, sender_pods).first().copied() else {
                continue;
            };
            for r in recordings {
                for e in r
                    .workload
                    .udp
                    .iter()
                    .filter(|e| receiver_ips.contains(&e.address))
                {
                    found.entry(receiver.clone()).or_default().insert(Flow {
                        direction: "ingress".into(),
                        peer: sender_ip,
                        port: e.port,
                        protocol: "UDP".into(),
                    });
                }
            }
        }
    }
    found
        .into_iter()
        .map(|(k, v)| (k, v.into_iter().collect()))
        .collect()
}

/// The labels every one of `pods` has, minus the volatile ones.
fn common_labels(pods: &[&PodInfo]) -> BTreeMap<String, String> {
    let Some(first) = pods.first() else {
        return BTreeMap::new();
    };
    stable_labels(&first.labels)
        .into_iter()
        .filter(|(k, v)| pods.iter().all(|p| p.labels.get(k) == Some(v)))
        .collect()
}

pub fn widen(ip: IpAddr, options: &Options) -> String {
    match ip {
        IpAddr::V4(v4) => match options.cidr_prefix_v4 {
            Some(prefix) if prefix < 32 => {
                let mask = u32::MAX.checked_shl(32 - prefix as u32).unwrap_or(0);
                format!(
                    "{}/{prefix}",
                    std::net::Ipv4Addr::from(u32::from(v4) & mask)
                )
            }
            _ => format!("{v4}/32"),
        },
        IpAddr::V6(v6) => match options.cidr_prefix_v6 {
            Some(prefix) if prefix < 128 => {
                let mask = u128::MAX.checked_shl(128 - prefix as u32).unwrap_or(0);
                format!(
                    "{}/{prefix}",
                    std::net::Ipv6Addr::from(u128::from(v6) & mask)
                )
            }
            _ => format!("{v6}/128"),
        },
    }
}

fn peer_json(peer: &Peer, namespace: &str) -> Value {
    match peer {
        Peer::Block(cidr) => json!({"ipBlock": {"cidr": cidr}}),
        Peer::Pods {
            namespace: peer_namespace,
            labels,
        } => {
            let mut value = json!({"podSelector": {"matchLabels": labels}});
            if peer_namespace != namespace {
                value["namespaceSelector"] =
                    json!({"matchLabels": {"kubernetes.io/metadata.name": peer_namespace}});
            }
            value
        }
    }
}

/// The cluster DNS pods: the `kube-dns` Service's selector in kube-system
/// (with its target ports for port 53), else CoreDNS's usual labels.
fn dns(inventory: &Inventory) -> (Peer, Vec<(Value, String)>) {
    let service = inventory
        .services
        .iter()
        .find(|s| s.namespace == "kube-system" && s.name == "kube-dns");
    let labels = service
        .map(|s| s.selector.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]));
    let mut ports: Vec<(Value, String)> = service
        .map(|s| {
            s.ports
                .iter()
                .filter(|(port, _, _)| *port == 53)
                .map(|(_, protocol, target)| (json!(target), protocol.clone()))
                .collect()
        })
        .unwrap_or_default();
    for protocol in ["UDP", "TCP"] {
        if !ports.iter().any(|(_, p)| p == protocol) {
            ports.push((json!(53), protocol.to_string()));
        }
    }
    ports.sort_by_key(|a| (a.1.clone(), a.0.to_string()));
    (
        Peer::Pods {
            namespace: "kube-system".into(),
            labels,
        },
        ports,
    )
}

/// What was recorded of one workload.
pub struct Subject<'a> {
    pub namespace: &'a str,
    pub workload: &'a str,
    /// One per container.
    pub recordings: &'a [&'a Recording],
    /// Its pods, by name.
    pub pods: &'a [String],
    /// Ingress flows other recordings show (UDP datagrams they sent to its
    /// pods: the recorder sees UDP senders, not receivers).
    pub inbound: &'a [Flow],
    /// Its pod selector from its manifest, when known.
    pub selector: Option<BTreeMap<String, String>>,
}

/// The policy for a workload.
pub fn advise(
    subject: Subject,
    inventory: &Inventory,
    options: &Options,
) -> Result<Advised, String> {
    let Subject {
        namespace,
        workload,
        recordings,
        pods,
        inbound,
        selector,
    } = subject;
    if let Some(why) = recordings
        .iter()
        .find_map(|r| r.cut(Evidence::NetworkPolicy))
    {
        return Err(format!("{namespace}/{workload}: {why}"));
    }
    let own: Vec<&PodInfo> = pods
        .iter()
        .filter_map(|p| inventory.pod(namespace, p))
        .collect();
    let selector = selector
        .filter(|s| !s.is_empty())
        .or_else(|| Some(common_labels(&own)).filter(|s| !s.is_empty()))
        .ok_or_else(|| {
            format!(
                "{namespace}/{workload}: its pods ({}) are not in the inventory, nor its workload with a selector: give them with --inventory",
                pods.join(", ")
            )
        })?;
    let own_ips: BTreeSet<IpAddr> = own.iter().flat_map(|p| p.ips.iter().copied()).collect();
    let (dns_peer, dns_ports) = dns(inventory);

    // DNS names by the addresses they resolved to.
    let mut names: BTreeMap<IpAddr, BTreeSet<String>> = BTreeMap::new();
    for r in recordings {
        for q in &r.workload.dns_queries {
            for answer in &q.answers {
                names.entry(*answer).or_default().insert(q.name.clone());
            }
        }
    }

    let mut ingress: BTreeMap<Peer, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut egress: BTreeMap<Peer, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut flows = BTreeSet::new();
    let mut skipped = BTreeSet::new();
    let mut external_names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut external: BTreeMap<IpAddr, BTreeSet<(u16, String)>> = BTreeMap::new();
    let port_key = |port: &Value, protocol: &str| (port.to_string(), protocol.to_string());

    for r in recordings {
        let outgoing = r
            .workload
            .connects
            .iter()
            .map(|e| (e, "TCP"))
            .chain(r.workload.udp.iter().map(|e| (e, "UDP")));
        for (endpoint, protocol) in outgoing {
            let ip = endpoint.address;
            if ip.is_loopback() || own_ips.contains(&ip) {
                skipped.insert(format!(
                    "egress to {ip}:{}/{protocol}: the pod itself",
                    endpoint.port
                ));
                continue;
            }
            flows.insert(Flow {
                direction: "egress".into(),
                peer: ip,
                port: endpoint.port,
                protocol: protocol.into(),
            });
            if let Some(service) = inventory.service_by_ip(ip) {
                let target = service
                    .ports
                    .iter()
                    .find(|(port, proto, _)| *port == endpoint.port as i32 && proto == protocol)
                    .map(|(_, _, target)| json!(target))
                    .unwrap_or(json!(endpoint.port));
                let peer = Peer::Pods {
                    namespace: service.namespace.clone(),
                    labels: service.selector.clone(),
                };
                if peer == dns_peer && endpoint.port == 53 {
                    continue; // the DNS rule has it
                }
                egress
                    .entry(peer)
                    .or_default()
                    .insert(port_key(&target, protocol));
            } else if let Some(pod) = inventory.pod_by_ip(ip) {
                let peer = Peer::Pods {
                    namespace: pod.namespace.clone(),
                    labels: stable_labels(&pod.labels),
                };
                egress
                    .entry(peer)
                    .or_default()
                    .insert(port_key(&json!(endpoint.port), protocol));
            } else if let Some(service) = inventory.service_by_endpoint(ip) {
                // A backend of a Service, by address (after the Service's
                // resolution): its pods, on the port reached.
                let peer = Peer::Pods {
                    namespace: service.namespace.clone(),
                    labels: service.selector.clone(),
                };
                egress
                    .entry(peer)
                    .or_default()
                    .insert(port_key(&json!(endpoint.port), protocol));
            } else {
                let cidr = widen(ip, options);
                external
                    .entry(ip)
                    .or_default()
                    .insert((endpoint.port, protocol.to_string()));
                if let Some(n) = names.get(&ip) {
                    external_names
                        .entry(cidr.clone())
                        .or_default()
                        .extend(n.iter().cloned());
                }
                egress
                    .entry(Peer::Block(cidr))
                    .or_default()
                    .insert(port_key(&json!(endpoint.port), protocol));
            }
        }
        for endpoint in &r.workload.accepts {
            let ip = endpoint.address;
            if ip.is_loopback() || own_ips.contains(&ip) {
                skipped.insert(format!(
                    "ingress from {ip} to port {}: the pod itself",
                    endpoint.port
                ));
                continue;
            }
            flows.insert(Flow {
                direction: "ingress".into(),
                peer: ip,
                port: endpoint.port,
                protocol: "TCP".into(),
            });
            let peer = match inventory.pod_by_ip(ip) {
                Some(pod) => Peer::Pods {
                    namespace: pod.namespace.clone(),
                    labels: stable_labels(&pod.labels),
                },
                None => Peer::Block(widen(ip, options)),
            };
            ingress
                .entry(peer)
                .or_default()
                .insert(port_key(&json!(endpoint.port), "TCP"));
        }
    }
    for flow in inbound {
        flows.insert(flow.clone());
        let peer = match inventory.pod_by_ip(flow.peer) {
            Some(pod) => Peer::Pods {
                namespace: pod.namespace.clone(),
                labels: stable_labels(&pod.labels),
            },
            None => Peer::Block(widen(flow.peer, options)),
        };
        ingress
            .entry(peer)
            .or_default()
            .insert(port_key(&json!(flow.port), &flow.protocol));
    }
    egress.remove(&dns_peer);

    let rule = |peer: &Peer, ports: &BTreeSet<(String, String)>, key: &str| {
        let ports: Vec<Value> = ports
            .iter()
            .map(|(port, protocol)| {
                json!({"protocol": protocol, "port": serde_json::from_str::<Value>(port).unwrap_or(Value::Null)})
            })
            .collect();
        json!({key: [peer_json(peer, namespace)], "ports": ports})
    };
    let mut egress_rules: Vec<Value> = vec![json!({
        "to": [peer_json(&dns_peer, namespace)],
        "ports": dns_ports.iter().map(|(port, protocol)| json!({"protocol": protocol, "port": port})).collect::<Vec<_>>(),
    })];
    egress_rules.extend(egress.iter().map(|(peer, ports)| rule(peer, ports, "to")));
    let ingress_rules: Vec<Value> = ingress
        .iter()
        .map(|(peer, ports)| rule(peer, ports, "from"))
        .collect();

    let mut metadata = json!({"name": format!("{workload}-corral"), "namespace": namespace});
    if !external_names.is_empty() {
        let notes: BTreeMap<String, Vec<String>> = external_names
            .into_iter()
            .map(|(cidr, n)| (cidr, n.into_iter().collect()))
            .collect();
        metadata["annotations"] = json!({
            "corral.dev/resolved-names": serde_json::to_string(&notes).unwrap_or_default(),
        });
    }
    let mut lookups: BTreeMap<String, BTreeSet<IpAddr>> = BTreeMap::new();
    for r in recordings {
        for q in &r.workload.dns_queries {
            lookups
                .entry(q.name.to_ascii_lowercase())
                .or_default()
                .extend(q.answers.iter().copied());
        }
    }
    let plan = Plan {
        selector: selector.clone(),
        dns: Some((dns_peer.clone(), dns_ports.clone())),
        ingress: ingress
            .iter()
            .map(|(p, ports)| (p.clone(), ports.clone()))
            .collect(),
        egress: egress
            .iter()
            .filter(|(p, _)| matches!(p, Peer::Pods { .. }))
            .map(|(p, ports)| (p.clone(), ports.clone()))
            .collect(),
        external,
        lookups,
        options: *options,
    };
    Ok(Advised {
        namespace: namespace.into(),
        workload: workload.into(),
        pods: pods.to_vec(),
        plan,
        policy: json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": metadata,
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": ingress_rules,
                "egress": egress_rules,
            },
        }),
        flows: flows.into_iter().collect(),
        skipped: skipped.into_iter().collect(),
    })
}

/// A workload's pod selector from the manifests, when they hold it.
pub fn workload_selector(
    model: &Model,
    namespace: &str,
    name: &str,
) -> Option<BTreeMap<String, String>> {
    model
        .workloads()
        .find(|(o, _)| {
            o.name.as_deref() == Some(name)
                && o.namespace.as_deref().unwrap_or("default") == namespace
                && o.kind != "Pod"
        })
        .and_then(|(o, template)| {
            let selector = o
                .root
                .at("spec.selector.matchLabels")
                .and_then(|m| m.entries())
                .map(|entries| {
                    entries
                        .iter()
                        .filter_map(|e| Some((e.key.to_string(), e.value.as_str()?.to_string())))
                        .collect::<BTreeMap<String, String>>()
                });
            selector
                .filter(|s| !s.is_empty())
                .or_else(|| template.metadata.labels.clone().map(|l| stable_labels(&l)))
        })
}

/// The policies for every recorded workload (its containers' recordings
/// together), with the inventory's pods, Services and workloads.
pub fn advise_workloads(
    workloads: &BTreeMap<WorkloadKey, Recorded>,
    model: &Model,
    inventory: &Inventory,
    options: &Options,
) -> Result<Vec<Advised>, String> {
    let mut by_workload = ByWorkload::new();
    for (key, recorded) in workloads {
        let entry = by_workload
            .entry((key.namespace.clone(), key.workload.clone()))
            .or_default();
        entry.0.push(&recorded.recording);
        entry.1.extend(recorded.pods.iter().cloned());
    }
    for (_, pods) in by_workload.values_mut() {
        pods.sort();
        pods.dedup();
    }
    let inbound = inbound_udp(&by_workload, inventory);
    // A bounded recording whose network evidence was cut: its workload's
    // policy would block the flows cut, and the UDP it sent is evidence of
    // other workloads' ingress too, so nothing is advised from it.
    for (key, recorded) in workloads {
        if let Some(why) = recorded.recording.cut(Evidence::NetworkPolicy) {
            return Err(format!("{key}: {why}"));
        }
    }
    let mut advised = Vec::new();
    for ((namespace, workload), (recordings, pods)) in &by_workload {
        let key = (namespace.clone(), workload.clone());
        let subject = Subject {
            namespace,
            workload,
            recordings,
            pods,
            inbound: inbound.get(&key).map(Vec::as_slice).unwrap_or_default(),
            selector: workload_selector(model, namespace, workload),
        };
        advised.push(advise(subject, inventory, options)?);
    }
    Ok(advised)
}

/// A policy as YAML, after a comment on what it was made from.
pub fn policy_yaml(a: &Advised) -> String {
    format!(
        "# {}\n{}",
        corral_core::safe::one_line(&format!(
            "{}/{}: {} recorded flow(s){}",
            a.namespace,
            a.workload,
            a.flows.len(),
            if a.skipped.is_empty() {
                String::new()
            } else {
                format!("; left out: {}", a.skipped.join("; "))
            }
        )),
        corral_core::emit::document(&corral_core::emit::from_json(&a.policy))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netpol::inventory::{PodInfo, ServiceInfo};
    use corral_record::{Activity, DnsQuery, Endpoint};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn endpoint(address: &str, port: u16) -> Endpoint {
        Endpoint {
            address: address.parse().unwrap(),
            port,
            count: 1,
            runs: 1,
        }
    }

    #[test]
    fn flows_cut_from_a_bounded_recording_refuse_the_policy() {
        let mut recording = Recording {
            format_version: corral_record::FORMAT_VERSION,
            architecture: "x86_64".into(),
            container: None,
            runs: Vec::new(),
            earlier_runs: None,
            execs: Vec::new(),
            workload: Activity {
                connects: vec![endpoint("10.96.0.20", 5432)],
                ..Activity::default()
            },
            runtime: Activity::default(),
            binaries: Vec::new(),
            truncated: BTreeMap::from([("workload.connects".to_string(), 40)]),
        };
        let pods = ["web-1".to_string()];
        let advised = |recording: &Recording| {
            let recordings = [recording];
            advise(
                Subject {
                    namespace: "shop",
                    workload: "web",
                    recordings: &recordings,
                    pods: &pods,
                    inbound: &[],
                    selector: Some(BTreeMap::from([("app".to_string(), "web".to_string())])),
                },
                &Inventory::default(),
                &Options::default(),
            )
        };
        let error = advised(&recording).unwrap_err();
        assert!(
            error.starts_with("shop/web: a NetworkPolicy is not advised")
                && error.contains("workload.connects: 40 entries")
                && error.contains("would block traffic"),
            "{error}"
        );
        // File writes cut are not a NetworkPolicy's evidence.
        recording.truncated = BTreeMap::from([("workload.fileWrites".to_string(), 40)]);
        assert!(advised(&recording).is_ok());
    }

    #[test]
    fn services_by_selector_and_target_port_externals_by_block_with_names() {
        let inventory = Inventory {
            pods: vec![PodInfo {
                namespace: "shop".into(),
                name: "web-1".into(),
                labels: BTreeMap::from([
                    ("app".to_string(), "web".to_string()),
                    ("pod-template-hash".to_string(), "abc".to_string()),
                ]),
                ips: vec!["10.0.0.5".parse().unwrap()],
                ..PodInfo::default()
            }],
            services: vec![ServiceInfo {
                namespace: "data".into(),
                name: "db".into(),
                selector: BTreeMap::from([("app".to_string(), "db".to_string())]),
                cluster_ips: vec!["10.96.0.20".parse().unwrap()],
                ports: vec![(5432, "TCP".into(), IntOrString::String("pg".into()))],
            }],
            endpoints: vec![(
                "10.0.7.7".parse().unwrap(),
                "data".to_string(),
                "db".to_string(),
            )],
            ..Inventory::default()
        };
        let recording = Recording {
            format_version: corral_record::FORMAT_VERSION,
            architecture: "x86_64".into(),
            container: None,
            runs: Vec::new(),
            execs: Vec::new(),
            workload: Activity {
                connects: vec![
                    endpoint("10.96.0.20", 5432),
                    endpoint("10.0.7.7", 5432),
                    endpoint("203.0.113.7", 443),
                    endpoint("203.0.113.9", 443),
                    endpoint("127.0.0.1", 9000),
                ],
                dns_queries: vec![DnsQuery {
                    name: "api.example.com".into(),
                    query_type: "A".into(),
                    answers: vec!["203.0.113.7".parse().unwrap()],
                    count: 1,
                    runs: 1,
                }],
                ..Activity::default()
            },
            runtime: Activity::default(),
            binaries: Vec::new(),
            earlier_runs: None,
            truncated: Default::default(),
        };
        let recordings = [&recording];
        let pods = ["web-1".to_string()];
        let subject = || Subject {
            namespace: "shop",
            workload: "web",
            recordings: &recordings,
            pods: &pods,
            inbound: &[],
            selector: None,
        };
        let advised = advise(subject(), &inventory, &Options::default()).unwrap();
        let policy = &advised.policy;
        // The Service by its ClusterIP (on its target port) and one of its
        // endpoints by address (on the port reached) are its pods. The
        // pod's stable labels select it.
        assert_eq!(
            policy["spec"]["podSelector"],
            json!({"matchLabels": {"app": "web"}})
        );
        let egress = policy["spec"]["egress"].as_array().unwrap();
        assert!(
            egress.contains(&json!({
            "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}},
                    "podSelector": {"matchLabels": {"app": "db"}}}],
            "ports": [{"port": "pg", "protocol": "TCP"}, {"port": 5432, "protocol": "TCP"}]})),
            "{egress:?}"
        );
        assert!(
            egress.contains(&json!({"to": [{"ipBlock": {"cidr": "203.0.113.7/32"}}],
            "ports": [{"port": 443, "protocol": "TCP"}]})),
            "{egress:?}"
        );
        assert_eq!(
            policy["metadata"]["annotations"]["corral.dev/resolved-names"],
            r#"{"203.0.113.7/32":["api.example.com"]}"#
        );
        assert_eq!(advised.skipped.len(), 1, "loopback: {:?}", advised.skipped);
        // Widened: one /24 for both external peers.
        let wide = advise(
            subject(),
            &inventory,
            &Options {
                cidr_prefix_v4: Some(24),
                cidr_prefix_v6: None,
            },
        )
        .unwrap();
        let blocks: Vec<&Value> = wide.policy["spec"]["egress"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["to"][0].get("ipBlock").is_some())
            .collect();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0]["to"][0]["ipBlock"]["cidr"], "203.0.113.0/24");
    }
}
