//! A finding: which rule, what is wrong and what to change, where (file,
//! line, column of the offending field, or of the object when the field is
//! missing), and a fingerprint from content, never from positions.

use std::sync::Arc;

use corral_core::node::{FieldPath, Node, Step};
use corral_core::Object;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rule::{RuleMeta, Severity};

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    #[serde(serialize_with = "rule_id")]
    pub rule: &'static RuleMeta,
    pub severity: Severity,
    /// What is wrong, about this object.
    pub message: String,
    /// What to change.
    pub fix: String,
    #[serde(serialize_with = "file_path")]
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
    /// The object's YAML document in its file (which object it is).
    #[serde(skip)]
    pub document: u32,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    /// The offending field, from the object's root.
    pub field: String,
    /// Hex SHA-256 of the rule, file, object identity and field (elements
    /// of lists named by their `name`, not their index).
    pub fingerprint: String,
    /// The fingerprints the same finding had under the old IDs of the
    /// rules its rule took over (`rule_redirects`): a baseline written
    /// then still knows it.
    #[serde(skip)]
    pub former_fingerprints: Vec<String>,
    /// Why it is suppressed, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<String>,
}

fn file_path<S: serde::Serializer>(file: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(file.trim_start_matches("./"))
}

fn rule_id<S: serde::Serializer>(rule: &&'static RuleMeta, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(rule.id)
}

impl Finding {
    /// A finding of `rule` about `field` of `object` (a dotted path from the
    /// root, with `[n]` indexes): placed at the field, or at its nearest
    /// present parent when it is missing.
    pub fn new(
        rule: &'static RuleMeta,
        object: &Object,
        field: &str,
        message: String,
        fix: String,
    ) -> Finding {
        let pos = object.pos_nearest(field);
        Finding {
            rule,
            severity: rule.severity,
            message,
            fix,
            file: object.file.clone(),
            line: pos.line,
            column: pos.col,
            document: object.document,
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
            fingerprint: fingerprint(rule.id, object, field),
            former_fingerprints: crate::rule_redirects::old_ids(rule.id)
                .map(|old| fingerprint(old, object, field))
                .collect(),
            field: field.to_string(),
            suppressed: None,
        }
    }

    /// A finding in a cloud's file (the JSON its CLI wrote), about the
    /// cloud object `kind`/`name` (an IAM role, a node pool...): at the
    /// line and column `place` gives.
    #[allow(clippy::too_many_arguments)]
    pub fn in_cloud_file(
        rule: &'static RuleMeta,
        file: &str,
        place: (u32, u32),
        kind: &str,
        name: &str,
        field: &str,
        message: String,
        fix: String,
    ) -> Finding {
        let mut hash = Sha256::new();
        for part in [rule.id, file.trim_start_matches("./"), kind, name, field] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        Finding {
            rule,
            severity: rule.severity,
            message,
            fix,
            file: Arc::from(file),
            line: place.0,
            column: place.1,
            document: 0,
            kind: kind.to_string(),
            namespace: None,
            name: Some(name.to_string()),
            field: field.to_string(),
            fingerprint: hex(&hash.finalize()[..16]),
            former_fingerprints: Vec::new(),
            suppressed: None,
        }
    }

    /// The same finding told apart from others of its rule at the same
    /// field by `part` (what it is about: a syscall, a peer...): its
    /// fingerprint hashes `part` too.
    pub fn distinguished_by(mut self, part: &str) -> Finding {
        let mut hash = Sha256::new();
        for p in [self.fingerprint.as_str(), part] {
            hash.update(p.as_bytes());
            hash.update([0]);
        }
        self.fingerprint = hex(&hash.finalize()[..16]);
        self
    }

    /// Its fingerprint, then its former ones.
    pub fn fingerprints(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.fingerprint.as_str())
            .chain(self.former_fingerprints.iter().map(String::as_str))
    }

    /// `Kind namespace/name`, for messages.
    pub fn object_label(&self) -> String {
        match (&self.namespace, &self.name) {
            (Some(ns), Some(name)) => format!("{} {ns}/{name}", self.kind),
            (None, Some(name)) => format!("{} {name}", self.kind),
            _ => self.kind.clone(),
        }
    }
}

/// The field path with each list index replaced by the element's `name`
/// where it has one: `containers[name=app]` survives reordering.
pub fn stable_field(root: &Node, field: &str) -> String {
    let Some(path) = FieldPath::parse(field) else {
        return field.to_string();
    };
    let mut node = Some(root);
    let mut out = String::new();
    for step in path.steps() {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
                node = node.and_then(|n| n.get(key));
            }
            Step::Index(index) => {
                let item = node
                    .and_then(|n| n.items())
                    .and_then(|items| items.get(*index));
                match item.and_then(|i| i.get("name")).and_then(Node::as_str) {
                    Some(name) => out.push_str(&format!("[name={name}]")),
                    None => out.push_str(&format!("[{index}]")),
                }
                node = item;
            }
        }
    }
    out
}

fn fingerprint(rule: &str, object: &Object, field: &str) -> String {
    let mut hash = Sha256::new();
    for part in [
        rule,
        object.file.trim_start_matches("./"),
        &object.api_version,
        &object.kind,
        object.namespace.as_deref().unwrap_or(""),
        object.name.as_deref().unwrap_or(""),
        &stable_field(&object.root, field),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex(&hash.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
