//! Label selectors, CIDRs and NetworkPolicy types, as Kubernetes reads
//! them: shared by the scanner, the NetworkPolicy evaluator and the attack
//! graph.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{NetworkPolicyPort, NetworkPolicySpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// An object's labels, as a selector reads them.
pub trait Labels {
    fn label(&self, key: &str) -> Option<&str>;
}

impl Labels for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

/// Does `selector` select an object with `labels`? An empty selector
/// selects everything; an operator the API server would reject selects
/// nothing.
pub fn selects(selector: &LabelSelector, labels: &impl Labels) -> bool {
    let by_labels = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.label(k) == Some(v.as_str()));
    let by_expressions = selector.match_expressions.iter().flatten().all(|e| {
        let value = labels.label(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
            "NotIn" => value.is_none_or(|v| values.iter().all(|x| x != v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_labels && by_expressions
}

/// Does `cidr` (`10.0.0.0/8`, or a bare address) contain `ip`?
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let Some((network, prefix)) = cidr.split_once('/') else {
        return cidr.parse::<IpAddr>().is_ok_and(|a| a == ip);
    };
    let (Ok(network), Ok(prefix)) = (network.parse::<IpAddr>(), prefix.parse::<u32>()) else {
        return false;
    };
    match (network, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// The directions a policy isolates, `(ingress, egress)`: as written, or
/// defaulted as the API server does, Ingress plus Egress when it has
/// egress rules (an empty list is none).
pub fn policy_types(spec: Option<&NetworkPolicySpec>) -> (bool, bool) {
    let Some(spec) = spec else {
        return (true, false);
    };
    match &spec.policy_types {
        Some(types) => (
            types.iter().any(|t| t == "Ingress"),
            types.iter().any(|t| t == "Egress"),
        ),
        None => (true, spec.egress.as_ref().is_some_and(|e| !e.is_empty())),
    }
}

/// Does a NetworkPolicy rule's `ports` let traffic to a pod-external
/// `port` of `protocol` through? None or empty: every port. A named port
/// names a pod's port, never an address outside the cluster's.
pub fn allows_port(ports: Option<&[NetworkPolicyPort]>, protocol: &str, port: i32) -> bool {
    ports.is_none_or(|ports| {
        ports.is_empty()
            || ports.iter().any(|p| {
                p.protocol.as_deref().unwrap_or("TCP") == protocol
                    && match &p.port {
                        None => true,
                        Some(IntOrString::Int(first)) => {
                            *first <= port && p.end_port.unwrap_or(*first) >= port
                        }
                        Some(IntOrString::String(_)) => false,
                    }
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    #[test]
    fn selectors() {
        let labels = BTreeMap::from([("app".to_string(), "web".to_string())]);
        let on = |key: &str, operator: &str, values: &[&str]| LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: key.into(),
                operator: operator.into(),
                values: Some(values.iter().map(|v| v.to_string()).collect()),
            }]),
            ..Default::default()
        };
        assert!(selects(&LabelSelector::default(), &labels));
        assert!(selects(&on("app", "In", &["web", "api"]), &labels));
        assert!(!selects(&on("app", "NotIn", &["web"]), &labels));
        assert!(selects(&on("tier", "NotIn", &["x"]), &labels));
        assert!(selects(&on("app", "Exists", &[]), &labels));
        assert!(!selects(&on("app", "DoesNotExist", &[]), &labels));
        assert!(selects(&on("tier", "DoesNotExist", &[]), &labels));
        assert!(!selects(&on("app", "Matches", &["web"]), &labels));
    }

    #[test]
    fn cidrs() {
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        assert!(cidr_contains("0.0.0.0/0", metadata));
        assert!(cidr_contains("169.254.0.0/16", metadata));
        assert!(cidr_contains("169.254.169.254", metadata));
        assert!(!cidr_contains("10.0.0.0/8", metadata));
        assert!(!cidr_contains("169.254.169.255/32", metadata));
        assert!(!cidr_contains("garbage", metadata));
        assert!(!cidr_contains("::/0", metadata));
        assert!(!cidr_contains("10.0.0.0/33", metadata));
        assert!(cidr_contains("fd00::/8", "fd00::1".parse().unwrap()));
    }
}
