//! What one policy rule matches, as the RBAC authorizer's rule helpers
//! decide it: `*` in verbs, API groups and resources; a resource's
//! subresource only by its full name or `*/subresource` (`pods/*` matches
//! nothing); `resourceNames` restricting every verb, so a request without
//! a name (`list`, `create`) is never allowed by a named rule; and
//! non-resource URLs exactly or by a trailing `*`.

use k8s_openapi::api::rbac::v1::PolicyRule;

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| v == "*" || v == verb)
}

fn group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups
        .iter()
        .flatten()
        .any(|g| g == "*" || g == group)
}

/// `resource` is `pods` or `pods/exec`.
fn resource_matches(rule: &PolicyRule, resource: &str) -> bool {
    let subresource = resource.split_once('/').map(|(_, sub)| sub);
    rule.resources.iter().flatten().any(|r| {
        r == "*"
            || r == resource
            || subresource
                .is_some_and(|sub| r.strip_prefix("*/").is_some_and(|rule_sub| rule_sub == sub))
    })
}

fn name_matches(rule: &PolicyRule, name: Option<&str>) -> bool {
    match rule.resource_names.as_deref() {
        None | Some([]) => true,
        // An exact compare, as the API server makes it: a request that
        // names nothing has the empty name, which `""` matches.
        Some(names) => {
            let requested = name.unwrap_or("");
            names.iter().any(|x| x == requested)
        }
    }
}

/// Does `rule` allow `verb` on `resource` (`pods`, `pods/exec`) of API
/// group `group`, for the object named `name` (`None`: a request that
/// names none, such as `list` or `create`)?
pub fn allows(
    rule: &PolicyRule,
    group: &str,
    resource: &str,
    verb: &str,
    name: Option<&str>,
) -> bool {
    let name = if names_nothing(resource, verb) {
        None
    } else {
        name
    };
    allows_some(rule, group, resource, verb) && name_matches(rule, name)
}

/// Creating a resource names no object (the name is in the body, not the
/// URL), so `resourceNames` can never allow it; creating a subresource
/// (`pods/exec`, `serviceaccounts/token`) names its object.
fn names_nothing(resource: &str, verb: &str) -> bool {
    verb == "create" && !resource.contains('/')
}

/// Does `rule` allow `verb` on `resource` for at least one name?
pub fn allows_some(rule: &PolicyRule, group: &str, resource: &str, verb: &str) -> bool {
    verb_matches(rule, verb) && group_matches(rule, group) && resource_matches(rule, resource)
}

/// Does `rule` allow `verb` on `resource` for some object, and for which
/// names: `Some(names)` when it is limited to them.
pub fn allows_names(
    rule: &PolicyRule,
    group: &str,
    resource: &str,
    verb: &str,
) -> Option<Option<Vec<String>>> {
    let Some(names) = rule
        .resource_names
        .clone()
        .filter(|names| !names.is_empty())
    else {
        return allows_some(rule, group, resource, verb).then_some(None);
    };
    // `""` is the name of a request that names nothing: with it, `list`,
    // `watch`, `deletecollection` and `create` reach every object.
    let nameless =
        names_nothing(resource, verb) || matches!(verb, "list" | "watch" | "deletecollection");
    if nameless && names.iter().any(String::is_empty) {
        return allows_some(rule, group, resource, verb).then_some(None);
    }
    let names: Vec<String> = names.into_iter().filter(|n| !n.is_empty()).collect();
    if names.is_empty() || names_nothing(resource, verb) {
        return None;
    }
    allows_some(rule, group, resource, verb).then_some(Some(names))
}

/// Does `rule` allow `verb` on the non-resource URL `path` (`/metrics`)?
pub fn allows_url(rule: &PolicyRule, verb: &str, path: &str) -> bool {
    verb_matches(rule, verb)
        && rule.non_resource_urls.iter().flatten().any(|url| {
            url == "*"
                || url == path
                || url
                    .strip_suffix('*')
                    .is_some_and(|prefix| path.starts_with(prefix))
        })
}

/// Does `holder` already allow everything `target` allows? The API server
/// lets a subject create or update a role, or bind it without `bind`, when
/// it does (RBAC's escalation check). A `*` in the target is covered only
/// by a `*`.
pub fn covers(holder: &[&PolicyRule], target: &[&PolicyRule]) -> bool {
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
            rule.verbs
                .iter()
                .all(|verb| holder.iter().any(|h| allows_url(h, verb, url)))
        });
        resources_covered && urls_covered
    })
}

#[cfg(test)]
pub(crate) fn rule(
    groups: &[&str],
    resources: &[&str],
    verbs: &[&str],
    names: &[&str],
) -> PolicyRule {
    PolicyRule {
        api_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        resource_names: (!names.is_empty()).then(|| names.iter().map(|s| s.to_string()).collect()),
        non_resource_urls: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(holder: &[PolicyRule], target: &[PolicyRule]) -> bool {
        let holder: Vec<&PolicyRule> = holder.iter().collect();
        let target: Vec<&PolicyRule> = target.iter().collect();
        covers(&holder, &target)
    }

    #[test]
    fn a_holder_covers_a_role_it_already_has() {
        let rbac = "rbac.authorization.k8s.io";
        let binder = [
            rule(&[rbac], &["rolebindings"], &["create"], &[]),
            rule(&[rbac], &["roles"], &["bind"], &[]),
        ];
        assert!(covered(&binder, &binder[..1]));
        assert!(covered(&binder, &binder));
        assert!(!covered(
            &binder,
            &[rule(&[rbac], &["clusterroles"], &["bind"], &[])]
        ));
        let everything = [rule(&["*"], &["*"], &["*"], &[])];
        assert!(covered(&everything, &binder));
        assert!(!covered(&binder, &everything));
        let named = rule(&[""], &["secrets"], &["get"], &["tls"]);
        assert!(covered(
            &[rule(&[""], &["secrets"], &["get"], &[])],
            std::slice::from_ref(&named)
        ));
        assert!(!covered(
            &[named],
            &[rule(&[""], &["secrets"], &["get"], &[])]
        ));
    }

    #[test]
    fn rules_match_as_the_api_server_does() {
        let exec = rule(&[""], &["pods/exec"], &["create"], &[]);
        assert!(allows(&exec, "", "pods/exec", "create", None));
        assert!(!allows(&exec, "", "pods", "create", None));
        assert!(!allows(&exec, "apps", "pods/exec", "create", None));
        // `*/exec` is any resource's exec; `pods/*` is no subresource at all.
        let any_exec = rule(&[""], &["*/exec"], &["create"], &[]);
        assert!(allows(&any_exec, "", "pods/exec", "create", None));
        assert!(!allows(&any_exec, "", "pods", "create", None));
        assert!(!allows(&any_exec, "", "pods/attach", "create", None));
        let scale = rule(&["apps"], &["*/scale"], &["update"], &[]);
        assert!(allows(&scale, "apps", "deployments/scale", "update", None));
        let pods_star = rule(&[""], &["pods/*"], &["*"], &[]);
        assert!(!allows(&pods_star, "", "pods/exec", "create", None));
        assert!(!allows(&pods_star, "", "pods", "create", None));
        let all = rule(&["*"], &["*"], &["*"], &[]);
        assert!(allows(&all, "apps", "deployments", "patch", Some("web")));
        assert!(allows(&all, "", "pods/exec", "create", Some("web")));
        let named = rule(&[""], &["secrets"], &["get"], &["db"]);
        assert!(allows(&named, "", "secrets", "get", Some("db")));
        assert!(!allows(&named, "", "secrets", "get", Some("other")));
        assert!(!allows(&named, "", "secrets", "get", None));
        assert!(!allows(&named, "", "secrets", "get", Some("")));
        // `create` names nothing: a named rule never allows it, but a
        // subresource's create names its object.
        let create = rule(
            &["rbac.authorization.k8s.io"],
            &["clusterrolebindings"],
            &["create"],
            &["x"],
        );
        assert!(!allows(
            &create,
            "rbac.authorization.k8s.io",
            "clusterrolebindings",
            "create",
            Some("x")
        ));
        assert_eq!(
            allows_names(
                &create,
                "rbac.authorization.k8s.io",
                "clusterrolebindings",
                "create"
            ),
            None
        );
        let token = rule(&[""], &["serviceaccounts/token"], &["create"], &["ci"]);
        assert!(allows(
            &token,
            "",
            "serviceaccounts/token",
            "create",
            Some("ci")
        ));
        assert_eq!(
            allows_names(&token, "", "serviceaccounts/token", "create"),
            Some(Some(vec!["ci".to_string()]))
        );
        assert_eq!(
            allows_names(&named, "", "secrets", "get"),
            Some(Some(vec!["db".to_string()]))
        );
        // An empty resourceNames list is no restriction.
        let mut empty = rule(&[""], &["secrets"], &["get"], &[]);
        empty.resource_names = Some(vec![]);
        assert!(allows(&empty, "", "secrets", "get", None));
    }

    #[test]
    fn non_resource_urls_match_exactly_or_by_prefix() {
        let mut metrics = rule(&[], &[], &["get"], &[]);
        metrics.non_resource_urls = Some(vec!["/metrics".into(), "/logs/*".into()]);
        assert!(allows_url(&metrics, "get", "/metrics"));
        assert!(!allows_url(&metrics, "get", "/metrics/cadvisor"));
        assert!(allows_url(&metrics, "get", "/logs/kube.log"));
        assert!(!allows_url(&metrics, "post", "/metrics"));
        // A non-resource rule grants no resource.
        assert!(!allows(&metrics, "", "pods", "get", None));
    }
}
