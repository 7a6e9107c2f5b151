//! Queries: from which sources (pods, exposed endpoints, an identity) an
//! attacker reaches which targets (cluster-admin, nodes, service account
//! tokens, anything critical), by the shortest paths, each hop with what the
//! attacker does and the evidence.

use std::collections::{BTreeMap, VecDeque};

use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::graph::{Evidence, Graph, Vertex};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum From {
    AllPods,
    Exposed,
    Pod { namespace: String, name: String },
    ServiceAccount { namespace: String, name: String },
    User(String),
}

impl std::str::FromStr for From {
    type Err = String;
    fn from_str(s: &str) -> Result<From, String> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            ["all-pods"] => Ok(From::AllPods),
            ["exposed"] => Ok(From::Exposed),
            ["pod", ns, name] => Ok(From::Pod {
                namespace: ns.to_string(),
                name: name.to_string(),
            }),
            ["sa", ns, name] => Ok(From::ServiceAccount {
                namespace: ns.to_string(),
                name: name.to_string(),
            }),
            ["user", name] => Ok(From::User(name.to_string())),
            _ => Err(format!(
                "{s:?}: expected all-pods, exposed, pod/NS/NAME, sa/NS/NAME or user/NAME"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To {
    ClusterAdmin,
    Nodes,
    Secrets,
    /// A cloud identity whose policies amount to administrator.
    CloudAdmin,
    AnyCritical,
}

impl To {
    fn matches(self, vertex: &Vertex) -> bool {
        match self {
            To::ClusterAdmin => {
                vertex.is_critical() && !matches!(vertex, Vertex::CloudIdentity { .. })
            }
            To::CloudAdmin => matches!(vertex, Vertex::CloudIdentity { admin: true, .. }),
            To::Nodes => matches!(vertex, Vertex::Node { .. }),
            To::Secrets => {
                matches!(vertex, Vertex::Identity { kind, .. } if kind == "ServiceAccount")
            }
            To::AnyCritical => vertex.is_critical() || matches!(vertex, Vertex::Node { .. }),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Hop {
    pub from: String,
    pub edge: &'static str,
    pub to: String,
    pub action: &'static str,
    pub mitre: &'static str,
    pub remediation: &'static str,
    pub evidence: Evidence,
}

#[derive(Clone, Debug, Serialize)]
pub struct Path {
    pub source: String,
    pub target: String,
    pub hops: Vec<Hop>,
}

fn sources(graph: &Graph, from: &From) -> Vec<NodeIndex> {
    graph
        .graph
        .node_indices()
        .filter(|i| match (&graph.graph[*i], from) {
            (Vertex::Container { .. }, From::AllPods) => true,
            (Vertex::Endpoint { .. }, From::Exposed) => true,
            (
                Vertex::Container { namespace, pod, .. },
                From::Pod {
                    namespace: ns,
                    name,
                },
            ) => namespace == ns && pod == name,
            (
                Vertex::Identity {
                    kind,
                    namespace,
                    name,
                },
                From::ServiceAccount {
                    namespace: ns,
                    name: n,
                },
            ) => kind == "ServiceAccount" && namespace.as_deref() == Some(ns) && name == n,
            (Vertex::Identity { kind, name, .. }, From::User(user)) => {
                kind == "User" && name == user
            }
            _ => false,
        })
        .collect()
}

/// The path that edge `edge` and `previous` hops spell, from `source`.
fn hop(graph: &Graph, before: NodeIndex, edge: petgraph::graph::EdgeIndex, at: NodeIndex) -> Hop {
    let weight = &graph.graph[edge];
    let (action, mitre, remediation) = weight.kind.describe();
    Hop {
        from: graph.graph[before].label(),
        edge: weight.kind.id(),
        to: graph.graph[at].label(),
        action,
        mitre,
        remediation,
        evidence: weight.evidence.clone(),
    }
}

/// For many sources (every pod, every exposed endpoint): one breadth-first
/// search backwards from all the targets at once gives each vertex its next
/// hop towards the nearest target, so each source gets its shortest path in
/// time linear in the graph.
fn nearest(graph: &Graph, sources: &[NodeIndex], to: To, max_hops: usize) -> Vec<Path> {
    use petgraph::Direction;
    let mut next: Vec<Option<(petgraph::graph::EdgeIndex, NodeIndex)>> =
        vec![None; graph.graph.node_count()];
    let mut depth: Vec<usize> = vec![usize::MAX; graph.graph.node_count()];
    let mut queue = VecDeque::new();
    let mut targets: Vec<NodeIndex> = graph
        .graph
        .node_indices()
        .filter(|v| to.matches(&graph.graph[*v]))
        .collect();
    targets.sort_by_key(|v| graph.graph[*v].label());
    for t in targets {
        depth[t.index()] = 0;
        queue.push_back(t);
    }
    while let Some(vertex) = queue.pop_front() {
        let d = depth[vertex.index()];
        if d >= max_hops {
            continue;
        }
        for edge in graph.graph.edges_directed(vertex, Direction::Incoming) {
            let before = edge.source();
            if depth[before.index()] != usize::MAX {
                continue;
            }
            depth[before.index()] = d + 1;
            next[before.index()] = Some((edge.id(), vertex));
            queue.push_back(before);
        }
    }
    let mut found = Vec::new();
    for source in sources {
        if depth[source.index()] == usize::MAX || depth[source.index()] == 0 {
            continue;
        }
        let mut hops = Vec::new();
        let mut at = *source;
        while let Some((edge, after)) = next[at.index()] {
            hops.push(hop(graph, at, edge, after));
            at = after;
        }
        found.push(Path {
            source: graph.graph[*source].label(),
            target: graph.graph[at].label(),
            hops,
        });
    }
    found
}

/// Paths to `to` within `max_hops`, sorted by length. From every pod or
/// exposed endpoint: each one's shortest path to its nearest target. From
/// one pod or identity: its shortest path to each target it reaches.
pub fn paths(graph: &Graph, from: &From, to: To, max_hops: usize) -> Vec<Path> {
    let starts = sources(graph, from);
    let mut found = if matches!(from, From::AllPods | From::Exposed) {
        nearest(graph, &starts, to, max_hops)
    } else {
        each_target(graph, &starts, to, max_hops)
    };
    found.sort_by(|a, b| {
        (a.hops.len(), &a.source, &a.target).cmp(&(b.hops.len(), &b.source, &b.target))
    });
    found
}

fn each_target(graph: &Graph, starts: &[NodeIndex], to: To, max_hops: usize) -> Vec<Path> {
    let mut found = Vec::new();
    for &source in starts {
        // Breadth-first: the first time a vertex is reached is by a
        // shortest path; `previous` keeps the edge it came by.
        let mut previous: BTreeMap<NodeIndex, (NodeIndex, petgraph::graph::EdgeIndex)> =
            BTreeMap::new();
        let mut depth: BTreeMap<NodeIndex, usize> = BTreeMap::from([(source, 0)]);
        let mut queue = VecDeque::from([source]);
        while let Some(vertex) = queue.pop_front() {
            let d = depth[&vertex];
            if d >= max_hops {
                continue;
            }
            let mut next: Vec<_> = graph.graph.edges(vertex).collect();
            next.sort_by_key(|e| (graph.graph[e.target()].label(), e.weight().kind));
            for edge in next {
                let target = edge.target();
                if depth.contains_key(&target) {
                    continue;
                }
                depth.insert(target, d + 1);
                previous.insert(target, (vertex, edge.id()));
                queue.push_back(target);
            }
        }
        let mut reached: Vec<NodeIndex> = depth
            .keys()
            .copied()
            .filter(|v| *v != source && to.matches(&graph.graph[*v]))
            .collect();
        reached.sort_by_key(|v| graph.graph[*v].label());
        for target in reached {
            let mut hops = Vec::new();
            let mut at = target;
            while let Some((before, edge)) = previous.get(&at) {
                hops.push(hop(graph, *before, *edge, at));
                at = *before;
            }
            hops.reverse();
            found.push(Path {
                source: graph.graph[source].label(),
                target: graph.graph[target].label(),
                hops,
            });
        }
    }
    found.sort_by(|a, b| {
        (a.hops.len(), &a.source, &a.target).cmp(&(b.hops.len(), &b.source, &b.target))
    });
    found
}

pub fn text(paths: &[Path]) -> String {
    let mut out = String::new();
    for p in paths {
        out.push_str(&format!(
            "{} → {} ({} hops)\n",
            p.source,
            p.target,
            p.hops.len()
        ));
        for h in &p.hops {
            let at = match (&h.evidence.file, h.evidence.line) {
                (Some(f), Some(l)) => format!(" [{f}:{l}]"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "  {} -{}-> {}: {} ({}; {}){at}\n",
                h.from, h.edge, h.to, h.action, h.mitre, h.evidence.detail
            ));
            if !h.remediation.is_empty() {
                out.push_str(&format!("      fix: {}\n", h.remediation));
            }
        }
    }
    if paths.is_empty() {
        out.push_str("no path\n");
    } else {
        out.push_str(&format!("{} path(s)\n", paths.len()));
    }
    out
}

/// A Mermaid flowchart of the paths' hops.
pub fn mermaid(paths: &[Path]) -> String {
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut lines = Vec::new();
    for p in paths {
        for h in &p.hops {
            for v in [&h.from, &h.to] {
                let n = ids.len();
                ids.entry(v.clone()).or_insert(n);
            }
            let line = format!("  v{} -->|{}| v{}", ids[&h.from], h.edge, ids[&h.to]);
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    let mut out = String::from("flowchart LR\n");
    let mut vertices: Vec<(&String, &usize)> = ids.iter().collect();
    vertices.sort_by_key(|(_, n)| **n);
    for (label, n) in vertices {
        out.push_str(&format!("  v{n}[\"{label}\"]\n"));
    }
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The same in Graphviz dot.
pub fn dot(paths: &[Path]) -> String {
    let mut edges = Vec::new();
    for p in paths {
        for h in &p.hops {
            let line = format!("  \"{}\" -> \"{}\" [label=\"{}\"];", h.from, h.to, h.edge);
            if !edges.contains(&line) {
                edges.push(line);
            }
        }
    }
    format!(
        "digraph paths {{\n  rankdir=LR;\n{}\n}}\n",
        edges.join("\n")
    )
}

/// The kinds of edge in `paths`, for a summary.
pub fn edge_kinds(paths: &[Path]) -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = paths
        .iter()
        .flat_map(|p| p.hops.iter().map(|h| h.edge))
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}
