//! RBAC: roles that grant what amounts to more than it says (wildcards,
//! secrets, exec, workload creation, escalation, impersonation, tokens,
//! node proxy, certificate approval, webhooks, `aws-auth`), and bindings of
//! cluster-admin or to everyone.
//!
//! Rules are matched as the API server matches them
//! (`corral_core::authz`): `*` is any verb, group or resource, `*/exec` is
//! any resource's exec, `pods/*` is no subresource at all. A namespaced
//! Role never grants a cluster-scoped resource (nodes, CSRs, webhooks,
//! ClusterRoles, users and groups), so those rules fire on ClusterRoles
//! only; the exception is `bind` on ClusterRoles, which the API server
//! checks in the namespace of the RoleBinding being made. Bindings are
//! judged by what their role grants once the bootstrap roles and
//! aggregation are resolved, never by the role's name; findings are at
//! the input's objects only.
//!
//! A rule judges what the role grants: a grant restricted by
//! `resourceNames` is spared where that restriction is the rule's own fix
//! (reading Secrets, impersonating, changing admission webhooks), and CSR
//! approval takes both halves the API server checks, in one role. What
//! several roles of one subject grant together is the attack-path rules'
//! (`corral_paths`, over the same authorization model).

use corral_core::authz::{self, bootstrap, RoleKey, MASTERS, SERVICE_ACCOUNTS};
use corral_core::model::Resource;
use corral_core::Object;
use k8s_openapi::api::rbac::v1 as rbac;

use crate::declare_rule;
use crate::finding::Finding;
use crate::rule::{Context, Rule};

pub static RULES: &[&dyn Rule] = &[
    &Wildcards,
    &ClusterAdminBinding,
    &ReadSecrets,
    &ExecAttach,
    &CreateWorkloads,
    &BindEscalate,
    &Impersonate,
    &ServiceAccountTokens,
    &NodesProxy,
    &ApproveCsr,
    &AdmissionWebhooks,
    &AwsAuth,
    &GrantsToEveryone,
];

/// A role's rules, and its namespace: `Some` for a Role, `None` for a
/// ClusterRole.
fn role_rules<'r>(
    object: &Object,
    resource: &'r Resource,
) -> Option<(&'r [rbac::PolicyRule], Option<String>)> {
    match resource {
        Resource::Role(r) => Some((
            r.rules.as_deref().unwrap_or_default(),
            Some(object.namespace.clone().unwrap_or_else(|| "default".into())),
        )),
        Resource::ClusterRole(r) => Some((r.rules.as_deref().unwrap_or_default(), None)),
        _ => None,
    }
}

/// Some verbs on some resources of one API group.
struct Access {
    group: &'static str,
    resources: &'static [&'static str],
    verbs: &'static [&'static str],
}

/// What a grant rule makes of a grant that `resourceNames` restricts to
/// some objects.
enum Named {
    /// It fires all the same: the named objects are the danger.
    Fires,
    /// It is the fix the rule recommends and does not fire, unless it names
    /// one of these objects: `(group, resource, verb, name)`.
    Spared(&'static [(&'static str, &'static str, &'static str, &'static str)]),
    /// It is the fix, unless the role may also create the resource: its
    /// holder then creates the named object (a Secret of type
    /// service-account-token, say, which the token controller fills).
    SparedUnlessCreated,
}

/// Does `policy`, rule `index` of `all`, the rules of `object` (a Role in
/// `namespace`, or a ClusterRole), allow one of `wanted` on some object
/// (`Named::Fires`), or on every object or one of the exceptions
/// (`Named::Spared`), or on every object or one it may create
/// (`Named::SparedUnlessCreated`)? A Role
/// grants within its namespace only: no cluster-scoped resource, except
/// `bind` on ClusterRoles, which the API server checks in the namespace of
/// the RoleBinding being made. The names a grant is restricted to are the
/// authorization model's: `list` and `watch` name an object too (the API
/// server takes the name from a `metadata.name` field selector), `create`
/// of a resource never does.
fn grants_any(
    object: &Object,
    (policy, index, all): (&rbac::PolicyRule, usize, &[rbac::PolicyRule]),
    namespace: Option<&str>,
    wanted: &[Access],
    named: &Named,
) -> bool {
    let rule = [authz::RuleRef {
        rule: policy,
        object,
        index,
    }];
    let fires = |group: &str, resource: &str, verb: &str| {
        let Some(grant) = authz::grant(&rule, namespace, group, resource, verb) else {
            return false;
        };
        let creates = || {
            let rules = authz::RuleRef::all(object, all);
            authz::grant(&rules, namespace, group, resource, "create").is_some()
        };
        match (named, &grant.names) {
            (Named::Fires, _) | (Named::Spared(_) | Named::SparedUnlessCreated, None) => true,
            (Named::SparedUnlessCreated, Some(_)) => !resource.contains('/') && creates(),
            (Named::Spared(exceptions), Some(names)) => {
                exceptions.iter().any(|&(g, r, v, name)| {
                    (g, r, v) == (group, resource, verb) && names.iter().any(|n| n == name)
                })
            }
        }
    };
    wanted.iter().any(|access| {
        access.resources.iter().any(|resource| {
            access
                .verbs
                .iter()
                .any(|verb| fires(access.group, resource, verb))
        })
    })
}

/// Implement `Rule` for a rule over each policy rule of Roles and
/// ClusterRoles: `$body` (given the object, the rule, its index and the
/// role's namespace, `None` for a ClusterRole) returns the field, message
/// and fix when it fires.
macro_rules! role_rule {
    ($rule:ident, |$object:ident, $policy:ident, $index:ident, $namespace:ident, $all:ident| $body:expr) => {
        impl Rule for $rule {
            fn check_object(
                &self,
                _: &Context,
                object: &Object,
                resource: &Resource,
                out: &mut Vec<Finding>,
            ) {
                let Some((rules, namespace)) = role_rules(object, resource) else {
                    return;
                };
                let $object = object;
                let $namespace = namespace.as_deref();
                let $all = rules;
                for (i, $policy) in rules.iter().enumerate() {
                    let $index = i;
                    let fired: Option<(&str, String, String)> = $body;
                    if let Some((field, message, fix)) = fired {
                        out.push(Finding::new(
                            &Self::META,
                            object,
                            &format!("rules[{i}].{field}"),
                            message,
                            fix,
                        ));
                    }
                }
            }
        }
    };
}

const CORE: &str = "";

declare_rule! {
    /// ## What it does
    /// Flags a role rule with `*` in its verbs, resources or API groups.
    ///
    /// ## Why it matters
    /// A wildcard grants everything that exists today and everything added
    /// tomorrow: new resources, subresources such as `pods/exec`, and
    /// custom resources that hold credentials.
    ///
    /// ## How to fix
    /// List the verbs, resources and groups the subject needs.
    ///
    /// ## References
    /// - kube-linter `wildcard-in-rules`
    /// - https://kubernetes.io/docs/concepts/security/rbac-good-practices/
    Wildcards, "CRL-R001", "wildcard-in-rules", Rbac, High,
    "Role grants with a wildcard"
}

role_rule!(Wildcards, |_object, policy, _index, _namespace, _all| {
    let star = |l: Option<&Vec<String>>| l.is_some_and(|l| l.iter().any(|x| x == "*"));
    if policy.verbs.iter().any(|v| v == "*") {
        Some((
            "verbs",
            "the role grants every verb (`*`)".into(),
            "list the verbs needed".into(),
        ))
    } else if star(policy.resources.as_ref()) {
        Some((
            "resources",
            "the role grants on every resource (`*`)".into(),
            "list the resources needed".into(),
        ))
    } else if star(policy.api_groups.as_ref()) {
        Some((
            "apiGroups",
            "the role grants in every API group (`*`)".into(),
            "list the API groups needed".into(),
        ))
    } else {
        None
    }
});

/// A binding's role reference and subjects, and its namespace (`None` for
/// a ClusterRoleBinding).
fn binding_parts<'r>(
    object: &Object,
    resource: &'r Resource,
) -> Option<(&'r rbac::RoleRef, &'r [rbac::Subject], Option<String>)> {
    let namespace = || object.namespace.clone().unwrap_or_else(|| "default".into());
    match resource {
        Resource::RoleBinding(b) => Some((
            &b.role_ref,
            b.subjects.as_deref().unwrap_or_default(),
            Some(namespace()),
        )),
        Resource::ClusterRoleBinding(b) => {
            Some((&b.role_ref, b.subjects.as_deref().unwrap_or_default(), None))
        }
        _ => None,
    }
}

/// The role a binding references, as the authorizer resolves it (a
/// ClusterRoleBinding cannot reference a Role).
fn role_key(role: &rbac::RoleRef, namespace: Option<&str>) -> Option<RoleKey> {
    match (role.kind.as_str(), namespace) {
        ("ClusterRole", _) => Some(RoleKey {
            namespace: None,
            name: role.name.clone(),
        }),
        ("Role", Some(ns)) => Some(RoleKey {
            namespace: Some(ns.to_string()),
            name: role.name.clone(),
        }),
        _ => None,
    }
}

/// A finding of `rule` at each subject of a binding for which `fires`
/// returns the message and fix.
fn flag_subjects(
    rule: &'static crate::rule::RuleMeta,
    object: &Object,
    subjects: &[rbac::Subject],
    out: &mut Vec<Finding>,
    fires: impl Fn(&rbac::Subject) -> Option<(String, String)>,
) {
    for (i, subject) in subjects.iter().enumerate() {
        if let Some((message, fix)) = fires(subject) {
            out.push(Finding::new(
                rule,
                object,
                &format!("subjects[{i}].name"),
                message,
                fix,
            ));
        }
    }
}

declare_rule! {
    /// ## What it does
    /// Flags each subject of a ClusterRoleBinding or RoleBinding whose role
    /// grants every verb on every resource of every API group: the
    /// built-in `cluster-admin` (known whether or not the input defines
    /// it), or any role, aggregated ones included, that amounts to it. It is
    /// decided by the role's rules, never by its name: an input ClusterRole
    /// named `cluster-admin` that only reads ConfigMaps is not flagged. The
    /// group `system:masters` is exempt (it holds every permission
    /// anyway); every other subject is flagged, `system:` ones included
    /// (`system:serviceaccounts` is every pod's token).
    ///
    /// ## Why it matters
    /// Through a ClusterRoleBinding it is cluster-admin: whoever holds the
    /// subject's credentials owns the cluster. Through a RoleBinding it is
    /// admin of the namespace: every permission in it, all its secrets
    /// included.
    ///
    /// ## How to fix
    /// Bind a role with the permissions the subject needs.
    ///
    /// ## References
    /// - kube-linter `cluster-admin-role-binding`
    ClusterAdminBinding, "CRL-R002", "cluster-admin-binding", Rbac, Critical,
    "cluster-admin bound to a subject"
}

impl Rule for ClusterAdminBinding {
    fn check_object(
        &self,
        context: &Context,
        object: &Object,
        resource: &Resource,
        out: &mut Vec<Finding>,
    ) {
        let Some((role_ref, subjects, namespace)) = binding_parts(object, resource) else {
            return;
        };
        let everything = role_key(role_ref, namespace.as_deref())
            .and_then(|key| {
                context
                    .authz()
                    .role(&key)
                    .map(|role| role.grants_everything())
            })
            .unwrap_or(false);
        if !everything {
            return;
        }
        let held = match &namespace {
            None => "cluster-admin".to_string(),
            Some(ns) => format!("admin of namespace `{ns}` (every permission in it)"),
        };
        flag_subjects(&Self::META, object, subjects, out, |subject| {
            // A subject the authorizer cannot match (a ServiceAccount
            // without namespace in a ClusterRoleBinding) is granted nothing.
            let named = authz::Subject::of_binding(subject, namespace.as_deref())?;
            let masters = matches!(&named, authz::Subject::Group(g) if g == MASTERS);
            (!masters).then(|| {
                (
                    format!(
                        "{} `{}` is {held} through {} `{}`",
                        subject.kind, subject.name, role_ref.kind, role_ref.name
                    ),
                    "bind a role with only the permissions it needs".into(),
                )
            })
        });
    }
}

macro_rules! grant_rule {
    ($rule:ident, $id:literal, $kebab:literal, $severity:ident, $summary:literal,
     access: [$($access:expr),+ $(,)?], named: $named:expr,
     message: $message:literal, fix: $fix:literal, what: $what:literal, why: $why:literal) => {
        declare_rule! {
            #[doc = concat!("## What it does\n", $what,
                " Rules match as the API server matches them: `*` is any verb, group or resource, `*/exec` any resource's exec, `pods/*` no subresource.",
                "\n\n## Why it matters\n", $why,
                "\n\n## How to fix\n", $fix, ".\n\n## References\n- https://kubernetes.io/docs/concepts/security/rbac-good-practices/")]
            $rule, $id, $kebab, Rbac, $severity, $summary
        }

        role_rule!($rule, |object, policy, index, namespace, all| {
            grants_any(object, (policy, index, all), namespace, &[$($access),+], &$named)
                .then(|| ("verbs", $message.to_string(), $fix.to_string()))
        });
    };
}

grant_rule!(ReadSecrets, "CRL-R003", "read-secrets", High, "Role reads Secrets",
    access: [Access { group: CORE, resources: &["secrets"], verbs: &["get", "list", "watch"] }],
    named: Named::SparedUnlessCreated,
    message: "the role can read every Secret",
    fix: "grant `get` on the named Secrets needed (`resourceNames`), never `list` or `watch` on all of them",
    what: "Flags a role rule that grants `get`, `list` or `watch` on every Secret. A rule restricted by `resourceNames` reads only the Secrets it names and is not flagged: that is the fix, unless the role may also create Secrets (its holder creates a Secret of that name, of type `kubernetes.io/service-account-token` for any account, and reads the token the controller puts in it). `resourceNames: [\"\"]` is every `list` and `watch`. The API server allows `list` and `watch` by such a rule only with the field selector `metadata.name` of one of its names (it takes the request's name from it), and `get` only of them.",
    why: "Secrets hold every credential of the namespace, service account tokens included: `list` returns them all at once.");
grant_rule!(ExecAttach, "CRL-R004", "pods-exec-attach", High, "Role can exec into pods",
    access: [Access { group: CORE, resources: &["pods/exec", "pods/attach"], verbs: &["create", "get"] }],
    named: Named::Fires,
    message: "the role can run commands in pods (pods/exec or pods/attach)",
    fix: "remove pods/exec and pods/attach; use an audited break-glass role",
    what: "Flags a role rule that grants `create` (or `get`, which websockets use) on `pods/exec` or `pods/attach` (`*/exec` and `*/attach` included).",
    why: "Running a command in a pod is having its identity: its service account token, its secrets and its network position.");
grant_rule!(CreateWorkloads, "CRL-R005", "create-workloads", High, "Role can create or change workloads",
    access: [
        Access { group: CORE, resources: &["pods", "replicationcontrollers"], verbs: &["create", "update", "patch"] },
        Access { group: "apps", resources: &["deployments", "daemonsets", "statefulsets", "replicasets"], verbs: &["create", "update", "patch"] },
        Access { group: "batch", resources: &["jobs", "cronjobs"], verbs: &["create", "update", "patch"] },
    ],
    named: Named::Fires,
    message: "the role can create or change workloads",
    fix: "leave workload changes to the deployment pipeline's identity",
    what: "Flags a role rule that grants `create`, `update` or `patch` on pods or workload controllers, each in its own API group.",
    why: "Whoever creates a pod chooses its service account, its host mounts and its node: every secret and identity of the namespace, and the node if admission lets privileged pods through.");
grant_rule!(BindEscalate, "CRL-R006", "bind-escalate", Critical, "Role can bind or escalate roles",
    access: [Access { group: "rbac.authorization.k8s.io", resources: &["roles", "clusterroles"], verbs: &["bind", "escalate"] }],
    named: Named::Fires,
    message: "the role can bind or escalate roles, beyond its own permissions",
    fix: "remove `bind` and `escalate`",
    what: "Flags a role rule that grants `bind` or `escalate` on roles or cluster roles. In a namespaced Role, `escalate` on ClusterRoles grants nothing (they are cluster-scoped), but `bind` on them does: the API server checks it in the namespace of the RoleBinding being made, so the holder can bind any ClusterRole there.",
    why: "These verbs lift RBAC's own guard against granting more than one has: the holder can make itself cluster-admin.");
grant_rule!(Impersonate, "CRL-R007", "impersonate", Critical, "Role can impersonate",
    access: [
        Access { group: CORE, resources: &["users", "groups", "serviceaccounts"], verbs: &["impersonate"] },
        Access { group: "authentication.k8s.io", resources: &["userextras/scopes", "uids"], verbs: &["impersonate"] },
    ],
    named: Named::Spared(&[(CORE, "groups", "impersonate", MASTERS)]),
    message: "the role can impersonate any user, group or service account, or the group `system:masters`",
    fix: "remove `impersonate`, or restrict it with `resourceNames`",
    what: "Flags a role rule that grants `impersonate` of every user, group, service account, UID or extra (a namespaced Role: of service accounts only, as users, groups, UIDs and extras are cluster-scoped). A rule restricted by `resourceNames` is the fix and is not flagged, unless it names the group `system:masters`, which holds every permission whatever the bindings; whether impersonating a named subject leads further is the attack-path rules' question.",
    why: "Impersonation acts as another subject, `system:masters` included: any permission of anyone.");
grant_rule!(ServiceAccountTokens, "CRL-R008", "serviceaccount-token", High, "Role can mint service account tokens",
    access: [Access { group: CORE, resources: &["serviceaccounts/token"], verbs: &["create"] }],
    named: Named::Fires,
    message: "the role can mint tokens for service accounts",
    fix: "remove `create` on serviceaccounts/token",
    what: "Flags a role rule that grants `create` on `serviceaccounts/token` (the TokenRequest API).",
    why: "A minted token is the service account's identity, for as long as the holder asks, including any cloud role bound to it.");
grant_rule!(NodesProxy, "CRL-R009", "nodes-proxy", High, "Role can reach kubelets through nodes/proxy",
    access: [Access { group: CORE, resources: &["nodes/proxy"], verbs: &["get", "create", "update", "patch"] }],
    named: Named::Fires,
    message: "the role can reach every kubelet's API through nodes/proxy",
    fix: "remove nodes/proxy; read metrics through the metrics API",
    what: "Flags a ClusterRole rule that grants access to `nodes/proxy` (nodes are cluster-scoped: a namespaced Role cannot grant it).",
    why: "The kubelet API runs commands in any pod on the node, bypassing the API server's authorization and audit of pods/exec.");
declare_rule! {
    /// ## What it does
    /// Flags a ClusterRole that can approve CertificateSigningRequests for
    /// a signer whose certificates the API server accepts as client
    /// credentials (`kubernetes.io/kube-apiserver-client`, and
    /// `kubernetes.io/kube-apiserver-client-kubelet` for node identities).
    /// Approving takes both halves the API server checks: `update` or
    /// `patch` on `certificatesigningrequests/approval`, and `approve` on
    /// `signers` in `certificates.k8s.io`, named by the signer or by its
    /// domain's wildcard (`kubernetes.io/*`), or unrestricted. The halves
    /// may be in different rules of the role; the finding is at each rule
    /// that grants the approval, and names the rule that grants the signer.
    /// Either half alone approves nothing and is not flagged, nor is
    /// approving for another signer (`example.com/...`), which the
    /// controller manager does not sign. Both resources are cluster-scoped,
    /// so a namespaced Role cannot grant it.
    ///
    /// The rule judges one role. A subject that holds the two halves
    /// through two roles (two bindings, or an aggregated ClusterRole) can
    /// approve too: the attack-path rules combine every binding of a
    /// subject through the authorization model, and report the subject
    /// that can create and approve such a request (cluster-admin).
    ///
    /// ## Why it matters
    /// Approving one's own request for a client certificate with the
    /// `system:masters` group is cluster-admin; a kubelet client
    /// certificate is a node's identity.
    ///
    /// ## How to fix
    /// Leave approval to the controller manager, or restrict `approve` on
    /// `signers` (`resourceNames`) to the signers the approver handles.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/reference/access-authn-authz/certificate-signing-requests/#authorization
    /// - https://kubernetes.io/docs/concepts/security/rbac-good-practices/
    ApproveCsr, "CRL-R010", "approve-csr", Rbac, High,
    "Role can approve certificate requests"
}

const CERTIFICATES: &str = "certificates.k8s.io";

/// The signers whose certificates the API server accepts as client
/// credentials.
const CLIENT_SIGNERS: [&str; 2] = [
    "kubernetes.io/kube-apiserver-client",
    "kubernetes.io/kube-apiserver-client-kubelet",
];

/// The client signer that `rule` (in `namespace`, `None` for a
/// ClusterRole) allows approving, as the API server asks it: `approve` on
/// `signers` named by the signer, or by its domain's wildcard.
fn approved_signer(rule: &authz::RuleRef, namespace: Option<&str>) -> Option<&'static str> {
    let grant = authz::grant(
        std::slice::from_ref(rule),
        namespace,
        CERTIFICATES,
        "signers",
        "approve",
    )?;
    CLIENT_SIGNERS
        .into_iter()
        .find(|signer| match &grant.names {
            None => true,
            Some(names) => names.iter().any(|n| n == signer || n == "kubernetes.io/*"),
        })
}

impl Rule for ApproveCsr {
    fn check_object(
        &self,
        _: &Context,
        object: &Object,
        resource: &Resource,
        out: &mut Vec<Finding>,
    ) {
        let Some((rules, namespace)) = role_rules(object, resource) else {
            return;
        };
        let namespace = namespace.as_deref();
        let rules = authz::RuleRef::all(object, rules);
        let Some((signers, signer)) = rules
            .iter()
            .find_map(|r| Some((r, approved_signer(r, namespace)?)))
        else {
            return;
        };
        for rule in &rules {
            // Whoever may create a request names it: `resourceNames` on
            // the approval bounds nothing.
            let verb = ["update", "patch"].into_iter().find(|verb| {
                authz::grant(
                    std::slice::from_ref(rule),
                    namespace,
                    CERTIFICATES,
                    "certificatesigningrequests/approval",
                    verb,
                )
                .is_some()
            });
            let Some(verb) = verb else {
                continue;
            };
            let with = if signers.index == rule.index {
                "the same rule".to_string()
            } else {
                signers.path()
            };
            out.push(Finding::new(
                &Self::META,
                object,
                &format!("{}.verbs", rule.path()),
                format!(
                    "the role can approve certificate signing requests of `{signer}` (`{verb}` on certificatesigningrequests/approval, `approve` on signers in {with})"
                ),
                "leave approval to the controller manager, or restrict `approve` on signers to the signers it handles".into(),
            ));
        }
    }
}
grant_rule!(AdmissionWebhooks, "CRL-R011", "admission-webhooks", High, "Role can change admission webhooks",
    access: [Access {
        group: "admissionregistration.k8s.io",
        resources: &["validatingwebhookconfigurations", "mutatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"],
        verbs: &["create", "update", "patch", "delete"],
    }],
    named: Named::Spared(&[]),
    message: "the role can change any admission webhook or policy",
    fix: "restrict it to the operator that owns them, with `resourceNames`",
    what: "Flags a ClusterRole rule that grants changes to every admission webhook or admission policy (cluster-scoped: a namespaced Role cannot grant them). A rule restricted by `resourceNames` changes only the configurations it names (and cannot create any): that is the fix, and it is not flagged.",
    why: "A mutating webhook sees and rewrites every object created, secrets included; deleting a validating one removes the cluster's guard rails.");

declare_rule! {
    /// ## What it does
    /// Flags a role rule that can change the `aws-auth` ConfigMap: `update`,
    /// `patch` or `delete` on ConfigMaps named `aws-auth`, or on every
    /// ConfigMap, in a role of `kube-system` or a ClusterRole.
    ///
    /// ## Why it matters
    /// On EKS, `aws-auth` maps AWS identities to Kubernetes groups: whoever
    /// edits it can map their own AWS role to `system:masters`.
    ///
    /// ## How to fix
    /// Remove the grant, and manage access with EKS access entries.
    ///
    /// ## References
    /// - https://docs.aws.amazon.com/eks/latest/userguide/auth-configmap.html
    AwsAuth, "CRL-R012", "aws-auth-write", Rbac, Critical,
    "Role can rewrite the aws-auth ConfigMap"
}

impl Rule for AwsAuth {
    fn check_object(
        &self,
        _: &Context,
        object: &Object,
        resource: &Resource,
        out: &mut Vec<Finding>,
    ) {
        let Some((rules, namespace)) = role_rules(object, resource) else {
            return;
        };
        if namespace.is_some_and(|ns| ns != "kube-system") {
            return;
        }
        for (i, policy) in rules.iter().enumerate() {
            let rewrites = ["update", "patch", "delete"]
                .iter()
                .any(|verb| authz::allows(policy, CORE, "configmaps", verb, Some("aws-auth")));
            if rewrites {
                out.push(Finding::new(
                    &Self::META,
                    object,
                    &format!("rules[{i}].verbs"),
                    "the role can rewrite the aws-auth ConfigMap".into(),
                    "remove the grant; manage access with EKS access entries".into(),
                ));
            }
        }
    }
}

/// Groups that hold everyone who can reach the API server, everyone who
/// authenticated, or every pod's service account token.
const EVERYONE: [&str; 3] = [
    "system:unauthenticated",
    "system:authenticated",
    SERVICE_ACCOUNTS,
];
/// The user of a request without credentials.
const ANONYMOUS: &str = "system:anonymous";

/// Roles every cluster binds to everyone, by design.
const PUBLIC_ROLES: [&str; 4] = [
    "system:basic-user",
    "system:discovery",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
];

/// Is `role` one of the public built-in ClusterRoles, granting no more
/// than the bootstrap policy's own (an input copy of it is, an input
/// redefinition that grants more is not)?
fn public_role(context: &Context, role: &rbac::RoleRef) -> bool {
    if role.kind != "ClusterRole" || !PUBLIC_ROLES.contains(&role.name.as_str()) {
        return false;
    }
    let key = RoleKey {
        namespace: None,
        name: role.name.clone(),
    };
    let Some(effective) = context.authz().role(&key) else {
        return false;
    };
    let builtin: Vec<&rbac::PolicyRule> = bootstrap::model()
        .iter()
        .filter_map(|(object, resource)| match resource {
            Resource::ClusterRole(r) if object.name.as_deref() == Some(role.name.as_str()) => {
                r.rules.as_ref()
            }
            _ => None,
        })
        .flatten()
        .collect();
    authz::covers(&builtin, &effective.policy_rules())
}

declare_rule! {
    /// ## What it does
    /// Flags a binding to everyone: the groups `system:unauthenticated`,
    /// `system:authenticated` or `system:serviceaccounts`, or the user
    /// `system:anonymous`, except of the roles Kubernetes itself binds to
    /// them (discovery, basic user, public info, service account issuer
    /// discovery) as long as they grant no more than the built-in ones.
    ///
    /// ## Why it matters
    /// `system:authenticated` is every user and every service account of
    /// every pod (and, on managed clusters, any cloud account);
    /// `system:serviceaccounts` is every pod's token, so one compromised
    /// pod holds the grant; the anonymous user and unauthenticated group
    /// are anyone who can reach the API server.
    ///
    /// ## How to fix
    /// Bind the role to the groups or service accounts that need it.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings
    GrantsToEveryone, "CRL-R013", "grants-to-everyone", Rbac, Critical,
    "Role bound to anonymous, all users or all service accounts"
}

impl Rule for GrantsToEveryone {
    fn check_object(
        &self,
        context: &Context,
        object: &Object,
        resource: &Resource,
        out: &mut Vec<Finding>,
    ) {
        let Some((role, subjects, _)) = binding_parts(object, resource) else {
            return;
        };
        flag_subjects(&Self::META, object, subjects, out, |subject| {
            let everyone = match subject.kind.as_str() {
                "Group" => EVERYONE.contains(&subject.name.as_str()),
                "User" => subject.name == ANONYMOUS,
                _ => false,
            };
            (everyone && !public_role(context, role)).then(|| {
                (
                    format!(
                        "{} `{}` is bound to everyone, as {} `{}`",
                        role.kind, role.name, subject.kind, subject.name
                    ),
                    "bind the role to the subjects that need it".into(),
                )
            })
        });
    }
}
