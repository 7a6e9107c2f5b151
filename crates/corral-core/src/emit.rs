//! Writing YAML for users to apply: patches and manifests, built as saphyr
//! trees (keys in the order given) and emitted as block YAML.

use saphyr::{Mapping, Scalar, Yaml, YamlEmitter};
use serde_json::Value;

pub use saphyr::{Mapping as YamlMapping, Yaml as YamlNode};

/// A string scalar (quoted by the emitter where YAML would read it as
/// something else).
pub fn string(text: &str) -> Yaml<'static> {
    Yaml::Value(Scalar::String(text.to_string().into()))
}

/// A JSON value as YAML, keys in the JSON's order.
pub fn from_json(value: &Value) -> Yaml<'static> {
    match value {
        Value::Null => Yaml::Value(Scalar::Null),
        Value::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(|i| Yaml::Value(Scalar::Integer(i)))
            .unwrap_or_else(|| string(&n.to_string())),
        Value::String(s) => string(s),
        Value::Array(items) => Yaml::Sequence(items.iter().map(from_json).collect()),
        Value::Object(map) => {
            Yaml::Mapping(map.iter().map(|(k, v)| (string(k), from_json(v))).collect())
        }
    }
}

/// The mapping under `key`, created when absent (or not a mapping).
pub fn child<'a>(map: &'a mut Mapping<'static>, key: &str) -> &'a mut Mapping<'static> {
    let entry = map
        .entry(string(key))
        .or_insert_with(|| Yaml::Mapping(Mapping::new()));
    if !matches!(entry, Yaml::Mapping(_)) {
        *entry = Yaml::Mapping(Mapping::new());
    }
    match entry {
        Yaml::Mapping(m) => m,
        _ => unreachable!("replaced by a mapping above"),
    }
}

/// The mapping at a dotted path under `map` (`spec.template.spec`).
pub fn path<'a>(map: &'a mut Mapping<'static>, dotted: &str) -> &'a mut Mapping<'static> {
    dotted
        .split('.')
        .filter(|s| !s.is_empty())
        .fold(map, |map, step| child(map, step))
}

/// One YAML document, without the `---` the emitter starts it with, ending
/// in a newline.
pub fn document(root: &Yaml<'static>) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = YamlEmitter::new(&mut out).dump(root);
    let mut text = out.strip_prefix("---\n").unwrap_or(&out).to_string();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_paths_and_json_values() {
        let mut root = Mapping::new();
        root.insert(string("kind"), string("Deployment"));
        path(&mut root, "spec.template.spec").insert(
            string("containers"),
            from_json(&serde_json::json!([{"name": "web", "securityContext": {"runAsNonRoot": true, "runAsUser": 1000}}])),
        );
        assert_eq!(
            document(&Yaml::Mapping(root)),
            "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          securityContext:\n            runAsNonRoot: true\n            runAsUser: 1000\n"
        );
    }
}
