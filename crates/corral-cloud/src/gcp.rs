//! GCP: GKE clusters (`gcloud container clusters describe --format json`:
//! the workload pool, each node pool's service account, OAuth scopes and
//! metadata mode) and IAM policies (`gcloud projects get-iam-policy` and
//! `gcloud iam service-accounts get-iam-policy`, `--format json`).
//!
//! An IAM policy file does not say whose policy it is. A service account's
//! policy is told by its file name, which must contain the account's email
//! (`app@my-project.iam.gserviceaccount.com.json`, as `gcloud ... >
//! EMAIL.json` writes it); any other policy is a project's: the project its
//! file name starts with when that is a project Corral knows of, else the
//! GKE cluster's.

use serde_json::Value;

use super::{strings, CloudIdentity, ClusterAdmin};

/// GSA roles that amount to administrator of the project.
const ADMIN_ROLES: [&str; 4] = [
    "roles/owner",
    "roles/editor",
    "roles/resourcemanager.projectIamAdmin",
    "roles/iam.securityAdmin",
];
/// Predefined roles that let a member act as a service account, each with
/// the permission that does it: getting its access or ID tokens, signing
/// JWTs or blobs as it, delegating to it (`implicitDelegation`), or
/// attaching it to a resource that then runs as it (`actAs`). Granted on
/// the account's own policy, or on its project's (then on every account
/// of the project). From Google Cloud's IAM documentation: "Service
/// account permissions" (cloud.google.com/iam/docs/service-account-permissions),
/// the IAM roles reference (cloud.google.com/iam/docs/roles-permissions/iam)
/// and the basic roles (cloud.google.com/iam/docs/roles-overview#basic:
/// Editor holds `actAs`; Owner holds all of Editor's).
const IMPERSONATION_ROLES: &[(&str, &str)] = &[
    // getAccessToken, getOpenIdToken, implicitDelegation, signBlob, signJwt.
    (
        "roles/iam.serviceAccountTokenCreator",
        "iam.serviceAccounts.getAccessToken",
    ),
    // getAccessToken and getOpenIdToken, for Workload Identity.
    (
        "roles/iam.workloadIdentityUser",
        "iam.serviceAccounts.getAccessToken",
    ),
    (
        "roles/iam.serviceAccountOpenIdTokenCreator",
        "iam.serviceAccounts.getOpenIdToken",
    ),
    ("roles/iam.serviceAccountUser", "iam.serviceAccounts.actAs"),
    ("roles/editor", "iam.serviceAccounts.actAs"),
    ("roles/owner", "iam.serviceAccounts.actAs"),
];

/// The permission by which `role` lets its members act as a service
/// account; `None` when it does not.
pub fn impersonation_permission(role: &str) -> Option<&'static str> {
    IMPERSONATION_ROLES
        .iter()
        .find(|(r, _)| *r == role)
        .map(|(_, permission)| *permission)
}
/// Project roles that administer the cluster's Kubernetes API.
const CLUSTER_ADMIN_ROLES: [&str; 2] = ["roles/owner", "roles/container.admin"];
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodePool {
    /// `nodePools[i]` in the cluster's file.
    pub path: String,
    pub name: String,
    /// The node service account's email, or `default` (the project's
    /// Compute Engine default service account).
    pub service_account: String,
    /// The node's token may call every API (`cloud-platform` scope).
    pub full_scope: bool,
    /// `GKE_METADATA`: pods off the host's network get their KSA's
    /// identity, not the node's.
    pub gke_metadata: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    pub file: String,
    pub name: String,
    pub project: String,
    /// `PROJECT.svc.id.goog` when Workload Identity is on.
    pub workload_pool: Option<String>,
    pub node_pools: Vec<NodePool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Binding {
    /// `bindings[i]` in the policy's file.
    pub path: String,
    pub role: String,
    pub members: Vec<String>,
    /// An IAM condition (CEL), as its title and expression: the binding
    /// holds only when it does, which depends on the request (its time,
    /// the resource named) and is not decided from the cluster's side.
    /// Such a binding may hold, and says so; it is never dropped.
    pub condition: Option<String>,
}

impl Binding {
    /// `ROLE`, and its condition when it has one, for the report.
    pub fn describe_role(&self) -> String {
        match &self.condition {
            None => self.role.clone(),
            Some(condition) => format!(
                "{} (may hold: only when its IAM condition {condition} does, which Corral cannot decide)",
                self.role
            ),
        }
    }
}

/// A binding's condition, as `"TITLE" (EXPRESSION)`.
fn condition_text(condition: &Value) -> String {
    let title = condition["title"].as_str().unwrap_or("");
    let expression = condition["expression"].as_str().unwrap_or("");
    let text = match (title.is_empty(), expression.is_empty()) {
        (false, false) => format!("\"{title}\" ({expression})"),
        (false, true) => format!("\"{title}\""),
        (true, false) => format!("({expression})"),
        (true, true) => condition.to_string(),
    };
    text.chars().take(200).collect()
}

/// Whose policy: a project or a service account (its email).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    Project(String),
    ServiceAccount(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub file: String,
    pub resource: Resource,
    pub bindings: Vec<Binding>,
}

#[derive(Clone, Debug, Default)]
pub struct Gcp {
    pub clusters: Vec<Cluster>,
    pub policies: Vec<Policy>,
    /// Every service account the input names (`settle`): the owners of
    /// policies, members of bindings, node pools' accounts. A project-wide
    /// grant is on each of its project.
    accounts: Vec<String>,
}

/// The GSA email a file name carries.
fn email_in(file: &str) -> Option<String> {
    let base = file.rsplit('/').next().unwrap_or(file);
    let at = base.find('@')?;
    let end = base.find(".gserviceaccount.com")? + ".gserviceaccount.com".len();
    (at < end).then(|| base[..end].to_string())
}

/// `get-iam-policy` output: an `etag`, and `bindings` unless the policy
/// grants nothing (`{"etag": "ACAB"}`, `{"version": 1, "etag": "..."}`
/// are valid policies with no bindings), and nothing else.
fn is_iam_policy(value: &Value) -> bool {
    let Value::Object(fields) = value else {
        return false;
    };
    value["etag"].is_string()
        && (value["bindings"].is_array() || value.get("bindings").is_none())
        && fields
            .keys()
            .all(|k| matches!(k.as_str(), "etag" | "version" | "bindings" | "auditConfigs"))
}

/// A GSA email's project: `app@PROJECT.iam.gserviceaccount.com`.
pub fn email_project(email: &str) -> Option<&str> {
    email
        .split_once('@')?
        .1
        .strip_suffix(".iam.gserviceaccount.com")
}

impl Gcp {
    /// Take what a CLI output file holds; false when it is none of them.
    pub fn absorb(&mut self, file: &str, value: &Value) -> bool {
        if value["nodePools"].is_array()
            && (value["selfLink"]
                .as_str()
                .is_some_and(|l| l.contains("container.googleapis.com"))
                || value["workloadIdentityConfig"].is_object())
        {
            let project = value["selfLink"]
                .as_str()
                .and_then(|l| l.split("/projects/").nth(1))
                .and_then(|rest| rest.split('/').next())
                .map(str::to_string);
            let workload_pool = value["workloadIdentityConfig"]["workloadPool"]
                .as_str()
                .map(str::to_string);
            let project = project
                .or_else(|| {
                    workload_pool
                        .as_deref()
                        .and_then(|p| p.strip_suffix(".svc.id.goog"))
                        .map(str::to_string)
                })
                .unwrap_or_default();
            let node_pools = value["nodePools"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, pool)| {
                    let config = &pool["config"];
                    let mode = config["workloadMetadataConfig"]["mode"]
                        .as_str()
                        .or(config["workloadMetadataConfig"]["nodeMetadata"].as_str());
                    NodePool {
                        path: format!("nodePools[{i}]"),
                        name: pool["name"].as_str().unwrap_or("").into(),
                        service_account: config["serviceAccount"]
                            .as_str()
                            .unwrap_or("default")
                            .into(),
                        full_scope: strings(&config["oauthScopes"])
                            .iter()
                            .any(|s| s == CLOUD_PLATFORM),
                        gke_metadata: matches!(mode, Some("GKE_METADATA" | "GKE_METADATA_SERVER")),
                    }
                })
                .collect();
            self.clusters.push(Cluster {
                file: file.into(),
                name: value["name"].as_str().unwrap_or("").into(),
                project,
                workload_pool,
                node_pools,
            });
            return true;
        }
        if is_iam_policy(value) {
            let bindings = value["bindings"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                // A conditional binding holds only sometimes: it may hold.
                .map(|(i, b)| Binding {
                    path: format!("bindings[{i}]"),
                    role: b["role"].as_str().unwrap_or("").into(),
                    members: strings(&b["members"]),
                    condition: b
                        .get("condition")
                        .filter(|c| !c.is_null())
                        .map(condition_text),
                })
                .collect();
            let resource = match email_in(file) {
                Some(email) => Resource::ServiceAccount(email),
                None => Resource::Project(String::new()),
            };
            self.policies.push(Policy {
                file: file.into(),
                resource,
                bindings,
            });
            return true;
        }
        false
    }

    /// Name the projects of project policies, and list the service
    /// accounts, once every file is read.
    pub fn settle(&mut self) {
        let mut accounts: Vec<String> = Vec::new();
        for policy in &self.policies {
            if let Resource::ServiceAccount(email) = &policy.resource {
                accounts.push(email.clone());
            }
            for binding in &policy.bindings {
                accounts.extend(binding.members.iter().filter_map(|m| {
                    m.strip_prefix("serviceAccount:")
                        .filter(|e| !e.contains('['))
                        .map(str::to_string)
                }));
            }
        }
        for cluster in &self.clusters {
            accounts.extend(
                cluster
                    .node_pools
                    .iter()
                    .filter(|p| p.service_account != "default")
                    .map(|p| p.service_account.clone()),
            );
        }
        accounts.sort();
        accounts.dedup();
        self.accounts = accounts;
        let mut known: Vec<String> = self.clusters.iter().map(|c| c.project.clone()).collect();
        for policy in &self.policies {
            if let Resource::ServiceAccount(email) = &policy.resource {
                known.extend(email_project(email).map(str::to_string));
            }
        }
        let default = self
            .clusters
            .first()
            .map(|c| c.project.clone())
            .unwrap_or_default();
        for policy in &mut self.policies {
            if let Resource::Project(project) = &mut policy.resource {
                let base = policy.file.rsplit('/').next().unwrap_or(&policy.file);
                *project = known
                    .iter()
                    .find(|p| !p.is_empty() && base.starts_with(p.as_str()))
                    .cloned()
                    .unwrap_or_else(|| default.clone());
            }
        }
    }

    fn project_policies(&self) -> impl Iterator<Item = (&Policy, &str)> {
        self.policies.iter().filter_map(|p| match &p.resource {
            Resource::Project(project) => Some((p, project.as_str())),
            _ => None,
        })
    }

    /// Does a project policy give `member` an administrator role?
    fn project_admin(&self, matches: impl Fn(&str) -> bool) -> Option<(String, &Policy)> {
        self.project_policies().find_map(|(policy, _)| {
            policy.bindings.iter().find_map(|b| {
                (ADMIN_ROLES.contains(&b.role.as_str()) && b.members.iter().any(|m| matches(m)))
                    .then(|| (b.role.clone(), policy))
            })
        })
    }

    /// The GSA vertex for `email`, admin when a project policy makes it so.
    pub fn service_account(&self, email: &str) -> CloudIdentity {
        let member = format!("serviceAccount:{email}");
        CloudIdentity::new("gcp", email, self.project_admin(|m| m == member).is_some())
    }

    /// The node service account of a pool: its identity as the metadata
    /// server hands it out, limited by the pool's scopes.
    pub fn node_identity(&self, cluster: &Cluster, pool: &NodePool) -> CloudIdentity {
        let (name, admin) = if pool.service_account == "default" {
            // PROJECT_NUMBER-compute@developer.gserviceaccount.com
            let admin = self
                .project_admin(|m| {
                    m.starts_with("serviceAccount:")
                        && m.ends_with("-compute@developer.gserviceaccount.com")
                })
                .is_some();
            (
                format!("default compute service account of {}", cluster.project),
                admin,
            )
        } else {
            let identity = self.service_account(&pool.service_account);
            (identity.name, identity.admin)
        };
        if pool.full_scope {
            CloudIdentity::new("gcp", &name, admin)
        } else {
            CloudIdentity::new("gcp", &format!("{name} (limited OAuth scopes)"), false)
        }
    }

    /// What a Kubernetes service account's token, exchanged with the
    /// cluster's workload pool, gets: GSAs whose policy (or the project's)
    /// lets it impersonate them, and the roles granted to it directly as a
    /// `principal://` or `principalSet://`. Each with the file and binding.
    pub fn exchanges(&self, cluster: &Cluster, namespace: &str, account: &str) -> Vec<Grant> {
        let Some(pool) = &cluster.workload_pool else {
            return Vec::new();
        };
        let legacy = format!("serviceAccount:{pool}[{namespace}/{account}]");
        let principal_suffix =
            format!("/workloadIdentityPools/{pool}/subject/ns/{namespace}/sa/{account}");
        let namespace_suffix = format!("/workloadIdentityPools/{pool}/namespace/{namespace}");
        let pool_wide = format!("/workloadIdentityPools/{pool}/*");
        let is_this_account = |m: &str| {
            m == legacy
                || (m.starts_with("principal://iam.googleapis.com/")
                    && m.ends_with(&principal_suffix))
        };
        let cluster_wide = format!("/workloadIdentityPools/{pool}/kubernetes.cluster/");
        let by_uid = format!("/workloadIdentityPools/{pool}/kubernetes.serviceaccount.uid/");
        let this_cluster = format!("/clusters/{}", cluster.name);
        // Members that may be this account, which the input cannot tell:
        // a service account's UID (not in the manifests Corral reads), and
        // everyone.
        let may_be_this_account = |m: &str| {
            (m.starts_with("principal://iam.googleapis.com/") && m.contains(&by_uid))
                || m == "allUsers"
                || m == "allAuthenticatedUsers"
        };
        let is_principal_set = |m: &str| {
            (m.starts_with("principalSet://iam.googleapis.com/")
                && (m.ends_with(&namespace_suffix)
                    || m.ends_with(&pool_wide)
                    || m.split_once(&cluster_wide)
                        .is_some_and(|(_, url)| url.ends_with(&this_cluster))))
                || may_be_this_account(m)
        };
        let why = |m: &str| -> &'static str {
            if m.contains(&by_uid) {
                " (may be this account: its UID is not in the input)"
            } else if m.starts_with("all") {
                " (every principal, this account among them)"
            } else {
                ""
            }
        };
        let mut found = Vec::new();
        // Impersonation of GSAs: on the GSA's own policy, or project-wide
        // for every GSA of that project.
        for policy in &self.policies {
            for binding in &policy.bindings {
                let Some(permission) = impersonation_permission(&binding.role) else {
                    continue;
                };
                let Some(member) = binding
                    .members
                    .iter()
                    .find(|m| is_this_account(m) || is_principal_set(m))
                else {
                    continue;
                };
                for email in self.targets(policy) {
                    found.push(Grant {
                        identity: self.service_account(email),
                        file: policy.file.clone(),
                        path: binding.path.clone(),
                        detail: format!(
                            "{} grants {} ({permission}) to {member}{}",
                            policy.file,
                            binding.describe_role(),
                            why(member)
                        ),
                    });
                }
            }
        }
        // Roles granted to the federated principal itself.
        for (policy, _) in self.project_policies() {
            for binding in &policy.bindings {
                for member in binding
                    .members
                    .iter()
                    .filter(|m| is_this_account(m) || is_principal_set(m))
                {
                    let admin = ADMIN_ROLES.contains(&binding.role.as_str());
                    found.push(Grant {
                        identity: CloudIdentity::new("gcp", member, admin),
                        file: policy.file.clone(),
                        path: binding.path.clone(),
                        detail: format!(
                            "{} grants {} to {member}{}",
                            policy.file,
                            binding.describe_role(),
                            why(member)
                        ),
                    });
                }
            }
        }
        found
    }

    /// The service accounts a binding of `policy` is on: the account whose
    /// policy it is, or every account of the project Corral knows of.
    fn targets<'a>(&'a self, policy: &'a Policy) -> Vec<&'a str> {
        match &policy.resource {
            Resource::ServiceAccount(email) => vec![email.as_str()],
            Resource::Project(project) => self
                .accounts
                .iter()
                .filter(|e| email_project(e) == Some(project.as_str()))
                .map(String::as_str)
                .collect(),
        }
    }

    /// Service accounts that may act as other service accounts: each
    /// `serviceAccount:` member of a binding whose role lets it
    /// impersonate (on the target's policy, or its project's), as many
    /// hops as the policies chain.
    pub fn impersonations(&self) -> Vec<Impersonation> {
        let mut found = Vec::new();
        for policy in &self.policies {
            for binding in &policy.bindings {
                let Some(permission) = impersonation_permission(&binding.role) else {
                    continue;
                };
                let members = binding.members.iter().filter_map(|m| {
                    // `serviceAccount:POOL[NS/KSA]` is a Kubernetes account.
                    m.strip_prefix("serviceAccount:")
                        .filter(|e| !e.contains('['))
                });
                for from in members {
                    for to in self.targets(policy) {
                        if from == to {
                            continue;
                        }
                        found.push(Impersonation {
                            from: self.service_account(from),
                            to: self.service_account(to),
                            file: policy.file.clone(),
                            path: binding.path.clone(),
                            detail: format!(
                                "{} grants {} ({permission}) to serviceAccount:{from}",
                                policy.file,
                                binding.describe_role()
                            ),
                        });
                    }
                }
            }
        }
        found
    }

    /// GCP principals a project policy lets administer the cluster's
    /// Kubernetes API.
    pub fn cluster_admins(&self) -> Vec<ClusterAdmin> {
        let mut admins = Vec::new();
        for (policy, _) in self.project_policies() {
            for binding in &policy.bindings {
                if !CLUSTER_ADMIN_ROLES.contains(&binding.role.as_str()) {
                    continue;
                }
                for member in &binding.members {
                    if let Some(email) = member.strip_prefix("serviceAccount:") {
                        admins.push(ClusterAdmin {
                            identity: self.service_account(email),
                            role: binding.describe_role(),
                            file: policy.file.clone(),
                            path: binding.path.clone(),
                        });
                    }
                }
            }
        }
        admins
    }
}

/// A Google identity a Kubernetes service account's token gets, and the
/// binding that grants it: its file and path there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub identity: CloudIdentity,
    pub file: String,
    pub path: String,
    pub detail: String,
}

/// One hop of service account impersonation: `from` may act as `to`, by
/// the binding at `path` of `file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Impersonation {
    pub from: CloudIdentity,
    pub to: CloudIdentity,
    pub file: String,
    pub path: String,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gcp() -> Gcp {
        let mut gcp = Gcp::default();
        assert!(gcp.absorb(
            "cluster.json",
            &json!({
                "name": "c1",
                "selfLink": "https://container.googleapis.com/v1/projects/shop-prod/locations/europe-west1/clusters/c1",
                "workloadIdentityConfig": {"workloadPool": "shop-prod.svc.id.goog"},
                "nodePools": [{"name": "default-pool", "config": {
                    "serviceAccount": "default",
                    "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
                    "workloadMetadataConfig": {"mode": "GKE_METADATA"}}}]
            })
        ));
        assert!(gcp.absorb(
            "app@shop-prod.iam.gserviceaccount.com.json",
            &json!({"bindings": [{"role": "roles/iam.workloadIdentityUser",
                "members": ["serviceAccount:shop-prod.svc.id.goog[shop/web]"]}], "etag": "BwX="})
        ));
        assert!(gcp.absorb(
            "project.json",
            &json!({"bindings": [
                {"role": "roles/owner", "members": ["serviceAccount:app@shop-prod.iam.gserviceaccount.com",
                    "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/shop-prod.svc.id.goog/subject/ns/ci/sa/deployer"]},
                {"role": "roles/editor", "members": ["serviceAccount:123-compute@developer.gserviceaccount.com"]},
                {"role": "roles/storage.objectViewer", "members": ["principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/shop-prod.svc.id.goog/namespace/shop"]}
            ], "etag": "BwY=", "version": 1})
        ));
        gcp.settle();
        gcp
    }

    /// A policy that grants nothing is valid `get-iam-policy` output.
    #[test]
    fn policies_without_bindings_are_read() {
        let mut gcp = Gcp::default();
        assert!(gcp.absorb("a@p.iam.gserviceaccount.com.json", &json!({"etag": "ACAB"})));
        assert!(gcp.absorb("p.json", &json!({"version": 1, "etag": "BwX="})));
        assert_eq!(gcp.policies.len(), 2);
        assert!(gcp.policies.iter().all(|p| p.bindings.is_empty()));
        // Not a policy: another object with an etag.
        assert!(!gcp.absorb("x.json", &json!({"etag": "x", "name": "y"})));
        assert!(!gcp.absorb("x.json", &json!({"etag": 5})));
    }

    #[test]
    fn impersonating_roles_are_the_documented_ones() {
        for (role, permission) in [
            (
                "roles/iam.serviceAccountTokenCreator",
                "iam.serviceAccounts.getAccessToken",
            ),
            (
                "roles/iam.workloadIdentityUser",
                "iam.serviceAccounts.getAccessToken",
            ),
            ("roles/iam.serviceAccountUser", "iam.serviceAccounts.actAs"),
            ("roles/owner", "iam.serviceAccounts.actAs"),
        ] {
            assert_eq!(impersonation_permission(role), Some(permission), "{role}");
        }
        for role in [
            "roles/viewer",
            "roles/iam.serviceAccountViewer",
            "roles/container.admin",
        ] {
            assert_eq!(impersonation_permission(role), None, "{role}");
        }
    }

    #[test]
    fn service_account_policies_are_named_by_their_file() {
        let gcp = gcp();
        assert_eq!(
            gcp.policies[0].resource,
            Resource::ServiceAccount("app@shop-prod.iam.gserviceaccount.com".into())
        );
        assert_eq!(
            gcp.policies[1].resource,
            Resource::Project("shop-prod".into())
        );
        assert!(
            gcp.service_account("app@shop-prod.iam.gserviceaccount.com")
                .admin
        );
        let cluster = &gcp.clusters[0];
        assert!(cluster.node_pools[0].gke_metadata);
        assert!(gcp.node_identity(cluster, &cluster.node_pools[0]).admin);
    }

    #[test]
    fn workload_identity_bindings_and_principals() {
        let gcp = gcp();
        let cluster = &gcp.clusters[0];
        let names = |ns: &str, sa: &str| -> Vec<(String, bool)> {
            gcp.exchanges(cluster, ns, sa)
                .into_iter()
                .map(|g| (g.identity.name, g.identity.admin))
                .collect()
        };
        assert_eq!(
            names("shop", "web"),
            [
                ("app@shop-prod.iam.gserviceaccount.com".to_string(), true),
                ("principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/shop-prod.svc.id.goog/namespace/shop".to_string(), false),
            ]
        );
        // roles/owner on the project holds iam.serviceAccounts.actAs on
        // every account of it: app's too.
        assert_eq!(
            names("ci", "deployer"),
            [
                ("app@shop-prod.iam.gserviceaccount.com".to_string(), true),
                ("principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/shop-prod.svc.id.goog/subject/ns/ci/sa/deployer".to_string(), true),
            ]
        );
        assert!(names("ci", "other").is_empty());
    }

    /// A conditional binding used to be dropped ("never holds"): it may
    /// hold, and the evidence says so.
    #[test]
    fn conditional_bindings_and_wider_members_may_hold() {
        let mut gcp = gcp();
        assert!(gcp.absorb(
            "ops@shop-prod.iam.gserviceaccount.com.json",
            &json!({"bindings": [
                {"role": "roles/iam.workloadIdentityUser",
                 "members": ["serviceAccount:shop-prod.svc.id.goog[ops/runner]"],
                 "condition": {"title": "until March", "expression": "request.time < timestamp('2026-03-01T00:00:00Z')"}},
                {"role": "roles/iam.serviceAccountTokenCreator",
                 "members": ["principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/shop-prod.svc.id.goog/kubernetes.cluster/https://container.googleapis.com/v1/projects/shop-prod/locations/europe-west1/clusters/c1"]},
                {"role": "roles/iam.workloadIdentityUser",
                 "members": ["principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/shop-prod.svc.id.goog/kubernetes.serviceaccount.uid/0a1b"]}
            ], "etag": "BwZ="})
        ));
        assert!(gcp.absorb(
            "project.json",
            &json!({"bindings": [{"role": "roles/owner", "members": ["serviceAccount:ops@shop-prod.iam.gserviceaccount.com"],
                "condition": {"expression": "resource.name.startsWith('projects/_/buckets/x')"}}], "etag": "BwQ="})
        ));
        gcp.settle();
        let cluster = &gcp.clusters[0];
        let found = gcp.exchanges(cluster, "ops", "runner");
        let to_ops: Vec<&String> = found
            .iter()
            .filter(|g| g.identity.name == "ops@shop-prod.iam.gserviceaccount.com")
            .map(|g| &g.detail)
            .collect();
        assert_eq!(to_ops.len(), 3, "{found:?}");
        assert!(
            to_ops[0]
                .contains("may hold: only when its IAM condition \"until March\" (request.time"),
            "{}",
            to_ops[0]
        );
        assert!(to_ops[1].contains("kubernetes.cluster/"), "{}", to_ops[1]);
        assert!(
            to_ops[2].contains("its UID is not in the input"),
            "{}",
            to_ops[2]
        );
        // The conditional project grant still makes it an administrator.
        assert!(found[0].identity.admin);
        // Every account of the cluster, through the cluster-wide set.
        assert!(gcp
            .exchanges(cluster, "any", "one")
            .iter()
            .any(|g| g.identity.name == "ops@shop-prod.iam.gserviceaccount.com"));
        // Not another cluster's.
        let mut other = cluster.clone();
        other.name = "c2".into();
        assert_eq!(
            gcp.exchanges(&other, "any", "one")
                .iter()
                .filter(|g| g.detail.contains("kubernetes.cluster/"))
                .count(),
            0
        );
    }
}
