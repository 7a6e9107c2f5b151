//! The `Recording` custom resource: one workload container's recording on
//! one node (or, labelled merged, over all its replicas and nodes). Its
//! schema is derived from the recording's own types, so the CRD validates
//! exactly what `corral record` writes.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "corral.dev",
    version = "v1alpha1",
    kind = "Recording",
    root = "RecordingResource",
    plural = "recordings",
    shortname = "rec",
    namespaced,
    status = "RecordingStatus",
    printcolumn = r#"{"name": "Workload", "type": "string", "jsonPath": ".spec.workload"}"#,
    printcolumn = r#"{"name": "Container", "type": "string", "jsonPath": ".spec.container"}"#,
    printcolumn = r#"{"name": "Node", "type": "string", "jsonPath": ".spec.node"}"#,
    printcolumn = r#"{"name": "Runs", "type": "integer", "jsonPath": ".spec.runs"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RecordingSpec {
    /// The workload (a Deployment's, DaemonSet's... name) whose pods ran
    /// the container.
    pub workload: String,
    pub container: String,
    /// The node it was recorded on, or `merged` for all of them.
    pub node: String,
    /// How many runs (container lifetimes) the recording holds, those
    /// summarised in `earlierRuns` included.
    pub runs: u32,
    /// What `corral record` recorded (its JSON format, version 1).
    pub recording: corral_record::Recording,
    /// On the merged Recording: what Corral advises from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<Advice>,
}

/// What `corral operator` advises from a merged recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Advice {
    /// The strategic-merge patch of the workload's securityContext, YAML.
    pub security_context_patch: String,
    /// The advice as `corral advise securitycontext --format json` gives
    /// it, JSON.
    pub advice: String,
}

/// A merged Recording's status, written by `corral operator`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordingStatus {
    /// Runs merged.
    #[serde(default)]
    pub runs: u32,
    /// Nodes' Recordings merged.
    #[serde(default)]
    pub sources: u32,
    /// The pods the runs were recorded in (at most 100).
    #[serde(default)]
    pub pods: Vec<String>,
    /// The SeccompProfile (Security Profiles Operator) written for it, in
    /// the same namespace; empty when none could be (no SPO installed).
    #[serde(default)]
    pub seccomp_profile: String,
    /// `Merged`, `Advised` and `SeccompProfileWritten`, each `True` or
    /// `False` with its reason and message.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// A status condition, as Kubernetes writes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub kind: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: String,
}

impl RecordingSpec {
    pub fn new(
        workload: &str,
        container: &str,
        node: &str,
        recording: corral_record::Recording,
    ) -> Self {
        RecordingSpec {
            workload: workload.into(),
            container: container.into(),
            node: node.into(),
            runs: u32::try_from(recording.run_count()).unwrap_or(u32::MAX),
            recording,
            advice: None,
        }
    }
}

impl RecordingResource {
    /// The Recording of `spec`'s workload container on its node (or
    /// merged), in `namespace`: named `WORKLOAD-CONTAINER-NODE`, labelled
    /// with its workload, container and `label` (its node, or merged).
    pub fn labelled(namespace: &str, spec: RecordingSpec, label: (&str, &str)) -> Self {
        let name = crate::object_name(&[&spec.workload, &spec.container, &spec.node]);
        let labels = BTreeMap::from([
            (
                crate::WORKLOAD_LABEL.to_string(),
                crate::label_value(&spec.workload),
            ),
            (
                crate::CONTAINER_LABEL.to_string(),
                crate::label_value(&spec.container),
            ),
            (label.0.to_string(), crate::label_value(label.1)),
        ]);
        // Labels are cut at 63 characters; the names in full.
        let annotations = BTreeMap::from([
            (
                crate::reconcile::WORKLOAD_ANNOTATION.to_string(),
                spec.workload.clone(),
            ),
            (
                crate::reconcile::CONTAINER_ANNOTATION.to_string(),
                spec.container.clone(),
            ),
        ]);
        let mut resource = RecordingResource::new(&name, spec);
        resource.metadata.namespace = Some(namespace.to_string());
        resource.metadata.labels = Some(labels);
        resource.metadata.annotations = Some(annotations);
        resource
    }
}

/// The CRD as YAML, as `deploy/crds/recording.yaml` holds it.
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    let value = serde_json::to_value(RecordingResource::crd()).unwrap_or_default();
    format!(
        "# Generated by `corral operator crd`; do not edit.\n{}",
        yaml(&value)
    )
}

/// YAML of a JSON value, key order kept.
fn yaml(value: &serde_json::Value) -> String {
    corral_core::emit::document(&corral_core::emit::from_json(value))
}
