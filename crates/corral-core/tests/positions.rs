//! Every field of a loaded object keeps its exact line and column, whatever
//! the YAML around it looks like. Each snapshot lists every field as
//! `path  key-position  value-position  value`.

use std::fmt::Write;
use std::sync::Arc;

use corral_core::{load_bytes, Limits, Node, Object, Value};

fn load(text: &str) -> Vec<Object> {
    let (objects, diagnostics) = load_bytes(
        &Arc::from("test.yaml"),
        text.as_bytes(),
        &Limits::default(),
        &|_| {},
    );
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    objects
}

/// Every field of every object, one per line.
fn render(objects: &[Object]) -> String {
    let mut out = String::new();
    for o in objects {
        let _ = writeln!(
            out,
            "# {} {} document {} at {}",
            o.kind,
            o.name.as_deref().unwrap_or("-"),
            o.document,
            o.pos
        );
        walk(&o.root, "", None, &mut out);
    }
    out
}

fn walk(node: &Node, path: &str, key_pos: Option<corral_core::Pos>, out: &mut String) {
    let key = key_pos.map_or(String::new(), |p| p.to_string());
    match &node.value {
        Value::Scalar(s) => {
            let _ = writeln!(
                out,
                "{path:<40} {key:>6} {:>6} {:?}",
                node.pos.to_string(),
                s.text.as_str()
            );
        }
        Value::Seq(items) => {
            let _ = writeln!(
                out,
                "{path:<40} {key:>6} {:>6} [{}]",
                node.pos.to_string(),
                items.len()
            );
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), None, out);
            }
        }
        Value::Map(entries) => {
            if !path.is_empty() {
                let _ = writeln!(
                    out,
                    "{path:<40} {key:>6} {:>6} {{{}}}",
                    node.pos.to_string(),
                    entries.len()
                );
            }
            for e in entries {
                let child = if path.is_empty() {
                    e.key.to_string()
                } else {
                    format!("{path}.{}", e.key)
                };
                walk(&e.value, &child, Some(e.key_pos), out);
            }
        }
    }
}

#[test]
fn separators_and_leading_comments() {
    let text = "\
# Leading comment
# spanning two lines
apiVersion: v1
kind: ConfigMap
metadata:
  name: first
---
# comment after the separator

apiVersion: v1
kind: ConfigMap
metadata: {name: second}
--- # a comment on the marker line
apiVersion: v1
kind: Secret
metadata:
  name: third
...
---
";
    let objects = load(text);
    assert_eq!(
        objects
            .iter()
            .map(|o| (o.pos.line, o.document))
            .collect::<Vec<_>>(),
        [(4, 0), (11, 1), (15, 2)]
    );
    insta::assert_snapshot!(render(&objects));
}

#[test]
fn block_scalars_then_fields() {
    let text = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: scripts
data:
  literal.sh: |
    #!/bin/sh
    echo one

    echo two
  folded: >-
    folded text
    continues here
  keep: |+
    kept

  after: plain value
";
    let objects = load(text);
    assert_eq!(objects[0].root.pos_of("data.after").unwrap().line, 17);
    insta::assert_snapshot!(render(&objects));
}

#[test]
fn flow_style_mappings_and_sequences() {
    let text = "\
{apiVersion: apps/v1, kind: Deployment,
 metadata: {name: web, labels: {app: web}},
 spec: {template: {spec: {containers: [
   {name: a, image: \"nginx:1\", securityContext: {privileged: true}},
   {name: b, image: 'busybox', args: [sh, -c, \"sleep 1\"]}]}}}}
";
    let objects = load(text);
    let pos = objects[0].pos_of("spec.template.spec.containers[0].securityContext.privileged");
    assert_eq!((pos.line, pos.col), (4, 50));
    insta::assert_snapshot!(render(&objects));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let text = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: &labels
    app: web
    tier: front
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels:
        <<: *labels
        extra: yes
    spec:
      containers:
        - &base
          name: a
          image: nginx
        - <<: *base
          name: b
";
    let objects = load(text);
    let root = &objects[0].root;
    // The alias itself points at the alias; the copied fields at the anchor.
    assert_eq!(root.at("spec.selector.matchLabels").unwrap().pos.line, 10);
    assert_eq!(
        root.pos_of("spec.selector.matchLabels.app").unwrap().line,
        6
    );
    assert_eq!(
        root.at("spec.template.spec.containers[1].image")
            .unwrap()
            .as_str(),
        Some("nginx")
    );
    assert_eq!(
        root.pos_of("spec.template.spec.containers[1].name")
            .unwrap()
            .line,
        22
    );
    insta::assert_snapshot!(render(&objects));
}

#[test]
fn crlf_line_endings() {
    let text = "apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: crlf\r\nspec:\r\n  containers:\r\n  - name: c\r\n    image: x\r\n---\r\napiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: second\r\n";
    let objects = load(text);
    assert_eq!(objects[0].pos_of("spec.containers[0].image").line, 8);
    assert_eq!(objects[1].pos.line, 11);
    assert_eq!(
        objects[0].root.at("metadata.name").unwrap().as_str(),
        Some("crlf")
    );
    insta::assert_snapshot!(render(&objects));
}

#[test]
fn utf8_byte_order_mark() {
    let text = "\u{FEFF}apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bom\n";
    let objects = load(text);
    assert_eq!((objects[0].pos.line, objects[0].pos.col), (2, 1));
    assert_eq!(
        objects[0]
            .root
            .pos_of("apiVersion")
            .map(|p| (p.line, p.col)),
        Some((1, 1))
    );
    insta::assert_snapshot!(render(&objects));
}

#[test]
fn list_items_nested_lists_and_typed_lists() {
    let text = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata:
    name: svc
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: nested
---
apiVersion: v1
kind: PodList
items:
- metadata:
    name: from-api
    namespace: default
  spec:
    containers:
    - name: c
      image: busybox
";
    let objects = load(text);
    let kinds: Vec<_> = objects
        .iter()
        .map(|o| (o.kind.as_str(), o.pos.line, o.pos.col))
        .collect();
    // A typed list's items carry no kind: they are placed at their mapping.
    assert_eq!(
        kinds,
        [("Service", 5, 3), ("ServiceAccount", 12, 5), ("Pod", 19, 3)]
    );
    insta::assert_snapshot!(render(&objects));
}

#[test]
fn json_objects_and_lists() {
    let text = r#"{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {
      "apiVersion": "apps/v1",
      "kind": "Deployment",
      "metadata": {"name": "web", "namespace": "prod"},
      "spec": {"replicas": 2, "template": {"spec": {"hostNetwork": true, "containers": []}}}
    }
  ]
}
"#;
    let objects = load(text);
    assert_eq!(objects[0].pos_of("spec.template.spec.hostNetwork").line, 9);
    insta::assert_snapshot!(render(&objects));
}

/// A line ends at a line feed, a CR LF or a lone carriage return (YAML
/// 1.2's line breaks, as saphyr-parser and SARIF count lines): each lone
/// `\r` in a flow collection is a line of its own.
#[test]
fn lone_carriage_returns_end_lines() {
    let objects = load(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {a: x\r\r\r\r, b: y}}\nspec:\n  hostPID: true\n",
    );
    let root = &objects[0].root;
    let b = root.at("metadata.labels").unwrap().entry("b").unwrap();
    assert_eq!(b.key_pos.to_string(), "7:3");
    let host_pid = root.at("spec").unwrap().entry("hostPID").unwrap();
    assert_eq!(host_pid.key_pos.to_string(), "9:3");
}

/// A file whose lines end in CR alone, or in CR LF, loads as the same file
/// with LF: the same objects, every field at the same line and column.
/// Block scalars, comments, document markers, flow collections, a CRD
/// (whose schemas are blanked by lines) and every example.
#[test]
fn carriage_return_files_load_as_line_feed_files() {
    let mut texts = vec![
        "# c\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a # x\ndata:\n  k: |\n    one\n\n    two\n  f: >-\n    a\n    b\n  p: plain\n    folded\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p,\n  labels: {a: b}}\nspec:\n  containers:\n  - name: c\n    image: \"x\n      y\"\n...\n".to_string(),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: w.example.com\nspec:\n  group: example.com\n  versions:\n  - name: v1\n    schema:\n      openAPIV3Schema:\n        type: object\n    served: true\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: after}\n".to_string(),
    ];
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            texts.push(std::fs::read_to_string(path).unwrap());
        }
    }
    for text in &texts {
        let lf = render(&load(text));
        assert!(lf.contains("# "), "{text}");
        assert_eq!(render(&load(&text.replace('\n', "\r"))), lf, "{text}");
        assert_eq!(render(&load(&text.replace('\n', "\r\n"))), lf, "{text}");
    }
}

/// Columns count Unicode code points, in the fast path and in saphyr-parser
/// alike (an anchor sends the document to saphyr).
#[test]
fn columns_count_code_points_in_both_parsers() {
    for anchor in ["", "&m "] {
        let text = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {anchor}{{name: \"é😀\", labels: {{a: b}}}}\n"
        );
        let objects = load(&text);
        let labels = objects[0]
            .root
            .at("metadata")
            .unwrap()
            .entry("labels")
            .unwrap();
        let col = 24 + anchor.chars().count() as u32;
        assert_eq!(labels.key_pos.to_string(), format!("3:{col}"), "{text}");
    }
}
