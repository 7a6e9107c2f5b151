//! Leader election with the real kube-rs client against the stand-in API
//! server's Leases (resourceVersion-checked, as the API server does):
//! one of two electors leads, the other takes over only once the Lease
//! expired; a leader steps down (its work dropped) on a conflicting
//! renewal, on finding another holder, and when renewals go unanswered,
//! before a standby could take over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral_operator::lease::{LeaderElection, LeaseError};
use corral_operator::metrics::Metrics;
use corral_operator::serve::Health;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

// The stand-in API server of the CLI's live-cluster tests, Leases and all.
#[allow(dead_code)]
#[path = "../../corral-cli/tests/replay/mod.rs"]
mod replay;
use replay::lease::{is_lease, Leases, Shared};

const LEASE: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_secs(1);

struct Server {
    leases: Shared,
    _dir: tempfile::TempDir,
}

impl Server {
    fn new() -> Self {
        Server {
            leases: Arc::new(Mutex::new(Leases::default())),
            _dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A client whose requests the server knows as `tag`'s.
    async fn client(&self, tag: &str) -> Client {
        let leases = self.leases.clone();
        let tag = tag.to_string();
        let dir = self._dir.path().join(&tag);
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = replay::start(
            &dir,
            Arc::new(move |request: &replay::Request| {
                if is_lease(&request.path) {
                    leases.lock().unwrap().answer(request, &tag)
                } else {
                    replay::status(404, "NotFound", "not served")
                }
            }),
        );
        let config = Config::from_custom_kubeconfig(
            Kubeconfig::read_from(kubeconfig).unwrap(),
            &KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        Client::try_from(config).unwrap()
    }

    async fn elector(&self, tag: &str) -> LeaderElection {
        LeaderElection::new(self.client(tag).await, "corral", "corral-operator", tag)
            .with_timing(LEASE, RENEW)
            .unwrap()
    }

    fn holder(&self) -> Option<String> {
        self.leases.lock().unwrap().holder()
    }

    fn writes_by(&self, tag: &str) -> Vec<Instant> {
        let leases = self.leases.lock().unwrap();
        leases
            .writes
            .iter()
            .filter(|w| w.by == tag)
            .map(|w| w.at)
            .collect()
    }

    async fn wait_for_holder(&self, holder: &str, within: Duration) {
        let start = Instant::now();
        while self.holder().as_deref() != Some(holder) {
            assert!(
                start.elapsed() < within,
                "{holder} did not take the lease in {within:?} (holder: {:?})",
                self.holder()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn health() -> Arc<Health> {
    Arc::new(Health::new(Arc::new(Metrics::new())))
}

/// Work that says it runs, and says when it is dropped.
fn work(
    running: Arc<AtomicBool>,
    dropped: Arc<AtomicBool>,
) -> impl std::future::Future<Output = ()> {
    struct Guard(Arc<AtomicBool>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    async move {
        let _guard = Guard(dropped);
        running.store(true, Ordering::SeqCst);
        std::future::pending::<()>().await;
    }
}

fn flags() -> (Arc<AtomicBool>, Arc<AtomicBool>) {
    (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_leads_and_the_other_takes_over_only_after_expiry() {
    let server = Server::new();
    let (a_running, a_dropped) = flags();
    let (b_running, _) = flags();
    let (a_health, b_health) = (health(), health());
    let a = server.elector("a").await;
    let task_a = {
        let (health, running, dropped) = (a_health.clone(), a_running.clone(), a_dropped);
        tokio::spawn(async move { a.run(work(running, dropped), &health).await })
    };
    server.wait_for_holder("a", Duration::from_secs(5)).await;
    let b = server.elector("b").await;
    let task_b = {
        let (health, running) = (b_health.clone(), b_running.clone());
        tokio::spawn(async move { b.run(work(running, flags().1), &health).await })
    };
    // Well past a lease duration: a renews, b stands by.
    tokio::time::sleep(LEASE + 2 * RENEW).await;
    assert_eq!(server.holder().as_deref(), Some("a"));
    assert!(a_running.load(Ordering::SeqCst) && a_health.is_leader());
    assert!(!b_running.load(Ordering::SeqCst) && !b_health.is_leader());
    assert!(b_health.ready().is_ok(), "a standby is ready");
    assert!(server.writes_by("b").is_empty(), "b wrote the held lease");
    assert!(server.writes_by("a").len() >= 4, "a did not renew");
    assert!(b_health
        .metrics()
        .encode()
        .contains("corral_operator_leader 0"));

    // a dies without releasing the lease.
    task_a.abort();
    let died = Instant::now();
    server
        .wait_for_holder("b", LEASE + 2 * RENEW + Duration::from_secs(1))
        .await;
    let a_last = *server.writes_by("a").last().unwrap();
    let b_first = server.writes_by("b")[0];
    assert!(
        b_first.duration_since(a_last) >= LEASE,
        "b took the lease {:?} after a's last renewal, before it expired",
        b_first.duration_since(a_last)
    );
    assert!(died.elapsed() <= LEASE + 2 * RENEW + Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(b_running.load(Ordering::SeqCst) && b_health.is_leader());
    assert!(b_health
        .metrics()
        .encode()
        .contains("corral_operator_leader 1"));
    let leases = server.leases.lock().unwrap();
    let lease = leases.writes.last().unwrap();
    assert_eq!(lease.holder, "b");
    drop(leases);
    task_b.abort();
}

/// Start `tag` leading, and return its task and flags.
async fn leader(
    server: &Server,
    tag: &str,
) -> (
    tokio::task::JoinHandle<Result<(), LeaseError>>,
    Arc<Health>,
    Arc<AtomicBool>,
) {
    let elector = server.elector(tag).await;
    let (running, dropped) = flags();
    let health = health();
    let task = {
        let health = health.clone();
        let dropped = dropped.clone();
        tokio::spawn(async move { elector.run(work(running, dropped), &health).await })
    };
    server.wait_for_holder(tag, Duration::from_secs(5)).await;
    (task, health, dropped)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_on_renewal_steps_down() {
    let server = Server::new();
    let (task, health, dropped) = leader(&server, "a").await;
    server.leases.lock().unwrap().conflicts = 1;
    let result = tokio::time::timeout(LEASE, task).await.unwrap().unwrap();
    assert!(
        matches!(&result, Err(LeaseError::Lost(why)) if why.contains("another replica")),
        "{result:?}"
    );
    assert!(dropped.load(Ordering::SeqCst), "the work still runs");
    assert!(!health.is_leader());
    assert!(health
        .metrics()
        .encode()
        .contains("corral_operator_leader 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_holder_found_on_renewal_steps_down() {
    let server = Server::new();
    let (task, health, dropped) = leader(&server, "a").await;
    server.leases.lock().unwrap().take("intruder");
    let result = tokio::time::timeout(LEASE, task).await.unwrap().unwrap();
    assert!(matches!(result, Err(LeaseError::Lost(_))), "{result:?}");
    assert!(dropped.load(Ordering::SeqCst) && !health.is_leader());
    assert_eq!(server.holder().as_deref(), Some("intruder"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_renewals_step_down_before_the_lease_expires() {
    let server = Server::new();
    let (task, _, dropped) = leader(&server, "a").await;
    tokio::time::sleep(RENEW + RENEW / 2).await;
    server.leases.lock().unwrap().failing = true;
    let result = tokio::time::timeout(2 * LEASE, task)
        .await
        .unwrap()
        .unwrap();
    let stopped = Instant::now();
    assert!(matches!(result, Err(LeaseError::Lost(_))), "{result:?}");
    assert!(dropped.load(Ordering::SeqCst));
    // A standby could take the lease a lease duration after the last
    // renewal it saw: the leader stopped before.
    let last = *server.writes_by("a").last().unwrap();
    assert!(
        stopped.duration_since(last) < LEASE,
        "the leader worked {:?} past its last renewal",
        stopped.duration_since(last)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_work_releases_the_lease_at_once() {
    let server = Server::new();
    let a = server.elector("a").await;
    let a_health = health();
    let task_a = {
        let health = a_health.clone();
        tokio::spawn(async move {
            a.run(tokio::time::sleep(Duration::from_secs(2)), &health)
                .await
        })
    };
    server.wait_for_holder("a", Duration::from_secs(5)).await;
    let b = server.elector("b").await;
    let b_health = health();
    let task_b = {
        let health = b_health.clone();
        tokio::spawn(async move { b.run(work(flags().0, flags().1), &health).await })
    };
    assert_eq!(task_a.await.unwrap(), Ok(()));
    let released = Instant::now();
    server.wait_for_holder("b", LEASE).await;
    assert!(
        released.elapsed() < LEASE,
        "b waited for the released lease to expire"
    );
    task_b.abort();
}

#[test]
fn timings_that_cannot_work_are_refused() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let server = Server::new();
        let client = server.client("a").await;
        for (lease, renew) in [
            (Duration::from_secs(0), Duration::from_secs(1)),
            (Duration::from_millis(1500), Duration::from_millis(100)),
            (Duration::from_secs(3), Duration::from_secs(2)),
            (Duration::from_secs(15), Duration::ZERO),
        ] {
            let result =
                LeaderElection::new(client.clone(), "n", "l", "a").with_timing(lease, renew);
            assert!(
                matches!(result, Err(LeaseError::Config(_))),
                "{lease:?} {renew:?}"
            );
        }
        let nameless = LeaderElection::new(client, "n", "l", " ");
        let result = nameless.run(std::future::ready(()), &health()).await;
        assert!(matches!(result, Err(LeaseError::Config(_))), "{result:?}");
        assert!(server.leases.lock().unwrap().writes.is_empty());
    });
}
