//! Egress by name: the advised policy written as a Cilium
//! `CiliumNetworkPolicy` (`toFQDNs`) or a Calico `NetworkPolicy`
//! (`destination.domains`, a Calico Enterprise and Calico Cloud feature),
//! so that a peer outside the cluster is allowed by the DNS name the
//! workload looked up, not by an address that will change.
//!
//! Which name a connection went to comes from the same recording: the
//! names whose recorded answers gave the connection's address. An address
//! no recorded answer gave stays a CIDR (`toCIDR`, `nets`) and is flagged.
//!
//! Cilium learns a name's addresses from the lookups its DNS proxy sees, so
//! the policy also allows DNS to the cluster DNS pods with an L7 rule
//! naming exactly the names the workload looked up: a lookup of any other
//! name is refused, which is how a connection "to another name" is denied
//! even when that name shares an address with an allowed one. Calico has no
//! such rule: it allows the addresses the allowed domains resolved to,
//! whatever name the workload had in mind.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde_json::{json, Value};

use super::advise::{widen, Advised, Peer, Ports};

/// The formats besides the Kubernetes NetworkPolicy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `cilium.io/v2` `CiliumNetworkPolicy`.
    Cilium,
    /// `projectcalico.org/v3` `NetworkPolicy` (domains: Calico Enterprise
    /// or Calico Cloud).
    Calico,
}

/// The namespace label Cilium gives every pod.
pub const CILIUM_NAMESPACE_LABEL: &str = "k8s:io.kubernetes.pod.namespace";

/// Whether `name` is a DNS name the policy engines take: labels of
/// letters, digits, `-` and `_`, 1 to 63 bytes, 253 in all.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The names each external address was reached under: the recorded
/// questions (valid names only) whose answers gave it.
pub fn names_by_address(a: &Advised) -> BTreeMap<IpAddr, BTreeSet<String>> {
    let mut names: BTreeMap<IpAddr, BTreeSet<String>> = BTreeMap::new();
    for (name, answers) in &a.plan.lookups {
        if !valid_name(name) {
            continue;
        }
        for ip in answers {
            names.entry(*ip).or_default().insert(name.clone());
        }
    }
    names
}

/// A policy in another format, and the peers it could not name.
#[derive(Clone, Debug)]
pub struct Written {
    pub policy: Value,
    /// External peers reached by an address no recorded answer gave,
    /// allowed by address: they break when the address changes.
    pub unnamed: Vec<String>,
    /// Recorded DNS questions left out of the DNS rule: not valid names.
    pub invalid_names: Vec<String>,
}

/// Egress outside the cluster: names with the ports they were reached on,
/// grouped by equal ports; and the addresses no name gave, as blocks.
struct External {
    by_name: BTreeMap<BTreeSet<(u16, String)>, BTreeSet<String>>,
    by_block: BTreeMap<String, BTreeSet<(u16, String)>>,
    unnamed: Vec<String>,
}

fn external(a: &Advised) -> External {
    let names = names_by_address(a);
    let mut ports_by_name: BTreeMap<String, BTreeSet<(u16, String)>> = BTreeMap::new();
    let mut by_block: BTreeMap<String, BTreeSet<(u16, String)>> = BTreeMap::new();
    let mut unnamed = Vec::new();
    for (ip, ports) in &a.plan.external {
        match names.get(ip) {
            Some(found) => {
                for name in found {
                    ports_by_name
                        .entry(name.clone())
                        .or_default()
                        .extend(ports.iter().cloned());
                }
            }
            None => {
                let cidr = widen(*ip, &a.plan.options);
                let list: Vec<String> = ports
                    .iter()
                    .map(|(p, proto)| format!("{p}/{proto}"))
                    .collect();
                unnamed.push(format!(
                    "{}/{}: egress to {ip} ({}) was reached by an address no recorded DNS answer gave: allowed as {cidr}, which breaks when the address changes",
                    a.namespace,
                    a.workload,
                    list.join(", ")
                ));
                by_block
                    .entry(cidr)
                    .or_default()
                    .extend(ports.iter().cloned());
            }
        }
    }
    let mut by_name: BTreeMap<BTreeSet<(u16, String)>, BTreeSet<String>> = BTreeMap::new();
    for (name, ports) in ports_by_name {
        by_name.entry(ports).or_default().insert(name);
    }
    External {
        by_name,
        by_block,
        unnamed,
    }
}

fn metadata(a: &Advised, unnamed: &[String]) -> Value {
    let mut metadata = json!({"name": format!("{}-corral", a.workload), "namespace": a.namespace});
    if !unnamed.is_empty() {
        let named = names_by_address(a);
        let blocks: Vec<String> = a
            .plan
            .external
            .keys()
            .filter(|ip| !named.contains_key(ip))
            .map(|ip| widen(*ip, &a.plan.options))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        metadata["annotations"] = json!({
            "corral.dev/unnamed-peers": serde_json::to_string(&blocks).unwrap_or_default(),
        });
    }
    metadata
}

/// `a`'s policy in `format`.
pub fn write(a: &Advised, format: Format) -> Result<Written, String> {
    let external = external(a);
    let invalid_names: Vec<String> = a
        .plan
        .lookups
        .keys()
        .filter(|n| !valid_name(n))
        .cloned()
        .collect();
    let policy = match format {
        Format::Cilium => cilium(a, &external)?,
        Format::Calico => calico(a, &external)?,
    };
    Ok(Written {
        policy,
        unnamed: external.unnamed,
        invalid_names,
    })
}

// Cilium.

fn cilium_selector(peer: &Peer) -> Value {
    match peer {
        Peer::Pods { namespace, labels } => {
            let mut labels: BTreeMap<String, String> = labels.clone();
            labels.insert(CILIUM_NAMESPACE_LABEL.into(), namespace.clone());
            json!({"matchLabels": labels})
        }
        Peer::Block(_) => Value::Null,
    }
}

/// A Cilium port: its number, or its name, as a string.
fn cilium_port(port: &str) -> String {
    match serde_json::from_str::<Value>(port) {
        Ok(Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => port.to_string(),
    }
}

/// Cilium's limit on the ports of one port rule (its CRD's `maxItems`).
const CILIUM_PORTS_PER_RULE: usize = 40;

/// Port rules of at most 40 ports each.
fn cilium_port_rules(ports: Vec<Value>) -> Value {
    Value::Array(
        ports
            .chunks(CILIUM_PORTS_PER_RULE)
            .map(|chunk| json!({"ports": chunk}))
            .collect(),
    )
}

fn cilium_ports(ports: &Ports) -> Value {
    cilium_port_rules(
        ports
            .iter()
            .map(|(port, protocol)| json!({"port": cilium_port(port), "protocol": protocol}))
            .collect(),
    )
}

fn cilium_numbered_ports(ports: &BTreeSet<(u16, String)>) -> Value {
    cilium_port_rules(
        ports
            .iter()
            .map(|(port, protocol)| json!({"port": port.to_string(), "protocol": protocol}))
            .collect(),
    )
}

fn cilium(a: &Advised, external: &External) -> Result<Value, String> {
    let plan = &a.plan;
    let mut egress = Vec::new();
    if let Some((peer, ports)) = &plan.dns {
        let names: Vec<Value> = plan
            .lookups
            .keys()
            .filter(|n| valid_name(n))
            .map(|n| json!({"matchName": n}))
            .collect();
        let mut port_rule = json!({"ports": ports
            .iter()
            .map(|(port, protocol)| json!({"port": cilium_port(&port.to_string()), "protocol": protocol}))
            .collect::<Vec<_>>()});
        if !names.is_empty() {
            port_rule["rules"] = json!({"dns": names});
        }
        egress.push(json!({"toEndpoints": [cilium_selector(peer)], "toPorts": [port_rule]}));
    }
    for (peer, ports) in &plan.egress {
        egress
            .push(json!({"toEndpoints": [cilium_selector(peer)], "toPorts": cilium_ports(ports)}));
    }
    for (ports, names) in &external.by_name {
        egress.push(json!({
            "toFQDNs": names.iter().map(|n| json!({"matchName": n})).collect::<Vec<_>>(),
            "toPorts": cilium_numbered_ports(ports),
        }));
    }
    for (cidr, ports) in &external.by_block {
        egress.push(json!({"toCIDR": [cidr], "toPorts": cilium_numbered_ports(ports)}));
    }
    let mut ingress: Vec<Value> = plan
        .ingress
        .iter()
        .map(|(peer, ports)| match peer {
            Peer::Pods { .. } => {
                json!({"fromEndpoints": [cilium_selector(peer)], "toPorts": cilium_ports(ports)})
            }
            Peer::Block(cidr) => json!({"fromCIDR": [cidr], "toPorts": cilium_ports(ports)}),
        })
        .collect();
    if ingress.is_empty() {
        // A rule that allows nothing: the pods stay isolated for ingress.
        ingress.push(json!({}));
    }
    Ok(json!({
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy",
        "metadata": metadata(a, &external.unnamed),
        "spec": {
            "endpointSelector": {"matchLabels": plan.selector},
            "enableDefaultDeny": {"ingress": true, "egress": true},
            "ingress": ingress,
            "egress": egress,
        },
    }))
}

// Calico.

/// A label key or value Calico's selector syntax can quote: the Kubernetes
/// label grammar's characters.
fn label_text_ok(text: &str, key: bool) -> bool {
    text.len() <= 317
        && text.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || (key && b == b'/')
        })
}

/// `k == 'v' && ...`, or `all()` for no labels.
pub fn calico_selector(labels: &BTreeMap<String, String>) -> Result<String, String> {
    if labels.is_empty() {
        return Ok("all()".into());
    }
    let mut terms = Vec::new();
    for (k, v) in labels {
        if k.is_empty() || !label_text_ok(k, true) || !label_text_ok(v, false) {
            return Err(format!(
                "label {k:?}={v:?} is not a Kubernetes label: it cannot be written as a Calico selector"
            ));
        }
        terms.push(format!("{k} == '{v}'"));
    }
    Ok(terms.join(" && "))
}

fn calico_entity(peer: &Peer, namespace: &str) -> Result<Value, String> {
    match peer {
        Peer::Pods {
            namespace: peer_namespace,
            labels,
        } => {
            let mut entity = json!({"selector": calico_selector(labels)?});
            if peer_namespace != namespace {
                entity["namespaceSelector"] = json!(calico_selector(&BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_string(),
                    peer_namespace.clone()
                )]))?);
            }
            Ok(entity)
        }
        Peer::Block(cidr) => Ok(json!({"nets": [cidr]})),
    }
}

/// Ports by protocol (a Calico rule has one protocol): numbers as
/// integers, names as strings.
fn by_protocol(ports: &Ports) -> BTreeMap<String, Vec<Value>> {
    let mut found: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (port, protocol) in ports {
        found
            .entry(protocol.clone())
            .or_default()
            .push(serde_json::from_str(port).unwrap_or_else(|_| json!(port)));
    }
    found
}

fn numbered(ports: &BTreeSet<(u16, String)>) -> Ports {
    ports
        .iter()
        .map(|(p, proto)| (p.to_string(), proto.clone()))
        .collect()
}

fn calico(a: &Advised, external: &External) -> Result<Value, String> {
    let plan = &a.plan;
    let namespace = a.namespace.as_str();
    let mut egress = Vec::new();
    let mut egress_rule = |entity: Value, ports: &Ports| {
        for (protocol, ports) in by_protocol(ports) {
            let mut destination = entity.clone();
            destination["ports"] = json!(ports);
            egress
                .push(json!({"action": "Allow", "protocol": protocol, "destination": destination}));
        }
    };
    if let Some((peer, ports)) = &plan.dns {
        let ports: Ports = ports
            .iter()
            .map(|(port, protocol)| (port.to_string(), protocol.clone()))
            .collect();
        egress_rule(calico_entity(peer, namespace)?, &ports);
    }
    for (peer, ports) in &plan.egress {
        egress_rule(calico_entity(peer, namespace)?, ports);
    }
    for (ports, names) in &external.by_name {
        egress_rule(json!({"domains": names}), &numbered(ports));
    }
    for (cidr, ports) in &external.by_block {
        egress_rule(json!({"nets": [cidr]}), &numbered(ports));
    }
    let mut ingress = Vec::new();
    for (peer, ports) in &plan.ingress {
        let source = calico_entity(peer, namespace)?;
        for (protocol, ports) in by_protocol(ports) {
            ingress.push(json!({"action": "Allow", "protocol": protocol,
                "source": source, "destination": {"ports": ports}}));
        }
    }
    Ok(json!({
        "apiVersion": "projectcalico.org/v3",
        "kind": "NetworkPolicy",
        "metadata": metadata(a, &external.unnamed),
        "spec": {
            "selector": calico_selector(&plan.selector)?,
            "types": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }))
}

/// A policy in another format as YAML, after a comment on what it was made
/// from and the peers it could not name.
pub fn written_yaml(a: &Advised, written: &Written) -> String {
    let mut comment = format!(
        "{}/{}: {} recorded flow(s)",
        a.namespace,
        a.workload,
        a.flows.len()
    );
    if !written.unnamed.is_empty() {
        comment.push_str(&format!(
            "; {} peer(s) by address only (see corral.dev/unnamed-peers)",
            written.unnamed.len()
        ));
    }
    format!(
        "# {}\n{}",
        corral_core::safe::one_line(&comment),
        corral_core::emit::document(&corral_core::emit::from_json(&written.policy))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netpol::advise::{advise, Options, Subject};
    use crate::netpol::crd::validate;
    use crate::netpol::inventory::{Inventory, PodInfo, ServiceInfo};
    use crate::netpol::names_eval::{check, lookup, Answers, End, Policies};
    use crate::netpol::prove::prove_names;
    use corral_record::{Activity, DnsQuery, Endpoint, Recording};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn endpoint(address: &str, port: u16) -> Endpoint {
        Endpoint {
            address: address.parse().unwrap(),
            port,
            count: 1,
            runs: 1,
        }
    }

    fn query(name: &str, answers: &[&str]) -> DnsQuery {
        DnsQuery {
            name: name.into(),
            query_type: "A".into(),
            answers: answers.iter().map(|a| a.parse().unwrap()).collect(),
            count: 1,
            runs: 1,
        }
    }

    fn pod(namespace: &str, name: &str, app: &str, ip: &str) -> PodInfo {
        PodInfo {
            namespace: namespace.into(),
            name: name.into(),
            labels: BTreeMap::from([("app".to_string(), app.to_string())]),
            ips: vec![ip.parse().unwrap()],
            ..PodInfo::default()
        }
    }

    fn inventory() -> Inventory {
        let mut dns = pod("kube-system", "coredns-1", "ignored", "10.0.9.9");
        dns.labels = BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]);
        Inventory {
            pods: vec![
                pod("shop", "web-1", "web", "10.0.0.5"),
                pod("shop", "front-1", "front", "10.0.0.9"),
                pod("data", "db-1", "db", "10.0.7.7"),
                dns,
            ],
            services: vec![
                ServiceInfo {
                    namespace: "data".into(),
                    name: "db".into(),
                    selector: BTreeMap::from([("app".to_string(), "db".to_string())]),
                    cluster_ips: vec!["10.96.0.20".parse().unwrap()],
                    ports: vec![(5432, "TCP".into(), IntOrString::Int(5432))],
                },
                ServiceInfo {
                    namespace: "kube-system".into(),
                    name: "kube-dns".into(),
                    selector: BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]),
                    cluster_ips: vec!["10.96.0.10".parse().unwrap()],
                    ports: vec![
                        (53, "UDP".into(), IntOrString::Int(53)),
                        (53, "TCP".into(), IntOrString::Int(53)),
                    ],
                },
            ],
            ..Inventory::default()
        }
    }

    /// web: the db Service, a SaaS API by name (two addresses), one
    /// address reached with no lookup, DNS; front connects to it.
    fn advised(inventory: &Inventory) -> Advised {
        let recording = Recording {
            format_version: corral_record::FORMAT_VERSION,
            architecture: "x86_64".into(),
            container: None,
            runs: Vec::new(),
            execs: Vec::new(),
            workload: Activity {
                connects: vec![
                    endpoint("10.96.0.20", 5432),
                    endpoint("203.0.113.7", 443),
                    endpoint("203.0.113.8", 443),
                    endpoint("198.51.100.9", 8443),
                ],
                udp: vec![endpoint("10.96.0.10", 53)],
                accepts: vec![endpoint("10.0.0.9", 8080)],
                dns_queries: vec![
                    query("API.example.com", &["203.0.113.7", "203.0.113.8"]),
                    query("api.example.com.shop.svc.cluster.local", &[]),
                    query("db.data.svc.cluster.local", &["10.96.0.20"]),
                    query("bad name!", &["203.0.113.99"]),
                ],
                ..Activity::default()
            },
            runtime: Activity::default(),
            binaries: Vec::new(),
            earlier_runs: None,
            truncated: Default::default(),
        };
        let recordings = [&recording];
        let pods = ["web-1".to_string()];
        advise(
            Subject {
                namespace: "shop",
                workload: "web",
                recordings: &recordings,
                pods: &pods,
                inbound: &[],
                selector: None,
            },
            inventory,
            &Options::default(),
        )
        .unwrap()
    }

    fn named(name: &str, address: &str) -> End<'static> {
        End::Named {
            name: name.into(),
            address: address.parse().unwrap(),
        }
    }

    /// Whether web-1 may reach `to` on `port`/TCP under `policy`.
    fn allowed(format: Format, policy: &Value, inventory: &Inventory, to: &End, port: i32) -> bool {
        let policies = Policies::new(format, std::slice::from_ref(policy)).unwrap();
        let dns = End::Pod(&inventory.pods[3]);
        let answers = Answers::from([(
            "api.example.com".to_string(),
            BTreeSet::from([
                "203.0.113.7".parse().unwrap(),
                "203.0.113.8".parse().unwrap(),
            ]),
        )]);
        check(
            &policies,
            inventory,
            &answers,
            (&dns, 53),
            &End::Pod(&inventory.pods[0]),
            to,
            port,
            "TCP",
        )
        .allowed
    }

    #[test]
    fn cilium_names_the_saas_peer_and_the_lookups_and_is_proven() {
        let inventory = inventory();
        let a = advised(&inventory);
        let written = write(&a, Format::Cilium).unwrap();
        let policy = &written.policy;
        assert_eq!(policy["kind"], "CiliumNetworkPolicy");
        assert_eq!(
            policy["spec"]["endpointSelector"],
            json!({"matchLabels": {"app": "web"}})
        );
        let egress = policy["spec"]["egress"].as_array().unwrap();
        // DNS first, with exactly the valid names looked up.
        assert_eq!(
            egress[0],
            json!({"toEndpoints": [{"matchLabels": {"k8s-app": "kube-dns", CILIUM_NAMESPACE_LABEL: "kube-system"}}],
                   "toPorts": [{"ports": [{"port": "53", "protocol": "TCP"}, {"port": "53", "protocol": "UDP"}],
                                "rules": {"dns": [{"matchName": "api.example.com"},
                                                  {"matchName": "api.example.com.shop.svc.cluster.local"},
                                                  {"matchName": "db.data.svc.cluster.local"}]}}]})
        );
        assert!(
            egress.contains(&json!({
            "toEndpoints": [{"matchLabels": {"app": "db", CILIUM_NAMESPACE_LABEL: "data"}}],
            "toPorts": [{"ports": [{"port": "5432", "protocol": "TCP"}]}]})),
            "{egress:?}"
        );
        // Both addresses of the name: one rule by name.
        assert!(
            egress.contains(&json!({
            "toFQDNs": [{"matchName": "api.example.com"}],
            "toPorts": [{"ports": [{"port": "443", "protocol": "TCP"}]}]})),
            "{egress:?}"
        );
        // Reached with no lookup: by address, and flagged.
        assert!(
            egress.contains(&json!({
            "toCIDR": ["198.51.100.9/32"],
            "toPorts": [{"ports": [{"port": "8443", "protocol": "TCP"}]}]})),
            "{egress:?}"
        );
        assert_eq!(written.unnamed.len(), 1, "{:?}", written.unnamed);
        assert!(written.unnamed[0].contains("198.51.100.9"));
        assert_eq!(
            policy["metadata"]["annotations"]["corral.dev/unnamed-peers"],
            r#"["198.51.100.9/32"]"#
        );
        assert_eq!(written.invalid_names, ["bad name!"]);
        assert_eq!(
            policy["spec"]["ingress"],
            json!([{"fromEndpoints": [{"matchLabels": {"app": "front", CILIUM_NAMESPACE_LABEL: "shop"}}],
                    "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}])
        );

        // Cilium's CRD takes it, and refuses what it does not declare or
        // a malformed value.
        assert_eq!(
            validate(Format::Cilium, policy).unwrap(),
            Vec::<String>::new()
        );
        let mut unknown = policy.clone();
        unknown["spec"]["egress"][0]["toFQDN"] = json!([]);
        let errors = validate(Format::Cilium, &unknown).unwrap();
        assert!(
            errors.iter().any(|e| e.starts_with("/spec/egress/0")),
            "{errors:?}"
        );
        let mut wrong = policy.clone();
        wrong["spec"]["egress"][0]["toPorts"][0]["ports"][0]["protocol"] = json!("tcp");
        assert!(!validate(Format::Cilium, &wrong).unwrap().is_empty());

        // The proof holds.
        let problems = prove_names(
            std::slice::from_ref(&a),
            std::slice::from_ref(policy),
            Format::Cilium,
            &inventory,
        )
        .unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        // A recorded name on its port; its address changes: still allowed.
        assert!(allowed(
            Format::Cilium,
            policy,
            &inventory,
            &named("api.example.com", "203.0.113.7"),
            443
        ));
        assert!(allowed(
            Format::Cilium,
            policy,
            &inventory,
            &named("api.example.com", "192.0.2.200"),
            443
        ));
        assert!(!allowed(
            Format::Cilium,
            policy,
            &inventory,
            &named("api.example.com", "203.0.113.7"),
            444
        ));
        // Another name, at another address or at the same: its lookup is
        // refused.
        assert!(!allowed(
            Format::Cilium,
            policy,
            &inventory,
            &named("evil.example.net", "192.0.2.50"),
            443
        ));
        assert!(!allowed(
            Format::Cilium,
            policy,
            &inventory,
            &named("evil.example.net", "203.0.113.7"),
            443
        ));
        let policies = Policies::new(Format::Cilium, std::slice::from_ref(policy)).unwrap();
        let dns = End::Pod(&inventory.pods[3]);
        let me = End::Pod(&inventory.pods[0]);
        assert!(lookup(
            &policies,
            &inventory,
            &me,
            &dns,
            53,
            "API.example.com."
        ));
        assert!(!lookup(
            &policies,
            &inventory,
            &me,
            &dns,
            53,
            "evil.example.net"
        ));
        // The front pod reaches web on 8080 only.
        let front = End::Pod(&inventory.pods[1]);
        let decide = |port| {
            check(
                &policies,
                &inventory,
                &Answers::new(),
                (&dns, 53),
                &front,
                &me,
                port,
                "TCP",
            )
            .allowed
        };
        assert!(decide(8080));
        assert!(!decide(8081));

        // The proof fails for a policy that lets every name be looked up
        // (another name at a recorded address), or loses the name.
        let mut open = policy.clone();
        open["spec"]["egress"][0]["toPorts"][0]["rules"]["dns"] = json!([{"matchPattern": "*"}]);
        let problems = prove_names(
            std::slice::from_ref(&a),
            &[open],
            Format::Cilium,
            &inventory,
        )
        .unwrap();
        assert!(
            problems.iter().any(|p| p.contains("under another name")),
            "{problems:?}"
        );
        let mut lost = policy.clone();
        lost["spec"]["egress"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r.get("toFQDNs").is_none());
        let problems = prove_names(
            std::slice::from_ref(&a),
            &[lost],
            Format::Cilium,
            &inventory,
        )
        .unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("recorded egress to api.example.com")),
            "{problems:?}"
        );
        // A field the evaluator does not read is an error, not ignored.
        let mut unknown = policy.clone();
        unknown["spec"]["egress"][1]["toServices"] = json!([]);
        assert!(Policies::new(Format::Cilium, &[unknown]).is_err());
    }

    #[test]
    fn calico_names_the_saas_peer_and_fits_its_crd_and_is_proven() {
        let inventory = inventory();
        let a = advised(&inventory);
        let written = write(&a, Format::Calico).unwrap();
        let policy = &written.policy;
        assert_eq!(policy["apiVersion"], "projectcalico.org/v3");
        assert_eq!(policy["spec"]["selector"], "app == 'web'");
        let egress = policy["spec"]["egress"].as_array().unwrap();
        assert!(
            egress.contains(
                &json!({"action": "Allow", "protocol": "UDP", "destination": {
            "selector": "k8s-app == 'kube-dns'",
            "namespaceSelector": "kubernetes.io/metadata.name == 'kube-system'", "ports": [53]}})
            ),
            "{egress:?}"
        );
        assert!(
            egress.contains(
                &json!({"action": "Allow", "protocol": "TCP", "destination": {
            "domains": ["api.example.com"], "ports": [443]}})
            ),
            "{egress:?}"
        );
        assert!(
            egress.contains(
                &json!({"action": "Allow", "protocol": "TCP", "destination": {
            "nets": ["198.51.100.9/32"], "ports": [8443]}})
            ),
            "{egress:?}"
        );
        assert_eq!(
            policy["spec"]["ingress"],
            json!([{"action": "Allow", "protocol": "TCP", "source": {"selector": "app == 'front'"},
                    "destination": {"ports": [8080]}}])
        );
        // The project's CRD takes it, and refuses what it does not declare.
        assert_eq!(
            validate(Format::Calico, policy).unwrap(),
            Vec::<String>::new()
        );
        let mut unknown = policy.clone();
        unknown["spec"]["egress"][0]["destination"]["toFQDNs"] = json!(["x"]);
        let errors = validate(Format::Calico, &unknown).unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("/spec/egress/0/destination")),
            "{errors:?}"
        );
        let mut wrong = policy.clone();
        wrong["spec"]["egress"][0]["action"] = json!("Accept");
        assert!(!validate(Format::Calico, &wrong).unwrap().is_empty());

        let problems = prove_names(
            std::slice::from_ref(&a),
            std::slice::from_ref(policy),
            Format::Calico,
            &inventory,
        )
        .unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert!(allowed(
            Format::Calico,
            policy,
            &inventory,
            &named("api.example.com", "192.0.2.200"),
            443
        ));
        assert!(!allowed(
            Format::Calico,
            policy,
            &inventory,
            &named("api.example.com", "203.0.113.7"),
            444
        ));
        assert!(!allowed(
            Format::Calico,
            policy,
            &inventory,
            &named("evil.example.net", "192.0.2.50"),
            443
        ));
        // Calico allows by address: another name at an address the allowed
        // domain resolved to is allowed (this is Calico's behaviour, said
        // in the README, not a gap in the proof).
        assert!(allowed(
            Format::Calico,
            policy,
            &inventory,
            &named("evil.example.net", "203.0.113.7"),
            443
        ));
        let mut lost = policy.clone();
        lost["spec"]["egress"]
            .as_array_mut()
            .unwrap()
            .retain(|r| r["destination"].get("domains").is_none());
        let problems = prove_names(
            std::slice::from_ref(&a),
            &[lost],
            Format::Calico,
            &inventory,
        )
        .unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p.contains("recorded egress to api.example.com")),
            "{problems:?}"
        );
    }

    #[test]
    fn many_ports_of_one_name_fit_ciliums_limit_per_rule() {
        let inventory = inventory();
        let mut a = advised(&inventory);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        a.plan
            .external
            .insert(ip, (1000..1045).map(|p| (p, "TCP".to_string())).collect());
        let written = write(&a, Format::Cilium).unwrap();
        let egress = written.policy["spec"]["egress"].as_array().unwrap();
        let rule = egress
            .iter()
            .find(|r| r.get("toFQDNs").is_some())
            .expect("a rule by name");
        let sizes: Vec<usize> = rule["toPorts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["ports"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [40, 6], "{rule}");
        assert_eq!(
            validate(Format::Cilium, &written.policy).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn hostile_names_and_labels_are_refused_not_written() {
        assert!(valid_name("api.example.com"));
        assert!(!valid_name("bad name!"));
        assert!(!valid_name("a..b"));
        assert!(!valid_name(&"a".repeat(64)));
        assert!(calico_selector(&BTreeMap::from([(
            "app".to_string(),
            "x' || all()".to_string()
        )]))
        .is_err());
        assert_eq!(calico_selector(&BTreeMap::new()).unwrap(), "all()");
    }
}
