//! RBAC edges, from the one authorization model ([`corral_core::authz`]):
//! a permission set per binding (built-in ones included) with an edge from
//! each subject; every identity in its implicit groups; and what each
//! permission set grants (POD_CREATE, POD_EXEC, POD_PATCH,
//! EPHEMERAL_CONTAINER, NODES_PROXY, TOKEN_*, IDENTITY_IMPERSONATE,
//! ROLE_BIND, ROLE_ESCALATE, CSR_APPROVE, WEBHOOK_CONTROL), each at the
//! line of the rule that grants it.

use std::collections::{BTreeMap, BTreeSet};

use compact_str::CompactString;
use corral_core::authz::{
    self, bootstrap, Authz, Binding, Grant, RoleKey, RuleRef, Subject, RBAC_GROUP,
};
use k8s_openapi::api::rbac::v1::PolicyRule;
use petgraph::graph::NodeIndex;
use rustc_hash::FxHashMap;

use super::holders::{Ask, Holder, Makes};
use super::{evidence, WORKLOAD_RESOURCES};
use crate::edge::EdgeKind;
use crate::graph::{Evidence, Graph, Vertex};
use corral_core::Object;

/// The vertex of a subject: a service account's user name is the account.
pub(super) fn identity(subject: &Subject) -> Vertex {
    match subject {
        Subject::User(name) => Vertex::Identity {
            kind: "User".into(),
            namespace: None,
            name: name.as_str().into(),
        },
        Subject::Group(name) => Vertex::Identity {
            kind: "Group".into(),
            namespace: None,
            name: name.as_str().into(),
        },
        Subject::ServiceAccount { namespace, name } => Vertex::Identity {
            kind: "ServiceAccount".into(),
            namespace: Some(namespace.as_str().into()),
            name: name.as_str().into(),
        },
    }
}

fn subject_of(vertex: &Vertex) -> Option<Subject> {
    match vertex {
        Vertex::Identity {
            kind,
            namespace,
            name,
        } => match (kind.as_str(), namespace) {
            ("ServiceAccount", Some(ns)) => Some(Subject::ServiceAccount {
                namespace: ns.to_string(),
                name: name.to_string(),
            }),
            ("User", _) => Some(Subject::user(name)),
            ("Group", _) => Some(Subject::Group(name.to_string())),
            _ => None,
        },
        _ => None,
    }
}

/// A binding joined with its role's rules: what holding it gives.
pub(super) struct PermissionSet<'a, 'm> {
    pub vertex: NodeIndex,
    pub binding: &'a Binding<'m>,
    /// The role is a ClusterRole.
    pub cluster_role: bool,
}

/// Every grant an edge of the graph is made of: (API group, resource,
/// verb). A binding granting none of them leads nowhere.
const GRANTS_USED: &[(&str, &str, &str)] = &[
    ("", "pods", "create"),
    ("", "pods", "update"),
    ("", "pods", "patch"),
    ("apps", "deployments", "create"),
    ("apps", "deployments", "update"),
    ("apps", "deployments", "patch"),
    ("apps", "daemonsets", "create"),
    ("apps", "daemonsets", "update"),
    ("apps", "daemonsets", "patch"),
    ("apps", "replicasets", "create"),
    ("apps", "replicasets", "update"),
    ("apps", "replicasets", "patch"),
    ("apps", "statefulsets", "create"),
    ("apps", "statefulsets", "update"),
    ("apps", "statefulsets", "patch"),
    ("batch", "jobs", "create"),
    ("batch", "jobs", "update"),
    ("batch", "jobs", "patch"),
    ("batch", "cronjobs", "create"),
    ("batch", "cronjobs", "update"),
    ("batch", "cronjobs", "patch"),
    ("", "replicationcontrollers", "create"),
    ("", "replicationcontrollers", "update"),
    ("", "replicationcontrollers", "patch"),
    ("", "nodes/proxy", "create"),
    ("", "nodes/proxy", "get"),
    ("", "pods/exec", "create"),
    ("", "pods/exec", "get"),
    ("", "pods/ephemeralcontainers", "update"),
    ("", "pods/ephemeralcontainers", "patch"),
    ("", "pods/log", "get"),
    ("", "secrets", "list"),
    ("", "secrets", "get"),
    ("", "serviceaccounts/token", "create"),
    ("", "serviceaccounts", "impersonate"),
    ("", "users", "impersonate"),
    ("", "groups", "impersonate"),
    (
        "certificates.k8s.io",
        "certificatesigningrequests/approval",
        "update",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "create",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "update",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
        "patch",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        "create",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        "update",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        "patch",
    ),
    (RBAC_GROUP, "clusterroles", "escalate"),
    (RBAC_GROUP, "rolebindings", "create"),
    (RBAC_GROUP, "clusterrolebindings", "create"),
];

/// Does the binding grant anything an edge is made of, or everything?
fn leads_somewhere(authz: &Authz<'_>, binding: &Binding<'_>) -> bool {
    authz.grants_everything(binding)
        || GRANTS_USED
            .iter()
            .any(|(group, resource, verb)| authz.grant(binding, group, resource, verb).is_some())
}

/// One permission set per binding of the input, and per built-in binding
/// whose role grants something an edge is made of (the built-in discovery
/// and public-info bindings to everyone lead nowhere and are left out),
/// with an edge to it from each of the binding's subjects. Critical when it is cluster-admin by what it allows,
/// whatever the role's name.
pub(super) fn permission_sets<'a, 'm>(
    g: &mut Graph,
    authz: &'a Authz<'m>,
) -> Vec<PermissionSet<'a, 'm>> {
    let mut sets = Vec::with_capacity(authz.bindings().len());
    for binding in authz.bindings() {
        if bootstrap::is_builtin(&binding.object.file) && !leads_somewhere(authz, binding) {
            continue;
        }
        let vertex = g.vertex(Vertex::PermissionSet {
            namespace: binding.namespace.as_deref().map(Into::into),
            name: format!("{}::{}", binding.role.name, binding.name).into(),
            critical: authz.is_cluster_admin(binding),
        });
        for (i, subject) in &binding.subjects {
            let from = g.vertex(identity(subject));
            g.edge(
                from,
                vertex,
                EdgeKind::PermissionDiscover,
                evidence(
                    binding.object,
                    &format!("subjects[{i}]"),
                    format!("bound to {}", binding.role_label()),
                ),
            );
        }
        sets.push(PermissionSet {
            vertex,
            binding,
            cluster_role: binding.role.namespace.is_none(),
        });
    }
    sets
}

/// A binding an attacker holding a permission set could make: a
/// RoleBinding (in its namespace) or ClusterRoleBinding of a role it may
/// bind, or of `cluster-admin` in its namespace when it may escalate its own
/// Role there. Granted as if it existed.
pub(super) struct NewBinding<'m> {
    pub by: NodeIndex,
    pub binding: Binding<'m>,
    pub evidence: Evidence,
}

/// The bindings each permission set could make, and each subject with
/// its bindings together where no one of them could (`create` on bindings
/// from one, `bind` from another). Without these only bindings that
/// already exist would be reachable, and binding `admin` or
/// `cluster-admin` in one's namespace would be missed.
pub(super) fn new_bindings<'m>(
    g: &mut Graph,
    authz: &Authz<'m>,
    sets: &[PermissionSet<'_, 'm>],
    namespaces: &BTreeSet<&str>,
    combined: &[Subject],
) -> Vec<NewBinding<'m>> {
    let mut made = Vec::new();
    let mut by_binding: FxHashMap<*const Object, Vec<(Option<String>, RoleKey)>> =
        FxHashMap::default();
    let push = |made: &mut Vec<NewBinding<'m>>, by: NodeIndex, object: &'m Object, m: Makes<'m>| {
        let evidence = rule_evidence(&m.rule, m.verb, m.resource, "may bind it");
        if let Some(binding) = authz.hypothetical(object, m.namespace, m.role) {
            made.push(NewBinding {
                by,
                binding,
                evidence,
            });
        }
    };
    for set in sets {
        let ask = Ask::new(authz, Holder::Binding(set.binding));
        for m in ask.makes(namespaces) {
            by_binding
                .entry(set.binding.object as *const Object)
                .or_default()
                .push((m.namespace.clone(), m.role.clone()));
            push(&mut made, set.vertex, set.binding.object, m);
        }
    }
    for subject in combined {
        let ask = Ask::new(authz, Holder::Subject(subject));
        let bindings = ask.bindings();
        let alone: BTreeSet<(Option<String>, RoleKey)> = bindings
            .iter()
            .flat_map(|b| {
                by_binding
                    .get(&(b.object as *const Object))
                    .into_iter()
                    .flatten()
            })
            .cloned()
            .collect();
        let object = bindings[0].object;
        for m in ask.makes(namespaces) {
            if alone.contains(&(m.namespace.clone(), m.role.clone())) {
                continue;
            }
            let from = g.vertex(identity(subject));
            push(&mut made, from, object, m);
        }
    }
    made
}

/// The grants that add up across bindings (binding, escalating, approving
/// certificates, impersonating): a subject needs asking as a whole only
/// when one of its bindings grants one of them.
const COMBINED_GRANTS: &[(&str, &str, &str)] = &[
    (RBAC_GROUP, "rolebindings", "create"),
    (RBAC_GROUP, "clusterrolebindings", "create"),
    (RBAC_GROUP, "roles", "bind"),
    (RBAC_GROUP, "clusterroles", "bind"),
    (RBAC_GROUP, "roles", "escalate"),
    (RBAC_GROUP, "clusterroles", "escalate"),
    (
        "certificates.k8s.io",
        "certificatesigningrequests",
        "create",
    ),
    (
        "certificates.k8s.io",
        "certificatesigningrequests/approval",
        "update",
    ),
    (
        "certificates.k8s.io",
        "certificatesigningrequests/approval",
        "patch",
    ),
    ("certificates.k8s.io", "signers", "approve"),
    ("", "users", "impersonate"),
    ("", "groups", "impersonate"),
    ("", "serviceaccounts", "impersonate"),
];

/// Every subject some binding names whose bindings (its own and its
/// groups') may give together what no one of them gives: several that
/// lead somewhere, one of which grants a piece of a combination. The
/// built-in bindings that lead nowhere (discovery, public info, which
/// every account holds through its groups) do not count.
pub(super) fn subjects_with_several_bindings(authz: &Authz<'_>) -> Vec<Subject> {
    let mut counts: FxHashMap<usize, (bool, bool)> = FxHashMap::default();
    let mut kind_of = |binding: &Binding| -> (bool, bool) {
        *counts
            .entry(binding as *const Binding as usize)
            .or_insert_with(|| {
                let kept =
                    !bootstrap::is_builtin(&binding.object.file) || leads_somewhere(authz, binding);
                let combined = COMBINED_GRANTS.iter().any(|(group, resource, verb)| {
                    authz.grant(binding, group, resource, verb).is_some()
                });
                (kept, combined)
            })
    };
    let subjects: BTreeSet<&Subject> = authz
        .bindings()
        .iter()
        .flat_map(|b| b.subjects.iter().map(|(_, s)| s))
        .collect();
    subjects
        .into_iter()
        .filter(|s| {
            let kinds: Vec<(bool, bool)> =
                authz.bindings_of(s).into_iter().map(&mut kind_of).collect();
            kinds.iter().filter(|(kept, _)| *kept).count() > 1
                && kinds.iter().any(|(kept, combined)| *kept && *combined)
        })
        .cloned()
        .collect()
}

/// A permission set for each binding an attacker could make (one per
/// namespace and role), with the edge from each set that could make it.
pub(super) fn new_permission_sets<'a, 'm>(
    g: &mut Graph,
    authz: &Authz<'m>,
    made: &'a [NewBinding<'m>],
) -> Vec<PermissionSet<'a, 'm>> {
    let mut sets: Vec<PermissionSet<'a, 'm>> = Vec::new();
    for new in made {
        let binding = &new.binding;
        let vertex = Vertex::PermissionSet {
            namespace: binding.namespace.as_deref().map(Into::into),
            name: format!("{}::(new)", binding.role.name).into(),
            critical: authz.is_cluster_admin(binding),
        };
        let known = g.find(&vertex).is_some();
        let vertex = g.vertex(vertex);
        g.edge(new.by, vertex, EdgeKind::RoleBind, new.evidence.clone());
        if !known {
            sets.push(PermissionSet {
                vertex,
                binding,
                cluster_role: true,
            });
        }
    }
    sets
}

/// The group vertices, by name.
pub(super) fn groups(g: &Graph) -> FxHashMap<CompactString, NodeIndex> {
    g.graph
        .node_indices()
        .filter_map(|i| match &g.graph[i] {
            Vertex::Identity { kind, name, .. } if kind == "Group" => Some((name.clone(), i)),
            _ => None,
        })
        .collect()
}

/// Is some group the subject is in implicitly a vertex (bound, or signed
/// into)? Then its vertex matters even when nothing names it.
pub(super) fn in_known_group(
    groups: &FxHashMap<CompactString, NodeIndex>,
    subject: &Subject,
) -> bool {
    subject
        .implicit_groups()
        .iter()
        .any(|group| groups.contains_key(group.as_str()))
}

/// Every identity into its implicit groups that are vertices: a lookup per
/// identity, so linear however many groups are bound.
pub(super) fn join_groups(g: &mut Graph) {
    let groups = groups(g);
    if groups.is_empty() {
        return;
    }
    let members: Vec<(NodeIndex, Subject)> = g
        .graph
        .node_indices()
        .filter_map(|i| Some((i, subject_of(&g.graph[i])?)))
        .collect();
    for (member, subject) in members {
        for group in subject.implicit_groups() {
            if let Some(group) = groups.get(group.as_str()) {
                g.edge(
                    member,
                    *group,
                    EdgeKind::GroupMember,
                    Evidence {
                        file: None,
                        line: None,
                        field: None,
                        detail: "the authenticator puts it in this group".into(),
                    },
                );
            }
        }
    }
}

/// May a pod created in `namespace` (`None`: any namespace the creator
/// chooses) escape to its node, given Pod Security Admission?
pub(super) type Admits<'x> = &'x dyn Fn(Option<&str>) -> bool;

/// What grants reach, besides permission sets.
pub(super) struct Targets<'x> {
    /// Every node (or the one that stands for them), by name.
    pub nodes: &'x [(String, NodeIndex)],
    /// Every pod vertex: (vertex, namespace, object name, resource of its
    /// kind).
    pub pods: Vec<(NodeIndex, &'x str, &'x str, &'static str)>,
    /// Cloud tokens: (namespace, account, audience) → vertex.
    pub tokens: &'x BTreeMap<(String, String, String), NodeIndex>,
    /// Service account token Secrets: (namespace, secret name, account).
    pub token_secrets: Vec<(&'x str, &'x str, &'x str)>,
    /// Every account has a token Secret (Kubernetes before 1.24).
    pub legacy_token_secrets: bool,
    /// Whether a created pod may escape to its node, per namespace.
    pub admits_escape: Admits<'x>,
    /// The verbs on `pods/exec` that run a command: `create`, and before
    /// Kubernetes 1.35 also `get` (websocket upgrades).
    pub exec_verbs: &'x [&'x str],
}

/// The targets of each kind of grant (edge, resource): by namespace
/// (`None`: cluster-wide), each with the name a `resourceNames` list would
/// give.
type ByNamespace = BTreeMap<Option<CompactString>, Vec<(NodeIndex, CompactString)>>;

/// Every edge each permission set grants.
pub(super) fn grants(
    g: &mut Graph,
    authz: &Authz<'_>,
    sets: &[PermissionSet<'_, '_>],
    targets: &Targets<'_>,
    combined: &[Subject],
) {
    let service_accounts: Vec<(NodeIndex, CompactString, CompactString)> = g
        .graph
        .node_indices()
        .filter_map(|i| match &g.graph[i] {
            Vertex::Identity {
                kind,
                namespace: Some(ns),
                name,
            } if kind == "ServiceAccount" => Some((i, ns.clone(), name.clone())),
            _ => None,
        })
        .collect();
    let masters = g.vertex(Vertex::Identity {
        kind: "Group".into(),
        namespace: None,
        name: authz::MASTERS.into(),
    });
    // Users and groups, which `impersonate` names by resource.
    let people: Vec<(NodeIndex, &'static str, CompactString)> = g
        .graph
        .node_indices()
        .filter_map(|i| match &g.graph[i] {
            Vertex::Identity { kind, name, .. } if kind == "User" => {
                Some((i, "users", name.clone()))
            }
            Vertex::Identity { kind, name, .. } if kind == "Group" => {
                Some((i, "groups", name.clone()))
            }
            _ => None,
        })
        .collect();
    let people_hub = |g: &mut Graph, resource: &str| {
        g.vertex(Vertex::Scope {
            edge: EdgeKind::IdentityImpersonate.id().into(),
            resource: resource.into(),
            namespace: None,
        })
    };
    let people = People {
        members: &people,
        hubs: [
            ("users", people_hub(g, "users")),
            ("groups", people_hub(g, "groups")),
        ],
    };

    // The targets of grants, by (edge, resource) and namespace: hubs join
    // a grant to them.
    let mut found: FxHashMap<(EdgeKind, &'static str), ByNamespace> = FxHashMap::default();
    let mut add = |kind: EdgeKind,
                   resource: &'static str,
                   namespace: Option<&str>,
                   target: NodeIndex,
                   name: &str| {
        found
            .entry((kind, resource))
            .or_default()
            .entry(namespace.map(Into::into))
            .or_default()
            .push((target, name.into()));
    };
    for (name, node) in targets.nodes {
        add(EdgeKind::PodCreate, "nodes", None, *node, name);
        add(EdgeKind::NodesProxy, "nodes", None, *node, name);
    }
    for (pod, namespace, name, resource) in &targets.pods {
        add(EdgeKind::PodExec, "pods", Some(namespace), *pod, name);
        add(
            EdgeKind::EphemeralContainer,
            "pods",
            Some(namespace),
            *pod,
            name,
        );
        add(EdgeKind::PodPatch, resource, Some(namespace), *pod, name);
    }
    // A service account, and each of its cloud tokens, by the grants that
    // reach them in its namespace. A pod created there may run as any of
    // its accounts: it mounts that account's API token (POD_CREATE, as
    // well as TOKEN_*). A TokenRequest mints a token for any audience, the
    // cloud's too; so does a created pod: the webhooks project the token
    // its account's annotation asks for, and the pod's own projected
    // volume may name any audience. No pod of the account need exist.
    // Reading Secrets gives the tokens of every account only where the
    // API server still makes a token Secret for each (before 1.24); since,
    // only the accounts whose token Secrets the input holds.
    const ACCOUNT_GRANTS: [EdgeKind; 5] = [
        EdgeKind::TokenRequest,
        EdgeKind::IdentityImpersonate,
        EdgeKind::PodCreate,
        EdgeKind::TokenList,
        EdgeKind::TokenBruteforce,
    ];
    let account_grants = if targets.legacy_token_secrets {
        &ACCOUNT_GRANTS[..]
    } else {
        &ACCOUNT_GRANTS[..3]
    };
    const TOKEN_GRANTS: [EdgeKind; 2] = [EdgeKind::TokenRequest, EdgeKind::PodCreate];
    for (identity, namespace, name) in &service_accounts {
        for &kind in account_grants {
            add(kind, "serviceaccounts", Some(namespace), *identity, name);
        }
    }
    // A grant of named Secrets reaches the accounts whose token Secrets
    // they are, by the Secret's name; since 1.24 a grant of all of them
    // reaches those accounts only.
    for (namespace, secret, account) in &targets.token_secrets {
        let vertex = g.find(&identity(&Subject::ServiceAccount {
            namespace: namespace.to_string(),
            name: account.to_string(),
        }));
        if let Some(vertex) = vertex {
            for kind in [EdgeKind::TokenList, EdgeKind::TokenBruteforce] {
                add(kind, "secrets", Some(namespace), vertex, secret);
                // Reading every Secret reads this one.
                if !targets.legacy_token_secrets {
                    add(kind, "serviceaccounts", Some(namespace), vertex, account);
                }
            }
        }
    }
    for ((namespace, account, _), token) in targets.tokens {
        for kind in TOKEN_GRANTS {
            add(kind, "serviceaccounts", Some(namespace), *token, account);
        }
    }
    for set in sets {
        let resource = match (&set.binding.namespace, set.cluster_role) {
            (None, _) => "clusterrolebindings",
            (Some(_), true) => "rolebindings-clusterroles",
            (Some(_), false) => "rolebindings-roles",
        };
        add(
            EdgeKind::RoleBind,
            resource,
            set.binding.namespace.as_deref(),
            set.vertex,
            &set.binding.role.name,
        );
    }

    let mut hubs: BTreeSet<(EdgeKind, &'static str, Option<String>)> = BTreeSet::new();
    for set in sets {
        let binding = set.binding;
        let scope = binding.namespace.as_deref();
        let grant = |group: &str, resource: &str, verb: &str| -> Option<Grant<'_>> {
            authz.grant(binding, group, resource, verb)
        };
        // A grant of `verb` on `resource`: to its hub when it names no
        // object, else to the objects it names.
        let mut edge_for = |g: &mut Graph,
                            kind: EdgeKind,
                            group: &str,
                            resource: &str,
                            verb: &str,
                            hub_resource: &'static str,
                            hub_scope: Option<&str>,
                            detail: &str| {
            let Some(granted) = grant(group, resource, verb) else {
                return;
            };
            let ev = rule_evidence(&granted.rule, verb, resource, detail);
            match &granted.names {
                None => {
                    let hub = g.vertex(Vertex::Scope {
                        edge: kind.id().into(),
                        resource: hub_resource.into(),
                        namespace: hub_scope.map(Into::into),
                    });
                    g.edge(set.vertex, hub, kind, ev);
                    hubs.insert((kind, hub_resource, hub_scope.map(str::to_string)));
                }
                // (`create` names no object: resourceNames never allow it.)
                Some(_) if verb == "create" && kind == EdgeKind::PodCreate => {}
                Some(named) => {
                    // Secrets are named as Secrets, not as their accounts.
                    let named_as = if resource == "secrets" {
                        "secrets"
                    } else {
                        hub_resource
                    };
                    let Some(by_ns) = found.get(&(kind, named_as)) else {
                        return;
                    };
                    let in_scope = by_ns
                        .iter()
                        .filter(|(ns, _)| hub_scope.is_none() || ns.as_deref() == hub_scope)
                        .flat_map(|(_, t)| t.iter());
                    // Without Node objects one node stands for all: a
                    // grant naming a node reaches it.
                    let any_node = hub_resource == "nodes"
                        && targets.nodes.len() == 1
                        && targets.nodes[0].0 == "any";
                    let chosen: Vec<NodeIndex> = in_scope
                        .filter(|(_, n)| any_node || named.iter().any(|m| m == n.as_str()))
                        .map(|(i, _)| *i)
                        .collect();
                    for target in chosen {
                        g.edge(set.vertex, target, kind, ev.clone());
                    }
                }
            }
        };
        // A created pod may be privileged on a node, unless Pod Security
        // Admission forbids it where it is created, or run as any service
        // account of its namespace.
        for (group, resource) in WORKLOAD_RESOURCES {
            if (targets.admits_escape)(scope) {
                edge_for(
                    g,
                    EdgeKind::PodCreate,
                    group,
                    resource,
                    "create",
                    "nodes",
                    None,
                    "may create pods or workload controllers",
                );
            }
            edge_for(
                g,
                EdgeKind::PodCreate,
                group,
                resource,
                "create",
                "serviceaccounts",
                scope,
                "may create pods or workload controllers, which run as any service account of the namespace",
            );
        }
        for verb in ["create", "get"] {
            edge_for(
                g,
                EdgeKind::NodesProxy,
                "",
                "nodes/proxy",
                verb,
                "nodes",
                None,
                "may reach the kubelet through nodes/proxy",
            );
        }
        for verb in targets.exec_verbs {
            edge_for(
                g,
                EdgeKind::PodExec,
                "",
                "pods/exec",
                verb,
                "pods",
                scope,
                "may run commands in pods",
            );
        }
        for verb in ["update", "patch"] {
            edge_for(
                g,
                EdgeKind::EphemeralContainer,
                "",
                "pods/ephemeralcontainers",
                verb,
                "pods",
                scope,
                "may add ephemeral containers",
            );
            for (group, resource) in WORKLOAD_RESOURCES {
                edge_for(
                    g,
                    EdgeKind::PodPatch,
                    group,
                    resource,
                    verb,
                    resource,
                    scope,
                    "may change the pod template",
                );
            }
        }
        edge_for(
            g,
            EdgeKind::TokenList,
            "",
            "secrets",
            "list",
            "serviceaccounts",
            scope,
            "may list secrets",
        );
        edge_for(
            g,
            EdgeKind::TokenBruteforce,
            "",
            "secrets",
            "get",
            "serviceaccounts",
            scope,
            "may get secrets",
        );
        edge_for(
            g,
            EdgeKind::TokenRequest,
            "",
            "serviceaccounts/token",
            "create",
            "serviceaccounts",
            scope,
            "may mint service account tokens",
        );
        edge_for(
            g,
            EdgeKind::IdentityImpersonate,
            "",
            "serviceaccounts",
            "impersonate",
            "serviceaccounts",
            scope,
            "may impersonate service accounts",
        );
        let ask = Ask::new(authz, Holder::Binding(binding));
        one_step(g, &ask, set.vertex, masters, &people);
        let webhooks = [
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
        ];
        let changes_webhooks = webhooks.iter().find_map(|w| {
            ["create", "update", "patch"]
                .iter()
                .find_map(|verb| Some((*verb, *w, grant("admissionregistration.k8s.io", w, verb)?)))
        });
        if let Some((verb, resource, granted)) = changes_webhooks {
            g.edge(
                set.vertex,
                masters,
                EdgeKind::WebhookControl,
                rule_evidence(
                    &granted.rule,
                    verb,
                    resource,
                    "may change admission webhooks",
                ),
            );
        }
        // Binding roles: a new binding gives any permission set this one
        // could create; ClusterRoleBindings need a cluster scope. `bind`
        // limited to some roles reaches only those.
        if scope.is_none() && grant(RBAC_GROUP, "clusterrolebindings", "create").is_some() {
            edge_for(
                g,
                EdgeKind::RoleBind,
                RBAC_GROUP,
                "clusterroles",
                "bind",
                "clusterrolebindings",
                None,
                "may bind cluster roles cluster-wide",
            );
        }
        if grant(RBAC_GROUP, "rolebindings", "create").is_some() {
            edge_for(
                g,
                EdgeKind::RoleBind,
                RBAC_GROUP,
                "clusterroles",
                "bind",
                "rolebindings-clusterroles",
                scope,
                "may bind cluster roles in a namespace",
            );
            edge_for(
                g,
                EdgeKind::RoleBind,
                RBAC_GROUP,
                "roles",
                "bind",
                "rolebindings-roles",
                scope,
                "may bind roles",
            );
        }
    }

    // What a subject's bindings give together that no one of them does.
    let set_of: FxHashMap<*const Object, NodeIndex> = sets
        .iter()
        .map(|set| (set.binding.object as *const Object, set.vertex))
        .collect();
    for subject in combined {
        let ask = Ask::new(authz, Holder::Subject(subject));
        let held: Vec<NodeIndex> = ask
            .bindings()
            .iter()
            .filter_map(|b| set_of.get(&(b.object as *const Object)).copied())
            .collect();
        let from = g.vertex(identity(subject));
        let mut reached = Vec::new();
        one_step_targets(&ask, masters, &people, &mut reached);
        for (target, kind, evidence) in reached {
            let alone = held.iter().any(|set| {
                g.graph
                    .edges_connecting(*set, target)
                    .any(|e| e.weight().kind == kind)
            });
            if !alone {
                g.edge(from, target, kind, evidence);
            }
        }
    }

    // The impersonation hubs to their members, when some grant uses them.
    for (resource, hub) in people.hubs {
        let used = g
            .graph
            .neighbors_directed(hub, petgraph::Direction::Incoming)
            .next()
            .is_some();
        for (person, of, _) in people.members.iter().filter(|_| used) {
            if *of == resource {
                g.edge(
                    hub,
                    *person,
                    EdgeKind::IdentityImpersonate,
                    Evidence {
                        file: None,
                        line: None,
                        field: None,
                        detail: "any of the hub's members".into(),
                    },
                );
            }
        }
    }

    bind_what_it_holds(g, authz, sets);

    // Hubs to their targets; a cluster-wide hub through each namespace's.
    for (kind, resource, scope) in hubs {
        let Some(by_ns) = found.get(&(kind, resource)) else {
            continue;
        };
        let hub = g.vertex(Vertex::Scope {
            edge: kind.id().into(),
            resource: resource.into(),
            namespace: scope.as_deref().map(Into::into),
        });
        let detail = Evidence {
            file: None,
            line: None,
            field: None,
            detail: "any of the hub's members".into(),
        };
        for (ns, members) in by_ns {
            let within = match (&scope, ns) {
                (None, Some(_)) => {
                    let ns_hub = g.vertex(Vertex::Scope {
                        edge: kind.id().into(),
                        resource: resource.into(),
                        namespace: ns.as_deref().map(Into::into),
                    });
                    g.edge(hub, ns_hub, kind, detail.clone());
                    ns_hub
                }
                (Some(s), Some(n)) if s != n.as_str() => continue,
                _ => hub,
            };
            for (target, _) in members {
                g.edge(within, *target, kind, detail.clone());
            }
        }
    }
}

/// Cluster-admin in one step (escalating a ClusterRole it holds, a client
/// certificate) and the users and groups it may impersonate: the edges
/// from `from`, the holder's vertex.
fn one_step(
    g: &mut Graph,
    ask: &Ask<'_, '_>,
    from: NodeIndex,
    masters: NodeIndex,
    people: &People<'_>,
) {
    let mut reached = Vec::new();
    one_step_targets(ask, masters, people, &mut reached);
    for (target, kind, evidence) in reached {
        g.edge(from, target, kind, evidence);
    }
}

fn one_step_targets(
    ask: &Ask<'_, '_>,
    masters: NodeIndex,
    people: &People<'_>,
    reached: &mut Vec<(NodeIndex, EdgeKind, Evidence)>,
) {
    // Cluster-admin already: nothing more to reach in one step.
    if ask.bindings().iter().any(|b| ask.authz.is_cluster_admin(b)) {
        return;
    }
    for admin in ask.admin() {
        let evidence = rule_evidence(&admin.rule, admin.verb, admin.resource, admin.detail);
        reached.push((masters, admin.kind, evidence));
    }
    // Users and groups are impersonated cluster-wide only (the model
    // refuses them to a RoleBinding): any of them through their hub, or
    // those named.
    if !ask.impersonates_any() {
        return;
    }
    for (resource, hub) in people.hubs {
        if let Some(rule) = ask.impersonates_every(resource) {
            let evidence = rule_evidence(&rule, "impersonate", resource, "may impersonate any");
            reached.push((hub, EdgeKind::IdentityImpersonate, evidence));
            continue;
        }
        for (person, of, name) in people.members {
            if *of != resource {
                continue;
            }
            if let Some(rule) = ask.impersonates(resource, name) {
                let evidence = rule_evidence(&rule, "impersonate", resource, "may impersonate");
                reached.push((*person, EdgeKind::IdentityImpersonate, evidence));
            }
        }
    }
}

/// Users and groups, which `impersonate` names by resource, and the hub of
/// each resource for a grant of all of them.
struct People<'x> {
    members: &'x [(NodeIndex, &'static str, CompactString)],
    hubs: [(&'static str, NodeIndex); 2],
}

/// Binding a role without `bind` on it: the API server allows it when the
/// binder already holds every permission of the role.
fn bind_what_it_holds(g: &mut Graph, authz: &Authz<'_>, sets: &[PermissionSet<'_, '_>]) {
    let rules: Vec<Vec<&PolicyRule>> = sets
        .iter()
        .map(|set| authz.rules_of(set.binding).iter().map(|r| r.rule).collect())
        .collect();
    for (b, binder) in sets.iter().enumerate() {
        let scope = binder.binding.namespace.as_deref();
        let grant =
            |resource: &str, verb: &str| authz.grant(binder.binding, RBAC_GROUP, resource, verb);
        let Some(creates) = grant("rolebindings", "create").or_else(|| {
            scope
                .is_none()
                .then(|| grant("clusterrolebindings", "create"))
                .flatten()
        }) else {
            continue;
        };
        let rolebindings = grant("rolebindings", "create").is_some();
        let clusterrolebindings =
            scope.is_none() && grant("clusterrolebindings", "create").is_some();
        let binds_all = |resource: &str| grant(resource, "bind").is_some_and(|g| g.names.is_none());
        let (roles, clusterroles) = (binds_all("roles"), binds_all("clusterroles"));
        if roles && clusterroles {
            continue;
        }
        for (t, target) in sets.iter().enumerate() {
            let bindable = match &target.binding.namespace {
                None => clusterrolebindings && target.cluster_role && !clusterroles,
                Some(ns) => {
                    rolebindings
                        && scope.is_none_or(|s| s == ns)
                        && !(if target.cluster_role {
                            clusterroles
                        } else {
                            roles
                        })
                }
            };
            if target.vertex != binder.vertex && bindable && authz::covers(&rules[b], &rules[t]) {
                g.edge(
                    binder.vertex,
                    target.vertex,
                    EdgeKind::RoleBind,
                    rule_evidence(
                        &creates.rule,
                        "create",
                        "rolebindings",
                        "holds every permission of the role, so it may bind it",
                    ),
                );
            }
        }
    }
}

/// Evidence at the rule that grants: its line in the role that writes it,
/// and the verb granted, which is what to remove.
fn rule_evidence(rule: &RuleRef<'_>, verb: &str, resource: &str, detail: &str) -> Evidence {
    evidence(
        rule.object,
        &rule.path(),
        format!("{detail}: {} grants `{verb}` on {resource}", rule.path()),
    )
}

/// Does any permission set the identity holds allow `verb` on `resource`?
pub(super) fn holds(
    g: &Graph,
    authz: &Authz<'_>,
    sets: &[PermissionSet<'_, '_>],
    identity: NodeIndex,
    resource: &str,
    verb: &str,
) -> bool {
    let groups: Vec<NodeIndex> = g
        .graph
        .neighbors(identity)
        .filter(|n| matches!(&g.graph[*n], Vertex::Identity { .. }))
        .chain(std::iter::once(identity))
        .collect();
    sets.iter().any(|set| {
        groups
            .iter()
            .any(|holder| g.graph.contains_edge(*holder, set.vertex))
            && authz.grant(set.binding, "", resource, verb).is_some()
    })
}

#[cfg(test)]
mod tests;
