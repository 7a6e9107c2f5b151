//! Does a NetworkPolicy set allow a connection? Kubernetes semantics: a pod
//! is isolated for a direction only when a policy of its namespace selects
//! it with that policy type; an isolated pod allows what the union of those
//! policies' rules allows; a connection needs the source's egress and the
//! destination's ingress. A rule matches a peer by podSelector in the
//! policy's namespace, by namespaceSelector, by both (pods in those
//! namespaces), or by ipBlock minus its exceptions; and a port by number,
//! range (endPort), name (the destination pod's container port) or
//! protocol alone.

use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use corral_core::model::selector::policy_types;
pub use corral_core::model::selector::{cidr_contains, selects};

use super::inventory::{Inventory, PodInfo};

/// One end of a connection.
#[derive(Clone, Copy, Debug)]
pub enum Endpoint<'a> {
    Pod(&'a PodInfo),
    /// Outside the cluster's pods (or a host-network pod).
    Address(IpAddr),
}

impl Endpoint<'_> {
    fn ips(&self) -> Vec<IpAddr> {
        match self {
            Endpoint::Pod(p) => p.ips.clone(),
            Endpoint::Address(ip) => vec![*ip],
        }
    }

    fn pod(&self) -> Option<&PodInfo> {
        match self {
            Endpoint::Pod(p) if !p.host_network => Some(p),
            _ => None,
        }
    }
}

/// A policy with its namespace and name.
pub struct Policy {
    pub namespace: String,
    pub name: String,
    pub spec: NetworkPolicySpec,
}

impl Policy {
    pub fn new(policy: &NetworkPolicy) -> Policy {
        Policy {
            namespace: policy
                .metadata
                .namespace
                .clone()
                .unwrap_or_else(|| "default".into()),
            name: policy.metadata.name.clone().unwrap_or_default(),
            spec: policy.spec.clone().unwrap_or_default(),
        }
    }

    fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// `policyTypes`, defaulted as the API server does.
    fn types(&self) -> (bool, bool) {
        policy_types(Some(&self.spec))
    }
}

/// One direction's verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Side {
    /// Some policy selects the pod for this direction.
    pub isolated: bool,
    /// Those policies.
    pub selecting: Vec<String>,
    /// Those of them with a rule that allows the connection.
    pub allowing: Vec<String>,
}

impl Side {
    pub fn allows(&self) -> bool {
        !self.isolated || !self.allowing.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub egress: Side,
    pub ingress: Side,
}

fn peer_matches(
    peer: &NetworkPolicyPeer,
    policy_namespace: &str,
    other: &Endpoint,
    inventory: &Inventory,
) -> bool {
    if let Some(block) = &peer.ip_block {
        return other.ips().into_iter().any(|ip| {
            cidr_contains(&block.cidr, ip)
                && !block.except.iter().flatten().any(|e| cidr_contains(e, ip))
        });
    }
    let Some(pod) = other.pod() else {
        return false; // selectors select pods only
    };
    let namespace_ok = match &peer.namespace_selector {
        Some(selector) => selects(selector, &inventory.namespace_labels(&pod.namespace)),
        None => pod.namespace == policy_namespace,
    };
    let pod_ok = peer
        .pod_selector
        .as_ref()
        .is_none_or(|selector| selects(selector, &pod.labels));
    namespace_ok && pod_ok
}

fn port_matches(
    rule: &NetworkPolicyPort,
    destination: &Endpoint,
    port: i32,
    protocol: &str,
) -> bool {
    if rule.protocol.as_deref().unwrap_or("TCP") != protocol {
        return false;
    }
    match &rule.port {
        None => true,
        Some(IntOrString::Int(number)) => match rule.end_port {
            Some(end) => (*number..=end).contains(&port),
            None => *number == port,
        },
        Some(IntOrString::String(name)) => destination.pod().is_some_and(|pod| {
            pod.ports.iter().any(|(n, number, proto)| {
                n.as_deref() == Some(name) && *number == port && proto == protocol
            })
        }),
    }
}

/// The connection being decided.
struct Connection<'a> {
    destination: &'a Endpoint<'a>,
    port: i32,
    protocol: &'a str,
    inventory: &'a Inventory,
}

/// Does a rule (its peers and ports) match the connection with `peer` at
/// the other end?
fn rule_matches(
    peers: Option<&Vec<NetworkPolicyPeer>>,
    ports: Option<&Vec<NetworkPolicyPort>>,
    policy_namespace: &str,
    peer: &Endpoint,
    connection: &Connection,
) -> bool {
    let peer_ok = peers.is_none_or(|peers| {
        peers.is_empty()
            || peers
                .iter()
                .any(|p| peer_matches(p, policy_namespace, peer, connection.inventory))
    });
    let port_ok = ports.is_none_or(|ports| {
        ports.is_empty()
            || ports.iter().any(|p| {
                port_matches(
                    p,
                    connection.destination,
                    connection.port,
                    connection.protocol,
                )
            })
    });
    peer_ok && port_ok
}

/// Whether `policies` let `from` open `port`/`protocol` on `to`.
pub fn check(
    policies: &[Policy],
    inventory: &Inventory,
    from: &Endpoint,
    to: &Endpoint,
    port: i32,
    protocol: &str,
) -> Decision {
    let connection = Connection {
        destination: to,
        port,
        protocol,
        inventory,
    };
    let mut egress = Side::default();
    if let Some(source) = from.pod() {
        for policy in policies.iter().filter(|p| {
            p.namespace == source.namespace
                && p.types().1
                && p.spec
                    .pod_selector
                    .as_ref()
                    .is_none_or(|s| selects(s, &source.labels))
        }) {
            egress.isolated = true;
            egress.selecting.push(policy.id());
            let allowed = policy.spec.egress.iter().flatten().any(|rule| {
                rule_matches(
                    rule.to.as_ref(),
                    rule.ports.as_ref(),
                    &policy.namespace,
                    to,
                    &connection,
                )
            });
            if allowed {
                egress.allowing.push(policy.id());
            }
        }
    }
    let mut ingress = Side::default();
    if let Some(destination) = to.pod() {
        for policy in policies.iter().filter(|p| {
            p.namespace == destination.namespace
                && p.types().0
                && p.spec
                    .pod_selector
                    .as_ref()
                    .is_none_or(|s| selects(s, &destination.labels))
        }) {
            ingress.isolated = true;
            ingress.selecting.push(policy.id());
            let allowed = policy.spec.ingress.iter().flatten().any(|rule| {
                rule_matches(
                    rule.from.as_ref(),
                    rule.ports.as_ref(),
                    &policy.namespace,
                    from,
                    &connection,
                )
            });
            if allowed {
                ingress.allowing.push(policy.id());
            }
        }
    }
    Decision {
        allowed: egress.allows() && ingress.allows(),
        egress,
        ingress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    fn pod(namespace: &str, name: &str, app: &str, ip: &str, ports: &[(&str, i32)]) -> PodInfo {
        PodInfo {
            namespace: namespace.into(),
            name: name.into(),
            labels: BTreeMap::from([("app".to_string(), app.to_string())]),
            ips: vec![ip.parse().unwrap()],
            ports: ports
                .iter()
                .map(|(n, p)| (Some(n.to_string()), *p, "TCP".to_string()))
                .collect(),
            host_network: false,
        }
    }

    fn inventory() -> Inventory {
        let mut inventory = Inventory {
            pods: vec![
                pod("shop", "web", "web", "10.0.0.1", &[("http", 8080)]),
                pod("shop", "api", "api", "10.0.0.2", &[("grpc", 9090)]),
                pod("data", "db", "db", "10.0.1.1", &[("pg", 5432)]),
            ],
            ..Inventory::default()
        };
        inventory.namespaces.insert(
            "data".into(),
            BTreeMap::from([
                (
                    "kubernetes.io/metadata.name".to_string(),
                    "data".to_string(),
                ),
                ("tier".to_string(), "storage".to_string()),
            ]),
        );
        inventory
    }

    fn policy(namespace: &str, name: &str, spec: Value) -> Policy {
        let object: NetworkPolicy = serde_json::from_value(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }))
        .unwrap();
        Policy::new(&object)
    }

    /// `from` → `to`:`port`/`protocol` under `policies`.
    fn allowed(policies: &[Policy], from: &str, to: &str, port: i32, protocol: &str) -> bool {
        let inventory = inventory();
        let endpoint = |name: &str| match inventory.pods.iter().find(|p| p.name == name) {
            Some(p) => Endpoint::Pod(p),
            None => Endpoint::Address(name.parse().unwrap()),
        };
        check(
            policies,
            &inventory,
            &endpoint(from),
            &endpoint(to),
            port,
            protocol,
        )
        .allowed
    }

    #[test]
    fn a_pod_no_policy_selects_is_not_isolated() {
        assert!(allowed(&[], "web", "api", 9090, "TCP"));
        let others = policy(
            "shop",
            "only-web",
            json!({"podSelector": {"matchLabels": {"app": "web"}}}),
        );
        assert!(allowed(&[others], "web", "api", 9090, "TCP"));
        // A policy of another namespace does not isolate.
        let elsewhere = policy("data", "all", json!({"podSelector": {}}));
        assert!(allowed(&[elsewhere], "web", "api", 9090, "TCP"));
    }

    #[test]
    fn a_selected_pod_with_no_rules_denies_ingress_only() {
        let deny = policy("shop", "deny", json!({"podSelector": {}}));
        assert!(!allowed(&[deny], "web", "api", 9090, "TCP"));
        // Egress is not isolated by an Ingress-only policy.
        let deny = policy("shop", "deny", json!({"podSelector": {}}));
        assert!(allowed(&[deny], "web", "db", 5432, "TCP"));
    }

    #[test]
    fn policy_types_default_to_egress_only_with_egress_rules() {
        let with_rules = policy(
            "shop",
            "egress",
            json!({"podSelector": {"matchLabels": {"app": "web"}},
                   "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "api"}}}]}]}),
        );
        assert!(allowed(&[with_rules], "web", "api", 9090, "TCP"));
        let with_rules = policy(
            "shop",
            "egress",
            json!({"podSelector": {"matchLabels": {"app": "web"}},
                   "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "api"}}}]}]}),
        );
        assert!(!allowed(&[with_rules], "web", "db", 5432, "TCP"));
        let explicit = policy(
            "shop",
            "deny-egress",
            json!({"podSelector": {}, "policyTypes": ["Egress"]}),
        );
        assert!(!allowed(&[explicit], "web", "203.0.113.5", 443, "TCP"));
    }

    #[test]
    fn policies_are_a_union() {
        let deny = policy("shop", "deny", json!({"podSelector": {}}));
        let allow = policy(
            "shop",
            "allow-web",
            json!({"podSelector": {"matchLabels": {"app": "api"}},
                   "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}),
        );
        assert!(allowed(&[deny, allow], "web", "api", 9090, "TCP"));
    }

    #[test]
    fn both_egress_and_ingress_must_allow() {
        let egress_ok = policy(
            "shop",
            "web-out",
            json!({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"],
                   "egress": [{}]}),
        );
        let ingress_denied = policy(
            "data",
            "db-in",
            json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
        );
        let inventory = inventory();
        let decision = check(
            &[egress_ok, ingress_denied],
            &inventory,
            &Endpoint::Pod(&inventory.pods[0]),
            &Endpoint::Pod(&inventory.pods[2]),
            5432,
            "TCP",
        );
        assert!(!decision.allowed);
        assert_eq!(decision.egress.allowing, ["shop/web-out"]);
        assert_eq!(decision.ingress.selecting, ["data/db-in"]);
        assert!(decision.ingress.allowing.is_empty());
    }

    #[test]
    fn pod_selectors_alone_stay_in_the_policy_namespace() {
        let allow = policy(
            "data",
            "db-in",
            json!({"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}),
        );
        // web is in shop: a bare podSelector means data's pods only.
        assert!(!allowed(&[allow], "web", "db", 5432, "TCP"));
    }

    #[test]
    fn namespace_selectors_and_their_combination_with_pod_selectors() {
        let by_namespace = || {
            policy(
                "shop",
                "from-storage",
                json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"tier": "storage"}}}]}]}),
            )
        };
        assert!(allowed(&[by_namespace()], "db", "api", 9090, "TCP"));
        assert!(!allowed(&[by_namespace()], "web", "api", 9090, "TCP"));
        // In one peer: pods matching both.
        let both = || {
            policy(
                "shop",
                "and",
                json!({"podSelector": {}, "ingress": [{"from": [{
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}},
                    "podSelector": {"matchLabels": {"app": "web"}}}]}]}),
            )
        };
        assert!(!allowed(&[both()], "db", "api", 9090, "TCP"));
        // In two peers: either.
        let either = policy(
            "shop",
            "or",
            json!({"podSelector": {}, "ingress": [{"from": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}}},
                {"podSelector": {"matchLabels": {"app": "web"}}}]}]}),
        );
        assert!(allowed(&[either], "db", "api", 9090, "TCP"));
        // An empty namespaceSelector: every namespace.
        let all = policy(
            "data",
            "any-ns",
            json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}),
        );
        assert!(allowed(&[all], "web", "db", 5432, "TCP"));
    }

    #[test]
    fn ip_blocks_with_exceptions_and_never_selectors_for_addresses() {
        let block = || {
            policy(
                "shop",
                "out",
                json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [
                    {"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.128/25"]}}]}]}),
            )
        };
        assert!(allowed(&[block()], "web", "203.0.113.5", 443, "TCP"));
        assert!(!allowed(&[block()], "web", "203.0.113.200", 443, "TCP"));
        assert!(!allowed(&[block()], "web", "198.51.100.1", 443, "TCP"));
        let v6 = policy(
            "shop",
            "out6",
            json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [
                {"ipBlock": {"cidr": "2001:db8::/32"}}]}]}),
        );
        assert!(allowed(&[v6], "web", "2001:db8::1", 443, "TCP"));
        let selectors = policy(
            "shop",
            "pods-only",
            json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [
                {"namespaceSelector": {}}]}]}),
        );
        assert!(!allowed(&[selectors], "web", "203.0.113.5", 443, "TCP"));
    }

    #[test]
    fn ports_by_number_range_name_and_protocol() {
        let rule = |ports: Value| {
            policy(
                "data",
                "db-in",
                json!({"podSelector": {}, "ingress": [{"ports": ports}]}),
            )
        };
        assert!(allowed(
            &[rule(json!([{"port": 5432}]))],
            "web",
            "db",
            5432,
            "TCP"
        ));
        assert!(!allowed(
            &[rule(json!([{"port": 5433}]))],
            "web",
            "db",
            5432,
            "TCP"
        ));
        assert!(allowed(
            &[rule(json!([{"port": 5000, "endPort": 6000}]))],
            "web",
            "db",
            5432,
            "TCP"
        ));
        assert!(!allowed(
            &[rule(json!([{"port": 5500, "endPort": 6000}]))],
            "web",
            "db",
            5432,
            "TCP"
        ));
        // A name is the destination pod's container port.
        assert!(allowed(
            &[rule(json!([{"port": "pg"}]))],
            "web",
            "db",
            5432,
            "TCP"
        ));
        assert!(!allowed(
            &[rule(json!([{"port": "http"}]))],
            "web",
            "db",
            5432,
            "TCP"
        ));
        // Protocol defaults to TCP; a protocol alone allows all its ports.
        assert!(!allowed(
            &[rule(json!([{"port": 5432, "protocol": "UDP"}]))],
            "web",
            "db",
            5432,
            "TCP"
        ));
        assert!(allowed(
            &[rule(json!([{"protocol": "UDP"}]))],
            "web",
            "db",
            53,
            "UDP"
        ));
        assert!(!allowed(
            &[rule(json!([{"port": 5432}]))],
            "web",
            "db",
            5432,
            "UDP"
        ));
        // No ports: every port; no from: every source.
        assert!(allowed(&[rule(json!([]))], "203.0.113.5", "db", 1, "SCTP"));
    }
}
