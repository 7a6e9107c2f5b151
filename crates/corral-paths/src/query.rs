//! Queries: from which sources (pods, exposed endpoints, an identity) an
//! attacker reaches which targets (cluster-admin, nodes, service account
//! tokens, anything critical), by the shortest paths, each hop with what the
//! attacker does and the evidence.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use petgraph::graph::EdgeIndex;

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
            // A workload's pod template: pod/NS/Deployment/NAME.
            ["pod", ns, kind, name] => Ok(From::Pod {
                namespace: ns.to_string(),
                name: format!("{kind}/{name}"),
            }),
            ["sa", ns, name] => Ok(From::ServiceAccount {
                namespace: ns.to_string(),
                name: name.to_string(),
            }),
            ["user", name] => Ok(From::User(name.to_string())),
            _ => Err(format!(
                "{s:?}: expected all-pods, exposed, pod/NS/NAME, pod/NS/KIND/NAME, sa/NS/NAME or user/NAME"
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
    /// The graph's edges, hop by hop.
    #[serde(skip)]
    pub edges: Vec<EdgeIndex>,
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

/// Where a path's source is written: a container's place in its
/// manifest, else the first hop's evidence that names a file.
pub fn source_evidence(graph: &Graph, path: &Path) -> Option<Evidence> {
    use petgraph::Direction;
    let first = *path.edges.first()?;
    let (source, _) = graph.graph.edge_endpoints(first)?;
    graph
        .graph
        .edges_directed(source, Direction::Incoming)
        .find(|e| e.weight().kind == crate::EdgeKind::ContainerAttach)
        .map(|e| graph.evidence(e.weight()).owned())
        .or_else(|| {
            path.hops
                .iter()
                .find(|h| h.evidence.file.is_some())
                .map(|h| h.evidence.clone())
        })
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
        evidence: graph.evidence(weight).owned(),
    }
}

/// For many sources (every pod, every exposed endpoint): one breadth-first
/// search backwards from all the targets at once gives each vertex its next
/// hop towards the nearest target, so each source gets its shortest path in
/// time linear in the graph.
fn nearest(
    graph: &Graph,
    sources: &[NodeIndex],
    to: To,
    max_hops: usize,
    cut: &HashSet<EdgeIndex>,
) -> Vec<Path> {
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
            if cut.contains(&edge.id()) {
                continue;
            }
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
        let mut edges = Vec::new();
        let mut at = *source;
        while let Some((edge, after)) = next[at.index()] {
            hops.push(hop(graph, at, edge, after));
            edges.push(edge);
            at = after;
        }
        found.push(Path {
            source: graph.graph[*source].label(),
            target: graph.graph[at].label(),
            hops,
            edges,
        });
    }
    found
}

/// Paths to `to` within `max_hops`, sorted by length. From every pod or
/// exposed endpoint: each one's shortest path to its nearest target. From
/// one pod or identity: its shortest path to each target it reaches.
pub fn paths(graph: &Graph, from: &From, to: To, max_hops: usize) -> Vec<Path> {
    paths_without(graph, from, to, max_hops, &HashSet::new())
}

/// The same, with the edges of `cut` removed.
fn paths_without(
    graph: &Graph,
    from: &From,
    to: To,
    max_hops: usize,
    cut: &HashSet<EdgeIndex>,
) -> Vec<Path> {
    let starts = sources(graph, from);
    let mut found = if matches!(from, From::AllPods | From::Exposed) {
        nearest(graph, &starts, to, max_hops, cut)
    } else {
        each_target(graph, &starts, to, max_hops, cut)
    };
    found.sort_by(|a, b| {
        (a.hops.len(), &a.source, &a.target).cmp(&(b.hops.len(), &b.source, &b.target))
    });
    found
}

fn each_target(
    graph: &Graph,
    starts: &[NodeIndex],
    to: To,
    max_hops: usize,
    cut: &HashSet<EdgeIndex>,
) -> Vec<Path> {
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
            // A target is where the attacker has won: what lies beyond it
            // is no new path.
            if d >= max_hops || (vertex != source && to.matches(&graph.graph[vertex])) {
                continue;
            }
            let mut next: Vec<_> = graph
                .graph
                .edges(vertex)
                .filter(|e| !cut.contains(&e.id()))
                .collect();
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
            let mut edges = Vec::new();
            let mut at = target;
            while let Some((before, edge)) = previous.get(&at) {
                hops.push(hop(graph, *before, *edge, at));
                edges.push(*edge);
                at = *before;
            }
            hops.reverse();
            edges.reverse();
            found.push(Path {
                source: graph.graph[source].label(),
                target: graph.graph[target].label(),
                hops,
                edges,
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
            let at = h
                .evidence
                .place()
                .map(|p| format!(" [{p}]"))
                .unwrap_or_default();
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
        out.push_str(&format!(
            "  v{n}[\"{}\"]\n",
            corral_core::safe::mermaid_label(label)
        ));
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
            let line = format!(
                "  \"{}\" -> \"{}\" [label=\"{}\"];",
                corral_core::safe::dot_string(&h.from),
                corral_core::safe::dot_string(&h.to),
                h.edge
            );
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

/// One change that cuts paths: the edge to remove, what to change, and on
/// how many of the shortest paths left it lies (once it is made, some
/// sources may find longer paths, which later changes cut).
#[derive(Clone, Debug, Serialize)]
pub struct Cut {
    pub from: String,
    pub edge: &'static str,
    pub to: String,
    pub remediation: &'static str,
    pub evidence: Evidence,
    pub on_paths: usize,
    pub paths_left: usize,
}

/// Edges a user changes by changing a manifest or a cloud setting; the
/// others (a pod's containers, a node's pods, its volumes, group
/// membership, a hub's members) follow from those.
fn changeable(graph: &Graph, edge: EdgeIndex) -> bool {
    use crate::edge::EdgeKind::*;
    let Some((source, _)) = graph.graph.edge_endpoints(edge) else {
        return false;
    };
    if matches!(
        graph.graph[source],
        Vertex::Scope { .. } | Vertex::Node { .. }
    ) {
        return false;
    }
    // A binding the attacker would make: the change is the grant that lets
    // them make it, not the role it would bind.
    if matches!(&graph.graph[source], Vertex::PermissionSet { name, .. } if name.ends_with("::(new)"))
    {
        return false;
    }
    !matches!(
        graph.graph[edge].kind,
        ContainerAttach | PodAttach | VolumeDiscover | VolumeAccess | GroupMember
    )
}

/// The changes, and the paths before and after them.
#[derive(Clone, Debug, Serialize)]
pub struct CutPlan {
    pub cuts: Vec<Cut>,
    pub paths_before: usize,
    pub paths_left: usize,
}

/// The fewest changes, greedily: the change on most of the remaining paths
/// first, until no path is left (or `limit` changes).
pub fn cut(graph: &Graph, from: &From, to: To, max_hops: usize, limit: usize) -> CutPlan {
    let mut removed: HashSet<EdgeIndex> = HashSet::new();
    let mut cuts = Vec::new();
    let mut left = paths_without(graph, from, to, max_hops, &removed);
    let paths_before = left.len();
    // One change removes every edge its evidence stands for: dropping
    // `privileged` at one line cuts the escapes to every node.
    let change = |edge: EdgeIndex| -> (String, String) {
        let weight = &graph.graph[edge];
        let evidence = graph.evidence(weight);
        match (evidence.file, evidence.line) {
            (Some(file), Some(line)) => (weight.kind.id().to_string(), format!("{file}:{line}")),
            // A cloud setting: every edge its statement stands for (one
            // instance's metadata options reach every pod on it).
            (Some(file), None) => (
                weight.kind.id().to_string(),
                format!("{file}: {}", evidence.detail),
            ),
            _ => {
                let (s, t) = graph
                    .graph
                    .edge_endpoints(edge)
                    .unwrap_or((NodeIndex::new(0), NodeIndex::new(0)));
                (
                    weight.kind.id().to_string(),
                    format!("{} {}", graph.graph[s].label(), graph.graph[t].label()),
                )
            }
        }
    };
    let mut members: HashMap<(String, String), Vec<EdgeIndex>> = HashMap::new();
    for edge in graph.graph.edge_indices().filter(|e| changeable(graph, *e)) {
        members.entry(change(edge)).or_default().push(edge);
    }
    while cuts.len() < limit {
        let mut counts: HashMap<(String, String), (usize, EdgeIndex)> = HashMap::new();
        for path in &left {
            let mut seen = HashSet::new();
            for edge in path.edges.iter().filter(|e| changeable(graph, **e)) {
                let key = change(*edge);
                if seen.insert(key.clone()) {
                    counts.entry(key).or_insert((0, *edge)).0 += 1;
                }
            }
        }
        let Some((key, (count, edge))) = counts
            .into_iter()
            .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then_with(|| b.0.cmp(&a.0)))
        else {
            break;
        };
        let (source, target) = graph
            .graph
            .edge_endpoints(edge)
            .unwrap_or((NodeIndex::new(0), NodeIndex::new(0)));
        let weight = &graph.graph[edge];
        cuts.push(Cut {
            from: graph.graph[source].label(),
            edge: weight.kind.id(),
            to: graph.graph[target].label(),
            remediation: weight.kind.describe().2,
            evidence: graph.evidence(weight).owned(),
            on_paths: count,
            paths_left: left.len(),
        });
        removed.extend(members.get(&key).into_iter().flatten().copied());
        left = paths_without(graph, from, to, max_hops, &removed);
    }
    CutPlan {
        cuts,
        paths_before,
        paths_left: left.len(),
    }
}

pub fn cut_text(plan: &CutPlan) -> String {
    let mut out = String::new();
    for (i, c) in plan.cuts.iter().enumerate() {
        let at = c
            .evidence
            .place()
            .map(|p| format!(" [{p}]"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{}. on {} of {} path(s) left: {} -{}-> {}: {}{at}\n   ({})\n",
            i + 1,
            c.on_paths,
            c.paths_left,
            c.from,
            c.edge,
            c.to,
            if c.remediation.is_empty() {
                "remove it"
            } else {
                c.remediation
            },
            c.evidence.detail
        ));
    }
    out.push_str(&format!(
        "{} change(s) leave {} of {} path(s)\n",
        plan.cuts.len(),
        plan.paths_left,
        plan.paths_before
    ));
    out
}
