//! Who may use which PodSecurityPolicy: RBAC `use` grants on
//! `podsecuritypolicies` (by `resourceNames`, or all), through RoleBindings
//! (in their namespace) and ClusterRoleBindings, to a pod's service
//! account: by name, as the user `system:serviceaccount:<ns>:<name>`, or
//! through the groups `system:serviceaccounts`,
//! `system:serviceaccounts:<ns>` and `system:authenticated`. And the one
//! the admission controller picked among them: non-mutating first, then by
//! name.

use std::collections::{BTreeMap, BTreeSet};

use corral_core::model::{Model, Resource};
use k8s_openapi::api::rbac::v1 as rbac;
use serde::Serialize;

/// One path by which a service account may use PSPs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    /// The PSP granted, or `None` for all of them.
    pub psp: Option<String>,
    /// `RoleBinding ns/name` or `ClusterRoleBinding name`.
    pub binding: String,
    /// `Role ns/name` or `ClusterRole name`.
    pub role: String,
    /// The subject that matched: `ServiceAccount ns/name`, `Group ...`,
    /// `User ...`.
    pub subject: String,
}

/// The PSPs one role rule grants `use` of: `None` for every PSP.
type PspNames = Option<Vec<String>>;

/// A Role (its namespace) or ClusterRole (`None`), by name.
type RoleKey = (Option<String>, String);

/// The PSP names a role rule grants `use` of: `None` for every PSP.
fn psp_use(rule: &rbac::PolicyRule) -> Option<PspNames> {
    let any = |list: Option<&Vec<String>>, wanted: &[&str]| {
        list.is_some_and(|l| l.iter().any(|x| x == "*" || wanted.contains(&x.as_str())))
    };
    let granted = any(rule.api_groups.as_ref(), &["policy", "extensions"])
        && any(rule.resources.as_ref(), &["podsecuritypolicies"])
        && rule.verbs.iter().any(|v| v == "use" || v == "*");
    granted.then(|| {
        rule.resource_names
            .clone()
            .filter(|names| !names.is_empty())
    })
}

/// Does `subject` of a binding in `binding_namespace` (None for a
/// ClusterRoleBinding) name the service account `namespace/name`?
fn names_service_account(
    subject: &rbac::Subject,
    binding_namespace: Option<&str>,
    namespace: &str,
    name: &str,
) -> bool {
    match subject.kind.as_str() {
        "ServiceAccount" => {
            let subject_namespace = subject.namespace.as_deref().or(binding_namespace);
            subject.name == name && subject_namespace == Some(namespace)
        }
        "User" => subject.name == format!("system:serviceaccount:{namespace}:{name}"),
        "Group" => {
            subject.name == "system:serviceaccounts"
                || subject.name == format!("system:serviceaccounts:{namespace}")
                || subject.name == "system:authenticated"
        }
        _ => false,
    }
}

/// Every `use` grant of PSPs to service account `namespace/name`.
pub fn grants(model: &Model, namespace: &str, name: &str) -> Vec<Grant> {
    // Roles by (namespace, name), ClusterRoles by name: their PSP grants.
    let mut roles: BTreeMap<RoleKey, Vec<PspNames>> = BTreeMap::new();
    for (object, resource) in model.iter() {
        let (scope, rules) = match resource {
            Resource::Role(r) => (object.namespace.clone(), r.rules.as_deref()),
            Resource::ClusterRole(r) => (None, r.rules.as_deref()),
            _ => continue,
        };
        let uses: Vec<PspNames> = rules
            .unwrap_or_default()
            .iter()
            .filter_map(psp_use)
            .collect();
        if !uses.is_empty() {
            let role_name = object.name.clone().unwrap_or_default();
            roles.entry((scope, role_name)).or_default().extend(uses);
        }
    }
    let mut found = BTreeSet::new();
    for (object, resource) in model.iter() {
        let (binding_namespace, role_ref, subjects, label) = match resource {
            Resource::RoleBinding(b) => {
                let ns = object.namespace.as_deref().unwrap_or("default");
                if ns != namespace {
                    continue; // a RoleBinding grants in its own namespace only
                }
                (
                    Some(ns),
                    &b.role_ref,
                    b.subjects.as_deref().unwrap_or_default(),
                    format!("RoleBinding {ns}/{}", object.name.as_deref().unwrap_or("")),
                )
            }
            Resource::ClusterRoleBinding(b) => (
                None,
                &b.role_ref,
                b.subjects.as_deref().unwrap_or_default(),
                format!(
                    "ClusterRoleBinding {}",
                    object.name.as_deref().unwrap_or("")
                ),
            ),
            _ => continue,
        };
        let (key, role_label) = match role_ref.kind.as_str() {
            "Role" => (
                (binding_namespace.map(str::to_string), role_ref.name.clone()),
                format!("Role {}/{}", binding_namespace.unwrap_or(""), role_ref.name),
            ),
            _ => (
                (None, role_ref.name.clone()),
                format!("ClusterRole {}", role_ref.name),
            ),
        };
        let Some(uses) = roles.get(&key) else {
            continue;
        };
        for subject in subjects {
            if !names_service_account(subject, binding_namespace, namespace, name) {
                continue;
            }
            let subject_label = match subject.kind.as_str() {
                "ServiceAccount" => format!(
                    "ServiceAccount {}/{}",
                    subject
                        .namespace
                        .as_deref()
                        .or(binding_namespace)
                        .unwrap_or(""),
                    subject.name
                ),
                kind => format!("{kind} {}", subject.name),
            };
            for names in uses {
                let psps: Vec<Option<String>> = match names {
                    None => vec![None],
                    Some(names) => names.iter().cloned().map(Some).collect(),
                };
                for psp in psps {
                    found.insert(Grant {
                        psp,
                        binding: label.clone(),
                        role: role_label.clone(),
                        subject: subject_label.clone(),
                    });
                }
            }
        }
    }
    found.into_iter().collect()
}

/// The PSPs among `all` that the grants allow, sorted by name.
pub fn usable<'a>(grants: &[Grant], all: &'a [String]) -> Vec<&'a str> {
    let every = grants.iter().any(|g| g.psp.is_none());
    all.iter()
        .filter(|psp| {
            every
                || grants
                    .iter()
                    .any(|g| g.psp.as_deref() == Some(psp.as_str()))
        })
        .map(String::as_str)
        .collect()
}

/// The PSP the admission controller picked among `candidates` (each with
/// whether it mutates): non-mutating ones first, then by name.
pub fn chosen<'a>(candidates: &[(&'a str, bool)]) -> Option<&'a str> {
    let mut sorted = candidates.to_vec();
    sorted.sort_by_key(|(name, mutating)| (*mutating, *name));
    sorted.first().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_core::model::TemplatePaths;
    use corral_core::{load_bytes, Limits};
    use std::sync::Arc;

    fn model(yaml: &str) -> Model {
        let name: Arc<str> = Arc::from("rbac.yaml");
        let (objects, diagnostics) =
            load_bytes(&name, yaml.as_bytes(), &Limits::default(), &|_| {});
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        Model::build(objects, &TemplatePaths::default()).0
    }

    const ROLES: &str = "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: psp-restricted}
rules: [{apiGroups: [policy], resources: [podsecuritypolicies], resourceNames: [restricted], verbs: [use]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: psp-all}
rules: [{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: psp-baseline, namespace: shop}
rules: [{apiGroups: [extensions], resources: [podsecuritypolicies], resourceNames: [baseline], verbs: [use]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: unrelated}
rules: [{apiGroups: [''], resources: [pods], verbs: [get]}]
";

    fn psps(model: &Model, namespace: &str, account: &str) -> Vec<Option<String>> {
        grants(model, namespace, account)
            .into_iter()
            .map(|g| g.psp)
            .collect()
    }

    #[test]
    fn every_subject_kind_grants_to_a_service_account() {
        let bindings = [
            // A ServiceAccount by name (namespace from the subject).
            (
                "kind: ClusterRoleBinding\nmetadata: {name: b}",
                "{kind: ServiceAccount, name: web, namespace: shop}",
                "shop",
                "web",
                true,
            ),
            (
                "kind: ClusterRoleBinding\nmetadata: {name: b}",
                "{kind: ServiceAccount, name: web, namespace: other}",
                "shop",
                "web",
                false,
            ),
            // In a RoleBinding the subject's namespace defaults to the binding's.
            (
                "kind: RoleBinding\nmetadata: {name: b, namespace: shop}",
                "{kind: ServiceAccount, name: web}",
                "shop",
                "web",
                true,
            ),
            (
                "kind: ClusterRoleBinding\nmetadata: {name: b}",
                "{kind: User, name: 'system:serviceaccount:shop:web'}",
                "shop",
                "web",
                true,
            ),
            (
                "kind: ClusterRoleBinding\nmetadata: {name: b}",
                "{kind: Group, name: 'system:serviceaccounts'}",
                "shop",
                "web",
                true,
            ),
            (
                "kind: ClusterRoleBinding\nmetadata: {name: b}",
                "{kind: Group, name: 'system:serviceaccounts:shop'}",
                "shop",
                "web",
                true,
            ),
            (
                "kind: ClusterRoleBinding\nmetadata: {name: b}",
                "{kind: Group, name: 'system:serviceaccounts:other'}",
                "shop",
                "web",
                false,
            ),
            (
                "kind: ClusterRoleBinding\nmetadata: {name: b}",
                "{kind: Group, name: 'system:authenticated'}",
                "shop",
                "web",
                true,
            ),
            (
                "kind: ClusterRoleBinding\nmetadata: {name: b}",
                "{kind: User, name: alice}",
                "shop",
                "web",
                false,
            ),
            // A RoleBinding grants in its own namespace only.
            (
                "kind: RoleBinding\nmetadata: {name: b, namespace: other}",
                "{kind: Group, name: 'system:serviceaccounts'}",
                "shop",
                "web",
                false,
            ),
        ];
        for (binding, subject, namespace, account, granted) in bindings {
            let yaml = format!(
                "{ROLES}---\napiVersion: rbac.authorization.k8s.io/v1\n{binding}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: psp-restricted}}\nsubjects: [{subject}]\n"
            );
            let found = psps(&model(&yaml), namespace, account);
            assert_eq!(!found.is_empty(), granted, "{binding} {subject}: {found:?}");
        }
    }

    #[test]
    fn resource_names_roles_and_all_psps() {
        let yaml = format!(
            "{ROLES}---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: baseline, namespace: shop}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: psp-baseline}}
subjects: [{{kind: Group, name: 'system:serviceaccounts:shop'}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: ops-all}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: psp-all}}
subjects: [{{kind: ServiceAccount, name: operator, namespace: ops}}]
"
        );
        let model = model(&yaml);
        assert_eq!(psps(&model, "shop", "web"), [Some("baseline".to_string())]);
        assert_eq!(psps(&model, "ops", "operator"), [None]);
        assert!(psps(&model, "ops", "web").is_empty());
        let all = [
            "baseline".to_string(),
            "privileged".to_string(),
            "restricted".to_string(),
        ];
        assert_eq!(usable(&grants(&model, "shop", "web"), &all), ["baseline"]);
        assert_eq!(
            usable(&grants(&model, "ops", "operator"), &all),
            ["baseline", "privileged", "restricted"]
        );
        let grant = &grants(&model, "shop", "web")[0];
        assert_eq!(
            (
                grant.binding.as_str(),
                grant.role.as_str(),
                grant.subject.as_str()
            ),
            (
                "RoleBinding shop/baseline",
                "Role shop/psp-baseline",
                "Group system:serviceaccounts:shop"
            )
        );
    }

    #[test]
    fn non_mutating_psps_are_preferred_then_names() {
        assert_eq!(
            chosen(&[("a-mutating", true), ("z-plain", false)]),
            Some("z-plain")
        );
        assert_eq!(chosen(&[("b", false), ("a", false)]), Some("a"));
        assert_eq!(chosen(&[("b", true), ("a", true)]), Some("a"));
        assert_eq!(chosen(&[]), None);
    }
}
