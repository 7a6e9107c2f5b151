//! Azure: AKS clusters (`az aks show`: OIDC issuer, kubelet identity,
//! pods' access to the instance metadata service, Azure RBAC and local
//! accounts), federated identity credentials (`az identity
//! federated-credential list`), managed identities (`az identity show` or
//! `list`, to join client IDs to resource IDs) and role assignments (`az
//! role assignment list --all`).

use serde_json::Value;

use super::condition::Verdict;
use super::{like, strings, CloudIdentity, ClusterAdmin};

/// Roles that amount to administrator at a subscription or above.
const ADMIN_ROLES: [&str; 4] = [
    "Owner",
    "Contributor",
    "User Access Administrator",
    "Role Based Access Control Administrator",
];
/// The audience AKS Workload Identity's projected token carries.
pub const AUDIENCE: &str = "api://AzureADTokenExchange";

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cluster {
    pub file: String,
    /// `oidcIssuerProfile.issuerUrl`, or the root when it has none.
    pub path: String,
    /// The cluster's resource ID, lower-cased.
    pub id: String,
    pub issuer: Option<String>,
    /// The kubelet identity: (client ID, object ID, resource ID).
    pub kubelet: Option<(String, String, String)>,
    /// `podLinkLocalAccess: None`: pods off the host's network cannot
    /// reach the instance metadata service.
    pub imds_restricted: bool,
    pub azure_rbac: bool,
    pub local_accounts: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FederatedCredential {
    /// The file and the credential's path in it (`[2]`, or the root).
    pub file: String,
    pub path: String,
    /// The managed identity's resource ID, lower-cased.
    pub identity: String,
    pub name: String,
    pub issuer: String,
    /// Empty for a flexible credential, which has `expression` instead.
    pub subject: String,
    pub audiences: Vec<String>,
    /// A flexible federated identity credential's
    /// `claimsMatchingExpression` (`claims['sub'] matches 'system:serviceaccount:shop:*'`).
    pub expression: Option<String>,
}

impl FederatedCredential {
    /// Does it accept a token with this `sub`? A flexible credential's
    /// expression is evaluated as far as the token's `sub` tells;
    /// anything else in it may hold.
    pub fn accepts(&self, sub: &str) -> Verdict {
        match &self.expression {
            Some(expression) => claims_match(expression, sub),
            None if self.subject == sub => Verdict::Holds,
            None => Verdict::Never,
        }
    }

    /// What it trusts, for the report.
    pub fn trusts(&self) -> String {
        match &self.expression {
            Some(expression) => format!("tokens whose claims match {expression}"),
            None => self.subject.clone(),
        }
    }
}

/// A flexible federated credential's claims-matching expression on a token
/// of `sub`: terms `claims['CLAIM'] matches 'PATTERN'` (`*` and `?`
/// wildcards) or `claims['CLAIM'] eq 'VALUE'`, joined by `and`. Terms on
/// other claims, and anything Corral does not parse, may hold.
pub fn claims_match(expression: &str, sub: &str) -> Verdict {
    let mut verdict = Verdict::Holds;
    for term in expression.split(" and ") {
        let term = term.trim();
        let parsed = term
            .strip_prefix("claims['")
            .and_then(|rest| rest.split_once("']"))
            .and_then(|(claim, rest)| {
                let rest = rest.trim_start();
                let (operator, value) = rest.split_once(' ')?;
                let value = value.trim().strip_prefix('\'')?.strip_suffix('\'')?;
                (!value.contains('\'')).then_some((claim, operator, value))
            });
        let one = match parsed {
            Some(("sub", "matches", pattern)) => {
                if like(pattern, sub) {
                    Verdict::Holds
                } else {
                    Verdict::Never
                }
            }
            Some(("sub", "eq", value)) => {
                if value == sub {
                    Verdict::Holds
                } else {
                    Verdict::Never
                }
            }
            Some((claim, _, _)) if claim != "sub" => Verdict::May(format!(
                "the term {term} is on the token's {claim} claim, which Corral does not know"
            )),
            _ => Verdict::May(format!("the term {term} is not one Corral can evaluate")),
        };
        verdict = verdict.and(one);
        if verdict.is_never() {
            break;
        }
    }
    verdict
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub id: String,
    pub client_id: String,
    pub principal_id: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// The file and the assignment's path in it (`[4]`).
    pub file: String,
    pub path: String,
    pub principal_id: String,
    pub principal_name: String,
    pub role: String,
    pub scope: String,
}

#[derive(Clone, Debug, Default)]
pub struct Azure {
    pub clusters: Vec<Cluster>,
    pub federated: Vec<FederatedCredential>,
    pub identities: Vec<Identity>,
    pub assignments: Vec<Assignment>,
}

/// An issuer URL as Entra ID compares it with a token's `iss`: exactly,
/// case and trailing `/` included (`https://x/` is not `https://x`).
fn issuer(url: &str) -> String {
    url.to_string()
}

/// `/subscriptions/S`, a management group, or the root.
fn broad_scope(scope: &str) -> bool {
    let parts: Vec<&str> = scope.trim_matches('/').split('/').collect();
    matches!(parts.as_slice(), [""] | ["subscriptions", _])
        || scope
            .to_ascii_lowercase()
            .starts_with("/providers/microsoft.management/managementgroups/")
}

impl Azure {
    /// Take what a CLI output file holds; false when it is none of them.
    pub fn absorb(&mut self, file: &str, value: &Value) -> bool {
        if value["agentPoolProfiles"].is_array() || value["identityProfile"].is_object() {
            let kubelet = &value["identityProfile"]["kubeletidentity"];
            let field = |v: &Value, k: &str| v[k].as_str().unwrap_or("").to_string();
            let restricted = |v: &Value| v["podLinkLocalAccess"] == "None";
            let issuer_url = value["oidcIssuerProfile"]["issuerUrl"].as_str();
            self.clusters.push(Cluster {
                file: file.into(),
                path: if issuer_url.is_some() {
                    "oidcIssuerProfile.issuerUrl".into()
                } else {
                    String::new()
                },
                id: field(value, "id").to_ascii_lowercase(),
                issuer: issuer_url.map(issuer),
                kubelet: kubelet.is_object().then(|| {
                    (
                        field(kubelet, "clientId"),
                        field(kubelet, "objectId"),
                        field(kubelet, "resourceId").to_ascii_lowercase(),
                    )
                }),
                imds_restricted: restricted(&value["networkProfile"])
                    || value["agentPoolProfiles"]
                        .as_array()
                        .is_some_and(|pools| !pools.is_empty() && pools.iter().all(restricted)),
                azure_rbac: value["aadProfile"]["enableAzureRbac"] == true,
                local_accounts: value["disableLocalAccounts"] != true,
            });
            return true;
        }
        // Each item with its path: `[i]` in a list, the root alone.
        let listed = value.is_array();
        let path = |i: usize| {
            if listed {
                format!("[{i}]")
            } else {
                String::new()
            }
        };
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        let all =
            |test: &dyn Fn(&Value) -> bool| !items.is_empty() && items.iter().all(|i| test(i));
        let flexible = |i: &Value| i["claimsMatchingExpression"]["value"].is_string();
        if all(&|i| (i["subject"].is_string() || flexible(i)) && i["issuer"].is_string()) {
            for (i, item) in items.into_iter().enumerate() {
                let id = item["id"].as_str().unwrap_or("").to_ascii_lowercase();
                let identity = id
                    .split("/federatedidentitycredentials/")
                    .next()
                    .unwrap_or("")
                    .to_string();
                self.federated.push(FederatedCredential {
                    file: file.into(),
                    path: path(i),
                    identity,
                    name: item["name"].as_str().unwrap_or("").into(),
                    issuer: issuer(item["issuer"].as_str().unwrap_or("")),
                    subject: item["subject"].as_str().unwrap_or("").into(),
                    audiences: strings(&item["audiences"]),
                    expression: item["claimsMatchingExpression"]["value"]
                        .as_str()
                        .map(str::to_string),
                });
            }
            return true;
        }
        if all(&|i| i["clientId"].is_string() && i["principalId"].is_string()) {
            for item in items {
                self.identities.push(Identity {
                    id: item["id"].as_str().unwrap_or("").to_ascii_lowercase(),
                    client_id: item["clientId"].as_str().unwrap_or("").into(),
                    principal_id: item["principalId"].as_str().unwrap_or("").into(),
                });
            }
            return true;
        }
        // An empty list is a role assignment list with nothing in it.
        if matches!(value, Value::Array(a) if a.is_empty())
            || all(&|i| i["roleDefinitionName"].is_string() && i["principalId"].is_string())
        {
            for (i, item) in items.into_iter().enumerate() {
                let field = |k: &str| item[k].as_str().unwrap_or("").to_string();
                self.assignments.push(Assignment {
                    file: file.into(),
                    path: path(i),
                    principal_id: field("principalId"),
                    principal_name: field("principalName"),
                    role: field("roleDefinitionName"),
                    scope: field("scope"),
                });
            }
            return true;
        }
        false
    }

    /// The assignment that makes a principal administrator, if any.
    fn admin_assignment(&self, principal_id: &str, client_id: &str) -> Option<&Assignment> {
        self.assignments.iter().find(|a| {
            (a.principal_id == principal_id
                || (!client_id.is_empty() && a.principal_name == client_id))
                && ADMIN_ROLES.contains(&a.role.as_str())
                && broad_scope(&a.scope)
        })
    }

    /// A managed identity by resource ID or client ID, with its admin flag.
    pub fn identity(&self, resource_id: Option<&str>, client_id: Option<&str>) -> CloudIdentity {
        let known = self.identities.iter().find(|i| {
            resource_id.is_some_and(|r| r == i.id) || client_id.is_some_and(|c| c == i.client_id)
        });
        let (name, principal, client) = match known {
            Some(i) => (i.id.clone(), i.principal_id.as_str(), i.client_id.as_str()),
            None => match (resource_id, client_id) {
                (Some(r), _) => (r.to_string(), "", ""),
                (None, Some(c)) => (format!("client id {c}"), "", c),
                (None, None) => (String::new(), "", ""),
            },
        };
        let admin = self.admin_assignment(principal, client).is_some();
        CloudIdentity::new("azure", &name, admin)
    }

    /// The kubelet identity, as IMDS hands it to the cluster's nodes.
    pub fn kubelet_identity(&self, cluster: &Cluster) -> Option<CloudIdentity> {
        let (client, object, resource) = cluster.kubelet.as_ref()?;
        let admin = self.admin_assignment(object, client).is_some();
        Some(CloudIdentity::new("azure", resource, admin))
    }

    /// Managed identities whose federated credentials accept (or may
    /// accept) a token of `namespace/account` from the cluster's issuer
    /// with `audience`; with why it only may, when so.
    pub fn exchanges(
        &self,
        cluster: &Cluster,
        namespace: &str,
        account: &str,
        audience: &str,
    ) -> Vec<(CloudIdentity, &FederatedCredential, Option<String>)> {
        let Some(issuer) = &cluster.issuer else {
            return Vec::new();
        };
        let subject = format!("system:serviceaccount:{namespace}:{account}");
        self.federated
            .iter()
            .filter(|f| &f.issuer == issuer && f.audiences.iter().any(|a| a == audience))
            .filter_map(|f| {
                let unsure = match f.accepts(&subject) {
                    Verdict::Never => return None,
                    Verdict::Holds => None,
                    Verdict::May(why) => Some(why),
                };
                Some((self.identity(Some(&f.identity), None), f, unsure))
            })
            .collect()
    }

    /// Does any federated credential of the identity with this client ID
    /// appear in the input? Then the credentials decide, not the
    /// annotation.
    pub fn knows_credentials_of(&self, client_id: &str) -> bool {
        self.identities
            .iter()
            .find(|i| i.client_id == client_id)
            .is_some_and(|i| self.federated.iter().any(|f| f.identity == i.id))
    }

    /// Principals whose role assignments give them the cluster's API as
    /// an administrator.
    pub fn cluster_admins(&self, cluster: &Cluster) -> Vec<ClusterAdmin> {
        self.assignments
            .iter()
            .filter(|a| {
                let scope = a.scope.to_ascii_lowercase();
                let covers = !scope.is_empty() && cluster.id.starts_with(&scope);
                let grants = match a.role.as_str() {
                    "Azure Kubernetes Service RBAC Cluster Admin" => cluster.azure_rbac,
                    "Azure Kubernetes Service Cluster Admin Role" | "Owner" | "Contributor" => {
                        cluster.local_accounts
                    }
                    _ => false,
                };
                covers && grants
            })
            .map(|a| {
                let known = self
                    .identities
                    .iter()
                    .find(|i| i.principal_id == a.principal_id);
                let identity = match known {
                    Some(i) => self.identity(Some(&i.id), None),
                    None => CloudIdentity::new(
                        "azure",
                        &format!("principal {}", a.principal_id),
                        self.admin_assignment(&a.principal_id, "").is_some(),
                    ),
                };
                ClusterAdmin {
                    identity,
                    role: a.role.clone(),
                    file: a.file.clone(),
                    path: a.path.clone(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Entra ID compares the issuer exactly: a trailing `/` and case
    /// count.
    #[test]
    fn issuers_are_compared_exactly() {
        let mut azure = Azure::default();
        let issuer = "https://oidc.example/t/c/";
        assert!(azure.absorb(
            "aks.json",
            &json!({"agentPoolProfiles": [], "id": "/x", "oidcIssuerProfile": {"issuerUrl": issuer}})
        ));
        let credential = |issuer: &str| {
            json!({"id": "/i/federatedIdentityCredentials/f", "name": "f", "issuer": issuer,
                "subject": "system:serviceaccount:shop:web", "audiences": [AUDIENCE]})
        };
        for other in [
            issuer,
            "https://oidc.example/t/c",
            "HTTPS://OIDC.EXAMPLE/t/c/",
        ] {
            assert!(azure.absorb("fic.json", &credential(other)));
        }
        let cluster = azure.clusters[0].clone();
        let found = azure.exchanges(&cluster, "shop", "web", AUDIENCE);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.issuer, issuer);
    }

    #[test]
    fn reads_the_cli_outputs() {
        let mut azure = Azure::default();
        assert!(azure.absorb(
            "aks.json",
            &json!({"id": "/subscriptions/S/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
                "oidcIssuerProfile": {"enabled": true, "issuerUrl": "https://westeurope.oic.prod-aks.azure.com/T/C/"},
                "identityProfile": {"kubeletidentity": {"clientId": "kc", "objectId": "ko", "resourceId": "/subscriptions/S/resourceGroups/MC_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c1-agentpool"}},
                "networkProfile": {"podLinkLocalAccess": "IMDS"},
                "agentPoolProfiles": [{"name": "nodepool1"}]})
        ));
        assert!(azure.absorb(
            "fic.json",
            &json!([{"audiences": [AUDIENCE],
                "id": "/subscriptions/S/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/shop-web",
                "issuer": "https://westeurope.oic.prod-aks.azure.com/T/C/",
                "name": "shop-web", "subject": "system:serviceaccount:shop:web"}])
        ));
        assert!(azure.absorb(
            "identity.json",
            &json!({"id": "/subscriptions/S/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app", "clientId": "ac", "principalId": "ap", "name": "app"})
        ));
        assert!(azure.absorb(
            "assignments.json",
            &json!([{"principalId": "ap", "principalName": "ac", "roleDefinitionName": "Owner", "scope": "/subscriptions/S"},
                    {"principalId": "ko", "principalName": "kc", "roleDefinitionName": "Reader", "scope": "/subscriptions/S"}])
        ));
        assert!(!azure.absorb("other.json", &json!({"kind": "List"})));
        let cluster = &azure.clusters[0];
        assert!(!cluster.imds_restricted);
        let found = azure.exchanges(cluster, "shop", "web", AUDIENCE);
        assert_eq!(found.len(), 1);
        assert!(found[0].0.admin);
        assert!(azure.exchanges(cluster, "shop", "api", AUDIENCE).is_empty());
        assert!(azure.exchanges(cluster, "shop", "web", "other").is_empty());
        assert!(!azure.kubelet_identity(cluster).unwrap().admin);
        assert!(azure.knows_credentials_of("ac"));
        assert!(azure.absorb(
            "restricted.json",
            &json!({"id": "c2", "networkProfile": {"podLinkLocalAccess": "None"}, "agentPoolProfiles": []})
        ));
        assert!(azure.clusters[1].imds_restricted);
        assert!(broad_scope("/subscriptions/S"));
        // A flexible credential: its expression decides, as far as sub
        // tells; other claims may hold.
        assert!(azure.absorb(
            "flexible.json",
            &json!([{"audiences": [AUDIENCE],
                "id": "/subscriptions/S/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app/federatedIdentityCredentials/shop-all",
                "issuer": "https://westeurope.oic.prod-aks.azure.com/T/C/",
                "name": "shop-all", "subject": null,
                "claimsMatchingExpression": {"value": "claims['sub'] matches 'system:serviceaccount:shop:*'", "languageVersion": 1}}])
        ));
        let cluster = &azure.clusters[0];
        let found = azure.exchanges(cluster, "shop", "api", AUDIENCE);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.name, "shop-all");
        assert_eq!(found[0].2, None);
        assert!(azure
            .exchanges(cluster, "other", "api", AUDIENCE)
            .is_empty());
    }

    #[test]
    fn claims_expressions() {
        let sub = "system:serviceaccount:shop:web";
        assert_eq!(
            claims_match("claims['sub'] matches 'system:serviceaccount:*:web'", sub),
            Verdict::Holds
        );
        assert_eq!(
            claims_match("claims['sub'] eq 'system:serviceaccount:shop:web'", sub),
            Verdict::Holds
        );
        assert_eq!(
            claims_match("claims['sub'] matches 'system:serviceaccount:other:*'", sub),
            Verdict::Never
        );
        assert_eq!(
            claims_match(
                "claims['sub'] matches 'system:*' and claims['sub'] eq 'x'",
                sub
            ),
            Verdict::Never
        );
        for unsure in [
            "claims['sub'] matches 'system:*' and claims['job_workflow_ref'] eq 'x'",
            "claims['sub'] startswith 'system:'",
            "sub == 'x'",
            "",
        ] {
            assert!(
                matches!(claims_match(unsure, sub), Verdict::May(_)),
                "{unsure}"
            );
        }
        assert!(!broad_scope("/subscriptions/S/resourceGroups/rg"));
    }
}
