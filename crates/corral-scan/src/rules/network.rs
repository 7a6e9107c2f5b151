//! Network: namespaces without a default deny, workloads no NetworkPolicy
//! isolates, policies that select nothing, and egress that leaves the
//! cloud metadata address reachable. These rules relate objects, so they
//! see only what the scanned files hold: a namespace counts when the files
//! hold a workload in it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use corral_core::model::selector::{allows_port, cidr_contains, policy_types, selects};
use corral_core::model::{PodTemplate, Resource};
use corral_core::Object;
use k8s_openapi::api::networking::v1 as net;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::declare_rule;
use crate::finding::Finding;
use crate::rule::{Context, Rule, RuleMeta};

pub static RULES: &[&dyn Rule] = &[
    &NoDefaultDenyIngress,
    &NoDefaultDenyEgress,
    &WorkloadNotIsolatedIngress,
    &WorkloadNotIsolatedEgress,
    &PolicySelectsNothing,
    &EgressToMetadata,
];

fn is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(|m| m.is_empty())
        && selector
            .match_expressions
            .as_ref()
            .is_none_or(|m| m.is_empty())
}

struct Policy<'a> {
    object: &'a Object,
    namespace: &'a str,
    policy: &'a net::NetworkPolicy,
    selector: LabelSelector,
}

struct Workload<'a> {
    object: &'a Object,
    namespace: &'a str,
    template: &'a PodTemplate,
}

fn namespace(object: &Object) -> &str {
    object.namespace.as_deref().unwrap_or("default")
}

fn policies<'a>(context: &Context<'a>) -> Vec<Policy<'a>> {
    context
        .model
        .iter()
        .filter_map(|(object, resource)| match resource {
            Resource::NetworkPolicy(policy) => Some(Policy {
                object,
                namespace: namespace(object),
                policy,
                selector: policy
                    .spec
                    .as_ref()
                    .and_then(|s| s.pod_selector.clone())
                    .unwrap_or_default(),
            }),
            _ => None,
        })
        .collect()
}

fn workloads<'a>(context: &Context<'a>) -> Vec<Workload<'a>> {
    context
        .model
        .workloads()
        .map(|(object, template)| Workload {
            object,
            namespace: namespace(object),
            template,
        })
        .collect()
}

fn labels(template: &PodTemplate) -> BTreeMap<String, String> {
    template.metadata.labels.clone().unwrap_or_default()
}

/// Where a namespace-level finding goes: the Namespace object when the
/// files hold it, else the namespace's first workload.
fn namespace_anchor<'a>(
    context: &Context<'a>,
    name: &str,
    first: &'a Object,
) -> (&'a Object, &'static str) {
    context
        .model
        .iter()
        .find(|(o, r)| matches!(r, Resource::Namespace(_)) && o.name.as_deref() == Some(name))
        .map_or((first, "metadata.namespace"), |(o, _)| (o, "metadata.name"))
}

/// The namespace rules: `egress` picks the direction.
fn default_deny(context: &Context, out: &mut Vec<Finding>, meta: &'static RuleMeta, egress: bool) {
    let policies = policies(context);
    let mut seen: BTreeMap<&str, &Object> = BTreeMap::new();
    for workload in workloads(context) {
        seen.entry(workload.namespace).or_insert(workload.object);
    }
    let direction = if egress { "egress" } else { "ingress" };
    for (name, first) in seen {
        let covered = policies.iter().any(|p| {
            let (ingress_type, egress_type) = policy_types(p.policy.spec.as_ref());
            p.namespace == name
                && is_empty(&p.selector)
                && if egress { egress_type } else { ingress_type }
        });
        if !covered {
            let (object, field) = namespace_anchor(context, name, first);
            out.push(Finding::new(
                meta,
                object,
                field,
                format!("namespace `{name}` has no NetworkPolicy that isolates all its pods for {direction}"),
                format!(
                    "add a NetworkPolicy in `{name}` with `podSelector: {{}}` and `policyTypes: [{}]`, then allow what each workload needs",
                    if egress { "Egress" } else { "Ingress" }
                ),
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a namespace (one the scanned files put a workload in) with no
    /// NetworkPolicy that selects all its pods for ingress: no default
    /// deny.
    ///
    /// ## Why it matters
    /// Without one, every pod of the cluster can connect to every pod of
    /// the namespace, and a new workload is open until someone writes its
    /// policy.
    ///
    /// ## How to fix
    /// Add a NetworkPolicy with `podSelector: {}` and `policyTypes:
    /// [Ingress]`, then policies that allow each workload's real peers
    /// (`corral advise netpol` writes them from recordings).
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-ingress-traffic
    NoDefaultDenyIngress, "CRL-N001", "namespace-without-default-deny-ingress", Network, Medium,
    "Namespace has no default-deny ingress policy"
}

impl Rule for NoDefaultDenyIngress {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        default_deny(context, out, &Self::META, false);
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a namespace (one the scanned files put a workload in) with no
    /// NetworkPolicy that selects all its pods for egress.
    ///
    /// ## Why it matters
    /// Without egress control a compromised pod reaches every service of
    /// the cluster, the internet, and the cloud metadata address with its
    /// node's credentials.
    ///
    /// ## How to fix
    /// Add a NetworkPolicy with `podSelector: {}` and `policyTypes:
    /// [Egress]`, allowing DNS, then each workload's real destinations.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/services-networking/network-policies/#default-deny-all-egress-traffic
    NoDefaultDenyEgress, "CRL-N002", "namespace-without-default-deny-egress", Network, Low,
    "Namespace has no default-deny egress policy"
}

impl Rule for NoDefaultDenyEgress {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        default_deny(context, out, &Self::META, true);
    }
}

/// The workload rules: only in namespaces that have policies (elsewhere the
/// namespace rule says it once).
fn not_isolated(context: &Context, out: &mut Vec<Finding>, meta: &'static RuleMeta, egress: bool) {
    let policies = policies(context);
    for workload in workloads(context) {
        let here: Vec<&Policy> = policies
            .iter()
            .filter(|p| p.namespace == workload.namespace)
            .collect();
        if here.is_empty() {
            continue;
        }
        let labels = labels(workload.template);
        let isolated = here.iter().any(|p| {
            let (ingress_type, egress_type) = policy_types(p.policy.spec.as_ref());
            (if egress { egress_type } else { ingress_type }) && selects(&p.selector, &labels)
        });
        if !isolated {
            let direction = if egress { "egress" } else { "ingress" };
            out.push(Finding::new(
                meta,
                workload.object,
                &workload.template.metadata_path("labels"),
                format!(
                    "no NetworkPolicy selects these pods for {direction}: they accept all traffic"
                ),
                format!(
                    "add a NetworkPolicy whose podSelector matches them, with `policyTypes: [{}]`",
                    if egress { "Egress" } else { "Ingress" }
                ),
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a workload in a namespace that has NetworkPolicies, none of
    /// which selects its pods for ingress.
    ///
    /// ## Why it matters
    /// Pods no policy selects are not isolated: they accept connections
    /// from anywhere, however tight the namespace's other policies are.
    ///
    /// ## How to fix
    /// Add a policy whose `podSelector` matches the workload's labels, or a
    /// namespace-wide default deny.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation
    WorkloadNotIsolatedIngress, "CRL-N003", "workload-not-isolated-ingress", Network, Medium,
    "Workload not selected by any ingress NetworkPolicy"
}

impl Rule for WorkloadNotIsolatedIngress {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        not_isolated(context, out, &Self::META, false);
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a workload in a namespace that has NetworkPolicies, none of
    /// which selects its pods for egress.
    ///
    /// ## Why it matters
    /// Its pods can connect anywhere: other namespaces, the internet, the
    /// cloud metadata address.
    ///
    /// ## How to fix
    /// Add an egress policy whose `podSelector` matches the workload's
    /// labels, or a namespace-wide default deny.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/services-networking/network-policies/#the-two-sorts-of-pod-isolation
    WorkloadNotIsolatedEgress, "CRL-N004", "workload-not-isolated-egress", Network, Low,
    "Workload not selected by any egress NetworkPolicy"
}

impl Rule for WorkloadNotIsolatedEgress {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        not_isolated(context, out, &Self::META, true);
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a NetworkPolicy whose non-empty `podSelector` matches no
    /// workload of its namespace in the scanned files (when they hold
    /// workloads there).
    ///
    /// ## Why it matters
    /// A policy that selects nothing protects nothing: usually a label was
    /// renamed, and the workload it was written for is open.
    ///
    /// ## How to fix
    /// Correct the selector to the workload's labels, or delete the policy.
    ///
    /// ## References
    /// - kube-linter `dangling-networkpolicy`
    PolicySelectsNothing, "CRL-N005", "networkpolicy-selects-nothing", Network, Low,
    "NetworkPolicy selects no pods"
}

impl Rule for PolicySelectsNothing {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        let workloads = workloads(context);
        for policy in policies(context) {
            if is_empty(&policy.selector) {
                continue;
            }
            let here: Vec<&Workload> = workloads
                .iter()
                .filter(|w| w.namespace == policy.namespace)
                .collect();
            if !here.is_empty()
                && !here
                    .iter()
                    .any(|w| selects(&policy.selector, &labels(w.template)))
            {
                out.push(Finding::new(
                    &Self::META,
                    policy.object,
                    "spec.podSelector",
                    format!(
                        "the podSelector matches none of the {} workloads of namespace `{}`",
                        here.len(),
                        policy.namespace
                    ),
                    "correct the selector to the workload's pod labels, or delete the policy"
                        .into(),
                ));
            }
        }
    }
}

const METADATA: Ipv4Addr = Ipv4Addr::new(169, 254, 169, 254);

declare_rule! {
    /// ## What it does
    /// Flags a NetworkPolicy egress rule that allows the cloud metadata
    /// address 169.254.169.254: an `ipBlock` that contains it without
    /// excepting it (such as `0.0.0.0/0`), or a rule with no `to` at all,
    /// when its ports let 80/TCP through (the metadata service answers
    /// there only; a rule limited to other ports, or to named ports, does
    /// not reach it).
    ///
    /// ## Why it matters
    /// From a pod, the metadata service hands out the node's cloud
    /// credentials (where IMDSv2 and a hop limit of 1 do not block it): the
    /// step from a compromised pod to the cloud account.
    ///
    /// ## How to fix
    /// Add `except: ["169.254.169.254/32"]` to the ipBlock, or list the
    /// real destinations.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource
    /// - https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
    EgressToMetadata, "CRL-N006", "egress-allows-cloud-metadata", Network, High,
    "Egress allows the cloud metadata address"
}

impl Rule for EgressToMetadata {
    fn check_object(
        &self,
        _: &Context,
        object: &Object,
        resource: &Resource,
        out: &mut Vec<Finding>,
    ) {
        let Resource::NetworkPolicy(policy) = resource else {
            return;
        };
        let (_, egress_type) = policy_types(policy.spec.as_ref());
        if !egress_type {
            return;
        }
        let rules = policy
            .spec
            .as_ref()
            .and_then(|s| s.egress.as_deref())
            .unwrap_or_default();
        for (i, rule) in rules.iter().enumerate() {
            // The metadata service answers HTTP on 80/TCP only.
            if !allows_port(rule.ports.as_deref(), "TCP", 80) {
                continue;
            }
            let peers = rule.to.as_deref().unwrap_or_default();
            if peers.is_empty() {
                out.push(Finding::new(
                    &Self::META,
                    object,
                    &format!("spec.egress[{i}]"),
                    "this egress rule allows every destination, the cloud metadata address 169.254.169.254 included".into(),
                    "list the destinations in `to`, or add an ipBlock with `except: [\"169.254.169.254/32\"]`".into(),
                ));
                continue;
            }
            for (j, peer) in peers.iter().enumerate() {
                let Some(block) = &peer.ip_block else {
                    continue;
                };
                let excepted = block
                    .except
                    .iter()
                    .flatten()
                    .any(|e| cidr_contains(e, METADATA.into()));
                if cidr_contains(&block.cidr, METADATA.into()) && !excepted {
                    out.push(Finding::new(
                        &Self::META,
                        object,
                        &format!("spec.egress[{i}].to[{j}].ipBlock.cidr"),
                        format!(
                            "`{}` allows the cloud metadata address 169.254.169.254",
                            block.cidr
                        ),
                        "add `except: [\"169.254.169.254/32\"]` to the ipBlock".into(),
                    ));
                }
            }
        }
    }
}
