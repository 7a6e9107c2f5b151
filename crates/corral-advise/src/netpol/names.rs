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
        let blocks: Vec<String> = a
            .plan
            .external
            .keys()
            .filter(|ip| !names_by_address(a).contains_key(ip))
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

fn cilium_ports(ports: &Ports) -> Value {
    json!([{"ports": ports
        .iter()
        .map(|(port, protocol)| json!({"port": cilium_port(port), "protocol": protocol}))
        .collect::<Vec<_>>()}])
}

fn cilium_numbered_ports(ports: &BTreeSet<(u16, String)>) -> Value {
    json!([{"ports": ports
        .iter()
        .map(|(port, protocol)| json!({"port": port.to_string(), "protocol": protocol}))
        .collect::<Vec<_>>()}])
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
