//! Who may use which PodSecurityPolicy, and who may relabel Namespaces,
//! decided by `corral_core::authz`: the input's RBAC over the API server's
//! bootstrap policy, with aggregated ClusterRoles and the built-in roles
//! (`edit`, `admin`, `cluster-admin`) whether or not the input defines
//! them.
//!
//! Admission checks `use` on `podsecuritypolicies` (API group `policy` or
//! `extensions`, the PSP's name as the object name) in the pod's
//! namespace, for the pod's service account: by name, as the user
//! `system:serviceaccount:<ns>:<name>`, or through its implicit groups
//! `system:serviceaccounts`, `system:serviceaccounts:<ns>` and
//! `system:authenticated`. So a RoleBinding grants it in its own namespace
//! only. Among the PSPs that admit a pod, the admission controller picks a
//! non-mutating one first, then by name.

use std::collections::{BTreeMap, BTreeSet};

use corral_core::authz::{self, bootstrap, Authz, Binding, Request, RoleKey, Subject};
use corral_core::model::Model;
use corral_core::safe::{is_dns1123_label, shell_word};
use k8s_openapi::api::rbac::v1 as rbac;
use serde::Serialize;

/// The API groups admission asks about PSP `use` in.
const PSP_GROUPS: [&str; 2] = ["policy", "extensions"];
const PSP_RESOURCE: &str = "podsecuritypolicies";

/// One path by which a service account may use PSPs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Grant {
    /// The PSP granted, or `None` for all of them.
    pub psp: Option<String>,
    /// `RoleBinding ns/name` or `ClusterRoleBinding name`.
    pub binding: String,
    /// `Role ns/name` or `ClusterRole name`.
    pub role: String,
    /// The subject that matched: `ServiceAccount ns/name` (also when the
    /// binding names it as a User), `Group ...`.
    pub subject: String,
}

/// The PSPs a binding grants `use` of, wherever it applies: `[None]` for
/// every PSP, or their names.
fn psp_use(authz: &Authz, binding: &Binding) -> Vec<Option<String>> {
    let mut names = BTreeSet::new();
    for group in PSP_GROUPS {
        match authz.grant(binding, group, PSP_RESOURCE, "use") {
            Some(grant) => match grant.names {
                None => return vec![None],
                Some(limited) => names.extend(limited.into_iter().map(Some)),
            },
            None => continue,
        }
    }
    names.into_iter().collect()
}

/// The cluster's RBAC, built once, to look up PSP `use` per service
/// account.
pub struct PspGrants<'a> {
    authz: Authz<'a>,
}

impl<'a> PspGrants<'a> {
    pub fn new(model: &'a Model) -> Self {
        PspGrants {
            authz: Authz::new(model),
        }
    }

    /// Every `use` grant of PSPs to service account `namespace/name`, for
    /// a pod in `namespace`.
    pub fn of(&self, namespace: &str, name: &str) -> Vec<Grant> {
        let account = Subject::ServiceAccount {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        let groups = account.implicit_groups();
        let is_account = |subject: &Subject| {
            *subject == account
                || matches!(subject, Subject::Group(group) if groups.contains(group))
        };
        let mut found = BTreeSet::new();
        for binding in self.authz.bindings_of(&account) {
            // Admission asks in the pod's namespace.
            if binding
                .namespace
                .as_deref()
                .is_some_and(|ns| ns != namespace)
            {
                continue;
            }
            let psps = psp_use(&self.authz, binding);
            for (_, subject) in binding.subjects.iter().filter(|(_, s)| is_account(s)) {
                for psp in &psps {
                    found.insert(Grant {
                        psp: psp.clone(),
                        binding: binding.label(),
                        role: binding.role_label(),
                        subject: subject.label(),
                    });
                }
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

/// The verbs on Namespaces (core group) that set their labels.
const RELABEL_VERBS: [&str; 3] = ["create", "patch", "update"];

/// The namespaces `binding` lets its subjects relabel (`None`: every
/// one), with the verbs. A RoleBinding reaches the Namespace of its own
/// name only (a request on a Namespace is authorized in it), and never
/// `create`, which is asked outside any namespace.
fn relabels(authz: &Authz, binding: &Binding) -> BTreeMap<Option<String>, Vec<String>> {
    let mut found: BTreeMap<Option<String>, Vec<String>> = BTreeMap::new();
    for verb in RELABEL_VERBS {
        let targets: Vec<Option<String>> = match &binding.namespace {
            Some(ns) => {
                let request = Request::new(verb, "", "namespaces")
                    .named(ns)
                    .in_namespace(ns);
                let allowed = verb != "create" && authz.binding_allows(binding, &request).is_some();
                if allowed {
                    vec![Some(ns.clone())]
                } else {
                    Vec::new()
                }
            }
            None => match authz.grant(binding, "", "namespaces", verb) {
                None => Vec::new(),
                Some(grant) => match grant.names {
                    None => vec![None],
                    Some(names) => names.into_iter().map(Some).collect(),
                },
            },
        };
        for target in targets {
            found.entry(target).or_default().push(verb.to_string());
        }
    }
    found
}

/// Everyone the input's bindings let relabel Namespaces. The bootstrap
/// policy's own bindings (`system:masters`, the controllers) are the same
/// in every cluster and left out.
pub fn namespace_editors(model: &Model) -> Vec<NamespaceEditor> {
    let authz = Authz::new(model);
    let mut found = BTreeSet::new();
    for binding in authz.bindings() {
        if bootstrap::is_builtin(&binding.object.file) {
            continue;
        }
        for (namespace, verbs) in relabels(&authz, binding) {
            for (_, subject) in &binding.subjects {
                found.insert(NamespaceEditor {
                    subject: subject.label(),
                    namespace: namespace.clone(),
                    verbs: verbs.clone(),
                    binding: binding.label(),
                    role: binding.role_label(),
                });
            }
        }
    }
    found.into_iter().collect()
}

/// Does `rule` grant `use` of PSPs and nothing else?
fn only_psp_use(rule: &rbac::PolicyRule) -> bool {
    let within = |list: Option<&Vec<String>>, allowed: &[&str]| {
        list.is_some_and(|l| !l.is_empty() && l.iter().all(|x| allowed.contains(&x.as_str())))
    };
    within(rule.api_groups.as_ref(), &PSP_GROUPS)
        && within(rule.resources.as_ref(), &[PSP_RESOURCE])
        && within(Some(&rule.verbs), &["use"])
        && rule
            .non_resource_urls
            .as_deref()
            .unwrap_or_default()
            .is_empty()
}

/// The input's roles whose effective rules (aggregated ones included) all
/// grant `use` of PSPs and nothing else.
fn psp_only_roles<'a>(authz: &'a Authz) -> BTreeMap<&'a RoleKey, &'a authz::Role<'a>> {
    authz
        .roles()
        .filter(|(_, role)| {
            !bootstrap::is_builtin(&role.object.file)
                && !role.rules.is_empty()
                && role.rules.iter().all(|r| only_psp_use(r.rule))
        })
        .collect()
}

/// The ClusterRoles that grant `use` of the PSP `psp` (by name or all) and
/// nothing else: binding one grants no more than that PSP.
pub fn cluster_roles_granting(model: &Model, psp: &str) -> Vec<String> {
    let authz = Authz::new(model);
    psp_only_roles(&authz)
        .into_iter()
        .filter(|(key, role)| {
            key.namespace.is_none()
                && role.rules.iter().any(|r| {
                    PSP_GROUPS
                        .iter()
                        .any(|group| authz::allows(r.rule, group, PSP_RESOURCE, "use", Some(psp)))
                })
        })
        .map(|(key, _)| key.name.clone())
        .collect()
}

/// The input's Roles and ClusterRoles that grant `use` of PSPs and nothing
/// else, and the input's bindings to them, as `kubectl delete` arguments
/// (shell words) (`-n ns role/name`, `clusterrole/name`): they serve
/// nothing once PSP is gone.
pub fn psp_only_rbac(model: &Model) -> Vec<String> {
    let authz = Authz::new(model);
    let roles = psp_only_roles(&authz);
    // A namespace no cluster can hold (`--server=...`) gets no command.
    let command = |namespace: Option<&str>, object: String| match namespace {
        Some(ns) if !is_dns1123_label(ns) => None,
        Some(ns) => Some(format!("-n {} {}", shell_word(ns), shell_word(&object))),
        None => Some(shell_word(&object).into_owned()),
    };
    let mut found = BTreeSet::new();
    for key in roles.keys() {
        let kind = if key.namespace.is_some() {
            "role"
        } else {
            "clusterrole"
        };
        found.extend(command(
            key.namespace.as_deref(),
            format!("{kind}/{}", key.name),
        ));
    }
    for binding in authz.bindings() {
        if bootstrap::is_builtin(&binding.object.file) || !roles.contains_key(&binding.role) {
            continue;
        }
        let kind = if binding.namespace.is_some() {
            "rolebinding"
        } else {
            "clusterrolebinding"
        };
        found.extend(command(
            binding.namespace.as_deref(),
            format!("{kind}/{}", binding.name),
        ));
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

    const BINDING_HEADER: &str = "---\napiVersion: rbac.authorization.k8s.io/v1\n";

    fn binding(kind: &str, meta: &str, role: &str, subjects: &str) -> String {
        let role_kind = if role.starts_with("Role ") {
            "Role"
        } else {
            "ClusterRole"
        };
        let role = role.trim_start_matches("Role ");
        format!("{BINDING_HEADER}kind: {kind}\nmetadata: {meta}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {role}}}\nsubjects: {subjects}\n")
    }

    #[test]
    fn aggregated_roles_grant_through_the_built_in_edit_and_admin() {
        // Neither `edit` nor `admin` is in the input: the bootstrap policy
        // has them, and aggregation adds the labelled role's rule to both.
        let yaml = format!(
            "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: psp-web
  labels: {{rbac.authorization.k8s.io/aggregate-to-edit: 'true'}}
rules: [{{apiGroups: [policy], resources: [podsecuritypolicies], resourceNames: [web], verbs: [use]}}]
{}{}",
            binding(
                "RoleBinding",
                "{name: devs, namespace: shop}",
                "edit",
                "[{kind: ServiceAccount, name: deployer}]"
            ),
            binding(
                "RoleBinding",
                "{name: owners, namespace: shop}",
                "admin",
                "[{kind: ServiceAccount, name: owner}]"
            ),
        );
        let model = model(&yaml);
        let found = grants(&model, "shop", "deployer");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].psp.as_deref(), Some("web"));
        assert_eq!(found[0].role, "ClusterRole edit");
        assert_eq!(psps(&model, "shop", "owner"), [Some("web".to_string())]);
        // The RoleBinding grants in shop only.
        assert!(psps(&model, "other", "deployer").is_empty());
        // The aggregated role is the input's, and only serves PSP.
        assert_eq!(cluster_roles_granting(&model, "web"), ["psp-web"]);
        assert_eq!(psp_only_rbac(&model), ["clusterrole/psp-web"]);
    }

    #[test]
    fn built_in_cluster_admin_grants_every_psp() {
        let yaml = binding(
            "ClusterRoleBinding",
            "{name: ops-root}",
            "cluster-admin",
            "[{kind: ServiceAccount, name: root, namespace: ops}]",
        );
        let model = model(&yaml);
        let found = grants(&model, "ops", "root");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].psp.as_ref(), found[0].role.as_str()),
            (None, "ClusterRole cluster-admin")
        );
        // It is no role to bind for the bypass: it grants everything else.
        assert!(cluster_roles_granting(&model, "privileged").is_empty());
        assert!(psp_only_rbac(&model).is_empty());
        // And it lets the account relabel every namespace.
        let editors: Vec<(String, Option<String>)> = namespace_editors(&model)
            .into_iter()
            .map(|e| (e.subject, e.namespace))
            .collect();
        assert_eq!(editors, [("ServiceAccount ops/root".to_string(), None)]);
    }

    #[test]
    fn a_service_account_named_as_a_user_is_that_account() {
        let yaml = format!(
            "{ROLES}{}",
            binding(
                "RoleBinding",
                "{name: web, namespace: shop}",
                "psp-restricted",
                "[{kind: User, name: 'system:serviceaccount:shop:web'}]"
            )
        );
        let model = model(&yaml);
        let found = grants(&model, "shop", "web");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].subject, "ServiceAccount shop/web");
        assert_eq!(found[0].psp.as_deref(), Some("restricted"));
        assert!(psps(&model, "shop", "other").is_empty());
        assert!(psps(&model, "other", "web").is_empty());
    }

    #[test]
    fn decoys_grant_nothing() {
        let yaml = format!(
            "{ROLES}{}{}{}",
            // In another namespace than the pod's.
            binding(
                "RoleBinding",
                "{name: elsewhere, namespace: other}",
                "psp-all",
                "[{kind: ServiceAccount, name: web, namespace: shop}]"
            ),
            // A ServiceAccount without namespace in a ClusterRoleBinding
            // names nobody.
            binding(
                "ClusterRoleBinding",
                "{name: nobody}",
                "psp-all",
                "[{kind: ServiceAccount, name: web}]"
            ),
            // Use of another PSP than `baseline`.
            binding(
                "RoleBinding",
                "{name: restricted, namespace: shop}",
                "psp-restricted",
                "[{kind: ServiceAccount, name: web}]"
            ),
        );
        let model = model(&yaml);
        assert_eq!(
            psps(&model, "shop", "web"),
            [Some("restricted".to_string())]
        );
        let all = ["baseline".to_string(), "privileged".to_string()];
        assert!(usable(&grants(&model, "shop", "web"), &all).is_empty());
        // A ClusterRoleBinding's ServiceAccount without namespace is no one
        // in `default` either.
        assert!(psps(&model, "default", "web").is_empty());
    }

    #[test]
    fn psp_only_means_nothing_but_psp_use() {
        let yaml = "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: everything}
rules: [{apiGroups: ['*'], resources: ['*'], verbs: ['*']}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: psp-and-pods}
rules:
- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}
- {apiGroups: [''], resources: [pods], verbs: [get]}
";
        let model = model(yaml);
        assert!(psp_only_rbac(&model).is_empty());
        assert!(cluster_roles_granting(&model, "privileged").is_empty());
    }

    #[test]
    fn a_role_binding_relabels_its_own_namespace_but_creates_none() {
        let yaml = format!(
            "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: ns-writer}}
rules: [{{apiGroups: [''], resources: [namespaces], verbs: [create, update]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: ns-named}}
rules: [{{apiGroups: [''], resources: [namespaces], resourceNames: [shop], verbs: [patch]}}]
{}{}{}",
            binding(
                "RoleBinding",
                "{name: w, namespace: shop}",
                "ns-writer",
                "[{kind: Group, name: shop-devs}]"
            ),
            binding(
                "ClusterRoleBinding",
                "{name: n}",
                "ns-named",
                "[{kind: Group, name: shop-ops}]"
            ),
            // resourceNames of another namespace reach nothing in `other`.
            binding(
                "RoleBinding",
                "{name: n, namespace: other}",
                "ns-named",
                "[{kind: Group, name: other-ops}]"
            ),
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
                    "Group shop-devs".to_string(),
                    Some("shop".to_string()),
                    vec!["update".to_string()]
                ),
                (
                    "Group shop-ops".to_string(),
                    Some("shop".to_string()),
                    vec!["patch".to_string()]
                ),
            ]
        );
    }
}
