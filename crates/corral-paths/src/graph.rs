//! The attack graph: vertices for what an attacker can hold, edges for how
//! one leads to another, each with the evidence that makes it possible.

use std::hash::BuildHasher;
use std::num::NonZeroU32;
use std::sync::Arc;

use rustc_hash::{FxBuildHasher, FxHashSet};

use compact_str::CompactString;
use hashbrown::HashTable;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use crate::edge::EdgeKind;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Vertex {
    Container {
        namespace: CompactString,
        pod: CompactString,
        name: CompactString,
    },
    /// A pod, or a workload's pod template (`Deployment/web`).
    Pod {
        namespace: CompactString,
        name: CompactString,
    },
    Node {
        name: CompactString,
    },
    /// `ServiceAccount`, `User` or `Group`; service accounts have a
    /// namespace.
    Identity {
        kind: CompactString,
        namespace: Option<CompactString>,
        name: CompactString,
    },
    /// A role joined with one binding: `role::binding`.
    PermissionSet {
        namespace: Option<CompactString>,
        name: CompactString,
        critical: bool,
    },
    /// Boxed: the largest variant, and the rarest.
    Volume(Box<Volume>),
    Endpoint {
        namespace: CompactString,
        name: CompactString,
        port: i32,
        exposure: CompactString,
    },
    /// Every target of one kind of grant (the pods of a namespace for
    /// POD_EXEC, every node for POD_CREATE...): a hub, so that a grant over
    /// thousands of targets is one edge, not thousands.
    Scope {
        edge: CompactString,
        resource: CompactString,
        namespace: Option<CompactString>,
    },
    /// A token of a service account for a cloud's audience
    /// (`sts.amazonaws.com`, `PROJECT.svc.id.goog`,
    /// `api://AzureADTokenExchange`): what a pod is given, or what a
    /// TokenRequest mints.
    Token {
        namespace: CompactString,
        account: CompactString,
        audience: CompactString,
    },
    /// An AWS IAM role, GCP service account or Azure managed identity;
    /// `admin` when its policies amount to administrator.
    CloudIdentity {
        provider: CompactString,
        name: CompactString,
        admin: bool,
    },
}

/// A host path or a projected service account token, as a container mounts
/// it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Volume {
    pub namespace: CompactString,
    pub pod: CompactString,
    pub container: CompactString,
    pub name: CompactString,
    pub source: CompactString,
    pub read_only: bool,
}

impl Vertex {
    /// `pod/ns/name`, `node/name`, `sa/ns/name`...
    pub fn label(&self) -> String {
        match self {
            Vertex::Container {
                namespace,
                pod,
                name,
            } => format!("container/{namespace}/{pod}/{name}"),
            Vertex::Pod { namespace, name } => format!("pod/{namespace}/{name}"),
            Vertex::Node { name } => format!("node/{name}"),
            Vertex::Identity {
                kind,
                namespace,
                name,
            } => match (kind.as_str(), namespace) {
                ("ServiceAccount", Some(ns)) => format!("sa/{ns}/{name}"),
                ("Group", _) => format!("group/{name}"),
                _ => format!("user/{name}"),
            },
            Vertex::PermissionSet {
                namespace, name, ..
            } => match namespace {
                Some(ns) => format!("permissions/{ns}/{name}"),
                None => format!("permissions/{name}"),
            },
            Vertex::Volume(volume) => format!(
                "volume/{}/{}/{}/{}",
                volume.namespace, volume.pod, volume.container, volume.name
            ),
            Vertex::Endpoint {
                namespace,
                name,
                port,
                ..
            } => format!("endpoint/{namespace}/{name}:{port}"),
            Vertex::CloudIdentity { provider, name, .. } => format!("{provider}/{name}"),
            Vertex::Token {
                namespace,
                account,
                audience,
            } => format!("token/{namespace}/{account}/{audience}"),
            Vertex::Scope {
                resource,
                namespace,
                ..
            } => match namespace {
                Some(ns) => format!("any/{resource}/{ns}"),
                None => format!("any/{resource}"),
            },
        }
    }

    pub fn is_critical(&self) -> bool {
        matches!(self, Vertex::PermissionSet { critical: true, .. })
            || matches!(self, Vertex::CloudIdentity { admin: true, .. })
            || matches!(self, Vertex::Identity { kind, name, .. } if kind == "Group" && name == "system:masters")
    }
}

/// Why an edge exists: the manifest field (file:line) or policy statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Shared by every edge the file gives evidence for.
    pub file: Option<Arc<str>>,
    pub line: Option<u32>,
    /// The manifest field, a dotted path from the object's root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Arc<str>>,
    /// Most details are fixed texts: they cost no allocation per edge.
    pub detail: std::borrow::Cow<'static, str>,
}

impl Evidence {
    /// `file:line field`, `file:line` or `file`: where to look.
    pub fn place(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(match (self.line, &self.field) {
            (Some(line), Some(field)) => format!("{file}:{line} {field}"),
            (Some(line), None) => format!("{file}:{line}"),
            _ => file.to_string(),
        })
    }
}

/// An edge: its kind, and its evidence as ids into the graph's texts
/// (16 bytes, where an [`Evidence`] takes 64: there are millions of edges).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub kind: EdgeKind,
    evidence: StoredEvidence,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StoredEvidence {
    file: Option<TextId>,
    line: Option<NonZeroU32>,
    field: Option<TextId>,
    detail: TextId,
}

/// A text of the graph's evidence; `NonZeroU32` so that an absent one
/// costs no more room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct TextId(NonZeroU32);

/// Evidence as the graph holds it, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct EvidenceRef<'a> {
    pub file: Option<&'a Arc<str>>,
    pub line: Option<u32>,
    pub field: Option<&'a Arc<str>>,
    pub detail: &'a str,
}

impl EvidenceRef<'_> {
    pub fn owned(&self) -> Evidence {
        Evidence {
            file: self.file.cloned(),
            line: self.line,
            field: self.field.cloned(),
            detail: self.detail.to_string().into(),
        }
    }
}

/// Each distinct text of the graph's evidence, stored once.
#[derive(Default)]
struct Texts {
    list: Vec<Arc<str>>,
    index: HashTable<TextId>,
    hasher: FxBuildHasher,
    by_address: ByAddress,
}

/// Texts found by where they are: the builder gives the same few shared
/// texts (a file's name, a field path, a fixed detail) for millions of
/// edges, and an address is found faster than a text is hashed. Only
/// addresses valid as long as the graph are kept: those of the `Arc`s it
/// holds, and `'static` texts, so that no address can be reused for
/// another text.
struct ByAddress(Box<[Option<(usize, usize, TextId)>; 256]>);

impl Default for ByAddress {
    fn default() -> Self {
        ByAddress(Box::new([None; 256]))
    }
}

impl ByAddress {
    fn slot(text: &str) -> usize {
        let address = text.as_ptr() as usize;
        ((address >> 3) ^ (address >> 11)) & 255
    }

    fn get(&self, text: &str) -> Option<TextId> {
        match self.0[ByAddress::slot(text)] {
            Some((address, len, id)) if address == text.as_ptr() as usize && len == text.len() => {
                Some(id)
            }
            _ => None,
        }
    }

    fn keep(&mut self, text: &str, id: TextId) {
        self.0[ByAddress::slot(text)] = Some((text.as_ptr() as usize, text.len(), id));
    }
}

impl Texts {
    /// A shared text's id: found by address when the graph holds that very
    /// `Arc`.
    fn intern_shared(&mut self, text: &Arc<str>) -> TextId {
        if let Some(id) = self.by_address.get(text) {
            return id;
        }
        let id = self.intern(text, || text.clone());
        if Arc::ptr_eq(self.get(id), text) {
            self.by_address.keep(text, id);
        }
        id
    }

    /// A detail's id; a `'static` one is found by address.
    fn intern_detail(&mut self, detail: std::borrow::Cow<'static, str>) -> TextId {
        match detail {
            std::borrow::Cow::Borrowed(text) => {
                if let Some(id) = self.by_address.get(text) {
                    return id;
                }
                let id = self.intern(text, || Arc::from(text));
                self.by_address.keep(text, id);
                id
            }
            std::borrow::Cow::Owned(text) => self.intern(&text, || Arc::from(text.as_str())),
        }
    }

    /// `text`'s id; new texts are stored as `make` gives them (a clone of
    /// an `Arc` the builder already shares, or a new one).
    fn intern(&mut self, text: &str, make: impl FnOnce() -> Arc<str>) -> TextId {
        let hash = self.hasher.hash_one(text);
        let list = &self.list;
        if let Some(id) = self.index.find(hash, |id| &*list[Texts::slot(*id)] == text) {
            return *id;
        }
        self.list.push(make());
        let id = TextId(
            NonZeroU32::new(u32::try_from(self.list.len()).expect("fewer than 2^32 texts"))
                .expect("a length after a push is not zero"),
        );
        let (list, hasher) = (&self.list, &self.hasher);
        self.index
            .insert_unique(hash, id, |id| hasher.hash_one(&*list[Texts::slot(*id)]));
        id
    }

    fn slot(id: TextId) -> usize {
        id.0.get() as usize - 1
    }

    fn get(&self, id: TextId) -> &Arc<str> {
        &self.list[Texts::slot(id)]
    }
}

#[derive(Default)]
pub struct Graph {
    pub graph: DiGraph<Vertex, Edge>,
    /// Each vertex's index, found by the vertex's hash: the table holds
    /// only indexes, the vertices stay in the graph (half a million
    /// vertices would otherwise be stored twice).
    index: HashTable<NodeIndex>,
    hasher: FxBuildHasher,
    /// Fx hashing: millions of small keys, hashed fast.
    edges: FxHashSet<(NodeIndex, NodeIndex, EdgeKind)>,
    texts: Texts,
}

impl Graph {
    /// Room for this many more vertices and edges: a large graph grown by
    /// doubling copies its vectors and tables again and again.
    pub fn reserve(&mut self, vertices: usize, edges: usize) {
        self.graph.reserve_nodes(vertices);
        self.graph.reserve_edges(edges);
        let (graph, hasher) = (&self.graph, &self.hasher);
        self.index
            .reserve(vertices, |i| hasher.hash_one(&graph[*i]));
        self.edges.reserve(edges);
    }

    /// The vertex's index, added when new.
    pub fn vertex(&mut self, vertex: Vertex) -> NodeIndex {
        if let Some(i) = self.find(&vertex) {
            return i;
        }
        let hash = self.hasher.hash_one(&vertex);
        let i = self.graph.add_node(vertex);
        let (graph, hasher) = (&self.graph, &self.hasher);
        self.index
            .insert_unique(hash, i, |j| hasher.hash_one(&graph[*j]));
        i
    }

    pub fn find(&self, vertex: &Vertex) -> Option<NodeIndex> {
        let hash = self.hasher.hash_one(vertex);
        self.index
            .find(hash, |i| self.graph[*i] == *vertex)
            .copied()
    }

    pub fn edge(&mut self, from: NodeIndex, to: NodeIndex, kind: EdgeKind, evidence: Evidence) {
        if from == to || !self.edges.insert((from, to, kind)) {
            return;
        }
        let texts = &mut self.texts;
        let evidence = StoredEvidence {
            file: evidence.file.as_ref().map(|file| texts.intern_shared(file)),
            line: evidence.line.and_then(NonZeroU32::new),
            field: evidence
                .field
                .as_ref()
                .map(|field| texts.intern_shared(field)),
            detail: texts.intern_detail(evidence.detail),
        };
        self.graph.add_edge(from, to, Edge { kind, evidence });
    }

    /// An edge's evidence.
    pub fn evidence(&self, edge: &Edge) -> EvidenceRef<'_> {
        let stored = edge.evidence;
        EvidenceRef {
            file: stored.file.map(|id| self.texts.get(id)),
            line: stored.line.map(NonZeroU32::get),
            field: stored.field.map(|id| self.texts.get(id)),
            detail: self.texts.get(stored.detail),
        }
    }

    /// Every edge of `kind`, with its evidence.
    pub fn edges_with_evidence(&self, kind: EdgeKind) -> Vec<(&Vertex, &Vertex, EvidenceRef<'_>)> {
        use petgraph::visit::EdgeRef;
        self.graph
            .edge_references()
            .filter(|e| e.weight().kind == kind)
            .map(|e| {
                (
                    &self.graph[e.source()],
                    &self.graph[e.target()],
                    self.evidence(e.weight()),
                )
            })
            .collect()
    }

    /// Every edge of `kind`, as (source, destination) vertices.
    pub fn edges_of(&self, kind: EdgeKind) -> Vec<(&Vertex, &Vertex)> {
        use petgraph::visit::EdgeRef;
        self.graph
            .edge_references()
            .filter(|e| e.weight().kind == kind)
            .map(|e| (&self.graph[e.source()], &self.graph[e.target()]))
            .collect()
    }
}
