//! Container escapes to the node (`CE_*`), and containers that share a
//! process namespace: each edge at the security context field that makes
//! it possible.

use corral_core::model::runtime::holds;
use k8s_openapi::api::core::v1::SecurityContext;
use petgraph::graph::NodeIndex;

use super::{evidence, PodEntry};
use crate::edge::EdgeKind;
use crate::graph::Graph;

/// The escapes from one container (`vertex`, at field `path`) to each node
/// its pod may run on.
pub(super) fn container(
    g: &mut Graph,
    entry: &PodEntry,
    vertex: NodeIndex,
    path: &str,
    (context, unconfined, host_process): (Option<&SecurityContext>, bool, bool),
) {
    let privileged = context.and_then(|c| c.privileged) == Some(true);
    let host_pid = entry.template.spec.host_pid == Some(true);
    let escapes = [
        (
            host_process,
            EdgeKind::CeHostProcess,
            "securityContext.windowsOptions.hostProcess",
            "a Windows HostProcess container",
        ),
        (
            privileged || holds(context, "SYS_MODULE"),
            EdgeKind::CeModuleLoad,
            "securityContext",
            "privileged, or adds SYS_MODULE",
        ),
        (
            privileged && host_pid,
            EdgeKind::CeNsenter,
            "securityContext.privileged",
            "privileged with hostPID",
        ),
        (
            privileged,
            EdgeKind::CePrivMount,
            "securityContext.privileged",
            "privileged",
        ),
        (
            host_pid && holds(context, "SYS_PTRACE") && holds(context, "SYS_ADMIN") && unconfined,
            EdgeKind::CeSysPtrace,
            "securityContext.capabilities.add",
            "hostPID with SYS_PTRACE and SYS_ADMIN, AppArmor unconfined",
        ),
    ];
    for (fires, kind, field, detail) in escapes {
        if fires {
            for node in &entry.nodes {
                g.edge(
                    vertex,
                    *node,
                    kind,
                    evidence(entry.object, &format!("{path}.{field}"), detail),
                );
            }
        }
    }
}

/// Containers of a pod that shares its process namespace reach each other.
pub(super) fn shared_process_namespace(g: &mut Graph, entry: &PodEntry) {
    let spec = &entry.template.spec;
    if spec.share_process_namespace == Some(true) {
        for (a, _, _) in &entry.containers {
            for (b, _, _) in &entry.containers {
                g.edge(
                    *a,
                    *b,
                    EdgeKind::SharePsNamespace,
                    evidence(
                        entry.object,
                        &entry.template.spec_path("shareProcessNamespace"),
                        "shared process namespace",
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::build::small::{edges, graph};
    use crate::EdgeKind;

    fn pod(context: &str, host_pid: bool) -> String {
        format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: ns}}
spec:
  hostPID: {host_pid}
  nodeName: n1
  containers: [{{name: c, image: x, securityContext: {context}}}]
---
apiVersion: v1
kind: Node
metadata: {{name: n1}}
"
        )
    }

    #[test]
    fn privilege_and_host_pid_decide_each_escape() {
        let g = graph(&pod("{privileged: true}", true));
        let to_node = |kind| edges(&g, kind);
        let expected = vec![("container/ns/p/c".to_string(), "node/n1".to_string())];
        assert_eq!(to_node(EdgeKind::CeNsenter), expected);
        assert_eq!(to_node(EdgeKind::CePrivMount), expected);
        assert_eq!(to_node(EdgeKind::CeModuleLoad), expected);
        // Without hostPID, no nsenter; a capability alone loads modules.
        let g = graph(&pod("{privileged: true}", false));
        assert!(edges(&g, EdgeKind::CeNsenter).is_empty());
        let g = graph(&pod("{capabilities: {add: [CAP_SYS_MODULE]}}", false));
        assert_eq!(edges(&g, EdgeKind::CeModuleLoad), expected);
        assert!(edges(&g, EdgeKind::CePrivMount).is_empty());
        // As the runtimes read them: any case, and `ALL` adds every one.
        for added in ["[sys_module]", "[all]", "[All]"] {
            let g = graph(&pod(&format!("{{capabilities: {{add: {added}}}}}"), false));
            assert_eq!(edges(&g, EdgeKind::CeModuleLoad), expected, "{added}");
        }
        // Decoy: dropping capabilities or running unprivileged escapes nothing.
        let g = graph(&pod(
            "{privileged: false, capabilities: {drop: [ALL]}}",
            true,
        ));
        for kind in [
            EdgeKind::CeModuleLoad,
            EdgeKind::CePrivMount,
            EdgeKind::CeNsenter,
            EdgeKind::CeSysPtrace,
        ] {
            assert!(edges(&g, kind).is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn apparmor_is_read_from_the_container_the_annotation_or_the_pod() {
        let ptrace = |metadata: &str, pod: &str, container: &str| {
            let yaml = format!(
                "apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: ns{metadata}}}
spec:
  hostPID: true
  nodeName: n1
  securityContext: {{{pod}}}
  containers: [{{name: c, image: x, securityContext: {{capabilities: {{add: [SYS_PTRACE, SYS_ADMIN]}}{container}}}}}]
---
apiVersion: v1
kind: Node
metadata: {{name: n1}}
"
            );
            !edges(&graph(&yaml), EdgeKind::CeSysPtrace).is_empty()
        };
        let unconfined = "appArmorProfile: {type: Unconfined}";
        let annotation =
            ", annotations: {container.apparmor.security.beta.kubernetes.io/c: unconfined}";
        assert!(ptrace("", "", &format!(", {unconfined}")));
        assert!(ptrace("", unconfined, ""));
        assert!(ptrace(annotation, "", ""));
        // The container's own profile wins over the pod's.
        assert!(!ptrace(
            "",
            unconfined,
            ", appArmorProfile: {type: RuntimeDefault}"
        ));
        assert!(!ptrace("", "", ""));
    }

    #[test]
    fn a_host_process_container_runs_on_its_node() {
        let yaml = |pod: &str, container: &str| {
            format!(
                "apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: ns}}
spec:
  os: {{name: windows}}
  hostNetwork: true
  nodeName: n1
  securityContext: {{windowsOptions: {{{pod}}}}}
  containers: [{{name: c, image: x, securityContext: {{windowsOptions: {{{container}}}}}}}]
---
apiVersion: v1
kind: Node
metadata: {{name: n1}}
"
            )
        };
        let host = |pod: &str, container: &str| {
            edges(&graph(&yaml(pod, container)), EdgeKind::CeHostProcess)
        };
        let expected = vec![("container/ns/p/c".to_string(), "node/n1".to_string())];
        assert_eq!(host("hostProcess: true", ""), expected);
        assert_eq!(host("", "hostProcess: true"), expected);
        assert!(host("hostProcess: true", "hostProcess: false").is_empty());
        assert!(host("", "").is_empty());
    }
}
