//! HTTP: routing, lists, watches, discovery and the accounting.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Frame, Incoming};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{EventType, PatchKind, Resource, Status};
use crate::Shared;

/// The longest watch, whatever `timeoutSeconds` asks.
const MAX_WATCH_SECONDS: u64 = 3600;
/// kube-rs's default, when a watch names none.
const DEFAULT_WATCH_SECONDS: u64 = 290;
/// The most items one list page holds when `limit` asks more.
const MAX_LIMIT: usize = 100_000;

/// A whole body, or a watch's stream.
pub enum Body {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            Body::Full(bytes) => {
                hyper::body::SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Body::Stream(_) => hyper::body::SizeHint::default(),
        }
    }
}

pub(crate) async fn serve(
    shared: Arc<Shared>,
    listener: std::net::TcpListener,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(shared, request).await) }
                    });
                    // A client gone mid-request is its own affair.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

fn respond(code: u16, body: Bytes) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Body::Full(Some(body)))
        .unwrap_or_else(|_| Response::new(Body::Full(None)))
}

fn failure(status: &Status) -> (u16, Bytes) {
    (status.code, Bytes::from(status.to_json().to_string()))
}

/// Percent-decoding of a query value (`+` is a space).
fn decode(text: &str) -> Result<String, Status> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        Status::bad_request(format!("query {text:?}: bad escape at byte {i}"))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Status::bad_request(format!("query {text:?}: not UTF-8")))
}

struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: &str) -> Result<Query, Status> {
        let mut pairs = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((decode(k)?, decode(v)?));
        }
        Ok(Query(pairs))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }
}

/// Where a request goes.
struct Target {
    resource: Resource,
    namespace: String,
    name: Option<String>,
    status: bool,
}

enum Route {
    Resource(Target),
    Discovery(Value),
    Stats,
    StatsReset,
    Hook(String),
    Health,
}

fn route(shared: &Shared, path: &str) -> Result<Route, Status> {
    let not_found = || {
        Status::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["standin", "stats"] => return Ok(Route::Stats),
        ["standin", "stats", "reset"] => return Ok(Route::StatsReset),
        ["standin", hook] => return Ok(Route::Hook(hook.to_string())),
        ["healthz" | "readyz" | "livez"] => return Ok(Route::Health),
        ["version"] => {
            return Ok(Route::Discovery(json!({
                "major": "1", "minor": "33", "gitVersion": "v1.33.0-corral-standin",
                "gitCommit": "", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "", "compiler": "", "platform": "linux/amd64"
            })))
        }
        ["api"] => {
            return Ok(Route::Discovery(json!({
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]
            })))
        }
        ["apis"] => return Ok(Route::Discovery(groups(shared))),
        _ => {}
    }
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(not_found()),
    };
    let store = shared.store();
    let find = |plural: &str| {
        store
            .resources
            .get(&crate::store::key(group, version, plural))
            .cloned()
    };
    if rest.is_empty() {
        let resources: Vec<&Resource> = store
            .resources
            .values()
            .filter(|r| r.group == group && r.version == version)
            .collect();
        if resources.is_empty() {
            return Err(not_found());
        }
        return Ok(Route::Discovery(resource_list(group, version, &resources)));
    }
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, more @ ..] if find(plural).is_some_and(|r| r.namespaced) => {
            (ns.to_string(), {
                let mut v = vec![*plural];
                v.extend_from_slice(more);
                v
            })
        }
        _ => (String::new(), rest.to_vec()),
    };
    let resource = find(rest[0]).ok_or_else(not_found)?;
    let (name, status) = match rest.as_slice() {
        [_] => (None, false),
        [_, name] => (Some(name.to_string()), false),
        [_, name, "status"] => (Some(name.to_string()), true),
        _ => return Err(not_found()),
    };
    if name.is_some() && resource.namespaced && namespace.is_empty() {
        return Err(not_found());
    }
    if status && !resource.status {
        return Err(not_found());
    }
    Ok(Route::Resource(Target {
        resource,
        namespace,
        name,
        status,
    }))
}

fn groups(shared: &Shared) -> Value {
    let store = shared.store();
    let mut groups: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for r in store.resources.values().filter(|r| !r.group.is_empty()) {
        let versions = groups.entry(&r.group).or_default();
        if !versions.contains(&r.version.as_str()) {
            versions.push(&r.version);
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(name, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                .collect();
            json!({"name": name, "versions": versions, "preferredVersion": versions[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource_list(group: &str, version: &str, resources: &[&Resource]) -> Value {
    let verbs = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    let mut list = Vec::new();
    for r in resources {
        list.push(
            json!({"name": r.plural, "singularName": r.kind.to_ascii_lowercase(),
            "namespaced": r.namespaced, "kind": r.kind, "verbs": verbs}),
        );
        if r.status {
            list.push(
                json!({"name": format!("{}/status", r.plural), "singularName": "",
                "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}),
            );
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list})
}

/// An object's `metadata` alone: the rest is skipped, not built.
struct MetadataOnly(Value);

impl<'de> serde::Deserialize<'de> for MetadataOnly {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = MetadataOnly;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MetadataOnly, A::Error> {
                let mut metadata = Value::Null;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "metadata" {
                        metadata = map.next_value()?;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(MetadataOnly(metadata))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// An object as `PartialObjectMetadata`.
fn partial(object: &[u8]) -> Value {
    let metadata = serde_json::from_slice::<MetadataOnly>(object).map_or(Value::Null, |m| m.0);
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let accept = header("accept");
    let content_type = header("content-type");
    let metadata = accept.contains("as=PartialObjectMetadata");
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let max = shared.config.max_body;
    let body = match http_body_util::Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let status = Status::new(
                413,
                "RequestEntityTooLarge",
                format!("{path}: the request body is over {max} bytes (or was cut)"),
            );
            let (code, body) = failure(&status);
            return respond(code, body);
        }
    };
    let route = match route(&shared, &path) {
        Ok(route) => route,
        Err(status) => {
            let (code, out) = failure(&status);
            shared.count(true, "unknown", &path, body.len() as u64, out.len() as u64);
            return respond(code, out);
        }
    };
    let (code, out, verb, resource) = match route {
        Route::Health => (200, Bytes::from_static(b"ok"), "get", "health".to_string()),
        Route::Discovery(value) => (
            200,
            Bytes::from(value.to_string()),
            "get",
            "discovery".into(),
        ),
        Route::Stats => {
            // Not counted: the benchmark's own reading.
            return respond(200, Bytes::from(shared.stats().to_json().to_string()));
        }
        Route::StatsReset => {
            shared.reset_stats();
            return respond(200, Bytes::from_static(b"{}"));
        }
        Route::Hook(name) => {
            let answer = match shared.hook(&name) {
                None => failure(&Status::new(404, "NotFound", format!("no hook {name}"))),
                Some(hook) => {
                    let body = body.clone();
                    let handle = crate::Handle::new(shared.clone());
                    match tokio::task::spawn_blocking(move || hook(&handle, &body)).await {
                        Ok(Ok(value)) => (200, Bytes::from(value.to_string())),
                        Ok(Err(e)) => failure(&Status::new(
                            500,
                            "InternalError",
                            format!("hook {name}: {e}"),
                        )),
                        Err(e) => failure(&Status::new(
                            500,
                            "InternalError",
                            format!("hook {name}: {e}"),
                        )),
                    }
                }
            };
            return respond(answer.0, answer.1);
        }
        Route::Resource(target) => {
            let query = match Query::parse(&query) {
                Ok(q) => q,
                Err(status) => {
                    let (code, out) = failure(&status);
                    return respond(code, out);
                }
            };
            let name = target.resource.name();
            if parts.method == Method::GET && target.name.is_none() && query.flag("watch") {
                shared.count(true, "watch", &name, body.len() as u64, 0);
                return match start_watch(shared.clone(), target, &query, metadata) {
                    Ok(response) => response,
                    Err(status) => {
                        let (code, out) = failure(&status);
                        shared.count_out(&name, out.len() as u64);
                        respond(code, out)
                    }
                };
            }
            let (verb, result) = resource_request(
                &shared,
                &parts.method,
                &target,
                &query,
                &content_type,
                &body,
                metadata,
            );
            let (code, out) = match result {
                Ok(ok) => ok,
                Err(status) => failure(&status),
            };
            (code, out, verb, name)
        }
    };
    shared.count(true, verb, &resource, body.len() as u64, out.len() as u64);
    respond(code, out)
}

/// Every request but a watch: (verb, (code, body)).
fn resource_request(
    shared: &Shared,
    method: &Method,
    target: &Target,
    query: &Query,
    content_type: &str,
    body: &[u8],
    metadata: bool,
) -> (&'static str, Result<(u16, Bytes), Status>) {
    let resource = &target.resource;
    let namespace = target.namespace.as_str();
    let parse = || -> Result<Value, Status> {
        serde_json::from_slice(body).map_err(|e| {
            Status::bad_request(format!(
                "{} body: not JSON ({e}; line {}, column {})",
                resource.kind,
                e.line(),
                e.column()
            ))
        })
    };
    if query.get("dryRun").is_some_and(|v| !v.is_empty()) {
        return (
            "unknown",
            Err(Status::bad_request(
                "dryRun is not supported by the stand-in",
            )),
        );
    }
    let one = |bytes: Bytes| -> Bytes {
        if metadata {
            Bytes::from(partial(&bytes).to_string())
        } else {
            bytes
        }
    };
    let written = |result: Result<Bytes, Status>, code: u16| {
        shared.notify();
        result.map(|b| (code, one(b)))
    };
    match (method, &target.name) {
        (&Method::GET, None) => ("list", list(shared, target, query, metadata)),
        (&Method::GET, Some(name)) => (
            "get",
            shared
                .store()
                .get(resource, namespace, name)
                .map(|b| (200, one(b)))
                .ok_or_else(|| {
                    Status::new(
                        404,
                        "NotFound",
                        format!("{} \"{name}\" not found", resource.name()),
                    )
                }),
        ),
        (&Method::POST, None) => (
            "create",
            parse().and_then(|object| {
                let result = shared.store().create(resource, namespace, object);
                written(result, 201)
            }),
        ),
        (&Method::PUT, Some(name)) => (
            "update",
            parse().and_then(|object| {
                let result =
                    shared
                        .store()
                        .update(resource, namespace, name, object, target.status);
                written(result, 200)
            }),
        ),
        (&Method::PATCH, Some(name)) => {
            let mime = content_type.split(';').next().unwrap_or_default().trim();
            let result = parse().and_then(|patch| {
                let mut store = shared.store();
                let result = match mime {
                    "application/apply-patch+yaml" => store
                        .patch(
                            resource,
                            namespace,
                            name,
                            PatchKind::Apply,
                            patch,
                            target.status,
                        )
                        .map(|(b, created)| (if created { 201 } else { 200 }, b)),
                    "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                        store
                            .patch(
                                resource,
                                namespace,
                                name,
                                PatchKind::Merge,
                                patch,
                                target.status,
                            )
                            .map(|(b, _)| (200, b))
                    }
                    "application/json-patch+json" => store
                        .json_patch(resource, namespace, name, &patch, target.status)
                        .map(|b| (200, b)),
                    other => Err(Status::new(
                        415,
                        "UnsupportedMediaType",
                        format!("the body of the request was in an unknown format ({other:?})"),
                    )),
                };
                drop(store);
                shared.notify();
                result.map(|(code, b)| (code, one(b)))
            });
            ("patch", result)
        }
        (&Method::DELETE, Some(name)) => {
            let result = shared.store().delete(resource, namespace, name);
            ("delete", written(result, 200))
        }
        _ => (
            "unknown",
            Err(Status::new(
                405,
                "MethodNotAllowed",
                format!("{method} is not served on {}", resource.name()),
            )),
        ),
    }
}

fn selectors(query: &Query) -> Result<(LabelSelector, FieldSelector), Status> {
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or_default())
        .map_err(Status::bad_request)?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or_default())
        .map_err(Status::bad_request)?;
    Ok((labels, fields))
}

fn list(
    shared: &Shared,
    target: &Target,
    query: &Query,
    metadata: bool,
) -> Result<(u16, Bytes), Status> {
    let (labels, fields) = selectors(query)?;
    let limit = match query.get("limit") {
        Some(l) if !l.is_empty() => l
            .parse::<usize>()
            .map_err(|_| Status::bad_request(format!("limit {l:?} is not a number")))?
            .min(MAX_LIMIT),
        _ => 0,
    };
    let token = query.get("continue").filter(|c| !c.is_empty());
    let namespace = (!target.namespace.is_empty()).then_some(target.namespace.as_str());
    let listed =
        shared
            .store()
            .list(&target.resource, namespace, &labels, &fields, limit, token)?;
    let mut meta = json!({"resourceVersion": listed.rv.to_string()});
    if let Some(next) = &listed.next {
        meta["continue"] = json!(next);
    }
    let (kind, api_version) = if metadata {
        (
            "PartialObjectMetadataList".to_string(),
            "meta.k8s.io/v1".to_string(),
        )
    } else {
        (
            format!("{}List", target.resource.kind),
            target.resource.api_version(),
        )
    };
    let mut out = Vec::with_capacity(listed.items.iter().map(Bytes::len).sum::<usize>() + 256);
    out.extend_from_slice(
        format!(r#"{{"kind":"{kind}","apiVersion":"{api_version}","metadata":{meta},"items":["#)
            .as_bytes(),
    );
    for (i, item) in listed.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if metadata {
            out.extend_from_slice(partial(item).to_string().as_bytes());
        } else {
            out.extend_from_slice(item);
        }
    }
    out.extend_from_slice(b"]}");
    Ok((200, Bytes::from(out)))
}

/// What one watch asked.
struct Watch {
    resource: Resource,
    namespace: String,
    labels: LabelSelector,
    fields: FieldSelector,
    bookmarks: bool,
    metadata: bool,
    timeout: Duration,
    /// `None`: begin with the current objects as ADDED.
    from: Option<u64>,
    initial_end: bool,
}

fn event_line(kind: &str, object: &[u8], metadata: bool) -> Bytes {
    let mut line = Vec::with_capacity(object.len() + 32);
    line.extend_from_slice(format!(r#"{{"type":"{kind}","object":"#).as_bytes());
    if metadata {
        line.extend_from_slice(partial(object).to_string().as_bytes());
    } else {
        line.extend_from_slice(object);
    }
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

fn bookmark(watch: &Watch, rv: u64, initial_end: bool) -> Bytes {
    let (kind, api_version) = if watch.metadata {
        (
            "PartialObjectMetadata".to_string(),
            "meta.k8s.io/v1".to_string(),
        )
    } else {
        (watch.resource.kind.clone(), watch.resource.api_version())
    };
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let object = json!({"kind": kind, "apiVersion": api_version, "metadata": metadata});
    Bytes::from(format!(
        "{}\n",
        json!({"type": "BOOKMARK", "object": object})
    ))
}

fn expired(rv: u64) -> Bytes {
    let status = Status::new(410, "Expired", format!("too old resource version: {rv}"));
    Bytes::from(format!(
        "{}\n",
        json!({"type": "ERROR", "object": status.to_json()})
    ))
}

fn start_watch(
    shared: Arc<Shared>,
    target: Target,
    query: &Query,
    metadata: bool,
) -> Result<Response<Body>, Status> {
    let (labels, fields) = selectors(query)?;
    let timeout = match query.get("timeoutSeconds") {
        Some(t) if !t.is_empty() => t
            .parse::<u64>()
            .map_err(|_| Status::bad_request(format!("timeoutSeconds {t:?} is not a number")))?,
        _ => DEFAULT_WATCH_SECONDS,
    }
    .min(MAX_WATCH_SECONDS);
    let initial = query.flag("sendInitialEvents");
    let from =
        match query.get("resourceVersion") {
            None | Some("") | Some("0") => None,
            Some(_) if initial => None,
            Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
                Status::bad_request(format!("resourceVersion {rv:?} is not a number"))
            })?),
        };
    let watch = Watch {
        resource: target.resource,
        namespace: target.namespace,
        labels,
        fields,
        bookmarks: query.flag("allowWatchBookmarks"),
        metadata,
        timeout: Duration::from_secs(timeout),
        from,
        initial_end: initial,
    };
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(run_watch(shared, watch, tx));
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::Stream(rx))
        .map_err(|e| Status::new(500, "InternalError", e.to_string()))
}

/// Whether the watch sees an event, and as what.
fn seen(watch: &Watch, event: &crate::store::Event) -> Option<&'static str> {
    if !watch.namespace.is_empty() && event.namespace != watch.namespace {
        return None;
    }
    let object = || serde_json::from_slice(&event.json).unwrap_or(Value::Null);
    if !watch.fields.matches(&event.namespace, &event.name, &object) {
        return None;
    }
    let now = watch.labels.matches(&event.labels);
    match event.kind {
        EventType::Added => now.then_some("ADDED"),
        EventType::Deleted => now.then_some("DELETED"),
        EventType::Modified => {
            let before = event
                .old_labels
                .as_ref()
                .is_some_and(|l| watch.labels.matches(l));
            match (before, now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            }
        }
    }
}

async fn run_watch(shared: Arc<Shared>, watch: Watch, tx: mpsc::Sender<Bytes>) {
    let name = watch.resource.name();
    shared.watch_open(&name, 1);
    watch_loop(&shared, &watch, &tx).await;
    shared.watch_open(&name, -1);
}

async fn watch_loop(shared: &Shared, watch: &Watch, tx: &mpsc::Sender<Bytes>) {
    let name = watch.resource.name();
    let mut changed = shared.changed.subscribe();
    let deadline = tokio::time::Instant::now() + watch.timeout;
    let send = |line: Bytes| async {
        let n = line.len() as u64;
        let ok = tx.send(line).await.is_ok();
        shared.count_out(&name, n);
        ok
    };
    let mut last = match watch.from {
        Some(rv) => rv,
        None => {
            let (items, rv) = {
                let store = shared.store();
                let namespace = (!watch.namespace.is_empty()).then_some(watch.namespace.as_str());
                match store.list(
                    &watch.resource,
                    namespace,
                    &watch.labels,
                    &watch.fields,
                    0,
                    None,
                ) {
                    Ok(listed) => (listed.items, listed.rv),
                    Err(_) => (Vec::new(), store.rv),
                }
            };
            for item in items {
                if !send(event_line("ADDED", &item, watch.metadata)).await {
                    return;
                }
            }
            if watch.initial_end && !send(bookmark(watch, rv, true)).await {
                return;
            }
            rv
        }
    };
    let mut ticks = tokio::time::interval(shared.config.bookmark_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        let batch = {
            let store = shared.store();
            let events = match store.history_of(&watch.resource) {
                None => Some(Vec::new()),
                Some(history) => history.after(last).map(|events| {
                    events
                        .filter_map(|e| {
                            seen(watch, e).map(|kind| event_line(kind, &e.json, watch.metadata))
                        })
                        .collect::<Vec<_>>()
                }),
            };
            let expired_at = store.history_of(&watch.resource).map_or(0, |h| h.floor);
            match events {
                Some(events) => {
                    last = last.max(store.rv);
                    Ok(events)
                }
                None => Err(expired_at),
            }
        };
        match batch {
            Ok(events) => {
                for line in events {
                    if !send(line).await {
                        return;
                    }
                }
            }
            Err(_) => {
                send(expired(last)).await;
                return;
            }
        }
        tokio::select! {
            result = changed.changed() => if result.is_err() { return },
            _ = ticks.tick(), if watch.bookmarks => {
                if !send(bookmark(watch, last, false)).await { return }
            }
            _ = tokio::time::sleep_until(deadline) => {
                if watch.bookmarks { send(bookmark(watch, last, false)).await; }
                return;
            }
            _ = tx.closed() => return,
        }
    }
}
