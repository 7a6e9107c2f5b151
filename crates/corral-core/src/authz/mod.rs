//! Kubernetes RBAC as the API server evaluates it, in one place: "may this
//! subject do this verb on this resource, name and namespace?" and "who
//! may?", each answer with its evidence (the binding, and the rule at its
//! line in the role that writes it).
//!
//! - Roles are the input's and the API server's bootstrap policy
//!   ([`bootstrap`]); an input object of the same kind and name replaces
//!   the built-in one.
//! - ClusterRoles with an `aggregationRule` hold the rules of the roles
//!   they select, as the aggregation controller writes them.
//! - A RoleBinding grants in its own namespace only, and never a
//!   cluster-scoped resource ([`cluster_scoped`]), even through a
//!   ClusterRole; a ClusterRoleBinding grants everywhere.
//! - Subjects are in their implicit groups ([`Subject::implicit_groups`]),
//!   whether or not any pod runs as them.

pub mod bootstrap;
mod rules;
mod scope;
mod subject;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};

pub use rules::{allows, allows_names, allows_some, allows_url, covers};
pub use scope::cluster_scoped;
pub use subject::{Subject, AUTHENTICATED, MASTERS, SERVICE_ACCOUNTS};

use crate::model::{selector, Model, Resource};
use crate::Object;

pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// A Role (`namespace` set) or ClusterRole, by name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleKey {
    pub namespace: Option<String>,
    pub name: String,
}

/// One rule of a role, in the object that writes it (for an aggregated
/// ClusterRole, the role it was aggregated from).
#[derive(Clone, Copy, Debug)]
pub struct RuleRef<'m> {
    pub rule: &'m PolicyRule,
    pub object: &'m Object,
    pub index: usize,
}

impl<'m> RuleRef<'m> {
    /// Each of `rules`, the rules `object` writes, at its index.
    pub fn all(object: &'m Object, rules: &'m [PolicyRule]) -> Vec<RuleRef<'m>> {
        rules
            .iter()
            .enumerate()
            .map(|(index, rule)| RuleRef {
                rule,
                object,
                index,
            })
            .collect()
    }

    /// The rule's field path in its object: `rules[2]`.
    pub fn path(&self) -> String {
        format!("rules[{}]", self.index)
    }
}

/// A role with its effective rules.
#[derive(Clone, Debug)]
pub struct Role<'m> {
    pub object: &'m Object,
    pub rules: Vec<RuleRef<'m>>,
}

impl Role<'_> {
    pub fn policy_rules(&self) -> Vec<&PolicyRule> {
        self.rules.iter().map(|r| r.rule).collect()
    }

    /// Does the role allow every verb on every resource of every API
    /// group? Decided by the rules, never the role's name.
    pub fn grants_everything(&self) -> bool {
        let everything = PolicyRule {
            api_groups: Some(vec!["*".into()]),
            resources: Some(vec!["*".into()]),
            verbs: vec!["*".into()],
            ..PolicyRule::default()
        };
        covers(&self.policy_rules(), &[&everything])
    }
}

/// A RoleBinding (`namespace` set) or ClusterRoleBinding whose role exists.
#[derive(Clone, Debug)]
pub struct Binding<'m> {
    pub object: &'m Object,
    pub namespace: Option<String>,
    pub name: String,
    pub role: RoleKey,
    /// Each subject the binding names, with its index in `subjects`.
    pub subjects: Vec<(usize, Subject)>,
    /// The role's effective rules, resolved once.
    pub rules: Vec<RuleRef<'m>>,
}

impl Binding<'_> {
    /// `RoleBinding ns/name` or `ClusterRoleBinding name`.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("RoleBinding {ns}/{}", self.name),
            None => format!("ClusterRoleBinding {}", self.name),
        }
    }

    /// `Role ns/name` or `ClusterRole name`.
    pub fn role_label(&self) -> String {
        match &self.role.namespace {
            Some(ns) => format!("Role {ns}/{}", self.role.name),
            None => format!("ClusterRole {}", self.role.name),
        }
    }
}

/// What a binding grants of one verb on one resource: the first rule that
/// grants it, and the names it is limited to (`None`: every object).
#[derive(Clone, Debug)]
pub struct Grant<'m> {
    pub rule: RuleRef<'m>,
    pub names: Option<Vec<String>>,
}

/// One request, as the authorizer gets it. `namespace` is `None` for a
/// cluster-scoped resource or a request across all namespaces.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    /// `pods` or `pods/exec`.
    pub resource: &'a str,
    pub name: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

impl<'a> Request<'a> {
    pub fn new(verb: &'a str, group: &'a str, resource: &'a str) -> Self {
        Request {
            verb,
            group,
            resource,
            name: None,
            namespace: None,
        }
    }

    pub fn named(self, name: &'a str) -> Self {
        Request {
            name: Some(name),
            ..self
        }
    }

    pub fn in_namespace(self, namespace: &'a str) -> Self {
        Request {
            namespace: Some(namespace),
            ..self
        }
    }
}

/// The cluster's RBAC: every role with its effective rules, every binding
/// whose role exists, and the bindings of each subject.
pub struct Authz<'m> {
    roles: BTreeMap<RoleKey, Role<'m>>,
    bindings: Vec<Binding<'m>>,
    by_subject: HashMap<Subject, Vec<usize>>,
}

fn role_key(object: &Object, resource: &Resource) -> Option<RoleKey> {
    let namespace = match resource {
        Resource::Role(_) => Some(object.namespace.clone().unwrap_or_else(|| "default".into())),
        Resource::ClusterRole(_) => None,
        _ => return None,
    };
    Some(RoleKey {
        namespace,
        name: object.name.clone().unwrap_or_default(),
    })
}

/// A binding's identity: `(namespace, name)`, namespace `None` for a
/// ClusterRoleBinding.
fn binding_key(object: &Object, resource: &Resource) -> Option<(Option<String>, String)> {
    let namespace = match resource {
        Resource::RoleBinding(_) => {
            Some(object.namespace.clone().unwrap_or_else(|| "default".into()))
        }
        Resource::ClusterRoleBinding(_) => None,
        _ => return None,
    };
    Some((namespace, object.name.clone().unwrap_or_default()))
}

impl<'m> Authz<'m> {
    /// The input's RBAC over the API server's bootstrap policy.
    pub fn new(model: &'m Model) -> Self {
        Self::build(model, Some(bootstrap::model()))
    }

    /// The input's RBAC alone, as if the cluster had no default roles.
    pub fn input_only(model: &'m Model) -> Self {
        Self::build(model, None)
    }

    fn build(model: &'m Model, builtin: Option<&'m Model>) -> Self {
        // Input objects first: a built-in one of the same name is replaced.
        let mut role_objects: BTreeMap<RoleKey, (&'m Object, &'m Resource)> = BTreeMap::new();
        let mut binding_objects: BTreeMap<(Option<String>, String), (&'m Object, &'m Resource)> =
            BTreeMap::new();
        for source in [Some(model), builtin].into_iter().flatten() {
            for (object, resource) in source.iter() {
                if let Some(key) = role_key(object, resource) {
                    role_objects.entry(key).or_insert((object, resource));
                } else if let Some(key) = binding_key(object, resource) {
                    binding_objects.entry(key).or_insert((object, resource));
                }
            }
        }
        let roles = effective_roles(&role_objects);
        let mut bindings = Vec::new();
        let mut by_subject: HashMap<Subject, Vec<usize>> = HashMap::new();
        for ((namespace, name), (object, resource)) in binding_objects {
            let (role_ref, subjects) = match resource {
                Resource::RoleBinding(b) => (&b.role_ref, b.subjects.as_deref()),
                Resource::ClusterRoleBinding(b) => (&b.role_ref, b.subjects.as_deref()),
                _ => continue,
            };
            let role = match (role_ref.kind.as_str(), &namespace) {
                ("ClusterRole", _) => RoleKey {
                    namespace: None,
                    name: role_ref.name.clone(),
                },
                // A ClusterRoleBinding cannot reference a Role.
                ("Role", Some(ns)) => RoleKey {
                    namespace: Some(ns.clone()),
                    name: role_ref.name.clone(),
                },
                _ => continue,
            };
            let Some(rules) = roles.get(&role).map(|r| r.rules.clone()) else {
                continue;
            };
            let subjects: Vec<(usize, Subject)> = subjects
                .unwrap_or_default()
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some((i, Subject::of_binding(s, namespace.as_deref())?)))
                .collect();
            let index = bindings.len();
            for (_, subject) in &subjects {
                let list = by_subject.entry(subject.clone()).or_default();
                if list.last() != Some(&index) {
                    list.push(index);
                }
            }
            bindings.push(Binding {
                object,
                namespace,
                name,
                role,
                subjects,
                rules,
            });
        }
        Authz {
            roles,
            bindings,
            by_subject,
        }
    }

    pub fn roles(&self) -> impl Iterator<Item = (&RoleKey, &Role<'m>)> {
        self.roles.iter()
    }

    pub fn role(&self, key: &RoleKey) -> Option<&Role<'m>> {
        self.roles.get(key)
    }

    /// Every binding whose role exists, built-in ones included.
    pub fn bindings(&self) -> &[Binding<'m>] {
        &self.bindings
    }

    /// The effective rules of a binding's role.
    pub fn rules_of<'b>(&self, binding: &'b Binding<'m>) -> &'b [RuleRef<'m>] {
        &binding.rules
    }

    /// A binding the input does not hold, of the role `role`, in
    /// `namespace` (`None`: cluster-wide), written at `object`: what
    /// making it would grant. `None` when the role does not exist.
    pub fn hypothetical(
        &self,
        object: &'m Object,
        namespace: Option<String>,
        role: RoleKey,
    ) -> Option<Binding<'m>> {
        let rules = self.roles.get(&role)?.rules.clone();
        Some(Binding {
            object,
            namespace,
            name: "(new)".into(),
            role,
            subjects: Vec::new(),
            rules,
        })
    }

    /// What `binding` grants of `verb` on `resource` of `group`, in its own
    /// namespace (a RoleBinding) or everywhere: never a cluster-scoped
    /// resource through a RoleBinding.
    pub fn grant(
        &self,
        binding: &Binding<'m>,
        group: &str,
        resource: &str,
        verb: &str,
    ) -> Option<Grant<'m>> {
        grant(
            self.rules_of(binding),
            binding.namespace.as_deref(),
            group,
            resource,
            verb,
        )
    }

    /// The rule of `binding` that allows `request`, if the binding applies
    /// to the request's namespace.
    pub fn binding_allows(&self, binding: &Binding<'m>, request: &Request) -> Option<RuleRef<'m>> {
        if let Some(ns) = &binding.namespace {
            if request.namespace != Some(ns.as_str())
                || !checked_in_namespace(request.group, request.resource, request.verb)
            {
                return None;
            }
        }
        self.rules_of(binding)
            .iter()
            .find(|r| {
                allows(
                    r.rule,
                    request.group,
                    request.resource,
                    request.verb,
                    request.name,
                )
            })
            .copied()
    }

    /// The bindings that apply to `subject`: by its name and through its
    /// implicit groups, in the order of the bindings.
    pub fn bindings_of(&self, subject: &Subject) -> Vec<&Binding<'m>> {
        let mut indices: BTreeSet<usize> = BTreeSet::new();
        let groups = subject.implicit_groups();
        let names = std::iter::once(subject.clone()).chain(groups.into_iter().map(Subject::Group));
        for name in names {
            if let Some(list) = self.by_subject.get(&name) {
                indices.extend(list.iter().copied());
            }
        }
        indices.into_iter().map(|i| &self.bindings[i]).collect()
    }

    /// May `subject` make `request`? The binding and rule that allow it.
    pub fn allows(
        &self,
        subject: &Subject,
        request: &Request,
    ) -> Option<(&Binding<'m>, RuleRef<'m>)> {
        self.bindings_of(subject)
            .into_iter()
            .find_map(|b| Some((b, self.binding_allows(b, request)?)))
    }

    /// Every binding that allows `request`, with its rule: who may.
    pub fn who_may(&self, request: &Request) -> Vec<(&Binding<'m>, RuleRef<'m>)> {
        self.bindings
            .iter()
            .filter_map(|b| Some((b, self.binding_allows(b, request)?)))
            .collect()
    }

    /// Does the binding's role allow every verb on every resource of every
    /// API group: cluster-admin through a ClusterRoleBinding, admin of its
    /// namespace through a RoleBinding? Decided by the rules, never the
    /// role's name.
    pub fn grants_everything(&self, binding: &Binding<'m>) -> bool {
        self.roles
            .get(&binding.role)
            .is_some_and(Role::grants_everything)
    }

    /// Is the binding cluster-admin: everything, cluster-wide?
    pub fn is_cluster_admin(&self, binding: &Binding<'m>) -> bool {
        binding.namespace.is_none() && self.grants_everything(binding)
    }
}

/// Can a request for `verb` on `resource` carry a namespace, so that a
/// RoleBinding may allow it? Not for a cluster-scoped resource, except
/// `bind` on a ClusterRole, which the API server checks in the namespace
/// of the RoleBinding being made.
fn checked_in_namespace(group: &str, resource: &str, verb: &str) -> bool {
    !cluster_scoped(group, resource)
        || (group == RBAC_GROUP && resource == "clusterroles" && verb == "bind")
}

/// What `rules`, bound in `namespace` (`None`: cluster-wide), grant of
/// `verb` on `resource` of `group`: the first rule that grants it, and the
/// names all of them limit it to (`None`: every object).
pub fn grant<'m>(
    rules: &[RuleRef<'m>],
    namespace: Option<&str>,
    group: &str,
    resource: &str,
    verb: &str,
) -> Option<Grant<'m>> {
    if namespace.is_some() && !checked_in_namespace(group, resource, verb) {
        return None;
    }
    let mut first = None;
    let mut names: Option<Vec<String>> = Some(Vec::new());
    for rule in rules {
        let Some(limited) = allows_names(rule.rule, group, resource, verb) else {
            continue;
        };
        first.get_or_insert(*rule);
        match (limited, names.as_mut()) {
            (None, _) => names = None,
            (Some(limited), Some(all)) => all.extend(limited),
            (Some(_), None) => {}
        }
    }
    let rule = first?;
    Some(Grant {
        rule,
        names: names.map(|mut n| {
            n.sort();
            n.dedup();
            n
        }),
    })
}

/// Every role's effective rules: its own, or for an aggregated ClusterRole
/// the rules of every ClusterRole its selectors pick (which may themselves
/// be aggregated), as the aggregation controller keeps them.
fn effective_roles<'m>(
    objects: &BTreeMap<RoleKey, (&'m Object, &'m Resource)>,
) -> BTreeMap<RoleKey, Role<'m>> {
    let own = |object: &'m Object, rules: Option<&'m Vec<PolicyRule>>| {
        RuleRef::all(object, rules.map_or(&[][..], Vec::as_slice))
    };
    let cluster_roles: Vec<(&RoleKey, &'m Object, &'m ClusterRole)> = objects
        .iter()
        .filter_map(|(key, (object, resource))| match resource {
            Resource::ClusterRole(role) => Some((key, *object, role.as_ref())),
            _ => None,
        })
        .collect();
    let mut roles = BTreeMap::new();
    for (key, (object, resource)) in objects {
        if let Resource::Role(role) = resource {
            roles.insert(
                key.clone(),
                Role {
                    object,
                    rules: own(object, role.rules.as_ref()),
                },
            );
        }
    }
    // The aggregation controller's fixed point: each aggregated role holds
    // the rules of every role it selects, which may be aggregated too (even
    // in a cycle); rules only grow, so it ends.
    let no_labels = BTreeMap::new();
    let mut rules: Vec<Vec<RuleRef<'m>>> = cluster_roles
        .iter()
        .map(|(_, object, role)| match role.aggregation_rule {
            None => own(object, role.rules.as_ref()),
            Some(_) => Vec::new(),
        })
        .collect();
    let selected: Vec<(usize, Vec<usize>)> = cluster_roles
        .iter()
        .enumerate()
        .filter_map(|(i, (_, _, role))| {
            let selectors = role
                .aggregation_rule
                .as_ref()?
                .cluster_role_selectors
                .as_ref();
            let picks = (0..cluster_roles.len())
                .filter(|&j| {
                    let labels = cluster_roles[j]
                        .2
                        .metadata
                        .labels
                        .as_ref()
                        .unwrap_or(&no_labels);
                    j != i
                        && selectors
                            .into_iter()
                            .flatten()
                            .any(|selector| selector::selects(selector, labels))
                })
                .collect();
            Some((i, picks))
        })
        .collect();
    let id = |rule: &RuleRef| (rule.object as *const Object as usize, rule.index);
    let mut held: Vec<BTreeSet<(usize, usize)>> = vec![BTreeSet::new(); cluster_roles.len()];
    loop {
        let mut grew = false;
        for (i, picks) in &selected {
            for &j in picks {
                for k in 0..rules[j].len() {
                    let rule = rules[j][k];
                    if held[*i].insert(id(&rule)) {
                        rules[*i].push(rule);
                        grew = true;
                    }
                }
            }
        }
        if !grew {
            break;
        }
    }
    for ((key, object, _), rules) in cluster_roles.iter().zip(rules) {
        roles.insert((*key).clone(), Role { object, rules });
    }
    roles
}

#[cfg(test)]
mod tests;
