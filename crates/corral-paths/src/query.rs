//! Queries: from which sources (pods, exposed endpoints, an identity) an
//! attacker reaches which targets (cluster-admin, nodes, service account
//! tokens, anything critical), by the shortest paths, each hop with what the
//! attacker does and the evidence.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use rustc_hash::FxHashMap;
use serde::Serialize;

use corral_core::authz::Subject;

use crate::graph::{Evidence, Graph, Vertex};
use crate::EdgeKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum From {
    AllPods,
    Exposed,
    Pod { namespace: String, name: String },
    ServiceAccount { namespace: String, name: String },
    User(String),
    Group(String),
}

/// As `--from` takes it.
impl std::fmt::Display for From {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            From::AllPods => write!(f, "all-pods"),
            From::Exposed => write!(f, "exposed"),
            From::Pod { namespace, name } => write!(f, "pod/{namespace}/{name}"),
            From::ServiceAccount { namespace, name } => write!(f, "sa/{namespace}/{name}"),
            From::User(name) => write!(f, "user/{name}"),
            From::Group(name) => write!(f, "group/{name}"),
        }
    }
}

impl std::str::FromStr for From {
    type Err = String;
    fn from_str(s: &str) -> Result<From, String> {
        // A user's or group's name is free text, `/` included (OIDC
        // issuers' URLs, `team/ops`): all of what follows the kind.
        if let Some(name) = s.strip_prefix("group/").filter(|n| !n.is_empty()) {
            return Ok(From::Group(name.to_string()));
        }
        if let Some(name) = s.strip_prefix("user/").filter(|n| !n.is_empty()) {
            // A service account's user name is that account.
            return Ok(match Subject::user(name) {
                Subject::ServiceAccount { namespace, name } => {
                    From::ServiceAccount { namespace, name }
                }
                _ => From::User(name.to_string()),
            });
        }
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
            _ => Err(format!(
                "{s:?}: expected all-pods, exposed, pod/NS/NAME, pod/NS/KIND/NAME, sa/NS/NAME, user/NAME or group/NAME"
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
    pub remediation: Cow<'static, str>,
    pub evidence: Evidence,
}

#[derive(Clone, Debug, Serialize)]
pub struct Path {
    pub source: String,
    pub target: String,
    /// Its length as `--max-hops` counts it: the hops, but not those into
    /// a hub or to a binding's permissions that it goes on from (see
    /// [`hop_cost`]).
    pub counted_hops: usize,
    pub hops: Vec<Hop>,
    /// The graph's edges, hop by hop.
    #[serde(skip)]
    pub edges: Vec<EdgeIndex>,
}

fn sources(graph: &Graph, from: &From) -> Vec<NodeIndex> {
    let found: Vec<NodeIndex> = graph
        .graph
        .node_indices()
        .filter(|i| match (&graph.graph[*i], from) {
            (Vertex::Container { .. }, From::AllPods) => true,
            (Vertex::Endpoint { .. }, From::Exposed) => true,
            // A Pod by its name, or a workload's pods by the workload's.
            (
                Vertex::Container { namespace, pod, .. },
                From::Pod {
                    namespace: ns,
                    name,
                },
            ) => {
                namespace == ns
                    && (pod == name
                        || (!name.contains('/')
                            && pod.split_once('/').is_some_and(|(_, n)| n == name)))
            }
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
            (Vertex::Identity { kind, name, .. }, From::Group(group)) => {
                kind == "Group" && name == group
            }
            _ => false,
        })
        .collect();
    if !found.is_empty() {
        return found;
    }
    // An identity nothing names holds what the groups the authenticator
    // puts it in hold.
    let subject = match from {
        From::ServiceAccount { namespace, name } => Subject::ServiceAccount {
            namespace: namespace.clone(),
            name: name.clone(),
        },
        From::User(user) => Subject::user(user),
        _ => return found,
    };
    let groups = subject.implicit_groups();
    graph
        .graph
        .node_indices()
        .filter(|i| {
            matches!(&graph.graph[*i], Vertex::Identity { kind, name, .. }
                if kind == "Group" && groups.iter().any(|g| g == name.as_str()))
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
    let (action, mitre, _) = weight.kind.describe();
    let evidence = graph.evidence(weight).owned();
    Hop {
        from: graph.graph[before].label(),
        edge: weight.kind.id(),
        to: graph.graph[at].label(),
        action,
        mitre,
        // Out of a hub the grant into it is what to change.
        remediation: if matches!(graph.graph[before], Vertex::Scope { .. }) {
            Cow::Borrowed("")
        } else {
            remediation(weight.kind, &evidence)
        },
        evidence,
    }
}

/// The fix of an edge. For a grant, the verb the rule actually grants
/// (its evidence says "rules[N] grants `VERB` on RESOURCE"), which the
/// edge kind's own fix can only guess (`get` on pods/exec before 1.35, not
/// `create`; `patch` on a CSR's approval, not `update`).
fn remediation(kind: EdgeKind, evidence: &Evidence) -> Cow<'static, str> {
    let granted = evidence
        .detail
        .split_once(" grants `")
        .and_then(|(before, after)| {
            let rule = before.rsplit(": ").next()?;
            let (verb, rest) = after.split_once("` on ")?;
            Some((rule, verb, rest))
        });
    match granted {
        Some((rule, verb, resource)) if rule.starts_with("rules[") => {
            Cow::Owned(format!("drop `{verb}` on {resource} from {rule}"))
        }
        _ => Cow::Borrowed(kind.describe().2),
    }
}

/// The hops `--max-hops` counts for `edge` into `head`: 0 for an edge the
/// attacker does nothing for, on a path that goes on after it, so that the
/// limit counts what the attacker does rather than how the graph is drawn:
///
/// - into a hub (a `Scope`, "any pod of a namespace"; a `Group`, whose
///   members hold what it is bound to): the hop out of it counts, as the
///   grant's action ("exec into the pod" into the hub, then out of it);
/// - `PERMISSION_DISCOVER`, an identity to the permissions a binding gives
///   it: the grant used next counts, so "service account → bound role →
///   grant" is one step of privilege. `text` prints that edge as "use the
///   permissions bound to the identity", no action or fix of its own, like
///   a group's membership; binding itself another role (`ROLE_BIND` into
///   permissions) is an action and counts.
///
/// An edge into a target always counts, even where the path goes on past
/// it: every path is at least a hop, and a path counts each target it
/// reaches.
fn hop_cost(kind: EdgeKind, head: &Vertex, to: To) -> usize {
    let joins = kind == EdgeKind::PermissionDiscover
        || match head {
            Vertex::Scope { .. } => true,
            Vertex::Identity { kind, .. } => kind == "Group",
            _ => false,
        };
    usize::from(!joins || to.matches(head))
}

/// How far a search goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extent {
    /// Up to `max_hops`: paths only.
    WithinMaxHops,
    /// On through the whole graph, to count the paths beyond `max_hops`
    /// (still linear: the same search, not stopped).
    Whole,
}

/// For many sources (every pod, every exposed endpoint): one 0-1
/// breadth-first search backwards from all the targets at once (a free hop,
/// see [`hop_cost`], goes to the front of the queue) gives each vertex
/// its next hop towards the nearest target, so each source gets its
/// shortest path in time linear in the graph. Also returns how many sources
/// reach a target only beyond `max_hops`.
fn nearest(
    graph: &Graph,
    sources: &[NodeIndex],
    to: To,
    max_hops: usize,
    cut: &HashSet<EdgeIndex>,
    extent: Extent,
) -> (Vec<Path>, usize) {
    use petgraph::Direction;
    let mut next: Vec<Option<(EdgeIndex, NodeIndex)>> = vec![None; graph.graph.node_count()];
    // Hops to the nearest target; 0 for the targets only, as any path
    // ends with a hop that counts.
    let mut cost: Vec<usize> = vec![usize::MAX; graph.graph.node_count()];
    let mut queue = VecDeque::new();
    let mut targets: Vec<NodeIndex> = graph
        .graph
        .node_indices()
        .filter(|v| to.matches(&graph.graph[*v]))
        .collect();
    targets.sort_by_key(|v| graph.graph[*v].label());
    for t in targets {
        cost[t.index()] = 0;
        queue.push_back((t, 0));
    }
    while let Some((vertex, d)) = queue.pop_front() {
        if d > cost[vertex.index()] {
            continue; // reached for less since it was queued
        }
        for edge in graph.graph.edges_directed(vertex, Direction::Incoming) {
            if cut.contains(&edge.id()) {
                continue;
            }
            let step = hop_cost(edge.weight().kind, &graph.graph[vertex], to);
            let reached = d + step;
            let before = edge.source();
            if extent == Extent::WithinMaxHops && reached > max_hops
                || reached >= cost[before.index()]
            {
                continue;
            }
            cost[before.index()] = reached;
            next[before.index()] = Some((edge.id(), vertex));
            if step == 0 {
                queue.push_front((before, reached));
            } else {
                queue.push_back((before, reached));
            }
        }
    }
    let mut found = Vec::new();
    let mut beyond = 0;
    for source in sources {
        let counted_hops = cost[source.index()];
        if counted_hops == usize::MAX || counted_hops == 0 {
            continue;
        }
        if counted_hops > max_hops {
            beyond += 1;
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
            counted_hops,
            hops,
            edges,
        });
    }
    (found, beyond)
}

/// The paths of a query within `max_hops`, and how many more it finds
/// beyond it.
#[derive(Clone, Debug, Serialize)]
pub struct Found {
    pub paths: Vec<Path>,
    pub max_hops: usize,
    /// The paths the same query finds only beyond `max_hops`: sources
    /// whose nearest target is farther (from every pod or exposed
    /// endpoint), or targets farther from a source (from one pod or
    /// identity).
    pub beyond_max_hops: usize,
}

/// Paths to `to` within `max_hops`, sorted by length. From every pod or
/// exposed endpoint: each one's shortest path to its nearest target. From
/// one pod or identity: its shortest path to each target it reaches.
/// Hops into hubs and to a binding's permissions are not counted where
/// the path goes on (see [`hop_cost`]).
pub fn paths(graph: &Graph, from: &From, to: To, max_hops: usize) -> Vec<Path> {
    find(
        graph,
        from,
        to,
        max_hops,
        &HashSet::new(),
        Extent::WithinMaxHops,
    )
    .0
}

/// The same, and how many paths lie beyond `max_hops`.
pub fn search(graph: &Graph, from: &From, to: To, max_hops: usize) -> Found {
    let (paths, beyond_max_hops) = find(graph, from, to, max_hops, &HashSet::new(), Extent::Whole);
    Found {
        paths,
        max_hops,
        beyond_max_hops,
    }
}

/// As [`search`], but for `any-critical` from every pod or exposed
/// endpoint: each source's shortest path to each class of target it
/// reaches (cluster-admin, a node, a cloud admin), not only to its
/// nearest, so that "sources reaching nodes" counts every one that does.
pub fn search_each_class(graph: &Graph, from: &From, to: To, max_hops: usize) -> Found {
    use rayon::prelude::*;
    if to != To::AnyCritical || !matches!(from, From::AllPods | From::Exposed) {
        return search(graph, from, to, max_hops);
    }
    // Four searches of the whole graph, side by side.
    let (whole, each): (Found, Vec<Vec<Path>>) = rayon::join(
        || search(graph, from, to, max_hops),
        || {
            [To::ClusterAdmin, To::Nodes, To::CloudAdmin]
                .into_par_iter()
                .map(|class| search(graph, from, class, max_hops).paths)
                .collect()
        },
    );
    let mut paths: Vec<Path> = each.into_iter().flatten().collect();
    paths.sort_by(shortest_first);
    paths.dedup_by(|a, b| a.source == b.source && a.target == b.target);
    Found {
        paths,
        max_hops,
        beyond_max_hops: whole.beyond_max_hops,
    }
}

/// The order paths are listed in: by length as `--max-hops` counts it,
/// then hops, then source and target.
fn shortest_first(a: &Path, b: &Path) -> std::cmp::Ordering {
    (a.counted_hops, a.hops.len(), &a.source, &a.target).cmp(&(
        b.counted_hops,
        b.hops.len(),
        &b.source,
        &b.target,
    ))
}

/// The paths within `max_hops` with the edges of `cut` removed, sorted,
/// and how many lie beyond (0 unless `extent` is `Whole`).
fn find(
    graph: &Graph,
    from: &From,
    to: To,
    max_hops: usize,
    cut: &HashSet<EdgeIndex>,
    extent: Extent,
) -> (Vec<Path>, usize) {
    let starts = sources(graph, from);
    let (mut found, beyond) = if matches!(from, From::AllPods | From::Exposed) {
        nearest(graph, &starts, to, max_hops, cut, extent)
    } else {
        each_target(graph, &starts, to, max_hops, cut, extent)
    };
    found.sort_by(shortest_first);
    (found, beyond)
}

/// From each source, a 0-1 breadth-first search (free hops at the front of
/// the queue): the first time a vertex leaves the queue it is by a
/// shortest path, and `previous` keeps the edge it came by.
fn each_target(
    graph: &Graph,
    starts: &[NodeIndex],
    to: To,
    max_hops: usize,
    cut: &HashSet<EdgeIndex>,
    extent: Extent,
) -> (Vec<Path>, usize) {
    let mut found = Vec::new();
    let mut beyond = 0;
    for &source in starts {
        let mut previous: FxHashMap<NodeIndex, (NodeIndex, EdgeIndex)> = FxHashMap::default();
        let mut cost: FxHashMap<NodeIndex, usize> = FxHashMap::from_iter([(source, 0)]);
        let mut queue = VecDeque::from([(source, 0)]);
        while let Some((vertex, d)) = queue.pop_front() {
            if d > cost[&vertex] {
                continue; // reached for less since it was queued
            }
            // A target is where the attacker has won: what lies beyond it
            // is no new path.
            if vertex != source && to.matches(&graph.graph[vertex]) {
                continue;
            }
            let mut next: Vec<_> = graph
                .graph
                .edges(vertex)
                .filter(|e| !cut.contains(&e.id()))
                .collect();
            // The order picks among equally short paths, which only
            // matters for those printed: past the limit (while counting
            // what lies beyond), no labels are built to sort by.
            if d <= max_hops {
                next.sort_by_key(|e| (graph.graph[e.target()].label(), e.weight().kind));
            }
            for edge in next {
                let after = edge.target();
                let step = hop_cost(edge.weight().kind, &graph.graph[after], to);
                let reached = d + step;
                if extent == Extent::WithinMaxHops && reached > max_hops
                    || cost.get(&after).is_some_and(|c| *c <= reached)
                {
                    continue;
                }
                cost.insert(after, reached);
                previous.insert(after, (vertex, edge.id()));
                if step == 0 {
                    queue.push_front((after, reached));
                } else {
                    queue.push_back((after, reached));
                }
            }
        }
        let mut reached: Vec<(NodeIndex, usize)> = cost
            .iter()
            .filter(|(v, _)| **v != source && to.matches(&graph.graph[**v]))
            .map(|(v, c)| (*v, *c))
            .collect();
        beyond += reached.iter().filter(|(_, c)| *c > max_hops).count();
        reached.retain(|(_, c)| *c <= max_hops);
        // The index breaks ties: the search's map has no order.
        reached.sort_by_key(|(v, _)| (graph.graph[*v].label(), *v));
        for (target, counted_hops) in reached {
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
                counted_hops,
                hops,
                edges,
            });
        }
    }
    (found, beyond)
}

/// The paths, each hop on a line, then how many there are and how many
/// lie beyond `--max-hops`.
pub fn text(found: &Found) -> String {
    let mut out = String::new();
    for p in &found.paths {
        // Hops into hubs and to a binding's permissions are printed but
        // not counted.
        let length = if p.counted_hops == p.hops.len() {
            format!("{} hops", p.counted_hops)
        } else {
            format!("{} hops, {} edges", p.counted_hops, p.hops.len())
        };
        out.push_str(&format!("{} → {} ({length})\n", p.source, p.target));
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
    if found.paths.is_empty() {
        out.push_str("no path\n");
    } else {
        out.push_str(&format!("{} path(s)\n", found.paths.len()));
    }
    if let Some(note) = beyond_note(found) {
        out.push_str(&note);
        out.push('\n');
    }
    out
}

/// `N more path(s) lie beyond --max-hops M; raise it to see them`, when
/// some do.
pub fn beyond_note(found: &Found) -> Option<String> {
    (found.beyond_max_hops > 0).then(|| {
        format!(
            "{} more path(s) lie beyond --max-hops {}; raise it to see them",
            found.beyond_max_hops, found.max_hops
        )
    })
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
    pub remediation: Cow<'static, str>,
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
    let mut left = find(graph, from, to, max_hops, &removed, Extent::WithinMaxHops).0;
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
            remediation: remediation(weight.kind, &graph.evidence(weight).owned()),
            evidence: graph.evidence(weight).owned(),
            on_paths: count,
            paths_left: left.len(),
        });
        removed.extend(members.get(&key).into_iter().flatten().copied());
        left = find(graph, from, to, max_hops, &removed, Extent::WithinMaxHops).0;
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
                &c.remediation
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_are_named_whole() {
        let user: From = "user/https://issuer.example.com/#alice".parse().unwrap();
        assert_eq!(user, From::User("https://issuer.example.com/#alice".into()));
        let group: From = "group/team/ops".parse().unwrap();
        assert_eq!(group, From::Group("team/ops".into()));
        assert_eq!(group.to_string(), "group/team/ops");
        let account: From = "user/system:serviceaccount:ci:deployer".parse().unwrap();
        assert_eq!(account.to_string(), "sa/ci/deployer");
        assert!("user/".parse::<From>().is_err());
    }

    fn container(pod: &str) -> Vertex {
        Vertex::Container {
            namespace: "shop".into(),
            pod: pod.into(),
            name: pod.into(),
        }
    }

    fn identity(kind: &str, name: &str) -> Vertex {
        Vertex::Identity {
            kind: kind.into(),
            namespace: (kind == "ServiceAccount").then(|| "shop".into()),
            name: name.into(),
        }
    }

    fn node() -> Vertex {
        Vertex::Node { name: "n1".into() }
    }

    /// A graph of the chains given, vertex to vertex.
    fn graph(chains: &[&[(Vertex, EdgeKind)]]) -> Graph {
        let mut g = Graph::default();
        for chain in chains {
            for pair in chain.windows(2) {
                let (from, to) = (g.vertex(pair[0].0.clone()), g.vertex(pair[1].0.clone()));
                let evidence = Evidence {
                    file: None,
                    line: None,
                    field: None,
                    detail: "test".into(),
                };
                g.edge(from, to, pair[1].1, evidence);
            }
        }
        g
    }

    /// web → group/devs → sa/shop/admin → any/nodes → node/n1: 4 edges,
    /// through two hubs.
    fn through_two_hubs() -> Graph {
        let any_node = Vertex::Scope {
            edge: "POD_CREATE".into(),
            resource: "nodes".into(),
            namespace: None,
        };
        graph(&[&[
            (container("web"), EdgeKind::ContainerAttach),
            (identity("Group", "devs"), EdgeKind::GroupMember),
            (
                identity("ServiceAccount", "admin"),
                EdgeKind::IdentityImpersonate,
            ),
            (any_node, EdgeKind::PodCreate),
            (node(), EdgeKind::PodCreate),
        ]])
    }

    #[test]
    fn hubs_do_not_count_against_max_hops() {
        let g = through_two_hubs();
        for from in ["all-pods", "pod/shop/web"] {
            let found = search(&g, &from.parse().unwrap(), To::Nodes, 2);
            assert_eq!(found.paths.len(), 1, "{from}");
            assert_eq!(found.paths[0].counted_hops, 2, "{from}");
            assert_eq!(found.paths[0].hops.len(), 4, "{from}");
            assert_eq!(found.paths[0].hops[1].to, "sa/shop/admin", "{from}");
            assert_eq!(found.beyond_max_hops, 0, "{from}");
            // With one hop fewer, it lies beyond.
            let found = search(&g, &from.parse().unwrap(), To::Nodes, 1);
            assert!(found.paths.is_empty(), "{from}");
            assert_eq!(found.beyond_max_hops, 1, "{from}");
        }
        let text = text(&search(&g, &From::AllPods, To::Nodes, 2));
        assert!(
            text.starts_with("container/shop/web/web → node/n1 (2 hops, 4 edges)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_target_three_hops_away_lies_beyond_two() {
        // web → sa/shop/web → container/shop/db → node/n1; db is a source
        // one hop from the node.
        let g = graph(&[&[
            (container("web"), EdgeKind::ContainerAttach),
            (identity("ServiceAccount", "web"), EdgeKind::IdentityAssume),
            (container("db"), EdgeKind::PodExec),
            (node(), EdgeKind::CeNsenter),
        ]]);
        let found = search(&g, &From::AllPods, To::Nodes, 2);
        let sources: Vec<&str> = found.paths.iter().map(|p| p.source.as_str()).collect();
        assert_eq!(sources, ["container/shop/db/db"]);
        assert_eq!(found.beyond_max_hops, 1);
        assert!(text(&found).ends_with(
            "1 path(s)\n1 more path(s) lie beyond --max-hops 2; raise it to see them\n"
        ));
        assert_eq!(paths(&g, &From::AllPods, To::Nodes, 2).len(), 1);
        let found = search(&g, &"pod/shop/web".parse().unwrap(), To::Nodes, 2);
        assert!(found.paths.is_empty());
        assert_eq!(found.beyond_max_hops, 1);
        assert_eq!(
            text(&found),
            "no path\n1 more path(s) lie beyond --max-hops 2; raise it to see them\n"
        );
        // Without the limit in the way, nothing is said.
        let found = search(&g, &"pod/shop/web".parse().unwrap(), To::Nodes, 3);
        assert_eq!((found.paths.len(), found.beyond_max_hops), (1, 0));
    }

    #[test]
    fn a_hop_into_a_target_counts() {
        // web → sa/shop/web → group/system:masters → cluster-admin's
        // permissions: both critical, the hop into the group counts, and
        // the search stops there: the attacker has won, and what lies past
        // a target is no new path.
        let g = graph(&[&[
            (container("web"), EdgeKind::ContainerAttach),
            (identity("ServiceAccount", "web"), EdgeKind::IdentityAssume),
            (identity("Group", "system:masters"), EdgeKind::GroupMember),
            (
                Vertex::PermissionSet {
                    namespace: None,
                    name: "cluster-admin::masters".into(),
                    critical: true,
                },
                EdgeKind::PermissionDiscover,
            ),
        ]]);
        let found = search(&g, &"pod/shop/web".parse().unwrap(), To::ClusterAdmin, 2);
        let reached: Vec<(&str, usize)> = found
            .paths
            .iter()
            .map(|p| (p.target.as_str(), p.counted_hops))
            .collect();
        assert_eq!(reached, [("group/system:masters", 2)]);
        assert_eq!(found.beyond_max_hops, 0);
        let found = search(&g, &"pod/shop/web".parse().unwrap(), To::ClusterAdmin, 3);
        assert_eq!(found.paths.len(), 1);
        let nearest = search(&g, &From::AllPods, To::ClusterAdmin, 1);
        assert!(nearest.paths.is_empty());
        assert_eq!(nearest.beyond_max_hops, 1);
        let nearest = paths(&g, &From::AllPods, To::ClusterAdmin, 2);
        assert_eq!(nearest.len(), 1);
        assert_eq!(nearest[0].target, "group/system:masters");
        assert_eq!(nearest[0].counted_hops, 2);
    }

    #[test]
    fn a_binding_and_its_grant_are_one_hop_and_binding_another_role_one_more() {
        // sa/shop/ci → its permissions → any/rolebindings → permissions of
        // admin → any/pods → pod: two actions, bind and exec.
        let permissions = |name: &str| Vertex::PermissionSet {
            namespace: Some("shop".into()),
            name: name.into(),
            critical: false,
        };
        let any = |resource: &str| Vertex::Scope {
            edge: "ANY".into(),
            resource: resource.into(),
            namespace: Some("shop".into()),
        };
        let pod = Vertex::Pod {
            namespace: "shop".into(),
            name: "db".into(),
        };
        let g = graph(&[&[
            (identity("ServiceAccount", "ci"), EdgeKind::IdentityAssume),
            (permissions("binder::ci"), EdgeKind::PermissionDiscover),
            (any("rolebindings"), EdgeKind::RoleBind),
            (permissions("admin::ops"), EdgeKind::RoleBind),
            (any("pods"), EdgeKind::PodExec),
            (pod, EdgeKind::PodExec),
            (container("db"), EdgeKind::ContainerAttach),
            (node(), EdgeKind::CeNsenter),
        ]]);
        let found = search(&g, &"sa/shop/ci".parse().unwrap(), To::Nodes, 4);
        assert_eq!(found.paths.len(), 1);
        assert_eq!(
            (found.paths[0].counted_hops, found.paths[0].hops.len()),
            (4, 7)
        );
        assert_eq!(
            search(&g, &"sa/shop/ci".parse().unwrap(), To::Nodes, 3).beyond_max_hops,
            1
        );
    }

    #[test]
    fn the_cut_plan_counts_hops_as_the_paths_do() {
        let g = through_two_hubs();
        let plan = cut(&g, &From::AllPods, To::Nodes, 2, 10);
        assert_eq!((plan.paths_before, plan.paths_left), (1, 0));
        assert_eq!(plan.cuts.len(), 1);
        // Group membership and a hub's members follow from other changes.
        assert!(
            ["IDENTITY_IMPERSONATE", "POD_CREATE"].contains(&plan.cuts[0].edge),
            "{plan:?}"
        );
        assert_ne!(plan.cuts[0].from, "any/nodes");
        let plan = cut(&g, &From::AllPods, To::Nodes, 1, 10);
        assert_eq!((plan.paths_before, plan.cuts.len()), (0, 0));
    }
}
