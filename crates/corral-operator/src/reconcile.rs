//! `corral operator`: two kube-runtime controllers over shared stores
//! (`stores`), so that the API server is listed once and then watched.
//!
//! - The **workload container** controller is keyed on the merged
//!   Recording (`WORKLOAD-CONTAINER-merged`, labelled `corral.dev/merged`):
//!   every node's Recording of the container maps to it, so N nodes
//!   publishing give one reconcile, not N. It reads the nodes' Recordings
//!   (by name: a GET each, never a LIST), merges them, and writes the
//!   merged Recording (with the securityContext patch and the advice), the
//!   advised Security Profiles Operator `SeccompProfile` (owned by the
//!   merged Recording) and the Recording's status (conditions) and Events.
//!   Nothing is read or written when the nodes' Recordings are the ones
//!   last merged (their fingerprint is on the merged Recording). The first
//!   Recording of a new container finds no merged Recording to key on: the
//!   controller reports it missing, and it is created then.
//! - The **namespace** controller writes each namespace's NetworkPolicies
//!   from its merged Recordings and the stores (pods, Services,
//!   EndpointSlices, namespaces), debounced, owned by the merged
//!   Recordings they were advised from; it writes a policy only when it
//!   changed, and deletes the ones no longer advised.
//!
//! With `output`, what would be applied is written as files instead.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_advise::workload::{Named, Naming, Recorded, WorkloadKey};
use corral_core::safe::file_name;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::crd::{Advice, RecordingResource, RecordingSpec};
use crate::serve::Health;
use crate::stores::{RecordingMeta, Stores, MANAGED_BY};
use crate::{object_name, CONTAINER_LABEL, MANAGER, MERGED_LABEL, WORKLOAD_LABEL};

/// The annotation on a merged Recording: which nodes' Recordings, at
/// which resourceVersions, it was merged from (a SHA-256).
pub const SOURCES_ANNOTATION: &str = "corral.dev/sources";
/// The annotations holding a Recording's workload and container names in
/// full (labels are cut at 63 characters).
pub const WORKLOAD_ANNOTATION: &str = "corral.dev/workload";
pub const CONTAINER_ANNOTATION: &str = "corral.dev/container";
/// Most pod names kept in a merged Recording's status.
const MAX_STATUS_PODS: usize = 100;
/// Nodes' Recordings read at once for one workload container.
const READS_AT_ONCE: usize = 8;
/// Nodes' Recordings held at once before they are merged.
const MERGE_BATCH: usize = 32;

/// How the controllers run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Reconciles running at once, per controller.
    pub concurrency: u16,
    /// How long a workload container's triggers are gathered before it is
    /// reconciled (nodes publish their windows at about the same time).
    pub debounce: Duration,
    /// The same for a namespace's NetworkPolicies.
    pub namespace_debounce: Duration,
    /// How often a namespace's NetworkPolicies are advised again without a
    /// change to its Recordings (its peers' pods and Services move).
    pub refresh: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            concurrency: 8,
            debounce: Duration::from_secs(5),
            namespace_debounce: Duration::from_secs(15),
            refresh: Duration::from_secs(600),
        }
    }
}

/// What the controllers work with.
pub struct Context {
    pub client: Client,
    /// Write the advised resources as files here instead of applying them.
    pub output: Option<PathBuf>,
    pub stores: Stores,
    pub settings: Settings,
    /// Synced once every store has its initial list; the metrics.
    pub health: Arc<Health>,
    /// The same, to wait on: no reconcile starts before (a merge from a
    /// store still filling would be a merge of some nodes only).
    synced: tokio::sync::watch::Sender<bool>,
    events: Recorder,
    /// Merged recordings by (namespace, name), with the fingerprint of the
    /// nodes' Recordings they were merged from: the namespace controller
    /// reads them from here (a status write changes the resourceVersion,
    /// not the content).
    merged: Mutex<HashMap<ObjectId, (String, Arc<Merged>)>>,
    /// The nodes' Recordings of each workload container, by name, as the
    /// Recordings' watch saw them (checked against the store when read).
    sources: Mutex<HashMap<ContainerKey, BTreeSet<String>>>,
    /// Workload containers whose merged Recording does not exist yet, by
    /// (namespace, merged name).
    missing: Mutex<HashMap<ObjectId, ContainerKey>>,
    /// Reconciles running or waiting for the initial sync, by controller
    /// (the queue depth the metrics report).
    busy: [AtomicUsize; 2],
    /// Failures in a row, by object, for the backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// The hash of each NetworkPolicy last written, and the
    /// resourceVersion it was written at, by (namespace, name).
    written: Mutex<HashMap<ObjectId, ([u8; 32], String)>>,
}

impl Context {
    /// Whether `namespace` is labelled for recording.
    fn recorded(&self, namespace: &str) -> bool {
        self.stores
            .namespaces
            .get(&ObjectRef::new(namespace))
            .and_then(|n| {
                n.metadata
                    .labels
                    .as_ref()?
                    .get(crate::RECORD_LABEL)
                    .cloned()
            })
            .is_some_and(|v| v == "true")
    }

    /// Wait until the stores have their initial lists and the nodes'
    /// Recordings are indexed.
    async fn synced(&self) {
        let _ = self.synced.subscribe().wait_for(|synced| *synced).await;
    }

    /// Index every node's Recording in the store, then let reconciles
    /// start.
    fn sync(&self) {
        for recording in self.stores.recordings.state() {
            if let (Some(key), Some(name)) = (
                ContainerKey::of(&recording.metadata).filter(|_| !is_merged(&recording.metadata)),
                recording.metadata.name.as_deref(),
            ) {
                saw_source(self, &key, name);
            }
        }
        self.health.set_synced(true);
        self.synced.send_replace(true);
    }
}

/// A reconcile of `controller` in progress, counted in the queue depth
/// until dropped.
struct Busy<'a> {
    context: &'a Context,
    controller: &'static str,
}

impl Context {
    fn depth(&self, controller: &str) -> &AtomicUsize {
        &self.busy[usize::from(controller == "namespace")]
    }

    fn busy(&self, controller: &'static str) -> Busy<'_> {
        let depth = self.depth(controller).fetch_add(1, Ordering::SeqCst) + 1;
        self.health.metrics().set_queue_depth(controller, depth);
        Busy {
            context: self,
            controller,
        }
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        let depth = self
            .context
            .depth(self.controller)
            .fetch_sub(1, Ordering::SeqCst)
            - 1;
        self.context
            .health
            .metrics()
            .set_queue_depth(self.controller, depth);
    }
}

/// An object of a namespace: (namespace, name).
type ObjectId = (String, String);

/// What the NetworkPolicy advice reads of a recording: its workload's
/// network activity and what bounding cut; the rest (syscalls, binaries,
/// execs, files...) is not kept in the operator's memory.
fn network_only(recording: corral_record::Recording) -> corral_record::Recording {
    let workload = recording.workload;
    corral_record::Recording {
        workload: corral_record::Activity {
            connects: workload.connects,
            accepts: workload.accepts,
            listeners: workload.listeners,
            udp: workload.udp,
            dns_queries: workload.dns_queries,
            ..Default::default()
        },
        runtime: Default::default(),
        execs: Vec::new(),
        binaries: Vec::new(),
        ..recording
    }
}

/// A merged recording (its network activity) and the pods it was
/// recorded in.
pub struct Merged {
    pub recording: corral_record::Recording,
    pub pods: Vec<String>,
    pub uid: Option<String>,
}

impl Context {
    pub fn new(
        client: Client,
        output: Option<PathBuf>,
        stores: Stores,
        settings: Settings,
        health: Arc<Health>,
    ) -> Self {
        let reporter = Reporter {
            controller: "corral-operator".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Context {
            health,
            events: Recorder::new(client.clone(), reporter),
            client,
            output,
            stores,
            settings,
            synced: tokio::sync::watch::channel(false).0,
            merged: Mutex::default(),
            sources: Mutex::default(),
            missing: Mutex::default(),
            busy: Default::default(),
            failures: Mutex::default(),
            written: Mutex::default(),
        }
    }
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

/// One workload container of a namespace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContainerKey {
    pub namespace: String,
    pub workload: String,
    pub container: String,
}

impl ContainerKey {
    /// The workload container a Recording's metadata names: its full
    /// names from the annotations, or from the labels for Recordings
    /// published without them.
    pub fn of(meta: &kube::api::ObjectMeta) -> Option<ContainerKey> {
        let annotation = |key: &str| meta.annotations.as_ref()?.get(key).cloned();
        let label = |key: &str| meta.labels.as_ref()?.get(key).cloned();
        Some(ContainerKey {
            namespace: meta.namespace.clone()?,
            workload: annotation(WORKLOAD_ANNOTATION).or_else(|| label(WORKLOAD_LABEL))?,
            container: annotation(CONTAINER_ANNOTATION).or_else(|| label(CONTAINER_LABEL))?,
        })
    }

    pub fn merged_name(&self) -> String {
        object_name(&[&self.workload, &self.container, "merged"])
    }
}

fn is_merged(meta: &kube::api::ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(MERGED_LABEL))
        .is_some_and(|v| v == "true")
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
    ApiResource::erase::<k8s_openapi::api::networking::v1::NetworkPolicy>(&())
}

fn recordings() -> ApiResource {
    ApiResource::erase::<RecordingResource>(&())
}

/// Apply `object` (a manifest with apiVersion, kind and metadata), or
/// write it as `<kind>-<name>.json` under the output directory. The
/// object as the API server stored it, when applied; the API's error as it
/// is, to tell a resource the cluster does not serve (404).
async fn apply(
    context: &Context,
    resource: &ApiResource,
    namespace: &str,
    object: Value,
) -> Result<Option<DynamicObject>, Result<kube::Error, Error>> {
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
            .map_err(|e| Err(Error(format!("{}: {e}", path.display()))))?;
        return Ok(None);
    }
    let api: Api<DynamicObject> = Api::namespaced_with(context.client.clone(), namespace, resource);
    let object: DynamicObject = serde_json::from_value(object)
        .map_err(|e| Err(Error(format!("{} {name}: {e}", resource.kind))))?;
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&object),
    )
    .await
    .map(Some)
    .map_err(Ok)
}

/// [`apply`], any failure an error naming what was written.
async fn put(
    context: &Context,
    resource: &ApiResource,
    namespace: &str,
    object: Value,
) -> Result<Option<DynamicObject>, Error> {
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    apply(context, resource, namespace, object)
        .await
        .map_err(|e| match e {
            Ok(e) => Error(format!("writing {} {namespace}/{name}: {e}", resource.kind)),
            Err(e) => e,
        })
}

fn not_served(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

/// The nodes' Recordings of `key` in the store, by name: those the watch
/// saw for it, still in the store and still of it.
fn sources_of(context: &Context, key: &ContainerKey) -> Vec<Arc<RecordingMeta>> {
    let mut index = context.sources.lock().unwrap();
    let Some(names) = index.get_mut(key) else {
        return Vec::new();
    };
    let mut sources = Vec::new();
    names.retain(|name| {
        let found = context
            .stores
            .recordings
            .get(&ObjectRef::new(name).within(&key.namespace))
            .filter(|r| {
                !is_merged(&r.metadata) && ContainerKey::of(&r.metadata).as_ref() == Some(key)
            });
        let kept = found.is_some();
        sources.extend(found);
        kept
    });
    if names.is_empty() {
        index.remove(key);
    }
    sources
}

/// Note a node's Recording of `key` (from the Recordings' watch).
fn saw_source(context: &Context, key: &ContainerKey, name: &str) {
    context
        .sources
        .lock()
        .unwrap()
        .entry(key.clone())
        .or_default()
        .insert(name.to_string());
}

/// The fingerprint of the nodes' Recordings a merge reads: their names and
/// resourceVersions.
fn fingerprint<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hash = Sha256::new();
    for (name, version) in sources {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(version.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint a merged Recording carries of the nodes' Recordings it
/// was merged from.
fn sources_of_meta(meta: &kube::api::ObjectMeta) -> Option<String> {
    meta.annotations.as_ref()?.get(SOURCES_ANNOTATION).cloned()
}

/// What one reconcile wrote, said in the log.
pub type Written = Vec<String>;

/// Reconcile one workload container: merge its nodes' Recordings and write
/// what Corral advises from them; delete its merged Recording (and, by
/// ownership, what was advised from it) when no node has one any more.
pub async fn advise_container(key: &ContainerKey, context: &Context) -> Result<Written, Error> {
    // Only where recording was asked for: Recordings in any other
    // namespace (a compromised recorder can write them anywhere) are not
    // advised from.
    if !context.recorded(&key.namespace) {
        return Ok(Vec::new());
    }
    let name = key.merged_name();
    let api: Api<RecordingResource> = Api::namespaced(context.client.clone(), &key.namespace);
    let sources = sources_of(context, key);
    let existing = context
        .stores
        .recordings
        .get(&ObjectRef::new(&name).within(&key.namespace));
    // Names join workload, container and `merged` with `-`, so two
    // containers can meet on one (`web` `api-server`, `web-api` `server`):
    // the merged Recording is the first one's; the other is not advised,
    // rather than mixed into it.
    if let Some(other) = existing
        .as_ref()
        .and_then(|e| ContainerKey::of(&e.metadata))
        .filter(|other| other != key)
    {
        context.health.metrics().error("name-collision");
        tracing::warn!(
            namespace = %key.namespace,
            recording = %name,
            holder = %format!("{}/{}", other.workload, other.container),
            "workload {} container {} is not advised: its merged Recording's name is another container's",
            key.workload,
            key.container
        );
        return Ok(Vec::new());
    }
    if sources.is_empty() {
        if existing.is_some() && context.output.is_none() {
            api.delete(&name, &DeleteParams::background())
                .await
                .map_err(failed(&format!(
                    "deleting Recording {}/{name}",
                    key.namespace
                )))?;
            return Ok(vec![format!(
                "deleted Recording {}/{name}: no node has a Recording of it",
                key.namespace
            )]);
        }
        return Ok(Vec::new());
    }
    let known = fingerprint(sources.iter().map(|s| {
        (
            s.metadata.name.as_deref().unwrap_or_default(),
            s.metadata.resource_version.as_deref().unwrap_or_default(),
        )
    }));
    if existing.as_ref().and_then(|e| sources_of_meta(&e.metadata)) == Some(known) {
        return Ok(Vec::new());
    }

    // The nodes' Recordings, each read by name (a few at a time) and merged
    // as they come, so that a container on thousands of nodes is never
    // held whole; one deleted since is left out, one that does not read
    // fails the reconcile, named. A node's Recording names its workload
    // container in its spec too: one whose spec names another is not
    // merged in.
    let names: Vec<String> = sources
        .iter()
        .filter_map(|s| s.metadata.name.clone())
        .collect();
    let mut reads = futures::stream::iter(names)
        .map(|n: String| {
            let api = api.clone();
            let namespace = &key.namespace;
            async move {
                api.get_opt(&n)
                    .await
                    .map_err(|e| Error(format!("reading Recording {namespace}/{n}: {e}")))
            }
        })
        .buffered(READS_AT_ONCE);
    let merge = |batch: Vec<corral_record::Recording>| {
        corral_record::Recording::merge_bounded(batch, &corral_record::Bounds::default()).map_err(
            |e| {
                Error(format!(
                    "{}/{} container {}: {e}",
                    key.namespace, key.workload, key.container
                ))
            },
        )
    };
    let mut merged: Option<corral_record::Recording> = None;
    let mut batch = Vec::new();
    let mut versions = Vec::new();
    let mut merged_sources = 0;
    let mut pods = BTreeSet::new();
    while let Some(read) = reads.try_next().await? {
        let Some(read) = read else { continue };
        // In the fingerprint even when not merged, so that it is not read
        // again until it changes.
        versions.push((
            read.metadata.name.clone().unwrap_or_default(),
            read.metadata.resource_version.clone().unwrap_or_default(),
        ));
        if read.spec.workload != key.workload || read.spec.container != key.container {
            continue;
        }
        merged_sources += 1;
        pods.extend(
            read.spec
                .recording
                .container
                .as_ref()
                .and_then(|c| c.pod.clone()),
        );
        batch.push(read.spec.recording);
        if batch.len() == MERGE_BATCH {
            batch.splice(0..0, merged.take());
            merged = Some(merge(std::mem::take(&mut batch))?);
        }
    }
    if !batch.is_empty() {
        batch.splice(0..0, merged.take());
        merged = Some(merge(batch)?);
    }
    let Some(merged) = merged else {
        return Ok(Vec::new());
    };
    let nodes = merged_sources;
    let fingerprint = fingerprint(versions.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let pods: Vec<String> = pods.into_iter().collect();
    write_advice(key, merged, pods, nodes, fingerprint, context).await
}

/// Write the merged Recording of `key`, its SeccompProfile and status.
async fn write_advice(
    key: &ContainerKey,
    merged: corral_record::Recording,
    pods: Vec<String>,
    nodes: usize,
    fingerprint: String,
    context: &Context,
) -> Result<Written, Error> {
    let namespace = &key.namespace;
    let workloads = BTreeMap::from([(
        WorkloadKey {
            namespace: namespace.clone(),
            workload: key.workload.clone(),
            container: key.container.clone(),
        },
        Recorded {
            recording: merged.clone(),
            pods: pods.clone(),
            named: Named {
                kind: None,
                name: key.workload.clone(),
                naming: Naming::Resource,
            },
            files: Vec::new(),
        },
    )]);
    // A merged recording bounded to fit its resource, whose evidence had to
    // be cut: no profile or securityContext is advised from the rest (it
    // would forbid what the workload does); the status says why.
    let cut = [
        corral_record::Evidence::Seccomp,
        corral_record::Evidence::SecurityContext,
    ]
    .into_iter()
    .find_map(|kind| merged.cut(kind));
    if let Some(why) = cut {
        return write_refusal(key, merged, pods, nodes, fingerprint, &why, context).await;
    }
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
    let advice = Advice {
        security_context_patch: corral_advise::policies::patches(&policies, None)
            .into_iter()
            .map(|p| p.text)
            .collect(),
        advice: format!("{:#}\n", corral_advise::policies::advice_json(&policies)),
    };
    let runs = merged.run_count();
    let mut written = Vec::new();

    // The merged Recording first: what is advised from it is owned by it.
    // The fingerprint of its sources is written last, once everything
    // else is: a failure on the way is retried in full.
    let mut spec = RecordingSpec::new(&key.workload, &key.container, "merged", merged.clone());
    spec.advice = Some(advice);
    let resource = RecordingResource::labelled(namespace, spec, (MERGED_LABEL, "true"));
    let value = serde_json::to_value(&resource).map_err(|e| Error(e.to_string()))?;
    let name = key.merged_name();
    let applied = put(context, &recordings(), namespace, value).await?;
    written.push(format!("Recording {namespace}/{name}"));
    let uid = applied.as_ref().and_then(|a| a.metadata.uid.clone());
    let owner = applied.as_ref().and_then(|a| {
        Some(OwnerReference {
            api_version: "corral.dev/v1alpha1".into(),
            kind: "Recording".into(),
            name: name.clone(),
            uid: a.metadata.uid.clone()?,
            controller: Some(true),
            block_owner_deletion: None,
        })
    });
    if let Some(applied) = &applied {
        context.merged.lock().unwrap().insert(
            (namespace.clone(), name.clone()),
            (
                fingerprint.clone(),
                Arc::new(Merged {
                    recording: network_only(merged),
                    pods: pods.clone(),
                    uid: applied.metadata.uid.clone(),
                }),
            ),
        );
    }

    // The SeccompProfile.
    let mut profile_name = String::new();
    let mut profile_condition = condition("SeccompProfileWritten", true, "Written", "");
    for policy in &policies {
        let mut profile = corral_advise::seccomp::spo_resource(
            &policy.key.file_stem(),
            namespace,
            &policy.profile,
            &policy.coverage,
        );
        if let Some(owner) = &owner {
            profile["metadata"]["ownerReferences"] = json!([owner]);
        }
        let this = profile["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match apply(context, &seccomp_profiles(), namespace, profile).await {
            Ok(_) => {
                written.push(format!("SeccompProfile {namespace}/{this}"));
                profile_condition["message"] = json!(format!("SeccompProfile {this}"));
                profile_name = this;
            }
            // Without the Security Profiles Operator there is no
            // SeccompProfile to write: the rest is still merged and
            // advised, and that is said in the status and an Event.
            Err(Ok(e)) if not_served(&e) => {
                let why = format!(
                    "no SeccompProfile {namespace}/{this}: the cluster does not serve SeccompProfiles (is the Security Profiles Operator installed?)"
                );
                profile_condition = condition(
                    "SeccompProfileWritten",
                    false,
                    "SecurityProfilesOperatorMissing",
                    &why,
                );
                publish(
                    context,
                    (namespace, &name, uid.clone()),
                    EventType::Warning,
                    "SeccompProfileNotWritten",
                    &why,
                )
                .await;
                written.push(why);
            }
            Err(Ok(e)) => {
                return Err(Error(format!(
                    "writing SeccompProfile {namespace}/{this}: {e}"
                )))
            }
            Err(Err(e)) => return Err(e),
        }
    }
    let merged_message = format!("{runs} run(s) from {nodes} node Recording(s)");
    let mut pods_kept = pods;
    pods_kept.truncate(MAX_STATUS_PODS);
    let status = json!({
        "runs": runs,
        "sources": nodes,
        "pods": pods_kept,
        "seccompProfile": profile_name,
        "conditions": [
            condition("Merged", true, "Merged", &merged_message),
            condition("Advised", true, "Advised", "securityContext patch and advice in spec.advice"),
            profile_condition,
        ],
    });
    set_status(context, namespace, &name, status).await?;
    mark_merged_from(context, namespace, &name, &fingerprint).await?;
    publish(
        context,
        (namespace, &name, uid),
        EventType::Normal,
        "Advised",
        &format!("merged {merged_message}; {}", written.join(", ")),
    )
    .await;
    Ok(written)
}

/// Write the merged Recording of `key` without advice, and say in its
/// status and an Event why none was made.
async fn write_refusal(
    key: &ContainerKey,
    merged: corral_record::Recording,
    mut pods: Vec<String>,
    nodes: usize,
    fingerprint: String,
    why: &str,
    context: &Context,
) -> Result<Written, Error> {
    let namespace = &key.namespace;
    let name = key.merged_name();
    let runs = merged.run_count();
    let spec = RecordingSpec::new(&key.workload, &key.container, "merged", merged);
    let resource = RecordingResource::labelled(namespace, spec, (MERGED_LABEL, "true"));
    let value = serde_json::to_value(&resource).map_err(|e| Error(e.to_string()))?;
    let applied = put(context, &recordings(), namespace, value).await?;
    let uid = applied.and_then(|a| a.metadata.uid);
    let message = format!("not advised: {why}");
    publish(
        context,
        (namespace, &name, uid),
        EventType::Warning,
        "NotAdvised",
        &message,
    )
    .await;
    pods.truncate(MAX_STATUS_PODS);
    let status = json!({
        "runs": runs,
        "sources": nodes,
        "pods": pods,
        "seccompProfile": "",
        "conditions": [
            condition("Merged", true, "Merged", &format!("{runs} run(s) from {nodes} node Recording(s)")),
            condition("Advised", false, "EvidenceCut", &message),
        ],
    });
    set_status(context, namespace, &name, status).await?;
    mark_merged_from(context, namespace, &name, &fingerprint).await?;
    Ok(vec![format!("Recording {namespace}/{name} ({message})")])
}

/// Note on the merged Recording which nodes' Recordings, at which
/// versions, it was last advised from.
async fn mark_merged_from(
    context: &Context,
    namespace: &str,
    name: &str,
    fingerprint: &str,
) -> Result<(), Error> {
    if context.output.is_some() {
        return Ok(());
    }
    let api: Api<RecordingResource> = Api::namespaced(context.client.clone(), namespace);
    let patch = json!({"metadata": {"annotations": {SOURCES_ANNOTATION: fingerprint}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(failed(&format!("marking Recording {namespace}/{name}")))?;
    Ok(())
}

/// A status condition, now.
fn condition(kind: &str, status: bool, reason: &str, message: &str) -> Value {
    json!({
        "type": kind,
        "status": if status { "True" } else { "False" },
        "reason": reason,
        "message": message,
        "lastTransitionTime": k8s_openapi::jiff::Timestamp::now().to_string(),
    })
}

/// Apply a merged Recording's status (its own field manager, so the
/// spec's apply never takes it away).
async fn set_status(
    context: &Context,
    namespace: &str,
    name: &str,
    status: Value,
) -> Result<(), Error> {
    set_status_as(
        context,
        namespace,
        name,
        status,
        &format!("{MANAGER}-status"),
    )
    .await
}

/// [`set_status`] by `manager`: a failure's conditions are applied by
/// their own manager, so that they do not take away the runs, sources and
/// pods the last success wrote.
async fn set_status_as(
    context: &Context,
    namespace: &str,
    name: &str,
    status: Value,
    manager: &str,
) -> Result<(), Error> {
    if context.output.is_some() {
        return Ok(());
    }
    let api: Api<RecordingResource> = Api::namespaced(context.client.clone(), namespace);
    let patch = json!({
        "apiVersion": "corral.dev/v1alpha1",
        "kind": "Recording",
        "metadata": {"name": name},
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(manager).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(failed(&format!(
        "writing the status of Recording {namespace}/{name}"
    )))?;
    Ok(())
}

/// Publish an Event about the Recording `namespace/name`; an Event that
/// cannot be written is logged, never fatal.
async fn publish(
    context: &Context,
    (namespace, name, uid): (&str, &str, Option<String>),
    kind: EventType,
    reason: &str,
    note: &str,
) {
    if context.output.is_some() {
        return;
    }
    let reference = ObjectReference {
        api_version: Some("corral.dev/v1alpha1".into()),
        kind: Some("Recording".into()),
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        uid,
        ..Default::default()
    };
    let event = Event {
        type_: kind,
        reason: reason.into(),
        note: Some(
            corral_core::safe::one_line(note)
                .chars()
                .take(1024)
                .collect(),
        ),
        action: "Advise".into(),
        secondary: None,
    };
    if let Err(e) = context.events.publish(&event, &reference).await {
        tracing::warn!(error = %e, reason, "an Event could not be written");
    }
}

/// Say in its status and an Event that a workload container's
/// Recordings could not be merged.
async fn report_failure(key: &ContainerKey, error: &Error, context: &Context) {
    let name = key.merged_name();
    if context
        .stores
        .recordings
        .get(&ObjectRef::new(&name).within(&key.namespace))
        .is_none()
    {
        return;
    }
    publish(
        context,
        (&key.namespace, &name, None),
        EventType::Warning,
        "NotMerged",
        &error.0,
    )
    .await;
    let status = json!({"conditions": [condition("Merged", false, "Unreadable", &error.0)]});
    if let Err(e) = set_status_as(context, &key.namespace, &name, status, "corral-failure").await {
        tracing::warn!(error = %e, "a status could not be written");
    }
}

/// The namespace's NetworkPolicies, advised from its merged Recordings and
/// the stores: its pods, Services and EndpointSlices, the peers its
/// recordings reached, and every namespace's labels.
pub async fn advise_namespace(namespace: &str, context: &Context) -> Result<Written, Error> {
    if !context.recorded(namespace) {
        return Ok(Vec::new());
    }
    let merged: Vec<Arc<RecordingMeta>> = context.stores.recordings.state_filter(|r| {
        r.metadata.namespace.as_deref() == Some(namespace) && is_merged(&r.metadata)
    });
    // The merged recordings kept for this namespace: only those that still
    // exist.
    context.merged.lock().unwrap().retain(|(ns, name), _| {
        ns != namespace
            || merged
                .iter()
                .any(|m| m.metadata.name.as_deref() == Some(name.as_str()))
    });
    let mut workloads: BTreeMap<WorkloadKey, Recorded> = BTreeMap::new();
    let mut owners: BTreeMap<String, Vec<OwnerReference>> = BTreeMap::new();
    for meta in &merged {
        // A merged Recording is the operator's, named after its container:
        // one labelled merged under another name is not one.
        let Some(key) = ContainerKey::of(&meta.metadata)
            .filter(|k| meta.metadata.name.as_deref() == Some(k.merged_name().as_str()))
        else {
            continue;
        };
        let found = read_merged(context, &key, meta).await?;
        let Some(found) = found else { continue };
        let workload_owners = owners.entry(key.workload.clone()).or_default();
        if let Some(uid) = found
            .uid
            .as_ref()
            .filter(|uid| !workload_owners.iter().any(|o| &o.uid == *uid))
        {
            workload_owners.push(OwnerReference {
                api_version: "corral.dev/v1alpha1".into(),
                kind: "Recording".into(),
                name: key.merged_name(),
                uid: uid.clone(),
                controller: None,
                block_owner_deletion: None,
            });
        }
        workloads.insert(
            WorkloadKey {
                namespace: namespace.to_string(),
                workload: key.workload.clone(),
                container: key.container.clone(),
            },
            Recorded {
                recording: found.recording.clone(),
                pods: found.pods.clone(),
                named: Named {
                    kind: None,
                    name: key.workload.clone(),
                    naming: Naming::Resource,
                },
                files: Vec::new(),
            },
        );
    }
    let mut written = Vec::new();
    let mut advised_names = BTreeSet::new();
    if !workloads.is_empty() {
        let model = inventory_model(&context.stores, namespace, &workloads);
        let inventory = corral_advise::netpol::inventory::Inventory::from_model(&model);
        let options = corral_advise::netpol::advise::Options::default();
        let advised = corral_advise::netpol::advise::advise_workloads(
            &workloads, &model, &inventory, &options,
        )
        .map_err(Error)?;
        for policy in advised {
            let mut object = policy.policy;
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            object["metadata"]["labels"][MANAGED_BY.0] = json!(MANAGED_BY.1);
            if let Some(owners) = owners.get(&policy.workload) {
                object["metadata"]["ownerReferences"] = json!(owners);
            }
            advised_names.insert(name.clone());
            let hash: [u8; 32] = Sha256::digest(object.to_string().as_bytes()).into();
            let key = (namespace.to_string(), name.clone());
            // Unchanged, and still as written (not deleted nor edited
            // since, as the policies' watch shows): nothing to write.
            let stored = context
                .stores
                .policies
                .get(&ObjectRef::new(&name).within(namespace))
                .and_then(|p| p.metadata.resource_version.clone());
            if stored.is_some()
                && context.written.lock().unwrap().get(&key)
                    == Some(&(hash, stored.clone().unwrap_or_default()))
            {
                continue;
            }
            let applied = put(context, &network_policies(), namespace, object).await?;
            let version = applied
                .and_then(|a| a.metadata.resource_version)
                .unwrap_or_default();
            context.written.lock().unwrap().insert(key, (hash, version));
            written.push(format!("NetworkPolicy {namespace}/{name}"));
        }
    }
    // Corral's policies no longer advised (their workload's Recordings
    // went, or its flows changed its policy's name).
    if context.output.is_none() {
        let stale = context.stores.policies.state_filter(|p| {
            p.metadata.namespace.as_deref() == Some(namespace)
                && !advised_names.contains(p.metadata.name.as_deref().unwrap_or_default())
        });
        let api: Api<DynamicObject> =
            Api::namespaced_with(context.client.clone(), namespace, &network_policies());
        for policy in stale {
            let name = policy.name_any();
            api.delete(&name, &DeleteParams::background())
                .await
                .map_err(failed(&format!(
                    "deleting NetworkPolicy {namespace}/{name}"
                )))?;
            context
                .written
                .lock()
                .unwrap()
                .remove(&(namespace.to_string(), name.clone()));
            written.push(format!("deleted NetworkPolicy {namespace}/{name}"));
        }
    }
    Ok(written)
}

/// A merged Recording's content: from the cache at its resourceVersion,
/// else read by name.
async fn read_merged(
    context: &Context,
    key: &ContainerKey,
    meta: &RecordingMeta,
) -> Result<Option<Arc<Merged>>, Error> {
    let name = key.merged_name();
    let id = (key.namespace.clone(), name.clone());
    if let Some(version) = sources_of_meta(&meta.metadata) {
        if let Some((v, merged)) = context.merged.lock().unwrap().get(&id) {
            if *v == version {
                return Ok(Some(merged.clone()));
            }
        }
    }
    let api: Api<RecordingResource> = Api::namespaced(context.client.clone(), &key.namespace);
    let Some(resource) = api.get_opt(&name).await.map_err(failed(&format!(
        "reading Recording {}/{name}",
        key.namespace
    )))?
    else {
        return Ok(None);
    };
    let pods = resource
        .status
        .as_ref()
        .map(|s| s.pods.clone())
        .unwrap_or_default();
    let merged = Arc::new(Merged {
        recording: network_only(resource.spec.recording),
        pods,
        uid: resource.metadata.uid.clone(),
    });
    context.merged.lock().unwrap().insert(
        id,
        (
            sources_of_meta(&resource.metadata).unwrap_or_default(),
            merged.clone(),
        ),
    );
    Ok(Some(merged))
}

/// The objects a namespace's NetworkPolicies are advised from, as a model:
/// its own pods, Services and EndpointSlices; the pods, Services and
/// EndpointSlices its recordings reached by address (and the pods behind
/// those Services); the cluster DNS; every namespace.
fn inventory_model(
    stores: &Stores,
    namespace: &str,
    workloads: &BTreeMap<WorkloadKey, Recorded>,
) -> corral_core::model::Model {
    let mut peers: BTreeSet<std::net::IpAddr> = BTreeSet::new();
    for recorded in workloads.values() {
        let activity = &recorded.recording.workload;
        for endpoint in activity
            .connects
            .iter()
            .chain(&activity.accepts)
            .chain(&activity.udp)
        {
            peers.insert(endpoint.address);
        }
        for query in &activity.dns_queries {
            peers.extend(query.answers.iter().copied());
        }
    }
    let services = stores.services.state_filter(|s| {
        s.metadata.namespace.as_deref() == Some(namespace)
            || (s.metadata.namespace.as_deref() == Some("kube-system")
                && s.metadata.name.as_deref() == Some("kube-dns"))
            || s.addresses().iter().any(|a| peers.contains(a))
    });
    let selectors: Vec<(String, BTreeMap<String, String>)> = services
        .iter()
        .filter_map(|s| {
            Some((
                s.metadata.namespace.clone()?,
                s.spec
                    .as_ref()?
                    .selector
                    .clone()
                    .filter(|m| !m.is_empty())?,
            ))
        })
        .collect();
    let pods = stores.pods.state_filter(|p| {
        let pod_namespace = p.metadata.namespace.as_deref().unwrap_or_default();
        if pod_namespace == namespace || p.addresses().iter().any(|a| peers.contains(a)) {
            return true;
        }
        let labels = p.metadata.labels.as_ref();
        selectors.iter().any(|(ns, selector)| {
            ns == pod_namespace
                && selector
                    .iter()
                    .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        })
    });
    let slices = stores.slices.state_filter(|s| {
        s.metadata.namespace.as_deref() == Some(namespace)
            || s.endpoints.iter().flatten().any(|e| {
                e.addresses
                    .iter()
                    .filter_map(|a| a.parse().ok())
                    .any(|a| peers.contains(&a))
            })
    });
    let mut values: Vec<Value> = Vec::new();
    let mut add = |object: Value| values.push(object);
    for namespace in stores.namespaces.state() {
        add(typed(&*namespace));
    }
    for pod in pods {
        add(pod.to_value());
    }
    for service in services {
        add(service.to_value());
    }
    for slice in slices {
        add(slice.to_value());
    }
    let file: Arc<str> = Arc::from("cluster");
    corral_core::model::Model::from_values(
        &file,
        &values,
        &corral_core::model::TemplatePaths::default(),
    )
    .0
}

/// A typed object as the API serves it, with its apiVersion and kind.
fn typed<K: k8s_openapi::Resource + serde::Serialize>(object: &K) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), json!(K::API_VERSION));
        map.insert("kind".into(), json!(K::KIND));
    }
    value
}

/// Back off a failing object: 5 s, doubling to 5 min, with jitter so that
/// many failing at once (an API server outage) do not retry in step.
fn backoff(context: &Context, id: String) -> Action {
    Action::requeue(backoff_delay(context, id))
}

/// The delay of [`backoff`].
fn backoff_delay(context: &Context, id: String) -> Duration {
    let mut failures = context.failures.lock().unwrap();
    let count = failures.entry(id.clone()).or_insert(0);
    *count = count.saturating_add(1);
    let base = 5u64.saturating_mul(1 << (*count - 1).min(6)).min(300);
    let mut hash = Sha256::new();
    hash.update(id.as_bytes());
    hash.update(count.to_le_bytes());
    hash.update(std::process::id().to_le_bytes());
    let jitter = u64::from(hash.finalize()[0]) * base / 255; // 0..=base
    Duration::from_millis(base * 500 + jitter * 500)
}

fn succeeded(context: &Context, id: &str) {
    context.failures.lock().unwrap().remove(id);
}

async fn reconcile_workload(
    meta: Arc<RecordingMeta>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    let Some(key) = ContainerKey::of(&meta.metadata).filter(|_| is_merged(&meta.metadata)) else {
        return Ok(Action::await_change());
    };
    run_workload(&key, &context).await
}

async fn run_workload(key: &ContainerKey, context: &Context) -> Result<Action, Error> {
    context.synced().await;
    let id = format!("workload {}/{}", key.namespace, key.merged_name());
    let started = std::time::Instant::now();
    let result = {
        let _busy = context.busy("workload");
        advise_container(key, context).await
    };
    context.health.metrics().reconciled(
        "workload",
        result.is_ok(),
        started.elapsed().as_secs_f64(),
    );
    match result {
        Ok(written) => {
            succeeded(context, &id);
            if !written.is_empty() {
                tracing::info!(
                    namespace = %key.namespace,
                    workload = %key.workload,
                    container = %key.container,
                    seconds = started.elapsed().as_secs_f64(),
                    wrote = %written.join("; "),
                    "advised"
                );
            }
            // Deletions of nodes' Recordings reach no subscriber: each
            // container is looked at again every `refresh` (the store
            // knows what was deleted; nothing is read when nothing was).
            Ok(Action::requeue(context.settings.refresh))
        }
        Err(e) => {
            report_failure(key, &e, context).await;
            Err(e)
        }
    }
}

fn workload_error(meta: Arc<RecordingMeta>, error: &Error, context: Arc<Context>) -> Action {
    tracing::warn!(recording = %meta.name_any(), namespace = ?meta.namespace(), %error, "not advised");
    backoff(
        &context,
        format!(
            "workload {}/{}",
            meta.namespace().unwrap_or_default(),
            meta.name_any()
        ),
    )
}

async fn reconcile_namespace(
    namespace: Arc<Namespace>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    context.synced().await;
    let name = namespace.name_any();
    let id = format!("namespace {name}");
    let started = std::time::Instant::now();
    let result = {
        let _busy = context.busy("namespace");
        advise_namespace(&name, &context).await
    };
    context.health.metrics().reconciled(
        "namespace",
        result.is_ok(),
        started.elapsed().as_secs_f64(),
    );
    let written = result?;
    succeeded(&context, &id);
    if !written.is_empty() {
        tracing::info!(namespace = %name, wrote = %written.join("; "), "network policies");
    }
    Ok(Action::requeue(context.settings.refresh))
}

fn namespace_error(namespace: Arc<Namespace>, error: &Error, context: Arc<Context>) -> Action {
    tracing::warn!(namespace = %namespace.name_any(), %error, "network policies not advised");
    backoff(&context, format!("namespace {}", namespace.name_any()))
}

/// Run both controllers (and the watches feeding them) until SIGINT or
/// SIGTERM. `health` is synced once the stores have their initial lists;
/// its metrics count reconciles and the stores' sizes.
pub async fn run(
    client: Client,
    output: Option<PathBuf>,
    settings: Settings,
    health: Arc<Health>,
) -> Arc<Context> {
    let watches = crate::stores::watch(&client, health.metrics());
    let context = Arc::new(Context::new(
        client,
        output,
        watches.stores.clone(),
        settings.clone(),
        health,
    ));
    let stores = watches.stores.clone();
    let config = |debounce| {
        controller::Config::default()
            .concurrency(settings.concurrency)
            .debounce(debounce)
    };
    // The workload container controller: merged Recordings, and every
    // node's Recording mapped to its container's merged one.
    let mapper_context = context.clone();
    // A merged Recording triggers its own reconcile when its spec changed
    // (a new generation), never on its status or metadata: the operator's
    // own status writes must not wake it again.
    let generations: Mutex<HashMap<ObjectId, i64>> = Mutex::default();
    let workloads = Controller::for_shared_stream(
        watches.recordings.filter(move |r| {
            let id = (
                r.metadata.namespace.clone().unwrap_or_default(),
                r.metadata.name.clone().unwrap_or_default(),
            );
            let generation = r.metadata.generation.unwrap_or_default();
            let new = is_merged(&r.metadata)
                && generations.lock().unwrap().insert(id, generation) != Some(generation);
            futures::future::ready(new)
        }),
        stores.recordings.clone(),
    )
    .watches_shared_stream(watches.recordings_again, move |r: Arc<RecordingMeta>| {
        let key = ContainerKey::of(&r.metadata).filter(|_| !is_merged(&r.metadata))?;
        saw_source(&mapper_context, &key, r.metadata.name.as_deref()?);
        let name = key.merged_name();
        let namespace = key.namespace.clone();
        let reference = ObjectRef::new(&name).within(&namespace);
        if mapper_context.stores.recordings.get(&reference).is_none() {
            mapper_context
                .missing
                .lock()
                .unwrap()
                .insert((namespace, name), key);
        }
        Some(reference)
    })
    .with_config(config(settings.debounce))
    .shutdown_on_signal()
    .run(reconcile_workload, workload_error, context.clone())
    .for_each({
        let context = context.clone();
        let creating = Arc::new(tokio::sync::Semaphore::new(usize::from(
            settings.concurrency,
        )));
        // The creations in progress: one per container at most; aborted
        // with the controller (the set is dropped with this closure).
        let tasks: Arc<Mutex<(tokio::task::JoinSet<()>, BTreeSet<ObjectId>)>> = Arc::default();
        move |result| {
            match result {
                // A container's first Recording: its merged Recording is
                // made now (apart, so that the controller keeps reading
                // its triggers), and keyed on from then on.
                Err(controller::Error::ObjectNotFound(reference)) => {
                    let id = (
                        reference.namespace.clone().unwrap_or_default(),
                        reference.name.clone(),
                    );
                    let key = context.missing.lock().unwrap().remove(&id);
                    let mut running = tasks.lock().unwrap();
                    while running.0.try_join_next().is_some() {}
                    if let Some(key) = key.filter(|_| running.1.insert(id.clone())) {
                        let context = context.clone();
                        let creating = creating.clone();
                        let tasks = Arc::downgrade(&tasks);
                        running.0.spawn(async move {
                            // Retried with the controller's backoff until it
                            // is made (or its nodes' Recordings are gone).
                            let id = (key.namespace.clone(), key.merged_name());
                            let failing = format!("workload {}/{}", id.0, id.1);
                            loop {
                                let Ok(permit) = creating.acquire().await else {
                                    return;
                                };
                                let result = run_workload(&key, &context).await;
                                drop(permit);
                                let Err(e) = result else {
                                    if let Some(tasks) = tasks.upgrade() {
                                        tasks.lock().unwrap().1.remove(&id);
                                    }
                                    return;
                                };
                                tracing::warn!(%e, "not advised");
                                tokio::time::sleep(backoff_delay(&context, failing.clone())).await;
                            }
                        });
                    }
                }
                Err(controller::Error::ReconcilerFailed(..)) | Ok(_) => {}
                Err(e) => {
                    context.health.metrics().error("workload-controller");
                    tracing::warn!(error = %e, "workload controller");
                }
            }
            futures::future::ready(())
        }
    });

    // The namespace controller: a namespace's NetworkPolicies, when its
    // merged Recordings or Corral's policies in it change.
    let namespaces = Controller::for_shared_stream(watches.namespaces, stores.namespaces.clone())
        .watches_shared_stream(watches.recordings_namespaces, |r: Arc<RecordingMeta>| {
            is_merged(&r.metadata)
                .then(|| r.metadata.namespace.clone())
                .flatten()
                .map(|ns: String| ObjectRef::<Namespace>::new(&ns))
        })
        .watches_shared_stream(watches.policies, |p: Arc<crate::stores::PolicyMeta>| {
            p.metadata
                .namespace
                .clone()
                .map(|ns: String| ObjectRef::<Namespace>::new(&ns))
        })
        .with_config(config(settings.namespace_debounce))
        .shutdown_on_signal()
        .run(reconcile_namespace, namespace_error, context.clone())
        .for_each({
            let context = context.clone();
            move |result| {
                match result {
                    Ok(_) | Err(controller::Error::ReconcilerFailed(..)) => {}
                    Err(e) => {
                        context.health.metrics().error("namespace-controller");
                        tracing::warn!(error = %e, "namespace controller");
                    }
                }
                futures::future::ready(())
            }
        });

    let ready = {
        let context = context.clone();
        async move {
            if context.stores.ready().await {
                context.sync();
                tracing::info!(stores = ?context.stores.sizes(), "stores synced");
                // The stores' sizes, for the metrics.
                loop {
                    for (kind, objects) in context.stores.sizes() {
                        context.health.metrics().set_store_size(kind, objects);
                    }
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        }
    };
    tokio::select! {
        _ = watches.run => {}
        _ = futures::future::join(workloads, namespaces) => {}
        _ = ready => {}
    }
    context
}
