//! Nothing can be hidden from the scanner: a privileged pod dressed up as,
//! or tucked behind, a CustomResourceDefinition (whose schemas Corral skips
//! reading) is still found by `scan` and `pss`.

use assert_cmd::Command;

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n";
const POD: &str = "metadata: {name: hidden, namespace: shop}\nspec:\n  containers:\n  - name: c\n    image: nginx\n    schema:\n      x: 1\n    securityContext:\n      privileged: true\n";

fn disguises() -> Vec<(&'static str, String)> {
    vec![
        (
            "a pod after `...` in a CRD's chunk",
            format!("{CRD}spec:\n  versions:\n  - name: v1\n...\napiVersion: v1\nkind: Pod\n{POD}"),
        ),
        (
            "duplicate kind and apiVersion, the last saying Pod",
            format!("{CRD}apiVersion: v1\nkind: Pod\n{POD}"),
        ),
        (
            "a flow mapping reopened on a blanked line",
            "{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, spec: {\n  validation:\n     }, apiVersion: v1, kind: Pod, metadata: {name: hidden, namespace: shop}, spec: {containers: [{name: c, image: nginx, securityContext: {privileged: true}}]\n  }}\n".into(),
        ),
        (
            "a pod after lone carriage returns, which end YAML lines too",
            format!("{CRD}spec:\n  versions:\n  - name: v1\n    schema:\n\r---\rapiVersion: v1\rkind: Pod\r{}", POD.replace('\n', "\r")),
        ),
    ]
}

#[test]
fn a_privileged_pod_behind_a_crd_is_still_found() {
    let dir = tempfile::tempdir().unwrap();
    for (what, text) in disguises() {
        let file = dir.path().join("disguised.yaml");
        std::fs::write(&file, &text).unwrap();
        let scan = Command::cargo_bin("corral")
            .unwrap()
            .args(["scan", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
        let privileged = report["findings"].as_array().unwrap().iter().any(|f| {
            f["message"]
                .as_str()
                .unwrap_or_default()
                .contains("privileged")
        });
        assert!(privileged, "scan missed the pod: {what}\n{report:#}");

        let pss = Command::cargo_bin("corral")
            .unwrap()
            .args(["pss", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&pss.stdout);
        assert!(
            text.contains("hidden") && text.contains("privileged"),
            "pss missed the pod: {what}\n{text}"
        );
    }
}

/// `# corral:ignore` suppresses only as a YAML comment: inside a quoted
/// string, a multi-line string or a block scalar it is text.
#[test]
fn suppression_markers_in_strings_suppress_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |extra: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: evil\n  namespace: shop\n{extra}spec:\n  containers:\n  - name: c\n    image: busybox\n    env:\n    - {{name: X, value: \"a # corral:ignore all quoted\"}}\n    args:\n    - |\n      # corral:ignore all block\n    securityContext: {{privileged: true}}\n")
    };
    for text in [
        pod(""),
        pod("  annotations:\n    note: \"x\n      # corral:ignore all multi-line\"\n"),
    ] {
        let file = dir.path().join("pod.yaml");
        std::fs::write(&file, &text).unwrap();
        let scan = Command::cargo_bin("corral")
            .unwrap()
            .args(["scan", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
        let suppressed = report["summary"]["suppressed"].as_u64().unwrap();
        assert_eq!(suppressed, 0, "{text}\n{report:#}");
        assert_eq!(scan.status.code(), Some(1));
    }
    // A real comment still suppresses.
    let file = dir.path().join("pod.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    securityContext:\n      privileged: true # corral:ignore all needs /dev/kvm\n",
    )
    .unwrap();
    let scan = Command::cargo_bin("corral")
        .unwrap()
        .args(["scan", "--format", "json"])
        .arg(&file)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert!(
        report["summary"]["suppressed"].as_u64().unwrap() > 0,
        "{report:#}"
    );
}

/// NEL, LS and PS end a line for kubectl's YAML 1.1 parser (go-yaml) and
/// not for YAML 1.2: after a comment or a plain scalar they would hide a
/// field, or a whole pod, from a YAML 1.2 reading. Such a document is an
/// error at the character, in every command, and `scan` fails (exit 2).
#[test]
fn yaml11_line_breaks_hide_nothing_and_fail_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    for line_break in ['\u{85}', '\u{2028}', '\u{2029}'] {
        let text = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: hidden, namespace: shop}} # note{line_break}spec:{line_break}  hostPID: true{line_break}  containers: [{{name: c, image: nginx, securityContext: {{privileged: true}}}}]\n"
        );
        let file = dir.path().join("nel.yaml");
        std::fs::write(&file, &text).unwrap();
        let scan = Command::cargo_bin("corral")
            .unwrap()
            .args(["scan", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(scan.status.code(), Some(2), "{line_break:?}");
        let stderr = String::from_utf8_lossy(&scan.stderr);
        assert!(
            stderr.contains("nel.yaml:3:49") && stderr.contains("YAML 1.1"),
            "{stderr}"
        );
        let pss = Command::cargo_bin("corral")
            .unwrap()
            .args(["pss", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(pss.status.code(), Some(2), "{line_break:?}");
    }
}
