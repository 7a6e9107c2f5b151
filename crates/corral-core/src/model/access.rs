//! RBAC access as the API server evaluates it: what a policy rule allows (groups,
//! resources and subresources, verbs, resource names, `*`), ClusterRoles
//! with their aggregated rules, and each binding resolved to its role.

use std::collections::BTreeMap;

use k8s_openapi::api::rbac::v1::{PolicyRule, Subject};

use super::{Model, Resource};
use crate::Object;

/// Does `rule` allow `verb` on `resource` (`pods`, `pods/exec`) of API
/// group `group`, for the object named `name` (`None`: any, e.g. list or
/// create)?
pub fn allows(
    rule: &PolicyRule,
    group: &str,
    resource: &str,
    verb: &str,
    name: Option<&str>,
) -> bool {
    let names = rule.resource_names.as_deref().unwrap_or_default();
    let name_ok = names.is_empty() || name.is_some_and(|n| names.iter().any(|x| x == n));
    allows_some(rule, group, resource, verb) && name_ok
}

/// Does `rule` allow `verb` on `resource` for at least some names?
fn allows_some(rule: &PolicyRule, group: &str, resource: &str, verb: &str) -> bool {
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    let resources = rule.resources.as_deref().unwrap_or_default();
    let group_ok = groups.iter().any(|g| g == "*" || g == group);
    let (base, sub) = resource.split_once('/').unwrap_or((resource, ""));
    let resource_ok = resources.iter().any(|r| {
        r == "*" || r == resource || (!sub.is_empty() && r.split_once('/') == Some((base, "*")))
    });
    let verb_ok = rule.verbs.iter().any(|v| v == "*" || v == verb);
    group_ok && resource_ok && verb_ok
}

/// Does `holder` already allow everything `target` allows? The API server
/// lets a subject bind a role without `bind` on it when it does (RBAC's
/// escalation check). A `*` in the target is covered only by a `*`.
pub fn covers(holder: &[PolicyRule], target: &[PolicyRule]) -> bool {
    target.iter().all(|rule| {
        let names: Vec<Option<&str>> = match rule.resource_names.as_deref() {
            Some(names) if !names.is_empty() => names.iter().map(|n| Some(n.as_str())).collect(),
            _ => vec![None],
        };
        let resources_covered = rule.api_groups.iter().flatten().all(|group| {
            rule.resources.iter().flatten().all(|resource| {
                rule.verbs.iter().all(|verb| {
                    names.iter().all(|name| {
                        holder
                            .iter()
                            .any(|h| allows(h, group, resource, verb, *name))
                    })
                })
            })
        });
        let urls_covered = rule.non_resource_urls.iter().flatten().all(|url| {
            rule.verbs.iter().all(|verb| {
                holder.iter().any(|h| {
                    h.verbs.iter().any(|v| v == "*" || v == verb)
                        && h.non_resource_urls.iter().flatten().any(|u| {
                            u == "*"
                                || u == url
                                || u.strip_suffix('*')
                                    .is_some_and(|prefix| url.starts_with(prefix))
                        })
                })
            })
        });
        resources_covered && urls_covered
    })
}

/// Does `rule` allow `verb` on `resource` for some object, and for which
/// names: `Some(names)` when it is limited to them.
pub fn allows_names(
    rule: &PolicyRule,
    group: &str,
    resource: &str,
    verb: &str,
) -> Option<Option<Vec<String>>> {
    allows_some(rule, group, resource, verb).then(|| {
        rule.resource_names
            .clone()
            .filter(|names| !names.is_empty())
    })
}

/// A Role (`namespace` set) or ClusterRole, by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleKey {
    pub namespace: Option<String>,
    pub name: String,
}

/// Every role's rules, ClusterRoles with their aggregation applied.
pub fn role_rules(model: &Model) -> BTreeMap<RoleKey, Vec<PolicyRule>> {
    let mut rules = BTreeMap::new();
    let mut cluster_roles = Vec::new();
    for (object, resource) in model.iter() {
        let name = object.name.clone().unwrap_or_default();
        match resource {
            Resource::Role(r) => {
                rules.insert(
                    RoleKey {
                        namespace: Some(
                            object.namespace.clone().unwrap_or_else(|| "default".into()),
                        ),
                        name,
                    },
                    r.rules.clone().unwrap_or_default(),
                );
            }
            Resource::ClusterRole(r) => cluster_roles.push((name, r.as_ref())),
            _ => {}
        }
    }
    for (name, role) in &cluster_roles {
        let mut all = role.rules.clone().unwrap_or_default();
        if let Some(aggregation) = &role.aggregation_rule {
            for selector in aggregation.cluster_role_selectors.iter().flatten() {
                for (other, other_role) in &cluster_roles {
                    let labels = other_role.metadata.labels.clone().unwrap_or_default();
                    if other != name && super::selector::selects(selector, &labels) {
                        all.extend(other_role.rules.clone().unwrap_or_default());
                    }
                }
            }
        }
        rules.insert(
            RoleKey {
                namespace: None,
                name: name.clone(),
            },
            all,
        );
    }
    rules
}

/// A RoleBinding (`namespace` set) or ClusterRoleBinding with its role.
#[derive(Clone, Debug)]
pub struct Binding<'a> {
    pub object: &'a Object,
    pub namespace: Option<String>,
    pub name: String,
    pub role: RoleKey,
    pub subjects: Vec<Subject>,
}

/// Every binding whose role exists, with the role resolved.
pub fn bindings<'a>(
    model: &'a Model,
    roles: &BTreeMap<RoleKey, Vec<PolicyRule>>,
) -> Vec<Binding<'a>> {
    let mut found = Vec::new();
    for (object, resource) in model.iter() {
        let (namespace, role_ref, subjects) = match resource {
            Resource::RoleBinding(b) => (
                Some(object.namespace.clone().unwrap_or_else(|| "default".into())),
                &b.role_ref,
                b.subjects.clone().unwrap_or_default(),
            ),
            Resource::ClusterRoleBinding(b) => {
                (None, &b.role_ref, b.subjects.clone().unwrap_or_default())
            }
            _ => continue,
        };
        let role = RoleKey {
            namespace: if role_ref.kind == "Role" {
                namespace.clone()
            } else {
                None
            },
            name: role_ref.name.clone(),
        };
        if !roles.contains_key(&role) {
            continue;
        }
        found.push(Binding {
            object,
            namespace,
            name: object.name.clone().unwrap_or_default(),
            role,
            subjects,
        });
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_covers_a_role_it_already_has() {
        let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| PolicyRule {
            api_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
            resources: Some(resources.iter().map(|s| s.to_string()).collect()),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            ..PolicyRule::default()
        };
        let binder = [
            rule(
                &["rbac.authorization.k8s.io"],
                &["rolebindings"],
                &["create"],
            ),
            rule(&["rbac.authorization.k8s.io"], &["roles"], &["bind"]),
        ];
        assert!(covers(&binder, &binder[..1]));
        assert!(covers(&binder, &binder));
        let clusterroles = [rule(
            &["rbac.authorization.k8s.io"],
            &["clusterroles"],
            &["bind"],
        )];
        assert!(!covers(&binder, &clusterroles));
        let everything = [rule(&["*"], &["*"], &["*"])];
        assert!(covers(&everything, &binder));
        assert!(!covers(&binder, &everything));
        let mut named = rule(&[""], &["secrets"], &["get"]);
        named.resource_names = Some(vec!["tls".into()]);
        assert!(covers(
            &[rule(&[""], &["secrets"], &["get"])],
            &[named.clone()]
        ));
        assert!(!covers(&[named], &[rule(&[""], &["secrets"], &["get"])]));
    }

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> PolicyRule {
        PolicyRule {
            api_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
            resources: Some(resources.iter().map(|s| s.to_string()).collect()),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            resource_names: (!names.is_empty())
                .then(|| names.iter().map(|s| s.to_string()).collect()),
            non_resource_urls: None,
        }
    }

    #[test]
    fn rules_match_as_the_api_server_does() {
        let exec = rule(&[""], &["pods/exec"], &["create"], &[]);
        assert!(allows(&exec, "", "pods/exec", "create", None));
        assert!(!allows(&exec, "", "pods", "create", None));
        assert!(!allows(&exec, "apps", "pods/exec", "create", None));
        let sub = rule(&[""], &["pods/*"], &["*"], &[]);
        assert!(allows(&sub, "", "pods/exec", "create", None));
        assert!(!allows(&sub, "", "pods", "create", None));
        let all = rule(&["*"], &["*"], &["*"], &[]);
        assert!(allows(&all, "apps", "deployments", "patch", Some("web")));
        let named = rule(&[""], &["secrets"], &["get"], &["db"]);
        assert!(allows(&named, "", "secrets", "get", Some("db")));
        assert!(!allows(&named, "", "secrets", "get", Some("other")));
        assert!(!allows(&named, "", "secrets", "get", None));
        assert_eq!(
            allows_names(&named, "", "secrets", "get"),
            Some(Some(vec!["db".to_string()]))
        );
    }
}
