//! A loaded Kubernetes object: its identity, where it was written, and its
//! fields with their positions.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::de::DecodeError;
use crate::node::{Node, Pos};

#[derive(Clone, Debug)]
pub struct Object {
    pub file: Arc<str>,
    /// 0-based index of the YAML document in its file.
    pub document: u32,
    pub kind: String,
    pub api_version: String,
    /// `metadata.name`, or `metadata.generateName` when only that is set.
    pub name: Option<String>,
    pub namespace: Option<String>,
    /// The object's position: the `kind` key, or the object's start when
    /// `kind` was implied by a typed `*List`.
    pub pos: Pos,
    pub root: Node,
}

impl Object {
    pub fn new(
        file: Arc<str>,
        document: u32,
        kind: String,
        api_version: String,
        root: Node,
    ) -> Self {
        let pos = root.entry("kind").map_or(root.pos, |e| e.key_pos);
        let metadata = root.get("metadata");
        let meta = |key| metadata.and_then(|m| m.get(key)).and_then(Node::as_str);
        Object {
            name: meta("name")
                .or_else(|| meta("generateName"))
                .map(str::to_string),
            namespace: meta("namespace").map(str::to_string),
            file,
            document,
            kind,
            api_version,
            pos,
            root,
        }
    }

    /// The API group: `apps` for `apps/v1`, empty for the core group.
    pub fn group(&self) -> &str {
        self.api_version.rsplit_once('/').map_or("", |(g, _)| g)
    }

    /// Decode the whole object into a typed struct (e.g. a `k8s-openapi` type).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, DecodeError> {
        crate::de::decode(&self.root)
    }

    /// Where a finding about `path` should point: the field's key when it is
    /// present, else the object itself.
    pub fn pos_of(&self, path: &str) -> Pos {
        self.root.pos_of(path).unwrap_or(self.pos)
    }

    /// Where a finding about `path` should point: the field, or the nearest
    /// parent present (the container or spec that lacks it), or the object.
    pub fn pos_nearest(&self, path: &str) -> Pos {
        match self.root.pos_nearest(path) {
            pos if pos == self.root.pos => self.pos,
            pos => pos,
        }
    }
}
