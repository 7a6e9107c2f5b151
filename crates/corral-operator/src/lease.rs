//! Leader election through a `coordination.k8s.io/v1` Lease, as
//! client-go's leader election does it: every write of the Lease is a
//! create or a PUT carrying the `resourceVersion` that was read, so of two
//! replicas racing for it the API server lets one win (the other gets 409
//! Conflict).
//!
//! - A replica takes the Lease when it does not exist, when it has no
//!   holder (released), or when its holder has not renewed it for
//!   `leaseDurationSeconds`, counted on this replica's own clock from when
//!   it first saw the current version of the Lease (so clocks need not
//!   agree across nodes).
//! - The leader renews every `renew_period`. If a renewal does not succeed
//!   within the renew deadline (two thirds of the lease duration) or
//!   another holder is found, it steps down: the work is dropped and
//!   [`LeaderElection::run`] returns [`LeaseError::Lost`], so the process
//!   exits and restarts clean. A standby takes over only a full lease
//!   duration after the last renewal it saw, which is after the old leader
//!   stopped: never two leaders writing.
//! - When the work ends by itself (SIGTERM), the Lease is released so a
//!   standby takes over at once.
//!
//! Why not a crate: `kube-lease-manager` 0.13 (kube 5) locks by
//! server-side-apply field ownership and renews with an unconditional
//! merge patch, so a renewal cannot fail on a takeover it did not see;
//! `kube-leader-election` is on kube 4.

use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use tokio::time::{sleep, timeout, Instant};

use crate::serve::Health;

/// The defaults of client-go's leader election.
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);
pub const DEFAULT_RENEW_PERIOD: Duration = Duration::from_secs(2);
/// A holder's `leaseDurationSeconds` beyond this is read as this.
const MAX_LEASE_SECONDS: i32 = 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseError {
    /// The leader could not renew, or another replica holds the Lease: it
    /// stopped its work.
    Lost(String),
    /// The election's settings cannot work.
    Config(String),
}

impl std::fmt::Display for LeaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LeaseError::Lost(why) => write!(f, "leadership lost: {why}"),
            LeaseError::Config(why) => write!(f, "leader election: {why}"),
        }
    }
}

impl std::error::Error for LeaseError {}

/// The identity of this replica: the pod's name (`POD_NAME`, from the
/// downward API), else the host's name and the process id.
pub fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME") {
        if !pod.trim().is_empty() {
            return pod.trim().to_string();
        }
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "corral".to_string());
    format!("{host}-{}", std::process::id())
}

/// The version of the Lease last seen, and when (on this replica's clock).
struct Observed {
    version: Option<String>,
    at: Instant,
}

pub struct LeaderElection {
    client: Client,
    namespace: String,
    name: String,
    identity: String,
    lease_duration: Duration,
    renew_period: Duration,
}

impl LeaderElection {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str) -> Self {
        LeaderElection {
            client,
            namespace: namespace.to_string(),
            name: name.to_string(),
            identity: identity.to_string(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_period: DEFAULT_RENEW_PERIOD,
        }
    }

    /// Other timings: the renewal period must fit in the renew deadline
    /// (two thirds of the lease duration) at least twice, and the lease
    /// duration be whole seconds, at least 1.
    pub fn with_timing(
        mut self,
        lease_duration: Duration,
        renew_period: Duration,
    ) -> Result<Self, LeaseError> {
        let seconds = lease_duration.as_secs();
        if seconds == 0 || seconds > MAX_LEASE_SECONDS as u64 || lease_duration.subsec_nanos() != 0
        {
            return Err(LeaseError::Config(format!(
                "the lease duration must be 1 to {MAX_LEASE_SECONDS} whole seconds, not {lease_duration:?}"
            )));
        }
        if renew_period.is_zero() || renew_period * 2 > Self::deadline(lease_duration) {
            return Err(LeaseError::Config(format!(
                "the renew period ({renew_period:?}) must be at most a third of the lease duration ({lease_duration:?})"
            )));
        }
        self.lease_duration = lease_duration;
        self.renew_period = renew_period;
        Ok(self)
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn deadline(lease_duration: Duration) -> Duration {
        lease_duration * 2 / 3
    }

    fn lease(&self) -> String {
        format!("Lease {}/{}", self.namespace, self.name)
    }

    fn api(&self) -> Api<Lease> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn spec(&self, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.lease_duration.as_secs() as i32),
            acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    fn observe(observed: &mut Option<Observed>, lease: &Lease) {
        let version = lease.metadata.resource_version.clone();
        if observed.as_ref().map(|o| &o.version) != Some(&version) {
            *observed = Some(Observed {
                version,
                at: Instant::now(),
            });
        }
    }

    /// Take or renew the Lease: `Ok(true)` when this replica holds it now.
    async fn try_acquire_or_renew(
        &self,
        observed: &mut Option<Observed>,
    ) -> Result<bool, kube::Error> {
        let api = self.api();
        let Some(mut lease) = api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    namespace: Some(self.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(None, 0)),
            };
            return match api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    Self::observe(observed, &created);
                    Ok(true)
                }
                Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(false),
                Err(e) => Err(e),
            };
        };
        Self::observe(observed, &lease);
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().unwrap_or("");
        let mine = holder == self.identity;
        if !mine && !holder.is_empty() {
            let seconds = spec
                .lease_duration_seconds
                .filter(|s| *s > 0)
                .unwrap_or(self.lease_duration.as_secs() as i32)
                .min(MAX_LEASE_SECONDS);
            let seen = observed.as_ref().map_or_else(Instant::now, |o| o.at);
            if seen.elapsed() < Duration::from_secs(seconds as u64) {
                return Ok(false);
            }
        }
        let transitions = spec.lease_transitions.unwrap_or(0).max(0);
        lease.spec = Some(if mine {
            self.spec(spec.acquire_time.clone(), transitions)
        } else {
            self.spec(None, transitions.saturating_add(1))
        });
        // The resourceVersion read stays in the metadata: the PUT is
        // refused (409) if anyone wrote the Lease since.
        match api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => {
                Self::observe(observed, &written);
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.is_conflict() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Give the Lease up (when the work ended by itself), if still held.
    async fn release(&self) -> Result<(), kube::Error> {
        let api = self.api();
        let Some(mut lease) = api.get_opt(&self.name).await? else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        api.replace(&self.name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
    }

    /// The wait before the next try to take the Lease: the renew period
    /// and up to a fifth more, different for each replica and attempt so
    /// that standbys do not ask in step.
    fn retry_wait(&self, attempt: u64) -> Duration {
        let mut hasher = DefaultHasher::new();
        (&self.identity, attempt).hash(&mut hasher);
        let spread = self.renew_period.as_millis() as u64 / 5;
        self.renew_period + Duration::from_millis(hasher.finish() % spread.max(1))
    }

    /// Wait until this replica holds the Lease, then run `work` while it
    /// holds it. Returns `Ok` when the work ended by itself (the Lease is
    /// released), [`LeaseError::Lost`] when leadership was lost (the work
    /// has been dropped, mid-way).
    pub async fn run<F: Future<Output = ()>>(
        self,
        work: F,
        health: &Health,
    ) -> Result<(), LeaseError> {
        // An empty holder is a free Lease to every other replica.
        if self.identity.trim().is_empty() {
            return Err(LeaseError::Config(format!(
                "{}: an empty identity would leave the Lease free to others",
                self.lease()
            )));
        }
        health.set_leader(false);
        let deadline = Self::deadline(self.lease_duration);
        let mut observed = None;
        let mut attempt = 0u64;
        let mut renewed = loop {
            let started = Instant::now();
            match timeout(deadline, self.try_acquire_or_renew(&mut observed)).await {
                Ok(Ok(true)) => break started,
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    health.metrics().error("lease");
                    tracing::warn!(lease = %self.lease(), error = %e, "cannot read or take the lease");
                }
                Err(_) => {
                    health.metrics().error("lease");
                    tracing::warn!(lease = %self.lease(), "the API server did not answer in {deadline:?}");
                }
            }
            attempt += 1;
            sleep(self.retry_wait(attempt)).await;
        };
        health.set_leader(true);
        tracing::info!(lease = %self.lease(), identity = %self.identity, "leading");
        let renewing = async {
            loop {
                sleep(self.renew_period).await;
                let left = deadline.saturating_sub(renewed.elapsed());
                let started = Instant::now();
                match timeout(left, self.try_acquire_or_renew(&mut observed)).await {
                    Ok(Ok(true)) => renewed = started,
                    Ok(Ok(false)) => {
                        return LeaseError::Lost(format!(
                            "{}: another replica holds it (this is {})",
                            self.lease(),
                            self.identity
                        ))
                    }
                    Ok(Err(e)) if renewed.elapsed() < deadline => {
                        health.metrics().error("lease");
                        tracing::warn!(lease = %self.lease(), error = %e, "cannot renew the lease yet");
                    }
                    Ok(Err(e)) => {
                        return LeaseError::Lost(format!(
                            "{}: not renewed in {deadline:?}: {e}",
                            self.lease()
                        ))
                    }
                    Err(_) => {
                        return LeaseError::Lost(format!(
                            "{}: not renewed in {deadline:?}: the API server did not answer",
                            self.lease()
                        ))
                    }
                }
            }
        };
        let mut work = Box::pin(work);
        let outcome = tokio::select! {
            () = &mut work => Ok(()),
            lost = renewing => Err(lost),
        };
        // The work has stopped (dropped) before this replica says it no
        // longer leads; a released Lease is released before, so that
        // whoever waits for the leader to stand down sees it done.
        drop(work);
        match outcome {
            Ok(()) => {
                if let Ok(Err(e)) = timeout(deadline, self.release()).await {
                    tracing::warn!(lease = %self.lease(), error = %e, "cannot release the lease");
                }
                health.set_leader(false);
                Ok(())
            }
            Err(lost) => {
                health.set_leader(false);
                health.metrics().error("lease");
                Err(lost)
            }
        }
    }
}
