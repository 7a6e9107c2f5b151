//! Corral's live-cluster client: `corral snapshot` and `--cluster`. With
//! kube-rs and the user's kubeconfig (or the in-cluster service account),
//! it lists every kind Corral's commands read, page by page and kinds in
//! parallel, and returns them as one `v1 List` that every command takes as
//! input. What cannot be read is skipped with a warning that says why: a
//! forbidden kind names the RBAC verb and resource missing, an API group
//! the server does not serve is noted. A stale `continue` token (410 Gone)
//! restarts that list.
//!
//! The API server (or whatever answers in its place) is not trusted to be
//! well-behaved; every read is bounded (see [`Bounds`]):
//! - each request, its body included, has one deadline
//!   ([`Bounds::request_timeout`]): a server that dribbles its answer a
//!   byte at a time is cut off there;
//! - throttling (429, and 503/504) is retried at most [`MAX_RETRIES`]
//!   times, honouring `Retry-After`, but never waits past
//!   [`Bounds::retry_budget`] since the request's first try;
//! - a kind's list, all its pages together, may take at most
//!   [`Bounds::max_response_size`] bytes (a declared `Content-Length` above
//!   it is refused before reading), at most [`MAX_PAGES`] pages, and never
//!   the same `continue` token twice;
//! - at most [`MAX_CUSTOM_KINDS`] custom resources with pod templates are
//!   listed.
//!
//! A list past a size, page or token bound fails the whole snapshot: it is
//! never cut short silently. So does a success whose body is not a list
//! (HTML, invalid JSON): taken as the kind's objects, it would lie. Any
//! answer that is not the Kubernetes API (HTML, invalid JSON, a redirect)
//! and a TLS certificate the kubeconfig's CA did not sign are named as
//! such; refusals, redirects, timeouts and throttling skip the kind with a
//! warning. A snapshot of which no kind could be read is
//! an error, and [`Snapshot::check`] tells an analysis whether the kinds it
//! needs ([`Need`]) were read.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use http_body_util::BodyExt;
use kube::api::{ApiResource, DynamicObject, GetParams, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Status;
use kube::{Client, Config, Resource};
use serde_json::Value;

/// Where the cluster is and how far to look.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// A kubeconfig file; otherwise `KUBECONFIG` or `~/.kube/config`, and
    /// in a pod the in-cluster service account.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// The kubeconfig context; otherwise its current one.
    pub context: Option<String>,
    /// Namespaced kinds only in this namespace; otherwise in all.
    pub namespace: Option<String>,
    /// Each request's deadline, its body included;
    /// [`DEFAULT_REQUEST_TIMEOUT`] otherwise.
    pub timeout: Option<Duration>,
    /// How long one request may keep retrying throttling, from its first
    /// try; [`DEFAULT_RETRY_BUDGET`] otherwise.
    pub retry_budget: Option<Duration>,
    /// The most bytes one kind's list may take, all its pages together;
    /// [`DEFAULT_MAX_RESPONSE_SIZE`] otherwise.
    pub max_response_size: Option<u64>,
}

/// One kind to list: its API group, version, kind, plural, and whether it
/// is namespaced.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Kind {
    Kind {
        group,
        version,
        kind,
        plural,
        namespaced,
    }
}

/// Every kind Corral's commands read. Secrets are listed for their names
/// and types only (their data is dropped here, never written); the
/// `aws-auth` ConfigMap is read by name.
pub const KINDS: &[Kind] = &[
    kind("", "v1", "Namespace", "namespaces", false),
    kind("", "v1", "Node", "nodes", false),
    kind("", "v1", "Pod", "pods", true),
    kind(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
    ),
    kind("", "v1", "ServiceAccount", "serviceaccounts", true),
    kind("", "v1", "Service", "services", true),
    kind("", "v1", "Secret", "secrets", true),
    kind("apps", "v1", "Deployment", "deployments", true),
    kind("apps", "v1", "DaemonSet", "daemonsets", true),
    kind("apps", "v1", "StatefulSet", "statefulsets", true),
    kind("apps", "v1", "ReplicaSet", "replicasets", true),
    kind("batch", "v1", "Job", "jobs", true),
    kind("batch", "v1", "CronJob", "cronjobs", true),
    kind("rbac.authorization.k8s.io", "v1", "Role", "roles", true),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    kind(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    kind(
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        true,
    ),
    kind(
        "policy",
        "v1beta1",
        "PodSecurityPolicy",
        "podsecuritypolicies",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        false,
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
    ),
    kind(
        "certificates.k8s.io",
        "v1",
        "CertificateSigningRequest",
        "certificatesigningrequests",
        false,
    ),
    kind(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
];

/// Where a custom resource's schema holds a pod template, as Corral's
/// model reads them by default (`spec.template`, and a CronJob-like
/// `spec.jobTemplate.spec.template`).
const TEMPLATE_SCHEMAS: [&[&str]; 2] = [
    &["spec", "template", "spec", "containers"],
    &[
        "spec",
        "jobTemplate",
        "spec",
        "template",
        "spec",
        "containers",
    ],
];

/// Objects listed at a time.
const PAGE: u32 = 500;
/// Kinds listed at once.
const PARALLEL: usize = 8;
/// Restarts of one list after its continue token expired (410 Gone).
const RESTARTS: usize = 3;

/// A request's deadline, its body included, unless the target sets one.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a request may keep retrying throttling, from its first try,
/// unless the target sets it.
pub const DEFAULT_RETRY_BUDGET: Duration = Duration::from_secs(30);
/// The most bytes a kind's list may take, all its pages together, unless
/// the target sets it: 512 MiB.
pub const DEFAULT_MAX_RESPONSE_SIZE: u64 = 512 << 20;
/// Retries of one request the API server throttled (429) or said it was
/// unavailable (503, 504).
pub const MAX_RETRIES: u32 = 5;
/// Pages of one list: 500 objects each, so half a million objects of a
/// kind.
pub const MAX_PAGES: usize = 1000;
/// Custom resources with a pod template listed (their definitions come
/// from the server too).
pub const MAX_CUSTOM_KINDS: usize = 100;
/// The first wait before retrying a throttled request without
/// `Retry-After`; it doubles with each retry.
const BACKOFF: Duration = Duration::from_millis(500);

/// The bounds on reading a cluster, whatever the server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// One request's deadline, from sending it to the last byte of its
    /// body; past it the request fails (and is not retried).
    pub request_timeout: Duration,
    /// How long, from a request's first try, it may keep retrying a
    /// throttled answer: a `Retry-After` (or backoff) that would end past
    /// it is not waited for.
    pub retry_budget: Duration,
    /// The most bytes of one kind's list, all its pages together.
    pub max_response_size: u64,
}

impl Bounds {
    /// The target's bounds, with the defaults for those it does not set.
    pub fn of(target: &Target) -> Bounds {
        Bounds {
            request_timeout: target.timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            retry_budget: target.retry_budget.unwrap_or(DEFAULT_RETRY_BUDGET),
            max_response_size: target
                .max_response_size
                .unwrap_or(DEFAULT_MAX_RESPONSE_SIZE),
        }
    }
}

/// What the snapshot holds, and what could not be read.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every object, with its apiVersion and kind, sorted by kind (in
    /// `KINDS` order), namespace and name.
    pub objects: Vec<Value>,
    /// Kinds skipped, and why, in `KINDS` order.
    pub warnings: Vec<String>,
    /// The kinds listed in full (an empty list counts: the cluster has
    /// none), in `KINDS` order, then the custom resources.
    pub read: Vec<String>,
}

impl Snapshot {
    /// The snapshot as one `v1 List`, the shape `kubectl get -o json`
    /// writes.
    pub fn list(&self) -> Value {
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": self.objects})
    }

    /// Whether an analysis has what it `needs`: for each need, at least one
    /// of its kinds read. `analysis` names it in the error.
    pub fn check(&self, analysis: &str, needs: &[Need]) -> Result<(), ClusterError> {
        for need in needs {
            if !need.kinds.iter().any(|k| self.read.iter().any(|r| r == k)) {
                return Err(ClusterError(format!(
                    "{analysis} needs {} ({}) and none could be read from the cluster (see the warnings): no result rather than a wrong one",
                    need.what,
                    need.kinds.join(", ")
                )));
            }
        }
        Ok(())
    }
}

/// Kinds an analysis cannot do without: at least one of them must be read.
#[derive(Clone, Copy, Debug)]
pub struct Need {
    /// What they are, for the error.
    pub what: &'static str,
    pub kinds: &'static [&'static str],
}

/// Pods, or the workloads whose templates make them.
pub const PODS_OR_WORKLOADS: Need = Need {
    what: "pods or workloads",
    kinds: &[
        "Pod",
        "Deployment",
        "DaemonSet",
        "StatefulSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
    ],
};
/// RBAC roles.
pub const RBAC_ROLES: Need = Need {
    what: "RBAC roles",
    kinds: &["Role", "ClusterRole"],
};
/// RBAC bindings.
pub const RBAC_BINDINGS: Need = Need {
    what: "RBAC bindings",
    kinds: &["RoleBinding", "ClusterRoleBinding"],
};
/// PodSecurityPolicies, or (where PSPs are gone) pods and workloads.
pub const PSPS_OR_PODS: Need = Need {
    what: "PodSecurityPolicies, pods or workloads",
    kinds: &[
        "PodSecurityPolicy",
        "Pod",
        "Deployment",
        "DaemonSet",
        "StatefulSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
    ],
};

/// Why the cluster could not be read, or a snapshot would be wrong.
#[derive(Debug)]
pub struct ClusterError(pub String);

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The kubeconfig (file, context), or, with none, the pod's in-cluster
/// service account, as kubectl reads them; the target's timeout to
/// connect.
pub async fn config(target: &Target) -> Result<Config, ClusterError> {
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..KubeConfigOptions::default()
    };
    let mut config = match &target.kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| ClusterError(format!("{}: {e}", path.display())))?;
            Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| ClusterError(format!("{}: {e}", path.display())))?
        }
        None if target.context.is_some() => Config::from_kubeconfig(&options)
            .await
            .map_err(|e| ClusterError(format!("kubeconfig: {e}")))?,
        None => Config::infer().await.map_err(|e| {
            ClusterError(format!(
                "no kubeconfig (KUBECONFIG or ~/.kube/config) and not in a pod: {e}"
            ))
        })?,
    };
    if let Some(timeout) = target.timeout {
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        // From the request, not from when its pooled connection went idle.
        config.reset_reader_on_write = true;
    }
    Ok(config)
}

/// A client as kubectl would build one: the kubeconfig (file, context),
/// or, with none, the pod's in-cluster service account. It keeps kube-rs's
/// retry layer; [`snapshot_blocking`] reads with its own client, whose
/// retries are Corral's bounded ones.
pub async fn client(target: &Target) -> Result<Client, ClusterError> {
    let config = config(target).await?;
    Client::try_from(config).map_err(|e| ClusterError(format!("cluster client: {e}")))
}

/// The API resource of a kind, for kube-rs's dynamic API.
fn resource(kind: &Kind) -> ApiResource {
    let api_version = if kind.group.is_empty() {
        kind.version.to_string()
    } else {
        format!("{}/{}", kind.group, kind.version)
    };
    ApiResource {
        group: kind.group.into(),
        version: kind.version.into(),
        api_version,
        kind: kind.kind.into(),
        plural: kind.plural.into(),
    }
}

/// Why one read failed.
#[derive(Debug)]
enum Failure {
    /// The API server answered with a `Status`: 403, 404, 410, 500...
    Api(Box<Status>),
    /// Anything else that skips the kind: a timeout, throttling past the
    /// bounds, an answer that is not the Kubernetes API, a connection or
    /// TLS failure. The text says which.
    Skip(String),
    /// A bound on the list's size, pages or tokens: the snapshot would be
    /// cut short, so it fails. The text says which, without the kind.
    Bound(String),
    /// A success whose body is not what was asked for (HTML, invalid
    /// JSON, JSON that is not a list): taken as the kind's objects it
    /// would lie, so the snapshot fails. The text says which.
    Untrue(String),
}

/// The warning for a kind that could not be listed.
fn skipped(resource: &ApiResource, scope: &str, failure: &Failure) -> String {
    let name = if resource.group.is_empty() {
        resource.plural.clone()
    } else {
        format!("{}.{}", resource.plural, resource.group)
    };
    match failure {
        Failure::Api(status) if status.code == 403 => format!(
            "{} skipped: forbidden; Corral needs `list` on {name} {scope} ({})",
            resource.kind, status.message
        ),
        Failure::Api(status) if status.code == 404 => format!(
            "{} skipped: the server does not serve {}/{} (not installed, or removed in this Kubernetes version)",
            resource.kind,
            if resource.group.is_empty() { "core" } else { &resource.group },
            resource.version
        ),
        Failure::Api(status) => {
            let mut answer = format!("{} skipped: the API server answered {}", resource.kind, status.code);
            for (separator, part) in [(" ", &status.reason), (": ", &status.message)] {
                if !part.trim().is_empty() {
                    answer.push_str(separator);
                    answer.push_str(part.trim());
                }
            }
            answer
        }
        Failure::Skip(why) | Failure::Bound(why) | Failure::Untrue(why) => {
            format!("{} skipped: {why}", resource.kind)
        }
    }
}

/// A duration as the options take it: `90s`, `1500ms`.
fn seconds(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// Bytes as the help gives them, with the exact count.
fn bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB ({n} bytes)", n >> 20)
    } else {
        format!("{n} bytes")
    }
}

/// Whether an answer is an HTML page: by its type, or by its first byte.
fn is_html(content_type: &str, body: &[u8]) -> bool {
    content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("text/html")
        || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// A page of a list: what Corral reads of it. Parsed as it streams (kube's
/// `ObjectList` flattens its type fields, which buffers the whole page
/// again first), and `items` must be there (`null` is an empty list).
#[derive(serde::Deserialize)]
struct Page {
    /// `PodList` for pods, and so on (`List` is taken too).
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: PageMeta,
    #[serde(deserialize_with = "null_as_empty")]
    items: Vec<DynamicObject>,
}

#[derive(Default, serde::Deserialize)]
struct PageMeta {
    /// The token for the next page.
    #[serde(default, rename = "continue")]
    next: Option<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<DynamicObject>, D::Error> {
    Ok(
        <Option<Vec<DynamicObject>> as serde::Deserialize>::deserialize(deserializer)?
            .unwrap_or_default(),
    )
}

/// The outcome of one try of a request.
enum Try {
    /// A body, complete, and whether it was declared HTML.
    Answer(Vec<u8>, bool),
    /// Throttled or unavailable: its status, and the `Retry-After` asked.
    Busy(u16, Option<Duration>),
    Failed(Failure),
}

/// Reads the cluster through a client, within bounds, naming the server in
/// what it says.
struct Reader<'a> {
    client: &'a Client,
    /// "the server at URL", or "the API server" when the URL is unknown.
    server: String,
    bounds: Bounds,
}

impl Reader<'_> {
    /// A request's body, at most `limit` bytes, retrying throttling within
    /// the bounds.
    async fn fetch(&self, uri: &http::Uri, limit: u64) -> Result<(Vec<u8>, bool), Failure> {
        let first = Instant::now();
        let mut busy = 0;
        loop {
            let tried =
                tokio::time::timeout(self.bounds.request_timeout, self.try_once(uri, limit))
                    .await
                    .unwrap_or_else(|_| {
                        Try::Failed(Failure::Skip(format!(
                            "{} did not answer in full within {} (--request-timeout)",
                            self.server,
                            seconds(self.bounds.request_timeout)
                        )))
                    });
            match tried {
                Try::Answer(body, html) => return Ok((body, html)),
                Try::Failed(failure) => return Err(failure),
                Try::Busy(code, retry_after) => {
                    busy += 1;
                    let answer = match code {
                        429 => "429 Too Many Requests",
                        503 => "503 Service Unavailable",
                        _ => "504 Gateway Timeout",
                    };
                    if busy > MAX_RETRIES {
                        return Err(Failure::Skip(format!(
                            "{} answered {answer} {busy} times in a row; Corral retries at most {MAX_RETRIES} times",
                            self.server
                        )));
                    }
                    let wait = retry_after.unwrap_or(BACKOFF.saturating_mul(1 << (busy - 1)));
                    let ends = first.elapsed().saturating_add(wait);
                    if ends > self.bounds.retry_budget {
                        let asked = match retry_after {
                            Some(after) => format!("asked to retry after {} s", after.as_secs()),
                            None => format!("the next retry would wait {}", seconds(wait)),
                        };
                        return Err(Failure::Skip(format!(
                            "{} answered {answer} and {asked}, past the retry budget of {} (--retry-budget)",
                            self.server,
                            seconds(self.bounds.retry_budget)
                        )));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One try of a GET, its body read up to `limit` bytes.
    async fn try_once(&self, uri: &http::Uri, limit: u64) -> Try {
        let request = match http::Request::get(uri.clone()).body(kube::client::Body::empty()) {
            Ok(request) => request,
            Err(e) => return Try::Failed(Failure::Skip(format!("request for {uri}: {e}"))),
        };
        let response = match self.client.send(request).await {
            Ok(response) => response,
            Err(e) => return Try::Failed(Failure::Skip(self.unreachable(&e))),
        };
        // Apart: the body is not `Sync`, and the read below must stay `Send`.
        let (parts, mut body) = response.into_parts();
        let status = parts.status;
        let header = |name: http::header::HeaderName| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        if matches!(status.as_u16(), 429 | 503 | 504) {
            let retry_after = header(http::header::RETRY_AFTER)
                .trim()
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
            return Try::Busy(status.as_u16(), retry_after);
        }
        if status.is_redirection() {
            let location = header(http::header::LOCATION);
            return Try::Failed(Failure::Skip(format!(
                "{} answered a redirect ({status}) to {}, which the Kubernetes API never does (a proxy or login page?)",
                self.server,
                if location.is_empty() { "nowhere" } else { &location }
            )));
        }
        let content_type = header(http::header::CONTENT_TYPE);
        let declared = header(http::header::CONTENT_LENGTH)
            .trim()
            .parse::<u64>()
            .ok();
        if declared.is_some_and(|length| length > limit) {
            return Try::Failed(Failure::Bound(format!(
                "{} declared an answer of {} bytes",
                self.server,
                declared.unwrap_or_default()
            )));
        }
        // A declared length within the bound is room made once.
        let mut read: Vec<u8> =
            Vec::with_capacity(declared.map_or(0, |length| usize::try_from(length).unwrap_or(0)));
        while let Some(frame) = body.frame().await {
            let frame = match frame {
                Ok(frame) => frame,
                Err(e) => return Try::Failed(Failure::Skip(self.unreachable(&e))),
            };
            if let Ok(data) = frame.into_data() {
                if read.len() as u64 + data.len() as u64 > limit {
                    return Try::Failed(Failure::Bound(format!(
                        "{} sent more than {limit} bytes",
                        self.server
                    )));
                }
                read.extend_from_slice(&data);
            }
        }
        let html = is_html(&content_type, &read);
        if status.is_success() {
            return Try::Answer(read, html);
        }
        // The API server's errors are `Status` objects.
        match serde_json::from_slice::<Status>(&read) {
            Ok(mut api) if !html => {
                if api.code == 0 {
                    api.code = status.as_u16();
                }
                Try::Failed(Failure::Api(Box::new(api)))
            }
            _ if html => Try::Failed(Failure::Skip(format!(
                "{} answered {status} with HTML, not the Kubernetes API (a proxy or login page?)",
                self.server
            ))),
            _ => Try::Failed(Failure::Skip(format!(
                "{} answered {status} without a Kubernetes Status: {}",
                self.server,
                excerpt(&read)
            ))),
        }
    }

    /// Why the server could not be reached, through the error's causes:
    /// a TLS certificate refused is named as such.
    fn unreachable(&self, error: &(dyn std::error::Error + 'static)) -> String {
        let mut causes = Vec::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = next {
            let text = as_rustls(e).map_or_else(|| e.to_string(), |tls| tls.to_string());
            if let Some(refused) = tls_refused(&text) {
                return format!("{} {refused}", self.server);
            }
            if !causes.iter().any(|c: &String| c.contains(&text)) {
                causes.push(text);
            }
            next = e.source();
        }
        format!(
            "{} could not be reached: {}",
            self.server,
            causes.join(": ")
        )
    }

    /// A page of a list, parsed: HTML and invalid JSON are named.
    fn page(&self, body: &[u8], html: bool) -> Result<Page, Failure> {
        if html {
            return Err(Failure::Untrue(format!(
                "{} answered HTML, not the Kubernetes API (a proxy or login page?)",
                self.server
            )));
        }
        serde_json::from_slice(body).map_err(|e| {
            Failure::Untrue(match e.classify() {
                serde_json::error::Category::Data => format!(
                    "{} answered JSON that is not a Kubernetes list ({e})",
                    self.server
                ),
                _ => format!(
                    "{} answered invalid JSON, not the Kubernetes API ({e}): {}",
                    self.server,
                    excerpt(body)
                ),
            })
        })
    }

    /// Every object of one resource, page by page; a list whose continue
    /// token expired (410 Gone) starts again.
    async fn list_all(
        &self,
        resource: &ApiResource,
        namespace: Option<&str>,
    ) -> Result<Vec<DynamicObject>, Failure> {
        let path = DynamicObject::url_path(resource, namespace);
        let request = kube::core::Request::new(&path);
        let limit = self.bounds.max_response_size;
        let mut restarts = 0;
        'restart: loop {
            let mut items = Vec::new();
            let mut left = limit;
            let mut tokens = HashSet::new();
            let mut params = ListParams::default().limit(PAGE);
            for _ in 0..MAX_PAGES {
                let uri = request
                    .list(&params)
                    .map_err(|e| Failure::Skip(format!("list request: {e}")))?
                    .uri()
                    .clone();
                let (body, html) = match self.fetch(&uri, left).await {
                    Ok(answer) => answer,
                    Err(Failure::Api(status)) if status.code == 410 && restarts < RESTARTS => {
                        restarts += 1;
                        continue 'restart;
                    }
                    Err(Failure::Bound(_)) => {
                        return Err(Failure::Bound(format!(
                            "its list is larger than {} (--max-response-size)",
                            bytes(limit)
                        )))
                    }
                    Err(e) => return Err(e),
                };
                left = left.saturating_sub(body.len() as u64);
                let page = self.page(&body, html)?;
                drop(body);
                // Another kind's list taken for this one would be a lie
                // (pods read as none): the list, and each item that says
                // its kind, must be of the kind asked for.
                let list_kind = format!("{}List", resource.kind);
                let other_list = page
                    .kind
                    .as_deref()
                    .filter(|kind| *kind != list_kind && *kind != "List");
                let other_item = page.items.iter().find_map(|item| {
                    item.types
                        .as_ref()
                        .map(|t| t.kind.as_str())
                        .filter(|kind| !kind.is_empty() && *kind != resource.kind)
                });
                if let Some(kind) = other_list.or(other_item) {
                    return Err(Failure::Untrue(format!(
                        "{} answered a {kind} where a {list_kind} was asked for",
                        self.server
                    )));
                }
                items.extend(page.items);
                match page.metadata.next.filter(|c| !c.is_empty()) {
                    Some(token) if !tokens.insert(token.clone()) => {
                        return Err(Failure::Bound(format!(
                            "{} sent the continue token {:?} twice: a list that never ends",
                            self.server,
                            excerpt(token.as_bytes())
                        )))
                    }
                    Some(token) => params = params.continue_token(&token),
                    None => return Ok(items),
                }
            }
            return Err(Failure::Bound(format!(
                "{} sent more than {MAX_PAGES} pages of {PAGE}: a list that never ends",
                self.server
            )));
        }
    }

    /// Every object of one resource, sorted by namespace and name, as
    /// manifests.
    async fn read(
        &self,
        resource: &ApiResource,
        namespace: Option<&str>,
    ) -> Result<Vec<Value>, Failure> {
        let mut objects: Vec<Value> = self
            .list_all(resource, namespace)
            .await?
            .into_iter()
            .map(|o| manifest(resource, o))
            .collect();
        objects.sort_by_key(sort_key);
        Ok(objects)
    }

    /// The aws-auth ConfigMap (EKS), read by name: `None` when there is
    /// none.
    async fn aws_auth(&self) -> Result<Option<Value>, Failure> {
        let resource = resource(&kind("", "v1", "ConfigMap", "configmaps", true));
        let path = DynamicObject::url_path(&resource, Some("kube-system"));
        let uri = kube::core::Request::new(&path)
            .get("aws-auth", &GetParams::default())
            .map_err(|e| Failure::Skip(format!("get request: {e}")))?
            .uri()
            .clone();
        let (body, html) = match self.fetch(&uri, self.bounds.max_response_size).await {
            Ok(answer) => answer,
            Err(Failure::Api(status)) if status.code == 404 => return Ok(None),
            Err(Failure::Bound(_)) => {
                return Err(Failure::Bound(format!(
                    "it is larger than {} (--max-response-size)",
                    bytes(self.bounds.max_response_size)
                )))
            }
            Err(e) => return Err(e),
        };
        if html {
            return Err(Failure::Untrue(format!(
                "{} answered HTML, not the Kubernetes API (a proxy or login page?)",
                self.server
            )));
        }
        let object: DynamicObject = serde_json::from_slice(&body).map_err(|e| {
            Failure::Untrue(format!(
                "{} answered what is not a ConfigMap ({e})",
                self.server
            ))
        })?;
        Ok(Some(manifest(&resource, object)))
    }
}

/// The start of a body, for a message: at most 80 characters, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(80)]);
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.len() > 80 {
        format!("{}...", line.trim())
    } else {
        line.trim().to_string()
    }
}

/// The TLS error among an error's causes: rustls's own, or inside an I/O
/// error (whose `source` skips it).
fn as_rustls<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    error
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

/// What a certificate rustls refused means for the user, from rustls's
/// own words (`invalid peer certificate: UnknownIssuer`): the layers
/// between it and kube-rs do not all keep its type.
fn tls_refused(text: &str) -> Option<String> {
    let (_, cause) = text.split_once("invalid peer certificate: ")?;
    let starts = |variants: &[&str]| variants.iter().any(|v| cause.starts_with(v));
    Some(if starts(&["UnknownIssuer", "BadSignature"]) {
        // A certificate naming the cluster's CA as its issuer but not
        // signed with its key is refused as a bad signature.
        "presented a TLS certificate not signed by the cluster's CA from the kubeconfig (certificate-authority-data, or the system's CAs when it names none): a man in the middle, or the wrong kubeconfig?".to_string()
    } else if starts(&["NotValidForName"]) {
        "presented a TLS certificate for another name than the kubeconfig's server".to_string()
    } else if starts(&["Expired"]) {
        "presented an expired TLS certificate".to_string()
    } else if starts(&["NotValidYet"]) {
        "presented a TLS certificate not valid yet (is the clock right?)".to_string()
    } else {
        format!("presented a TLS certificate that was refused ({cause})")
    })
}

/// An object as a manifest: its type set (lists leave it out), managed
/// fields dropped, and a Secret's data never kept.
fn manifest(resource: &ApiResource, object: DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    let secret = resource.kind == "Secret" && resource.group.is_empty();
    if let Value::Object(map) = &mut value {
        map.insert(
            "apiVersion".into(),
            Value::String(resource.api_version.clone()),
        );
        map.insert("kind".into(), Value::String(resource.kind.clone()));
        if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
            metadata.remove("managedFields");
            if secret {
                // The last applied configuration holds the data too.
                if let Some(Value::Object(annotations)) = metadata.get_mut("annotations") {
                    annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
                }
            }
        }
        if secret {
            map.remove("data");
            map.remove("stringData");
        }
    }
    value
}

fn sort_key(value: &Value) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    (
        text(&value["metadata"]["namespace"]),
        text(&value["metadata"]["name"]),
    )
}

/// The custom resources with a pod template that the cluster's CRDs
/// define: for each, its served version whose OpenAPI schema has one
/// (the storage version first).
fn templated_resources(crds: &[Value]) -> Vec<(ApiResource, bool)> {
    let mut found = Vec::new();
    for crd in crds {
        let spec = &crd["spec"];
        let (Some(group), Some(kind), Some(plural)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
        ) else {
            continue;
        };
        let mut versions: Vec<&Value> = spec["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["served"] == true)
            .collect();
        versions.sort_by_key(|v| v["storage"] != true);
        let templated = versions.into_iter().find(|v| {
            TEMPLATE_SCHEMAS.iter().any(|path| {
                path.iter()
                    .try_fold(&v["schema"]["openAPIV3Schema"], |schema, key| {
                        let next = &schema["properties"][*key];
                        (!next.is_null()).then_some(next)
                    })
                    .is_some()
            })
        });
        if let Some(version) = templated.and_then(|v| v["name"].as_str()) {
            let resource = ApiResource {
                group: group.into(),
                version: version.into(),
                api_version: format!("{group}/{version}"),
                kind: kind.into(),
                plural: plural.into(),
            };
            found.push((resource, spec["scope"] == "Namespaced"));
        }
    }
    found
}

/// Snapshot the cluster: every kind in `KINDS` (namespaced ones in
/// `target.namespace` when given) and the aws-auth ConfigMap, within the
/// target's [`Bounds`]. `progress` is called as each kind is done, with
/// its name. Fails when nothing could be read, or when a list broke a
/// bound (size, pages, continue token), or a success answered what is not
/// the Kubernetes API: the snapshot would be incomplete or wrong.
pub async fn snapshot(
    client: &Client,
    target: &Target,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Snapshot, ClusterError> {
    let reader = Reader {
        client,
        server: "the API server".into(),
        bounds: Bounds::of(target),
    };
    read_cluster(&reader, target, progress).await
}

async fn read_cluster(
    reader: &Reader<'_>,
    target: &Target,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Snapshot, ClusterError> {
    let scope = match &target.namespace {
        Some(ns) => format!("in namespace {ns}"),
        None => "cluster-wide".to_string(),
    };
    let in_scope = |namespaced: bool| {
        if namespaced {
            scope.as_str()
        } else {
            "cluster-wide"
        }
    };
    let namespace = |namespaced: bool| target.namespace.as_deref().filter(|_| namespaced);
    // By index: a `&'static Kind` keeps the future `Send` for any caller
    // (the operator's controller needs it).
    let mut lists = stream::iter(0..KINDS.len())
        .map(|index| async move {
            let kind: &'static Kind = &KINDS[index];
            let resource = resource(kind);
            let listed = reader.read(&resource, namespace(kind.namespaced)).await;
            progress(kind.kind);
            (index, kind.namespaced, resource, listed)
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;
    lists.sort_by_key(|(index, _, _, _)| *index);
    let mut snapshot = Snapshot::default();
    let mut fatal = Vec::new();
    let take = |snapshot: &mut Snapshot,
                fatal: &mut Vec<String>,
                resource: &ApiResource,
                namespaced: bool,
                listed: Result<Vec<Value>, Failure>| match listed {
        Ok(objects) => {
            snapshot.objects.extend(objects);
            snapshot.read.push(resource.kind.clone());
        }
        Err(Failure::Bound(why) | Failure::Untrue(why)) => {
            fatal.push(format!("{}: {why}", resource.kind))
        }
        Err(failure) => snapshot
            .warnings
            .push(skipped(resource, in_scope(namespaced), &failure)),
    };
    for (_, namespaced, resource, listed) in lists {
        take(&mut snapshot, &mut fatal, &resource, namespaced, listed);
    }
    if let Some(first) = fatal.first() {
        return Err(ClusterError(format!(
            "{first}; no snapshot rather than an incomplete or wrong one"
        )));
    }
    if snapshot.read.is_empty() {
        return Err(ClusterError(format!(
            "nothing could be read from the cluster: all {} lists failed ({})",
            KINDS.len(),
            snapshot.warnings.first().cloned().unwrap_or_default()
        )));
    }
    // Custom resources with pod templates, found from their definitions.
    let crds: Vec<Value> = snapshot
        .objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .cloned()
        .collect();
    let mut custom = templated_resources(&crds);
    if custom.len() > MAX_CUSTOM_KINDS {
        snapshot.warnings.push(format!(
            "{} custom resources with pod templates not read: Corral lists at most {MAX_CUSTOM_KINDS}",
            custom.len() - MAX_CUSTOM_KINDS
        ));
        custom.truncate(MAX_CUSTOM_KINDS);
    }
    let mut lists = stream::iter(custom.into_iter().enumerate())
        .map(|(index, (resource, namespaced))| async move {
            let listed = reader.read(&resource, namespace(namespaced)).await;
            (index, namespaced, resource, listed)
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;
    lists.sort_by_key(|(index, _, _, _)| *index);
    for (_, namespaced, resource, listed) in lists {
        take(&mut snapshot, &mut fatal, &resource, namespaced, listed);
    }
    match reader.aws_auth().await {
        Ok(Some(map)) => snapshot.objects.push(map),
        Ok(None) => {}
        Err(Failure::Bound(why) | Failure::Untrue(why)) => {
            fatal.push(format!("ConfigMap aws-auth: {why}"))
        }
        Err(failure) => {
            let resource = resource(&kind("", "v1", "ConfigMap", "configmaps", true));
            snapshot.warnings.push(
                skipped(&resource, "for aws-auth in kube-system", &failure)
                    .replacen("`list`", "`get`", 1),
            )
        }
    }
    progress("ConfigMap");
    if let Some(first) = fatal.first() {
        return Err(ClusterError(format!(
            "{first}; no snapshot rather than an incomplete or wrong one"
        )));
    }
    Ok(snapshot)
}

/// The async runtime the cluster's client runs on, for synchronous
/// callers.
pub fn runtime() -> Result<tokio::runtime::Runtime, ClusterError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError(format!("async runtime: {e}")))
}

/// `snapshot` from synchronous code: its own runtime, and its own client,
/// without kube-rs's retry layer (which would wait as long as a
/// `Retry-After` asks): Corral's bounded retries take its place.
pub fn snapshot_blocking(
    target: &Target,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Snapshot, ClusterError> {
    runtime()?.block_on(async {
        let mut config = config(target).await?;
        config.default_retry = false;
        // Each request's one deadline covers its reads; hyper's read
        // timeout would also count the time its pooled connection sat idle
        // (a retry's wait, say) against the next answer.
        config.read_timeout = None;
        let server = format!("the server at {}", config.cluster_url);
        let client =
            Client::try_from(config).map_err(|e| ClusterError(format!("cluster client: {e}")))?;
        let reader = Reader {
            client: &client,
            server,
            bounds: Bounds::of(target),
        };
        read_cluster(&reader, target, progress).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_keep_their_names_and_types_only() {
        let kind = KINDS.iter().find(|k| k.kind == "Secret").unwrap();
        let object: DynamicObject = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "db", "namespace": "shop", "managedFields": [{}],
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
            "type": "Opaque",
            "data": {"password": "aHVudGVyMg=="}
        }))
        .unwrap();
        let value = manifest(&resource(kind), object);
        assert_eq!(value["apiVersion"], "v1");
        assert_eq!(value["kind"], "Secret");
        assert_eq!(value["type"], "Opaque");
        assert_eq!(value["metadata"]["name"], "db");
        assert!(value.get("data").is_none());
        assert!(value["metadata"].get("managedFields").is_none());
        assert!(!value.to_string().contains("aHVudGVyMg=="));
    }

    #[test]
    fn warnings_name_what_is_missing() {
        let kind = KINDS.iter().find(|k| k.kind == "Role").unwrap();
        let status = |code: u16| {
            Failure::Api(Box::new(kube::core::Status {
                code,
                message: "denied".into(),
                ..kube::core::Status::default()
            }))
        };
        assert_eq!(
            skipped(&resource(kind), "cluster-wide", &status(403)),
            "Role skipped: forbidden; Corral needs `list` on roles.rbac.authorization.k8s.io cluster-wide (denied)"
        );
        assert!(skipped(&resource(kind), "cluster-wide", &status(404))
            .contains("does not serve rbac.authorization.k8s.io/v1"));
        assert_eq!(
            skipped(&resource(kind), "cluster-wide", &status(500)),
            "Role skipped: the API server answered 500: denied"
        );
    }

    #[test]
    fn refused_certificates_say_why() {
        let says = |text: &str| tls_refused(text).unwrap_or_default();
        for refused in [
            "client error (Connect): invalid peer certificate: UnknownIssuer",
            "invalid peer certificate: BadSignature",
        ] {
            assert!(says(refused).starts_with(
                "presented a TLS certificate not signed by the cluster's CA from the kubeconfig"
            ));
        }
        assert!(
            says("invalid peer certificate: NotValidForNameContext { expected: .. }")
                .contains("for another name")
        );
        assert!(says("invalid peer certificate: ExpiredContext { .. }").contains("expired"));
        assert!(says("invalid peer certificate: Revoked").contains("refused (Revoked)"));
        assert_eq!(tls_refused("connection refused"), None);
        assert_eq!(
            tls_refused(
                &rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
                    .to_string()
            )
            .map(|m| m.contains("cluster's CA")),
            Some(true)
        );
    }

    #[test]
    fn an_analysis_needs_one_kind_of_each_need_read() {
        let snapshot = Snapshot {
            read: vec!["Namespace".into(), "Deployment".into()],
            ..Snapshot::default()
        };
        assert!(snapshot.check("scan", &[PODS_OR_WORKLOADS]).is_ok());
        assert!(snapshot.check("inventory", &[]).is_ok());
        let error = snapshot
            .check("paths", &[PODS_OR_WORKLOADS, RBAC_ROLES, RBAC_BINDINGS])
            .unwrap_err();
        assert_eq!(
            error.0,
            "paths needs RBAC roles (Role, ClusterRole) and none could be read from the cluster (see the warnings): no result rather than a wrong one"
        );
        assert!(Snapshot::default()
            .check("psp map", &[PSPS_OR_PODS])
            .is_err());
    }

    #[test]
    fn a_page_needs_its_items() {
        let page: Page = serde_json::from_str(
            r#"{"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": "next", "resourceVersion": "1"},
                "items": [{"metadata": {"name": "web"}, "spec": {}}]}"#,
        )
        .unwrap();
        assert_eq!(page.metadata.next.as_deref(), Some("next"));
        assert_eq!(page.items.len(), 1);
        let empty: Page = serde_json::from_str(r#"{"items": null}"#).unwrap();
        assert!(empty.items.is_empty() && empty.metadata.next.is_none());
        assert!(serde_json::from_str::<Page>(r#"{"hello": "world"}"#).is_err());
    }

    #[test]
    fn bounds_default_and_show_as_the_options_take_them() {
        assert_eq!(
            Bounds::of(&Target::default()),
            Bounds {
                request_timeout: Duration::from_secs(60),
                retry_budget: Duration::from_secs(30),
                max_response_size: 512 << 20,
            }
        );
        assert_eq!(seconds(Duration::from_secs(3)), "3s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1500ms");
        assert_eq!(bytes(8 << 20), "8 MiB (8388608 bytes)");
        assert_eq!(bytes(1000), "1000 bytes");
        assert!(is_html("text/html; charset=utf-8", b"{}"));
        assert!(is_html("application/json", b"\n  <!DOCTYPE html>"));
        assert!(!is_html("application/json", b"{\"items\": []}"));
        assert_eq!(excerpt(b"line\none"), "line one");
        assert_eq!(excerpt(&[b'x'; 100]).len(), 83);
    }
}
