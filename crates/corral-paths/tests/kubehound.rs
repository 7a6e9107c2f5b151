//! Parity with KubeHound's system tests: its test cluster's manifests
//! (`../shared/fixtures/kubehound/`), the nodes and default RBAC kind adds
//! (`tests/data/`), and the expectations of `test/system/graph_*_test.go`
//! as `notes/attack-paths.md` §1.3 lists them; plus the cases KubeHound
//! marks unimplemented, where Corral finds the edge.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use corral_cloud::Cloud;
use corral_core::model::{Model, TemplatePaths};
use corral_core::{load, Input, Limits};
use corral_paths::{build_with_options, EdgeKind, Graph, Options, Vertex};

fn fixture() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/kubehound/test/setup/test-cluster/attacks");
    if dir.is_dir() {
        Some(dir)
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI has ../shared");
        eprintln!("skipped: ../shared/fixtures/kubehound is not present");
        None
    }
}

fn graph(attacks: &Path) -> Graph {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let inputs: Vec<Input> = [
        attacks.to_path_buf(),
        data.join("kind-nodes.yaml"),
        data.join("kind-rbac.yaml"),
    ]
    .iter()
    .map(|p| Input::from_arg(p.to_str().unwrap()))
    .collect();
    let loaded = load(&inputs, &Limits::default());
    assert!(
        loaded
            .diagnostics
            .iter()
            .all(|d| d.severity != corral_core::Severity::Error),
        "{:?}",
        loaded.diagnostics
    );
    let (model, errors) = Model::build(loaded.objects, &TemplatePaths::default());
    assert!(errors.is_empty(), "{errors:?}");
    // KubeHound takes every service account to have a token Secret, as
    // the API server made them before 1.24.
    let options = Options {
        kubernetes_minor: 23,
    };
    build_with_options(&model, &Cloud::default(), &options)
}

fn labels(edges: Vec<(&Vertex, &Vertex)>) -> BTreeSet<(String, String)> {
    edges
        .into_iter()
        .map(|(a, b)| (a.label(), b.label()))
        .collect()
}

/// The destinations of `kind` edges from `source`, through the hubs that
/// stand for "any of them".
fn targets(g: &Graph, kind: EdgeKind, source: &str) -> BTreeSet<String> {
    let edges = g.edges_of(kind);
    let mut found = BTreeSet::new();
    let mut frontier = vec![source.to_string()];
    while let Some(at) = frontier.pop() {
        for (a, b) in &edges {
            if a.label() == at {
                if matches!(b, Vertex::Scope { .. }) {
                    frontier.push(b.label());
                } else {
                    found.insert(b.label());
                }
            }
        }
    }
    found
}

const WORKERS: [&str; 2] = [
    "node/kubehound.test.local-worker",
    "node/kubehound.test.local-worker2",
];

fn workers() -> BTreeSet<String> {
    WORKERS.iter().map(|s| s.to_string()).collect()
}

#[test]
fn container_escapes() {
    let Some(dir) = fixture() else { return };
    let g = graph(&dir);
    let c = |pod: &str, container: &str| format!("container/default/{pod}/{container}");
    assert_eq!(
        targets(&g, EdgeKind::CeModuleLoad, &c("modload-pod", "modload-pod")),
        workers()
    );
    assert_eq!(
        targets(&g, EdgeKind::CePrivMount, &c("priv-pod", "priv-pod")),
        workers()
    );
    assert_eq!(
        targets(
            &g,
            EdgeKind::CeSysPtrace,
            &c("sys-ptrace-pod", "sys-ptrace-pod")
        ),
        workers()
    );
    assert_eq!(
        targets(
            &g,
            EdgeKind::CeUmhCorePattern,
            &c("umh-core-pod", "umh-core-container")
        ),
        workers()
    );
    assert_eq!(
        targets(
            &g,
            EdgeKind::CeVarLogSymlink,
            &c("varlog-pod", "varlog-container")
        ),
        workers()
    );
    // nsenter-pod escapes exactly three ways.
    let nsenter = c("nsenter-pod", "nsenter-pod");
    let escapes: BTreeSet<&str> = [
        EdgeKind::CeModuleLoad,
        EdgeKind::CeNsenter,
        EdgeKind::CePrivMount,
        EdgeKind::CeSysPtrace,
        EdgeKind::CeUmhCorePattern,
        EdgeKind::CeVarLogSymlink,
    ]
    .into_iter()
    .filter(|k| !targets(&g, *k, &nsenter).is_empty())
    .map(|k| k.id())
    .collect();
    assert_eq!(
        escapes,
        BTreeSet::from(["CE_MODULE_LOAD", "CE_NSENTER", "CE_PRIV_MOUNT"])
    );
}

#[test]
fn the_control_pod_reaches_nothing() {
    let Some(dir) = fixture() else { return };
    let g = graph(&dir);
    let control = g
        .find(&Vertex::Container {
            namespace: "default".into(),
            pod: "control-pod".into(),
            name: "control-pod".into(),
        })
        .unwrap();
    assert_eq!(g.graph.edges(control).count(), 0);
}

#[test]
fn rbac_to_pods_and_tokens() {
    let Some(dir) = fixture() else { return };
    let g = graph(&dir);
    let default_pods: BTreeSet<String> = g
        .graph
        .node_weights()
        .filter(|v| matches!(v, Vertex::Pod { namespace, .. } if namespace == "default"))
        .map(Vertex::label)
        .collect();
    assert_eq!(default_pods.len(), 29);
    assert_eq!(
        targets(
            &g,
            EdgeKind::PodExec,
            "permissions/default/exec-pods::pod-exec-pods"
        ),
        default_pods
    );
    assert_eq!(
        targets(
            &g,
            EdgeKind::PodPatch,
            "permissions/default/patch-pods::pod-patch-pods"
        ),
        default_pods
    );
    let nodes: BTreeSet<String> = g
        .graph
        .node_weights()
        .filter(|v| matches!(v, Vertex::Node { .. }))
        .map(Vertex::label)
        .collect();
    assert_eq!(nodes.len(), 3);
    let accounts = targets(
        &g,
        EdgeKind::TokenList,
        "permissions/default/list-secrets::pod-list-secrets",
    );
    assert_eq!(accounts.len(), 17, "{accounts:?}");
    assert!(accounts.iter().all(|a| a.starts_with("sa/default/")));
    // KubeHound's POD_CREATE goes to every node; ours also to every
    // service account of the namespace, which a created pod may run as.
    let created = targets(
        &g,
        EdgeKind::PodCreate,
        "permissions/default/create-pods::pod-create-pods",
    );
    assert_eq!(created, &nodes | &accounts);
    assert_eq!(
        targets(
            &g,
            EdgeKind::TokenBruteforce,
            "permissions/default/read-secrets::pod-get-secrets"
        ),
        accounts
    );
}

#[test]
fn identities_and_shared_process_namespaces() {
    let Some(dir) = fixture() else { return };
    let g = graph(&dir);
    // Every node acts as system:nodes, which holds a permission.
    let nodes = labels(g.edges_of(EdgeKind::IdentityAssume))
        .into_iter()
        .filter(|(a, b)| a.starts_with("node/") && b == "group/system:nodes")
        .count();
    assert_eq!(nodes, 3);
    let containers = labels(g.edges_of(EdgeKind::IdentityAssume))
        .into_iter()
        .filter(|(a, _)| a.starts_with("container/"))
        .count();
    assert_eq!(containers, 17);
    assert!(
        targets(&g, EdgeKind::PermissionDiscover, "sa/default/varlog-sa")
            .contains("permissions/default/read-logs::pod-read-logs")
    );
    let shared = labels(g.edges_of(EdgeKind::SharePsNamespace));
    assert_eq!(shared.len(), 8);
    assert!(shared
        .iter()
        .all(|(a, b)| a.split('/').nth(2) == b.split('/').nth(2)));
}

#[test]
fn host_paths() {
    let Some(dir) = fixture() else { return };
    let g = graph(&dir);
    let read: BTreeSet<String> = labels(g.edges_of(EdgeKind::ExploitHostRead))
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert!(
        read.contains("volume/default/host-read-exploit-pod/host-read-exploit-pod/host-ssh"),
        "{read:?}"
    );
    let write: BTreeSet<String> = labels(g.edges_of(EdgeKind::ExploitHostWrite))
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert!(
        write
            .iter()
            .any(|v| v.contains("host-write-exploit-pod") && v.ends_with("/hostroot")),
        "{write:?}"
    );
    // Through /var/lib/kubelet/pods: the tokens of every pod on the nodes.
    let traversed = labels(g.edges_of(EdgeKind::ExploitHostTraverse))
        .into_iter()
        .filter(|(a, _)| a.ends_with("/host-pod-dir"))
        .count();
    let tokens = g
        .graph
        .node_weights()
        .filter(|v| matches!(v, Vertex::Volume(volume) if volume.source == "projected service account token"))
        .count();
    assert_eq!(traversed, tokens);
}

#[test]
fn endpoints_lead_to_escapes() {
    let Some(dir) = fixture() else { return };
    let g = graph(&dir);
    let endpoints: BTreeSet<String> = labels(g.edges_of(EdgeKind::EndpointExploit))
        .into_iter()
        .filter(|(_, b)| b == "container/default/endpoints-pod/endpoints-pod")
        .map(|(a, _)| a)
        .collect();
    for expected in [
        "endpoint/default/jmx:9999",
        "endpoint/default/host-port-svc:1112",
        "endpoint/default/webproxy-service:80",
    ] {
        assert!(endpoints.contains(expected), "{endpoints:?}");
    }
}

#[test]
fn role_binding_and_what_kubehound_does_not_implement() {
    let Some(dir) = fixture() else { return };
    let g = graph(&dir);
    // A cluster-wide binder of cluster roles reaches cluster-admin; one
    // that may only create RoleBindings (in every namespace) reaches what
    // it may bind in each namespace, never a cluster-wide set.
    let binds = targets(
        &g,
        EdgeKind::RoleBind,
        "permissions/rolebind-crb-cr-crb-cr::pod-bind-role-crb-cr-crb-cr",
    );
    assert!(
        binds.contains("permissions/cluster-admin::cluster-admin"),
        "{binds:?}"
    );
    let namespaced = targets(
        &g,
        EdgeKind::RoleBind,
        "permissions/rolebind-crb-cr-rb-cr::pod-bind-role-crb-cr-rb-cr",
    );
    assert!(!namespaced.is_empty());
    assert!(
        namespaced
            .iter()
            .all(|t| t.split('/').count() == 3 && !t.contains("::cluster-admin")),
        "{namespaced:?}"
    );
    assert!(
        namespaced.contains("permissions/kube-system/cluster-admin::(new)"),
        "{namespaced:?}"
    );
    assert!(!g
        .graph
        .node_weights()
        .any(|v| v.label() == "permissions/kube-system/cluster-admin::(new)" && v.is_critical()));
    // Impersonation, which KubeHound documents but does not build.
    assert!(!g.edges_of(EdgeKind::IdentityImpersonate).is_empty());
}

#[test]
fn namespaced_binders_bind_only_what_their_scope_allows() {
    let Some(dir) = fixture() else { return };
    let g = graph(&dir);
    // `rb-r-rb-r` (a Role allowing rolebindings and binding roles, bound
    // in default) reaches permission sets of Roles in default only.
    let reached = targets(
        &g,
        EdgeKind::RoleBind,
        "permissions/default/rolebind-rb-r-rb-r::pod-bind-role-rb-r-rb-r",
    );
    assert!(!reached.is_empty());
    assert!(
        reached
            .iter()
            .all(|t| t.starts_with("permissions/default/")),
        "{reached:?}"
    );
    assert!(!reached.contains("permissions/cluster-admin::cluster-admin"));
}

/// ROLE_BIND against KubeHound's own expectations
/// (`test/system/graph_edge_test.go` at the fixture's commit, cases 1 to 4,
/// scoped like them to the attack's `rolebind*` permission sets), edge by
/// edge: KubeHound's edges, less those the API server refuses, plus those
/// KubeHound does not build. Self-bindings are left out on both sides.
#[test]
fn role_bind_parity_with_kubehound() {
    let Some(dir) = fixture() else { return };
    let g = graph(&dir);
    let ours: BTreeSet<(String, String)> = g
        .edges_of(EdgeKind::RoleBind)
        .iter()
        .map(|(a, _)| a.label())
        .filter(|s| {
            s.starts_with("permissions/") && s.contains("/rolebind-") && !s.ends_with("::(new)")
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .flat_map(|source| {
            targets(&g, EdgeKind::RoleBind, &source)
                .into_iter()
                // Bindings the binder would make (`::(new)`) are not
                // KubeHound's edges between existing sets.
                .filter(|t| t.contains("/rolebind-") && *t != source && !t.ends_with("::(new)"))
                .map(|t| (source.clone(), t))
                .collect::<Vec<_>>()
        })
        .collect();
    let cluster = |name: &str| format!("permissions/rolebind-{name}");
    let namespaced = |name: &str| format!("permissions/default/rolebind-{name}");
    let crb_cr_crb_cr = cluster("crb-cr-crb-cr::pod-bind-role-crb-cr-crb-cr");
    let crb_cr_rb_cr = cluster("crb-cr-rb-cr::pod-bind-role-crb-cr-rb-cr");
    let crb_cr_rb_r = cluster("crb-cr-rb-r::pod-bind-rola-crb-cr-rb-r");
    let cluster_sets = [
        crb_cr_crb_cr.clone(),
        cluster("crb-cr-crb-r-fail::pod-bind-role-crb-cr-crb-r-fail"),
        crb_cr_rb_cr.clone(),
        crb_cr_rb_r.clone(),
    ];
    let rb_cr_fail = namespaced("rb-cr-crb-cr-fail::pod-bind-role-rb-cr-crb-cr-fail");
    let rb_cr_rb_cr = namespaced("rb-cr-rb-cr::pod-bind-role-rb-cr-rb-cr");
    let rb_cr_rb_r = namespaced("rb-cr-rb-r::pod-bind-role-rb-cr-rb-r");
    let trio = |role: &str| -> Vec<String> {
        ["", "-g", "-u"]
            .iter()
            .map(|s| namespaced(&format!("{role}::pod-bind-role-{role}{s}")))
            .collect()
    };
    let (rb_r_fail, rb_r_rb_crb, rb_r_rb_r) = (
        trio("rb-r-crb-cr-fail"),
        trio("rb-r-rb-crb"),
        trio("rb-r-rb-r"),
    );
    let all_namespaced: Vec<String> = [rb_cr_fail.clone(), rb_cr_rb_cr.clone(), rb_cr_rb_r.clone()]
        .into_iter()
        .chain(rb_r_fail.iter().cloned())
        .chain(rb_r_rb_crb.iter().cloned())
        .chain(rb_r_rb_r.iter().cloned())
        .collect();
    let edges = |from: &[String], to: &[String]| -> BTreeSet<(String, String)> {
        from.iter()
            .flat_map(|f| to.iter().map(move |t| (f.clone(), t.clone())))
            .filter(|(f, t)| f != t)
            .collect()
    };
    // KubeHound, cases 1 and 2: the two cluster-wide binders reach the four
    // cluster-wide sets; case 3: the namespaced binders of roles reach
    // every namespaced set (44 edges); case 4: nothing.
    let namespaced_binders: Vec<String> = [rb_cr_rb_r.clone()]
        .into_iter()
        .chain(rb_r_rb_r.iter().cloned())
        .collect();
    let case_3 = edges(&namespaced_binders, &all_namespaced);
    assert_eq!(case_3.len(), 44);
    let kubehound: BTreeSet<_> = edges(
        &[crb_cr_crb_cr.clone(), crb_cr_rb_cr.clone()],
        &cluster_sets,
    )
    .into_iter()
    .chain(case_3)
    .collect();
    // Refused: binding a ClusterRole takes `bind` on clusterroles, or every
    // permission of it; the namespaced binders of roles have neither.
    let refused_cluster_roles = edges(
        &namespaced_binders,
        &[rb_cr_fail.clone(), rb_cr_rb_cr.clone()],
    );
    // Refused: RoleBindings grant a ClusterRole in one namespace only; the
    // cluster-wide sets need a ClusterRoleBinding, which crb-cr-rb-cr may
    // not create.
    let refused_cluster_wide = edges(std::slice::from_ref(&crb_cr_rb_cr), &cluster_sets);
    // Added, which KubeHound does not build: binders of cluster roles in
    // a namespace (rb-cr-rb-cr, rb-r-rb-crb, crb-cr-rb-cr) reach the sets
    // of cluster roles bound there; a cluster-wide binder of roles
    // (crb-cr-rb-r) reaches the roles of every namespace; and any binder
    // reaches a set whose permissions it already holds all of.
    let cluster_role_sets = [rb_cr_fail.clone(), rb_cr_rb_cr.clone(), rb_cr_rb_r.clone()];
    let mut added = edges(std::slice::from_ref(&rb_cr_rb_cr), &cluster_role_sets);
    added.extend(edges(&rb_r_rb_crb, &cluster_role_sets));
    added.extend(edges(
        std::slice::from_ref(&crb_cr_rb_cr),
        &cluster_role_sets,
    ));
    // Same rules as the role binders: bindable without `bind`.
    added.extend(edges(
        &[rb_cr_rb_cr.clone(), crb_cr_rb_cr.clone()],
        &rb_r_rb_crb,
    ));
    added.extend(edges(&rb_r_rb_crb, &rb_r_rb_crb));
    let roles: Vec<String> = rb_r_fail
        .iter()
        .chain(&rb_r_rb_crb)
        .chain(&rb_r_rb_r)
        .cloned()
        .chain([rb_cr_rb_r.clone()])
        .collect();
    added.extend(edges(std::slice::from_ref(&crb_cr_rb_r), &roles));
    let expected: BTreeSet<_> = kubehound
        .difference(
            &refused_cluster_roles
                .union(&refused_cluster_wide)
                .cloned()
                .collect(),
        )
        .cloned()
        .chain(added)
        .collect();
    let missing: Vec<_> = expected.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert_eq!(
        (
            kubehound.len(),
            refused_cluster_roles.len(),
            refused_cluster_wide.len(),
            ours.len()
        ),
        (50, 8, 3, 75)
    );
}
