//! Proof of generated policies with the evaluator: every recorded flow is
//! allowed, and flows between the same pods that were never recorded (on
//! another port, or the other way round) are denied.

use std::net::IpAddr;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::advise::{Advised, Flow};
use super::eval::{check, Endpoint, Policy};
use super::inventory::{Inventory, PodInfo};

/// The pods a flow's peer address stands for: a pod, a Service's backends
/// (with the target port), or an address.
fn destinations<'a>(
    inventory: &'a Inventory,
    ip: IpAddr,
    port: u16,
    protocol: &str,
) -> Vec<(Endpoint<'a>, i32)> {
    if let Some(service) = inventory.service_by_ip(ip) {
        let target = service
            .ports
            .iter()
            .find(|(p, proto, _)| *p == port as i32 && proto == protocol)
            .map(|(_, _, t)| t.clone())
            .unwrap_or(IntOrString::Int(port as i32));
        return inventory
            .pods
            .iter()
            .filter(|p| {
                p.namespace == service.namespace
                    && !service.selector.is_empty()
                    && service
                        .selector
                        .iter()
                        .all(|(k, v)| p.labels.get(k) == Some(v))
            })
            .filter_map(|p| {
                let number = match &target {
                    IntOrString::Int(n) => Some(*n),
                    IntOrString::String(name) => p
                        .ports
                        .iter()
                        .find(|(n, _, proto)| n.as_deref() == Some(name) && proto == protocol)
                        .map(|(_, number, _)| *number),
                }?;
                Some((Endpoint::Pod(p), number))
            })
            .collect();
    }
    match inventory.pod_by_ip(ip) {
        Some(pod) => vec![(Endpoint::Pod(pod), port as i32)],
        None => vec![(Endpoint::Address(ip), port as i32)],
    }
}

/// Problems with the policies for `advised`, under all of `policies`.
pub fn prove(advised: &Advised, inventory: &Inventory, policies: &[NetworkPolicy]) -> Vec<String> {
    check_flows(advised, inventory, policies, true)
}

/// The recorded flows of `advised` that `policies` deny.
pub fn denied_flows(
    advised: &Advised,
    inventory: &Inventory,
    policies: &[NetworkPolicy],
) -> Vec<String> {
    check_flows(advised, inventory, policies, false)
}

/// Recorded flows denied, and with `unrecorded`, flows between the same
/// pods never recorded that are allowed.
fn check_flows(
    advised: &Advised,
    inventory: &Inventory,
    policies: &[NetworkPolicy],
    unrecorded: bool,
) -> Vec<String> {
    let policies: Vec<Policy> = policies.iter().map(Policy::new).collect();
    let own: Vec<&PodInfo> = advised
        .pods
        .iter()
        .filter_map(|p| inventory.pod(&advised.namespace, p))
        .collect();
    let mut problems = Vec::new();
    let recorded = |direction: &str, peer: IpAddr, port: u16, protocol: &str| {
        advised.flows.contains(&Flow {
            direction: direction.into(),
            peer,
            port,
            protocol: protocol.into(),
        })
    };
    for pod in own {
        let me = Endpoint::Pod(pod);
        for flow in &advised.flows {
            let targets = if flow.direction == "egress" {
                destinations(inventory, flow.peer, flow.port, &flow.protocol)
            } else {
                vec![(Endpoint::Pod(pod), flow.port as i32)]
            };
            for (target, port) in targets {
                let (from, to) = if flow.direction == "egress" {
                    (me, target)
                } else {
                    (
                        inventory
                            .pod_by_ip(flow.peer)
                            .map(Endpoint::Pod)
                            .unwrap_or(Endpoint::Address(flow.peer)),
                        me,
                    )
                };
                let decision = check(&policies, inventory, &from, &to, port, &flow.protocol);
                if !decision.allowed {
                    problems.push(format!(
                        "{}/{}: recorded {} {} port {port}/{} is denied",
                        advised.namespace, pod.name, flow.direction, flow.peer, flow.protocol
                    ));
                }
                if !unrecorded {
                    continue;
                }
                // Between the same two: another port, and the other way.
                let unrecorded_port = (port + 1).clamp(1, 65535);
                if !recorded(
                    &flow.direction,
                    flow.peer,
                    unrecorded_port as u16,
                    &flow.protocol,
                ) && check(
                    &policies,
                    inventory,
                    &from,
                    &to,
                    unrecorded_port,
                    &flow.protocol,
                )
                .allowed
                    && matches!(to, Endpoint::Pod(_))
                    && matches!(from, Endpoint::Pod(_))
                {
                    problems.push(format!(
                        "{}/{}: unrecorded {} {} port {unrecorded_port}/{} is allowed",
                        advised.namespace, pod.name, flow.direction, flow.peer, flow.protocol
                    ));
                }
                let reverse = if flow.direction == "egress" {
                    "ingress"
                } else {
                    "egress"
                };
                if matches!(to, Endpoint::Pod(_))
                    && matches!(from, Endpoint::Pod(_))
                    && !recorded(reverse, flow.peer, flow.port, &flow.protocol)
                    && check(&policies, inventory, &to, &from, port, &flow.protocol).allowed
                {
                    problems.push(format!(
                        "{}/{}: unrecorded reverse of {} {} port {port}/{} is allowed",
                        advised.namespace, pod.name, flow.direction, flow.peer, flow.protocol
                    ));
                }
            }
        }
    }
    problems
}

/// Problems with all the advised policies, in force together.
pub fn prove_all(advised: &[Advised], inventory: &Inventory) -> Result<Vec<String>, String> {
    let policies: Vec<NetworkPolicy> = advised
        .iter()
        .map(|a| {
            serde_json::from_value(a.policy.clone())
                .map_err(|e| format!("{}/{}: {e}", a.namespace, a.workload))
        })
        .collect::<Result<_, _>>()?;
    Ok(advised
        .iter()
        .flat_map(|a| prove(a, inventory, &policies))
        .collect())
}
