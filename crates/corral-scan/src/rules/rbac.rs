//! RBAC: roles that grant what amounts to more than it says (wildcards,
//! secrets, exec, workload creation, escalation, impersonation, tokens,
//! node proxy, certificate approval, webhooks, `aws-auth`), and bindings of
//! cluster-admin or to everyone.

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

fn role_rules(resource: &Resource) -> Option<&[rbac::PolicyRule]> {
    match resource {
        Resource::Role(r) => r.rules.as_deref(),
        Resource::ClusterRole(r) => r.rules.as_deref(),
        _ => None,
    }
}

fn has(list: Option<&Vec<String>>, wanted: &[&str]) -> bool {
    list.is_some_and(|l| l.iter().any(|x| x == "*" || wanted.contains(&x.as_str())))
}

/// Does `rule` grant one of `verbs` on one of `resources` of one of
/// `groups` (with `*` matching anything)?
fn grants(rule: &rbac::PolicyRule, groups: &[&str], resources: &[&str], verbs: &[&str]) -> bool {
    has(rule.api_groups.as_ref(), groups)
        && has(rule.resources.as_ref(), resources)
        && rule
            .verbs
            .iter()
            .any(|v| v == "*" || verbs.contains(&v.as_str()))
}

/// Implement `Rule` for a rule over each policy rule of Roles and
/// ClusterRoles: `$body` returns the message and fix when it fires.
macro_rules! role_rule {
    ($rule:ident, |$policy:ident| $body:expr) => {
        impl Rule for $rule {
            fn check_object(
                &self,
                _: &Context,
                object: &Object,
                resource: &Resource,
                out: &mut Vec<Finding>,
            ) {
                let Some(rules) = role_rules(resource) else {
                    return;
                };
                for (i, $policy) in rules.iter().enumerate() {
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

role_rule!(Wildcards, |policy| {
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

fn system_subject(subject: &rbac::Subject) -> bool {
    subject.name.starts_with("system:")
}

fn bindings(resource: &Resource) -> Option<(&rbac::RoleRef, &[rbac::Subject])> {
    match resource {
        Resource::RoleBinding(b) => Some((&b.role_ref, b.subjects.as_deref().unwrap_or_default())),
        Resource::ClusterRoleBinding(b) => {
            Some((&b.role_ref, b.subjects.as_deref().unwrap_or_default()))
        }
        _ => None,
    }
}

/// A finding of `rule` at each subject of a binding for which `fires`
/// returns the message and fix.
fn flag_subjects(
    rule: &'static crate::rule::RuleMeta,
    object: &Object,
    resource: &Resource,
    out: &mut Vec<Finding>,
    fires: impl Fn(&rbac::RoleRef, &rbac::Subject) -> Option<(String, String)>,
) {
    let Some((role, subjects)) = bindings(resource) else {
        return;
    };
    for (i, subject) in subjects.iter().enumerate() {
        if let Some((message, fix)) = fires(role, subject) {
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
    /// Flags a RoleBinding or ClusterRoleBinding of the `cluster-admin`
    /// ClusterRole to a subject that is not a built-in `system:` one.
    ///
    /// ## Why it matters
    /// `cluster-admin` is every permission on every resource: whoever holds
    /// the subject's credentials owns the cluster (and, through a
    /// RoleBinding, the namespace with all its secrets).
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
        _: &Context,
        object: &Object,
        resource: &Resource,
        out: &mut Vec<Finding>,
    ) {
        flag_subjects(&Self::META, object, resource, out, |role, subject| {
            let admin = role.kind == "ClusterRole" && role.name == "cluster-admin";
            (admin && !system_subject(subject)).then(|| {
                (
                    format!(
                        "{} `{}` is bound to cluster-admin",
                        subject.kind, subject.name
                    ),
                    "bind a role with only the permissions it needs".into(),
                )
            })
        });
    }
}

macro_rules! grant_rule {
    ($rule:ident, $id:literal, $kebab:literal, $severity:ident, $summary:literal,
     groups: $groups:expr, resources: $resources:expr, verbs: $verbs:expr,
     message: $message:literal, fix: $fix:literal, what: $what:literal, why: $why:literal) => {
        declare_rule! {
            #[doc = concat!("## What it does\n", $what, "\n\n## Why it matters\n", $why,
                "\n\n## How to fix\n", $fix, ".\n\n## References\n- https://kubernetes.io/docs/concepts/security/rbac-good-practices/")]
            $rule, $id, $kebab, Rbac, $severity, $summary
        }

        role_rule!($rule, |policy| {
            grants(policy, &$groups, &$resources, &$verbs)
                .then(|| ("verbs", $message.to_string(), $fix.to_string()))
        });
    };
}

grant_rule!(ReadSecrets, "CRL-R003", "read-secrets", High, "Role reads Secrets",
    groups: [CORE], resources: ["secrets"], verbs: ["get", "list", "watch"],
    message: "the role can read Secrets",
    fix: "grant `get` on the named Secrets needed (`resourceNames`), never `list` or `watch`",
    what: "Flags a role rule that grants `get`, `list` or `watch` on Secrets.",
    why: "Secrets hold every credential of the namespace, service account tokens included: `list` returns them all at once.");
grant_rule!(ExecAttach, "CRL-R004", "pods-exec-attach", High, "Role can exec into pods",
    groups: [CORE], resources: ["pods/exec", "pods/attach"], verbs: ["create", "get"],
    message: "the role can run commands in pods (pods/exec or pods/attach)",
    fix: "remove pods/exec and pods/attach; use an audited break-glass role",
    what: "Flags a role rule that grants `create` (or `get`, which websockets use) on `pods/exec` or `pods/attach`.",
    why: "Running a command in a pod is having its identity: its service account token, its secrets and its network position.");
grant_rule!(CreateWorkloads, "CRL-R005", "create-workloads", High, "Role can create or change workloads",
    groups: [CORE, "apps", "batch"],
    resources: ["pods", "deployments", "daemonsets", "statefulsets", "replicasets", "replicationcontrollers", "jobs", "cronjobs"],
    verbs: ["create", "update", "patch"],
    message: "the role can create or change workloads",
    fix: "leave workload changes to the deployment pipeline's identity",
    what: "Flags a role rule that grants `create`, `update` or `patch` on pods or workload controllers.",
    why: "Whoever creates a pod chooses its service account, its host mounts and its node: every secret and identity of the namespace, and the node if admission lets privileged pods through.");
grant_rule!(BindEscalate, "CRL-R006", "bind-escalate", Critical, "Role can bind or escalate roles",
    groups: ["rbac.authorization.k8s.io"], resources: ["roles", "clusterroles"], verbs: ["bind", "escalate"],
    message: "the role can bind or escalate roles, beyond its own permissions",
    fix: "remove `bind` and `escalate`",
    what: "Flags a role rule that grants `bind` or `escalate` on roles or cluster roles.",
    why: "These verbs lift RBAC's own guard against granting more than one has: the holder can make itself cluster-admin.");
grant_rule!(Impersonate, "CRL-R007", "impersonate", Critical, "Role can impersonate",
    groups: [CORE, "authentication.k8s.io"], resources: ["users", "groups", "serviceaccounts", "userextras/scopes", "uids"], verbs: ["impersonate"],
    message: "the role can impersonate users, groups or service accounts",
    fix: "remove `impersonate`, or restrict it with `resourceNames`",
    what: "Flags a role rule that grants `impersonate`.",
    why: "Impersonation acts as another subject, `system:masters` included: any permission of anyone.");
grant_rule!(ServiceAccountTokens, "CRL-R008", "serviceaccount-token", High, "Role can mint service account tokens",
    groups: [CORE], resources: ["serviceaccounts/token"], verbs: ["create"],
    message: "the role can mint tokens for service accounts",
    fix: "remove `create` on serviceaccounts/token",
    what: "Flags a role rule that grants `create` on `serviceaccounts/token` (the TokenRequest API).",
    why: "A minted token is the service account's identity, for as long as the holder asks, including any cloud role bound to it.");
grant_rule!(NodesProxy, "CRL-R009", "nodes-proxy", High, "Role can reach kubelets through nodes/proxy",
    groups: [CORE], resources: ["nodes/proxy"], verbs: ["get", "create", "update", "patch"],
    message: "the role can reach every kubelet's API through nodes/proxy",
    fix: "remove nodes/proxy; read metrics through the metrics API",
    what: "Flags a role rule that grants access to `nodes/proxy`.",
    why: "The kubelet API runs commands in any pod on the node, bypassing the API server's authorization and audit of pods/exec.");
grant_rule!(ApproveCsr, "CRL-R010", "approve-csr", High, "Role can approve certificate requests",
    groups: ["certificates.k8s.io"], resources: ["certificatesigningrequests/approval", "signers"], verbs: ["update", "patch", "approve"],
    message: "the role can approve certificate signing requests",
    fix: "leave approval to the controller manager",
    what: "Flags a role rule that grants approval of CertificateSigningRequests (`update` on `certificatesigningrequests/approval`, `approve` on signers).",
    why: "Approving one's own request for a client certificate with the `system:masters` group is cluster-admin.");
grant_rule!(AdmissionWebhooks, "CRL-R011", "admission-webhooks", High, "Role can change admission webhooks",
    groups: ["admissionregistration.k8s.io"], resources: ["validatingwebhookconfigurations", "mutatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings"],
    verbs: ["create", "update", "patch", "delete"],
    message: "the role can change admission webhooks and policies",
    fix: "restrict it to the operator that owns them, with `resourceNames`",
    what: "Flags a role rule that grants changes to admission webhooks or admission policies.",
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
        let Some(rules) = role_rules(resource) else {
            return;
        };
        let cluster_wide = matches!(resource, Resource::ClusterRole(_));
        if !cluster_wide && object.namespace.as_deref() != Some("kube-system") {
            return;
        }
        for (i, policy) in rules.iter().enumerate() {
            let names = policy.resource_names.as_deref().unwrap_or_default();
            let named = names.is_empty() || names.iter().any(|n| n == "aws-auth");
            if named
                && grants(
                    policy,
                    &[CORE],
                    &["configmaps"],
                    &["update", "patch", "delete"],
                )
            {
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

/// Groups that hold everyone, or everyone who authenticated.
const EVERYONE: [&str; 3] = [
    "system:anonymous",
    "system:unauthenticated",
    "system:authenticated",
];

/// Roles every cluster binds to everyone, by design.
const PUBLIC_ROLES: [&str; 4] = [
    "system:basic-user",
    "system:discovery",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
];

declare_rule! {
    /// ## What it does
    /// Flags a binding to `system:anonymous`, `system:unauthenticated` or
    /// `system:authenticated`, except of the roles Kubernetes itself binds
    /// to them (discovery, basic user, public info).
    ///
    /// ## Why it matters
    /// `system:authenticated` is every user and every service account of
    /// every pod (and, on managed clusters, any cloud account); the other
    /// two are anyone who can reach the API server.
    ///
    /// ## How to fix
    /// Bind the role to the groups or service accounts that need it.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings
    GrantsToEveryone, "CRL-R013", "grants-to-everyone", Rbac, Critical,
    "Role bound to anonymous or all users"
}

impl Rule for GrantsToEveryone {
    fn check_object(
        &self,
        _: &Context,
        object: &Object,
        resource: &Resource,
        out: &mut Vec<Finding>,
    ) {
        flag_subjects(&Self::META, object, resource, out, |role, subject| {
            let everyone = EVERYONE.contains(&subject.name.as_str());
            (everyone && !PUBLIC_ROLES.contains(&role.name.as_str())).then(|| {
                (
                    format!(
                        "{} `{}` is bound to everyone in `{}`",
                        role.kind, role.name, subject.name
                    ),
                    "bind the role to the subjects that need it".into(),
                )
            })
        });
    }
}
