//! RBAC edges on small clusters: each case with a decoy that must yield
//! nothing.

use std::sync::Arc;

use petgraph::visit::EdgeRef;

use corral_core::model::{Model, TemplatePaths};
use corral_core::{load_bytes, Limits};

use crate::build::{build_with_options, Options};
use crate::query::{paths, From, To};
use crate::{EdgeKind, Graph};
use corral_cloud::Cloud;

fn graph_at(yaml: &str, kubernetes_minor: u32) -> Graph {
    let name: Arc<str> = Arc::from("cluster.yaml");
    let (objects, diagnostics) = load_bytes(&name, yaml.as_bytes(), &Limits::default(), &|_| {});
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (model, errors) = Model::build(objects, &TemplatePaths::default());
    assert!(errors.is_empty(), "{errors:?}");
    build_with_options(&model, &Cloud::default(), &Options { kubernetes_minor })
}

fn graph(yaml: &str) -> Graph {
    graph_at(yaml, Options::default().kubernetes_minor)
}

fn account(namespace: &str, name: &str) -> From {
    From::ServiceAccount {
        namespace: namespace.into(),
        name: name.into(),
    }
}

/// The edge kinds of each path from `from` to `to`.
fn reach(g: &Graph, from: From, to: To) -> Vec<Vec<&'static str>> {
    paths(g, &from, to, 8)
        .iter()
        .map(|p| p.hops.iter().map(|h| h.edge).collect())
        .collect()
}

/// (source, target) labels of the `kind` edges from the permission sets
/// of the input's bindings (the built-in ones are named `…::system:…` or
/// `cluster-admin::cluster-admin`; the tests' end in `-binding`).
fn edges(g: &Graph, kind: EdgeKind) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = g
        .edges_of(kind)
        .into_iter()
        .map(|(a, b)| (a.label(), b.label()))
        .filter(|(a, _)| a.starts_with("permissions/") && a.ends_with("-binding"))
        .collect();
    found.sort();
    found
}

fn binding(
    kind: &str,
    namespace: Option<&str>,
    role_kind: &str,
    role: &str,
    subject: &str,
) -> String {
    let namespace = namespace.map_or(String::new(), |ns| format!(", namespace: {ns}"));
    format!(
        "---
apiVersion: rbac.authorization.k8s.io/v1
kind: {kind}
metadata: {{name: {role}-binding{namespace}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {role}}}
subjects: [{subject}]
"
    )
}

fn cluster_role(name: &str, rules: &str) -> String {
    format!(
        "---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {name}}}
rules:
{rules}
"
    )
}

const NODES: &str = "
---
apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
";

#[test]
fn built_in_cluster_admin_bound_to_every_service_account() {
    let yaml = binding(
        "ClusterRoleBinding",
        None,
        "ClusterRole",
        "cluster-admin",
        "{kind: Group, name: 'system:serviceaccounts', apiGroup: rbac.authorization.k8s.io}",
    );
    let idle = "
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: idle, namespace: shop}
";
    let g = graph(&format!("{idle}{yaml}"));
    // An account no pod runs as is in the group; so is every namespace's
    // `default`, which the API server makes.
    assert_eq!(
        reach(&g, account("kube-system", "default"), To::ClusterAdmin),
        [["GROUP_MEMBER", "PERMISSION_DISCOVER"]]
    );
    assert_eq!(
        reach(&g, account("shop", "idle"), To::ClusterAdmin),
        [["GROUP_MEMBER", "PERMISSION_DISCOVER"]]
    );
    // A user is not a service account.
    assert!(reach(&g, From::User("alice".into()), To::ClusterAdmin).is_empty());
    // Bound to a user who is a service account by name.
    let yaml = binding(
        "ClusterRoleBinding",
        None,
        "ClusterRole",
        "cluster-admin",
        "{kind: User, name: 'system:serviceaccount:shop:web', apiGroup: rbac.authorization.k8s.io}",
    );
    let g = graph(&yaml);
    assert_eq!(
        reach(&g, account("shop", "web"), To::ClusterAdmin),
        [["PERMISSION_DISCOVER"]]
    );
    assert!(reach(&g, account("shop", "other"), To::ClusterAdmin).is_empty());
}

#[test]
fn critical_is_what_the_role_allows_not_its_name() {
    let yaml = [
        cluster_role(
            "admin",
            "- {apiGroups: [''], resources: [configmaps], verbs: [get]}",
        ),
        binding(
            "ClusterRoleBinding",
            None,
            "ClusterRole",
            "admin",
            "{kind: ServiceAccount, name: a, namespace: shop}",
        ),
        cluster_role(
            "platform",
            "- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}",
        ),
        binding(
            "ClusterRoleBinding",
            None,
            "ClusterRole",
            "platform",
            "{kind: ServiceAccount, name: b, namespace: shop}",
        ),
        binding(
            "RoleBinding",
            Some("dev"),
            "ClusterRole",
            "platform",
            "{kind: ServiceAccount, name: c, namespace: dev}",
        ),
    ]
    .concat();
    let g = graph(&yaml);
    assert!(reach(&g, account("shop", "a"), To::ClusterAdmin).is_empty());
    assert_eq!(
        reach(&g, account("shop", "b"), To::ClusterAdmin),
        [["PERMISSION_DISCOVER"]]
    );
    // Everything in one namespace is not cluster-admin: it takes a node
    // (no Pod Security Admission there), not the cluster.
    assert!(reach(&g, account("dev", "c"), To::ClusterAdmin).is_empty());
    assert_eq!(
        reach(&g, account("dev", "c"), To::Nodes),
        [["PERMISSION_DISCOVER", "POD_CREATE", "POD_CREATE"]]
    );
}

#[test]
fn a_role_binding_never_grants_nodes_and_resource_names_pick_the_node() {
    let proxy = cluster_role(
        "kubelet-reader",
        "- {apiGroups: [''], resources: [nodes/proxy], verbs: [get]}",
    );
    let one = cluster_role(
        "one-kubelet",
        "- {apiGroups: [''], resources: [nodes/proxy], verbs: [get], resourceNames: [n1]}",
    );
    let yaml = [
        NODES.to_string(),
        proxy,
        one,
        binding(
            "RoleBinding",
            Some("mon"),
            "ClusterRole",
            "kubelet-reader",
            "{kind: ServiceAccount, name: agent}",
        ),
        binding(
            "ClusterRoleBinding",
            None,
            "ClusterRole",
            "one-kubelet",
            "{kind: ServiceAccount, name: probe, namespace: mon}",
        ),
    ]
    .concat();
    let g = graph(&yaml);
    assert_eq!(
        edges(&g, EdgeKind::NodesProxy),
        [(
            "permissions/one-kubelet::one-kubelet-binding".to_string(),
            "node/n1".to_string()
        )]
    );
    assert!(reach(&g, account("mon", "agent"), To::Nodes).is_empty());
}

#[test]
fn pod_security_admission_decides_whether_a_created_pod_escapes() {
    let creator = cluster_role(
        "pod-creator",
        "- {apiGroups: [''], resources: [pods], verbs: [create]}",
    );
    let namespaces = "
---
apiVersion: v1
kind: Namespace
metadata:
  name: locked
  labels: {pod-security.kubernetes.io/enforce: baseline}
---
apiVersion: v1
kind: Namespace
metadata:
  name: open
  labels: {pod-security.kubernetes.io/enforce: privileged}
";
    let yaml = [
        namespaces.to_string(),
        creator,
        binding(
            "RoleBinding",
            Some("locked"),
            "ClusterRole",
            "pod-creator",
            "{kind: ServiceAccount, name: ci}",
        ),
        binding(
            "RoleBinding",
            Some("open"),
            "ClusterRole",
            "pod-creator",
            "{kind: ServiceAccount, name: ci}",
        ),
    ]
    .concat();
    let g = graph(&yaml);
    assert!(reach(&g, account("locked", "ci"), To::Nodes).is_empty());
    assert_eq!(reach(&g, account("open", "ci"), To::Nodes).len(), 1);
    // A restricted namespace at an old version still forbids it.
    let g = graph(&yaml.replace(
        "enforce: baseline}",
        "enforce: restricted, pod-security.kubernetes.io/enforce-version: v1.22}",
    ));
    assert!(reach(&g, account("locked", "ci"), To::Nodes).is_empty());
}

#[test]
fn impersonating_a_group_needs_a_user_too() {
    let groups_only = cluster_role(
        "group-impersonator",
        "- {apiGroups: [''], resources: [groups], verbs: [impersonate]}",
    );
    let both = cluster_role(
        "impersonator",
        "- {apiGroups: [''], resources: [groups, users], verbs: [impersonate]}",
    );
    let yaml = [
        groups_only,
        both,
        binding(
            "ClusterRoleBinding",
            None,
            "ClusterRole",
            "group-impersonator",
            "{kind: ServiceAccount, name: a, namespace: x}",
        ),
        binding(
            "ClusterRoleBinding",
            None,
            "ClusterRole",
            "impersonator",
            "{kind: ServiceAccount, name: b, namespace: x}",
        ),
        // Impersonating users in a namespace is no grant at all.
        binding(
            "RoleBinding",
            Some("x"),
            "ClusterRole",
            "impersonator",
            "{kind: ServiceAccount, name: c}",
        ),
    ]
    .concat();
    let g = graph(&yaml);
    assert!(reach(&g, account("x", "a"), To::ClusterAdmin).is_empty());
    assert!(reach(&g, account("x", "c"), To::ClusterAdmin).is_empty());
    // Any group: through the hub of groups.
    assert_eq!(
        reach(&g, account("x", "b"), To::ClusterAdmin),
        [[
            "PERMISSION_DISCOVER",
            "IDENTITY_IMPERSONATE",
            "IDENTITY_IMPERSONATE"
        ]]
    );
}

#[test]
fn escalate_and_approve_as_the_api_server_checks_them() {
    let own = cluster_role(
        "self-editor",
        "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate, update], resourceNames: [self-editor]}",
    );
    let other = cluster_role(
        "other-editor",
        "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate, update], resourceNames: [view]}",
    );
    let approver = cluster_role(
        "approver",
        "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [create]}
- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}
- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve], resourceNames: ['kubernetes.io/*']}",
    );
    let other_signer = cluster_role(
        "other-signer",
        "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [create]}
- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}
- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve], resourceNames: ['example.com/*']}",
    );
    let no_create = cluster_role(
        "no-create",
        "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}
- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve]}",
    );
    let mut yaml = [own, other, approver, other_signer, no_create].concat();
    for (role, account) in [
        ("self-editor", "a"),
        ("other-editor", "b"),
        ("approver", "c"),
        ("other-signer", "d"),
        ("no-create", "e"),
    ] {
        yaml.push_str(&binding(
            "ClusterRoleBinding",
            None,
            "ClusterRole",
            role,
            &format!("{{kind: ServiceAccount, name: {account}, namespace: x}}"),
        ));
    }
    let g = graph(&yaml);
    assert_eq!(
        reach(&g, account("x", "a"), To::ClusterAdmin),
        [["PERMISSION_DISCOVER", "ROLE_ESCALATE"]]
    );
    assert!(reach(&g, account("x", "b"), To::ClusterAdmin).is_empty());
    assert_eq!(
        reach(&g, account("x", "c"), To::ClusterAdmin),
        [["PERMISSION_DISCOVER", "CSR_APPROVE"]]
    );
    assert!(reach(&g, account("x", "d"), To::ClusterAdmin).is_empty());
    assert!(reach(&g, account("x", "e"), To::ClusterAdmin).is_empty());
}

#[test]
fn exec_verbs_follow_the_kubernetes_version_and_subresource_wildcards() {
    let pod = "
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  serviceAccountName: web
  containers: [{name: web, image: nginx}]
";
    let get = cluster_role(
        "exec-get",
        "- {apiGroups: [''], resources: [pods/exec], verbs: [get]}",
    );
    let any_exec = cluster_role(
        "any-exec",
        "- {apiGroups: [''], resources: ['*/exec'], verbs: [create]}",
    );
    let pods_star = cluster_role(
        "pods-star",
        "- {apiGroups: [''], resources: ['pods/*'], verbs: ['*']}",
    );
    let yaml = [
        pod.to_string(),
        get,
        any_exec,
        pods_star,
        binding(
            "RoleBinding",
            Some("shop"),
            "ClusterRole",
            "exec-get",
            "{kind: ServiceAccount, name: a}",
        ),
        binding(
            "RoleBinding",
            Some("shop"),
            "ClusterRole",
            "any-exec",
            "{kind: ServiceAccount, name: b}",
        ),
        binding(
            "RoleBinding",
            Some("shop"),
            "ClusterRole",
            "pods-star",
            "{kind: ServiceAccount, name: c}",
        ),
    ]
    .concat();
    let execs = |g: &Graph| -> Vec<String> {
        edges(g, EdgeKind::PodExec)
            .into_iter()
            .filter(|(from, _)| from.starts_with("permissions/"))
            .map(|(from, _)| from)
            .collect()
    };
    assert_eq!(
        execs(&graph(&yaml)),
        ["permissions/shop/any-exec::any-exec-binding"]
    );
    assert_eq!(
        execs(&graph_at(&yaml, 34)),
        [
            "permissions/shop/any-exec::any-exec-binding",
            "permissions/shop/exec-get::exec-get-binding"
        ]
    );
}

#[test]
fn aggregated_rules_grant_and_cite_their_own_line() {
    let reader = "
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: secret-reader
  labels: {rbac.authorization.k8s.io/aggregate-to-view: 'true'}
rules:
- apiGroups: ['']
  resources: [configmaps]
  verbs: [get]
- apiGroups: ['']
  resources: [secrets]
  verbs: [list]
";
    let sa = "
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: db, namespace: shop}
";
    let yaml = [
        sa.to_string(),
        reader.to_string(),
        binding(
            "RoleBinding",
            Some("shop"),
            "ClusterRole",
            "view",
            "{kind: ServiceAccount, name: viewer}",
        ),
    ]
    .concat();
    let g = graph(&yaml);
    assert_eq!(
        edges(&g, EdgeKind::TokenList),
        [(
            "permissions/shop/view::view-binding".to_string(),
            "any/serviceaccounts/shop".to_string()
        )]
    );
    let edge = g
        .graph
        .edge_references()
        .find(|e| {
            e.weight().kind == EdgeKind::TokenList
                && g.graph[e.source()].label() == "permissions/shop/view::view-binding"
        })
        .unwrap()
        .weight();
    let evidence = g.evidence(edge).owned();
    assert_eq!(evidence.file.as_deref(), Some("cluster.yaml"));
    // The aggregated role's second rule, not view's binding.
    assert_eq!(evidence.line, Some(17));
    assert!(
        evidence.detail.contains("`list` on secrets"),
        "{}",
        evidence.detail
    );
    // Without the label, view does not hold it.
    let g = graph(&yaml.replace("aggregate-to-view", "aggregate-to-nothing"));
    assert!(edges(&g, EdgeKind::TokenList).is_empty());
}

#[test]
fn binding_or_escalating_in_a_namespace_makes_a_new_permission_set() {
    let role = |name: &str, rules: &str| {
        format!(
            "---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: {name}, namespace: shop}}
rules:
{rules}
"
        )
    };
    let yaml = [
        role(
            "binder",
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}",
        ),
        role(
            "view-binder",
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [view]}",
        ),
        role(
            "no-bind",
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}",
        ),
        role(
            "self-escalator",
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate, update], resourceNames: [self-escalator]}",
        ),
        role(
            "other-escalator",
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate, update], resourceNames: [binder]}",
        ),
        binding("RoleBinding", Some("shop"), "Role", "binder", "{kind: ServiceAccount, name: a}"),
        binding("RoleBinding", Some("shop"), "Role", "view-binder", "{kind: ServiceAccount, name: b}"),
        binding("RoleBinding", Some("shop"), "Role", "no-bind", "{kind: ServiceAccount, name: c}"),
        binding("RoleBinding", Some("shop"), "Role", "self-escalator", "{kind: ServiceAccount, name: d}"),
        binding("RoleBinding", Some("shop"), "Role", "other-escalator", "{kind: ServiceAccount, name: e}"),
    ]
    .concat();
    let g = graph(&yaml);
    assert_eq!(
        reach(&g, account("shop", "a"), To::Nodes),
        [[
            "PERMISSION_DISCOVER",
            "ROLE_BIND",
            "POD_CREATE",
            "POD_CREATE"
        ]]
    );
    assert_eq!(
        reach(&g, account("shop", "d"), To::Nodes),
        [[
            "PERMISSION_DISCOVER",
            "ROLE_BIND",
            "POD_CREATE",
            "POD_CREATE"
        ]]
    );
    // view creates no pods; nor does binding only what it already holds.
    assert!(reach(&g, account("shop", "b"), To::Nodes).is_empty());
    assert!(reach(&g, account("shop", "c"), To::Nodes).is_empty());
    // Escalating another's role gives that role's holders the rules.
    assert!(reach(&g, account("shop", "e"), To::Nodes).is_empty());
    // Still one namespace: not cluster-admin.
    assert!(reach(&g, account("shop", "a"), To::ClusterAdmin).is_empty());
}

#[test]
fn named_secrets_reach_the_accounts_whose_tokens_they_hold() {
    let secrets = "
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: deployer-token
  namespace: ci
  annotations: {kubernetes.io/service-account.name: deployer}
";
    let reader = cluster_role(
        "token-reader",
        "- {apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [deployer-token]}",
    );
    // Decoy: a Secret named as the account is not its token.
    let decoy = cluster_role(
        "name-reader",
        "- {apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [deployer]}",
    );
    let yaml = [
        secrets.to_string(),
        reader,
        decoy,
        cluster_role(
            "platform",
            "- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}",
        ),
        binding(
            "ClusterRoleBinding",
            None,
            "ClusterRole",
            "platform",
            "{kind: ServiceAccount, name: deployer, namespace: ci}",
        ),
        binding(
            "RoleBinding",
            Some("ci"),
            "ClusterRole",
            "token-reader",
            "{kind: ServiceAccount, name: a}",
        ),
        binding(
            "RoleBinding",
            Some("ci"),
            "ClusterRole",
            "name-reader",
            "{kind: ServiceAccount, name: b}",
        ),
    ]
    .concat();
    let g = graph(&yaml);
    assert_eq!(
        reach(&g, account("ci", "a"), To::ClusterAdmin),
        [[
            "PERMISSION_DISCOVER",
            "TOKEN_BRUTEFORCE",
            "PERMISSION_DISCOVER"
        ]]
    );
    assert!(reach(&g, account("ci", "b"), To::ClusterAdmin).is_empty());
}

#[test]
fn reading_every_secret_reaches_the_token_secrets_the_input_holds() {
    let secret = "
---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata:
  name: powerful-token
  namespace: ns1
  annotations: {kubernetes.io/service-account.name: powerful}
";
    let yaml = [
        secret.to_string(),
        cluster_role(
            "platform",
            "- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}",
        ),
        cluster_role(
            "lister",
            "- {apiGroups: [''], resources: [secrets], verbs: [list]}",
        ),
        binding(
            "ClusterRoleBinding",
            None,
            "ClusterRole",
            "platform",
            "{kind: ServiceAccount, name: powerful, namespace: ns1}",
        ),
        binding(
            "RoleBinding",
            Some("ns1"),
            "ClusterRole",
            "lister",
            "{kind: ServiceAccount, name: a}",
        ),
        binding(
            "RoleBinding",
            Some("ns2"),
            "ClusterRole",
            "lister",
            "{kind: ServiceAccount, name: b}",
        ),
    ]
    .concat();
    let g = graph(&yaml);
    assert_eq!(
        reach(&g, account("ns1", "a"), To::ClusterAdmin),
        [[
            "PERMISSION_DISCOVER",
            "TOKEN_LIST",
            "TOKEN_LIST",
            "PERMISSION_DISCOVER"
        ]]
    );
    // Decoy: another namespace's Secrets.
    assert!(reach(&g, account("ns2", "b"), To::ClusterAdmin).is_empty());
}

#[test]
fn identities_nothing_names_start_from_their_groups() {
    let yaml = [
        cluster_role("proxy", "- {apiGroups: [''], resources: [nodes/proxy], verbs: [get]}"),
        binding("ClusterRoleBinding", None, "ClusterRole", "proxy", "{kind: Group, name: 'system:authenticated', apiGroup: rbac.authorization.k8s.io}"),
        binding("ClusterRoleBinding", None, "ClusterRole", "cluster-admin", "{kind: Group, name: 'system:serviceaccounts:ns2', apiGroup: rbac.authorization.k8s.io}"),
    ]
    .concat();
    let g = graph(&yaml);
    // No pod, object or binding names them.
    assert_eq!(reach(&g, From::User("alice".into()), To::Nodes).len(), 1);
    assert_eq!(
        reach(&g, account("ns2", "ghost"), To::ClusterAdmin),
        [["PERMISSION_DISCOVER"]]
    );
    // Decoys: another namespace's account; the anonymous user.
    assert!(reach(&g, account("ns3", "ghost"), To::ClusterAdmin).is_empty());
    assert!(reach(&g, From::User("system:anonymous".into()), To::Nodes).is_empty());
    // The user name of an account is the account.
    let from: From = "user/system:serviceaccount:ns2:bot".parse().unwrap();
    assert_eq!(reach(&g, from, To::ClusterAdmin).len(), 1);
}

#[test]
fn grants_add_up_across_a_subjects_bindings() {
    let sa = "{kind: ServiceAccount, name: a, namespace: x}";
    let yaml = [
        cluster_role("mine", "- {apiGroups: [''], resources: [configmaps], verbs: [get]}"),
        cluster_role(
            "edit-mine",
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate, update], resourceNames: [mine]}",
        ),
        binding("ClusterRoleBinding", None, "ClusterRole", "mine", sa),
        binding("ClusterRoleBinding", None, "ClusterRole", "edit-mine", sa),
    ]
    .concat();
    let g = graph(&yaml);
    assert_eq!(
        reach(&g, account("x", "a"), To::ClusterAdmin),
        [["ROLE_ESCALATE"]]
    );
    // The CSR grants and bind + create, each split over two bindings.
    let sb = "{kind: ServiceAccount, name: b, namespace: x}";
    let sc = "{kind: ServiceAccount, name: c, namespace: x}";
    let yaml = [
        cluster_role(
            "csr-create",
            "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [create]}",
        ),
        cluster_role(
            "csr-approve",
            "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [patch]}
- {apiGroups: [certificates.k8s.io], resources: [signers], verbs: [approve], resourceNames: ['kubernetes.io/*']}",
        ),
        cluster_role(
            "crb-create",
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}",
        ),
        cluster_role(
            "bind-any",
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}",
        ),
        binding("ClusterRoleBinding", None, "ClusterRole", "csr-create", sb),
        binding("ClusterRoleBinding", None, "ClusterRole", "csr-approve", sb),
        binding("ClusterRoleBinding", None, "ClusterRole", "crb-create", sc),
        binding("ClusterRoleBinding", None, "ClusterRole", "bind-any", sc),
    ]
    .concat();
    let g = graph(&yaml);
    assert_eq!(
        reach(&g, account("x", "b"), To::ClusterAdmin),
        [["CSR_APPROVE"]]
    );
    assert_eq!(
        reach(&g, account("x", "c"), To::ClusterAdmin),
        [["ROLE_BIND"]]
    );
    // Decoy: one half alone.
    let half = [
        cluster_role(
            "crb-create",
            "- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}",
        ),
        binding("ClusterRoleBinding", None, "ClusterRole", "crb-create", sc),
    ]
    .concat();
    assert!(reach(&graph(&half), account("x", "c"), To::ClusterAdmin).is_empty());
}
