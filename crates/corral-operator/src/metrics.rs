//! The operator's Prometheus metrics (served as OpenMetrics text on
//! `/metrics` by [`crate::serve`]), and a kube `Client` that counts its
//! API requests by verb and answer.
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `corral_operator_reconciles_total` | controller, result (`ok`/`error`) | reconciles finished |
//! | `corral_operator_reconcile_duration_seconds` | controller | how long each took |
//! | `corral_operator_errors_total` | source | errors outside a reconcile (watchers, ...) |
//! | `corral_operator_queue_depth` | controller | objects waiting to be reconciled |
//! | `corral_operator_store_objects` | kind | objects in each reflector store |
//! | `corral_operator_api_requests_total` | verb, code | requests to the API server |
//! | `corral_operator_leader` | | 1 while this replica holds the lease |

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use kube::client::{Body, ClientBuilder};
use kube::{Client, Config};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    controller: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabel {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request_ {
    verb: String,
    code: String,
}

fn duration_histogram() -> Histogram {
    // 5 ms to about 41 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

/// The operator's metrics. Cheap to update from any task; share it as an
/// `Arc<Metrics>`.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<Outcome, Counter>,
    durations: Family<ControllerLabel, Histogram, fn() -> Histogram>,
    errors: Family<SourceLabel, Counter>,
    queue: Family<ControllerLabel, Gauge>,
    stores: Family<KindLabel, Gauge>,
    requests: Family<Request_, Counter>,
    leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("corral_operator");
        let reconciles = Family::<Outcome, Counter>::default();
        let durations: Family<ControllerLabel, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(duration_histogram);
        let errors = Family::<SourceLabel, Counter>::default();
        let queue = Family::<ControllerLabel, Gauge>::default();
        let stores = Family::<KindLabel, Gauge>::default();
        let requests = Family::<Request_, Counter>::default();
        let leader = Gauge::default();
        registry.register(
            "reconciles",
            "Reconciles finished, by controller and result",
            reconciles.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "How long reconciles took, by controller",
            durations.clone(),
        );
        registry.register(
            "errors",
            "Errors outside a reconcile (watchers, the lease), by source",
            errors.clone(),
        );
        registry.register(
            "queue_depth",
            "Objects waiting to be reconciled, by controller",
            queue.clone(),
        );
        registry.register(
            "store_objects",
            "Objects in each reflector store, by kind",
            stores.clone(),
        );
        registry.register(
            "api_requests",
            "Requests to the Kubernetes API server, by verb and status code",
            requests.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader lease, else 0",
            leader.clone(),
        );
        Metrics {
            registry,
            reconciles,
            durations,
            errors,
            queue,
            stores,
            requests,
            leader,
        }
    }

    /// A reconcile of `controller` finished, well or not, in `seconds`.
    pub fn reconciled(&self, controller: &str, ok: bool, seconds: f64) {
        let result = if ok { "ok" } else { "error" };
        self.reconciles
            .get_or_create(&Outcome {
                controller: controller.to_string(),
                result: result.to_string(),
            })
            .inc();
        self.durations
            .get_or_create(&ControllerLabel {
                controller: controller.to_string(),
            })
            .observe(seconds.max(0.0));
    }

    /// An error outside a reconcile (a watcher's, say).
    pub fn error(&self, source: &str) {
        self.errors
            .get_or_create(&SourceLabel {
                source: source.to_string(),
            })
            .inc();
    }

    pub fn set_queue_depth(&self, controller: &str, depth: usize) {
        self.queue
            .get_or_create(&ControllerLabel {
                controller: controller.to_string(),
            })
            .set(saturate(depth));
    }

    pub fn set_store_size(&self, kind: &str, objects: usize) {
        self.stores
            .get_or_create(&KindLabel {
                kind: kind.to_string(),
            })
            .set(saturate(objects));
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// An API request answered with `code` (`"error"` when no answer came).
    pub fn requested(&self, verb: &str, code: &str) {
        self.requests
            .get_or_create(&Request_ {
                verb: verb.to_string(),
                code: code.to_string(),
            })
            .inc();
    }

    /// The metrics in the OpenMetrics text format, which Prometheus reads.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

fn saturate(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The Kubernetes verb of a request, as the API server's audit log names
/// it: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
/// `deletecollection`; `get` for paths outside the resource API
/// (discovery, `/version`).
pub fn verb(method: &http::Method, path: &str, query: &str) -> &'static str {
    let watch = query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest = match segments.first() {
        Some(&"api") if segments.len() >= 2 => &segments[2..],
        Some(&"apis") if segments.len() >= 3 => &segments[3..],
        _ => &[][..],
    };
    // As the API server reads it: `namespaces/NS/RESOURCE...` is in a
    // namespace, unless what follows NS is a namespace's own subresource.
    let resource = match rest {
        ["namespaces", _, next, ..] if !matches!(*next, "status" | "finalize") => &rest[2..],
        _ => rest,
    };
    let named = resource.len() >= 2;
    match *method {
        http::Method::GET | http::Method::HEAD if watch => "watch",
        http::Method::GET | http::Method::HEAD if !named && !resource.is_empty() => "list",
        http::Method::GET | http::Method::HEAD => "get",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE if named => "delete",
        http::Method::DELETE => "deletecollection",
        _ => "other",
    }
}

/// A kube `Client` for `config` whose every request is counted in
/// `metrics` (`corral_operator_api_requests_total`).
pub fn counted_client(config: Config, metrics: Arc<Metrics>) -> Result<Client, kube::Error> {
    Ok(ClientBuilder::try_from(config)?
        .with_layer(&CountLayer { metrics })
        .build())
}

/// A tower layer counting the requests of the service it wraps.
#[derive(Clone)]
pub struct CountLayer {
    metrics: Arc<Metrics>,
}

impl<S> tower::Layer<S> for CountLayer {
    type Service = Counted<S>;

    fn layer(&self, inner: S) -> Counted<S> {
        Counted {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Counted<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B> tower::Service<Request<Body>> for Counted<S>
where
    S: tower::Service<Request<Body>, Response = Response<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let verb = verb(
            request.method(),
            request.uri().path(),
            request.uri().query().unwrap_or(""),
        );
        let metrics = self.metrics.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let result = answer.await;
            match &result {
                Ok(response) => metrics.requested(verb, response.status().as_str()),
                Err(_) => metrics.requested(verb, "error"),
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    #[test]
    fn verbs_are_the_api_servers() {
        let cases = [
            (Method::GET, "/api/v1/pods", "", "list"),
            (Method::GET, "/api/v1/namespaces", "", "list"),
            (Method::GET, "/api/v1/namespaces/shop", "", "get"),
            (Method::GET, "/api/v1/namespaces/shop/status", "", "get"),
            (
                Method::GET,
                "/api/v1/namespaces/shop/pods",
                "limit=1",
                "list",
            ),
            (Method::GET, "/api/v1/namespaces/shop/pods/web", "", "get"),
            (
                Method::GET,
                "/apis/corral.dev/v1alpha1/recordings",
                "&watch=true&resourceVersion=1",
                "watch",
            ),
            (
                Method::GET,
                "/apis/coordination.k8s.io/v1/namespaces/corral/leases/corral-operator",
                "",
                "get",
            ),
            (
                Method::PUT,
                "/apis/coordination.k8s.io/v1/namespaces/c/leases/l",
                "",
                "update",
            ),
            (
                Method::POST,
                "/apis/coordination.k8s.io/v1/namespaces/c/leases",
                "",
                "create",
            ),
            (
                Method::PATCH,
                "/apis/a/v1/namespaces/c/things/x",
                "",
                "patch",
            ),
            (
                Method::DELETE,
                "/apis/a/v1/namespaces/c/things/x",
                "",
                "delete",
            ),
            (
                Method::DELETE,
                "/apis/a/v1/namespaces/c/things",
                "",
                "deletecollection",
            ),
            (Method::GET, "/version", "", "get"),
            (Method::GET, "/apis", "", "get"),
            (Method::GET, "/apis/corral.dev/v1alpha1", "", "get"),
        ];
        for (method, path, query, expected) in cases {
            assert_eq!(
                verb(&method, path, query),
                expected,
                "{method} {path}?{query}"
            );
        }
    }

    #[test]
    fn metrics_are_prometheus_text() {
        let metrics = Metrics::new();
        metrics.reconciled("workload", true, 0.02);
        metrics.reconciled("workload", false, 3.0);
        metrics.set_queue_depth("workload", 7);
        metrics.set_store_size("pods", 150_000);
        metrics.requested("list", "200");
        metrics.error("watcher");
        metrics.set_leader(true);
        let text = metrics.encode();
        for line in [
            "corral_operator_reconciles_total{controller=\"workload\",result=\"ok\"} 1",
            "corral_operator_reconciles_total{controller=\"workload\",result=\"error\"} 1",
            "corral_operator_reconcile_duration_seconds_count{controller=\"workload\"} 2",
            "corral_operator_reconcile_duration_seconds_bucket{le=\"0.04\",controller=\"workload\"} 1",
            "corral_operator_queue_depth{controller=\"workload\"} 7",
            "corral_operator_store_objects{kind=\"pods\"} 150000",
            "corral_operator_api_requests_total{verb=\"list\",code=\"200\"} 1",
            "corral_operator_errors_total{source=\"watcher\"} 1",
            "corral_operator_leader 1",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }
}
