//! `corral operator`: a kube-rs controller over Recording resources. For a
//! workload container's recordings it writes, by server-side apply (or
//! into a directory, with `output`):
//! - the merged Recording (`WORKLOAD-CONTAINER-merged`, labelled
//!   `corral.dev/merged: "true"`), over every replica and node;
//!   with the advice in it (`spec.advice`: the securityContext patch and
//!   the advice as JSON);
//! - the advised seccomp profile, as a Security Profiles Operator
//!   `SeccompProfile`;
//! - the namespace's NetworkPolicies, advised from every merged recording
//!   of the namespace and the live pods, Services and namespaces.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use corral_advise::workload::{Named, Naming, Recorded, WorkloadKey};
use corral_core::safe::file_name;
use futures::StreamExt;
use kube::api::{
    Api, ApiResource, DynamicObject, ListParams, PartialObjectMeta, Patch, PatchParams,
};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::crd::{Advice, RecordingResource, RecordingSpec};
use crate::{label_value, CONTAINER_LABEL, MANAGER, MERGED_LABEL, WORKLOAD_LABEL};

/// What the controller works with.
pub struct Context {
    pub client: Client,
    /// Write the advised resources as files here instead of applying them.
    pub output: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn failed(what: &str) -> impl Fn(kube::Error) -> Error + '_ {
    move |e| Error(format!("{what}: {e}"))
}

/// The Security Profiles Operator's SeccompProfile.
fn seccomp_profiles() -> ApiResource {
    ApiResource {
        group: "security-profiles-operator.x-k8s.io".into(),
        version: "v1beta1".into(),
        api_version: "security-profiles-operator.x-k8s.io/v1beta1".into(),
        kind: "SeccompProfile".into(),
        plural: "seccompprofiles".into(),
    }
}

fn network_policies() -> ApiResource {
    ApiResource {
        group: "networking.k8s.io".into(),
        version: "v1".into(),
        api_version: "networking.k8s.io/v1".into(),
        kind: "NetworkPolicy".into(),
        plural: "networkpolicies".into(),
    }
}

/// Apply `object` (a manifest with apiVersion, kind and metadata), or
/// write it as `<kind>-<name>.json` under the output directory.
async fn put(
    context: &Context,
    resource: &ApiResource,
    namespace: &str,
    object: Value,
) -> Result<String, Error> {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(dir) = &context.output {
        let path = dir.join(file_name(namespace).as_ref()).join(format!(
            "{}-{}.json",
            file_name(&resource.kind.to_ascii_lowercase()),
            file_name(&name)
        ));
        std::fs::create_dir_all(path.parent().unwrap_or(dir))
            .and_then(|_| std::fs::write(&path, format!("{:#}\n", object)))
            .map_err(|e| Error(format!("{}: {e}", path.display())))?;
        return Ok(path.display().to_string());
    }
    let api: Api<DynamicObject> = Api::namespaced_with(context.client.clone(), namespace, resource);
    let object: DynamicObject = serde_json::from_value(object)
        .map_err(|e| Error(format!("{} {name}: {e}", resource.kind)))?;
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&object),
    )
    .await
    .map_err(failed(&format!(
        "writing {} {namespace}/{name}",
        resource.kind
    )))?;
    Ok(format!("{} {namespace}/{name}", resource.kind))
}

/// The recordings of one workload container in a namespace, merged:
/// (merged recording, pods), or `None` when there are none.
fn merge(
    recordings: &[RecordingResource],
) -> Result<Option<(corral_record::Recording, Vec<String>)>, Error> {
    let mut pods: Vec<String> = recordings
        .iter()
        .filter_map(|r| r.spec.recording.container.as_ref()?.pod.clone())
        .collect();
    pods.sort();
    pods.dedup();
    let all: Vec<corral_record::Recording> = recordings
        .iter()
        .map(|r| r.spec.recording.clone())
        .collect();
    if all.is_empty() {
        return Ok(None);
    }
    corral_record::Recording::merge(all)
        .map(|merged| Some((merged, pods)))
        .map_err(|e| Error(e.to_string()))
}

/// Whether `recording` is a merged one (the operator's own output).
fn is_merged(recording: &RecordingResource) -> bool {
    recording
        .labels()
        .get(MERGED_LABEL)
        .is_some_and(|v| v == "true")
}

/// What one reconcile wrote.
pub type Written = Vec<String>;

/// Reconcile the workload container of `recording`: merge its recordings
/// and write what Corral advises from them.
pub async fn reconcile_one(
    recording: &RecordingResource,
    context: &Context,
) -> Result<Written, Error> {
    if is_merged(recording) {
        return Ok(Vec::new());
    }
    let namespace = recording.namespace().unwrap_or_else(|| "default".into());
    let RecordingSpec {
        workload,
        container,
        ..
    } = &recording.spec;
    let api: Api<RecordingResource> = Api::namespaced(context.client.clone(), &namespace);
    let selector = format!(
        "{WORKLOAD_LABEL}={},{CONTAINER_LABEL}={},!{MERGED_LABEL}",
        label_value(workload),
        label_value(container)
    );
    let mut recordings = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(failed(&format!(
            "listing the Recordings of {namespace}/{workload}"
        )))?
        .items;
    recordings.sort_by_key(|r| r.name_any());
    let Some((merged, pods)) = merge(&recordings)? else {
        return Ok(Vec::new());
    };
    let mut written = Vec::new();

    // Seccomp profile, securityContext and advice.
    let key = WorkloadKey {
        namespace: namespace.clone(),
        workload: workload.clone(),
        container: container.clone(),
    };
    let workloads = BTreeMap::from([(
        key,
        Recorded {
            recording: merged.clone(),
            pods,
            named: Named {
                kind: None,
                name: workload.clone(),
                naming: Naming::Resource,
            },
            files: Vec::new(),
        },
    )]);
    let policies = corral_advise::policies::container_policies(
        &workloads,
        &corral_advise::policies::Settings {
            runtime: "runc",
            seccomp_dir: "corral",
            seccomp: corral_advise::seccomp::Options::default(),
            min_recorded_seconds: corral_advise::policies::DEFAULT_MIN_RECORDED_SECONDS,
        },
    )
    .map_err(Error)?;
    let mut profile_name = String::new();
    for policy in &policies {
        let stem = policy.key.file_stem();
        let profile = corral_advise::seccomp::spo_resource(
            &stem,
            &namespace,
            &policy.profile,
            &policy.coverage,
        );
        let name = profile["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // Without the Security Profiles Operator there is no SeccompProfile
        // to write: the rest is still merged and advised.
        match put(context, &seccomp_profiles(), &namespace, profile).await {
            Ok(done) => {
                written.push(done);
                profile_name = name;
            }
            Err(e) => written.push(format!(
                "no SeccompProfile {namespace}/{name} (is the Security Profiles Operator installed?): {e}"
            )),
        }
    }
    let advice = Advice {
        seccomp_profile: profile_name,
        security_context_patch: corral_advise::policies::patches(&policies, None)
            .into_iter()
            .map(|p| p.text)
            .collect(),
        advice: format!("{:#}\n", corral_advise::policies::advice_json(&policies)),
    };

    // The merged Recording, with its advice.
    let mut spec = RecordingSpec::new(workload, container, "merged", merged);
    spec.advice = Some(advice);
    let resource = RecordingResource::labelled(&namespace, spec, (MERGED_LABEL, "true"));
    let recording_resource = ApiResource::erase::<RecordingResource>(&());
    let value = serde_json::to_value(&resource).map_err(|e| Error(e.to_string()))?;
    written.push(put(context, &recording_resource, &namespace, value).await?);

    // NetworkPolicies, from every merged recording of the namespace.
    // A workload whose pods the cluster does not show yet is said, not
    // fatal.
    match network_policies_of(&api, &namespace, context).await {
        Ok(policies) => written.extend(policies),
        Err(e) => written.push(format!("no NetworkPolicies for {namespace} yet: {e}")),
    }
    Ok(written)
}

/// The namespace's NetworkPolicies, advised from its merged recordings and
/// the live cluster (its pods, Services and namespaces: peers may be in
/// any namespace).
async fn network_policies_of(
    api: &Api<RecordingResource>,
    namespace: &str,
    context: &Context,
) -> Result<Written, Error> {
    let all = api
        .list(&ListParams::default())
        .await
        .map_err(failed(&format!("listing the Recordings of {namespace}")))?;
    // Each workload container's merged recording, and its pods from the
    // nodes' recordings.
    let mut workloads: BTreeMap<WorkloadKey, Recorded> = BTreeMap::new();
    let mut pods: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for resource in all.items {
        let merged = is_merged(&resource);
        let spec = resource.spec;
        let id = (spec.workload.clone(), spec.container.clone());
        if merged {
            let key = WorkloadKey {
                namespace: namespace.to_string(),
                workload: spec.workload,
                container: spec.container,
            };
            let recorded = Recorded {
                recording: spec.recording,
                pods: Vec::new(),
                named: Named {
                    kind: None,
                    name: key.workload.clone(),
                    naming: Naming::Resource,
                },
                files: Vec::new(),
            };
            workloads.insert(key, recorded);
        } else if let Some(pod) = spec.recording.container.and_then(|c| c.pod) {
            pods.entry(id).or_default().push(pod);
        }
    }
    for (key, recorded) in &mut workloads {
        let mut of = pods
            .remove(&(key.workload.clone(), key.container.clone()))
            .unwrap_or_default();
        of.sort();
        of.dedup();
        recorded.pods = of;
    }
    if workloads.is_empty() {
        return Ok(Vec::new());
    }
    let cluster = corral_cluster::Target::default();
    let snapshot = corral_cluster::snapshot(&context.client, &cluster, &|_| {})
        .await
        .map_err(|e| Error(e.to_string()))?;
    let text = snapshot.list().to_string();
    let name: Arc<str> = Arc::from("cluster");
    let limits = corral_core::Limits::default();
    let (objects, _) = corral_core::load_bytes(&name, text.as_bytes(), &limits, &|_| {});
    let templates = corral_core::model::TemplatePaths::default();
    let (model, _) = corral_core::model::Model::build(objects, &templates);
    let inventory = corral_advise::netpol::inventory::Inventory::from_model(&model);
    let options = corral_advise::netpol::advise::Options::default();
    let advised =
        corral_advise::netpol::advise::advise_workloads(&workloads, &model, &inventory, &options)
            .map_err(Error)?;
    let mut written = Vec::new();
    for policy in advised {
        written.push(put(context, &network_policies(), namespace, policy.policy).await?);
    }
    Ok(written)
}

/// Reconcile the Recording `namespace/name`, whose metadata the
/// controller watched: read it whole here, so that one that does not read (tampered with, or of
/// another format version) fails its own reconcile, named, and never the
/// watch of every other Recording.
pub async fn reconcile_named(
    namespace: &str,
    name: &str,
    context: &Context,
) -> Result<Written, Error> {
    let api: Api<RecordingResource> = Api::namespaced(context.client.clone(), namespace);
    let recording = api
        .get_opt(name)
        .await
        .map_err(failed(&format!("reading Recording {namespace}/{name}")))?;
    match recording {
        Some(recording) => reconcile_one(&recording, context).await,
        None => Ok(Vec::new()), // deleted since
    }
}

async fn reconcile(
    meta: Arc<PartialObjectMeta<RecordingResource>>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    let namespace = meta.namespace().unwrap_or_else(|| "default".into());
    let written = reconcile_named(&namespace, &meta.name_any(), &context).await?;
    for what in written {
        eprintln!("wrote {what}");
    }
    Ok(Action::await_change())
}

fn error_policy(
    _: Arc<PartialObjectMeta<RecordingResource>>,
    error: &Error,
    _: Arc<Context>,
) -> Action {
    eprintln!("error: {error}");
    Action::requeue(Duration::from_secs(30))
}

/// Run the controller until the process is stopped.
pub async fn run(context: Context) {
    // Metadata only: a Recording whose spec does not read cannot fail the
    // list every reconcile starts from.
    let recordings: Api<PartialObjectMeta<RecordingResource>> = Api::all(context.client.clone());
    Controller::new(recordings, watcher::Config::default())
        .shutdown_on_signal()
        .run(reconcile, error_policy, Arc::new(context))
        .for_each(|result| {
            // The reconciler's own errors were said by error_policy; the
            // watcher's (a Recording the reader refuses fails its list)
            // must not pass in silence.
            match result {
                Ok(_) | Err(kube::runtime::controller::Error::ReconcilerFailed(..)) => {}
                Err(e) => eprintln!("error: {e}"),
            }
            futures::future::ready(())
        })
        .await;
}
