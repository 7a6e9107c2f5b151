//! The authorizer's documented semantics, each with decoys that must be
//! refused.

use std::sync::Arc;

use super::*;
use crate::model::TemplatePaths;
use crate::{load_bytes, Limits};

fn model(yaml: &str) -> Model {
    let name: Arc<str> = Arc::from("rbac.yaml");
    let (objects, diagnostics) = load_bytes(&name, yaml.as_bytes(), &Limits::default(), &|_| {});
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    Model::build(objects, &TemplatePaths::default()).0
}

fn sa(namespace: &str, name: &str) -> Subject {
    Subject::ServiceAccount {
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn by_name<'a, 'm>(authz: &'a Authz<'m>, name: &str) -> &'a Binding<'m> {
    authz.bindings().iter().find(|b| b.name == name).unwrap()
}

fn may(authz: &Authz, subject: &Subject, request: Request) -> bool {
    authz.allows(subject, &request).is_some()
}

const CLUSTER_ADMIN_TO_ALL_ACCOUNTS: &str = "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: everyone-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: 'system:serviceaccounts', apiGroup: rbac.authorization.k8s.io}]
";

#[test]
fn built_in_roles_are_known_and_groups_are_implicit() {
    let m = model(CLUSTER_ADMIN_TO_ALL_ACCOUNTS);
    let authz = Authz::new(&m);
    // No pod runs as shop/idle and no ServiceAccount object exists: it is
    // in system:serviceaccounts all the same.
    let request = Request::new("delete", "", "nodes").named("n1");
    let (binding, rule) = authz.allows(&sa("shop", "idle"), &request).unwrap();
    assert_eq!(binding.name, "everyone-admin");
    assert!(bootstrap::is_builtin(&rule.object.file));
    assert!(authz.is_cluster_admin(binding));
    // Without the bootstrap policy the binding names a role that does not
    // exist, and grants nothing.
    assert!(!may(&Authz::input_only(&m), &sa("shop", "idle"), request));
    // A user is not a service account.
    assert!(!may(&authz, &Subject::User("alice".into()), request));
    // The built-in binding: system:masters is cluster-admin.
    assert!(may(&authz, &Subject::Group(MASTERS.into()), request));
}

#[test]
fn a_role_binding_grants_namespaced_resources_in_its_namespace_only() {
    let m = model(
        "
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ops, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: ops}]
",
    );
    let authz = Authz::new(&m);
    let ops = sa("shop", "ops");
    let secrets = Request::new("list", "", "secrets");
    assert!(may(&authz, &ops, secrets.in_namespace("shop")));
    assert!(!may(&authz, &ops, secrets.in_namespace("kube-system")));
    assert!(!may(&authz, &ops, secrets));
    // Never a cluster-scoped resource, even asked in the namespace.
    for (group, resource) in [
        ("", "nodes/proxy"),
        ("", "nodes"),
        ("", "persistentvolumes"),
        ("rbac.authorization.k8s.io", "clusterroles"),
        ("certificates.k8s.io", "certificatesigningrequests/approval"),
        (
            "admissionregistration.k8s.io",
            "mutatingwebhookconfigurations",
        ),
    ] {
        let request = Request::new("update", group, resource).in_namespace("shop");
        assert!(!may(&authz, &ops, request), "{group}/{resource}");
    }
    let binding = by_name(&authz, "ops");
    assert!(authz.grants_everything(binding));
    assert!(!authz.is_cluster_admin(binding));
    assert!(authz.grant(binding, "", "nodes/proxy", "get").is_none());
    assert!(authz.grant(binding, "", "pods/exec", "create").is_some());
    // `bind` on a ClusterRole is checked in the namespace of the
    // RoleBinding being made: a RoleBinding can grant it.
    let bind = Request::new("bind", RBAC_GROUP, "clusterroles").named("view");
    assert!(may(&authz, &ops, bind.in_namespace("shop")));
    assert!(!may(&authz, &ops, bind));
    assert!(!may(
        &authz,
        &ops,
        Request::new("escalate", RBAC_GROUP, "clusterroles").in_namespace("shop")
    ));
    // The account named without a namespace in a ClusterRoleBinding is no
    // account at all.
    let m = model(
        "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: nobody}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: ops}]
",
    );
    let authz = Authz::new(&m);
    assert!(!may(
        &authz,
        &sa("default", "ops"),
        Request::new("get", "", "nodes")
    ));
}

#[test]
fn aggregated_roles_hold_what_they_select_transitively() {
    let m = model(
        "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: crontab-reader
  labels: {rbac.authorization.k8s.io/aggregate-to-view: 'true'}
rules: [{apiGroups: [stable.example.com], resources: [crontabs], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: admins, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
subjects: [{kind: User, name: alice}]
",
    );
    let authz = Authz::new(&m);
    let alice = Subject::User("alice".into());
    // view → edit → admin: the input's rule reaches admin in two steps.
    let crontabs = Request::new("get", "stable.example.com", "crontabs").in_namespace("shop");
    let (_, rule) = authz.allows(&alice, &crontabs).unwrap();
    assert_eq!(rule.object.file.as_ref(), "rbac.yaml");
    assert_eq!(rule.path(), "rules[0]");
    // admin's built-in rules: secrets and pods/exec in the namespace.
    let exec = Request::new("create", "", "pods/exec").in_namespace("shop");
    assert!(may(&authz, &alice, exec));
    assert!(may(
        &authz,
        &alice,
        Request::new("list", "", "secrets").in_namespace("shop")
    ));
    // Not cluster-admin, not even of its namespace: admin lacks `*`.
    assert!(!authz.grants_everything(by_name(&authz, "admins")));
    assert!(!may(&authz, &alice, exec.in_namespace("other")));
    // The crontab role itself is not bound anywhere else.
    assert!(!may(&authz, &alice, crontabs.in_namespace("other")));
}

#[test]
fn input_objects_replace_built_in_ones() {
    let m = model(
        "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cluster-admin}
rules: [{apiGroups: [''], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:basic-user}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: 'system:authenticated', apiGroup: rbac.authorization.k8s.io}]
",
    );
    let authz = Authz::new(&m);
    let masters = Subject::Group(MASTERS.into());
    assert!(!may(&authz, &masters, Request::new("get", "", "nodes")));
    assert!(may(&authz, &masters, Request::new("get", "", "configmaps")));
    let binding = authz
        .bindings()
        .iter()
        .find(|b| b.name == "cluster-admin")
        .unwrap();
    // "Critical" is what the role allows, never its name.
    assert!(!authz.is_cluster_admin(binding));
    let basic = authz
        .bindings()
        .iter()
        .find(|b| b.name == "system:basic-user")
        .unwrap();
    assert_eq!(basic.object.file.as_ref(), "rbac.yaml");
    assert_eq!(basic.role.name, "view");
}

#[test]
fn resource_names_and_user_names_of_service_accounts() {
    let m = model(
        "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: one-node}
rules:
- {apiGroups: [''], resources: [nodes/proxy], verbs: [get], resourceNames: [n1]}
- {apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [tls, db]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: one-node}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: one-node}
subjects: [{kind: User, name: 'system:serviceaccount:mon:agent', apiGroup: rbac.authorization.k8s.io}]
",
    );
    let authz = Authz::new(&m);
    let agent = sa("mon", "agent");
    let proxy = Request::new("get", "", "nodes/proxy");
    assert!(may(&authz, &agent, proxy.named("n1")));
    assert!(!may(&authz, &agent, proxy.named("n2")));
    assert!(!may(&authz, &agent, proxy));
    let binding = by_name(&authz, "one-node");
    let grant = authz.grant(binding, "", "secrets", "get").unwrap();
    assert_eq!(grant.names, Some(vec!["db".to_string(), "tls".to_string()]));
    assert_eq!(grant.rule.path(), "rules[1]");
    assert!(authz.grant(binding, "", "secrets", "list").is_none());
    // Who may: this binding, and the built-in ones (system:masters, the
    // API server's kubelet client).
    let who: Vec<&str> = authz
        .who_may(&proxy.named("n1"))
        .iter()
        .filter(|(b, _)| !bootstrap::is_builtin(&b.object.file))
        .map(|(b, _)| b.name.as_str())
        .collect();
    assert_eq!(who, ["one-node"]);
    assert!(authz
        .who_may(&proxy.named("n2"))
        .iter()
        .all(|(b, _)| bootstrap::is_builtin(&b.object.file)));
    assert!(!may(&authz, &sa("mon", "other"), proxy.named("n1")));
}

#[test]
fn the_empty_resource_name_is_every_request_that_names_nothing() {
    // The API server compares names exactly: `""` is the name of a list,
    // a watch or a create, which therefore reach every object.
    let m = model(
        "
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: empty-names, namespace: ns}
rules:
- {apiGroups: [''], resources: [secrets], verbs: [list, get], resourceNames: ['']}
- {apiGroups: [''], resources: [pods], verbs: [create], resourceNames: ['']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: empty-names, namespace: ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: empty-names}
subjects: [{kind: ServiceAccount, name: app, namespace: ns}]
",
    );
    let authz = Authz::new(&m);
    let app = sa("ns", "app");
    assert!(may(
        &authz,
        &app,
        Request::new("list", "", "secrets").in_namespace("ns")
    ));
    assert!(may(
        &authz,
        &app,
        Request::new("create", "", "pods").in_namespace("ns")
    ));
    // A `get` names its object, which is never "".
    assert!(!may(
        &authz,
        &app,
        Request::new("get", "", "secrets")
            .in_namespace("ns")
            .named("db")
    ));
    let binding = by_name(&authz, "empty-names");
    assert_eq!(
        authz.grant(binding, "", "secrets", "list").unwrap().names,
        None
    );
    assert_eq!(
        authz.grant(binding, "", "pods", "create").unwrap().names,
        None
    );
    assert!(authz.grant(binding, "", "secrets", "get").is_none());
}

#[test]
fn aggregation_cycles_reach_their_fixed_point() {
    let m = model(
        "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: leaf, labels: {to-a: 'true'}}
rules: [{apiGroups: [''], resources: [nodes/proxy], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg-a, labels: {to-b: 'true'}}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {to-a: 'true'}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg-b, labels: {to-a: 'true'}}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {to-b: 'true'}}]
",
    );
    let authz = Authz::new(&m);
    for name in ["agg-a", "agg-b"] {
        let role = authz
            .role(&RoleKey {
                namespace: None,
                name: name.into(),
            })
            .unwrap();
        assert_eq!(role.rules.len(), 1, "{name}");
        assert_eq!(role.rules[0].object.name.as_deref(), Some("leaf"));
    }
}
