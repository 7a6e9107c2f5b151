//! The recorder's side: each container's recording becomes (or is merged
//! into) the `Recording` of its workload container on this node, in the
//! namespaces labelled `corral.dev/record: "true"`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;

use crate::crd::{RecordingResource, RecordingSpec};
use crate::{
    label_value, object_name, CONTAINER_LABEL, MANAGER, NODE_LABEL, RECORD_LABEL, WORKLOAD_LABEL,
};

/// What publishing did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Published {
    /// `namespace/name` of each Recording written.
    pub written: Vec<String>,
    /// Recordings of namespaces not labelled for recording.
    pub skipped: usize,
    /// Recordings of no Kubernetes container (no namespace, pod or name).
    pub unnamed: usize,
}

/// The Recording resource for one container's recording on `node`, with
/// the existing one's runs merged in.
pub fn resource(
    recording: corral_record::Recording,
    node: &str,
    existing: Option<&RecordingResource>,
) -> Result<Option<RecordingResource>, String> {
    let Some(container) = recording.container.clone() else {
        return Ok(None);
    };
    let (Some(namespace), Some(pod), Some(name)) =
        (container.namespace, container.pod, container.name)
    else {
        return Ok(None);
    };
    let workload = corral_advise::workload::owner_from_pod(&pod);
    let merged = match existing {
        Some(old) => corral_record::Recording::merge(vec![old.spec.recording.clone(), recording])
            .map_err(|e| format!("{namespace}/{workload} container {name}: {e}"))?,
        None => recording,
    };
    let mut resource = RecordingResource::new(
        &object_name(&[&workload, &name, node]),
        RecordingSpec::new(&workload, &name, node, merged),
    );
    resource.metadata.namespace = Some(namespace);
    resource.metadata.labels = Some(BTreeMap::from([
        (WORKLOAD_LABEL.to_string(), label_value(&workload)),
        (CONTAINER_LABEL.to_string(), label_value(&name)),
        (NODE_LABEL.to_string(), label_value(node)),
    ]));
    Ok(Some(resource))
}

/// Publish recordings made on `node`: each, in a namespace labelled
/// `corral.dev/record: "true"`, merged into its Recording resource
/// (server-side apply).
pub async fn publish(
    client: &Client,
    recordings: Vec<corral_record::Recording>,
    node: &str,
) -> Result<Published, String> {
    let mut published = Published::default();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut recorded: BTreeMap<String, bool> = BTreeMap::new();
    for recording in recordings {
        let Some(namespace) = recording
            .container
            .as_ref()
            .and_then(|c| c.namespace.clone())
        else {
            published.unnamed += 1;
            continue;
        };
        if !recorded.contains_key(&namespace) {
            let on = namespaces
                .get_opt(&namespace)
                .await
                .map_err(|e| format!("reading namespace {namespace}: {e}"))?
                .and_then(|n| n.metadata.labels)
                .is_some_and(|labels| labels.get(RECORD_LABEL).is_some_and(|v| v == "true"));
            recorded.insert(namespace.clone(), on);
        }
        if !recorded[&namespace] {
            published.skipped += 1;
            continue;
        }
        let api: Api<RecordingResource> = Api::namespaced(client.clone(), &namespace);
        let probe = resource(recording.clone(), node, None)?;
        let Some(probe) = probe else {
            published.unnamed += 1;
            continue;
        };
        let name = probe.metadata.name.clone().unwrap_or_default();
        let existing = api
            .get_opt(&name)
            .await
            .map_err(|e| format!("reading Recording {namespace}/{name}: {e}"))?;
        let Some(resource) = resource(recording, node, existing.as_ref())? else {
            continue;
        };
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&resource),
        )
        .await
        .map_err(|e| format!("writing Recording {namespace}/{name}: {e}"))?;
        published.written.push(format!("{namespace}/{name}"));
    }
    Ok(published)
}
