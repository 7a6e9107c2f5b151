//! Hostile `--cloud` files, driving the binary: a trust condition Corral
//! cannot decide shows the path as one that may exist (never hides it), a
//! policy document that does not decode is an error naming the file and
//! the role, a byte order mark is read, and a file over the document limit
//! is an error read no further than the limit. `paths`, `scan` and
//! `drift` read cloud files alike.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

fn aws_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corral-paths/tests/data/aws")
}

/// The AWS scenario's account details with `edit` applied to the role
/// `shop-admin`, written to `dir`; with the scenario's describe-cluster.
fn cloud_with(dir: &Path, edit: impl Fn(&mut Value)) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(aws_data().join("authorization-details.json")).unwrap();
    let mut details: Value = serde_json::from_str(&text).unwrap();
    let role = details["RoleDetailList"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|r| r["RoleName"] == "shop-admin")
        .unwrap();
    edit(role);
    let iam = dir.join("authorization-details.json");
    std::fs::write(&iam, serde_json::to_string_pretty(&details).unwrap()).unwrap();
    vec![iam, aws_data().join("describe-cluster.json")]
}

fn corral(args: &[&str], cloud: &[PathBuf]) -> (Option<i32>, String, String) {
    let output = Command::cargo_bin("corral")
        .unwrap()
        .args(args)
        .arg("--cloud")
        .args(cloud)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn paths_to_cloud_admin(cloud: &[PathBuf]) -> (Option<i32>, String) {
    let cluster = aws_data().join("cluster.yaml");
    let (code, out, _) = corral(
        &["paths", cluster.to_str().unwrap(), "--to", "cloud-admin"],
        cloud,
    );
    (code, out)
}

const SUB: &str = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub";

/// Conditions that used to read as "never holds" and hid both paths to
/// the administrator role: now the paths are there, worded "may allow
/// it" with the reason; a condition decided against still hides them.
#[test]
fn an_undecidable_trust_condition_shows_the_path_as_possible() {
    let dir = tempfile::tempdir().unwrap();
    let (code, certain) = paths_to_cloud_admin(&cloud_with(dir.path(), |_| {}));
    assert_eq!(code, Some(1));
    assert!(certain.contains("2 path(s)"), "{certain}");
    assert!(!certain.contains("may allow it"), "{certain}");
    for (condition, reason) in [
        (
            json!({"ForAnyValue:StringLike": {SUB: "system:serviceaccount:shop:*"},
                   "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
            "aws:SourceIp",
        ),
        (
            json!({"Null": {SUB: "false"}, "StringLike": {SUB: "system:serviceaccount:shop:*"},
                   "StringEqualsWhatever": {SUB: "x"}}),
            "StringEqualsWhatever",
        ),
        (
            json!({"StringLikeIfExists": {SUB: "system:serviceaccount:shop:*"},
                   "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
            "aws:CurrentTime",
        ),
    ] {
        let cloud = cloud_with(dir.path(), |role| {
            role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] = condition.clone();
        });
        let (code, text) = paths_to_cloud_admin(&cloud);
        assert_eq!(code, Some(1), "{condition}: {text}");
        assert!(text.contains("2 path(s)"), "{condition}: {text}");
        assert!(
            text.contains("role/shop-admin may allow it"),
            "{condition}: {text}"
        );
        assert!(text.contains(reason), "{condition}: {text}");
    }
    let cloud = cloud_with(dir.path(), |role| {
        role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] = json!({
            "ForAnyValue:StringLike": {SUB: "system:serviceaccount:other:*"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}});
    });
    let (code, text) = paths_to_cloud_admin(&cloud);
    assert_eq!(code, Some(0), "{text}");
}

/// A URL-encoded document that does not decode stops `paths`, `scan` and
/// `drift` with an error naming the file and the role (exit 2).
#[test]
fn a_policy_document_that_does_not_decode_is_an_error_naming_the_role() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = aws_data().join("cluster.yaml");
    let cluster = cluster.to_str().unwrap();
    for (document, what) in [
        (
            "%7B%22Statement%22%3A%5B%5D%7",
            "bad percent-encoding at byte 27",
        ),
        ("%7B%22a%22%3A%22%C3%28%22%7D", "not UTF-8"),
        ("%7B%22Statement%22%3A", "not JSON"),
    ] {
        let cloud = cloud_with(dir.path(), |role| {
            role["AssumeRolePolicyDocument"] = json!(document);
        });
        for command in [
            vec!["paths", cluster],
            vec!["scan", cluster],
            vec!["drift", cluster],
        ] {
            let (code, _, stderr) = corral(&command, &cloud);
            assert_eq!(code, Some(2), "{command:?} {document}: {stderr}");
            assert!(
                stderr.contains(
                    "authorization-details.json: role shop-admin: AssumeRolePolicyDocument: "
                ),
                "{command:?}: {stderr}"
            );
            assert!(stderr.contains(what), "{command:?}: {stderr}");
        }
    }
}

/// A byte order mark before the JSON is read: the same paths as without.
#[test]
fn a_cloud_file_with_a_byte_order_mark_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut cloud = Vec::new();
    for name in ["authorization-details.json", "describe-cluster.json"] {
        let text = std::fs::read_to_string(aws_data().join(name)).unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, format!("\u{feff}{text}")).unwrap();
        cloud.push(path);
    }
    let (code, text) = paths_to_cloud_admin(&cloud);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("2 path(s)"), "{text}");
}

/// A file over the document limit (64 MiB by default, as for manifests)
/// is an error naming it, for every command that reads cloud files. The
/// file is sparse: reading it whole would take its full size in memory.
#[test]
fn a_cloud_file_over_the_limit_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("huge.json");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(4 << 30).unwrap();
    let cluster = aws_data().join("cluster.yaml");
    let cluster = cluster.to_str().unwrap();
    for command in [
        vec!["paths", cluster],
        vec!["scan", cluster],
        vec!["drift", cluster],
    ] {
        let (code, _, stderr) = corral(&command, std::slice::from_ref(&big));
        assert_eq!(code, Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains("huge.json: larger than 67108864 bytes (--max-document-size)"),
            "{command:?}: {stderr}"
        );
    }
}
