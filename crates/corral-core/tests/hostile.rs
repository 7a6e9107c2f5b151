//! Hostile and broken input gives a clear error at a position, never a panic,
//! a stack overflow or unbounded memory; one bad document or file does not
//! stop the rest.

use std::fs;
use std::sync::Arc;

use corral_core::{load, load_bytes, Diagnostic, Input, Limits, Object, Pos, Severity};

fn load_text(bytes: &[u8], limits: &Limits) -> (Vec<Object>, Vec<Diagnostic>) {
    load_bytes(&Arc::from("bad.yaml"), bytes, limits, &|_| {})
}

fn only_error(diagnostics: &[Diagnostic]) -> &Diagnostic {
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 1, "{diagnostics:#?}");
    errors[0]
}

#[test]
fn billion_laughs_is_bounded() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let names: Vec<char> = "abcdefghij".chars().collect();
    for pair in names.windows(2) {
        let refs = vec![format!("*{}", pair[0]); 9].join(", ");
        text.push_str(&format!("  {name}: &{name} [{refs}]\n", name = pair[1]));
    }
    // 9^10 nodes if expanded.
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(objects.is_empty());
    let error = only_error(&diagnostics);
    assert!(
        error
            .message
            .contains("alias expansion exceeds 100000 nodes"),
        "{}",
        error.message
    );
    assert!(error.message.contains("--max-alias-nodes"));
    assert!(error.pos.is_some_and(|p| p.line > 5));
}

#[test]
fn modest_aliases_are_fine() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\ndata:\n  a: &a x\n  b: *a\n";
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(diagnostics.is_empty());
    assert_eq!(
        objects[0].root.at("data.b").and_then(|n| n.as_str()),
        Some("x")
    );
}

#[test]
fn deep_flow_nesting_is_bounded() {
    let depth = 1_000_000;
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(objects.is_empty());
    let error = only_error(&diagnostics);
    // saphyr's own flow-nesting bound (255) trips before ours (256): the
    // message names both, at the bracket past the bound.
    assert!(
        error.message.starts_with("nesting deeper than 255 levels")
            && error.message.contains("--max-depth is 256"),
        "{}",
        error.message
    );
    assert_eq!(error.pos.map(|p| p.col), Some(7 + 255));
    // Under saphyr's bound, --max-depth is what is named (at the bracket
    // where saphyr stopped, past the limit).
    let limits = Limits {
        max_depth: 10,
        ..Limits::default()
    };
    let (_, diagnostics) = load_text(text.as_bytes(), &limits);
    let error = only_error(&diagnostics);
    assert!(
        error
            .message
            .contains("nesting deeper than 10 levels; raise --max-depth"),
        "{}",
        error.message
    );
    assert_eq!(error.pos.map(|p| p.col), Some(7 + 255));
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n",
        "[".repeat(20),
        "]".repeat(20)
    );
    let (_, diagnostics) = load_text(text.as_bytes(), &limits);
    let error = only_error(&diagnostics);
    assert!(error
        .message
        .contains("nesting deeper than 10 levels; raise --max-depth"));
    // The root mapping is the first level.
    assert_eq!(error.pos.map(|p| p.col), Some(7 + 9));
    assert_eq!(error.pos.map(|p| p.line), Some(3));
}

#[test]
fn deep_block_nesting_is_bounded() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\n");
    for level in 0..2000 {
        text.push_str(&" ".repeat(level));
        text.push_str("k:\n");
    }
    let (_, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(only_error(&diagnostics)
        .message
        .contains("nesting deeper than"));
}

#[test]
fn oversized_document_is_refused_and_others_kept() {
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n  blob: \"{}\"\n",
        "x".repeat(4096)
    );
    let text = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: small}}\n---\n{big}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: after}}\n");
    let limits = Limits {
        max_document_size: 1024,
        ..Limits::default()
    };
    let (objects, diagnostics) = load_text(text.as_bytes(), &limits);
    let names: Vec<_> = objects
        .iter()
        .map(|o| (o.name.as_deref().unwrap(), o.document))
        .collect();
    assert_eq!(names, [("small", 0), ("after", 2)]);
    let error = only_error(&diagnostics);
    assert_eq!(error.pos.map(|p| p.line), Some(4));
    assert!(
        error
            .message
            .contains("over the 1024 byte limit (--max-document-size)"),
        "{}",
        error.message
    );
}

#[test]
fn oversized_file_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    fs::write(
        &path,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: huge}\n",
    )
    .unwrap();
    let limits = Limits {
        max_file_size: 10,
        ..Limits::default()
    };
    let loaded = load(&[Input::Path(path)], &limits);
    assert!(loaded.objects.is_empty());
    let error = only_error(&loaded.diagnostics);
    assert!(
        error
            .message
            .contains("over the 10 byte limit (--max-file-size)"),
        "{}",
        error.message
    );
}

#[test]
fn invalid_utf8_points_at_the_byte() {
    let bytes = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caf\xC3\xA9-\xFF\n";
    let (objects, diagnostics) = load_text(bytes, &Limits::default());
    assert!(objects.is_empty());
    let error = only_error(&diagnostics);
    assert_eq!(error.location(), "bad.yaml:4:14");
    assert!(error.message.contains("invalid UTF-8 (byte 0xFF)"));
}

#[test]
fn utf16_is_named() {
    let (_, diagnostics) = load_text(b"\xFF\xFEa\x00", &Limits::default());
    assert!(only_error(&diagnostics).message.contains("UTF-16"));
    let (_, diagnostics) = load_text(b"\xFE\xFF\x00a", &Limits::default());
    assert!(only_error(&diagnostics).message.contains("UTF-16"));
}

#[test]
fn utf32_is_named() {
    for bytes in [
        &b"\xFF\xFE\x00\x00a\x00\x00\x00"[..],
        &b"\x00\x00\xFE\xFF\x00\x00\x00a"[..],
    ] {
        let (_, diagnostics) = load_text(bytes, &Limits::default());
        let error = only_error(&diagnostics);
        assert!(error.message.starts_with("file is UTF-32;"), "{error:?}");
        assert_eq!(error.location(), "bad.yaml:1:1");
    }
}

#[test]
fn nul_byte_loses_only_its_document() {
    let bytes = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b\x00}\n";
    let (objects, diagnostics) = load_text(bytes, &Limits::default());
    assert_eq!(objects.len(), 1);
    let error = only_error(&diagnostics);
    assert_eq!(error.location(), "bad.yaml:7:19");
    assert!(error.message.contains("NUL byte"));
}

#[test]
fn syntax_error_loses_only_its_document() {
    let text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n   bad: indent\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n";
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    let names: Vec<_> = objects
        .iter()
        .map(|o| (o.name.as_deref().unwrap(), o.document))
        .collect();
    assert_eq!(names, [("a", 0), ("c", 2)]);
    assert_eq!(only_error(&diagnostics).pos.map(|p| p.line), Some(9));
}

#[test]
fn unrendered_helm_template_gets_a_hint() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n  {{- include \"labels\" . | nindent 2 }}\n";
    let (_, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    let error = only_error(&diagnostics);
    assert!(
        error.hint.as_deref().unwrap().contains("helm template"),
        "{error:?}"
    );
}

#[test]
fn duplicate_keys_warn_with_key_and_line() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: first\n  name: second\nspec: {}\n";
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert_eq!(objects[0].name.as_deref(), Some("second"));
    assert_eq!(diagnostics.len(), 1);
    assert_eq!(diagnostics[0].severity, Severity::Warning);
    assert_eq!(diagnostics[0].location(), "bad.yaml:5:3");
    assert_eq!(
        diagnostics[0].message,
        "duplicate key \"name\" (first at line 4); the last value is used"
    );
}

#[test]
fn documents_without_kind_are_noted_and_skipped() {
    let text = "# values\nreplicas: 3\n---\nplain text\n---\n";
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(objects.is_empty());
    assert!(diagnostics.iter().all(|d| d.severity == Severity::Note));
    assert_eq!(diagnostics.len(), 2);
    assert!(diagnostics[0].message.contains("no apiVersion and kind"));
}

#[test]
fn non_scalar_keys_are_an_error() {
    let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  ? [a, b]\n  : value\n";
    let (_, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(only_error(&diagnostics)
        .message
        .contains("mapping key must be a scalar"));
}

#[test]
fn one_bad_file_does_not_stop_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    )
    .unwrap();
    fs::write(dir.path().join("b.yaml"), "kind: [unclosed\n").unwrap();
    fs::write(
        dir.path().join("c.json"),
        "{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"c\"}}",
    )
    .unwrap();
    let loaded = load(&[Input::Path(dir.path().to_path_buf())], &Limits::default());
    let names: Vec<_> = loaded
        .objects
        .iter()
        .map(|o| o.name.as_deref().unwrap())
        .collect();
    assert_eq!(names, ["a", "c"]);
    assert!(only_error(&loaded.diagnostics).file.ends_with("b.yaml"));
}

/// Inputs larger than one read batch (16 MiB) are parsed batch by batch;
/// lines, document indexes and errors past the first batch stay exact.
#[test]
fn positions_stay_exact_across_read_batches() {
    let doc = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  blob: \""
        .to_string()
        + &"x".repeat(2000)
        + "\"\n";
    let count = 9000; // about 18 MB
    let mut text = doc.repeat(count);
    text.push_str("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: last}\n");
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(diagnostics.is_empty());
    assert_eq!(objects.len(), count + 1);
    let last = objects.last().unwrap();
    assert_eq!(
        (last.document as usize, last.pos.line as usize),
        (count, 7 * count + 3)
    );

    let mut broken = text.into_bytes();
    let at = broken.len() - 3;
    broken[at] = 0xFF;
    let (objects, diagnostics) = load_text(&broken, &Limits::default());
    assert!(objects.len() >= 7000, "batches before the bad byte load");
    assert_eq!(
        only_error(&diagnostics).pos.map(|p| p.line as usize),
        Some(7 * count + 4)
    );
}

/// A 1 MiB scalar aliased 10,000 times would expand to 10 GiB: the bytes
/// aliases add are bounded by the document size limit.
#[test]
fn alias_bytes_are_bounded() {
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: &a \"{}\"\n  l: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*a"; 10_000].join(", ")
    );
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(objects.is_empty());
    let error = only_error(&diagnostics);
    assert!(
        error
            .message
            .starts_with("alias expansion exceeds 67108864 bytes in this document")
            && error.message.contains("raise --max-document-size"),
        "{}",
        error.message
    );
    // At the 65th alias: 64 MiB of copies fit the limit.
    assert_eq!(
        error.pos,
        Some(Pos {
            line: 5,
            col: 7 + 64 * 4
        })
    );
    // What fits is kept, copied.
    let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: &a {k: [v, w]}\n  l: [*a, *a]\n";
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let root = &objects[0].root;
    assert_eq!(
        root.at("data.l[1].k[1]").and_then(|n| n.as_str()),
        Some("w")
    );
    // The copy is where the alias is; its fields where the anchor's are.
    assert_eq!(
        root.at("data.l[1]").map(|n| n.pos),
        Some(Pos { line: 5, col: 11 })
    );
    assert_eq!(
        root.at("data.l[1].k").map(|n| n.pos),
        Some(Pos { line: 4, col: 13 })
    );
    assert_eq!(
        root.at("data.a").map(|n| n.pos),
        Some(Pos { line: 4, col: 6 })
    );
}

/// Anchors nested in anchors share their subtrees: a chain of 200 of them
/// over a large value loads whole, and aliases to them copy it.
#[test]
fn nested_anchors_are_shared() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
    for level in 0..200 {
        text.push_str(&format!("{}k{level}: &a{level}\n", "  ".repeat(level + 1)));
    }
    text.push_str(&format!(
        "{}leaf: \"{}\"\n",
        "  ".repeat(201),
        "x".repeat(1 << 20)
    ));
    text.push_str("copy: *a150\n");
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let root = &objects[0].root;
    let mut path = String::from("data");
    for level in 0..200 {
        path.push_str(&format!(".k{level}"));
    }
    let leaf = root.at(&format!("{path}.leaf")).unwrap();
    assert_eq!(leaf.as_str().map(str::len), Some(1 << 20));
    assert_eq!(
        leaf.pos,
        Pos {
            line: 204,
            col: 409
        }
    );
    let mut copy = String::from("copy");
    for level in 151..200 {
        copy.push_str(&format!(".k{level}"));
    }
    assert_eq!(root.at(&format!("{copy}.leaf")), Some(leaf));
    assert_eq!(
        root.at("copy").map(|n| n.pos),
        Some(Pos { line: 205, col: 7 })
    );
}

/// An alias may not nest a tree deeper than --max-depth by repeating an
/// anchor deep down.
#[test]
fn aliases_do_not_nest_past_the_depth_limit() {
    let limits = Limits {
        max_depth: 8,
        ..Limits::default()
    };
    let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: &a [[[[x]]]]\n  b: [[[*a]]]\n";
    let (objects, diagnostics) = load_text(text.as_bytes(), &limits);
    assert!(objects.is_empty());
    let error = only_error(&diagnostics);
    assert!(
        error
            .message
            .contains("nesting deeper than 8 levels; raise --max-depth"),
        "{}",
        error.message
    );
    assert_eq!(error.pos, Some(Pos { line: 5, col: 9 }));
    let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: &a [[[[x]]]]\n  b: [[*a]]\n";
    let (objects, diagnostics) = load_text(text.as_bytes(), &limits);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(
        objects[0]
            .root
            .at("data.b[0][0][0][0][0][0]")
            .and_then(|n| n.as_str()),
        Some("x")
    );
}

/// Merge keys as go-yaml v2 (kubectl) applies them: in document order, a
/// merge writes over the keys before it and keys after it write over the
/// merge; of a sequence of sources, earlier ones win; many sources merge
/// in linear time.
#[test]
fn merge_keys_apply_in_document_order() {
    let text = "apiVersion: v1\nkind: ConfigMap\nbase: &b {x: base, v: base}\ndata:\n  x: own\n  <<: [{x: first, z: first}, *b, {z: last, w: last}]\n  x: own-last\n";
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    // One warning: the duplicate x.
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let data = objects[0].root.get("data").unwrap();
    let get = |k| data.get(k).and_then(|n| n.as_str());
    assert_eq!(
        [get("x"), get("v"), get("z"), get("w")],
        [Some("own-last"), Some("base"), Some("first"), Some("last")]
    );
    assert_eq!(data.entries().unwrap().len(), 4);

    let count = 20_000;
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n  k7: own\n  <<:\n");
    for i in 0..count {
        text.push_str(&format!("  - {{k{i}: v{i}, x{}: s{i}}}\n", i % 100));
    }
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let data = objects[0].root.get("data").unwrap();
    assert_eq!(data.entries().unwrap().len(), count + 100);
    // The merge comes after `k7: own`: its source's k7 is what kubectl reads.
    assert_eq!(data.get("k7").and_then(|n| n.as_str()), Some("v7"));
    assert_eq!(data.get("x50").and_then(|n| n.as_str()), Some("s50"));
    assert_eq!(data.get("k150").and_then(|n| n.as_str()), Some("v150"));
}

/// A merge after a key overwrites it (`privileged: false` then
/// `<<: {privileged: true}` is privileged to kubectl), a second merge
/// overwrites the first, and a key after a merge overwrites it.
#[test]
fn a_later_merge_overwrites_an_earlier_key() {
    for (body, want) in [
        ("privileged: false\n  <<: {privileged: true}", "true"),
        ("<<: {privileged: false}\n  <<: {privileged: true}", "true"),
        ("<<: {privileged: true}\n  privileged: false", "false"),
        ("<<: [{privileged: true}, {privileged: false}]", "true"),
    ] {
        let text = format!("apiVersion: v1\nkind: ConfigMap\ndata:\n  {body}\n");
        let (objects, _) = load_text(text.as_bytes(), &Limits::default());
        let data = objects[0].root.get("data").unwrap();
        let got = data.get("privileged").map(|n| format!("{:?}", n.value));
        assert!(
            got.as_deref().is_some_and(|g| g.contains(want)),
            "{body}: {got:?}"
        );
    }
}

/// Keys are written as `sigs.k8s.io/yaml` writes them to JSON: `on` is
/// the label `true`, `0x10` is `16`; quoted keys stay as they are; on
/// either parser.
#[test]
fn keys_convert_as_kubectl_converts_them() {
    for text in [
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    on: x\n    0x10: y\n    'no': z\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {on: x, 0x10: y, 'no': z}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {on: x, 0x10: y, 'no': z, &a k: v}\n",
    ] {
        let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        let labels = objects[0].root.at("metadata.labels").unwrap();
        let keys: Vec<&str> = labels.entries().unwrap().iter().map(|e| &*e.key).collect();
        assert_eq!(&keys[..3], ["true", "16", "no"], "{text}");
    }
}

/// kubectl's reader ends a document at `---#` (and `---` with a no-break
/// space); YAML does not: the document is refused rather than read as
/// something else. And any object with `items` is a list to kubectl.
#[test]
fn documents_and_lists_as_kubectl_reads_them() {
    let hidden = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---#: |\n  apiVersion: v1\n  kind: Pod\n";
    let (objects, diagnostics) = load_text(hidden.as_bytes(), &Limits::default());
    assert!(objects.is_empty(), "{objects:?}");
    assert_eq!(
        diagnostics[0].pos.map(|p| p.line),
        Some(4),
        "{diagnostics:?}"
    );
    for fine in ["---\n", "--- # comment\n", "---\t\n"] {
        let text = format!("apiVersion: v1\nkind: ConfigMap\n{fine}apiVersion: v1\nkind: Secret\n");
        let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
        assert_eq!(objects.len(), 2, "{fine:?} {diagnostics:?}");
    }
    let wrapped = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: evil}}\n";
    let (objects, _) = load_text(wrapped.as_bytes(), &Limits::default());
    let kinds: Vec<&str> = objects.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["Pod"]);
}

/// Duplicate keys in large mappings, block or flow, on either parser: the
/// last value is what is analysed (kind detection included), with a warning.
#[test]
fn large_mappings_with_duplicates_use_the_last_value() {
    let keys: Vec<String> = (0..50).map(|i| format!("k{i}: v")).collect();
    let block = format!(
        "kind: Secret\napiVersion: v1\n{}\nkind: ConfigMap\n",
        keys.join("\n")
    );
    let flow = format!(
        "{{kind: Secret, apiVersion: v1, {}, kind: ConfigMap}}\n",
        keys.join(", ")
    );
    for text in [block, flow] {
        let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
        assert_eq!(objects[0].kind, "ConfigMap", "{text}");
        assert_eq!(objects[0].root.entries().unwrap().len(), 52);
        assert_eq!(diagnostics.len(), 1);
        assert!(diagnostics[0]
            .message
            .starts_with("duplicate key \"kind\" (first at line 1)"));
    }
}

/// Large mappings and one-line flow collections load with exact positions
/// (the cases that were quadratic: see benches/load.rs).
#[test]
fn wide_collections_keep_positions() {
    let count = 20_000;
    let head = "apiVersion: v1\nkind: ConfigMap\n";
    let block: String = (0..count).map(|i| format!("  k{i}: v\n")).collect();
    let flow_map: Vec<String> = (0..count).map(|i| format!("é{i}: v")).collect();
    let flow_seq: Vec<String> = (0..count).map(|i| format!("v{i}")).collect();
    let text = format!(
        "{head}block:\n{block}flow: {{{}}}\nseq: [{}]\n",
        flow_map.join(", "),
        flow_seq.join(", ")
    );
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let root = &objects[0].root;
    let last = count - 1;
    assert_eq!(root.get("block").unwrap().entries().unwrap().len(), count);
    assert_eq!(
        root.pos_of(&format!("block.k{last}")),
        Some(Pos {
            line: 3 + count as u32,
            col: 3
        })
    );
    let flow_line = 4 + count as u32;
    let before: usize = flow_map[..last].iter().map(|e| e.chars().count() + 2).sum();
    assert_eq!(
        root.pos_of(&format!("flow[\"é{last}\"]")),
        Some(Pos {
            line: flow_line,
            col: 8 + before as u32
        })
    );
    let before: usize = flow_seq[..last].iter().map(|e| e.len() + 2).sum();
    assert_eq!(
        root.at(&format!("seq[{last}]")).map(|n| n.pos),
        Some(Pos {
            line: flow_line + 1,
            col: 7 + before as u32
        })
    );
}

/// A million documents without `kind` keep a bounded number of notes
/// (printed only with --verbose), and a count of the rest.
#[test]
fn notes_are_bounded() {
    let text = "a: 1\n---\n".repeat(10_000)
        + "--- [1, 2, 3]\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: last}\n";
    let (objects, diagnostics) = load_text(text.as_bytes(), &Limits::default());
    // Parsed a window of documents at a time, in order.
    let last: Vec<_> = objects.iter().map(|o| (o.document, o.pos.line)).collect();
    assert_eq!(last, [(10_002, 20_004)]);
    assert!(diagnostics.iter().all(|d| d.severity == Severity::Note));
    assert_eq!(diagnostics.len(), 101);
    assert!(diagnostics[0].message.contains("no apiVersion and kind"));
    assert_eq!(diagnostics[0].location(), "bad.yaml:1:1");
    assert_eq!(
        diagnostics[100].message,
        "9903 more notes not listed: documents or items skipped as not Kubernetes objects (100 are listed)"
    );
    // Items of one document that are not objects, likewise.
    let items = "- 1\n".repeat(5_000);
    let (_, diagnostics) = load_text(items.as_bytes(), &Limits::default());
    assert_eq!(diagnostics.len(), 101);
    assert_eq!(
        diagnostics[100].message,
        "4900 more items of this document skipped as not Kubernetes objects, not listed"
    );
}

/// A document over --max-document-size is refused as it is read, without
/// holding it (a read batch past the limit at most); later documents load.
#[test]
fn oversized_document_is_refused_while_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    let line = format!("  k: \"{}\"\n", "x".repeat(100));
    let mut text =
        String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\ndata:\n");
    let lines = 200_000; // 21 MB, more than a read batch
    text.push_str(&line.repeat(lines));
    text.push_str("---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n");
    fs::write(&path, &text).unwrap();
    let limits = Limits {
        max_document_size: 1 << 20,
        ..Limits::default()
    };
    let loaded = load(&[Input::Path(path)], &limits);
    let names: Vec<_> = loaded
        .objects
        .iter()
        .map(|o| (o.name.as_deref().unwrap(), o.document, o.pos.line))
        .collect();
    assert_eq!(names, [("a", 0, 2), ("b", 2, 8 + lines as u32)]);
    let error = only_error(&loaded.diagnostics);
    assert_eq!(error.pos, Some(Pos { line: 4, col: 1 }));
    let size: usize = error
        .message
        .strip_prefix("document is more than ")
        .and_then(|m| m.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", error.message));
    // Refused after the first 16 MiB batch, not at the end of the document.
    assert!(size <= (1 << 20) + (16 << 20), "{size}");
    assert!(error
        .message
        .ends_with("over the 1048576 byte limit (--max-document-size)"));
}

/// Duplicate keys are listed up to a bound, then counted in one warning.
#[test]
fn duplicate_key_warnings_are_bounded() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n");
    for i in 0..1000 {
        text.push_str(&format!("  k{}: v{i}\n", i % 2));
    }
    let (objects, diagnostics) = corral_core::load_bytes(
        &std::sync::Arc::from("dup.yaml"),
        text.as_bytes(),
        &corral_core::Limits::default(),
        &|_| {},
    );
    assert_eq!(objects.len(), 1);
    assert_eq!(
        objects[0]
            .root
            .at("data.k1")
            .and_then(corral_core::Node::as_str),
        Some("v999")
    );
    assert_eq!(diagnostics.len(), 101, "{diagnostics:?}");
    assert!(diagnostics.iter().any(|d| d.message
        == "898 more duplicate keys in this document (the last value of each is used)"));
}
