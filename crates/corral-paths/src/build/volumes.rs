//! Host-path volumes (`VOLUME_*`, `EXPLOIT_HOST_*`, `EXPLOIT_CONTAINERD_SOCK`,
//! `CE_UMH_CORE_PATTERN`)
//! and the projected service account token (`TOKEN_STEAL`), and host paths
//! over the kubelet's pods directory that read other pods' tokens
//! (`EXPLOIT_HOST_TRAVERSE`).

use petgraph::graph::NodeIndex;
use rustc_hash::FxHashMap;

use corral_core::model::lean::LeanContainer;
use corral_core::model::runtime::{host_path, runtime_socket};

use super::{evidence, PodEntry};
use crate::edge::EdgeKind;
use crate::graph::{Evidence, Graph, Vertex, Volume};

const READ_PATHS: [&str; 7] = [
    "/",
    "/home",
    "/root",
    "/root/.ssh",
    "/proc",
    "/etc",
    "/var/run/secrets",
];
/// Directories of the node's own credentials: reading anything in them
/// (the kubelet's client certificate, the control plane's keys, etcd's
/// data) is the node's identity or more.
const CREDENTIAL_PATHS: [&str; 3] = ["/etc/kubernetes", "/var/lib/kubelet/pki", "/var/lib/etcd"];
const CORE_PATTERN_PATHS: [&str; 4] = ["/", "/proc", "/proc/sys", "/proc/sys/kernel"];
const LOG_PATHS: [&str; 3] = ["/", "/var", "/var/log"];
const TRAVERSE_PATHS: [&str; 5] = [
    "/",
    "/var",
    "/var/lib",
    "/var/lib/kubelet",
    "/var/lib/kubelet/pods",
];

/// A writable host path that gives the host away (not a socket directory,
/// /tmp or a mount point).
fn writable_dangerous(path: &str) -> bool {
    let safe = ["/var/run/", "/run/", "/tmp", "/mnt/", "/dev/", "/var/tmp"];
    !safe
        .iter()
        .any(|s| path.starts_with(s) || path == s.trim_end_matches('/'))
}

/// The host paths one container mounts: each a volume vertex, with what it
/// exposes of the node. Host paths over the kubelet's pods directory are
/// kept in `traversals`, over `/var/log` in `log_mounts` (pod, container,
/// field), for the edges that need the whole graph.
pub(super) fn host_paths(
    g: &mut Graph,
    (p, entry): (usize, &PodEntry),
    (vertex, container, path): (NodeIndex, &LeanContainer, &str),
    user: Option<i64>,
    traversals: &mut Vec<(NodeIndex, Vec<NodeIndex>)>,
    log_mounts: &mut Vec<(usize, NodeIndex, String)>,
) {
    let spec = &entry.template.spec;
    // Mounted volumes.
    for (m, mount) in container.volume_mounts.iter().flatten().enumerate() {
        let Some(volume) = spec.volumes.iter().flatten().find(|v| v.name == mount.name) else {
            continue;
        };
        let Some(host) = &volume.host_path else {
            continue;
        };
        let source = host_path(&host.path);
        let read_only = mount.read_only == Some(true);
        let v = g.vertex(Vertex::Volume(Box::new(Volume {
            namespace: entry.namespace.as_str().into(),
            pod: entry.name.as_str().into(),
            container: container.name.as_str().into(),
            name: mount.name.as_str().into(),
            source: source.as_str().into(),
            read_only,
        })));
        let mount_path = format!("{path}.volumeMounts[{m}]");
        g.edge(
            vertex,
            v,
            EdgeKind::VolumeDiscover,
            evidence(
                entry.object,
                &mount_path,
                format!("mounts host path {source}"),
            ),
        );
        for node in &entry.nodes {
            g.edge(
                *node,
                v,
                EdgeKind::VolumeAccess,
                evidence(entry.object, &mount_path, "on the node"),
            );
            let credentials = CREDENTIAL_PATHS
                .iter()
                .any(|c| source == *c || source.starts_with(&format!("{c}/")));
            if read_only
                && (READ_PATHS.contains(&source.as_str())
                    || credentials
                    || source.ends_with("/.ssh"))
            {
                g.edge(
                    v,
                    *node,
                    EdgeKind::ExploitHostRead,
                    evidence(
                        entry.object,
                        &mount_path,
                        format!("reads host path {source}"),
                    ),
                );
            }
            if !read_only && writable_dangerous(&source) {
                g.edge(
                    v,
                    *node,
                    EdgeKind::ExploitHostWrite,
                    evidence(
                        entry.object,
                        &mount_path,
                        format!("writes host path {source}"),
                    ),
                );
            }
        }
        // A unix socket answers through a read-only mount too.
        if let Some(socket) = runtime_socket(&host.path) {
            for node in &entry.nodes {
                g.edge(
                    vertex,
                    *node,
                    EdgeKind::ExploitContainerdSock,
                    evidence(
                        entry.object,
                        &mount_path,
                        format!("reaches the runtime socket {socket} through host path {source}"),
                    ),
                );
            }
        }
        // Setting core_pattern writes to /proc.
        if user == Some(0) && !read_only && CORE_PATTERN_PATHS.contains(&source.as_str()) {
            for node in &entry.nodes {
                g.edge(
                    vertex,
                    *node,
                    EdgeKind::CeUmhCorePattern,
                    evidence(
                        entry.object,
                        &mount_path,
                        format!("root with host path {source}"),
                    ),
                );
            }
        }
        if TRAVERSE_PATHS.contains(&source.as_str()) {
            traversals.push((v, entry.nodes.clone()));
        }
        if LOG_PATHS.contains(&source.as_str()) {
            log_mounts.push((p, vertex, mount_path));
        }
    }
}

/// The container's projected service account token: a volume the node can
/// read, which is the account's identity.
pub(super) fn service_account_token(
    g: &mut Graph,
    entry: &PodEntry,
    (vertex, container, path): (NodeIndex, &LeanContainer, &str),
    identity: NodeIndex,
) -> NodeIndex {
    let v = g.vertex(Vertex::Volume(Box::new(Volume {
        namespace: entry.namespace.as_str().into(),
        pod: entry.name.as_str().into(),
        container: container.name.as_str().into(),
        name: "kube-api-access".into(),
        source: "projected service account token".into(),
        read_only: true,
    })));
    g.edge(
        vertex,
        v,
        EdgeKind::VolumeDiscover,
        evidence(entry.object, path, "mounts its service account token"),
    );
    for node in &entry.nodes {
        g.edge(
            *node,
            v,
            EdgeKind::VolumeAccess,
            evidence(entry.object, path, "on the node"),
        );
    }
    g.edge(
        v,
        identity,
        EdgeKind::TokenSteal,
        evidence(entry.object, path, "its service account's token"),
    );
    v
}

/// Host paths over the kubelet's pods directory read the token volumes of
/// every pod on the same nodes.
pub(super) fn traverse_to_tokens(
    g: &mut Graph,
    traversals: &[(NodeIndex, Vec<NodeIndex>)],
    token_volumes: &[(NodeIndex, Vec<NodeIndex>)],
) {
    // A host path over the kubelet's pods directory reads the tokens of
    // every pod on the same node.
    // Token volumes by node, as positions in `token_volumes`, so each
    // traversal looks only at its nodes' tokens, in the same order.
    let mut tokens_on: FxHashMap<NodeIndex, Vec<usize>> = FxHashMap::default();
    if !traversals.is_empty() {
        for (t, (_, token_nodes)) in token_volumes.iter().enumerate() {
            for node in token_nodes {
                tokens_on.entry(*node).or_default().push(t);
            }
        }
    }
    for (volume, on) in traversals {
        let mut reached: Vec<usize> = on
            .iter()
            .flat_map(|n| tokens_on.get(n).into_iter().flatten().copied())
            .collect();
        reached.sort_unstable();
        reached.dedup();
        for t in reached {
            let ev = Evidence {
                file: None,
                line: None,
                field: None,
                detail: "token files under /var/lib/kubelet/pods".into(),
            };
            g.edge(
                *volume,
                token_volumes[t].0,
                EdgeKind::ExploitHostTraverse,
                ev,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::build::small::{edges, graph};
    use crate::EdgeKind;

    fn pod(path: &str, read_only: bool) -> String {
        format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: ns}}
spec:
  nodeName: n1
  volumes: [{{name: h, hostPath: {{path: '{path}'}}}}]
  containers:
  - {{name: c, image: x, volumeMounts: [{{name: h, mountPath: /h, readOnly: {read_only}}}]}}
---
apiVersion: v1
kind: Node
metadata: {{name: n1}}
"
        )
    }

    #[test]
    fn host_paths_expose_what_they_are_over() {
        let volume = "volume/ns/p/c/h".to_string();
        let node = "node/n1".to_string();
        let g = graph(&pod("/etc/", true));
        assert_eq!(
            edges(&g, EdgeKind::ExploitHostRead),
            [(volume.clone(), node.clone())]
        );
        assert!(edges(&g, EdgeKind::ExploitHostWrite).is_empty());
        let g = graph(&pod("/", false));
        assert_eq!(
            edges(&g, EdgeKind::ExploitHostWrite),
            [(volume.clone(), node.clone())]
        );
        // The runtime's socket, or a directory that holds it, read-only.
        for path in ["/var/run/docker.sock", "/run/containerd", "/var//run/"] {
            let g = graph(&pod(path, true));
            assert_eq!(
                edges(&g, EdgeKind::ExploitContainerdSock),
                [("container/ns/p/c".to_string(), node.clone())],
                "{path}"
            );
        }
        assert!(edges(
            &graph(&pod("/run/user", true)),
            EdgeKind::ExploitContainerdSock
        )
        .is_empty());
        // core_pattern is written, not read.
        let root = |read_only| {
            pod("/proc", read_only).replace(
                "nodeName: n1",
                "nodeName: n1\n  securityContext: {runAsUser: 0}",
            )
        };
        assert!(!edges(&graph(&root(false)), EdgeKind::CeUmhCorePattern).is_empty());
        assert!(edges(&graph(&root(true)), EdgeKind::CeUmhCorePattern).is_empty());
        // As the kubelet resolves it.
        let g = graph(&pod("//etc/./", true));
        assert_eq!(
            edges(&g, EdgeKind::ExploitHostRead),
            [(volume.clone(), node.clone())]
        );
        // The node's credentials, read-only.
        for path in [
            "/etc/kubernetes/pki",
            "/var/lib/kubelet/pki",
            "/var/lib/etcd",
        ] {
            assert_eq!(
                edges(&graph(&pod(path, true)), EdgeKind::ExploitHostRead),
                [(volume.clone(), node.clone())],
                "{path}"
            );
        }
        // Decoy: a harmless host directory, read-only.
        let g = graph(&pod("/opt/data", true));
        assert!(edges(&g, EdgeKind::ExploitHostRead).is_empty());
        assert!(edges(&g, EdgeKind::ExploitHostWrite).is_empty());
        assert_eq!(
            edges(&g, EdgeKind::VolumeDiscover),
            [("container/ns/p/c".to_string(), volume)]
        );
    }

    fn account_pod(spec: &str, account: &str) -> String {
        format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: ns}}
spec:
  nodeName: n1
{spec}  containers: [{{name: c, image: x}}]
---
apiVersion: v1
kind: Node
metadata: {{name: n1}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: builder, namespace: ns}}
{account}---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: b, namespace: ns}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}}
subjects: [{{kind: ServiceAccount, name: builder, namespace: ns}}]
"
        )
    }

    #[test]
    fn the_token_is_the_named_accounts_unless_the_account_opts_out() {
        let steal = |yaml: &str| edges(&graph(yaml), EdgeKind::TokenSteal);
        let stolen = vec![(
            "volume/ns/p/c/kube-api-access".to_string(),
            "sa/ns/builder".to_string(),
        )];
        // `serviceAccount`, the deprecated alias, names the account.
        assert_eq!(
            steal(&account_pod("  serviceAccount: builder\n", "")),
            stolen
        );
        // The account says no token, and the pod does not say otherwise.
        let quiet = "automountServiceAccountToken: false\n";
        assert!(steal(&account_pod("  serviceAccountName: builder\n", quiet)).is_empty());
        let back = "  serviceAccountName: builder\n  automountServiceAccountToken: true\n";
        assert_eq!(steal(&account_pod(back, quiet)), stolen);
        // Without a token, the container does not act as the account; a
        // token projected for the API server is one all the same.
        let assume = |yaml: &str| edges(&graph(yaml), EdgeKind::IdentityAssume);
        let acts = vec![("container/ns/p/c".to_string(), "sa/ns/builder".to_string())];
        assert_eq!(
            assume(&account_pod("  serviceAccount: builder\n", "")),
            acts
        );
        assert!(assume(&account_pod("  serviceAccountName: builder\n", quiet)).is_empty());
        let projected = account_pod(
            "  serviceAccountName: builder\n  volumes: [{name: t, projected: {sources: [{serviceAccountToken: {path: t}}]}}]\n",
            quiet,
        )
        .replace("containers: [{name: c, image: x}]", "containers: [{name: c, image: x, volumeMounts: [{name: t, mountPath: /t}]}]");
        assert_eq!(assume(&projected), acts);
        let elsewhere = projected.replace("{path: t}", "{path: t, audience: vault}");
        assert!(assume(&elsewhere).is_empty());
        // A legacy token Secret of the account, mounted or read into the
        // environment by a pod of another account, is its token too.
        let secret = "---
apiVersion: v1
kind: Secret
type: kubernetes.io/service-account-token
metadata: {name: builder-token, namespace: ns, annotations: {kubernetes.io/service-account.name: builder}}
";
        let mounted = account_pod(
            "  serviceAccountName: other\n  automountServiceAccountToken: false\n  volumes: [{name: t, secret: {secretName: builder-token}}]\n",
            "",
        )
        .replace("containers: [{name: c, image: x}]", "containers: [{name: c, image: x, volumeMounts: [{name: t, mountPath: /t}]}]");
        assert_eq!(assume(&format!("{mounted}{secret}")), acts);
        let env = account_pod(
            "  serviceAccountName: other\n  automountServiceAccountToken: false\n",
            "",
        )
        .replace(
            "containers: [{name: c, image: x}]",
            "containers: [{name: c, image: x, envFrom: [{secretRef: {name: builder-token}}]}]",
        );
        assert_eq!(assume(&format!("{env}{secret}")), acts);
        assert!(assume(&mounted).is_empty(), "no such Secret, no token");
    }
}
