//! The graph's cloud edges, decided by corral-cloud's model: what a
//! node's metadata service hands out and to which pods, which cloud tokens
//! a pod is given, which cloud identities a service account's token is
//! exchanged for (the annotation selects; the trust policy, IAM binding or
//! federated credential decides), EKS Pod Identity, GCP impersonation, and
//! the ways back into the cluster. Each edge cites the line of what
//! decides it.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use corral_cloud::aws::{
    admits_tagged_session, web_identity_trusts, Principal, POD_IDENTITY_SERVICE,
};
use corral_cloud::{azure, Cloud, CloudIdentity};
use corral_core::model::selector::{allows_port, cidr_contains, policy_types, selects, Labels};
use corral_core::model::Model;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use petgraph::graph::NodeIndex;

use crate::build::aws_auth;
use crate::edge::EdgeKind;
use crate::graph::{Evidence, Graph, Vertex};

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
    /// The line of the setting in `file` that decides it.
    pub line: Option<u32>,
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
    /// The line in `file` of the statement, binding or credential that
    /// lets it in.
    pub line: Option<u32>,
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
    Cloud {
        file: String,
        line: Option<u32>,
        detail: String,
    },
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
                    line: Some(
                        cloud
                            .pos(
                                &instance.file,
                                &format!("{}.MetadataOptions", instance.path),
                            )
                            .line,
                    ),
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
                line: Some(cloud.pos(&cluster.file, &pool.path).line),
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
                    line: Some(cloud.pos(&cluster.file, &cluster.path).line),
                    file: cluster.file.clone(),
                });
            }
        }
    }
    found
}

/// The GKE workload pool whose metadata server answers pods (off the
/// host's network) on this node, with the node pool's place and why.
pub fn gke_metadata_pool(cloud: &Cloud, node: Option<&Node>) -> Option<(String, TokenSource)> {
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
            TokenSource::Cloud {
                file: cluster.file.clone(),
                line: Some(cloud.pos(&cluster.file, &pool.path).line),
                detail: format!(
                    "node pool {} runs the GKE metadata server, which gives pods their service account's identity",
                    pool.name
                ),
            },
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
                line: Some(cloud.pos(&association.file, &association.path).line),
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
            for (_, statement) in statements {
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
                    line: Some(
                        cloud
                            .pos(&role.file, &role.statement_path(trust.statement))
                            .line,
                    ),
                    detail: format!(
                        "the trust policy of {} {} (statement {})",
                        role.arn,
                        trust.describe(),
                        trust.statement + 1
                    ),
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
                line: None,
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
        for grant in cloud.gcp.exchanges(cluster, namespace, account) {
            found.push(Exchange {
                audience: pool.clone(),
                identity: grant.identity,
                kind: EdgeKind::GkeWorkloadIdentity,
                line: Some(cloud.pos(&grant.file, &grant.path).line),
                file: Some(grant.file),
                detail: grant.detail,
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
                line: None,
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
                line: Some(cloud.pos(&credential.file, &credential.path).line),
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
                line: None,
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

/// Evidence from a cloud file, at the line of what decides it (no file:
/// the input does not say).
pub fn cloud_evidence(file: &str, line: Option<u32>, detail: &str) -> Evidence {
    Evidence {
        file: (!file.is_empty()).then(|| Arc::from(file)),
        line: line.filter(|_| !file.is_empty()),
        field: None,
        detail: detail.to_string().into(),
    }
}

/// The vertex of the AWS role `arn`, admin as its policies say.
fn aws_role(g: &mut Graph, cloud: &Cloud, arn: &str) -> NodeIndex {
    g.vertex(Vertex::CloudIdentity {
        provider: "aws".into(),
        name: arn.into(),
        admin: cloud.aws.role_admin(arn).unwrap_or(false),
    })
}

/// Does the trust policy of role `arn` let `principal` in as EKS Pod
/// Identity asks (`sts:AssumeRole` and `sts:TagSession`)? The line of
/// the statement that does and what it says; `None` when it does not, or
/// when the account's IAM details were read and have no such role.
fn pod_identity_trust(
    cloud: &Cloud,
    arn: &str,
    principal: &Principal,
) -> Option<(String, Option<u32>, String)> {
    let Some(role) = cloud.aws.roles.iter().find(|r| r.arn == arn) else {
        return cloud.aws.iam_files.is_empty().then(|| {
            (
                String::new(),
                None,
                format!(
                    "the trust policy of {arn} is not in the input, so it is assumed to allow it"
                ),
            )
        });
    };
    let trust = admits_tagged_session(&role.trust, principal)?;
    let line = cloud
        .pos(&role.file, &role.statement_path(trust.statement))
        .line;
    Some((
        role.file.clone(),
        Some(line),
        format!(
            "the trust policy of {arn} {} to sts:AssumeRole and sts:TagSession (statement {}, line {line})",
            trust.describe(),
            trust.statement + 1
        ),
    ))
}

/// EKS Pod Identity: an association's service account's token (the
/// agent's audience) gets the association's role when the role's trust
/// policy admits `pods.eks.amazonaws.com` to `sts:AssumeRole` and
/// `sts:TagSession`; with `targetRoleArn`, it gets the target role
/// instead, when the target's trust admits the first role the same way.
/// Each association's target is its own: the edge leaves the
/// association's token, never the shared role vertex, so another
/// association of the same role does not lend its target.
pub fn pod_identity_edges(
    g: &mut Graph,
    cloud: &Cloud,
    tokens: &mut BTreeMap<(String, String, String), NodeIndex>,
) {
    for association in &cloud.aws.pod_identities {
        let agent = Principal::Service(POD_IDENTITY_SERVICE);
        let Some((file, line, first)) = pod_identity_trust(cloud, &association.role, &agent) else {
            continue;
        };
        let (kind, arn, file, line, detail) = match &association.target_role {
            None => (
                EdgeKind::PodIdentity,
                &association.role,
                file,
                line,
                format!(
                    "pod identity association of {}/{}: {first}",
                    association.namespace, association.service_account
                ),
            ),
            Some(target) => {
                let source = Principal::Aws(&association.role);
                let Some((target_file, target_line, second)) =
                    pod_identity_trust(cloud, target, &source)
                else {
                    continue;
                };
                (
                    EdgeKind::RoleChain,
                    target,
                    target_file,
                    target_line,
                    format!(
                        "pod identity association of {}/{} with targetRoleArn {target}: {first}; {second}",
                        association.namespace, association.service_account
                    ),
                )
            }
        };
        let key = (
            association.namespace.clone(),
            association.service_account.clone(),
            POD_IDENTITY_AUDIENCE.to_string(),
        );
        let token = *tokens.entry(key).or_insert_with(|| {
            g.vertex(Vertex::Token {
                namespace: association.namespace.as_str().into(),
                account: association.service_account.as_str().into(),
                audience: POD_IDENTITY_AUDIENCE.into(),
            })
        });
        let role = aws_role(g, cloud, arn);
        // An association assumed at its word cites the association.
        let evidence = if file.is_empty() {
            let at = cloud.pos(&association.file, &association.path).line;
            cloud_evidence(&association.file, Some(at), &detail)
        } else {
            cloud_evidence(&file, line, &detail)
        };
        g.edge(token, role, kind, evidence);
    }
}

/// An IAM principal that signs in to the cluster: its ARN, user name,
/// groups (each with the evidence that puts it there), and the evidence
/// of the mapping.
type SignIn = (String, Option<String>, Vec<(String, Evidence)>, Evidence);

/// Back into the cluster from AWS: aws-auth mappings and access entries,
/// as the cluster's authentication mode lets them count (`CONFIG_MAP`:
/// aws-auth alone; `API`: access entries alone; `API_AND_CONFIG_MAP`:
/// both, an access entry winning over an aws-auth mapping of the same
/// principal; not known: both). An access entry's cluster admin cites
/// the access policy that makes it so.
pub fn aws_sign_in_edges(g: &mut Graph, model: &Model, cloud: &Cloud) {
    let mut sign_ins: Vec<SignIn> = Vec::new();
    for entry in aws_auth(model) {
        if !cloud.aws.aws_auth_counts_for(&entry.arn) {
            continue;
        }
        let field = format!("data.{}", entry.key);
        let pos = entry.object.pos_nearest(&field);
        let ev = Evidence {
            file: Some(entry.object.file.clone()),
            line: Some(pos.line),
            field: Some(Arc::from(field.as_str())),
            detail: format!("aws-auth {}", entry.key).into(),
        };
        let groups = entry
            .groups
            .into_iter()
            .map(|group| (group, ev.clone()))
            .collect();
        sign_ins.push((entry.arn, entry.username, groups, ev));
    }
    for entry in cloud.aws.counted_access_entries() {
        let line = cloud.pos(&entry.file, &entry.path).line;
        let ev = cloud_evidence(&entry.file, Some(line), "EKS access entry");
        let mut groups: Vec<(String, Evidence)> = entry
            .groups
            .iter()
            .map(|group| (group.clone(), ev.clone()))
            .collect();
        if entry.cluster_admin {
            let admin = match &entry.admin_policy {
                Some((file, path)) => cloud_evidence(
                    file,
                    Some(cloud.pos(file, path).line),
                    "EKS access entry with AmazonEKSClusterAdminPolicy at cluster scope",
                ),
                None => ev.clone(),
            };
            groups.push(("system:masters".into(), admin));
        }
        sign_ins.push((entry.principal.clone(), entry.username.clone(), groups, ev));
    }
    for (arn, username, groups, ev) in sign_ins {
        let role = aws_role(g, cloud, &arn);
        // A role's session name is chosen by whoever assumes it.
        let user = username
            .unwrap_or_else(|| arn.clone())
            .replace("{{SessionName}}", "*");
        let user = g.vertex(Vertex::Identity {
            kind: "User".into(),
            namespace: None,
            name: user.into(),
        });
        g.edge(role, user, EdgeKind::CloudSignIn, ev);
        for (group, ev) in groups {
            let group = g.vertex(Vertex::Identity {
                kind: "Group".into(),
                namespace: None,
                name: group.as_str().into(),
            });
            g.edge(role, group, EdgeKind::CloudSignIn, ev);
        }
    }
}

/// GKE and AKS: cloud identities whose roles administer the cluster's
/// API, at the binding or role assignment that grants it.
pub fn cluster_admin_edges(g: &mut Graph, cloud: &Cloud) {
    let mut admins = cloud.gcp.cluster_admins();
    for cluster in &cloud.azure.clusters {
        admins.extend(cloud.azure.cluster_admins(cluster));
    }
    for admin in admins {
        let from = g.vertex(identity_vertex(&admin.identity));
        let masters = g.vertex(Vertex::Identity {
            kind: "Group".into(),
            namespace: None,
            name: "system:masters".into(),
        });
        let line = cloud.pos(&admin.file, &admin.path).line;
        g.edge(
            from,
            masters,
            EdgeKind::CloudSignIn,
            cloud_evidence(
                &admin.file,
                Some(line),
                &format!("{} administers the cluster", admin.role),
            ),
        );
    }
}

/// GCP: each hop of service account impersonation, at its binding.
pub fn gcp_impersonation_edges(g: &mut Graph, cloud: &Cloud) {
    for hop in cloud.gcp.impersonations() {
        let from = g.vertex(identity_vertex(&hop.from));
        let to = g.vertex(identity_vertex(&hop.to));
        let line = cloud.pos(&hop.file, &hop.path).line;
        g.edge(
            from,
            to,
            EdgeKind::ServiceAccountImpersonate,
            cloud_evidence(&hop.file, Some(line), &hop.detail),
        );
    }
}
