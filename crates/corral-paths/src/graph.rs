//! The attack graph: vertices for what an attacker can hold, edges for how
//! one leads to another, each with the evidence that makes it possible.

use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashSet};

use hashbrown::HashTable;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use crate::edge::EdgeKind;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Vertex {
    Container {
        namespace: String,
        pod: String,
        name: String,
    },
    /// A pod, or a workload's pod template (`Deployment/web`).
    Pod {
        namespace: String,
        name: String,
    },
    Node {
        name: String,
    },
    /// `ServiceAccount`, `User` or `Group`; service accounts have a
    /// namespace.
    Identity {
        kind: String,
        namespace: Option<String>,
        name: String,
    },
    /// A role joined with one binding: `role::binding`.
    PermissionSet {
        namespace: Option<String>,
        name: String,
        critical: bool,
    },
    /// A host path or a projected service account token, as a container
    /// mounts it.
    Volume {
        namespace: String,
        pod: String,
        container: String,
        name: String,
        source: String,
        read_only: bool,
    },
    Endpoint {
        namespace: String,
        name: String,
        port: i32,
        exposure: String,
    },
    /// Every target of one kind of grant (the pods of a namespace for
    /// POD_EXEC, every node for POD_CREATE...): a hub, so that a grant over
    /// thousands of targets is one edge, not thousands.
    Scope {
        edge: String,
        resource: String,
        namespace: Option<String>,
    },
    /// A token of a service account for a cloud's audience
    /// (`sts.amazonaws.com`, `PROJECT.svc.id.goog`,
    /// `api://AzureADTokenExchange`): what a pod is given, or what a
    /// TokenRequest mints.
    Token {
        namespace: String,
        account: String,
        audience: String,
    },
    /// An AWS IAM role, GCP service account or Azure managed identity;
    /// `admin` when its policies amount to administrator.
    CloudIdentity {
        provider: String,
        name: String,
        admin: bool,
    },
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
            Vertex::Volume {
                namespace,
                pod,
                container,
                name,
                ..
            } => {
                format!("volume/{namespace}/{pod}/{container}/{name}")
            }
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
    pub file: Option<std::sync::Arc<str>>,
    pub line: Option<u32>,
    /// The manifest field, a dotted path from the object's root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<std::sync::Arc<str>>,
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub kind: EdgeKind,
    pub evidence: Evidence,
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
}

impl Graph {
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
        if from == to {
            return;
        }
        if self.edges.insert((from, to, kind)) {
            self.graph.add_edge(from, to, Edge { kind, evidence });
        }
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
