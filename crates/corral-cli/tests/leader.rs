//! Two `corral operator run --leader-elect` processes against one stand-in
//! API server (serving the Lease, and the list and watch of Recordings the
//! controller starts from; each process through its own port, so the
//! server knows who asked): one holds the Lease and only it runs the
//! controller; killed, the other takes over once the Lease expired; a
//! leader that finds another holder exits. Their `/metrics`, `/healthz`
//! and `/readyz` are read over HTTP.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

mod replay;
use replay::lease::{is_lease, Leases, Shared};

const LEASE: Duration = Duration::from_secs(3);
const RENEW: Duration = Duration::from_secs(1);
const RECORDINGS: &str = "/apis/corral.dev/v1alpha1/recordings";
/// What the operator's stores watch.
const WATCHED: [&str; 6] = [
    RECORDINGS,
    "/api/v1/pods",
    "/api/v1/services",
    "/api/v1/namespaces",
    "/apis/discovery.k8s.io/v1/endpointslices",
    "/apis/networking.k8s.io/v1/networkpolicies",
];

/// Who asked for Recordings.
type Asked = Arc<Mutex<Vec<String>>>;

fn serve(dir: &Path, tag: &str, leases: &Shared, asked: &Asked) -> std::path::PathBuf {
    let (leases, asked, tag) = (leases.clone(), asked.clone(), tag.to_string());
    let dir = dir.join(&tag);
    std::fs::create_dir_all(&dir).unwrap();
    replay::start(
        &dir,
        Arc::new(move |request: &replay::Request| {
            if is_lease(&request.path) {
                return leases.lock().unwrap().answer(request, &tag);
            }
            // The controllers list and watch these, cluster-wide; the
            // cluster is empty.
            if request.method != "GET" || !WATCHED.contains(&request.path.as_str()) {
                return replay::status(404, "NotFound", "not served");
            }
            if request.path == RECORDINGS {
                asked.lock().unwrap().push(tag.clone());
            }
            if request.query.split('&').any(|p| p == "watch=true") {
                // A watch that sees nothing but a bookmark, then ends.
                std::thread::sleep(Duration::from_millis(500));
                return (
                    200,
                    json!({"type": "BOOKMARK", "object": {"apiVersion": "meta.k8s.io/v1",
                           "kind": "PartialObjectMetadata", "metadata": {"resourceVersion": "4242"}}}),
                    None,
                );
            }
            replay::list("", vec![], None)
        }),
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An operator process, killed when dropped.
struct Operator {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Operator {
    fn start(dir: &Path, kubeconfig: &Path, identity: &str) -> Operator {
        Operator::start_with(dir, kubeconfig, identity, &["--leader-elect"])
    }

    fn start_with(dir: &Path, kubeconfig: &Path, identity: &str, flags: &[&str]) -> Operator {
        let port = free_port();
        let log = dir.join(format!("{identity}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(["operator", "run", "--lease-namespace", "corral"])
            .args(flags)
            .args([
                "--identity",
                identity,
                "--lease-duration",
                "3s",
                "--renew-period",
                "1s",
            ])
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["--metrics-bind", &format!("127.0.0.1:{port}")])
            .env_remove("POD_NAMESPACE")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let operator = Operator { child, port, log };
        let start = Instant::now();
        while operator.get("/healthz").0 != 200 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{identity} never served /healthz: {}",
                operator.said()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        operator
    }

    fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Send `request` as it is; the status code and body of the answer (0
    /// when there is none).
    fn send(&self, request: &str) -> (u16, String) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, String::new());
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        if stream.write_all(request.as_bytes()).is_err() {
            return (0, String::new());
        }
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let code = answer
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = answer
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (code, body)
    }

    fn get(&self, path: &str) -> (u16, String) {
        self.send(&format!(
            "GET {path} HTTP/1.1\r\nHost: corral\r\nConnection: close\r\n\r\n"
        ))
    }

    fn metric(&self, line: &str) -> bool {
        let (code, body) = self.get("/metrics");
        code == 200 && body.lines().any(|l| l == line)
    }
}

fn wait_for(what: &str, within: Duration, done: impl Fn() -> bool) -> Instant {
    wait_for_or(what, within, done, String::new)
}

/// Wait for `done`; failing, say `what` and `context()`.
fn wait_for_or(
    what: &str,
    within: Duration,
    done: impl Fn() -> bool,
    context: impl Fn() -> String,
) -> Instant {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < within,
            "{what}: not in {within:?}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Instant::now()
}

#[test]
fn two_operators_one_leads_and_the_other_takes_over() {
    let dir = tempfile::tempdir().unwrap();
    let leases: Shared = Arc::new(Mutex::new(Leases::default()));
    let asked: Asked = Arc::default();
    let holder = || leases.lock().unwrap().holder();
    let writes_by = |tag: &str| -> Vec<Instant> {
        let leases = leases.lock().unwrap();
        leases
            .writes
            .iter()
            .filter(|w| w.by == tag)
            .map(|w| w.at)
            .collect()
    };
    let asked_by = |tag: &str| asked.lock().unwrap().iter().filter(|t| *t == tag).count();

    let one = Operator::start(
        dir.path(),
        &serve(dir.path(), "one", &leases, &asked),
        "one",
    );
    wait_for("one leads", Duration::from_secs(10), || {
        holder().as_deref() == Some("one")
    });
    let two = Operator::start(
        dir.path(),
        &serve(dir.path(), "two", &leases, &asked),
        "two",
    );
    std::thread::sleep(LEASE + 2 * RENEW);

    // One leads and works; two stands by, ready, and asks for nothing.
    assert_eq!(holder().as_deref(), Some("one"), "{}", two.said());
    assert!(writes_by("two").is_empty(), "two wrote a held Lease");
    assert!(
        writes_by("one").len() >= 4,
        "one did not renew: {}",
        one.said()
    );
    assert!(
        asked_by("one") >= 2,
        "one's controller did not list and watch: {}",
        one.said()
    );
    assert_eq!(asked_by("two"), 0, "the standby ran the controller");
    assert!(one.metric("corral_operator_leader 1"));
    assert!(two.metric("corral_operator_leader 0"));
    let (_, metrics) = one.get("/metrics");
    for counted in [
        "verb=\"list\",code=\"200\"",
        "verb=\"update\",code=\"200\"",
        "verb=\"watch\",code=\"200\"",
        "verb=\"get\",code=\"200\"",
    ] {
        assert!(
            metrics.contains(counted),
            "{counted} not counted:\n{metrics}"
        );
    }
    assert!(metrics.ends_with("# EOF\n"), "{metrics}");
    for operator in [&one, &two] {
        assert_eq!(operator.get("/healthz").0, 200);
        assert_eq!(operator.get("/readyz"), (200, "ok\n".to_string()));
        assert_eq!(operator.get("/nope").0, 404);
        assert_eq!(
            operator.send("POST /metrics HTTP/1.1\r\nHost: c\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").0,
            405
        );
        // What is not HTTP is refused, and the server serves on.
        assert_eq!(operator.send("\u{0}\u{1}garbage\r\n\r\n").0, 400);
        assert_eq!(operator.get("/healthz").0, 200);
    }

    // Clients that connect and say nothing neither starve the probes nor
    // hold their connection past the header timeout (5 s).
    let idle: Vec<TcpStream> = (0..32)
        .map(|_| TcpStream::connect(("127.0.0.1", one.port)).unwrap())
        .collect();
    assert_eq!(one.get("/healthz").0, 200);
    let mut first = &idle[0];
    first
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let waited = Instant::now();
    let _ = first.read(&mut [0; 256]);
    assert!(
        waited.elapsed() < Duration::from_secs(8),
        "an idle connection was held {:?}",
        waited.elapsed()
    );
    drop(idle);

    // One dies without a word: two takes over once the Lease expired.
    let mut one = one;
    one.child.kill().unwrap();
    one.child.wait().unwrap();
    let killed = Instant::now();
    let took = wait_for(
        "two takes over",
        LEASE + 2 * RENEW + Duration::from_secs(2),
        || holder().as_deref() == Some("two"),
    );
    let one_last = *writes_by("one").last().unwrap();
    let two_first = writes_by("two")[0];
    assert!(
        two_first.duration_since(one_last) >= LEASE,
        "two took the Lease {:?} after one's last renewal",
        two_first.duration_since(one_last)
    );
    assert!(took.duration_since(killed) <= LEASE + 2 * RENEW + Duration::from_secs(2));
    wait_for("two's controller starts", Duration::from_secs(5), || {
        asked_by("two") > 0
    });
    assert!(two.metric("corral_operator_leader 1"));

    // Another holder (one, back from the dead, say): two stops, and exits
    // to restart clean.
    leases.lock().unwrap().take("one");
    let mut two = two;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = two.child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < LEASE, "two still runs: {}", two.said());
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(2), "{}", two.said());
    assert!(
        two.said()
            .contains("leadership lost: Lease corral/corral-operator: another replica holds it"),
        "{}",
        two.said()
    );
}

impl Operator {
    fn terminate(&self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
    }

    /// The exit code, once it exited (within `within`).
    fn exited(&mut self, within: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(start.elapsed() < within, "still runs: {}", self.said());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// SIGTERM: a standby just exits; the leader stops its controller and
/// releases the Lease, which a standby takes at once, not a lease
/// duration later.
#[test]
fn a_stopped_leader_hands_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let leases: Shared = Arc::new(Mutex::new(Leases::default()));
    let asked: Asked = Arc::default();
    let holder = || leases.lock().unwrap().holder();
    let start =
        |tag: &str| Operator::start(dir.path(), &serve(dir.path(), tag, &leases, &asked), tag);
    let mut one = start("one");
    wait_for("one leads", Duration::from_secs(10), || {
        holder().as_deref() == Some("one")
    });
    let mut two = start("two");
    two.terminate();
    assert_eq!(
        two.exited(Duration::from_secs(5)),
        Some(0),
        "{}",
        two.said()
    );
    let three = start("three");
    // Three stands by.
    std::thread::sleep(RENEW * 2);
    assert_eq!(holder().as_deref(), Some("one"));
    one.terminate();
    assert_eq!(
        one.exited(Duration::from_secs(10)),
        Some(0),
        "{}",
        one.said()
    );
    let stopped = Instant::now();
    let took = wait_for_or(
        "three takes over",
        LEASE,
        || holder().as_deref() == Some("three"),
        || {
            let writes: Vec<(String, String)> = leases
                .lock()
                .unwrap()
                .writes
                .iter()
                .map(|w| (w.by.clone(), w.holder.clone()))
                .collect();
            format!(
                "writes {writes:?}\none: {}\nthree: {}",
                one.said(),
                three.said()
            )
        },
    );
    assert!(
        took.duration_since(stopped) < LEASE,
        "three waited for the released Lease to expire"
    );
    let writers: Vec<String> = leases
        .lock()
        .unwrap()
        .writes
        .iter()
        .map(|w| w.by.clone())
        .collect();
    assert!(!writers.contains(&"two".to_string()), "{writers:?}");
    // One's last write released the Lease.
    let released = leases
        .lock()
        .unwrap()
        .writes
        .iter()
        .rfind(|w| w.by == "one")
        .map(|w| w.holder.clone());
    assert_eq!(released.as_deref(), Some(""));
    drop(three);
}

/// Without `--leader-elect` the operator works at once and touches no
/// Lease.
#[test]
fn without_election_the_operator_works_alone() {
    let dir = tempfile::tempdir().unwrap();
    let leases: Shared = Arc::new(Mutex::new(Leases::default()));
    let asked: Asked = Arc::default();
    let kubeconfig = serve(dir.path(), "alone", &leases, &asked);
    let alone = Operator::start_with(dir.path(), &kubeconfig, "alone", &[]);
    wait_for("the controller lists", Duration::from_secs(5), || {
        !asked.lock().unwrap().is_empty()
    });
    assert!(alone.metric("corral_operator_leader 1"));
    wait_for("ready", Duration::from_secs(5), || {
        alone.get("/readyz").0 == 200
    });
    assert!(leases.lock().unwrap().writes.is_empty());
    assert!(leases.lock().unwrap().holder().is_none());
}

fn to_json(node: &corral_core::Node) -> serde_json::Value {
    use corral_core::{ScalarKind, Value as Y};
    match &node.value {
        Y::Scalar(s) => match s.kind {
            ScalarKind::Null => serde_json::Value::Null,
            ScalarKind::Bool(b) => json!(b),
            ScalarKind::Int | ScalarKind::Float => json!(s.as_i64()),
            ScalarKind::Str => json!(s.text.as_str()),
        },
        Y::Seq(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Y::Map(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|e| (e.key.to_string(), to_json(&e.value)))
                .collect(),
        ),
    }
}

/// The chart's operator (deploy/corral.yaml) runs as the test above ran
/// it: flags this binary takes, leader election, the pod's name and
/// namespace, probes and a Service on the port it serves, the Lease's
/// Role, and a NetworkPolicy letting scrapes and probes in.
#[test]
fn the_charts_operator_is_wired_as_tested() {
    let manifests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/corral.yaml");
    let loaded = corral_core::load(
        &[corral_core::Input::Path(manifests)],
        &corral_core::Limits::default(),
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let documents: Vec<serde_json::Value> =
        loaded.objects.iter().map(|o| to_json(&o.root)).collect();
    let find = |kind: &str, name: &str| {
        documents
            .iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in deploy/corral.yaml"))
            .clone()
    };
    let deployment = find("Deployment", "corral-operator");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(args.contains(&"--leader-elect"), "{args:?}");
    // The binary takes the chart's flags (and refuses one it does not
    // know, so that this check can fail).
    for (extra, ok) in [(vec![], true), (vec!["--no-such-flag"], false)] {
        let status = Command::new(env!("CARGO_BIN_EXE_corral"))
            .args(&args)
            .args(extra)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.success(), ok, "corral {args:?}");
    }
    let bind = args[args.iter().position(|a| *a == "--metrics-bind").unwrap() + 1];
    let port: u64 = bind.rsplit_once(':').unwrap().1.parse().unwrap();
    assert_eq!(
        container["ports"][0],
        json!({"name": "metrics", "containerPort": port, "protocol": "TCP"})
    );
    for (name, field) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ] {
        assert!(
            container["env"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["name"] == name && e["valueFrom"]["fieldRef"]["fieldPath"] == field),
            "{name}"
        );
    }
    assert_eq!(
        container["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "metrics"})
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "metrics"})
    );

    let service = find("Service", "corral-operator-metrics");
    assert_eq!(service["spec"]["selector"], pod["metadata"]["labels"]);
    assert_eq!(service["spec"]["ports"][0]["name"], "metrics");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "metrics");

    let role = find("Role", "corral-operator-lease");
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}])
    );
    let binding = find("RoleBinding", "corral-operator-lease");
    assert_eq!(binding["roleRef"]["name"], "corral-operator-lease");
    assert_eq!(
        binding["subjects"][0]["name"],
        pod["spec"]["serviceAccountName"]
    );

    let policy = find("NetworkPolicy", "corral-operator-metrics");
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        pod["metadata"]["labels"]
    );
    assert_eq!(policy["spec"]["ingress"][0]["ports"][0]["port"], port);
}
