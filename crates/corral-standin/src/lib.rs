//! A stand-in Kubernetes API server, in memory, on loopback (plain HTTP/1.1),
//! behaving as the real one does for what kube-rs and kube-runtime use:
//! the operator's tests and its scale benchmark (`bench/operator.sh`) run
//! against it.
//!
//! ```no_run
//! use corral_standin::StandIn;
//! let server = StandIn::start();
//! let kubeconfig = server.kubeconfig(std::path::Path::new("/tmp"));
//! server
//!     .apply(serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
//!         "metadata": {"name": "shop", "labels": {"corral.dev/record": "true"}}}))
//!     .unwrap();
//! // ... point kube-rs at `kubeconfig`; mutations from here are watched.
//! let pods = server.list("pods", Some("shop"));
//! let stats = server.stats(); // requests by (verb, resource), bytes in and out
//! ```
//!
//! What it serves:
//! - **Storage** by resource (group, version, plural; namespaced or not),
//!   one resourceVersion counter; every write sets metadata.resourceVersion,
//!   uid, creationTimestamp and generation (bumped when anything but
//!   metadata and status changes). A write whose result equals the stored
//!   object changes nothing (no new resourceVersion, no event).
//! - **GET** an object; **LIST** in a namespace or cluster-wide, with
//!   `labelSelector` (`=`, `==`, `!=`, `in`, `notin`, `key`, `!key`),
//!   `fieldSelector` (any dotted field, `=`, `==`, `!=`), `limit` and
//!   `continue` (the pages continue from the last name returned at the
//!   current state: unlike etcd, not a snapshot of the first page's
//!   version, whose resourceVersion every page reports).
//!   A list's `resourceVersion` and `resourceVersionMatch` are not read:
//!   it is always the latest state.
//! - **WATCH** (`watch=true` or `1`): `resourceVersion` (unset or `0`:
//!   the current objects as ADDED first), `allowWatchBookmarks`,
//!   `timeoutSeconds` (at most an hour; 290 s when unset, as kube-rs asks),
//!   `labelSelector` (an object that leaves or enters the selection is seen
//!   DELETED or ADDED), `fieldSelector`, `sendInitialEvents` (the initial
//!   ADDED events end with a bookmark annotated `k8s.io/initial-events-end`).
//!   Newline-delimited JSON events ADDED, MODIFIED, DELETED, and BOOKMARK
//!   (every [`Config::bookmark_interval`] and at the timeout), from a
//!   bounded history per resource ([`Config::history`] events, as the API
//!   server's watch cache); a watch from a version older than that history
//!   gets an ERROR event with a `Status` 410 `Expired`, so kube-runtime's
//!   watcher relists. [`Handle::expire_history`] makes every version so far
//!   too old, as an API server restart after etcd compaction does.
//! - **Metadata-only** requests (`Accept: application/json;as=PartialObjectMetadata...`,
//!   as kube's `metadata_watcher` and `Api<PartialObjectMeta<K>>` send):
//!   answered with `PartialObjectMetadata` and `PartialObjectMetadataList`.
//! - **POST** (409 AlreadyExists; `generateName`), **PUT** (409 Conflict on a
//!   stale metadata.resourceVersion: Leases), **DELETE** (an object with
//!   finalizers is marked with deletionTimestamp and goes with its last
//!   finalizer; then its dependents by `metadata.ownerReferences` uid are
//!   deleted, as the garbage collector does in the background, whatever
//!   `propagationPolicy` says; no `deletecollection`; deleting a Namespace
//!   leaves its objects),
//!   **PATCH**: server-side apply (`application/apply-patch+yaml`, a JSON
//!   body; creates a missing object; `fieldManager` and `force` accepted;
//!   simplified: the applied fields are merged over the object, objects
//!   recursively, any other value, lists included, replaced; no
//!   managedFields and no field ownership conflicts), JSON merge patch
//!   (RFC 7386; strategic merge patches are read as merge patches) and JSON
//!   patch (RFC 6902).
//! - The **`/status` subresource** of the resources that have it
//!   ([`Resource::status`], configurable): a write there changes only
//!   `.status`, a write to the resource everything but `.status`.
//! - **Events** (`events.k8s.io/v1` and core `v1`), **Leases**, and the rest
//!   of [`default_resources`], with discovery (`/api`, `/apis`, `/api/v1`,
//!   `/apis/G/V`, `/version`).
//! - **Accounting**: every request counted by verb (get, list, watch,
//!   create, update, patch, delete) and resource, with bytes in (request
//!   body) and out (response body; a watch's as it streams), on the handle
//!   ([`Handle::stats`]) and at `GET /standin/stats`; `POST
//!   /standin/stats/reset` (or [`Handle::reset_stats`]) starts again.
//!   Writes through the handle are counted apart (`internal`).
//! - Hooks: `POST /standin/NAME` runs what [`Handle::hook`] set (the
//!   simulation's window driver).
//! - [`simulate`]: the benchmark's cluster (nodes, namespaces, workloads,
//!   pods, Services, EndpointSlices) and its recorders' publishing windows;
//!   the `corral-standin` binary serves it (`corral-standin --help`).

pub mod selector;
mod server;
pub mod simulate;
pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{json, Value};

pub use store::{apply_merge, default_resources, merge_patch, PatchKind, Resource, Status};

/// How the server behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// The resources served.
    pub resources: Vec<Resource>,
    /// Watch events kept per resource.
    pub history: usize,
    /// How often an open watch that asked for bookmarks gets one.
    pub bookmark_interval: Duration,
    /// The largest request body read (larger: 413).
    pub max_body: usize,
    /// Tokio worker threads serving requests.
    pub workers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            resources: default_resources(),
            history: 10_000,
            bookmark_interval: Duration::from_secs(10),
            max_body: 4 << 20,
            workers: 2,
        }
    }
}

/// Requests and bytes of one verb on one resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    pub requests: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// What the server was asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Over HTTP: (verb, resource) → count.
    pub api: BTreeMap<(String, String), Count>,
    /// Through the handle ([`Handle::apply`]...): (verb, resource) → count.
    pub internal: BTreeMap<(String, String), Count>,
    /// Watches open now, by resource.
    pub watches_open: BTreeMap<String, i64>,
}

impl Stats {
    /// The requests of `verb` over HTTP, on every resource.
    pub fn requests(&self, verb: &str) -> u64 {
        self.api
            .iter()
            .filter(|((v, _), _)| v == verb)
            .map(|(_, c)| c.requests)
            .sum()
    }

    /// Every HTTP request, and bytes in and out.
    pub fn total(&self) -> Count {
        self.api.values().fold(Count::default(), |a, c| Count {
            requests: a.requests + c.requests,
            bytes_in: a.bytes_in + c.bytes_in,
            bytes_out: a.bytes_out + c.bytes_out,
        })
    }

    pub fn to_json(&self) -> Value {
        let rows = |map: &BTreeMap<(String, String), Count>| {
            map.iter()
                .map(|((verb, resource), c)| {
                    json!({"verb": verb, "resource": resource, "requests": c.requests,
                           "bytesIn": c.bytes_in, "bytesOut": c.bytes_out})
                })
                .collect::<Vec<_>>()
        };
        let total = self.total();
        json!({
            "api": rows(&self.api),
            "internal": rows(&self.internal),
            "total": {"requests": total.requests, "bytesIn": total.bytes_in, "bytesOut": total.bytes_out},
            "watchesOpen": self.watches_open,
        })
    }
}

/// What a hook (`POST /standin/NAME`) runs: the server and the request
/// body in, a JSON answer or an error out.
pub type Hook = Arc<dyn Fn(&Handle, &[u8]) -> Result<Value, String> + Send + Sync>;

pub(crate) struct Shared {
    pub store: Mutex<store::Store>,
    pub changed: tokio::sync::watch::Sender<u64>,
    pub stats: Mutex<Stats>,
    pub hooks: Mutex<BTreeMap<String, Hook>>,
    pub config: Config,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not stop the server.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn store(&self) -> MutexGuard<'_, store::Store> {
        lock(&self.store)
    }

    pub fn count(&self, api: bool, verb: &str, resource: &str, bytes_in: u64, bytes_out: u64) {
        let mut stats = lock(&self.stats);
        let map = if api {
            &mut stats.api
        } else {
            &mut stats.internal
        };
        let count = map
            .entry((verb.to_string(), resource.to_string()))
            .or_default();
        count.requests += 1;
        count.bytes_in += bytes_in;
        count.bytes_out += bytes_out;
    }

    /// Bytes a watch sent, on its count.
    pub fn count_out(&self, resource: &str, bytes: u64) {
        let mut stats = lock(&self.stats);
        stats
            .api
            .entry(("watch".to_string(), resource.to_string()))
            .or_default()
            .bytes_out += bytes;
    }

    pub fn watch_open(&self, resource: &str, delta: i64) {
        *lock(&self.stats)
            .watches_open
            .entry(resource.to_string())
            .or_default() += delta;
    }

    pub fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub fn reset_stats(&self) {
        let mut stats = lock(&self.stats);
        stats.api.clear();
        stats.internal.clear();
    }

    /// Tell the watches something changed.
    pub fn notify(&self) {
        let rv = self.store().rv;
        self.changed.send_replace(rv);
    }

    pub fn hook(&self, name: &str) -> Option<Hook> {
        lock(&self.hooks).get(name).cloned()
    }
}

/// The running server; stopped when dropped. Its calls are [`Handle`]'s.
pub struct StandIn {
    handle: Handle,
    addr: std::net::SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StandIn {
    /// Serve the default resources on a free loopback port.
    pub fn start() -> StandIn {
        StandIn::with_config(Config::default())
    }

    /// Serve on a free loopback port.
    ///
    /// # Panics
    /// When no loopback port can be bound (tests only: [`StandIn::bind`]
    /// says it as an error).
    pub fn with_config(config: Config) -> StandIn {
        StandIn::bind(config, "127.0.0.1:0").expect("binding a loopback port")
    }

    /// Serve on `address` (`127.0.0.1:PORT`).
    pub fn bind(config: Config, address: &str) -> Result<StandIn, String> {
        let listener =
            std::net::TcpListener::bind(address).map_err(|e| format!("binding {address}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("binding {address}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("binding {address}: {e}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers.max(1))
            .thread_name("corral-standin")
            .enable_all()
            .build()
            .map_err(|e| format!("starting the server's runtime: {e}"))?;
        let store = store::Store::new(config.resources.clone(), config.history);
        let (changed, _) = tokio::sync::watch::channel(store.rv);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            changed,
            stats: Mutex::new(Stats::default()),
            hooks: Mutex::new(BTreeMap::new()),
            config,
        });
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("corral-standin".into())
            .spawn(move || {
                runtime.block_on(server::serve(serving, listener, stop));
                runtime.shutdown_background();
            })
            .map_err(|e| format!("starting the server's thread: {e}"))?;
        Ok(StandIn {
            handle: Handle { shared },
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn address(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Write a kubeconfig pointing at the server into `dir`; its path.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        // Tests' directories are theirs: a failure here is the test's.
        std::fs::write(&path, kubeconfig_text(&self.url()))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// The handle, for a thread of its own (the server stops with the
    /// `StandIn`, not with its handles).
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl std::ops::Deref for StandIn {
    type Target = Handle;

    fn deref(&self) -> &Handle {
        &self.handle
    }
}

/// The server's objects, statistics and hooks: what tests (and the
/// simulation) read and write directly.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// Serve `resource` too (a custom resource, or another `/status` rule).
    pub fn register(&self, resource: Resource) {
        self.shared.store().register(resource);
    }

    /// Run `hook` on `POST /standin/NAME`.
    pub fn hook(&self, name: &str, hook: Hook) {
        lock(&self.shared.hooks).insert(name.to_string(), hook);
    }

    fn resource_of(&self, object: &Value) -> Result<Resource, Status> {
        let (Some(api_version), Some(kind)) =
            (object["apiVersion"].as_str(), object["kind"].as_str())
        else {
            return Err(Status::bad_request("the object has no apiVersion or kind"));
        };
        self.shared
            .store()
            .find_kind(api_version, kind)
            .cloned()
            .ok_or_else(|| {
                Status::new(
                    404,
                    "NotFound",
                    format!("no resource serves {api_version} {kind}"),
                )
            })
    }

    fn resource(&self, name: &str) -> Result<Resource, Status> {
        self.shared
            .store()
            .find(name)
            .cloned()
            .ok_or_else(|| Status::new(404, "NotFound", format!("no resource {name}")))
    }

    fn write(
        &self,
        verb: &str,
        resource: &Resource,
        bytes_in: usize,
        write: impl FnOnce(&mut store::Store) -> Result<bytes::Bytes, Status>,
    ) -> Result<Value, Status> {
        let result = write(&mut self.shared.store());
        self.shared.notify();
        let out = result.as_ref().map_or(0, |b| b.len());
        self.shared
            .count(false, verb, &resource.name(), bytes_in as u64, out as u64);
        result.map(|b| serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    /// Server-side apply `object` (its apiVersion, kind, name and
    /// namespace say where); the object as stored.
    pub fn apply(&self, object: Value) -> Result<Value, Status> {
        let resource = self.resource_of(&object)?;
        let (namespace, name) = names(&resource, &object);
        let size = object.to_string().len();
        self.write("patch", &resource, size, |s| {
            s.patch(
                &resource,
                &namespace,
                &name,
                PatchKind::Apply,
                object,
                false,
            )
            .map(|(b, _)| b)
        })
    }

    /// Server-side apply `object`, as [`Handle::apply`], without reading
    /// the stored object back (bulk writers: the simulation's publishers).
    pub fn publish(&self, object: Value) -> Result<(), Status> {
        let resource = self.resource_of(&object)?;
        let (namespace, name) = names(&resource, &object);
        let size = object.to_string().len();
        let result = self.shared.store().patch(
            &resource,
            &namespace,
            &name,
            PatchKind::Apply,
            object,
            false,
        );
        self.shared.notify();
        let out = result.as_ref().map_or(0, |(b, _)| b.len());
        self.shared
            .count(false, "patch", &resource.name(), size as u64, out as u64);
        result.map(|_| ())
    }

    /// Server-side apply to the `/status` of `object`.
    pub fn apply_status(&self, object: Value) -> Result<Value, Status> {
        let resource = self.resource_of(&object)?;
        let (namespace, name) = names(&resource, &object);
        let size = object.to_string().len();
        self.write("patch", &resource, size, |s| {
            s.patch(&resource, &namespace, &name, PatchKind::Apply, object, true)
                .map(|(b, _)| b)
        })
    }

    /// Create `object` (409 when it exists).
    pub fn create(&self, object: Value) -> Result<Value, Status> {
        let resource = self.resource_of(&object)?;
        let (namespace, _) = names(&resource, &object);
        let size = object.to_string().len();
        self.write("create", &resource, size, |s| {
            s.create(&resource, &namespace, object)
        })
    }

    /// Replace `object` (409 on a stale metadata.resourceVersion).
    pub fn put(&self, object: Value) -> Result<Value, Status> {
        let resource = self.resource_of(&object)?;
        let (namespace, name) = names(&resource, &object);
        let size = object.to_string().len();
        self.write("update", &resource, size, |s| {
            s.update(&resource, &namespace, &name, object, false)
        })
    }

    /// Delete `namespace/name` of `resource` (`pods`, `recordings.corral.dev`;
    /// namespace empty for a cluster-wide one).
    pub fn delete(&self, resource: &str, namespace: &str, name: &str) -> Result<Value, Status> {
        let resource = self.resource(resource)?;
        self.write("delete", &resource, 0, |s| {
            s.delete(&resource, namespace, name)
        })
    }

    /// The object `namespace/name` of `resource`, if any.
    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let resource = self.resource(resource).ok()?;
        let bytes = self.shared.store().get(&resource, namespace, name)?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Every object of `resource`, in `namespace` or everywhere.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        let Ok(resource) = self.resource(resource) else {
            return Vec::new();
        };
        let store = self.shared.store();
        store
            .list(
                &resource,
                namespace,
                &selector::LabelSelector::default(),
                &selector::FieldSelector::default(),
                0,
                None,
            )
            .map(|l| {
                l.items
                    .iter()
                    .filter_map(|b| serde_json::from_slice(b).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many objects of `resource` are stored.
    pub fn count(&self, resource: &str) -> usize {
        self.resource(resource)
            .map(|r| self.shared.store().count(&r))
            .unwrap_or(0)
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store().rv
    }

    /// Make every resourceVersion so far too old for a watch (open
    /// watches get 410 Expired and end; their clients relist).
    pub fn expire_history(&self) {
        self.shared.store().expire();
        self.shared.notify();
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    pub fn reset_stats(&self) {
        self.shared.reset_stats()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// (namespace, name) of `object`; no namespace for a cluster-wide
/// resource.
fn names(resource: &Resource, object: &Value) -> (String, String) {
    let namespace = match object["metadata"]["namespace"].as_str() {
        Some(ns) if resource.namespaced => ns,
        _ => "",
    };
    (
        namespace.to_string(),
        object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// A kubeconfig whose one context points at `url` (plain HTTP).
pub fn kubeconfig_text(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: standin\n  cluster: {{server: \"{url}\"}}\nusers:\n- name: corral\n  user: {{token: standin}}\ncontexts:\n- name: standin\n  context: {{cluster: standin, user: corral, namespace: default}}\ncurrent-context: standin\n"
    )
}
