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
use corral_core::safe::{is_dns1123_label, shell_word};
use k8s_openapi::api::rbac::v1 as rbac;
use serde::Serialize;

/// One path by which a service account may use PSPs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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

/// One binding's grant of what a role rule gives (`T`) to a subject.
struct Bound<'a, T> {
    /// The RoleBinding's namespace, `None` for a ClusterRoleBinding.
    namespace: Option<&'a str>,
    binding: String,
    role: String,
    subject: &'a rbac::Subject,
    granted: T,
}

/// Every binding of a role whose rules give something `wanted` extracts,
/// to each of its subjects.
fn bound<T: Clone>(
    model: &Model,
    wanted: impl Fn(&rbac::PolicyRule) -> Option<T>,
) -> Vec<Bound<'_, T>> {
    let mut roles: BTreeMap<RoleKey, Vec<T>> = BTreeMap::new();
    for (object, resource) in model.iter() {
        let (scope, rules) = match resource {
            Resource::Role(r) => (object.namespace.clone(), r.rules.as_deref()),
            Resource::ClusterRole(r) => (None, r.rules.as_deref()),
            _ => continue,
        };
        let gives: Vec<T> = rules
            .unwrap_or_default()
            .iter()
            .filter_map(&wanted)
            .collect();
        if !gives.is_empty() {
            let role_name = object.name.clone().unwrap_or_default();
            roles.entry((scope, role_name)).or_default().extend(gives);
        }
    }
    let mut found = Vec::new();
    for (object, resource) in model.iter() {
        let (namespace, role_ref, subjects, binding) = match resource {
            Resource::RoleBinding(b) => {
                let ns = object.namespace.as_deref().unwrap_or("default");
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
        let (key, role) = match role_ref.kind.as_str() {
            "Role" => (
                (namespace.map(str::to_string), role_ref.name.clone()),
                format!("Role {}/{}", namespace.unwrap_or(""), role_ref.name),
            ),
            _ => (
                (None, role_ref.name.clone()),
                format!("ClusterRole {}", role_ref.name),
            ),
        };
        let Some(gives) = roles.get(&key) else {
            continue;
        };
        for subject in subjects {
            for granted in gives {
                found.push(Bound {
                    namespace,
                    binding: binding.clone(),
                    role: role.clone(),
                    subject,
                    granted: granted.clone(),
                });
            }
        }
    }
    found
}

/// `ServiceAccount ns/name`, `Group name`, `User name`.
fn subject_label(subject: &rbac::Subject, binding_namespace: Option<&str>) -> String {
    match subject.kind.as_str() {
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
    }
}

/// The PSP `use` grants of a model, resolved once, to look up per service
/// account.
pub struct PspGrants<'a> {
    bound: Vec<Bound<'a, PspNames>>,
}

impl<'a> PspGrants<'a> {
    pub fn new(model: &'a Model) -> Self {
        PspGrants {
            bound: bound(model, psp_use),
        }
    }

    /// Every `use` grant of PSPs to service account `namespace/name`.
    pub fn of(&self, namespace: &str, name: &str) -> Vec<Grant> {
        let mut found = BTreeSet::new();
        for b in &self.bound {
            // A RoleBinding grants in its own namespace only.
            if b.namespace.is_some_and(|ns| ns != namespace)
                || !names_service_account(b.subject, b.namespace, namespace, name)
            {
                continue;
            }
            let psps: Vec<Option<String>> = match &b.granted {
                None => vec![None],
                Some(names) => names.iter().cloned().map(Some).collect(),
            };
            for psp in psps {
                found.insert(Grant {
                    psp,
                    binding: b.binding.clone(),
                    role: b.role.clone(),
                    subject: subject_label(b.subject, b.namespace),
                });
            }
        }
        found.into_iter().collect()
    }
}

/// Every `use` grant of PSPs to service account `namespace/name`.
pub fn grants(model: &Model, namespace: &str, name: &str) -> Vec<Grant> {
    PspGrants::new(model).of(namespace, name)
}

/// A subject that may create, update or patch Namespaces, and so set or
/// remove their Pod Security Admission labels.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NamespaceEditor {
    pub subject: String,
    /// The namespace it may relabel, `None` for every namespace.
    pub namespace: Option<String>,
    pub verbs: Vec<String>,
    pub binding: String,
    pub role: String,
}

/// The verbs on Namespaces (core group) that relabel them, that a rule
/// grants.
fn namespace_edit(rule: &rbac::PolicyRule) -> Option<Vec<String>> {
    let any = |list: Option<&Vec<String>>, wanted: &str| {
        list.is_some_and(|l| l.iter().any(|x| x == "*" || x == wanted))
    };
    if !any(rule.api_groups.as_ref(), "") || !any(rule.resources.as_ref(), "namespaces") {
        return None;
    }
    let verbs: Vec<String> = ["create", "patch", "update"]
        .into_iter()
        .filter(|v| rule.verbs.iter().any(|x| x == "*" || x == v))
        .map(str::to_string)
        .collect();
    (!verbs.is_empty()).then_some(verbs)
}

/// Everyone RBAC lets relabel Namespaces. A RoleBinding's grant on
/// `namespaces` reaches the Namespace of its own name.
pub fn namespace_editors(model: &Model) -> Vec<NamespaceEditor> {
    let mut found = BTreeSet::new();
    for b in bound(model, namespace_edit) {
        found.insert(NamespaceEditor {
            subject: subject_label(b.subject, b.namespace),
            namespace: b.namespace.map(str::to_string),
            verbs: b.granted,
            binding: b.binding,
            role: b.role,
        });
    }
    found.into_iter().collect()
}

/// The ClusterRoles that grant `use` of the PSP `psp` (by name or all).
pub fn cluster_roles_granting(model: &Model, psp: &str) -> Vec<String> {
    model
        .iter()
        .filter_map(|(object, resource)| match resource {
            Resource::ClusterRole(r) => {
                let grants = r
                    .rules
                    .iter()
                    .flatten()
                    .filter_map(psp_use)
                    .any(|names| names.is_none_or(|names| names.iter().any(|n| n == psp)));
                grants.then(|| object.name.clone().unwrap_or_default())
            }
            _ => None,
        })
        .collect()
}

/// The Roles and ClusterRoles whose every rule grants `use` of PSPs, and
/// the bindings to them, as `kubectl delete` arguments (shell words)
/// (`-n ns role/name`, `clusterrole/name`): they serve nothing once PSP
/// is gone.
pub fn psp_only_rbac(model: &Model) -> Vec<String> {
    let mut roles = BTreeSet::new();
    for (object, resource) in model.iter() {
        let (scope, rules) = match resource {
            Resource::Role(r) => (object.namespace.clone(), r.rules.as_deref()),
            Resource::ClusterRole(r) => (None, r.rules.as_deref()),
            _ => continue,
        };
        let rules = rules.unwrap_or_default();
        if !rules.is_empty() && rules.iter().all(|r| psp_use(r).is_some()) {
            roles.insert((scope, object.name.clone().unwrap_or_default()));
        }
    }
    let mut found = BTreeSet::new();
    // A namespace no cluster can hold (`--server=...`) gets no command.
    let namespaced = |ns: &Option<String>| ns.as_deref().is_none_or(is_dns1123_label);
    for (scope, name) in roles.iter().filter(|(scope, _)| namespaced(scope)) {
        found.insert(match scope {
            Some(ns) => format!(
                "-n {} {}",
                shell_word(ns),
                shell_word(&format!("role/{name}"))
            ),
            None => shell_word(&format!("clusterrole/{name}")).into_owned(),
        });
    }
    for (object, resource) in model.iter() {
        let name = object.name.clone().unwrap_or_default();
        let (namespace, role_ref, kind) = match resource {
            Resource::RoleBinding(b) => (object.namespace.clone(), &b.role_ref, "rolebinding"),
            Resource::ClusterRoleBinding(b) => (None, &b.role_ref, "clusterrolebinding"),
            _ => continue,
        };
        let key = match role_ref.kind.as_str() {
            "Role" => (namespace.clone(), role_ref.name.clone()),
            _ => (None, role_ref.name.clone()),
        };
        if roles.contains(&key) && namespaced(&namespace) {
            found.insert(match namespace {
                Some(ns) => format!(
                    "-n {} {}",
                    shell_word(&ns),
                    shell_word(&format!("{kind}/{name}"))
                ),
                None => shell_word(&format!("{kind}/{name}")).into_owned(),
            });
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

    #[test]
    fn namespace_editors_and_psp_only_rbac() {
        let yaml = format!(
            "{ROLES}---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: ns-admin}}
rules: [{{apiGroups: [''], resources: [namespaces], verbs: [get, patch]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: platform}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ns-admin}}
subjects: [{{kind: Group, name: platform}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: self, namespace: shop}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ns-admin}}
subjects: [{{kind: ServiceAccount, name: deployer}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: psp, namespace: shop}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: psp-baseline}}
subjects: [{{kind: Group, name: 'system:serviceaccounts:shop'}}]
"
        );
        let model = model(&yaml);
        let editors: Vec<(String, Option<String>, Vec<String>)> = namespace_editors(&model)
            .into_iter()
            .map(|e| (e.subject, e.namespace, e.verbs))
            .collect();
        assert_eq!(
            editors,
            [
                (
                    "Group platform".to_string(),
                    None,
                    vec!["patch".to_string()]
                ),
                (
                    "ServiceAccount shop/deployer".to_string(),
                    Some("shop".to_string()),
                    vec!["patch".to_string()]
                ),
            ]
        );
        assert_eq!(
            psp_only_rbac(&model),
            [
                "-n shop role/psp-baseline",
                "-n shop rolebinding/psp",
                "clusterrole/psp-all",
                "clusterrole/psp-restricted",
            ]
        );
        assert_eq!(cluster_roles_granting(&model, "baseline"), ["psp-all"]);
    }
}
