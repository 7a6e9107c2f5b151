//! The operator's own HTTP endpoints, for Prometheus and the kubelet:
//! - `/metrics`: [`Metrics`] in the OpenMetrics text format;
//! - `/healthz` (liveness): 200 while the process and its async runtime
//!   answer;
//! - `/readyz` (readiness): 200 on a standby replica (waiting for the
//!   lease: it is healthy and serves `/metrics`, with
//!   `corral_operator_leader 0`), and on the leader once its stores have
//!   synced ([`Health::set_synced`]); 503 while the leader's stores sync.
//!   A standby is ready so that a Deployment of two replicas rolls out and
//!   both are scraped; which one works is `corral_operator_leader`.
//!
//! Only `GET` and `HEAD` are served; other paths are 404. Connections are
//! bounded in number, serve one request each, and have 5 s to send its
//! headers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::metrics::Metrics;

/// At most this many connections are served at once (a few KiB each);
/// more wait to be accepted. Enough that idle clients holding connections
/// open until the header timeout do not starve the kubelet's probes.
const MAX_CONNECTIONS: usize = 512;
/// A client has this long to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

/// What the probes report: leadership and sync, shared by the lease, the
/// controller and the server.
pub struct Health {
    leader: AtomicBool,
    synced: AtomicBool,
    metrics: Arc<Metrics>,
}

impl Health {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        metrics.set_leader(false);
        Health {
            leader: AtomicBool::new(false),
            synced: AtomicBool::new(false),
            metrics,
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// This replica took (`true`) or lost the lease.
    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::SeqCst);
        self.metrics.set_leader(leader);
    }

    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }

    /// The controller's stores have listed what they watch (`true`).
    pub fn set_synced(&self, synced: bool) {
        self.synced.store(synced, Ordering::SeqCst);
    }

    /// Ready, or why not.
    pub fn ready(&self) -> Result<(), &'static str> {
        if self.is_leader() && !self.synced.load(Ordering::SeqCst) {
            Err("leader: stores not synced yet")
        } else {
            Ok(())
        }
    }
}

/// Bind the endpoints' address (fails with the address and why).
pub async fn bind(address: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(address)
        .await
        .map_err(|e| format!("metrics server: cannot listen on {address}: {e}"))
}

fn answer(health: &Health, method: &Method, path: &str) -> Response<Full<Bytes>> {
    let (status, content_type, body) = if method != Method::GET && method != Method::HEAD {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "GET or HEAD only\n".to_string(),
        )
    } else {
        match path {
            "/metrics" => (
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                health.metrics.encode(),
            ),
            "/healthz" => (StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into()),
            "/readyz" => match health.ready() {
                Ok(()) => (StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into()),
                Err(why) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain; charset=utf-8",
                    format!("not ready: {why}\n"),
                ),
            },
            _ => (
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found: /metrics, /healthz and /readyz are served\n".into(),
            ),
        }
    };
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(body)
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}

/// Serve `/metrics`, `/healthz` and `/readyz` on `listener` until the
/// future is dropped.
pub async fn serve(listener: TcpListener, health: Arc<Health>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors, say: wait, rather than spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let health = health.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let response = answer(&health, request.method(), request.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            // One request a connection: an idle keep-alive cannot hold
            // a slot.
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(slot);
        });
    }
}

/// SIGINT or SIGTERM, caught from now on (not killed by them): the
/// future ends on the first.
pub fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{signal, SignalKind};
    let catch = |kind: SignalKind| signal(kind).map_err(|e| format!("cannot catch signals: {e}"));
    let mut terminate = catch(SignalKind::terminate())?;
    let mut interrupt = catch(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_answer_by_leadership_and_sync() {
        let health = Health::new(Arc::new(Metrics::new()));
        let status = |path: &str| answer(&health, &Method::GET, path).status();
        // A standby is ready.
        assert_eq!(status("/readyz"), StatusCode::OK);
        health.set_leader(true);
        assert_eq!(status("/readyz"), StatusCode::SERVICE_UNAVAILABLE);
        health.set_synced(true);
        assert_eq!(status("/readyz"), StatusCode::OK);
        assert_eq!(status("/healthz"), StatusCode::OK);
        assert_eq!(status("/metrics"), StatusCode::OK);
        assert_eq!(status("/nope"), StatusCode::NOT_FOUND);
        assert_eq!(
            answer(&health, &Method::POST, "/metrics").status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert!(health
            .metrics()
            .encode()
            .contains("corral_operator_leader 1"));
    }
}
