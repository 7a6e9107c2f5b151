//! What the HTML picture of attack paths shows, as data: the vertices and
//! edges on the paths, grouped where sub-paths are identical, every path
//! as its edges with their evidence and fix, and the summary.
//!
//! Grouping: vertices of one kind and namespace that lead, edge kind for
//! edge kind, to the same groups are one group (the coarsest partition
//! stable under successors, refined from kind and namespace). Three
//! thousand pods that each reach a node through their own service account
//! and an identical grant become three groups in a row, not nine thousand
//! vertices. Targets other than nodes, hubs and cloud identities are never
//! grouped: each is a different prize.

use std::collections::{HashMap, HashSet};

use petgraph::graph::{EdgeIndex, NodeIndex};
use serde::Serialize;

use crate::graph::{Graph, Vertex};
use crate::query::{CutPlan, Found};
use crate::EdgeKind;

/// A class of this many vertices or more is drawn as one group; fewer are
/// drawn each by itself, where names read better than a count.
pub const GROUP_FROM: usize = 3;

/// What the query asked, as the page heads itself with it.
#[derive(Clone, Debug, Serialize)]
pub struct Query {
    pub inputs: Vec<String>,
    pub from: String,
    pub to: String,
    pub max_hops: usize,
}

#[derive(Debug, Serialize)]
pub struct Picture {
    pub query: Query,
    /// Texts the edges share (files, fields, details, fixes), by index.
    pub texts: Vec<String>,
    /// Edge kinds: id, MITRE ATT&CK technique, what the attacker does.
    pub kinds: Vec<KindInfo>,
    pub vertices: Vec<MemberVertex>,
    pub groups: Vec<Group>,
    pub edges: Vec<MemberEdge>,
    pub group_edges: Vec<GroupEdge>,
    pub paths: Vec<PicturePath>,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct KindInfo {
    pub id: &'static str,
    pub mitre: &'static str,
    pub action: &'static str,
}

/// A vertex on a path: label, style, namespace, the group drawn for it.
#[derive(Debug, Serialize)]
pub struct MemberVertex(pub String, pub &'static str, pub Option<String>, pub u32);

/// What the page draws for one or more vertices.
#[derive(Debug, Serialize)]
pub struct Group {
    pub label: String,
    pub style: &'static str,
    pub namespace: Option<String>,
    pub members: u32,
}

/// An edge on a path: from, to (member vertices), kind, file, line, field,
/// detail, fix (texts), the group edge drawn for it.
#[derive(Debug, Serialize)]
pub struct MemberEdge(
    pub u32,
    pub u32,
    pub u32,
    pub Option<u32>,
    pub Option<u32>,
    pub Option<u32>,
    pub u32,
    pub Option<u32>,
    pub u32,
);

/// A drawn edge: from group, to group, kind, how many edges it stands for.
#[derive(Debug, Serialize)]
pub struct GroupEdge(pub u32, pub u32, pub u32, pub u32);

/// A path: source and target (member vertices), its length as
/// `--max-hops` counts it, its edges.
#[derive(Debug, Serialize)]
pub struct PicturePath(pub u32, pub u32, pub usize, pub Vec<u32>);

#[derive(Debug, Serialize)]
pub struct Summary {
    pub paths: usize,
    pub sources: usize,
    pub beyond_max_hops: usize,
    /// How many sources reach each target class, in a fixed order.
    pub targets: Vec<TargetCount>,
    /// The changes that cut most paths, first (`corral paths --cut`).
    pub cuts: Vec<PictureCut>,
    pub cut_paths_before: usize,
    pub cut_paths_left: usize,
}

#[derive(Debug, Serialize)]
pub struct TargetCount {
    pub class: &'static str,
    pub sources: usize,
    pub paths: usize,
}

#[derive(Debug, Serialize)]
pub struct PictureCut {
    pub from: String,
    pub edge: &'static str,
    pub to: String,
    pub fix: String,
    pub evidence: Option<String>,
    pub detail: String,
    pub on_paths: usize,
    pub paths_left: usize,
}

/// The target classes the page filters and counts by.
pub const TARGET_CLASSES: [&str; 4] = ["cluster-admin", "node", "cloud-admin", "other"];

/// How the page draws a vertex.
pub fn style(vertex: &Vertex) -> &'static str {
    match vertex {
        Vertex::Container { .. } => "container",
        Vertex::Pod { .. } => "pod",
        Vertex::Node { .. } => "node",
        v @ Vertex::Identity { kind, .. } => match kind.as_str() {
            _ if v.is_critical() => "cluster-admin",
            "ServiceAccount" => "service-account",
            "Group" => "group",
            _ => "user",
        },
        Vertex::PermissionSet { critical: true, .. } => "cluster-admin",
        Vertex::PermissionSet { .. } => "permissions",
        Vertex::Volume(_) => "volume",
        Vertex::Endpoint { .. } => "endpoint",
        Vertex::Scope { .. } => "scope",
        Vertex::Token { .. } => "token",
        Vertex::CloudIdentity { admin: true, .. } => "cloud-admin",
        Vertex::CloudIdentity { .. } => "cloud-identity",
    }
}

/// A path's target as the page's filter names it.
pub fn target_class(vertex: &Vertex) -> &'static str {
    match vertex {
        Vertex::CloudIdentity { admin: true, .. } => "cloud-admin",
        Vertex::Node { .. } => "node",
        v if v.is_critical() => "cluster-admin",
        _ => "other",
    }
}

fn namespace(vertex: &Vertex) -> Option<&str> {
    match vertex {
        Vertex::Container { namespace, .. }
        | Vertex::Pod { namespace, .. }
        | Vertex::Endpoint { namespace, .. }
        | Vertex::Token { namespace, .. } => Some(namespace),
        Vertex::Volume(volume) => Some(&volume.namespace),
        Vertex::Identity { namespace, .. }
        | Vertex::PermissionSet { namespace, .. }
        | Vertex::Scope { namespace, .. } => namespace.as_deref(),
        Vertex::Node { .. } | Vertex::CloudIdentity { .. } => None,
    }
}

/// A vertex's name within its kind and namespace.
fn member_name(vertex: &Vertex) -> String {
    match vertex {
        Vertex::Container { pod, name, .. } => format!("{pod}/{name}"),
        Vertex::Pod { name, .. }
        | Vertex::Node { name }
        | Vertex::Identity { name, .. }
        | Vertex::PermissionSet { name, .. }
        | Vertex::CloudIdentity { name, .. } => name.to_string(),
        Vertex::Volume(volume) => format!("{}/{}/{}", volume.pod, volume.container, volume.name),
        Vertex::Endpoint { name, port, .. } => format!("{name}:{port}"),
        Vertex::Token {
            account, audience, ..
        } => format!("{account}/{audience}"),
        Vertex::Scope { .. } => vertex.label(),
    }
}

fn plural(style: &str) -> &'static str {
    match style {
        "container" => "containers",
        "pod" => "pods",
        "node" => "nodes",
        "service-account" => "service accounts",
        "group" => "groups",
        "user" => "users",
        "permissions" => "permission sets",
        "volume" => "volumes",
        "endpoint" => "endpoints",
        "token" => "tokens",
        _ => "vertices",
    }
}

/// `12,345`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Interned texts, numbered in order of first use.
#[derive(Default)]
struct Texts {
    index: HashMap<String, u32>,
    texts: Vec<String>,
}

impl Texts {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(id) = self.index.get(text) {
            return *id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(text.to_string());
        self.index.insert(text.to_string(), id);
        id
    }
}

/// Past this many drawn vertices, grouping by namespace is not enough
/// for a page that opens and answers at once: namespaces are grouped too.
pub const MAX_DRAWN: usize = 2_000;

/// How finely vertices are grouped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grain {
    /// Within a namespace; hubs, cloud identities and targets but nodes
    /// never grouped.
    Namespace,
    /// Across namespaces; only cluster-admin never grouped.
    Kind,
}

/// Never grouped: each is its own prize or hub.
fn stands_alone(vertex: &Vertex, is_target: bool, grain: Grain) -> bool {
    match grain {
        Grain::Namespace => {
            matches!(vertex, Vertex::Scope { .. } | Vertex::CloudIdentity { .. })
                || (is_target && !matches!(vertex, Vertex::Node { .. }))
        }
        Grain::Kind => style(vertex) == "cluster-admin",
    }
}

/// The picture of `found`'s paths in `graph`, with `cuts` as its advice.
pub fn picture(graph: &Graph, found: &Found, cuts: &CutPlan, query: Query) -> Picture {
    let paths = &found.paths;
    // Vertices and edges numbered in the order the (sorted) paths meet
    // them, so that the same paths give the same numbers.
    let mut vertex_ids: HashMap<NodeIndex, u32> = HashMap::new();
    let mut vertex_order: Vec<NodeIndex> = Vec::new();
    let mut edge_ids: HashMap<EdgeIndex, u32> = HashMap::new();
    let mut edge_order: Vec<(EdgeIndex, usize, usize)> = Vec::new(); // edge, path, hop
    let mut targets: Vec<bool> = Vec::new();
    let mut vertex_id = |v: NodeIndex, order: &mut Vec<NodeIndex>, targets: &mut Vec<bool>| {
        *vertex_ids.entry(v).or_insert_with(|| {
            order.push(v);
            targets.push(false);
            (order.len() - 1) as u32
        })
    };
    let mut ends: Vec<(u32, u32)> = Vec::with_capacity(paths.len());
    for (p, path) in paths.iter().enumerate() {
        let mut first = None;
        let mut last = None;
        for (h, edge) in path.edges.iter().enumerate() {
            let Some((from, to)) = graph.graph.edge_endpoints(*edge) else {
                continue;
            };
            let from = vertex_id(from, &mut vertex_order, &mut targets);
            let to = vertex_id(to, &mut vertex_order, &mut targets);
            first.get_or_insert(from);
            last = Some(to);
            edge_ids.entry(*edge).or_insert_with(|| {
                edge_order.push((*edge, p, h));
                (edge_order.len() - 1) as u32
            });
        }
        if let (Some(first), Some(last)) = (first, last) {
            targets[last as usize] = true;
            ends.push((first, last));
        } else {
            ends.push((u32::MAX, u32::MAX));
        }
    }
    let kind_ids: HashMap<EdgeKind, u32> = {
        let mut kinds: Vec<EdgeKind> = edge_order
            .iter()
            .map(|(e, _, _)| graph.graph[*e].kind)
            .collect();
        kinds.sort_by_key(|k| k.id());
        kinds.dedup();
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, i as u32))
            .collect()
    };
    let mut kinds: Vec<(EdgeKind, u32)> = kind_ids.iter().map(|(k, i)| (*k, *i)).collect();
    kinds.sort_by_key(|(_, i)| *i);

    // The successors of each vertex on the paths, by edge kind.
    let mut successors: Vec<Vec<(u32, u32)>> = vec![Vec::new(); vertex_order.len()];
    for (edge, _, _) in &edge_order {
        if let Some((from, to)) = graph.graph.edge_endpoints(*edge) {
            successors[vertex_ids[&from] as usize]
                .push((kind_ids[&graph.graph[*edge].kind], vertex_ids[&to]));
        }
    }
    let mut classes = classes(
        graph,
        &vertex_order,
        &targets,
        &successors,
        Grain::Namespace,
    );
    if drawn(&classes) > MAX_DRAWN {
        classes = self::classes(graph, &vertex_order, &targets, &successors, Grain::Kind);
    }
    // The namespaces of each class: one names it, several are counted.
    let mut class_namespaces: HashMap<u32, HashSet<&str>> = HashMap::new();
    for (i, v) in vertex_order.iter().enumerate() {
        if let Some(ns) = namespace(&graph.graph[*v]) {
            class_namespaces.entry(classes[i]).or_default().insert(ns);
        }
    }

    // Groups: a class of GROUP_FROM or more, else each vertex alone.
    let class_size = sizes(&classes);
    let mut group_of_class: HashMap<u32, u32> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut vertices: Vec<MemberVertex> = Vec::with_capacity(vertex_order.len());
    for (i, v) in vertex_order.iter().enumerate() {
        let vertex = &graph.graph[*v];
        let label = vertex.label();
        let style = style(vertex);
        let ns = namespace(vertex).map(str::to_string);
        let size = class_size[&classes[i]];
        let group = if size >= GROUP_FROM {
            *group_of_class.entry(classes[i]).or_insert_with(|| {
                // Named by its first member too: two groups of one kind
                // and namespace are told apart.
                let spread = class_namespaces.get(&classes[i]).map_or(0, HashSet::len);
                let (n, kind) = (thousands(size), plural(style));
                let label = match (&ns, spread) {
                    (Some(ns), 1) => format!("{n} {kind} in {ns} like {}", member_name(vertex)),
                    (Some(ns), _) => format!(
                        "{n} {kind} in {} namespaces like {ns}/{}",
                        thousands(spread),
                        member_name(vertex)
                    ),
                    (None, _) => format!("{n} {kind} like {}", member_name(vertex)),
                };
                groups.push(Group {
                    label,
                    style,
                    namespace: if spread == 1 { ns.clone() } else { None },
                    members: size as u32,
                });
                (groups.len() - 1) as u32
            })
        } else {
            groups.push(Group {
                label: label.clone(),
                style,
                namespace: ns.clone(),
                members: 1,
            });
            (groups.len() - 1) as u32
        };
        vertices.push(MemberVertex(label, style, ns, group));
    }

    let mut texts = Texts::default();
    let mut group_edge_ids: HashMap<(u32, u32, u32), u32> = HashMap::new();
    let mut group_edges: Vec<GroupEdge> = Vec::new();
    let mut edges: Vec<MemberEdge> = Vec::with_capacity(edge_order.len());
    for (edge, p, h) in &edge_order {
        let hop = &paths[*p].hops[*h];
        let (from, to) = graph
            .graph
            .edge_endpoints(*edge)
            .unwrap_or((NodeIndex::new(0), NodeIndex::new(0)));
        let (from, to) = (vertex_ids[&from], vertex_ids[&to]);
        let kind = kind_ids[&graph.graph[*edge].kind];
        let key = (vertices[from as usize].3, kind, vertices[to as usize].3);
        let group_edge = *group_edge_ids.entry(key).or_insert_with(|| {
            group_edges.push(GroupEdge(key.0, key.2, kind, 0));
            (group_edges.len() - 1) as u32
        });
        group_edges[group_edge as usize].3 += 1;
        edges.push(MemberEdge(
            from,
            to,
            kind,
            hop.evidence.file.as_deref().map(|f| texts.id(f)),
            hop.evidence.line,
            hop.evidence.field.as_deref().map(|f| texts.id(f)),
            texts.id(&hop.evidence.detail),
            (!hop.remediation.is_empty()).then(|| texts.id(&hop.remediation)),
            group_edge,
        ));
    }

    let picture_paths: Vec<PicturePath> = paths
        .iter()
        .zip(&ends)
        .filter(|(_, (first, _))| *first != u32::MAX)
        .map(|(path, (first, last))| {
            PicturePath(
                *first,
                *last,
                path.counted_hops,
                path.edges.iter().map(|e| edge_ids[e]).collect(),
            )
        })
        .collect();
    let summary = summary(graph, found, &vertex_order, &picture_paths, cuts);
    Picture {
        query,
        texts: texts.texts,
        kinds: kinds
            .iter()
            .map(|(kind, _)| {
                let (action, mitre, _) = kind.describe();
                KindInfo {
                    id: kind.id(),
                    mitre,
                    action,
                }
            })
            .collect(),
        vertices,
        groups,
        edges,
        group_edges,
        paths: picture_paths,
        summary,
    }
}

/// How many vertices each class holds.
fn sizes(classes: &[u32]) -> HashMap<u32, usize> {
    let mut size: HashMap<u32, usize> = HashMap::new();
    for class in classes {
        *size.entry(*class).or_default() += 1;
    }
    size
}

/// How many vertices the page draws for these classes: one per class of
/// GROUP_FROM or more, one per vertex of the others.
fn drawn(classes: &[u32]) -> usize {
    sizes(classes)
        .values()
        .map(|n| if *n >= GROUP_FROM { 1 } else { *n })
        .sum()
}

/// Each vertex's class: first by style and namespace (or alone), then
/// split until the vertices of a class have the same (edge kind, class)
/// successors. Refinement only splits, so it ends when the count of
/// classes stops growing; classes are numbered by their first vertex.
fn classes(
    graph: &Graph,
    order: &[NodeIndex],
    targets: &[bool],
    successors: &[Vec<(u32, u32)>],
    grain: Grain,
) -> Vec<u32> {
    let mut class: Vec<u32> = {
        let mut ids: HashMap<(Option<usize>, &'static str, Option<&str>), u32> = HashMap::new();
        order
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let vertex = &graph.graph[*v];
                let key = (
                    stands_alone(vertex, targets[i], grain).then_some(i),
                    style(vertex),
                    namespace(vertex).filter(|_| grain == Grain::Namespace),
                );
                let next = ids.len() as u32;
                *ids.entry(key).or_insert(next)
            })
            .collect()
    };
    let mut count = class.iter().copied().max().map_or(0, |m| m as usize + 1);
    loop {
        let mut ids: HashMap<(u32, Vec<(u32, u32)>), u32> = HashMap::new();
        let next: Vec<u32> = (0..order.len())
            .map(|i| {
                let mut signature: Vec<(u32, u32)> = successors[i]
                    .iter()
                    .map(|(kind, to)| (*kind, class[*to as usize]))
                    .collect();
                signature.sort_unstable();
                signature.dedup();
                let n = ids.len() as u32;
                *ids.entry((class[i], signature)).or_insert(n)
            })
            .collect();
        let new_count = ids.len();
        class = next;
        if new_count == count {
            return class;
        }
        count = new_count;
    }
}

fn summary(
    graph: &Graph,
    found: &Found,
    order: &[NodeIndex],
    paths: &[PicturePath],
    cuts: &CutPlan,
) -> Summary {
    let mut sources: Vec<u32> = paths.iter().map(|p| p.0).collect();
    sources.sort_unstable();
    sources.dedup();
    let targets = TARGET_CLASSES
        .iter()
        .map(|class| {
            let mut reaching: Vec<u32> = paths
                .iter()
                .filter(|p| target_class(&graph.graph[order[p.1 as usize]]) == *class)
                .map(|p| p.0)
                .collect();
            let count = reaching.len();
            reaching.sort_unstable();
            reaching.dedup();
            TargetCount {
                class,
                sources: reaching.len(),
                paths: count,
            }
        })
        .collect();
    Summary {
        paths: paths.len(),
        sources: sources.len(),
        beyond_max_hops: found.beyond_max_hops,
        targets,
        cuts: cuts
            .cuts
            .iter()
            .map(|c| PictureCut {
                from: c.from.clone(),
                edge: c.edge,
                to: c.to.clone(),
                fix: if c.remediation.is_empty() {
                    "remove it".to_string()
                } else {
                    c.remediation.to_string()
                },
                evidence: c.evidence.place(),
                detail: c.evidence.detail.to_string(),
                on_paths: c.on_paths,
                paths_left: c.paths_left,
            })
            .collect(),
        cut_paths_before: cuts.paths_before,
        cut_paths_left: cuts.paths_left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Evidence;
    use crate::query::{self, To};

    fn evidence(line: u32) -> Evidence {
        Evidence {
            file: Some("cluster.yaml".into()),
            line: Some(line),
            field: Some("spec".into()),
            detail: "test".into(),
        }
    }

    /// `pods` containers of `shop`, each with its own service account and
    /// binding that may create pods, so each reaches node/a through any
    /// node; one privileged container reaching node/b itself.
    fn cluster(pods: usize) -> Graph {
        let mut g = Graph::default();
        let any_node = g.vertex(Vertex::Scope {
            edge: "POD_CREATE".into(),
            resource: "nodes".into(),
            namespace: None,
        });
        let node_a = g.vertex(Vertex::Node { name: "a".into() });
        let node_b = g.vertex(Vertex::Node { name: "b".into() });
        g.edge(any_node, node_a, EdgeKind::PodCreate, evidence(1));
        for p in 0..pods {
            let container = g.vertex(Vertex::Container {
                namespace: "shop".into(),
                pod: format!("web-{p}").into(),
                name: "web".into(),
            });
            let account = g.vertex(Vertex::Identity {
                kind: "ServiceAccount".into(),
                namespace: Some("shop".into()),
                name: format!("sa-{p}").into(),
            });
            let permissions = g.vertex(Vertex::PermissionSet {
                namespace: Some("shop".into()),
                name: format!("deployer::rb-{p}").into(),
                critical: false,
            });
            let line = 10 + p as u32;
            g.edge(container, account, EdgeKind::IdentityAssume, evidence(line));
            g.edge(
                account,
                permissions,
                EdgeKind::PermissionDiscover,
                evidence(line),
            );
            g.edge(permissions, any_node, EdgeKind::PodCreate, evidence(line));
        }
        let privileged = g.vertex(Vertex::Container {
            namespace: "shop".into(),
            pod: "debug".into(),
            name: "debug".into(),
        });
        g.edge(privileged, node_b, EdgeKind::CePrivMount, evidence(2));
        g
    }

    fn draw(g: &Graph) -> Picture {
        let from = query::From::AllPods;
        let found = query::search(g, &from, To::AnyCritical, 8);
        let cuts = query::cut(g, &from, To::AnyCritical, 8, 10);
        let q = Query {
            inputs: vec!["cluster.yaml".into()],
            from: from.to_string(),
            to: "any-critical".into(),
            max_hops: 8,
        };
        picture(g, &found, &cuts, q)
    }

    fn group_labels(p: &Picture) -> Vec<&str> {
        let mut labels: Vec<&str> = p.groups.iter().map(|g| g.label.as_str()).collect();
        labels.sort_unstable();
        labels
    }

    #[test]
    fn identical_sub_paths_are_one_group_each_step() {
        let p = draw(&cluster(3000));
        assert_eq!(p.paths.len(), 3001);
        assert_eq!(p.vertices.len(), 3 * 3000 + 4);
        assert_eq!(
            group_labels(&p),
            [
                "3,000 containers in shop like web-0/web",
                "3,000 permission sets in shop like deployer::rb-0",
                "3,000 service accounts in shop like sa-0",
                "any/nodes",
                "container/shop/debug/debug",
                "node/a",
                "node/b",
            ]
        );
        // The drawn edges stand for every edge on the paths.
        assert_eq!(p.group_edges.len(), 5);
        let members: u32 = p.group_edges.iter().map(|e| e.3).sum();
        assert_eq!(members as usize, p.edges.len());
        assert_eq!(p.edges.len(), 3 * 3000 + 2);
        // Each path keeps its own edges and evidence.
        let first = &p.paths.iter().find(|path| path.3.len() == 4).unwrap();
        let lines: Vec<Option<u32>> = first.3.iter().map(|e| p.edges[*e as usize].4).collect();
        assert_eq!(lines[0], lines[1]);
        assert_eq!(lines[3], Some(1));
        let nodes = p
            .summary
            .targets
            .iter()
            .find(|t| t.class == "node")
            .unwrap();
        assert_eq!((nodes.sources, nodes.paths), (3001, 3001));
        assert!(!p.summary.cuts.is_empty());
    }

    #[test]
    fn few_alike_are_drawn_each_by_name() {
        let p = draw(&cluster(GROUP_FROM - 1));
        assert!(
            group_labels(&p).iter().all(|l| l.contains('/')),
            "{:?}",
            group_labels(&p)
        );
        assert!(p.groups.iter().all(|g| g.members == 1));
    }

    #[test]
    fn the_same_paths_give_the_same_page() {
        let a = crate::html::page(&draw(&cluster(50)));
        let b = crate::html::page(&draw(&cluster(50)));
        assert_eq!(a, b);
    }

    #[test]
    fn every_class_a_source_reaches_is_counted() {
        // debug reaches node/b in one hop and an AWS administrator in two:
        // its nearest target alone would hide the second.
        let mut g = cluster(1);
        let debug = g
            .find(&Vertex::Container {
                namespace: "shop".into(),
                pod: "debug".into(),
                name: "debug".into(),
            })
            .unwrap();
        let token = g.vertex(Vertex::Token {
            namespace: "shop".into(),
            account: "debug".into(),
            audience: "sts.amazonaws.com".into(),
        });
        let admin = g.vertex(Vertex::CloudIdentity {
            provider: "aws".into(),
            name: "arn:aws:iam::111122223333:role/admin".into(),
            admin: true,
        });
        g.edge(debug, token, EdgeKind::ProjectedToken, evidence(3));
        g.edge(token, admin, EdgeKind::IrsaAssume, evidence(4));
        let from = query::From::AllPods;
        let nearest = query::search(&g, &from, To::AnyCritical, 8);
        let each = query::search_each_class(&g, &from, To::AnyCritical, 8);
        assert_eq!(nearest.paths.len(), 2);
        assert_eq!(each.paths.len(), 3);
        let cuts = query::cut(&g, &from, To::AnyCritical, 8, 10);
        let q = Query {
            inputs: vec![],
            from: from.to_string(),
            to: "any-critical".into(),
            max_hops: 8,
        };
        let p = picture(&g, &each, &cuts, q);
        let count = |class: &str| {
            let t = p.summary.targets.iter().find(|t| t.class == class).unwrap();
            (t.sources, t.paths)
        };
        assert_eq!(count("node"), (2, 2));
        assert_eq!(count("cloud-admin"), (1, 1));
        assert_eq!(p.summary.sources, 2);
    }

    #[test]
    fn past_max_drawn_namespaces_are_grouped_too() {
        // 700 namespaces of 3 alike pods: 2,101 groups by namespace, too
        // many to draw; across namespaces, 3 groups and the hub and node.
        let mut g = Graph::default();
        let any_node = g.vertex(Vertex::Scope {
            edge: "POD_CREATE".into(),
            resource: "nodes".into(),
            namespace: None,
        });
        let node = g.vertex(Vertex::Node { name: "a".into() });
        g.edge(any_node, node, EdgeKind::PodCreate, evidence(1));
        for n in 0..700 {
            let ns = format!("ns-{n}");
            for p in 0..3 {
                let container = g.vertex(Vertex::Container {
                    namespace: ns.as_str().into(),
                    pod: format!("web-{p}").into(),
                    name: "web".into(),
                });
                let account = g.vertex(Vertex::Identity {
                    kind: "ServiceAccount".into(),
                    namespace: Some(ns.as_str().into()),
                    name: format!("sa-{p}").into(),
                });
                let permissions = g.vertex(Vertex::PermissionSet {
                    namespace: Some(ns.as_str().into()),
                    name: format!("deployer::rb-{p}").into(),
                    critical: false,
                });
                g.edge(container, account, EdgeKind::IdentityAssume, evidence(2));
                g.edge(
                    account,
                    permissions,
                    EdgeKind::PermissionDiscover,
                    evidence(3),
                );
                g.edge(permissions, any_node, EdgeKind::PodCreate, evidence(4));
            }
        }
        let p = draw(&g);
        assert_eq!(p.paths.len(), 2100);
        assert_eq!(
            group_labels(&p),
            [
                "2,100 containers in 700 namespaces like ns-0/web-0/web",
                "2,100 permission sets in 700 namespaces like ns-0/deployer::rb-0",
                "2,100 service accounts in 700 namespaces like ns-0/sa-0",
                "any/nodes",
                "node/a",
            ]
        );
        // The namespace filter still reads each path's source.
        assert!(p
            .vertices
            .iter()
            .all(|v| v.1 != "container" || v.2.is_some()));
    }
}
