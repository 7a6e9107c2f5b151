//! How a cluster reaches its clouds, decided from the cloud files: what a
//! node's metadata service hands out and to which pods, which cloud tokens
//! a pod is given, and which cloud identities a service account's token is
//! exchanged for (the annotation selects; the trust policy, IAM binding or
//! federated credential decides).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use corral_core::model::selector::{allows_port, cidr_contains, policy_types, selects, Labels};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::networking::v1::NetworkPolicy;

use crate::edge::EdgeKind;
use crate::graph::Vertex;
use corral_cloud::aws::web_identity_trusts;
use corral_cloud::{azure, Cloud, CloudIdentity};

pub const AWS_AUDIENCE: &str = "sts.amazonaws.com";
/// The audience of the token the EKS Pod Identity agent takes.
pub const POD_IDENTITY_AUDIENCE: &str = "pods.eks.amazonaws.com";
const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
const GKE_ANNOTATION: &str = "iam.gke.io/gcp-service-account";
const AKS_ANNOTATION: &str = "azure.workload.identity/client-id";
pub const AKS_POD_LABEL: &str = "azure.workload.identity/use";
const METADATA_ADDRESS: [u8; 4] = [169, 254, 169, 254];

/// The graph's vertex for a cloud identity.
pub fn identity_vertex(identity: &CloudIdentity) -> Vertex {
    Vertex::CloudIdentity {
        provider: identity.provider.into(),
        name: identity.name.as_str().into(),
        admin: identity.admin,
    }
}

/// A cloud identity a node's metadata service hands out.
#[derive(Clone, Debug)]
pub struct NodeCredential {
    pub identity: CloudIdentity,
    /// Pods off the host's network reach it too.
    pub pods_reach: bool,
    pub file: String,
    pub detail: String,
}

/// A cloud identity a service account's token with `audience` is
/// exchanged for; `file` is `None` when only an annotation says so.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub audience: String,
    pub identity: CloudIdentity,
    pub kind: EdgeKind,
    pub file: Option<String>,
    pub detail: String,
}

/// Where a pod's cloud token comes from.
#[derive(Clone, Debug)]
pub enum TokenSource {
    /// The service account's annotation (`eks.amazonaws.com/role-arn`):
    /// the EKS webhook projects the token.
    Annotation(&'static str),
    /// The pod's label (`azure.workload.identity/use`): the AKS webhook
    /// projects the token.
    PodLabel(&'static str),
    /// Given by the cloud's side (the GKE metadata server, the EKS Pod
    /// Identity webhook), as a cloud file says.
    Cloud { file: String, detail: String },
}

/// The credentials a node's metadata service hands out; `None` stands for
/// every node (manifests without Node objects).
pub fn node_credentials(cloud: &Cloud, node: Option<&Node>) -> Vec<NodeCredential> {
    let mut found = Vec::new();
    let provider_id = node
        .and_then(|n| n.spec.as_ref())
        .and_then(|s| s.provider_id.as_deref())
        .unwrap_or("");
    let label = |key: &str| {
        node.and_then(|n| n.metadata.labels.as_ref())
            .and_then(|l| l.get(key))
            .map(String::as_str)
    };
    // EKS: the instance's profile role, as its metadata options allow.
    if let Some(id) = provider_id
        .strip_prefix("aws://")
        .and_then(|p| p.rsplit('/').next())
    {
        if let Some((instance, role)) = cloud
            .aws
            .instance(id)
            .and_then(|i| cloud.aws.instance_role(i).map(|r| (i, r)))
        {
            if instance.endpoint_enabled {
                found.push(NodeCredential {
                    identity: CloudIdentity::new("aws", &role.arn, role.admin),
                    pods_reach: !instance.tokens_required || instance.hop_limit >= 2,
                    file: instance.file.clone(),
                    detail: format!(
                        "{} serves {} (HttpTokens {}, hop limit {})",
                        instance.id,
                        role.arn,
                        if instance.tokens_required {
                            "required"
                        } else {
                            "optional"
                        },
                        instance.hop_limit
                    ),
                });
            }
        }
    }
    // GKE: the node pool's service account, unless the GKE metadata
    // server stands in front of it.
    for cluster in &cloud.gcp.clusters {
        let pools = match label("cloud.google.com/gke-nodepool") {
            Some(pool) => cluster
                .node_pools
                .iter()
                .filter(|p| p.name == pool)
                .collect(),
            None if node.is_none() => cluster.node_pools.iter().collect(),
            None => Vec::new(),
        };
        for pool in pools {
            let identity = cloud.gcp.node_identity(cluster, pool);
            found.push(NodeCredential {
                detail: format!(
                    "node pool {} serves {} (metadata mode {})",
                    pool.name,
                    identity.name,
                    if pool.gke_metadata {
                        "GKE_METADATA"
                    } else {
                        "GCE_METADATA"
                    }
                ),
                identity,
                pods_reach: !pool.gke_metadata,
                file: cluster.file.clone(),
            });
        }
    }
    // AKS: the kubelet identity, unless pods' link-local access is off.
    let aks_node = node.is_none()
        || provider_id.starts_with("azure://")
        || label("kubernetes.azure.com/agentpool").is_some();
    if aks_node {
        for cluster in &cloud.azure.clusters {
            if let Some(identity) = cloud.azure.kubelet_identity(cluster) {
                found.push(NodeCredential {
                    detail: format!(
                        "the node's IMDS serves the kubelet identity {} (podLinkLocalAccess {})",
                        identity.name,
                        if cluster.imds_restricted {
                            "None"
                        } else {
                            "IMDS"
                        }
                    ),
                    identity,
                    pods_reach: !cluster.imds_restricted,
                    file: cluster.file.clone(),
                });
            }
        }
    }
    found
}

/// The GKE workload pool whose metadata server answers pods (off the
/// host's network) on this node, with the file and why.
pub fn gke_metadata_pool(cloud: &Cloud, node: Option<&Node>) -> Option<(String, String, String)> {
    let pool_label = node
        .and_then(|n| n.metadata.labels.as_ref())
        .and_then(|l| l.get("cloud.google.com/gke-nodepool"));
    cloud.gcp.clusters.iter().find_map(|cluster| {
        let workload_pool = cluster.workload_pool.clone()?;
        let pool = cluster.node_pools.iter().find(|p| {
            p.gke_metadata
                && match (node, pool_label) {
                    (None, _) => true,
                    (Some(_), Some(label)) => *label == p.name,
                    (Some(_), None) => false,
                }
        })?;
        Some((
            workload_pool,
            cluster.file.clone(),
            format!(
                "node pool {} runs the GKE metadata server, which gives pods their service account's identity",
                pool.name
            ),
        ))
    })
}

/// Cloud tokens the webhooks give a pod of `namespace/account` without
/// asking: `(audience, source)`. (The GKE metadata server's depends on the
/// node and the pod's network; the graph decides that one.)
pub fn projected_tokens(
    cloud: &Cloud,
    namespace: &str,
    account: &str,
    account_annotations: &BTreeMap<String, String>,
    pod_labels: &impl Labels,
) -> Vec<(String, TokenSource)> {
    let mut tokens = Vec::new();
    if let Some(association) = cloud
        .aws
        .pod_identities
        .iter()
        .find(|a| a.namespace == namespace && a.service_account == account)
    {
        tokens.push((
            POD_IDENTITY_AUDIENCE.to_string(),
            TokenSource::Cloud {
                file: association.file.clone(),
                detail: "the EKS Pod Identity webhook projects a token for pods.eks.amazonaws.com into the account's pods".into(),
            },
        ));
    }
    if account_annotations.contains_key(IRSA_ANNOTATION) {
        tokens.push((
            AWS_AUDIENCE.to_string(),
            TokenSource::Annotation(IRSA_ANNOTATION),
        ));
    }
    if pod_labels.label(AKS_POD_LABEL) == Some("true") {
        tokens.push((
            azure::AUDIENCE.to_string(),
            TokenSource::PodLabel(AKS_POD_LABEL),
        ));
    }
    tokens
}

/// Roles that may trust an issuer's tokens, indexed by the `sub` their
/// conditions name: exactly (`StringEquals`), or by the literal prefix of a
/// pattern (`StringLike`: `system:serviceaccount:shop:*`); a statement
/// with any other shape of condition on `sub` ([`aws::subjects`]) has the
/// empty prefix. Only candidates are then evaluated in full, so the index
/// must never leave out a role whose trust may hold: it narrows by one
/// condition that decides alone, and all conditions must hold.
///
/// [`aws::subjects`]: corral_cloud::aws::subjects
pub struct TrustIndex<'a> {
    issuer: &'a str,
    exact: HashMap<String, Vec<usize>>,
    prefixed: Vec<(usize, Vec<String>)>,
}

impl<'a> TrustIndex<'a> {
    pub fn new(cloud: &'a Cloud, issuer: &'a str) -> TrustIndex<'a> {
        use corral_cloud::aws::{federating, subjects, Subjects};
        let mut index = TrustIndex {
            issuer,
            exact: HashMap::new(),
            prefixed: Vec::new(),
        };
        for (i, role) in cloud.aws.roles.iter().enumerate() {
            let Some(statements) = federating(&role.trust, issuer) else {
                continue;
            };
            let mut exact = Vec::new();
            let mut prefixes = Vec::new();
            for statement in statements {
                match subjects(statement, issuer) {
                    Subjects::Exact(values) => exact.extend(values),
                    Subjects::Prefixes(values) => prefixes.extend(values),
                    Subjects::Any => prefixes.push(String::new()),
                }
            }
            exact.sort_unstable();
            exact.dedup();
            for subject in exact {
                index.exact.entry(subject).or_default().push(i);
            }
            if !prefixes.is_empty() {
                index.prefixed.push((i, prefixes));
            }
        }
        index
    }

    fn candidates(&self, sub: &str) -> Vec<usize> {
        let mut all: Vec<usize> = self.exact.get(sub).cloned().unwrap_or_default();
        all.extend(
            self.prefixed
                .iter()
                .filter(|(_, prefixes)| prefixes.iter().any(|p| sub.starts_with(p.as_str())))
                .map(|(i, _)| *i),
        );
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// The cloud identities a token of `namespace/account` is exchanged for.
pub fn exchanges(
    cloud: &Cloud,
    trust: &[TrustIndex],
    namespace: &str,
    account: &str,
    annotations: &BTreeMap<String, String>,
) -> Vec<Exchange> {
    let mut found = Vec::new();
    // AWS IRSA: the roles' trust policies decide.
    let sub = format!("system:serviceaccount:{namespace}:{account}");
    for index in trust {
        for i in index.candidates(&sub) {
            let role = &cloud.aws.roles[i];
            if let Some(trust) = web_identity_trusts(&role.trust, index.issuer, namespace, account)
            {
                found.push(Exchange {
                    audience: AWS_AUDIENCE.into(),
                    identity: CloudIdentity::new("aws", &role.arn, role.admin),
                    kind: EdgeKind::IrsaAssume,
                    file: Some(role.file.clone()),
                    detail: format!("the trust policy of {} {}", role.arn, trust.describe()),
                });
            }
        }
    }
    if let Some(arn) = annotations.get(IRSA_ANNOTATION) {
        let judged = !cloud.aws.issuers.is_empty() && cloud.aws.role_admin(arn).is_some();
        if !judged {
            found.push(Exchange {
                audience: AWS_AUDIENCE.into(),
                identity: CloudIdentity::new("aws", arn, false),
                kind: EdgeKind::IrsaAssume,
                file: None,
                detail: format!(
                    "annotated with {arn}; its trust policy is not in the input, so it is assumed to allow it"
                ),
            });
        }
    }
    // GKE Workload Identity: IAM bindings on the GSA or the project, and
    // direct grants to the principal.
    for cluster in &cloud.gcp.clusters {
        let Some(pool) = &cluster.workload_pool else {
            continue;
        };
        for (identity, file, detail) in cloud.gcp.exchanges(cluster, namespace, account) {
            found.push(Exchange {
                audience: pool.clone(),
                identity,
                kind: EdgeKind::GkeWorkloadIdentity,
                file: Some(file),
                detail,
            });
        }
    }
    if let Some(email) = annotations.get(GKE_ANNOTATION) {
        let judged = cloud.gcp.policies.iter().any(
            |p| matches!(&p.resource, corral_cloud::gcp::Resource::ServiceAccount(e) if e == email),
        );
        let pool = cloud
            .gcp
            .clusters
            .iter()
            .find_map(|c| c.workload_pool.clone())
            .or_else(|| {
                corral_cloud::gcp::email_project(email).map(|p| format!("{p}.svc.id.goog"))
            });
        if let (false, Some(pool)) = (judged, pool) {
            found.push(Exchange {
                audience: pool,
                identity: cloud.gcp.service_account(email),
                kind: EdgeKind::GkeWorkloadIdentity,
                file: None,
                detail: format!(
                    "annotated with {email}; its IAM policy is not in the input, so it is assumed to grant roles/iam.workloadIdentityUser"
                ),
            });
        }
    }
    // AKS Workload Identity: the federated credentials decide.
    for cluster in &cloud.azure.clusters {
        for (identity, credential, unsure) in
            cloud
                .azure
                .exchanges(cluster, namespace, account, azure::AUDIENCE)
        {
            let verb = if unsure.is_some() {
                "may trust"
            } else {
                "trusts"
            };
            found.push(Exchange {
                audience: azure::AUDIENCE.into(),
                identity,
                kind: EdgeKind::AksWorkloadIdentity,
                file: Some(credential.file.clone()),
                detail: format!(
                    "federated credential {} {verb} {} from {}{}",
                    credential.name,
                    credential.trusts(),
                    credential.issuer,
                    unsure.map(|why| format!(": {why}")).unwrap_or_default()
                ),
            });
        }
    }
    if let Some(client) = annotations.get(AKS_ANNOTATION) {
        if !cloud.azure.knows_credentials_of(client) {
            found.push(Exchange {
                audience: azure::AUDIENCE.into(),
                identity: cloud.azure.identity(None, Some(client)),
                kind: EdgeKind::AksWorkloadIdentity,
                file: None,
                detail: format!(
                    "annotated with client id {client}; its federated credentials are not in the input, so they are assumed to trust it"
                ),
            });
        }
    }
    found
}

/// Does a NetworkPolicy keep a pod (off the host's network) from the
/// metadata address? Its namespace's policies (`policies`, by name) that
/// select it for Egress must all leave 169.254.169.254 port 80 out. The
/// policy that isolates it, when so.
pub fn metadata_blocked(
    policies: &[(String, &NetworkPolicy)],
    labels: &impl Labels,
) -> Option<String> {
    let address = IpAddr::from(METADATA_ADDRESS);
    let mut isolating = None;
    for (name, policy) in policies {
        let Some(spec) = &policy.spec else { continue };
        if !policy_types(Some(spec)).1
            || !spec
                .pod_selector
                .as_ref()
                .is_none_or(|s| selects(s, labels))
        {
            continue;
        }
        isolating.get_or_insert_with(|| name.clone());
        let allows = spec.egress.iter().flatten().any(|rule| {
            let to_ok = rule.to.as_ref().is_none_or(|peers| {
                peers.is_empty()
                    || peers.iter().any(|peer| {
                        peer.ip_block.as_ref().is_some_and(|block| {
                            cidr_contains(&block.cidr, address)
                                && !block
                                    .except
                                    .iter()
                                    .flatten()
                                    .any(|e| cidr_contains(e, address))
                        })
                    })
            });
            let port_ok = allows_port(rule.ports.as_deref(), "TCP", 80);
            to_ok && port_ok
        });
        if allows {
            return None;
        }
    }
    isolating
}
