//! Attack paths: workloads from which an attacker reaches cluster-admin, a
//! node, or a cloud administrator, by `corral paths`' graph. One finding
//! per workload and target, at the workload, with its shortest path.

use std::collections::HashMap;

use corral_core::Object;
use corral_paths::query::{self, From, To};
use corral_paths::Vertex;

use crate::declare_rule;
use crate::finding::Finding;
use crate::rule::{Context, Rule};

pub static RULES: &[&dyn Rule] = &[&ReachesClusterAdmin, &ReachesNode, &ReachesCloudAdmin];

/// The longest path followed, as `corral paths` does by default.
const MAX_HOPS: usize = 8;

/// A finding per workload that reaches `to`, at its name.
fn reach(
    rule: &'static crate::rule::RuleMeta,
    context: &Context,
    to: To,
    target: &str,
    out: &mut Vec<Finding>,
) {
    let graph = context.graph();
    let workloads: HashMap<(String, String), &Object> = context
        .model
        .top_workloads()
        .into_iter()
        .map(|(object, _)| {
            (
                (
                    object.namespace.clone().unwrap_or_else(|| "default".into()),
                    corral_paths::pod_name(object),
                ),
                object,
            )
        })
        .collect();
    // Each container's shortest path; a workload's shortest over its
    // containers.
    let mut shortest: HashMap<(String, String), query::Path> = HashMap::new();
    for path in query::paths(graph, &From::AllPods, to, MAX_HOPS) {
        let Some(first) = path.edges.first() else {
            continue;
        };
        let Some((source, _)) = graph.graph.edge_endpoints(*first) else {
            continue;
        };
        let Vertex::Container { namespace, pod, .. } = &graph.graph[source] else {
            continue;
        };
        let key = (namespace.to_string(), pod.to_string());
        // Paths come sorted by length: the first one per workload stays.
        shortest.entry(key).or_insert(path);
    }
    let mut found: Vec<(&(String, String), &query::Path)> = shortest.iter().collect();
    found.sort_by(|a, b| a.0.cmp(b.0));
    for (key, path) in found {
        let Some(object) = workloads.get(key) else {
            continue;
        };
        let steps: Vec<&str> = path.hops.iter().map(|h| h.edge).collect();
        let message = format!(
            "an attacker in this workload reaches {target} ({}) in {} hop(s): {}",
            path.target,
            path.counted_hops,
            steps.join(" → ")
        );
        // The first hop a manifest or cloud setting can change (not a
        // binding the attacker would make). A grant of the cluster's
        // built-in policy is changed where the user's binding grants it.
        let builtin = |hop: &query::Hop| {
            hop.evidence
                .file
                .as_deref()
                .is_some_and(corral_core::authz::bootstrap::is_builtin)
        };
        let first_fix = path
            .hops
            .iter()
            .position(|h| !h.remediation.is_empty() && !h.from.ends_with("::(new)"));
        let mut fix = match first_fix {
            Some(i) if builtin(&path.hops[i]) => {
                let hop = &path.hops[i];
                let binding = path.hops[..i]
                    .iter()
                    .rev()
                    .find(|h| h.edge == "PERMISSION_DISCOVER" && !builtin(h))
                    .and_then(|h| h.evidence.place())
                    .map(|p| format!(": change the binding at {p}"))
                    .unwrap_or_default();
                format!(
                    "{} ({}, granted by a built-in role{binding})",
                    hop.remediation, hop.edge
                )
            }
            Some(i) => {
                let hop = &path.hops[i];
                let at = hop
                    .evidence
                    .place()
                    .map(|p| format!(" at {p}"))
                    .unwrap_or_default();
                format!("{} ({}{at})", hop.remediation, hop.edge)
            }
            None => "remove one of the path's hops".into(),
        };
        fix.push_str(&format!(
            "; `corral paths --from pod/{}/{} --cut` lists the fewest changes that cut every path",
            key.0, key.1
        ));
        out.push(Finding::new(rule, object, "metadata.name", message, fix));
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a workload from whose containers an attacker reaches
    /// cluster-admin (a critical role binding, or `system:masters`) within
    /// 8 hops of `corral paths`' graph: through its service account's
    /// permissions, an escape to its node, a token it can steal or mint,
    /// or a cloud identity that signs back in to the cluster.
    ///
    /// ## Why it matters
    /// A compromised container is the usual start of a breach; from
    /// cluster-admin the attacker owns every workload and secret.
    ///
    /// ## How to fix
    /// Cut the path: the finding names its hops and the fix of the first
    /// one a manifest can change. `corral paths --from pod/NS/NAME --cut`
    /// gives the fewest changes that cut every path.
    ///
    /// ## References
    /// - KubeHound attack catalogue: https://kubehound.io/reference/attacks/
    /// - https://kubernetes.io/docs/concepts/security/rbac-good-practices/
    ReachesClusterAdmin, "CRL-A001", "workload-reaches-cluster-admin", AttackPath, Critical,
    "An attacker in the workload reaches cluster-admin"
}

impl Rule for ReachesClusterAdmin {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        reach(&Self::META, context, To::ClusterAdmin, "cluster-admin", out);
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a workload from whose containers an attacker reaches a node
    /// (root on the host) within 8 hops: a container escape (privileged,
    /// `hostPID`, dangerous host paths or capabilities), or permissions
    /// that create pods on or proxy to nodes.
    ///
    /// ## Why it matters
    /// Root on a node gives every pod on it, their tokens, and the node's
    /// own credentials, in the cluster and in the cloud.
    ///
    /// ## How to fix
    /// Cut the path the finding names; `corral paths --from pod/NS/NAME
    /// --to nodes --cut` gives the fewest changes.
    ///
    /// ## References
    /// - KubeHound attack catalogue: https://kubehound.io/reference/attacks/
    /// - https://kubernetes.io/docs/concepts/security/pod-security-standards/
    ReachesNode, "CRL-A002", "workload-reaches-node", AttackPath, High,
    "An attacker in the workload reaches a node"
}

impl Rule for ReachesNode {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        reach(&Self::META, context, To::Nodes, "a node", out);
    }
}

declare_rule! {
    /// ## What it does
    /// Flags a workload from whose containers an attacker reaches a cloud
    /// identity whose policies amount to administrator (an AWS role with
    /// `*` on `*`, a GCP owner or editor, an Azure Owner or Contributor of
    /// the subscription): through the node's metadata service, a workload
    /// identity token, or EKS Pod Identity. It needs the cloud's files
    /// (`corral scan --cloud FILE...`, as for `corral paths`).
    ///
    /// ## Why it matters
    /// The worst breaches cross from a cluster into its cloud account.
    ///
    /// ## How to fix
    /// Keep pods from the node's metadata service (IMDSv2 with hop limit
    /// 1, `GKE_METADATA`, `podLinkLocalAccess: None`, or a NetworkPolicy),
    /// narrow the identity's trust or bindings, or its permissions.
    ///
    /// ## References
    /// - https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html
    /// - https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity
    /// - https://learn.microsoft.com/azure/aks/workload-identity-overview
    ReachesCloudAdmin, "CRL-A003", "workload-reaches-cloud-admin", AttackPath, Critical,
    "An attacker in the workload reaches a cloud administrator"
}

impl Rule for ReachesCloudAdmin {
    fn check_model(&self, context: &Context, out: &mut Vec<Finding>) {
        reach(
            &Self::META,
            context,
            To::CloudAdmin,
            "a cloud administrator",
            out,
        );
    }
}
