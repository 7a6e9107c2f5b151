//! Building the graph from the model: nodes, RBAC (permission sets joined
//! per binding, identities from their subjects), pods and their containers,
//! volumes and endpoints, then every edge whose preconditions hold.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use compact_str::CompactString;
use corral_cloud::Cloud;
use corral_core::authz::{Authz, Subject};
use corral_core::model::lean::{LeanContainer, LeanLabels, LeanPodSpec, LeanTemplate};
use corral_core::model::{service_account_field, Model, Resource, TokenMounts};
use corral_core::Object;
use k8s_openapi::api::core::v1::{Node, SecurityContext};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use petgraph::graph::NodeIndex;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::cloud_edges::{
    self as reach, cloud_evidence, identity_vertex, NodeCredential, TokenSource,
};
use crate::edge::EdgeKind;
use crate::graph::{Evidence, Graph, Vertex};

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

/// A service account's annotations, and its manifest when the input has
/// it.
type Account<'a> = (Option<&'a BTreeMap<String, String>>, Option<&'a Object>);

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
mod admission;
mod endpoints;
mod escapes;
mod holders;
mod rbac;
#[cfg(test)]
mod small;
mod volumes;

use admission::Admission;

/// What the graph depends on besides the input.
#[derive(Clone, Debug)]
pub struct Options {
    /// The Kubernetes minor version whose API server decides (`1.NN`).
    pub kubernetes_minor: u32,
}

/// The newest Kubernetes minor version whose behaviour Corral knows.
pub const LATEST_KUBERNETES_MINOR: u32 = 35;

impl Default for Options {
    fn default() -> Self {
        Options {
            kubernetes_minor: LATEST_KUBERNETES_MINOR,
        }
    }
}

impl Options {
    /// The verbs on `pods/exec` that run a command. Before 1.35 the API
    /// server authorized a websocket upgrade (what kubectl uses) as `get`.
    fn exec_verbs(&self) -> &'static [&'static str] {
        if self.kubernetes_minor < 35 {
            &["create", "get"]
        } else {
            &["create"]
        }
    }
}

pub fn build(model: &Model) -> Graph {
    build_with(model, &Cloud::default())
}

/// The graph of the cluster and what the cloud files say.
pub fn build_with(model: &Model, cloud: &Cloud) -> Graph {
    build_with_options(model, cloud, &Options::default())
}

/// The graph, for the Kubernetes version `options` name.
pub fn build_with_options(model: &Model, cloud: &Cloud, options: &Options) -> Graph {
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
    let authz = Authz::new(model);
    let mut sets = rbac::permission_sets(&mut g, &authz);
    // Every namespace the cluster has: the API server's own, those of the
    // input's objects, and those a group of their accounts is bound in.
    let mut namespaces: BTreeSet<&str> =
        ["default", "kube-system", "kube-public", "kube-node-lease"]
            .into_iter()
            .collect();
    for (object, resource) in model.iter() {
        if let Resource::Namespace(_) = resource {
            namespaces.extend(object.name.as_deref());
        }
        namespaces.extend(object.namespace.as_deref());
    }
    namespaces.extend(authz.bindings().iter().flat_map(|b| {
        b.subjects.iter().filter_map(|(_, subject)| match subject {
            Subject::Group(group) => group.strip_prefix("system:serviceaccounts:"),
            _ => None,
        })
    }));
    // Subjects whose bindings may give together what no one of them does:
    // found once, for the bindings they could make and their other grants.
    let combined = rbac::subjects_with_several_bindings(&authz);
    let new_bindings = rbac::new_bindings(&mut g, &authz, &sets, &namespaces, &combined);
    let new_sets = rbac::new_permission_sets(&mut g, &authz, &new_bindings);
    sets.extend(new_sets);

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
    let groups = rbac::groups(&g);
    let token_mounts = TokenMounts::of(model);
    // A Secret of type service-account-token holds its account's token:
    // a container that mounts it or reads it into its environment has it.
    let token_secret_accounts: FxHashMap<(&str, &str), &str> = token_secrets(model)
        .into_iter()
        .map(|(namespace, secret, account)| ((namespace, secret), account))
        .collect();
    for (p, entry) in pods.iter().enumerate() {
        let spec = &entry.template.spec;
        let object = entry.object;
        let identity = account_vertex(&mut g, &groups, &entry.namespace, &entry.account);
        let automount = token_mounts.mounted(
            &entry.namespace,
            &entry.account,
            spec.automount_service_account_token,
        );
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
            // The container acts as its account only with a token: the
            // one automounted, or one a volume it mounts projects.
            let projected = container
                .volume_mounts
                .iter()
                .flatten()
                .enumerate()
                .find(|(_, m)| {
                    spec.volumes
                        .iter()
                        .flatten()
                        .any(|v| v.name == m.name && v.api_token)
                });
            let token_field = || match projected {
                _ if automount => Some(service_account_field(object, &entry.template.path)),
                Some((m, _)) => Some(format!("{path}.volumeMounts[{m}]")),
                None => None,
            };
            if let Some((identity, field)) = identity.and_then(|i| Some((i, token_field()?))) {
                g.edge(
                    *vertex,
                    identity,
                    EdgeKind::IdentityAssume,
                    evidence(
                        object,
                        &field,
                        "runs as its service account, with its token",
                    ),
                );
            }
            // Secrets it mounts (`None`: read into its environment).
            let read_secrets = container
                .volume_mounts
                .iter()
                .flatten()
                .enumerate()
                .flat_map(|(m, mount)| {
                    spec.volumes
                        .iter()
                        .flatten()
                        .filter(move |v| v.name == mount.name)
                        .flat_map(move |v| v.secrets.iter().map(move |s| (s, Some(m))))
                })
                .chain(container.env_secrets().iter().map(|s| (s, None)));
            for (secret, mount) in read_secrets {
                let Some(account) =
                    token_secret_accounts.get(&(entry.namespace.as_str(), secret.as_str()))
                else {
                    continue;
                };
                let Some(holder) = account_vertex(&mut g, &groups, &entry.namespace, account)
                else {
                    continue;
                };
                let field = match mount {
                    Some(m) => format!("{path}.volumeMounts[{m}]"),
                    None => format!("{path}.env"),
                };
                g.edge(
                    *vertex,
                    holder,
                    EdgeKind::IdentityAssume,
                    evidence(
                        object,
                        &field,
                        format!("holds Secret {secret}, the token of service account {account}"),
                    ),
                );
            }
            escapes::container(
                &mut g,
                entry,
                *vertex,
                path,
                (
                    context,
                    container.app_armor_unconfined(),
                    container.host_process(),
                ),
            );
            volumes::host_paths(
                &mut g,
                (p, entry),
                (*vertex, container, path),
                user,
                &mut traversals,
                &mut log_mounts,
            );
            if automount {
                if let Some(identity) = identity {
                    let volume = volumes::service_account_token(
                        &mut g,
                        entry,
                        (*vertex, container, path),
                        identity,
                    );
                    token_volumes.push((volume, entry.nodes.clone()));
                }
            }
            endpoints::container_ports(&mut g, entry, (*vertex, container, path));
        }
        escapes::shared_process_namespace(&mut g, entry);
    }
    volumes::traverse_to_tokens(&mut g, &traversals, &token_volumes);

    endpoints::services(&mut g, model, &pods);

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

    // Service accounts no pod runs as, when a group they are in is bound:
    // each namespace's `default` and every ServiceAccount object. A token
    // minted or a pod created for them holds what their groups hold.
    let mut idle_accounts: Vec<(&str, &str)> = namespaces
        .iter()
        .map(|ns| (*ns, "default"))
        .chain(accounts.keys().copied())
        .collect();
    idle_accounts.sort_unstable();
    idle_accounts.dedup();
    for (namespace, name) in idle_accounts {
        let subject = Subject::ServiceAccount {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        if rbac::in_known_group(&groups, &subject) {
            g.vertex(rbac::identity(&subject));
        }
    }
    rbac::join_groups(&mut g);

    // What each permission set grants.
    let admission = Admission::of(model, &namespaces);
    let admits_escape = |namespace: Option<&str>| admission.admits_escape(namespace);
    let targets = rbac::Targets {
        nodes: &nodes,
        pods: pods
            .iter()
            .map(|entry| {
                (
                    entry.pod,
                    entry.namespace.as_str(),
                    entry.object.name.as_deref().unwrap_or_default(),
                    workload_resource(&entry.object.kind).1,
                )
            })
            .collect(),
        tokens: &tokens,
        token_secrets: token_secrets(model),
        legacy_token_secrets: options.kubernetes_minor < 24,
        admits_escape: &admits_escape,
        exec_verbs: options.exec_verbs(),
    };
    rbac::grants(&mut g, &authz, &sets, &targets, &combined);

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
        let reads_logs = rbac::holds(&g, &authz, &sets, identity, "pods/log", "get");
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

/// The Secrets of type `kubernetes.io/service-account-token`: (namespace,
/// name, the account whose token the token controller puts in it).
fn token_secrets(model: &Model) -> Vec<(&str, &str, &str)> {
    model
        .iter()
        .filter_map(|(object, resource)| match resource {
            Resource::Secret(secret)
                if secret.type_.as_deref() == Some("kubernetes.io/service-account-token") =>
            {
                let account = secret
                    .metadata
                    .annotations
                    .as_ref()?
                    .get("kubernetes.io/service-account.name")?;
                Some((
                    object.namespace.as_deref().unwrap_or("default"),
                    object.name.as_deref()?,
                    account.as_str(),
                ))
            }
            _ => None,
        })
        .collect()
}

/// The vertex of service account `namespace/name`: there when it is
/// bound, made when one of its groups is; `None` when nothing grants it
/// anything.
fn account_vertex(
    g: &mut Graph,
    groups: &FxHashMap<CompactString, NodeIndex>,
    namespace: &str,
    name: &str,
) -> Option<NodeIndex> {
    let account = Vertex::Identity {
        kind: "ServiceAccount".into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    };
    g.find(&account).or_else(|| {
        let subject = Subject::ServiceAccount {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        rbac::in_known_group(groups, &subject).then(|| g.vertex(account))
    })
}
