//! Building the graph from the model: nodes, RBAC (permission sets joined
//! per binding, identities from their subjects), pods and their containers,
//! volumes and endpoints, then every edge whose preconditions hold.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use compact_str::CompactString;
use corral_cloud::Cloud;
use corral_core::model::access::{allows, allows_names, bindings, covers, role_rules, RoleKey};
use corral_core::model::lean::{LeanContainer, LeanLabels, LeanPodSpec, LeanTemplate};
use corral_core::model::selector::Labels;
use corral_core::model::{Model, Resource};
use corral_core::Object;
use k8s_openapi::api::core::v1::{Node, SecurityContext};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::PolicyRule;
use petgraph::graph::NodeIndex;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::cloud_edges::{
    self as reach, cloud_evidence, identity_vertex, NodeCredential, TokenSource,
};
use crate::edge::EdgeKind;
use crate::graph::{Evidence, Graph, Vertex, Volume};

/// Roles whose holders control the cluster (KubeHound's list, and the
/// system roles that imply it).
fn critical_role(name: &str) -> bool {
    matches!(
        name,
        "cluster-admin"
            | "admin"
            | "edit"
            | "system:node-bootstrapper"
            | "system:kube-scheduler"
            | "system:kube-controller-manager"
            | "system:masters"
    ) || name.starts_with("system:controller:")
}

const READ_PATHS: [&str; 7] = [
    "/",
    "/home",
    "/root",
    "/root/.ssh",
    "/proc",
    "/etc",
    "/var/run/secrets",
];
const CORE_PATTERN_PATHS: [&str; 4] = ["/", "/proc", "/proc/sys", "/proc/sys/kernel"];
const LOG_PATHS: [&str; 3] = ["/", "/var", "/var/log"];
const TRAVERSE_PATHS: [&str; 5] = [
    "/",
    "/var",
    "/var/lib",
    "/var/lib/kubelet",
    "/var/lib/kubelet/pods",
];

fn normalise(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else {
        trimmed.into()
    }
}

/// A writable host path that gives the host away (not a socket directory,
/// /tmp or a mount point).
fn writable_dangerous(path: &str) -> bool {
    let safe = ["/var/run/", "/run/", "/tmp", "/mnt/", "/dev/", "/var/tmp"];
    !safe
        .iter()
        .any(|s| path.starts_with(s) || path == s.trim_end_matches('/'))
}

thread_local! {
    /// Field paths, shared: thousands of pods have the same few.
    static FIELDS: std::cell::RefCell<rustc_hash::FxHashSet<Arc<str>>> = Default::default();
}

/// Evidence at `path` (a dotted field path) of `object`: its file, the
/// line of the field (or of its nearest present parent), and the field.
fn evidence(object: &Object, path: &str, detail: impl Into<Cow<'static, str>>) -> Evidence {
    let pos = object.pos_nearest(path);
    let field = FIELDS.with(|fields| {
        let mut fields = fields.borrow_mut();
        match fields.get(path) {
            Some(field) => field.clone(),
            None => {
                let field: Arc<str> = Arc::from(path);
                fields.insert(field.clone());
                field
            }
        }
    });
    Evidence {
        file: Some(object.file.clone()),
        line: Some(pos.line),
        field: Some(field),
        detail: detail.into(),
    }
}

/// A pod (or template), the objects it comes from, and where it may run.
struct PodEntry<'a> {
    object: &'a Object,
    template: &'a LeanTemplate,
    namespace: String,
    name: String,
    nodes: Vec<NodeIndex>,
    pod: NodeIndex,
    /// (container vertex, container, field path).
    containers: Vec<(NodeIndex, &'a LeanContainer, String)>,
    account: String,
}

impl PodEntry<'_> {
    fn labels(&self) -> &LeanLabels {
        &self.template.labels
    }
}

fn effective<'a>(
    container: &'a LeanContainer,
    pod: &'a LeanPodSpec,
) -> (Option<&'a SecurityContext>, Option<i64>) {
    let context = container.security_context.as_deref();
    let user = context
        .and_then(|c| c.run_as_user)
        .or(pod.security_context.as_ref().and_then(|c| c.run_as_user));
    (context, user)
}

fn added(context: Option<&SecurityContext>, cap: &str) -> bool {
    context
        .and_then(|c| c.capabilities.as_ref())
        .and_then(|c| c.add.as_ref())
        .is_some_and(|a| a.iter().any(|c| c.trim_start_matches("CAP_") == cap))
}

/// A service account's annotations, and its manifest when the input has
/// it.
type Account<'a> = (Option<&'a BTreeMap<String, String>>, Option<&'a Object>);

/// The targets of each kind of grant (edge, resource): by namespace
/// (`None`: cluster-wide), each with the name a `resourceNames` list would
/// give.
type Targets = FxHashMap<
    (EdgeKind, &'static str),
    BTreeMap<Option<CompactString>, Vec<(NodeIndex, CompactString)>>,
>;

/// The targets of grants as they are found: one list per (edge, resource,
/// namespace), each in the order found; [`arranged`] sorts them by
/// namespace once.
type FoundTargets =
    FxHashMap<(EdgeKind, &'static str, Option<CompactString>), Vec<(NodeIndex, CompactString)>>;

fn arranged(found: FoundTargets) -> Targets {
    let mut targets = Targets::default();
    for ((kind, resource, namespace), members) in found {
        targets
            .entry((kind, resource))
            .or_default()
            .insert(namespace, members);
    }
    targets
}

/// The resources whose creation or change runs pods, by API group.
const WORKLOAD_RESOURCES: [(&str, &str); 8] = [
    ("", "pods"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("", "replicationcontrollers"),
];

/// The API group and resource of a pod-bearing kind.
fn workload_resource(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "Deployment" => ("apps", "deployments"),
        "DaemonSet" => ("apps", "daemonsets"),
        "StatefulSet" => ("apps", "statefulsets"),
        "ReplicaSet" => ("apps", "replicasets"),
        "Job" => ("batch", "jobs"),
        "CronJob" => ("batch", "cronjobs"),
        "ReplicationController" => ("", "replicationcontrollers"),
        _ => ("", "pods"),
    }
}

/// The name of a pod's vertex: the Pod's own, or `Kind/name` for a
/// workload's pod template.
pub fn pod_name(object: &Object) -> String {
    match object.kind.as_str() {
        "Pod" => object.name.clone().unwrap_or_default(),
        kind => format!("{kind}/{}", object.name.as_deref().unwrap_or("")),
    }
}

/// One entry of the `aws-auth` ConfigMap (kube-system): an IAM role
/// (`mapRoles`) or user (`mapUsers`) and who it signs in as.
pub struct AwsAuthEntry<'a> {
    pub object: &'a Object,
    /// `mapRoles` or `mapUsers`.
    pub key: &'static str,
    /// Its place in the key's list.
    pub index: usize,
    pub arn: String,
    pub username: Option<String>,
    pub groups: Vec<String>,
}

/// Every entry of the cluster's `aws-auth` ConfigMap.
pub fn aws_auth(model: &Model) -> Vec<AwsAuthEntry<'_>> {
    let mut entries = Vec::new();
    for (object, resource) in model.iter() {
        let Resource::ConfigMap(map) = resource else {
            continue;
        };
        if object.name.as_deref() != Some("aws-auth")
            || object.namespace.as_deref() != Some("kube-system")
        {
            continue;
        }
        for (key, arn_key) in [("mapRoles", "rolearn"), ("mapUsers", "userarn")] {
            let Some(text) = map.data.as_ref().and_then(|d| d.get(key)) else {
                continue;
            };
            let Ok(Some(list)) =
                corral_core::parse_config(key, text, &corral_core::Limits::default())
            else {
                continue;
            };
            for (index, entry) in list.items().unwrap_or_default().iter().enumerate() {
                let field = |k: &str| entry.get(k).and_then(|v| v.as_str()).map(str::to_string);
                let Some(arn) = field(arn_key) else { continue };
                let groups = entry
                    .get("groups")
                    .and_then(|g| g.items())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|g| g.as_str().map(str::to_string))
                    .collect();
                entries.push(AwsAuthEntry {
                    object,
                    key,
                    index,
                    arn,
                    username: field("username"),
                    groups,
                });
            }
        }
    }
    entries
}

/// The graph of the cluster alone.
pub fn build(model: &Model) -> Graph {
    build_with(model, &Cloud::default())
}

/// The graph of the cluster and what the cloud files say.
pub fn build_with(model: &Model, cloud: &Cloud) -> Graph {
    let mut g = Graph::default();

    // Nodes; unscheduled pods may land on any node without a NoSchedule
    // taint (workers).
    let mut nodes = Vec::new();
    let mut schedulable = Vec::new();
    // Per node: the cloud identities its metadata service hands out, and
    // the GKE workload pool whose metadata server answers its pods.
    let mut metadata: FxHashMap<NodeIndex, Vec<(NodeIndex, NodeCredential, Evidence)>> =
        FxHashMap::default();
    let mut gke_pools: FxHashMap<NodeIndex, (String, TokenSource)> = FxHashMap::default();
    // `None`: the node that stands for every node.
    let mut through_metadata = |g: &mut Graph, index: NodeIndex, node: Option<&Node>| {
        for credential in reach::node_credentials(cloud, node) {
            let vertex = g.vertex(identity_vertex(&credential.identity));
            let ev = cloud_evidence(&credential.file, credential.line, &credential.detail);
            g.edge(index, vertex, EdgeKind::ImdsCredentials, ev.clone());
            metadata
                .entry(index)
                .or_default()
                .push((vertex, credential, ev));
        }
        if let Some(pool) = reach::gke_metadata_pool(cloud, node) {
            gke_pools.insert(index, pool);
        }
    };
    for (object, resource) in model.iter() {
        if let Resource::Node(node) = resource {
            let name = object.name.clone().unwrap_or_default();
            let index = g.vertex(Vertex::Node {
                name: name.as_str().into(),
            });
            nodes.push((name, index));
            through_metadata(&mut g, index, Some(node));
            let tainted = node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_ref())
                .is_some_and(|t| t.iter().any(|t| t.effect == "NoSchedule"));
            if !tainted {
                schedulable.push(index);
            }
        }
    }

    // Manifests without Node objects: one stands for wherever their pods
    // will be scheduled.
    if nodes.is_empty() {
        let any = g.vertex(Vertex::Node { name: "any".into() });
        nodes.push(("any".into(), any));
        schedulable.push(any);
        through_metadata(&mut g, any, None);
    }
    let node_index: FxHashMap<&str, NodeIndex> =
        nodes.iter().map(|(n, i)| (n.as_str(), *i)).collect();

    // RBAC: one permission set per binding, identities from subjects.
    let rules = role_rules(model);
    let mut permission_sets: Vec<(NodeIndex, Option<String>, &Vec<PolicyRule>, &Object)> =
        Vec::new();
    // Each role's manifest and how many rules it writes itself (the rest
    // come from aggregation): a grant's evidence is the rule's line.
    let role_objects: FxHashMap<RoleKey, (&Object, usize)> = model
        .iter()
        .filter_map(|(object, resource)| {
            let (namespace, written) = match resource {
                Resource::Role(r) => (
                    Some(object.namespace.clone().unwrap_or_else(|| "default".into())),
                    r.rules.as_ref().map_or(0, Vec::len),
                ),
                Resource::ClusterRole(r) => (None, r.rules.as_ref().map_or(0, Vec::len)),
                _ => return None,
            };
            let key = RoleKey {
                namespace,
                name: object.name.clone().unwrap_or_default(),
            };
            Some((key, (object, written)))
        })
        .collect();
    let mut role_of: FxHashMap<NodeIndex, (&Object, usize)> = FxHashMap::default();
    for binding in bindings(model, &rules) {
        let role_rules = &rules[&binding.role];
        let ps = g.vertex(Vertex::PermissionSet {
            namespace: binding.namespace.as_deref().map(Into::into),
            name: format!("{}::{}", binding.role.name, binding.name).into(),
            critical: critical_role(&binding.role.name),
        });
        permission_sets.push((ps, binding.namespace.clone(), role_rules, binding.object));
        if let Some(role) = role_objects.get(&binding.role) {
            role_of.insert(ps, *role);
        }
        for subject in &binding.subjects {
            let namespace = match subject.kind.as_str() {
                "ServiceAccount" => Some(
                    subject
                        .namespace
                        .clone()
                        .or(binding.namespace.clone())
                        .unwrap_or_else(|| "default".into()),
                ),
                _ => None,
            };
            let identity = g.vertex(Vertex::Identity {
                kind: subject.kind.as_str().into(),
                namespace: namespace.map(Into::into),
                name: subject.name.as_str().into(),
            });
            g.edge(
                identity,
                ps,
                EdgeKind::PermissionDiscover,
                evidence(
                    binding.object,
                    "subjects",
                    format!("bound to {}", binding.role.name),
                ),
            );
        }
    }

    // Service accounts are in their groups: a token of any of them holds
    // what the groups are bound to.
    let groups: Vec<(NodeIndex, CompactString)> = g
        .graph
        .node_indices()
        .filter_map(|i| match &g.graph[i] {
            Vertex::Identity { kind, name, .. } if kind == "Group" => Some((i, name.clone())),
            _ => None,
        })
        .collect();
    let member_of = |namespace: &str| -> Vec<NodeIndex> {
        groups
            .iter()
            .filter(|(_, name)| {
                name == "system:serviceaccounts"
                    || name == "system:authenticated"
                    || name
                        .strip_prefix("system:serviceaccounts:")
                        .is_some_and(|ns| ns == namespace)
            })
            .map(|(i, _)| *i)
            .collect()
    };

    // Every service account's token, for each cloud audience, and the
    // cloud identities it is exchanged for.
    let mut accounts: FxHashMap<(&str, &str), Account> = FxHashMap::default();
    for (object, resource) in model.iter() {
        let namespace = object.namespace.as_deref().unwrap_or("default");
        match resource {
            Resource::ServiceAccount(account) => {
                let name = object.name.as_deref().unwrap_or_default();
                let account = (account.metadata.annotations.as_ref(), Some(object));
                accounts.insert((namespace, name), account);
            }
            resource => {
                if let Some(name) = resource.service_account() {
                    accounts.entry((namespace, name)).or_default();
                }
            }
        }
    }
    // What each account's token is exchanged for, worked out on every
    // core; tokens are made in the order of the accounts that have some.
    let listed: Vec<(&(&str, &str), &Account)> = accounts.iter().collect();
    let trust: Vec<reach::TrustIndex> = cloud
        .aws
        .issuers
        .iter()
        .map(|issuer| reach::TrustIndex::new(cloud, issuer))
        .collect();
    let no_annotations = BTreeMap::new();
    let mut exchanged: Vec<_> = listed
        .par_iter()
        .filter_map(|(key, (annotations, object))| {
            let annotations = annotations.unwrap_or(&no_annotations);
            let exchanges = reach::exchanges(cloud, &trust, key.0, key.1, annotations);
            (!exchanges.is_empty()).then_some((*key, *object, exchanges))
        })
        .collect();
    exchanged.sort_unstable_by_key(|(key, _, _)| **key);
    // (namespace, account, audience) → token vertex.
    let mut tokens: BTreeMap<(String, String, String), NodeIndex> = BTreeMap::new();
    for (&(namespace, name), object, exchanges) in exchanged {
        for exchange in exchanges {
            let token = *tokens
                .entry((
                    namespace.to_string(),
                    name.to_string(),
                    exchange.audience.clone(),
                ))
                .or_insert_with(|| {
                    g.vertex(Vertex::Token {
                        namespace: namespace.into(),
                        account: name.into(),
                        audience: exchange.audience.as_str().into(),
                    })
                });
            let identity = g.vertex(identity_vertex(&exchange.identity));
            let evidence = match &exchange.file {
                Some(file) => cloud_evidence(file, exchange.line, &exchange.detail),
                None => match object {
                    Some(object) => {
                        evidence(object, "metadata.annotations", exchange.detail.clone())
                    }
                    None => cloud_evidence("", None, &exchange.detail),
                },
            };
            g.edge(token, identity, exchange.kind, evidence);
        }
    }

    // EKS Pod Identity associations, aws-auth and access entries, GKE
    // and AKS cluster admins, GCP impersonation: cloud_edges decides.
    reach::pod_identity_edges(&mut g, cloud, &mut tokens);
    reach::aws_sign_in_edges(&mut g, model, cloud);
    reach::cluster_admin_edges(&mut g, cloud);
    reach::gcp_impersonation_edges(&mut g, cloud);

    // Pods and their containers.
    let templates = model.top_lean_workloads();
    let mut pods: Vec<PodEntry> = Vec::with_capacity(templates.len());
    g.reserve(templates.len() * 4, templates.len() * 12);
    for (object, template) in &templates {
        let (object, template): (&Object, &LeanTemplate) = (object, template);
        let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
        let name = pod_name(object);
        let pod = g.vertex(Vertex::Pod {
            namespace: namespace.as_str().into(),
            name: name.as_str().into(),
        });
        let placed = template
            .spec
            .node_name
            .as_ref()
            .and_then(|n| node_index.get(n.as_str()).map(|i| vec![*i]))
            .unwrap_or_else(|| schedulable.clone());
        for node in &placed {
            g.edge(
                *node,
                pod,
                EdgeKind::PodAttach,
                evidence(object, "kind", "runs on the node"),
            );
        }
        let lists = [
            (
                "initContainers",
                template.spec.init_containers.as_deref().unwrap_or_default(),
            ),
            ("containers", template.spec.containers.as_slice()),
        ];
        // Sized exactly: a vector grown from empty holds four.
        let mut containers = Vec::with_capacity(lists.iter().map(|(_, items)| items.len()).sum());
        for (list, items) in lists {
            for (i, container) in items.iter().enumerate() {
                let path = template.spec_path(&format!("{list}[{i}]"));
                let vertex = g.vertex(Vertex::Container {
                    namespace: namespace.as_str().into(),
                    pod: name.as_str().into(),
                    name: container.name.as_str().into(),
                });
                g.edge(
                    pod,
                    vertex,
                    EdgeKind::ContainerAttach,
                    evidence(object, &path, "a container of the pod"),
                );
                containers.push((vertex, container, path));
            }
        }
        let account = template.service_account().to_string();
        pods.push(PodEntry {
            object,
            template,
            namespace,
            name,
            nodes: placed,
            pod,
            containers,
            account,
        });
    }

    // NetworkPolicies by namespace: a pod looks only at its own's.
    let mut network_policies: FxHashMap<&str, Vec<(String, &NetworkPolicy)>> = FxHashMap::default();
    for (object, resource) in model.iter() {
        if let Resource::NetworkPolicy(policy) = resource {
            network_policies
                .entry(object.namespace.as_deref().unwrap_or("default"))
                .or_default()
                .push((object.name.clone().unwrap_or_default(), policy.as_ref()));
        }
    }

    // Per pod: identities, escapes, volumes, shared process namespaces.
    let mut token_volumes: Vec<(NodeIndex, Vec<NodeIndex>)> = Vec::new(); // (volume, nodes)
    let mut traversals: Vec<(NodeIndex, Vec<NodeIndex>)> = Vec::new();
    let mut log_mounts: Vec<(usize, NodeIndex, String)> = Vec::new(); // (pod, container, path)
    for (p, entry) in pods.iter().enumerate() {
        let spec = &entry.template.spec;
        let object = entry.object;
        let account = Vertex::Identity {
            kind: "ServiceAccount".into(),
            namespace: Some(entry.namespace.as_str().into()),
            name: entry.account.as_str().into(),
        };
        // The account is a vertex when it is bound, or its groups are.
        let groups = member_of(&entry.namespace);
        let identity = g
            .find(&account)
            .or_else(|| (!groups.is_empty()).then(|| g.vertex(account.clone())));
        if let Some(identity) = identity {
            for group in &groups {
                g.edge(
                    identity,
                    *group,
                    EdgeKind::GroupMember,
                    Evidence {
                        file: None,
                        line: None,
                        field: None,
                        detail: "service accounts are in their groups".into(),
                    },
                );
            }
        }
        let automount = spec.automount_service_account_token != Some(false);
        // Cloud credentials: the node's metadata service, unless a
        // NetworkPolicy keeps the pod from it, and the tokens the pod is
        // given for its service account.
        let host_network = spec.host_network == Some(true);
        let labels = entry.labels();
        let blocked = if host_network {
            None
        } else {
            let policies = network_policies.get(entry.namespace.as_str());
            reach::metadata_blocked(policies.map_or(&[][..], Vec::as_slice), labels)
        };
        let (annotations, account_object) = accounts
            .get(&(entry.namespace.as_str(), entry.account.as_str()))
            .map_or((&no_annotations, None), |(a, o)| {
                (a.unwrap_or(&no_annotations), *o)
            });
        let mut sources =
            reach::projected_tokens(cloud, &entry.namespace, &entry.account, annotations, labels);
        if !host_network && blocked.is_none() {
            if let Some((pool, source)) = entry.nodes.iter().find_map(|n| gke_pools.get(n)) {
                sources.push((pool.clone(), source.clone()));
            }
        }
        let mut pod_tokens: Vec<(NodeIndex, Evidence)> = Vec::new();
        for (audience, source) in sources {
            let Some(token) = tokens.get(&(
                entry.namespace.clone(),
                entry.account.clone(),
                audience.clone(),
            )) else {
                continue;
            };
            let ev = match (source, account_object) {
                (TokenSource::Annotation(key), Some(account)) => evidence(
                    account,
                    "metadata.annotations",
                    format!(
                        "{key} on service account {}: the webhook projects a token for {audience}",
                        entry.account
                    ),
                ),
                (TokenSource::Annotation(key), None) => cloud_evidence(
                    "",
                    None,
                    &format!("{key} on service account {}", entry.account),
                ),
                (TokenSource::PodLabel(key), _) => evidence(
                    object,
                    &entry.template.metadata_path("labels"),
                    format!("{key}: \"true\": the webhook projects a token for {audience}"),
                ),
                (TokenSource::Cloud { file, line, detail }, _) => {
                    cloud_evidence(&file, line, &detail)
                }
            };
            pod_tokens.push((*token, ev));
        }
        for (vertex, container, path) in &entry.containers {
            let (context, user) = effective(container, spec);
            let privileged = context.and_then(|c| c.privileged) == Some(true);
            let host_pid = spec.host_pid == Some(true);
            for node in &entry.nodes {
                for (identity, credential, ev) in metadata.get(node).into_iter().flatten() {
                    let ev = if host_network {
                        cloud_evidence(
                            &credential.file,
                            credential.line,
                            &format!("on the host's network: {}", credential.detail),
                        )
                    } else if credential.pods_reach && blocked.is_none() {
                        ev.clone()
                    } else {
                        continue;
                    };
                    g.edge(*vertex, *identity, EdgeKind::ImdsCredentials, ev);
                }
            }
            for (token, evidence) in &pod_tokens {
                g.edge(*vertex, *token, EdgeKind::ProjectedToken, evidence.clone());
            }
            if let Some(identity) = identity {
                g.edge(
                    *vertex,
                    identity,
                    EdgeKind::IdentityAssume,
                    evidence(
                        object,
                        &entry.template.spec_path("serviceAccountName"),
                        "runs as its service account",
                    ),
                );
            }
            let escapes = [
                (
                    privileged || added(context, "SYS_MODULE"),
                    EdgeKind::CeModuleLoad,
                    "securityContext",
                    "privileged, or adds SYS_MODULE",
                ),
                (
                    privileged && host_pid,
                    EdgeKind::CeNsenter,
                    "securityContext.privileged",
                    "privileged with hostPID",
                ),
                (
                    privileged,
                    EdgeKind::CePrivMount,
                    "securityContext.privileged",
                    "privileged",
                ),
                (
                    host_pid
                        && added(context, "SYS_PTRACE")
                        && added(context, "SYS_ADMIN")
                        && context
                            .and_then(|c| c.app_armor_profile.as_ref())
                            .is_some_and(|a| a.type_ == "Unconfined"),
                    EdgeKind::CeSysPtrace,
                    "securityContext.capabilities.add",
                    "hostPID with SYS_PTRACE and SYS_ADMIN, AppArmor unconfined",
                ),
            ];
            for (fires, kind, field, detail) in escapes {
                if fires {
                    for node in &entry.nodes {
                        g.edge(
                            *vertex,
                            *node,
                            kind,
                            evidence(object, &format!("{path}.{field}"), detail),
                        );
                    }
                }
            }
            // Mounted volumes.
            for (m, mount) in container.volume_mounts.iter().flatten().enumerate() {
                let Some(volume) = spec.volumes.iter().flatten().find(|v| v.name == mount.name)
                else {
                    continue;
                };
                let Some(host) = &volume.host_path else {
                    continue;
                };
                let source = normalise(&host.path);
                let read_only = mount.read_only == Some(true);
                let v = g.vertex(Vertex::Volume(Box::new(Volume {
                    namespace: entry.namespace.as_str().into(),
                    pod: entry.name.as_str().into(),
                    container: container.name.as_str().into(),
                    name: mount.name.as_str().into(),
                    source: source.as_str().into(),
                    read_only,
                })));
                let mount_path = format!("{path}.volumeMounts[{m}]");
                g.edge(
                    *vertex,
                    v,
                    EdgeKind::VolumeDiscover,
                    evidence(object, &mount_path, format!("mounts host path {source}")),
                );
                for node in &entry.nodes {
                    g.edge(
                        *node,
                        v,
                        EdgeKind::VolumeAccess,
                        evidence(object, &mount_path, "on the node"),
                    );
                    if read_only
                        && (READ_PATHS.contains(&source.as_str()) || source.ends_with("/.ssh"))
                    {
                        g.edge(
                            v,
                            *node,
                            EdgeKind::ExploitHostRead,
                            evidence(object, &mount_path, format!("reads host path {source}")),
                        );
                    }
                    if !read_only && writable_dangerous(&source) {
                        g.edge(
                            v,
                            *node,
                            EdgeKind::ExploitHostWrite,
                            evidence(object, &mount_path, format!("writes host path {source}")),
                        );
                    }
                }
                if user == Some(0) && CORE_PATTERN_PATHS.contains(&source.as_str()) {
                    for node in &entry.nodes {
                        g.edge(
                            *vertex,
                            *node,
                            EdgeKind::CeUmhCorePattern,
                            evidence(object, &mount_path, format!("root with host path {source}")),
                        );
                    }
                }
                if TRAVERSE_PATHS.contains(&source.as_str()) {
                    traversals.push((v, entry.nodes.clone()));
                }
                if LOG_PATHS.contains(&source.as_str()) {
                    log_mounts.push((p, *vertex, mount_path));
                }
            }
            // The projected service account token.
            if automount && identity.is_some() {
                let v = g.vertex(Vertex::Volume(Box::new(Volume {
                    namespace: entry.namespace.as_str().into(),
                    pod: entry.name.as_str().into(),
                    container: container.name.as_str().into(),
                    name: "kube-api-access".into(),
                    source: "projected service account token".into(),
                    read_only: true,
                })));
                g.edge(
                    *vertex,
                    v,
                    EdgeKind::VolumeDiscover,
                    evidence(object, path, "mounts its service account token"),
                );
                for node in &entry.nodes {
                    g.edge(
                        *node,
                        v,
                        EdgeKind::VolumeAccess,
                        evidence(object, path, "on the node"),
                    );
                }
                if let Some(identity) = identity {
                    g.edge(
                        v,
                        identity,
                        EdgeKind::TokenSteal,
                        evidence(object, path, "its service account's token"),
                    );
                }
                token_volumes.push((v, entry.nodes.clone()));
            }
            // Exposed ports.
            for (n, port) in container.ports.iter().flatten().enumerate() {
                let exposure = if port.host_port.is_some() {
                    "NodeIP"
                } else {
                    "ClusterIP"
                };
                let e = g.vertex(Vertex::Endpoint {
                    namespace: entry.namespace.as_str().into(),
                    name: match &port.name {
                        Some(name) => name.as_str().into(),
                        None => {
                            compact_str::format_compact!("{}-{}", entry.name, port.container_port)
                        }
                    },
                    port: port.host_port.unwrap_or(port.container_port),
                    exposure: exposure.into(),
                });
                g.edge(
                    e,
                    *vertex,
                    EdgeKind::EndpointExploit,
                    evidence(object, &format!("{path}.ports[{n}]"), "an exposed port"),
                );
            }
        }
        if spec.share_process_namespace == Some(true) {
            for (a, _, _) in &entry.containers {
                for (b, _, _) in &entry.containers {
                    g.edge(
                        *a,
                        *b,
                        EdgeKind::SharePsNamespace,
                        evidence(
                            object,
                            &entry.template.spec_path("shareProcessNamespace"),
                            "shared process namespace",
                        ),
                    );
                }
            }
        }
    }
    // A host path over the kubelet's pods directory reads the tokens of
    // every pod on the same node.
    // Token volumes by node, as positions in `token_volumes`, so each
    // traversal looks only at its nodes' tokens, in the same order.
    let mut tokens_on: FxHashMap<NodeIndex, Vec<usize>> = FxHashMap::default();
    if !traversals.is_empty() {
        for (t, (_, token_nodes)) in token_volumes.iter().enumerate() {
            for node in token_nodes {
                tokens_on.entry(*node).or_default().push(t);
            }
        }
    }
    for (volume, on) in &traversals {
        let mut reached: Vec<usize> = on
            .iter()
            .flat_map(|n| tokens_on.get(n).into_iter().flatten().copied())
            .collect();
        reached.sort_unstable();
        reached.dedup();
        for t in reached {
            let ev = Evidence {
                file: None,
                line: None,
                field: None,
                detail: "token files under /var/lib/kubelet/pods".into(),
            };
            g.edge(
                *volume,
                token_volumes[t].0,
                EdgeKind::ExploitHostTraverse,
                ev,
            );
        }
    }

    // Services expose their pods' ports: each looks only at its
    // namespace's pods.
    let mut pods_in: FxHashMap<&str, Vec<&PodEntry>> = FxHashMap::default();
    for entry in &pods {
        pods_in
            .entry(entry.namespace.as_str())
            .or_default()
            .push(entry);
    }
    for (object, resource) in model.iter() {
        let Resource::Service(service) = resource else {
            continue;
        };
        let Some(spec) = &service.spec else { continue };
        let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
        for entry in pods_in.get(namespace.as_str()).into_iter().flatten() {
            let labels = entry.labels();
            if !selector
                .iter()
                .all(|(k, v)| labels.label(k) == Some(v.as_str()))
            {
                continue;
            }
            for (n, port) in spec.ports.iter().flatten().enumerate() {
                let e = g.vertex(Vertex::Endpoint {
                    namespace: namespace.as_str().into(),
                    name: object.name.as_deref().unwrap_or_default().into(),
                    port: port.port,
                    exposure: spec.type_.as_deref().unwrap_or("ClusterIP").into(),
                });
                for (vertex, _, _) in &entry.containers {
                    g.edge(
                        e,
                        *vertex,
                        EdgeKind::EndpointExploit,
                        evidence(object, &format!("spec.ports[{n}]"), "a Service port"),
                    );
                }
            }
        }
    }

    // Nodes act as their user and system:nodes.
    for (name, node) in &nodes {
        for (kind, identity) in [
            ("User", format!("system:node:{name}")),
            ("Group", "system:nodes".to_string()),
        ] {
            if let Some(i) = g.find(&Vertex::Identity {
                kind: kind.into(),
                namespace: None,
                name: identity.into(),
            }) {
                g.edge(
                    *node,
                    i,
                    EdgeKind::IdentityAssume,
                    Evidence {
                        file: None,
                        line: None,
                        field: None,
                        detail: "the kubelet's credentials".into(),
                    },
                );
            }
        }
    }

    // What each permission set allows.
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
    let masters = g.vertex(Vertex::Identity {
        kind: "Group".into(),
        namespace: None,
        name: "system:masters".into(),
    });
    let all_sets: Vec<(NodeIndex, Option<String>, bool)> = permission_sets
        .iter()
        .map(|(ps, ns, _, _)| {
            let cluster_role = match &g.graph[*ps] {
                Vertex::PermissionSet { name, .. } => {
                    let role = name.split("::").next().unwrap_or("");
                    rules.contains_key(&RoleKey {
                        namespace: None,
                        name: role.to_string(),
                    }) && ns.as_ref().is_none_or(|ns| {
                        !rules.contains_key(&RoleKey {
                            namespace: Some(ns.clone()),
                            name: role.to_string(),
                        })
                    })
                }
                _ => false,
            };
            (*ps, ns.clone(), cluster_role)
        })
        .collect();
    // The targets of grants, by (edge, resource) and namespace: hubs join
    // a grant to them.
    let mut found = FoundTargets::default();
    for (_, node) in &nodes {
        for kind in [EdgeKind::PodCreate, EdgeKind::NodesProxy] {
            found
                .entry((kind, "nodes", None))
                .or_default()
                .push((*node, CompactString::default()));
        }
    }
    for entry in &pods {
        let resource = workload_resource(&entry.object.kind).1;
        let name = CompactString::from(entry.object.name.as_deref().unwrap_or_default());
        let ns = Some(CompactString::from(entry.namespace.as_str()));
        for (kind, resource) in [
            (EdgeKind::PodExec, "pods"),
            (EdgeKind::EphemeralContainer, "pods"),
            (EdgeKind::PodPatch, resource),
        ] {
            found
                .entry((kind, resource, ns.clone()))
                .or_default()
                .push((entry.pod, name.clone()));
        }
    }
    // A service account, and each of its cloud tokens, by the grants that
    // reach them in its namespace. A pod created there may run as any of
    // its accounts: it mounts that account's API token (POD_CREATE, as
    // well as TOKEN_*). A TokenRequest mints a token for any audience, the
    // cloud's too; so does a created pod: the webhooks project the token
    // its account's annotation asks for, and the pod's own projected
    // volume may name any audience. No pod of the account need exist.
    const ACCOUNT_GRANTS: [EdgeKind; 5] = [
        EdgeKind::TokenList,
        EdgeKind::TokenBruteforce,
        EdgeKind::TokenRequest,
        EdgeKind::IdentityImpersonate,
        EdgeKind::PodCreate,
    ];
    const TOKEN_GRANTS: [EdgeKind; 2] = [EdgeKind::TokenRequest, EdgeKind::PodCreate];
    let account_targets = service_accounts
        .iter()
        .map(|(identity, namespace, name)| {
            (
                *identity,
                namespace.as_str(),
                name.as_str(),
                &ACCOUNT_GRANTS[..],
            )
        })
        .chain(tokens.iter().map(|((namespace, account, _), token)| {
            (
                *token,
                namespace.as_str(),
                account.as_str(),
                &TOKEN_GRANTS[..],
            )
        }));
    for (target, namespace, name, kinds) in account_targets {
        for kind in kinds {
            found
                .entry((*kind, "serviceaccounts", Some(namespace.into())))
                .or_default()
                .push((target, name.into()));
        }
    }
    for (ps, scope, from_cluster_role) in &all_sets {
        let role = match &g.graph[*ps] {
            Vertex::PermissionSet { name, .. } => {
                CompactString::from(name.split("::").next().unwrap_or(""))
            }
            _ => continue,
        };
        let resource = match (scope, from_cluster_role) {
            (None, _) => "clusterrolebindings",
            (Some(_), true) => "rolebindings-clusterroles",
            (Some(_), false) => "rolebindings-roles",
        };
        found
            .entry((
                EdgeKind::RoleBind,
                resource,
                scope.as_deref().map(Into::into),
            ))
            .or_default()
            .push((*ps, role));
    }
    let targets = arranged(found);
    let mut hubs: BTreeSet<(EdgeKind, &str, Option<String>)> = BTreeSet::new();
    for (ps, scope, role_rules, object) in &permission_sets {
        let ev = |detail: &str| evidence(object, "roleRef", detail.to_string());
        // A grant of `verb` on `resource`: to its hub when it names no
        // object, else to the objects it names.
        let mut grant = |g: &mut Graph,
                         kind: EdgeKind,
                         group: &str,
                         resource: &str,
                         verb: &str,
                         hub_resource: &'static str,
                         detail: &str| {
            // One pass: which rules grant it, for which names.
            let granting: Vec<(usize, Option<Vec<String>>)> = role_rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| allows_names(r, group, resource, verb).map(|n| (i, n)))
                .collect();
            let Some(rule) = granting.first().map(|(i, _)| *i) else {
                return;
            };
            let unrestricted = granting.iter().any(|(_, names)| names.is_none());
            let named: Vec<String> = granting
                .into_iter()
                .filter_map(|(_, names)| names)
                .flatten()
                .collect();
            // At the role's rule that grants it, when the role writes it.
            let ev = |detail: &str| match role_of.get(ps) {
                Some((role, written)) if rule < *written => {
                    evidence(role, &format!("rules[{rule}]"), detail.to_string())
                }
                _ => ev(detail),
            };
            let scope = if hub_resource == "nodes" {
                None
            } else {
                scope.clone()
            };
            if unrestricted {
                let hub = g.vertex(Vertex::Scope {
                    edge: kind.id().into(),
                    resource: hub_resource.into(),
                    namespace: scope.as_deref().map(Into::into),
                });
                g.edge(*ps, hub, kind, ev(detail));
                hubs.insert((kind, hub_resource, scope));
            } else if !named.is_empty() && kind != EdgeKind::PodCreate {
                // (`create` names no object: resourceNames never allow it.)
                let in_scope = targets
                    .get(&(kind, hub_resource))
                    .into_iter()
                    .flat_map(|by_ns| {
                        by_ns
                            .iter()
                            .filter(|(ns, _)| scope.is_none() || ns.as_deref() == scope.as_deref())
                            .flat_map(|(_, t)| t.iter())
                    });
                let chosen: Vec<NodeIndex> = in_scope
                    .filter(|(_, n)| named.iter().any(|m| m == n))
                    .map(|(i, _)| *i)
                    .collect();
                for target in chosen {
                    g.edge(*ps, target, kind, ev(detail));
                }
            }
        };
        // A created pod may be privileged on a node, or run as any
        // service account of its namespace.
        let created = [
            ("nodes", "may create pods or workload controllers"),
            (
                "serviceaccounts",
                "may create pods or workload controllers, which run as any service account of the namespace",
            ),
        ];
        for (group, resource) in WORKLOAD_RESOURCES {
            for (hub, detail) in created {
                grant(
                    &mut g,
                    EdgeKind::PodCreate,
                    group,
                    resource,
                    "create",
                    hub,
                    detail,
                );
            }
        }
        for verb in ["create", "get"] {
            grant(
                &mut g,
                EdgeKind::NodesProxy,
                "",
                "nodes/proxy",
                verb,
                "nodes",
                "may use nodes/proxy",
            );
        }
        grant(
            &mut g,
            EdgeKind::PodExec,
            "",
            "pods/exec",
            "create",
            "pods",
            "may create pods/exec",
        );
        for verb in ["update", "patch"] {
            grant(
                &mut g,
                EdgeKind::EphemeralContainer,
                "",
                "pods/ephemeralcontainers",
                verb,
                "pods",
                "may add ephemeral containers",
            );
            for (group, resource) in WORKLOAD_RESOURCES {
                let hub_resource: &'static str = resource;
                grant(
                    &mut g,
                    EdgeKind::PodPatch,
                    group,
                    resource,
                    verb,
                    hub_resource,
                    "may patch or update it",
                );
            }
        }
        grant(
            &mut g,
            EdgeKind::TokenList,
            "",
            "secrets",
            "list",
            "serviceaccounts",
            "may list secrets",
        );
        grant(
            &mut g,
            EdgeKind::TokenBruteforce,
            "",
            "secrets",
            "get",
            "serviceaccounts",
            "may get secrets",
        );
        grant(
            &mut g,
            EdgeKind::TokenRequest,
            "",
            "serviceaccounts/token",
            "create",
            "serviceaccounts",
            "may create serviceaccounts/token",
        );
        grant(
            &mut g,
            EdgeKind::IdentityImpersonate,
            "",
            "serviceaccounts",
            "impersonate",
            "serviceaccounts",
            "may impersonate service accounts",
        );
        let any = |group: &str, resource: &str, verb: &str, name: Option<&str>| {
            role_rules
                .iter()
                .any(|r| allows(r, group, resource, verb, name))
        };
        if scope.is_none() {
            for (identity, resource, name) in &people {
                if any("", resource, "impersonate", Some(name)) {
                    g.edge(
                        *ps,
                        *identity,
                        EdgeKind::IdentityImpersonate,
                        ev("may impersonate"),
                    );
                }
            }
            if any(
                "certificates.k8s.io",
                "certificatesigningrequests/approval",
                "update",
                None,
            ) && any(
                "certificates.k8s.io",
                "signers",
                "approve",
                Some("kubernetes.io/kube-apiserver-client"),
            ) {
                g.edge(
                    *ps,
                    masters,
                    EdgeKind::CsrApprove,
                    ev("may approve client certificates"),
                );
            }
            let webhooks = [
                "mutatingwebhookconfigurations",
                "validatingwebhookconfigurations",
            ];
            if webhooks.iter().any(|w| {
                any("admissionregistration.k8s.io", w, "create", None)
                    || any("admissionregistration.k8s.io", w, "update", None)
                    || any("admissionregistration.k8s.io", w, "patch", None)
            }) {
                g.edge(
                    *ps,
                    masters,
                    EdgeKind::WebhookControl,
                    ev("may change admission webhooks"),
                );
            }
            if any(
                "rbac.authorization.k8s.io",
                "clusterroles",
                "escalate",
                None,
            ) && (any("rbac.authorization.k8s.io", "clusterroles", "update", None)
                || any("rbac.authorization.k8s.io", "clusterroles", "patch", None))
            {
                g.edge(
                    *ps,
                    masters,
                    EdgeKind::RoleEscalate,
                    ev("may escalate cluster roles"),
                );
            }
        }
        // Binding roles: a new binding gives any permission set this one
        // could create; ClusterRoleBindings need a cluster scope. `bind`
        // limited to some roles reaches only those.
        let rbac_group = "rbac.authorization.k8s.io";
        if scope.is_none() && any(rbac_group, "clusterrolebindings", "create", None) {
            grant(
                &mut g,
                EdgeKind::RoleBind,
                rbac_group,
                "clusterroles",
                "bind",
                "clusterrolebindings",
                "may bind cluster roles cluster-wide",
            );
        }
        if any(rbac_group, "rolebindings", "create", None) {
            grant(
                &mut g,
                EdgeKind::RoleBind,
                rbac_group,
                "clusterroles",
                "bind",
                "rolebindings-clusterroles",
                "may bind cluster roles in a namespace",
            );
            grant(
                &mut g,
                EdgeKind::RoleBind,
                rbac_group,
                "roles",
                "bind",
                "rolebindings-roles",
                "may bind roles",
            );
        }
    }

    // Binding a role without `bind` on it: the API server allows it when
    // the binder already holds every permission of the role.
    let rbac_group = "rbac.authorization.k8s.io";
    let from_cluster_role: FxHashMap<NodeIndex, bool> =
        all_sets.iter().map(|(ps, _, cr)| (*ps, *cr)).collect();
    for (binder, scope, binder_rules, object) in &permission_sets {
        let creates = |resource: &str| {
            binder_rules
                .iter()
                .any(|r| allows(r, rbac_group, resource, "create", None))
        };
        let binds_all = |resource: &str| {
            binder_rules
                .iter()
                .any(|r| allows_names(r, rbac_group, resource, "bind") == Some(None))
        };
        let rolebindings = creates("rolebindings");
        let clusterrolebindings = scope.is_none() && creates("clusterrolebindings");
        let (roles, clusterroles) = (binds_all("roles"), binds_all("clusterroles"));
        if !(rolebindings || clusterrolebindings) || (roles && clusterroles) {
            continue;
        }
        for (target, target_scope, target_rules, _) in &permission_sets {
            let cluster_role = from_cluster_role.get(target).copied().unwrap_or(false);
            let bindable = match target_scope {
                None => clusterrolebindings && cluster_role && !clusterroles,
                Some(ns) => {
                    rolebindings
                        && scope.as_ref().is_none_or(|s| s == ns)
                        && !(if cluster_role { clusterroles } else { roles })
                }
            };
            if target != binder && bindable && covers(binder_rules, target_rules) {
                g.edge(
                    *binder,
                    *target,
                    EdgeKind::RoleBind,
                    evidence(
                        object,
                        "roleRef",
                        "holds every permission of the role, so it may bind it",
                    ),
                );
            }
        }
    }

    // Hubs to their targets; a cluster-wide hub through each namespace's.
    for (kind, resource, scope) in hubs {
        let Some(by_ns) = targets.get(&(kind, resource)) else {
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

    // Graph-dependent: /var/log with a service account that reads pod logs.
    for (p, container, path) in log_mounts {
        let entry = &pods[p];
        let Some(identity) = g.find(&Vertex::Identity {
            kind: "ServiceAccount".into(),
            namespace: Some(entry.namespace.as_str().into()),
            name: entry.account.as_str().into(),
        }) else {
            continue;
        };
        let reads_logs = permission_sets.iter().any(|(ps, _, role_rules, _)| {
            g.graph.contains_edge(identity, *ps)
                && role_rules
                    .iter()
                    .any(|r| allows(r, "", "pods/log", "get", None))
        });
        if reads_logs {
            for node in entry.nodes.clone() {
                g.edge(
                    container,
                    node,
                    EdgeKind::CeVarLogSymlink,
                    evidence(entry.object, &path, "mounts /var/log and may get pods/log"),
                );
            }
        }
    }
    g
}
