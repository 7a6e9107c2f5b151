//! Hostile and broken input gives a clear error at a position, never a panic,
//! a stack overflow or unbounded memory; one bad document or file does not
//! stop the rest.

use std::fs;
use std::sync::Arc;

use corral_core::{load, load_bytes, Diagnostic, Input, Limits, Object, Severity};

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
    // saphyr's own flow-nesting bound may trip before ours.
    assert!(
        error.message.contains("nesting deeper than 256 levels")
            || error.message.contains("recursion limit exceeded"),
        "{}",
        error.message
    );
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
