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

/// Recording resources are read by the recording's own reader (kube
/// deserializes `spec.recording` with it), so they fail closed as files
/// do: the schema cannot tell that number 0 is `read`, but the reader
/// refuses a resource naming it `ptrace`, or of another format version.
#[test]
fn recording_resources_are_checked_as_recording_files_are() {
    let path = workspace().join(
        "examples/advise-demo/recordings/shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json",
    );
    let recording: corral_record::Recording =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut resource = RecordingResource::new(
        "demo",
        RecordingSpec::new("demo", "app", "node-1", recording),
    );
    resource.metadata.namespace = Some("shop".into());
    let value = serde_json::to_value(&resource).unwrap();
    assert_eq!(
        serde_json::from_value::<RecordingResource>(value.clone())
            .unwrap()
            .spec,
        resource.spec
    );

    let syscalls = value["spec"]["recording"]["workload"]["syscalls"]
        .as_array()
        .unwrap();
    let at = syscalls.iter().position(|s| s["number"] == 0).unwrap();
    let mut ptrace = value.clone();
    ptrace["spec"]["recording"]["workload"]["syscalls"][at]["name"] = "ptrace".into();
    let error = serde_json::from_value::<RecordingResource>(ptrace)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!(
            r#"workload.syscalls[{at}]: syscall number 0 is "read" on x86_64, not "ptrace""#
        )),
        "{error}"
    );

    let mut version = value;
    version["spec"]["recording"]["formatVersion"] = 2.into();
    let error = serde_json::from_value::<RecordingResource>(version)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("formatVersion 2 is not supported"),
        "{error}"
    );
}

/// What a bounded Recording holds (runs summarised in `earlierRuns`,
/// evidence cut and said in `truncated`) is what the schema accepts: the
/// API server would refuse the recorder's publishing otherwise.
#[test]
fn the_schema_accepts_bounded_recordings() {
    let crd = serde_json::to_value(RecordingResource::crd()).unwrap();
    let schema = json_schema(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone());
    let validator = jsonschema::validator_for(&schema).unwrap();
    let path = workspace().join(
        "examples/advise-demo/recordings/shop_backend-6d4b9c8f6d-x2x9q_backend_backend-1.json",
    );
    let backend: corral_record::Recording =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let windows: Vec<corral_record::Recording> = (0..100u64)
        .map(|i| {
            let mut window = backend.clone();
            window.runs[0].started += i * 600;
            window.runs[0].ended += i * 600;
            window.runs[0].dropped = [("flows".to_string(), i % 2)].into();
            window
        })
        .collect();
    let size = serde_json::to_vec(&backend).unwrap().len();
    let bounds = corral_record::Bounds {
        max_runs: 8,
        max_bytes: size * 3 / 4,
    };
    let bounded = corral_record::Recording::merge_bounded(windows, &bounds).unwrap();
    assert!(bounded.earlier_runs.is_some() && !bounded.truncated.is_empty());
    let mut resource =
        RecordingResource::new("demo", RecordingSpec::new("demo", "app", "node-1", bounded));
    resource.metadata.namespace = Some("shop".into());
    assert_eq!(resource.spec.runs, 100);
    let value = serde_json::to_value(&resource).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut malformed = value;
    malformed["spec"]["recording"]["earlierRuns"]["runs"] = "many".into();
    assert!(!validator.is_valid(&malformed));
}
