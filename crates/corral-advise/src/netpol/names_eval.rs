//! Does a set of Cilium or Calico policies allow a connection, and a DNS
//! lookup? The subset Corral writes is read strictly: a field the
//! evaluator does not know is an error, never ignored.
//!
//! Semantics, as the projects document them:
//! - Cilium: a pod is isolated for a direction when a policy of its
//!   namespace selects it (`endpointSelector`) with rules for that
//!   direction or `enableDefaultDeny` for it; policies are a union. A rule
//!   matches peers by `toEndpoints`/`fromEndpoints` (labels, the namespace
//!   by `k8s:io.kubernetes.pod.namespace`, else the policy's), by
//!   `toCIDR`/`fromCIDR` (addresses outside the cluster's pods), or by
//!   `toFQDNs` (the addresses the selected names' lookups answered); a rule
//!   with ports and no peer matches every peer, and an empty rule none. A
//!   lookup goes to the DNS pods on 53/UDP and, when the rule has
//!   `rules.dns`, only for the names it selects.
//! - Calico: a pod is isolated for a direction when a policy of its
//!   namespace selects it (`selector`) with that type; each rule has one
//!   protocol and matches peers by `selector` (in the policy's namespace,
//!   or those `namespaceSelector` selects), `nets`, or `domains` (the
//!   addresses the selected domains' lookups answered). Lookups are plain
//!   DNS traffic: Calico does not filter them by name.
//!
//! A connection by name is the lookup of the name then the connection to
//! an address it answered: it needs the lookup allowed, and the address
//! allowed once the answer is known.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Deserialize;
use serde_json::Value;

use super::eval::cidr_contains;
use super::inventory::{Inventory, PodInfo};
use super::names::{Format, CILIUM_NAMESPACE_LABEL};

/// One end of a connection.
#[derive(Clone, Debug)]
pub enum End<'a> {
    Pod(&'a PodInfo),
    /// An address outside the cluster's pods.
    Address(IpAddr),
    /// An address reached by looking up `name`.
    Named {
        name: String,
        address: IpAddr,
    },
}

impl End<'_> {
    fn pod(&self) -> Option<&PodInfo> {
        match self {
            End::Pod(p) if !p.host_network => Some(p),
            _ => None,
        }
    }

    fn address(&self) -> Option<IpAddr> {
        match self {
            End::Pod(_) => None,
            End::Address(a) | End::Named { address: a, .. } => Some(*a),
        }
    }
}

// The Cilium subset.

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    name: String,
    namespace: String,
    #[serde(default)]
    #[allow(dead_code)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LabelSelector {
    #[serde(default)]
    match_labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CiliumPolicy {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Metadata,
    spec: CiliumSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CiliumSpec {
    endpoint_selector: LabelSelector,
    #[serde(default)]
    enable_default_deny: Option<DefaultDeny>,
    #[serde(default)]
    ingress: Vec<CiliumRule>,
    #[serde(default)]
    egress: Vec<CiliumRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultDeny {
    #[serde(default)]
    ingress: Option<bool>,
    #[serde(default)]
    egress: Option<bool>,
}

/// An ingress or egress rule (each direction's own fields only: checked
/// when it is read).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CiliumRule {
    #[serde(default)]
    from_endpoints: Option<Vec<LabelSelector>>,
    #[serde(default, rename = "fromCIDR")]
    from_cidr: Option<Vec<String>>,
    #[serde(default)]
    to_endpoints: Option<Vec<LabelSelector>>,
    #[serde(default, rename = "toCIDR")]
    to_cidr: Option<Vec<String>>,
    #[serde(default, rename = "toFQDNs")]
    to_fqdns: Option<Vec<FqdnSelector>>,
    #[serde(default)]
    to_ports: Option<Vec<PortRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FqdnSelector {
    #[serde(default)]
    match_name: Option<String>,
    #[serde(default)]
    match_pattern: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortRule {
    ports: Vec<PortProtocol>,
    #[serde(default)]
    rules: Option<L7Rules>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortProtocol {
    port: String,
    #[serde(default)]
    protocol: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct L7Rules {
    dns: Vec<FqdnSelector>,
}

// The Calico subset.

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CalicoPolicy {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    metadata: Metadata,
    spec: CalicoSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalicoSpec {
    selector: String,
    types: Vec<String>,
    #[serde(default)]
    ingress: Vec<CalicoRule>,
    #[serde(default)]
    egress: Vec<CalicoRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalicoRule {
    action: String,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    source: Option<Entity>,
    #[serde(default)]
    destination: Option<Entity>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Entity {
    #[serde(default)]
    selector: Option<String>,
    #[serde(default)]
    namespace_selector: Option<String>,
    #[serde(default)]
    nets: Option<Vec<String>>,
    #[serde(default)]
    domains: Option<Vec<String>>,
    #[serde(default)]
    ports: Option<Vec<Value>>,
}

enum Parsed {
    Cilium(CiliumPolicy),
    Calico(CalicoPolicy),
}

/// Policies of one format, read for evaluation.
pub struct Policies {
    parsed: Vec<Parsed>,
}

impl Policies {
    /// Read `objects` (each a policy of `format`); an error names the
    /// policy and what the evaluator does not read.
    pub fn new(format: Format, objects: &[Value]) -> Result<Policies, String> {
        let mut parsed = Vec::new();
        for object in objects {
            let id = format!(
                "{}/{}",
                object["metadata"]["namespace"].as_str().unwrap_or("?"),
                object["metadata"]["name"].as_str().unwrap_or("?")
            );
            let bad = |e: serde_json::Error| format!("{id}: the evaluator cannot read it: {e}");
            parsed.push(match format {
                Format::Cilium => {
                    let p: CiliumPolicy = serde_json::from_value(object.clone()).map_err(bad)?;
                    for rule in &p.spec.ingress {
                        if rule.to_endpoints.is_some()
                            || rule.to_cidr.is_some()
                            || rule.to_fqdns.is_some()
                        {
                            return Err(format!("{id}: an ingress rule with egress peers"));
                        }
                    }
                    for rule in &p.spec.egress {
                        if rule.from_endpoints.is_some() || rule.from_cidr.is_some() {
                            return Err(format!("{id}: an egress rule with ingress peers"));
                        }
                    }
                    Parsed::Cilium(p)
                }
                Format::Calico => {
                    let p: CalicoPolicy = serde_json::from_value(object.clone()).map_err(bad)?;
                    parse_selector(&p.spec.selector).map_err(|e| format!("{id}: {e}"))?;
                    for rule in p.spec.ingress.iter().chain(&p.spec.egress) {
                        if rule.action != "Allow" {
                            return Err(format!(
                                "{id}: the evaluator reads Allow rules only, not {}",
                                rule.action
                            ));
                        }
                        for entity in rule.source.iter().chain(rule.destination.iter()) {
                            for s in entity
                                .selector
                                .iter()
                                .chain(entity.namespace_selector.iter())
                            {
                                parse_selector(s).map_err(|e| format!("{id}: {e}"))?;
                            }
                        }
                    }
                    Parsed::Calico(p)
                }
            });
        }
        Ok(Policies { parsed })
    }
}

/// What the lookups answered: each name's addresses.
pub type Answers = BTreeMap<String, BTreeSet<IpAddr>>;

/// One direction's verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Side {
    pub isolated: bool,
    pub allowing: Vec<String>,
}

impl Side {
    pub fn allows(&self) -> bool {
        !self.isolated || !self.allowing.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// For a connection by name: whether its lookup was allowed.
    pub lookup: Option<bool>,
    pub egress: Side,
    pub ingress: Side,
}

/// A DNS name, as a selector compares it.
fn normal(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Cilium's `matchName` and `matchPattern`: `*` alone is every name, a
/// `**.` prefix any number (one or more) of labels, and `*` elsewhere any
/// characters within one label.
fn fqdn_matches(selector: &FqdnSelector, name: &str) -> bool {
    let name = normal(name);
    if let Some(exact) = &selector.match_name {
        if normal(exact) == name {
            return true;
        }
    }
    if let Some(pattern) = &selector.match_pattern {
        let pattern = normal(pattern);
        if pattern == "*" {
            return true;
        }
        if let Some(rest) = pattern.strip_prefix("**.") {
            // The labels before: one or more, each any characters.
            return name
                .match_indices('.')
                .any(|(i, _)| glob(rest.as_bytes(), &name.as_bytes()[i + 1..]));
        }
        return glob(pattern.as_bytes(), name.as_bytes());
    }
    false
}

/// `*` matches any bytes but `.`. Linear in each input's length (no
/// backtracking), whatever the pattern.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // matched[j]: the pattern so far matches text[..j].
    let mut matched = vec![false; text.len() + 1];
    matched[0] = true;
    for &p in pattern {
        let mut next = vec![false; text.len() + 1];
        if p == b'*' {
            next[0] = matched[0];
            for j in 1..=text.len() {
                next[j] = matched[j] || (next[j - 1] && text[j - 1] != b'.');
            }
        } else {
            for j in 1..=text.len() {
                next[j] = matched[j - 1] && text[j - 1] == p;
            }
        }
        matched = next;
    }
    matched[text.len()]
}

/// Calico's `domains`: an exact name, or `*.suffix` for names under it.
fn domain_matches(domain: &str, name: &str) -> bool {
    let (domain, name) = (normal(domain), normal(name));
    match domain.strip_prefix("*.") {
        Some(suffix) => name.len() > suffix.len() + 1 && name.ends_with(&format!(".{suffix}")),
        None => domain == name,
    }
}

/// The addresses the names `selected` accepts resolved to.
fn resolved(answers: &Answers, selected: impl Fn(&str) -> bool) -> BTreeSet<IpAddr> {
    answers
        .iter()
        .filter(|(name, _)| selected(name))
        .flat_map(|(_, ips)| ips.iter().copied())
        .collect()
}

fn labels_match(selector: &LabelSelector, namespace: &str, pod: &PodInfo) -> bool {
    selector.match_labels.iter().all(|(k, v)| {
        if k == CILIUM_NAMESPACE_LABEL || k == "io.kubernetes.pod.namespace" {
            return &pod.namespace == v;
        }
        let key = k.strip_prefix("k8s:").unwrap_or(k);
        pod.labels.get(key) == Some(v)
    }) && (selector.match_labels.contains_key(CILIUM_NAMESPACE_LABEL)
        || selector
            .match_labels
            .contains_key("io.kubernetes.pod.namespace")
        || pod.namespace == namespace)
}

/// A port by number, or by the destination pod's name for it.
fn port_matches(name_or_number: &str, destination: &End, protocol: &str, port: i32) -> bool {
    match name_or_number.parse::<i32>() {
        Ok(n) => n == port,
        Err(_) => destination.pod().is_some_and(|pod| {
            pod.ports.iter().any(|(n, number, proto)| {
                n.as_deref() == Some(name_or_number) && *number == port && proto == protocol
            })
        }),
    }
}

fn cilium_ports_match(
    rules: Option<&Vec<PortRule>>,
    destination: &End,
    port: i32,
    protocol: &str,
) -> bool {
    let Some(rules) = rules else {
        return true;
    };
    rules.iter().any(|rule| {
        rule.ports.iter().any(|p| {
            let proto = p.protocol.as_deref().unwrap_or("ANY");
            (proto == "ANY" || proto == protocol)
                && port_matches(&p.port, destination, protocol, port)
        })
    })
}

/// Does a Cilium rule match the peer (`other`) of the connection?
fn cilium_peer_matches(rule: &CiliumRule, namespace: &str, other: &End, answers: &Answers) -> bool {
    let endpoints = rule.from_endpoints.as_ref().or(rule.to_endpoints.as_ref());
    let cidrs = rule.from_cidr.as_ref().or(rule.to_cidr.as_ref());
    if endpoints.is_none() && cidrs.is_none() && rule.to_fqdns.is_none() {
        // Ports alone: every peer; nothing at all: no peer.
        return rule.to_ports.is_some();
    }
    let by_endpoint = endpoints.is_some_and(|selectors| {
        other
            .pod()
            .is_some_and(|pod| selectors.iter().any(|s| labels_match(s, namespace, pod)))
    });
    let by_cidr = cidrs.is_some_and(|cidrs| {
        other
            .address()
            .is_some_and(|ip| cidrs.iter().any(|c| cidr_contains(c, ip)))
    });
    let by_name = rule.to_fqdns.as_ref().is_some_and(|selectors| {
        other.address().is_some_and(|ip| {
            resolved(answers, |name| {
                selectors.iter().any(|s| fqdn_matches(s, name))
            })
            .contains(&ip)
        })
    });
    by_endpoint || by_cidr || by_name
}

// Calico selectors: `all()`, or `key == 'value'` terms joined by `&&`.

fn parse_selector(text: &str) -> Result<Vec<(String, String)>, String> {
    let text = text.trim();
    if text == "all()" {
        return Ok(Vec::new());
    }
    let mut terms = Vec::new();
    for term in text.split("&&") {
        let (key, value) = term.split_once("==").ok_or_else(|| {
            format!("selector {text:?}: the evaluator reads `k == 'v'` terms joined by && only")
        })?;
        let value = value.trim();
        let unquoted = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
            .ok_or_else(|| format!("selector {text:?}: a value is not quoted"))?;
        terms.push((key.trim().to_string(), unquoted.to_string()));
    }
    Ok(terms)
}

fn calico_selects(selector: &str, labels: &BTreeMap<String, String>) -> bool {
    parse_selector(selector)
        .map(|terms| terms.iter().all(|(k, v)| labels.get(k) == Some(v)))
        .unwrap_or(false)
}

fn calico_entity_matches(
    entity: Option<&Entity>,
    namespace: &str,
    other: &End,
    answers: &Answers,
    inventory: &Inventory,
) -> bool {
    let Some(entity) = entity else {
        return true;
    };
    if entity.selector.is_none()
        && entity.namespace_selector.is_none()
        && entity.nets.is_none()
        && entity.domains.is_none()
    {
        return true;
    }
    let pod_ok = match (&entity.selector, &entity.namespace_selector) {
        (None, None) => true,
        (selector, namespace_selector) => other.pod().is_some_and(|pod| {
            let namespace_ok = match namespace_selector {
                Some(s) => calico_selects(s, &inventory.namespace_labels(&pod.namespace)),
                None => pod.namespace == namespace,
            };
            namespace_ok
                && selector
                    .as_ref()
                    .is_none_or(|s| calico_selects(s, &pod.labels))
        }),
    };
    let nets_ok = entity.nets.as_ref().is_none_or(|nets| {
        let ips: Vec<IpAddr> = match other {
            End::Pod(p) => p.ips.clone(),
            _ => other.address().into_iter().collect(),
        };
        ips.iter()
            .any(|ip| nets.iter().any(|n| cidr_contains(n, *ip)))
    });
    let domains_ok = entity.domains.as_ref().is_none_or(|domains| {
        other.address().is_some_and(|ip| {
            resolved(answers, |name| {
                domains.iter().any(|d| domain_matches(d, name))
            })
            .contains(&ip)
        })
    });
    pod_ok && nets_ok && domains_ok
}

fn calico_ports_match(
    entity: Option<&Entity>,
    destination: &End,
    port: i32,
    protocol: &str,
) -> bool {
    let Some(ports) = entity.and_then(|e| e.ports.as_ref()) else {
        return true;
    };
    ports.iter().any(|p| match p {
        Value::Number(n) => n.as_i64() == Some(port as i64),
        Value::String(s) => match s.split_once(':') {
            Some((low, high)) => match (low.parse::<i32>(), high.parse::<i32>()) {
                (Ok(low), Ok(high)) => (low..=high).contains(&port),
                _ => false,
            },
            None => port_matches(s, destination, protocol, port),
        },
        _ => false,
    })
}

struct Connection<'a> {
    from: &'a End<'a>,
    to: &'a End<'a>,
    port: i32,
    protocol: &'a str,
    answers: &'a Answers,
    inventory: &'a Inventory,
    /// Only the DNS-rule check of a lookup of this name.
    lookup: Option<&'a str>,
}

fn side(policies: &Policies, c: &Connection, egress: bool) -> Side {
    let mut side = Side::default();
    let (subject, other) = if egress {
        (c.from, c.to)
    } else {
        (c.to, c.from)
    };
    let Some(pod) = subject.pod() else {
        return side;
    };
    for policy in &policies.parsed {
        match policy {
            Parsed::Cilium(p) => {
                let namespace = &p.metadata.namespace;
                if namespace != &pod.namespace
                    || !labels_match(&p.spec.endpoint_selector, namespace, pod)
                {
                    continue;
                }
                let rules = if egress {
                    &p.spec.egress
                } else {
                    &p.spec.ingress
                };
                let deny = p.spec.enable_default_deny.as_ref().and_then(|d| {
                    if egress {
                        d.egress
                    } else {
                        d.ingress
                    }
                });
                if deny.unwrap_or(!rules.is_empty()) {
                    side.isolated = true;
                }
                let allowed = rules.iter().any(|rule| {
                    cilium_peer_matches(rule, namespace, other, c.answers)
                        && cilium_ports_match(rule.to_ports.as_ref(), c.to, c.port, c.protocol)
                        && c.lookup.is_none_or(|name| {
                            // The DNS proxy: a port rule with `rules.dns` for
                            // this port must select the name.
                            rule.to_ports.iter().flatten().any(|pr| {
                                pr.ports.iter().any(|pp| {
                                    let proto = pp.protocol.as_deref().unwrap_or("ANY");
                                    (proto == "ANY" || proto == c.protocol)
                                        && port_matches(&pp.port, c.to, c.protocol, c.port)
                                }) && pr
                                    .rules
                                    .as_ref()
                                    .is_none_or(|r| r.dns.iter().any(|s| fqdn_matches(s, name)))
                            }) || rule.to_ports.is_none()
                        })
                });
                if allowed {
                    side.allowing
                        .push(format!("{namespace}/{}", p.metadata.name));
                }
            }
            Parsed::Calico(p) => {
                let namespace = &p.metadata.namespace;
                let kind = if egress { "Egress" } else { "Ingress" };
                if namespace != &pod.namespace
                    || !calico_selects(&p.spec.selector, &pod.labels)
                    || !p.spec.types.iter().any(|t| t == kind)
                {
                    continue;
                }
                side.isolated = true;
                let rules = if egress {
                    &p.spec.egress
                } else {
                    &p.spec.ingress
                };
                let allowed = rules.iter().any(|rule| {
                    let peer = if egress {
                        rule.destination.as_ref()
                    } else {
                        rule.source.as_ref()
                    };
                    rule.protocol.as_deref().is_none_or(|p| p == c.protocol)
                        && calico_entity_matches(peer, namespace, other, c.answers, c.inventory)
                        && calico_ports_match(rule.destination.as_ref(), c.to, c.port, c.protocol)
                });
                if allowed {
                    side.allowing
                        .push(format!("{namespace}/{}", p.metadata.name));
                }
            }
        }
    }
    side
}

/// Whether the source may look `name` up from `dns_server` (the cluster
/// DNS pods) on 53/UDP.
pub fn lookup(
    policies: &Policies,
    inventory: &Inventory,
    from: &End,
    dns_server: &End,
    dns_port: i32,
    name: &str,
) -> bool {
    let answers = Answers::new();
    let c = Connection {
        from,
        to: dns_server,
        port: dns_port,
        protocol: "UDP",
        answers: &answers,
        inventory,
        lookup: Some(name),
    };
    side(policies, &c, true).allows()
}

/// Whether `from` may open `port`/`protocol` on `to`, with `answers` what
/// the lookups so far gave. To a name: its lookup from `dns_server` must be
/// allowed, and its answer then counts.
#[allow(clippy::too_many_arguments)]
pub fn check(
    policies: &Policies,
    inventory: &Inventory,
    answers: &Answers,
    dns_server: (&End, i32),
    from: &End,
    to: &End,
    port: i32,
    protocol: &str,
) -> Decision {
    let mut answers = answers.clone();
    let mut looked_up = None;
    if let End::Named { name, address } = to {
        let ok = lookup(policies, inventory, from, dns_server.0, dns_server.1, name);
        looked_up = Some(ok);
        if ok {
            answers.entry(normal(name)).or_default().insert(*address);
        }
    }
    let c = Connection {
        from,
        to,
        port,
        protocol,
        answers: &answers,
        inventory,
        lookup: None,
    };
    let egress = side(policies, &c, true);
    let ingress = side(policies, &c, false);
    Decision {
        allowed: looked_up != Some(false) && egress.allows() && ingress.allows(),
        lookup: looked_up,
        egress,
        ingress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(p: &str) -> FqdnSelector {
        FqdnSelector {
            match_name: None,
            match_pattern: Some(p.into()),
        }
    }

    #[test]
    fn cilium_patterns_as_its_crd_documents_them() {
        let name = |n: &str| FqdnSelector {
            match_name: Some(n.into()),
            match_pattern: None,
        };
        assert!(fqdn_matches(&name("API.example.com."), "api.example.com"));
        assert!(!fqdn_matches(&name("api.example.com"), "x.api.example.com"));
        assert!(fqdn_matches(&pattern("*"), "anything.at.all"));
        assert!(fqdn_matches(&pattern("*.cilium.io"), "www.cilium.io"));
        assert!(!fqdn_matches(&pattern("*.cilium.io"), "cilium.io"));
        assert!(!fqdn_matches(&pattern("*.cilium.io"), "a.b.cilium.io"));
        assert!(fqdn_matches(&pattern("*cilium.io"), "sub-cilium.io"));
        assert!(!fqdn_matches(&pattern("*cilium.io"), "www.cilium.io"));
        assert!(fqdn_matches(
            &pattern("sub*.cilium.io"),
            "subdomain.cilium.io"
        ));
        assert!(!fqdn_matches(&pattern("sub*.cilium.io"), "www.cilium.io"));
        assert!(fqdn_matches(&pattern("**.cilium.io"), "test.app.cilium.io"));
        assert!(fqdn_matches(&pattern("**.cilium.io"), "app.cilium.io"));
        assert!(!fqdn_matches(&pattern("**.cilium.io"), "cilium.io"));
        // Many stars over a long name: no backtracking blow-up.
        let stars = "*a".repeat(100);
        assert!(!fqdn_matches(&pattern(&stars), &"a".repeat(99)));
        assert!(fqdn_matches(&pattern(&stars), &"a".repeat(100)));
    }

    #[test]
    fn calico_domains_and_selectors() {
        assert!(domain_matches("api.example.com", "API.example.com."));
        assert!(domain_matches("*.example.com", "a.b.example.com"));
        assert!(!domain_matches("*.example.com", "example.com"));
        assert_eq!(
            parse_selector("app == 'web' && tier == \"db\"").unwrap(),
            [
                ("app".to_string(), "web".to_string()),
                ("tier".to_string(), "db".to_string())
            ]
        );
        assert!(parse_selector("all()").unwrap().is_empty());
        // What the evaluator does not read is an error, not a wider match.
        assert!(parse_selector("has(app)").is_err());
        assert!(parse_selector("app in {'a'}").is_err());
        assert!(!calico_selects("has(app)", &BTreeMap::new()));
    }
}
