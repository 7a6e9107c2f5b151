//! The Recording CRD: `deploy/crds/recording.yaml` is what the code
//! generates, and its schema, checked with a JSON-schema validator,
//! accepts the recordings `corral record` writes (those of
//! `examples/advise-demo`, recorded from real containers) and refuses a
//! malformed one.

use std::path::Path;

use corral_operator::{RecordingResource, RecordingSpec};
use kube::CustomResourceExt;
use serde_json::Value;

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn the_committed_crd_is_the_generated_one() {
    let committed =
        std::fs::read_to_string(workspace().join("deploy/crds/recording.yaml")).unwrap();
    assert_eq!(
        committed,
        corral_operator::crd::crd_yaml(),
        "deploy/crds/recording.yaml is stale: run `corral operator crd -o deploy/crds/recording.yaml`"
    );
}

/// OpenAPI's `nullable: true` as JSON Schema says it, as the API server
/// reads it: null is allowed besides the type.
fn json_schema(mut schema: Value) -> Value {
    fn visit(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.remove("nullable") == Some(Value::Bool(true)) {
                    if let Some(Value::String(kind)) = map.get("type").cloned() {
                        map.insert("type".into(), serde_json::json!([kind, "null"]));
                    }
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

#[test]
fn the_schema_accepts_real_recordings_and_refuses_a_malformed_one() {
    let crd = serde_json::to_value(RecordingResource::crd()).unwrap();
    let schema = json_schema(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone());
    let validator = jsonschema::validator_for(&schema).unwrap();
    let dir = workspace().join("examples/advise-demo/recordings");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let recording: corral_record::Recording =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut resource = RecordingResource::new(
            "demo",
            RecordingSpec::new("demo", "app", "node-1", recording),
        );
        resource.metadata.namespace = Some("shop".into());
        let value = serde_json::to_value(&resource).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;

        let mut malformed = value.clone();
        malformed["spec"]["recording"]["workload"]["syscalls"][0]["number"] = "read".into();
        assert!(
            !validator.is_valid(&malformed),
            "a syscall number as a string"
        );
        let mut missing = value;
        missing["spec"]["recording"]
            .as_object_mut()
            .unwrap()
            .remove("runs");
        assert!(!validator.is_valid(&missing), "no runs");
    }
    assert_eq!(checked, 3);
}
