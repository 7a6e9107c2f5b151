//! Endpoints (`ENDPOINT_EXPLOIT`): a container's declared ports, and the
//! ports of Services that select its pod, each looks only at its
//! namespace's pods.

use corral_core::model::lean::LeanContainer;
use corral_core::model::selector::Labels;
use corral_core::model::{Model, Resource};
use petgraph::graph::NodeIndex;
use rustc_hash::FxHashMap;

use super::{evidence, PodEntry};
use crate::edge::EdgeKind;
use crate::graph::{Graph, Vertex};

/// A container's ports: an endpoint each, on the node's address when it
/// takes a host port.
pub(super) fn container_ports(
    g: &mut Graph,
    entry: &PodEntry,
    (vertex, container, path): (NodeIndex, &LeanContainer, &str),
) {
    for (n, port) in container.ports.iter().flatten().enumerate() {
        let exposure = if port.host_port.is_some() {
            "NodeIP"
        } else {
            "ClusterIP"
        };
        let e = g.vertex(Vertex::Endpoint {
            namespace: entry.namespace.as_str().into(),
            name: match &port.name {
                Some(name) => name.as_str().into(),
                None => {
                    compact_str::format_compact!("{}-{}", entry.name, port.container_port)
                }
            },
            port: port.host_port.unwrap_or(port.container_port),
            exposure: exposure.into(),
        });
        g.edge(
            e,
            vertex,
            EdgeKind::EndpointExploit,
            evidence(
                entry.object,
                &format!("{path}.ports[{n}]"),
                "an exposed port",
            ),
        );
    }
}

/// Each Service port, to every container of the pods it selects.
pub(super) fn services(g: &mut Graph, model: &Model, pods: &[PodEntry]) {
    let mut pods_in: FxHashMap<&str, Vec<&PodEntry>> = FxHashMap::default();
    for entry in pods {
        pods_in
            .entry(entry.namespace.as_str())
            .or_default()
            .push(entry);
    }
    for (object, resource) in model.iter() {
        let Resource::Service(service) = resource else {
            continue;
        };
        let Some(spec) = &service.spec else { continue };
        let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
        for entry in pods_in.get(namespace.as_str()).into_iter().flatten() {
            let labels = entry.labels();
            if !selector
                .iter()
                .all(|(k, v)| labels.label(k) == Some(v.as_str()))
            {
                continue;
            }
            for (n, port) in spec.ports.iter().flatten().enumerate() {
                let e = g.vertex(Vertex::Endpoint {
                    namespace: namespace.as_str().into(),
                    name: object.name.as_deref().unwrap_or_default().into(),
                    port: port.port,
                    exposure: spec.type_.as_deref().unwrap_or("ClusterIP").into(),
                });
                for (vertex, _, _) in &entry.containers {
                    g.edge(
                        e,
                        *vertex,
                        EdgeKind::EndpointExploit,
                        evidence(object, &format!("spec.ports[{n}]"), "a Service port"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::build::small::{edges, graph};
    use crate::EdgeKind;

    #[test]
    fn services_reach_the_pods_they_select_in_their_namespace() {
        let g = graph(
            "apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: other, labels: {app: web}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 443}]}
",
        );
        assert_eq!(
            edges(&g, EdgeKind::EndpointExploit),
            [(
                "endpoint/shop/web:443".to_string(),
                "container/shop/web/c".to_string()
            )]
        );
    }
}
