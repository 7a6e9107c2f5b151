//! What permissions amount to together, asked of a holder: one permission
//! set, or a subject with all its bindings (its own and its groups'), since
//! the API server adds up every binding of the requester. Binding a role
//! needs `create` on bindings and `bind` on the role; escalating one needs
//! `escalate` and `update`; a client certificate needs three grants;
//! impersonating a group needs impersonating someone too. Each may be
//! granted by a different binding.

use std::collections::BTreeSet;

use corral_core::authz::{self, Authz, Binding, Request, RoleKey, RuleRef, Subject, RBAC_GROUP};

/// Who asks: one binding, or a subject with all of its.
#[derive(Clone, Copy)]
pub(super) enum Holder<'a, 'm> {
    Binding(&'a Binding<'m>),
    Subject(&'a Subject),
}

/// A binding the holder could make: namespace (`None`: a
/// ClusterRoleBinding), the role, and the rule that lets it.
pub(super) struct Makes<'m> {
    pub namespace: Option<String>,
    pub role: RoleKey,
    pub rule: RuleRef<'m>,
    pub verb: &'static str,
    pub resource: &'static str,
}

/// Cluster-admin in one step, and the rule that gives it.
pub(super) struct Admin<'m> {
    pub kind: crate::EdgeKind,
    pub rule: RuleRef<'m>,
    pub verb: &'static str,
    pub resource: &'static str,
    pub detail: &'static str,
}

pub(super) struct Ask<'a, 'm> {
    pub authz: &'a Authz<'m>,
    pub holder: Holder<'a, 'm>,
    /// The holder's bindings, its groups' included.
    bindings: Vec<&'a Binding<'m>>,
}

const EVERYTHING: &str = "cluster-admin";

impl<'a, 'm> Ask<'a, 'm> {
    pub fn new(authz: &'a Authz<'m>, holder: Holder<'a, 'm>) -> Self {
        let bindings = match holder {
            Holder::Binding(binding) => vec![binding],
            Holder::Subject(subject) => authz.bindings_of(subject),
        };
        Ask {
            authz,
            holder,
            bindings,
        }
    }

    /// The rule that allows `request`, from any of the holder's bindings.
    pub fn may(&self, request: &Request) -> Option<RuleRef<'m>> {
        match self.holder {
            Holder::Binding(binding) => self.authz.binding_allows(binding, request),
            Holder::Subject(_) => self
                .bindings
                .iter()
                .find_map(|b| self.authz.binding_allows(b, request)),
        }
    }

    pub fn bindings(&self) -> &[&'a Binding<'m>] {
        &self.bindings
    }

    /// Does some binding grant `verb` on `resource` for some name?
    fn grants_any(&self, group: &str, resource: &str, verb: &str) -> bool {
        self.bindings
            .iter()
            .any(|b| self.authz.grant(b, group, resource, verb).is_some())
    }

    /// The bindings the holder could make: of every role it may bind, in
    /// every namespace it may create RoleBindings in (every namespace for a
    /// cluster-wide grant), or cluster-wide; and of everything in a
    /// namespace where it may escalate a role it holds there.
    pub fn makes(&self, namespaces: &BTreeSet<&str>) -> Vec<Makes<'m>> {
        let bindings = self.bindings();
        // Cluster-admin already: a binding it makes gives it nothing more.
        if bindings.iter().any(|b| self.authz.is_cluster_admin(b)) {
            return Vec::new();
        }
        let escalates = self.grants_any(RBAC_GROUP, "roles", "escalate")
            || self.grants_any(RBAC_GROUP, "clusterroles", "escalate");
        let creates = self.grants_any(RBAC_GROUP, "rolebindings", "create")
            || self.grants_any(RBAC_GROUP, "clusterrolebindings", "create");
        if !escalates && !creates {
            return Vec::new();
        }
        let mut made = Vec::new();
        let mut make =
            |namespace: Option<&str>, role: RoleKey, rule: RuleRef<'m>, verb, resource| {
                if self.authz.role(&role).is_some() {
                    made.push(Makes {
                        namespace: namespace.map(str::to_string),
                        role,
                        rule,
                        verb,
                        resource,
                    });
                }
            };
        // The roles worth binding: everything, and each one a `bind` names.
        let mut cluster_roles: BTreeSet<String> = BTreeSet::from([EVERYTHING.to_string()]);
        let mut roles: BTreeSet<String> = BTreeSet::new();
        let mut any_role = false;
        for binding in bindings {
            for rule in self.authz.rules_of(binding) {
                for (resource, into) in
                    [("clusterroles", &mut cluster_roles), ("roles", &mut roles)]
                {
                    match authz::allows_names(rule.rule, RBAC_GROUP, resource, "bind") {
                        Some(Some(names)) => into.extend(names),
                        Some(None) if resource == "roles" => any_role = true,
                        _ => {}
                    }
                }
            }
        }
        let cluster_wide = bindings.iter().any(|b| b.namespace.is_none());
        let mut in_namespaces: BTreeSet<&str> = bindings
            .iter()
            .filter_map(|b| b.namespace.as_deref())
            .collect();
        if cluster_wide {
            in_namespaces.extend(namespaces.iter().copied());
        }
        let create_in = |ns: Option<&str>, resource: &'static str| {
            let request = Request::new("create", RBAC_GROUP, resource);
            self.may(&match ns {
                Some(ns) => request.in_namespace(ns),
                None => request,
            })
        };
        let binds = |ns: Option<&str>, resource: &str, name: &str| {
            let request = Request::new("bind", RBAC_GROUP, resource).named(name);
            self.may(&match ns {
                Some(ns) => request.in_namespace(ns),
                None => request,
            })
            .is_some()
        };
        if let Some(create) = create_in(None, "clusterrolebindings") {
            for role in &cluster_roles {
                if binds(None, "clusterroles", role) {
                    make(
                        None,
                        cluster_key(role),
                        create,
                        "create",
                        "clusterrolebindings",
                    );
                }
            }
        }
        for ns in &in_namespaces {
            let Some(create) = create_in(Some(ns), "rolebindings") else {
                continue;
            };
            // Everything there already: nothing to gain there.
            let everything_here = bindings
                .iter()
                .any(|b| b.namespace.as_deref() == Some(*ns) && self.authz.grants_everything(b));
            if everything_here {
                continue;
            }
            for role in &cluster_roles {
                if binds(Some(ns), "clusterroles", role) {
                    make(
                        Some(ns),
                        cluster_key(role),
                        create,
                        "create",
                        "rolebindings",
                    );
                }
            }
            let mut here: BTreeSet<String> = roles.clone();
            if any_role {
                here.extend(
                    self.authz
                        .roles()
                        .filter(|(key, _)| key.namespace.as_deref() == Some(*ns))
                        .map(|(key, _)| key.name.clone()),
                );
            }
            for role in &here {
                if binds(Some(ns), "roles", role) {
                    let key = RoleKey {
                        namespace: Some(ns.to_string()),
                        name: role.clone(),
                    };
                    make(Some(ns), key, create, "create", "rolebindings");
                }
            }
        }
        // Escalating a role it holds: any rule, where that role is bound.
        for binding in bindings {
            let (resource, ns) = match &binding.role.namespace {
                Some(ns) => ("roles", Some(ns.as_str())),
                None => ("clusterroles", None),
            };
            let changes = |verb: &str| {
                let request = Request::new(verb, RBAC_GROUP, resource).named(&binding.role.name);
                self.may(&match ns {
                    Some(ns) => request.in_namespace(ns),
                    None => request,
                })
            };
            let (Some(escalate), true) = (
                changes("escalate"),
                changes("update").is_some() || changes("patch").is_some(),
            ) else {
                continue;
            };
            // A ClusterRole bound cluster-wide is cluster-admin in one step
            // ([`Ask::admin`]); bound in a namespace, everything there.
            if let Some(bound_in) = binding.namespace.as_deref() {
                make(
                    Some(bound_in),
                    cluster_key(EVERYTHING),
                    escalate,
                    "escalate",
                    resource,
                );
            }
        }
        made
    }

    /// Cluster-admin in one step: escalating a ClusterRole bound to it
    /// cluster-wide, or approving a client certificate of its own.
    pub fn admin(&self) -> Vec<Admin<'m>> {
        let mut found = Vec::new();
        let escalates = self.grants_any(RBAC_GROUP, "clusterroles", "escalate");
        for binding in self.bindings().iter().filter(|_| escalates) {
            if binding.namespace.is_some() || binding.role.namespace.is_some() {
                continue;
            }
            let changes = |verb: &str| {
                self.may(&Request::new(verb, RBAC_GROUP, "clusterroles").named(&binding.role.name))
            };
            if let (Some(rule), true) = (
                changes("escalate"),
                changes("update").is_some() || changes("patch").is_some(),
            ) {
                found.push(Admin {
                    kind: crate::EdgeKind::RoleEscalate,
                    rule,
                    verb: "escalate",
                    resource: "clusterroles",
                    detail: "may escalate a cluster role it holds",
                });
                break;
            }
        }
        let certificates = "certificates.k8s.io";
        if !self.grants_any(certificates, "signers", "approve") {
            return found;
        }
        let approval = |verb| {
            self.may(&Request::new(
                verb,
                certificates,
                "certificatesigningrequests/approval",
            ))
        };
        let approves = ["kubernetes.io/kube-apiserver-client", "kubernetes.io/*"]
            .iter()
            .any(|signer| {
                self.may(&Request::new("approve", certificates, "signers").named(signer))
                    .is_some()
            });
        let creates = self
            .may(&Request::new(
                "create",
                certificates,
                "certificatesigningrequests",
            ))
            .is_some();
        if let (true, true, Some(rule)) = (
            creates,
            approves,
            approval("update").or_else(|| approval("patch")),
        ) {
            found.push(Admin {
                kind: crate::EdgeKind::CsrApprove,
                rule,
                verb: "update",
                resource: "certificatesigningrequests/approval",
                detail: "may create and approve client certificates of kubernetes.io/kube-apiserver-client",
            });
        }
        found
    }

    /// May it impersonate the user or group `name` (`resource`: `users` or
    /// `groups`)? A group only along with some user or service account, as
    /// the API server requires.
    /// May it impersonate some user or group at all? (Most holders may
    /// not: no need to ask for each one.)
    pub fn impersonates_any(&self) -> bool {
        self.grants_any("", "users", "impersonate") || self.grants_any("", "groups", "impersonate")
    }

    /// May it impersonate every user (or group), whatever the name?
    pub fn impersonates_every(&self, resource: &str) -> Option<RuleRef<'m>> {
        self.impersonates_ready(resource)?;
        self.may(&Request::new("impersonate", "", resource))
    }

    /// Impersonating a group needs impersonating someone too.
    fn impersonates_ready(&self, resource: &str) -> Option<()> {
        (resource != "groups"
            || self.grants_any("", "users", "impersonate")
            || self.grants_any("", "serviceaccounts", "impersonate"))
        .then_some(())
    }

    pub fn impersonates(&self, resource: &str, name: &str) -> Option<RuleRef<'m>> {
        self.impersonates_ready(resource)?;
        self.may(&Request::new("impersonate", "", resource).named(name))
    }
}

fn cluster_key(name: &str) -> RoleKey {
    RoleKey {
        namespace: None,
        name: name.to_string(),
    }
}
