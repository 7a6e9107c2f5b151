//! The operator's view of the cluster: one watch per kind, each feeding an
//! in-memory store (kube-runtime reflectors) that every controller reads.
//! After the initial list, the API server is only watched: a reconcile
//! never lists. Objects are trimmed as they arrive to the fields the
//! advice reads, so 150,000 pods fit in a few hundred megabytes.

use std::sync::Arc;

use futures::{FutureExt, Stream, StreamExt};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, PartialObjectMeta};
use kube::runtime::reflector::{self, store::Writer, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;

use crate::crd::RecordingResource;
use crate::lite::{EndpointSlice, Pod, Service};
use crate::metrics::Metrics;

/// A Recording's metadata: what the controllers key and trigger on. Its
/// spec is read only when its workload container is reconciled.
pub type RecordingMeta = PartialObjectMeta<RecordingResource>;
pub type PolicyMeta = PartialObjectMeta<NetworkPolicy>;

/// How many events a shared store buffers for each subscriber before the
/// watch waits for the slowest.
const SUBSCRIBER_BUFFER: usize = 1024;

/// The stores, each filled by its own watch.
#[derive(Clone)]
pub struct Stores {
    pub recordings: Store<RecordingMeta>,
    pub pods: Store<Pod>,
    pub services: Store<Service>,
    pub namespaces: Store<Namespace>,
    pub slices: Store<EndpointSlice>,
    /// The NetworkPolicies Corral wrote (labelled managed-by corral).
    pub policies: Store<PolicyMeta>,
}

/// What drives the stores and what the controllers subscribe to: the
/// watches must be polled (they are futures that run forever), and the
/// subscriptions give each controller the objects as they change.
pub struct Watches {
    pub stores: Stores,
    /// Every Recording's metadata as it changes.
    pub recordings: reflector::ReflectHandle<RecordingMeta>,
    pub recordings_again: reflector::ReflectHandle<RecordingMeta>,
    pub recordings_namespaces: reflector::ReflectHandle<RecordingMeta>,
    pub namespaces: reflector::ReflectHandle<Namespace>,
    pub policies: reflector::ReflectHandle<PolicyMeta>,
    /// The watches themselves, to be run until the process stops.
    pub run: futures::future::BoxFuture<'static, ()>,
}

/// The label on everything Corral writes.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "corral");

fn trim_meta(meta: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    meta.managed_fields = None;
    meta.annotations = None;
    meta.finalizers = None;
}

/// Pods, Services and EndpointSlices are read into `lite` types, which
/// hold only what the advice reads; their metadata is trimmed too.
fn trim_pod(pod: &mut Pod) {
    trim_meta(&mut pod.metadata);
}

fn trim_service(service: &mut Service) {
    trim_meta(&mut service.metadata);
}

fn trim_slice(slice: &mut EndpointSlice) {
    trim_meta(&mut slice.metadata);
}

fn trim_namespace(namespace: &mut Namespace) {
    trim_meta(&mut namespace.metadata);
    namespace.spec = None;
    namespace.status = None;
}

/// A Recording's metadata, keeping the annotations Corral reads (the
/// workload container's full names, the merged sources' fingerprint).
fn trim_recording(meta: &mut RecordingMeta) {
    meta.metadata.managed_fields = None;
    if let Some(annotations) = meta.metadata.annotations.as_mut() {
        annotations.retain(|k, _| k.starts_with("corral.dev/"));
    }
}

fn trim_policy(meta: &mut PolicyMeta) {
    trim_meta(&mut meta.metadata);
}

/// A watch of `api` into a shared store, trimmed by `trim`, retried with
/// backoff. (An `Api` of `PartialObjectMeta` asks for metadata only.)
/// A watch's errors are logged and counted (`watch-KIND`), then retried.
fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
    trim: fn(&mut K),
    writer: Writer<K>,
    metrics: &Arc<Metrics>,
) -> impl Stream<Item = ()> + Send
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: std::hash::Hash + Eq + Clone + Default,
{
    let kind = format!("watch-{}", K::plural(&Default::default()));
    let metrics = metrics.clone();
    watcher(api, config)
        .default_backoff()
        .modify(trim)
        .reflect_shared(writer)
        .map(move |event| {
            if let Err(error) = event {
                metrics.error(&kind);
                tracing::warn!(%error, source = %kind, "watch failed, retrying");
            }
        })
}

/// Start watching. Nothing is listed again after the initial sync: the
/// watches resume from their resourceVersion, and relist only when the
/// API server says it has expired (410).
pub fn watch(client: &Client, metrics: &Arc<Metrics>) -> Watches {
    let (recordings, recordings_writer) = reflector::store_shared(SUBSCRIBER_BUFFER);
    let (pods, pods_writer) = reflector::store_shared(SUBSCRIBER_BUFFER);
    let (services, services_writer) = reflector::store_shared(SUBSCRIBER_BUFFER);
    let (namespaces, namespaces_writer) = reflector::store_shared(SUBSCRIBER_BUFFER);
    let (slices, slices_writer) = reflector::store_shared(SUBSCRIBER_BUFFER);
    let (policies, policies_writer) = reflector::store_shared(SUBSCRIBER_BUFFER);
    let recordings_handle = recordings_writer.subscribe().expect("a shared store");
    let recordings_again = recordings_writer.subscribe().expect("a shared store");
    let recordings_namespaces = recordings_writer.subscribe().expect("a shared store");
    let namespaces_handle = namespaces_writer.subscribe().expect("a shared store");
    let policies_handle = policies_writer.subscribe().expect("a shared store");
    let config = || watcher::Config::default().any_semantic();
    let managed = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    let streams: Vec<futures::stream::BoxStream<'static, ()>> = vec![
        reflect(
            Api::<RecordingMeta>::all(client.clone()),
            config(),
            trim_recording,
            recordings_writer,
            metrics,
        )
        .boxed(),
        reflect(
            Api::all(client.clone()),
            config(),
            trim_pod,
            pods_writer,
            metrics,
        )
        .boxed(),
        reflect(
            Api::all(client.clone()),
            config(),
            trim_service,
            services_writer,
            metrics,
        )
        .boxed(),
        reflect(
            Api::all(client.clone()),
            config(),
            trim_namespace,
            namespaces_writer,
            metrics,
        )
        .boxed(),
        reflect(
            Api::all(client.clone()),
            config(),
            trim_slice,
            slices_writer,
            metrics,
        )
        .boxed(),
        reflect(
            Api::<PolicyMeta>::all(client.clone()),
            config().labels(&managed),
            trim_policy,
            policies_writer,
            metrics,
        )
        .boxed(),
    ];
    let run = futures::stream::select_all(streams)
        .for_each(|_| futures::future::ready(()))
        .boxed();
    Watches {
        stores: Stores {
            recordings,
            pods,
            services,
            namespaces,
            slices,
            policies,
        },
        recordings: recordings_handle,
        recordings_again,
        recordings_namespaces,
        namespaces: namespaces_handle,
        policies: policies_handle,
        run,
    }
}

impl Stores {
    /// Wait until every store has its initial list.
    pub async fn ready(&self) -> bool {
        self.recordings.wait_until_ready().await.is_ok()
            && self.pods.wait_until_ready().await.is_ok()
            && self.services.wait_until_ready().await.is_ok()
            && self.namespaces.wait_until_ready().await.is_ok()
            && self.slices.wait_until_ready().await.is_ok()
            && self.policies.wait_until_ready().await.is_ok()
    }

    /// How many objects each store holds, by kind.
    pub fn sizes(&self) -> [(&'static str, usize); 6] {
        [
            ("recordings", self.recordings.len()),
            ("pods", self.pods.len()),
            ("services", self.services.len()),
            ("namespaces", self.namespaces.len()),
            ("endpointslices", self.slices.len()),
            ("networkpolicies", self.policies.len()),
        ]
    }
}
