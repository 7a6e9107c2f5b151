//! Objects from JSON values already in memory (an API server's answers),
//! without writing them as text and parsing it again. Each object gets the
//! positions it has in the `v1 List` that `corral snapshot` writes (pretty
//! JSON, two-space indent): a finding on a live cluster points where it
//! points in that cluster's snapshot file.

use std::sync::Arc;

use serde_json::Value as Json;

use crate::node::{Entry, Node, Pos, Scalar, ScalarKind, Value};
use crate::{Diagnostic, Object};

/// The line being written.
struct Cursor {
    line: u32,
}

fn chars(text: &str) -> u32 {
    // serde_json escapes quotes, backslashes and control characters; every
    // other character is written as itself.
    text.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            c if (c as u32) < 0x20 => 6,
            _ => 1,
        })
        .sum::<u32>()
        + 2
}

/// The node of `value` written at `col` on the cursor's line, `indent`
/// spaces being its line's indent. Leaves the cursor on its last line.
fn node(value: &Json, cursor: &mut Cursor, col: u32, indent: u32) -> Node {
    let pos = Pos {
        line: cursor.line,
        col,
    };
    match value {
        Json::Null => scalar(pos, "null", ScalarKind::Null),
        Json::Bool(b) => scalar(pos, if *b { "true" } else { "false" }, ScalarKind::Bool(*b)),
        Json::Number(n) => {
            let text = n.to_string();
            let kind = if n.is_f64() {
                ScalarKind::Float
            } else {
                ScalarKind::Int
            };
            scalar(pos, &text, kind)
        }
        Json::String(s) => Node {
            pos,
            value: Value::Scalar(Scalar::string(s)),
        },
        Json::Array(items) => {
            let mut nodes = Vec::with_capacity(items.len());
            for item in items {
                cursor.line += 1;
                nodes.push(node(item, cursor, indent + 3, indent + 2));
            }
            if !items.is_empty() {
                cursor.line += 1; // the closing bracket
            }
            Node::seq(pos, nodes)
        }
        Json::Object(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (key, value) in map {
                cursor.line += 1;
                let key_pos = Pos {
                    line: cursor.line,
                    col: indent + 3,
                };
                let value_col = key_pos.col + chars(key) + 2;
                entries.push(Entry {
                    key: key.as_str().into(),
                    key_pos,
                    value: node(value, cursor, value_col, indent + 2),
                });
            }
            if !map.is_empty() {
                cursor.line += 1; // the closing brace
            }
            Node::map(pos, entries)
        }
    }
}

fn scalar(pos: Pos, text: &str, kind: ScalarKind) -> Node {
    Node {
        pos,
        value: Value::Scalar(Scalar {
            text: text.into(),
            kind,
        }),
    }
}

/// The objects of `items`, as `file` holding them in a `v1 List` would
/// give them. An item without a string `kind` and `apiVersion` is left out
/// with an error at its position.
pub fn objects_from_values(file: &Arc<str>, items: &[Json]) -> (Vec<Object>, Vec<Diagnostic>) {
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": []});
    // Where the items start: the List's keys before `items`, in the order
    // serde_json writes them.
    let mut cursor = Cursor { line: 1 };
    for key in list.as_object().into_iter().flat_map(|m| m.keys()) {
        cursor.line += 1;
        if key == "items" {
            break;
        }
    }
    let mut objects = Vec::with_capacity(items.len());
    let mut diagnostics = Vec::new();
    for item in items {
        cursor.line += 1;
        let root = node(item, &mut cursor, 5, 4);
        let field = |key: &str| item.get(key).and_then(Json::as_str).map(str::to_string);
        match (field("kind"), field("apiVersion")) {
            (Some(kind), Some(api_version)) if !kind.is_empty() && !api_version.is_empty() => {
                objects.push(Object::new(file.clone(), 0, kind, api_version, root));
            }
            _ => diagnostics.push(Diagnostic::error(
                file,
                Some(root.pos),
                "an object without a kind and apiVersion".to_string(),
            )),
        }
    }
    (objects, diagnostics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load_bytes, Limits};

    /// The same objects, field for field and position for position, as
    /// loading the pretty-printed list.
    fn same_as_loaded(items: Vec<Json>) {
        let file: Arc<str> = Arc::from("cluster");
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
        let mut text = serde_json::to_string_pretty(&list).unwrap();
        text.push('\n');
        let (loaded, errors) = load_bytes(&file, text.as_bytes(), &Limits::default(), &|_| {});
        assert!(errors.is_empty(), "{errors:?}");
        let (built, errors) = objects_from_values(&file, &items);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(loaded.len(), built.len());
        for (a, b) in loaded.iter().zip(&built) {
            assert_eq!(a.root, b.root, "{}", text);
            assert_eq!(
                (
                    &a.kind,
                    &a.api_version,
                    &a.name,
                    &a.namespace,
                    a.pos,
                    a.document
                ),
                (
                    &b.kind,
                    &b.api_version,
                    &b.name,
                    &b.namespace,
                    b.pos,
                    b.document
                )
            );
        }
    }

    #[test]
    fn objects_are_where_the_snapshot_file_has_them() {
        same_as_loaded(vec![
            serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "a", "namespace": "x", "labels": {}, "annotations": {"q\"uote\\é\t": "v\u{1}"}},
                "spec": {"hostNetwork": true, "priority": -3, "ratio": 1.5, "none": null, "empty": [],
                         "containers": [{"name": "c", "args": ["x", 1, [], [2]], "ports": [{"containerPort": 80}]}]}}),
            serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": "r"}, "rules": [{"verbs": ["*"], "resources": ["*"], "apiGroups": ["*"]}]}),
        ]);
    }

    #[test]
    fn real_api_answers_load_the_same() {
        // KubeHound's recorded API answers, when ../shared is present.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/kubehound/pkg/collector/testdata");
        if !dir.is_dir() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI has ../shared: {} is missing",
                dir.display()
            );
            return;
        }
        let mut files = Vec::new();
        let mut dirs = vec![dir.clone()];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(d).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "json") {
                    files.push(path);
                }
            }
        }
        files.sort();
        let mut items = Vec::new();
        for file in files {
            let value: Json = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
            let kind = value["kind"].as_str().unwrap_or_default().to_string();
            for mut item in value["items"].as_array().cloned().unwrap_or_default() {
                if item.get("kind").is_none() {
                    item["kind"] = kind.trim_end_matches("List").into();
                    item["apiVersion"] = value["apiVersion"].clone();
                }
                items.push(item);
            }
        }
        assert!(!items.is_empty(), "{}", dir.display());
        same_as_loaded(items);
    }
}
