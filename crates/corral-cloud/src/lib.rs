//! The clouds' identity data, read from the files their own CLIs write
//! (what each file is is told from its shape), and one trust evaluator per
//! cloud: which AWS role trust policy, GCP IAM binding or Azure federated
//! credential lets whom in. Both the attack-path graph (`corral-paths`)
//! and the drift rules (`corral-scan`) ask this one model.

pub mod aws;
pub mod azure;
pub mod condition;
pub mod gcp;
pub mod wildcard;

use std::collections::HashMap;
use std::path::Path;

use corral_core::{Node, Pos};
use serde_json::Value;

/// Everything the cloud files say.
#[derive(Clone, Debug, Default)]
pub struct Cloud {
    pub aws: aws::Aws,
    pub gcp: gcp::Gcp,
    pub azure: azure::Azure,
    /// Each file's JSON as a positioned tree, by file name: every record
    /// keeps its path in its file, and its place is looked up here, never
    /// searched for in the text.
    trees: HashMap<String, Node>,
}

/// An AWS IAM role, GCP service account or principal, or Azure managed
/// identity; `admin` when its policies amount to administrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudIdentity {
    pub provider: &'static str,
    pub name: String,
    pub admin: bool,
}

impl CloudIdentity {
    pub fn new(provider: &'static str, name: &str, admin: bool) -> CloudIdentity {
        CloudIdentity {
            provider,
            name: name.to_string(),
            admin,
        }
    }
}

/// A cloud identity that administers the cluster's Kubernetes API, with
/// the grant that makes it so: its role, file and path in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterAdmin {
    pub identity: CloudIdentity,
    pub role: String,
    pub file: String,
    pub path: String,
}

/// IAM's wildcard match: `*` any run of characters, `?` exactly one,
/// everything else itself. Every wildcard match in Corral's cloud code
/// (actions, ARNs, `StringLike` and `ArnLike` values) goes through here:
/// each character of the text is read once per `*`-free segment, with no
/// backtracking ([`wildcard`]).
pub fn like(pattern: &str, text: &str) -> bool {
    wildcard::matches(pattern, text, false)
}

/// [`like`], ignoring case.
pub fn like_ignore_case(pattern: &str, text: &str) -> bool {
    wildcard::matches(pattern, text, true)
}

/// A field that is a string or a list of strings, as a list.
pub fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

impl Cloud {
    /// Read the cloud files at `paths`, each at most `limit` bytes (see
    /// [`corral_core::read_bounded_text`], as every single-file input is
    /// read), and load them.
    pub fn read(paths: &[impl AsRef<Path>], limit: usize) -> Result<Cloud, String> {
        let files = paths
            .iter()
            .map(|p| {
                Ok((
                    p.as_ref().display().to_string(),
                    corral_core::read_bounded_text(p.as_ref(), limit)?,
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Cloud::load(&files)
    }

    /// Where the value at `path` (`RoleDetailList[3].RoleName`, as the
    /// records keep it) is in the cloud file `file`: its key, or the item
    /// for an index; the nearest enclosing value when the path goes into
    /// what is not a tree (a URL-encoded policy document is one string).
    pub fn pos(&self, file: &str, path: &str) -> Pos {
        self.trees
            .get(file)
            .map(|tree| tree.pos_nearest(path))
            .unwrap_or(Pos { line: 1, col: 1 })
    }

    /// Read `(name, text)` files; each must be one the CLIs write. A UTF-8
    /// byte order mark at the start is skipped.
    pub fn load(files: &[(String, String)]) -> Result<Cloud, String> {
        let mut cloud = Cloud::default();
        for (name, text) in files {
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let value: Value = strict_json(text).map_err(|e| {
                let pos =
                    corral_core::lines::from_serde_json(text.as_bytes(), e.line(), e.column());
                format!("{name}:{pos}: not JSON: {e}")
            })?;
            if !(cloud.aws.absorb(name, &value)?
                || cloud.gcp.absorb(name, &value)
                || cloud.azure.absorb(name, &value))
            {
                return Err(format!(
                    "{name}: not a file Corral reads. It reads the JSON of: aws iam get-account-authorization-details, aws eks describe-cluster, aws eks describe-pod-identity-association, aws eks describe-access-entry, aws eks list-associated-access-policies, aws ec2 describe-instances; gcloud container clusters describe, gcloud projects get-iam-policy, gcloud iam service-accounts get-iam-policy; az aks show, az identity federated-credential list, az identity show/list, az role assignment list"
                ));
            }
            // JSON is YAML: the loader every manifest goes through gives
            // each value its line, with the same bounds on depth.
            let tree =
                corral_core::parse_config(name, &placeable(text), &corral_core::Limits::default())?
                    .unwrap_or(Node {
                        pos: Pos { line: 1, col: 1 },
                        value: corral_core::Value::Map(Vec::new()),
                    });
            cloud.trees.insert(name.clone(), tree);
        }
        cloud.aws.settle();
        cloud.gcp.settle();
        Ok(cloud)
    }
}

/// The text the positioned loader reads: each surrogate escape of JSON
/// (`\ud83d\ude00`, which YAML does not take) becomes `\u0020`, of the
/// same length, so every line and column stays. Only places are read
/// from that tree; values are serde's.
fn placeable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("\\u") {
        return text.into();
    }
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let surrogate = |hex: &[u8]| {
        hex.len() == 4
            && hex.iter().all(u8::is_ascii_hexdigit)
            && hex[0].eq_ignore_ascii_case(&b'd')
            && matches!(hex[1].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f')
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        // In JSON a backslash is only ever in a string, escaping the next.
        if bytes.get(i + 1) == Some(&b'u') && surrogate(&bytes[i + 2..bytes.len().min(i + 6)]) {
            out[i + 2..i + 6].copy_from_slice(b"0020");
            i += 6;
        } else {
            i += 2;
        }
    }
    String::from_utf8(out)
        .expect("ASCII replaced by ASCII")
        .into()
}

/// JSON as the clouds' CLIs write it, where no object holds a key twice.
/// Such a file is refused: which of the values counts is up to each reader
/// (serde keeps the last, another parser the first), and a trust policy
/// read with the other one could show no path where there is one.
pub fn strict_json(text: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str::<UniqueKeys>(text)?;
    serde_json::from_str(text)
}

/// A JSON value whose objects have no duplicate keys (checked, not kept).
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut keys = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key.clone()) {
                return Err(serde::de::Error::custom(format!(
                    "the key {key:?} twice in one object (which one counts is a guess)"
                )));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_in_an_object_is_refused() {
        assert!(strict_json(r#"{"a": [{"b": 1, "c": {"b": 2}}], "b": 3}"#).is_ok());
        let e = strict_json(r#"{"Condition": {"StringEquals": {"x": 1}, "StringEquals": {}}}"#)
            .unwrap_err();
        assert!(
            e.to_string().contains("the key \"StringEquals\" twice"),
            "{e}"
        );
        assert!(strict_json(&format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000))).is_err());
    }

    #[test]
    fn wildcards_match_without_blowing_up() {
        assert!(like("sts:AssumeRole*", "sts:AssumeRoleWithWebIdentity"));
        assert!(like("a?c", "abc") && !like("a?c", "ac"));
        assert!(like("*", "") && like("", "") && !like("", "x"));
        assert!(like_ignore_case("STS:*", "sts:x"));
        // A megabyte of `*` (recursion overflowed the stack on it).
        let stars = "*".repeat(1 << 20);
        assert!(like(&stars, "anything"));
        assert!(like(&format!("{stars}z"), "xyz"));
        // `sts:` and 16 `*` and `z` against a long string without `z`
        // (exponential with backtracking).
        let pattern = format!("sts:{}z", "*a".repeat(16));
        let text = format!("sts:{}", "a".repeat(100_000));
        let started = std::time::Instant::now();
        assert!(!like(&pattern, &text));
        assert!(!like(&format!("sts:{}z", "*".repeat(16)), &text));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // A star before a long segment that almost matches everywhere:
        // retried from each position of a 100,000-character text, and
        // each `?` one character exactly.
        let started = std::time::Instant::now();
        let segment = format!("{}b", "?".repeat(2_000));
        let text = "a".repeat(100_000);
        assert!(!like(&format!("*{segment}"), &text));
        assert!(like(&format!("*{segment}"), &format!("{text}b")));
        assert!(!like(
            &format!("*{segment}"),
            &format!("{}b", "a".repeat(1_999))
        ));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    /// JSON is read twice, by serde (values) and by the positioned
    /// loader (lines): whatever JSON serde takes, the loader must place.
    #[test]
    fn every_json_form_is_placed() {
        for text in [
            "{\"etag\":\"a\",\t\"bindings\":[]}",
            "{\r\n\"etag\" : \"a\\/b\\u00e9\\ud83d\\ude00\\u0000\",\n\"version\":1e10}",
            "{\"etag\":\"x\",\"bindings\":[{\"role\":\"r\",\"members\":[],\"condition\":null}]}",
            "  {\"etag\": \"#not a comment\", \"bindings\": [{\"role\": \"- x: y\", \"members\": [\"&a *b !c\"]}]}",
            "[]",
            "{\"etag\": \"\\\\ud83d \\ud83d\\udE00\"}",
        ] {
            let cloud = Cloud::load(&[("x.json".into(), text.into())]);
            assert!(cloud.is_ok(), "{text}: {:?}", cloud.err());
        }
        let long = format!(
            "{{\"etag\": \"x\", \"auditConfigs\": {{\"{}\": 1}}}}",
            "k".repeat(5000)
        );
        assert!(Cloud::load(&[("x.json".into(), long)]).is_ok());
        let deep = format!(
            "{{\"etag\": \"x\", \"auditConfigs\": {}1{}}}",
            "[".repeat(120),
            "]".repeat(120)
        );
        assert!(Cloud::load(&[("x.json".into(), deep)]).is_ok());
    }

    #[test]
    fn files_are_read_bounded_and_a_bom_is_skipped() {
        let dir = std::env::temp_dir().join(format!("corral-cloud-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bom = dir.join("bom.json");
        std::fs::write(
            &bom,
            "\u{feff}{\"cluster\": {\"identity\": {\"oidc\": {\"issuer\": \"https://oidc.example/id/A\"}}}}",
        )
        .unwrap();
        let cloud = Cloud::read(&[&bom], 1 << 20).unwrap();
        assert_eq!(cloud.aws.issuers, ["oidc.example/id/A"]);
        assert_eq!(
            cloud.pos(&bom.display().to_string(), "cluster.identity.oidc.issuer"),
            Pos { line: 1, col: 36 }
        );
        let e = Cloud::read(&[&bom], 20).unwrap_err();
        assert!(
            e.contains("bom.json: larger than 20 bytes (--max-document-size)"),
            "{e}"
        );
        let latin = dir.join("latin1.json");
        std::fs::write(&latin, b"{\"a\": \"\xe9\"}").unwrap();
        let e = corral_core::read_bounded_text(&latin, 1 << 20).unwrap_err();
        assert!(e.contains("latin1.json:1:8: invalid UTF-8"), "{e}");
        let e = corral_core::read_bounded_text(&dir.join("missing.json"), 1 << 20).unwrap_err();
        assert!(e.contains("missing.json: cannot read"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
