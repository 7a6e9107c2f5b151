//! The emitted policies checked against their projects' own CRD schemas,
//! committed in `data/crds/` with their source and licence (`SOURCE`), as
//! the API server checks them with kubectl's default strict field
//! validation: a field the schema does not declare is an error, unless the
//! schema keeps unknown fields (`x-kubernetes-preserve-unknown-fields`).

use std::sync::OnceLock;

use corral_core::node::{Node, ScalarKind, Value as YamlValue};
use serde_json::{Map, Value};

use super::names::Format;

/// Calico's `networkpolicies.projectcalico.org` (v3, with `domains`).
pub const CALICO_CRD: &str =
    include_str!("../../data/crds/calico-networkpolicies.projectcalico.org.yaml");

/// Cilium's `ciliumnetworkpolicies.cilium.io` (v2).
pub const CILIUM_CRD: &str =
    include_str!("../../data/crds/cilium-ciliumnetworkpolicies.cilium.io.yaml");

fn json(node: &Node) -> Value {
    match &node.value {
        YamlValue::Scalar(s) => match s.kind {
            ScalarKind::Null => Value::Null,
            ScalarKind::Bool(b) => Value::Bool(b),
            ScalarKind::Int | ScalarKind::Float => match s.as_i64() {
                Some(i) => Value::from(i),
                None => s
                    .as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(s.text.to_string())),
            },
            ScalarKind::Str => Value::String(s.text.to_string()),
        },
        YamlValue::Seq(items) => Value::Array(items.iter().map(json).collect()),
        YamlValue::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|e| (e.key.to_string(), json(&e.value)))
                .collect::<Map<String, Value>>(),
        ),
    }
}

/// An OpenAPI v3 schema of a CRD as JSON Schema, as the API server reads
/// it: `nullable` allows null; an object with declared properties refuses
/// others (strict field validation) unless it keeps unknown fields.
pub fn json_schema(mut schema: Value) -> Value {
    fn visit(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.remove("nullable") == Some(Value::Bool(true)) {
                    if let Some(Value::String(kind)) = map.get("type").cloned() {
                        map.insert("type".into(), serde_json::json!([kind, "null"]));
                    }
                }
                let keeps =
                    map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
                if map.get("type") == Some(&Value::String("object".into()))
                    && map.contains_key("properties")
                    && !map.contains_key("additionalProperties")
                    && !keeps
                {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(visit);
            }
            Value::Array(items) => items.iter_mut().for_each(visit),
            _ => {}
        }
    }
    visit(&mut schema);
    schema
}

/// The served version's schema of a CRD's text.
pub fn crd_schema(name: &str, text: &str, version: &str) -> Result<Value, String> {
    let root = corral_core::load::parse_config(name, text, &corral_core::Limits::default())?
        .ok_or_else(|| format!("{name}: empty"))?;
    let crd = json(&root);
    let versions = crd["spec"]["versions"]
        .as_array()
        .ok_or_else(|| format!("{name}: no spec.versions"))?;
    let served = versions
        .iter()
        .find(|v| v["name"] == version)
        .ok_or_else(|| format!("{name}: no version {version}"))?;
    let schema = served["schema"]["openAPIV3Schema"].clone();
    if !schema.is_object() {
        return Err(format!("{name}: version {version} has no openAPIV3Schema"));
    }
    Ok(json_schema(schema))
}

type Compiled = Result<jsonschema::Validator, String>;

fn compile(name: &str, text: &str, version: &str) -> Compiled {
    let schema = crd_schema(name, text, version)?;
    jsonschema::validator_for(&schema).map_err(|e| format!("{name}: its schema: {e}"))
}

fn validator(format: Format) -> Result<&'static jsonschema::Validator, String> {
    static CALICO: OnceLock<Compiled> = OnceLock::new();
    static CILIUM: OnceLock<Compiled> = OnceLock::new();
    match format {
        Format::Calico => CALICO.get_or_init(|| {
            compile(
                "calico-networkpolicies.projectcalico.org.yaml",
                CALICO_CRD,
                "v3",
            )
        }),
        Format::Cilium => CILIUM.get_or_init(|| {
            compile(
                "cilium-ciliumnetworkpolicies.cilium.io.yaml",
                CILIUM_CRD,
                "v2",
            )
        }),
    }
    .as_ref()
    .map_err(Clone::clone)
}

/// The schema errors of `object` in `format`, each with the field's JSON
/// pointer.
pub fn validate(format: Format, object: &Value) -> Result<Vec<String>, String> {
    Ok(validator(format)?
        .iter_errors(object)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect())
}
