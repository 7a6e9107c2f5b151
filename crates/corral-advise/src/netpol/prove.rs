//! Proof of generated policies with the evaluator: every recorded flow is
//! allowed, and flows between the same pods that were never recorded (on
//! another port, or the other way round) are denied.

use std::net::IpAddr;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::advise::{Advised, Flow, Peer};
use super::eval::{check as check_policies, Endpoint, Policy};
use super::inventory::{Inventory, PodInfo};
use super::names::{names_by_address, valid_name, Format};
use super::names_eval::{check, lookup, Answers, End, Policies};

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
                let decision =
                    check_policies(&policies, inventory, &from, &to, port, &flow.protocol);
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
                ) && check_policies(
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
                    && check_policies(&policies, inventory, &to, &from, port, &flow.protocol)
                        .allowed
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

/// The cluster DNS pod a workload's lookups go to: one the inventory has
/// with the DNS peer's labels, else one standing for them; and its UDP
/// port for 53.
fn dns_server(advised: &Advised, inventory: &Inventory) -> (PodInfo, i32) {
    let (namespace, labels, ports) = match &advised.plan.dns {
        Some((Peer::Pods { namespace, labels }, ports)) => {
            (namespace.clone(), labels.clone(), ports.clone())
        }
        _ => ("kube-system".to_string(), Default::default(), Vec::new()),
    };
    let pod = inventory
        .pods
        .iter()
        .find(|p| {
            p.namespace == namespace
                && !p.host_network
                && labels.iter().all(|(k, v)| p.labels.get(k) == Some(v))
        })
        .cloned()
        .unwrap_or(PodInfo {
            namespace,
            name: "cluster-dns".into(),
            labels,
            ..PodInfo::default()
        });
    let port = ports
        .iter()
        .find(|(_, protocol)| protocol == "UDP")
        .and_then(|(port, _)| match port {
            serde_json::Value::Number(n) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
            serde_json::Value::String(name) => pod
                .ports
                .iter()
                .find(|(n, _, proto)| n.as_deref() == Some(name.as_str()) && proto == "UDP")
                .map(|(_, number, _)| *number),
            _ => None,
        })
        .unwrap_or(53);
    (pod, port)
}

/// A name no recording asked for, under a domain that never resolves.
const UNRECORDED_NAME: &str = "unrecorded.corral.invalid";

/// An address no lookup answered and no flow reached.
fn fresh_address(advised: &Advised) -> IpAddr {
    let used = |ip: &IpAddr| {
        advised.plan.external.contains_key(ip)
            || advised.plan.lookups.values().any(|ips| ips.contains(ip))
    };
    (1..=254u8)
        .map(|i| IpAddr::from([192, 0, 2, i]))
        .find(|ip| !used(ip))
        .unwrap_or(IpAddr::from([198, 51, 100, 1]))
}

/// Proof of the policies written in `format` (`written[i]` for
/// `advised[i]`), all in force together: every recorded lookup and flow is
/// allowed, a recorded name on another port and another name (at a new
/// address; with Cilium, at the same address too) are denied, and between
/// pods another port and the reverse direction are denied.
pub fn prove_names(
    advised: &[Advised],
    written: &[serde_json::Value],
    format: Format,
    inventory: &Inventory,
) -> Result<Vec<String>, String> {
    let policies = Policies::new(format, written)?;
    let mut problems = Vec::new();
    for a in advised {
        let names = names_by_address(a);
        let answers: Answers = a
            .plan
            .lookups
            .iter()
            .filter(|(n, _)| valid_name(n))
            .map(|(n, ips)| (n.clone(), ips.clone()))
            .collect();
        let (dns_pod, dns_port) = dns_server(a, inventory);
        let dns = End::Pod(&dns_pod);
        let fresh = fresh_address(a);
        let own: Vec<&PodInfo> = a
            .pods
            .iter()
            .filter_map(|p| inventory.pod(&a.namespace, p))
            .collect();
        for pod in own {
            let me = End::Pod(pod);
            let id = format!("{}/{}", a.namespace, pod.name);
            let allowed = |to: &End, port: i32, protocol: &str| {
                check(
                    &policies,
                    inventory,
                    &answers,
                    (&dns, dns_port),
                    &me,
                    to,
                    port,
                    protocol,
                )
                .allowed
            };
            for name in answers.keys() {
                if !lookup(&policies, inventory, &me, &dns, dns_port, name) {
                    problems.push(format!("{id}: the recorded lookup of {name} is refused"));
                }
            }
            let recorded = |direction: &str, peer: IpAddr, port: i32, protocol: &str| {
                u16::try_from(port).is_ok_and(|port| {
                    a.flows.contains(&Flow {
                        direction: direction.into(),
                        peer,
                        port,
                        protocol: protocol.into(),
                    })
                })
            };
            for flow in &a.flows {
                let port = flow.port as i32;
                let other_port = (port + 1).clamp(1, 65535);
                let external =
                    flow.direction == "egress" && a.plan.external.contains_key(&flow.peer);
                if external {
                    match names.get(&flow.peer) {
                        Some(found) => {
                            for name in found {
                                let to = End::Named {
                                    name: name.clone(),
                                    address: flow.peer,
                                };
                                if !allowed(&to, port, &flow.protocol) {
                                    problems.push(format!(
                                        "{id}: recorded egress to {name} ({}) port {port}/{} is denied",
                                        flow.peer, flow.protocol
                                    ));
                                }
                                if !recorded("egress", flow.peer, other_port, &flow.protocol)
                                    && allowed(&to, other_port, &flow.protocol)
                                {
                                    problems.push(format!(
                                        "{id}: unrecorded egress to {name} port {other_port}/{} is allowed",
                                        flow.protocol
                                    ));
                                }
                            }
                            let elsewhere = End::Named {
                                name: UNRECORDED_NAME.into(),
                                address: fresh,
                            };
                            if allowed(&elsewhere, port, &flow.protocol) {
                                problems.push(format!(
                                    "{id}: egress to another name ({UNRECORDED_NAME} at {fresh}) port {port}/{} is allowed",
                                    flow.protocol
                                ));
                            }
                            // Calico allows an address the allowed domains
                            // resolved to, whatever the name: only Cilium,
                            // which refuses the lookup, can deny this.
                            let same_address = End::Named {
                                name: UNRECORDED_NAME.into(),
                                address: flow.peer,
                            };
                            if format == Format::Cilium
                                && allowed(&same_address, port, &flow.protocol)
                            {
                                problems.push(format!(
                                    "{id}: egress to {} under another name ({UNRECORDED_NAME}) port {port}/{} is allowed",
                                    flow.peer, flow.protocol
                                ));
                            }
                        }
                        None => {
                            if !allowed(&End::Address(flow.peer), port, &flow.protocol) {
                                problems.push(format!(
                                    "{id}: recorded egress to {} port {port}/{} is denied",
                                    flow.peer, flow.protocol
                                ));
                            }
                        }
                    }
                    continue;
                }
                let targets: Vec<(End, i32)> = if flow.direction == "egress" {
                    destinations(inventory, flow.peer, flow.port, &flow.protocol)
                        .into_iter()
                        .map(|(e, p)| (end(e), p))
                        .collect()
                } else {
                    vec![(End::Pod(pod), port)]
                };
                for (target, port) in targets {
                    let (from, to) = if flow.direction == "egress" {
                        (me.clone(), target)
                    } else {
                        (
                            inventory
                                .pod_by_ip(flow.peer)
                                .map(End::Pod)
                                .unwrap_or(End::Address(flow.peer)),
                            me.clone(),
                        )
                    };
                    let decide = |from: &End, to: &End, port: i32| {
                        check(
                            &policies,
                            inventory,
                            &answers,
                            (&dns, dns_port),
                            from,
                            to,
                            port,
                            &flow.protocol,
                        )
                        .allowed
                    };
                    if !decide(&from, &to, port) {
                        problems.push(format!(
                            "{id}: recorded {} {} port {port}/{} is denied",
                            flow.direction, flow.peer, flow.protocol
                        ));
                    }
                    let pods = matches!(from, End::Pod(_)) && matches!(to, End::Pod(_));
                    let unrecorded_port = (port + 1).clamp(1, 65535);
                    if pods
                        && !recorded(&flow.direction, flow.peer, unrecorded_port, &flow.protocol)
                        && decide(&from, &to, unrecorded_port)
                    {
                        problems.push(format!(
                            "{id}: unrecorded {} {} port {unrecorded_port}/{} is allowed",
                            flow.direction, flow.peer, flow.protocol
                        ));
                    }
                    let reverse = if flow.direction == "egress" {
                        "ingress"
                    } else {
                        "egress"
                    };
                    if pods
                        && !recorded(reverse, flow.peer, port, &flow.protocol)
                        && decide(&to, &from, port)
                    {
                        problems.push(format!(
                            "{id}: unrecorded reverse of {} {} port {port}/{} is allowed",
                            flow.direction, flow.peer, flow.protocol
                        ));
                    }
                }
            }
        }
    }
    Ok(problems)
}

fn end(endpoint: Endpoint) -> End {
    match endpoint {
        Endpoint::Pod(p) => End::Pod(p),
        Endpoint::Address(ip) => End::Address(ip),
    }
}
