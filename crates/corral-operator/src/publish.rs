//! The recorder's side: each container's recording becomes (or is merged
//! into) the `Recording` of its workload container on this node, in the
//! namespaces labelled `corral.dev/record: "true"`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams};
use kube::Client;

use crate::crd::{RecordingResource, RecordingSpec};
use crate::{object_name, MANAGER, NODE_LABEL, RECORD_LABEL};

/// What publishing did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Published {
    /// `namespace/name` of each Recording written.
    pub written: Vec<String>,
    /// Recordings of namespaces not labelled for recording.
    pub skipped: usize,
    /// Recordings of no Kubernetes container (no namespace, pod or name).
    pub unnamed: usize,
    /// `namespace/name: why` of each Recording found unreadable (not a
    /// recording Corral reads: tampered with, or of another format
    /// version): not merged with, but replaced by this node's recording.
    pub replaced: Vec<String>,
    /// `namespace/name: why` of each recording not published because its
    /// Recording's name is another workload container's (names join
    /// workload, container and node with `-`: `web` `api-server` and
    /// `web-api` `server` meet); never merged into it.
    pub collided: Vec<String>,
}

/// A recording's Kubernetes container: (namespace, workload, container);
/// `None` for a container no pod names.
fn identity(recording: &corral_record::Recording) -> Option<(String, String, String)> {
    let container = recording.container.as_ref()?;
    let (namespace, pod, name) = (
        container.namespace.clone()?,
        container.pod.as_deref()?,
        container.name.clone()?,
    );
    Some((
        namespace,
        corral_advise::workload::owner_from_pod(pod),
        name,
    ))
}

/// Publish recordings made on `node`: each, in a namespace labelled
/// `corral.dev/record: "true"`, merged into its Recording resource
/// (server-side apply), bounded as [`corral_record::Bounds::default`]
/// says.
pub async fn publish(
    client: &Client,
    recordings: Vec<corral_record::Recording>,
    node: &str,
) -> Result<Published, String> {
    publish_bounded(client, recordings, node, corral_record::Bounds::default()).await
}

/// [`publish`], each Recording bounded by `bounds`
/// ([`corral_record::Recording::merge_bounded`]): the node's runs past
/// `bounds.max_runs` summarised, the whole under `bounds.max_bytes`.
pub async fn publish_bounded(
    client: &Client,
    recordings: Vec<corral_record::Recording>,
    node: &str,
    bounds: corral_record::Bounds,
) -> Result<Published, String> {
    let mut published = Published::default();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut recorded: BTreeMap<String, bool> = BTreeMap::new();
    for recording in recordings {
        let Some((namespace, workload, container)) = identity(&recording) else {
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
        // The node's earlier windows, merged in.
        let api: Api<RecordingResource> = Api::namespaced(client.clone(), &namespace);
        let name = object_name(&[&workload, &container, node]);
        let existing = match api.get_opt(&name).await {
            Ok(existing) => existing,
            // This node's Recording is written by this node's recorder
            // alone: one that does not read is never merged with (nor
            // does it stop the other namespaces' publishing); this
            // recording replaces it, and that is said.
            Err(kube::Error::SerdeError(e)) => {
                published.replaced.push(format!("{namespace}/{name}: {e}"));
                None
            }
            Err(e) => return Err(format!("reading Recording {namespace}/{name}: {e}")),
        };
        if let Some(old) = existing
            .as_ref()
            .filter(|old| old.spec.workload != workload || old.spec.container != container)
        {
            published.collided.push(format!(
                "{namespace}/{name}: holds workload {} container {}, not workload {workload} container {container}",
                old.spec.workload, old.spec.container
            ));
            continue;
        }
        // Bounded: a long-lived node's runs are summarised past the newest,
        // and the Recording stays under its size limit (evidence cut is
        // said, and refuses the advice it was for).
        let together = match existing {
            Some(old) => vec![old.spec.recording, recording],
            None => vec![recording],
        };
        let merged = corral_record::Recording::merge_bounded(together, &bounds)
            .map_err(|e| format!("{namespace}/{workload} container {container}: {e}"))?;
        let spec = RecordingSpec::new(&workload, &container, node, merged);
        let resource = RecordingResource::labelled(&namespace, spec, (NODE_LABEL, node));
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
