//! `corral snapshot` and `--cluster` against API servers that refuse,
//! dribble, flood or lie: the real kube-rs client against a local server
//! (HTTP, or HTTPS with certificates made here) that each test starts and
//! stops. Every run must end in seconds, with an exit status and a message
//! that say what went wrong: never a report ("0 new findings") on a
//! cluster that could not be read.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{json, Value};

/// What the server answers to one request.
enum Answer {
    /// A complete response: status line's code, extra headers, body.
    Full(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Headers promising a JSON body, then one byte every `every`, at most
    /// `bytes` bytes: a server that dribbles.
    Dribble { every: Duration, bytes: usize },
    /// A 200 with a body of `total` bytes, streamed in 64 KiB chunks and
    /// never held whole; `declared` sends its Content-Length, otherwise it
    /// is chunked.
    Flood { total: u64, declared: bool },
}

type Handler = Arc<dyn Fn(&str, &str) -> Answer + Send + Sync>;

fn json_answer(code: u16, body: &Value) -> Answer {
    Answer::Full(
        code,
        vec![("Content-Type", "application/json".into())],
        body.to_string().into_bytes(),
    )
}

fn list(kind: &str, items: Vec<Value>, next: Option<&str>) -> Answer {
    let mut metadata = json!({"resourceVersion": "1"});
    if let Some(next) = next {
        metadata["continue"] = json!(next);
    }
    json_answer(
        200,
        &json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": metadata, "items": items}),
    )
}

/// An empty list, of any kind (`List`): the paths name resources, not
/// kinds.
fn empty(_path: &str) -> Answer {
    list("", Vec::new(), None)
}

fn status(code: u16, reason: &str, message: &str) -> Answer {
    json_answer(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}),
    )
}

/// A local API server on 127.0.0.1, plain or TLS, stopped (and its
/// threads joined) on drop; it counts the requests for each path.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<HashMap<String, usize>>>,
    accept: Option<JoinHandle<()>>,
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

impl Server {
    fn start(handler: Handler, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(HashMap::new()));
        let (stopping, counted) = (stop.clone(), seen.clone());
        let accept = std::thread::spawn(move || {
            let mut connections = Vec::new();
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        tcp.set_nonblocking(false).unwrap();
                        // Answers go out at once, not after a delayed ACK.
                        tcp.set_nodelay(true).unwrap();
                        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                        tcp.set_write_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        let (handler, stop, seen) =
                            (handler.clone(), stopping.clone(), counted.clone());
                        let tls = tls.clone();
                        connections.push(std::thread::spawn(move || {
                            let stream: Box<dyn Stream> = match tls {
                                Some(config) => match rustls::ServerConnection::new(config) {
                                    Ok(conn) => Box::new(rustls::StreamOwned::new(conn, tcp)),
                                    Err(_) => return,
                                },
                                None => Box::new(tcp),
                            };
                            serve(stream, &handler, &stop, &seen);
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for connection in connections {
                let _ = connection.join();
            }
        });
        Server {
            port,
            stop,
            seen,
            accept: Some(accept),
        }
    }

    fn http(handler: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> Server {
        Server::start(Arc::new(handler), None)
    }

    fn seen(&self, path: &str) -> usize {
        self.seen.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// A kubeconfig for this server in `dir`; with `ca`, over HTTPS
    /// trusting that CA (a PEM file).
    fn kubeconfig(&self, dir: &Path, ca: Option<&Path>) -> PathBuf {
        let cluster = match ca {
            Some(ca) => format!(
                "{{server: \"https://127.0.0.1:{}\", certificate-authority: \"{}\"}}",
                self.port,
                ca.display()
            ),
            None => format!("{{server: \"http://127.0.0.1:{}\"}}", self.port),
        };
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: hostile\n  cluster: {cluster}\nusers:\n- name: corral\n  user: {{token: t}}\ncontexts:\n- name: hostile\n  context: {{cluster: hostile, user: corral}}\ncurrent-context: hostile\n"
            ),
        )
        .unwrap();
        path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Answer requests on one connection until the client closes it, the
/// server stops, or an answer that ends the connection.
fn serve(
    stream: Box<dyn Stream>,
    handler: &Handler,
    stop: &AtomicBool,
    seen: &Mutex<HashMap<String, usize>>,
) {
    let mut reader = BufReader::new(stream);
    for _ in 0..10_000 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || stop.load(Ordering::SeqCst) {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        *seen.lock().unwrap().entry(path.to_string()).or_default() += 1;
        let out = reader.get_mut();
        let written = match handler(path, query) {
            Answer::Full(code, headers, body) => {
                let mut head = format!(
                    "HTTP/1.1 {code} Hostile\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let mut response = head.into_bytes();
                response.extend_from_slice(&body);
                out.write_all(&response).and_then(|_| out.flush())
            }
            Answer::Dribble { every, bytes } => {
                let _ = out.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n",
                );
                let _ = out.flush();
                for _ in 0..bytes {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(every);
                    if out.write_all(b" ").and_then(|_| out.flush()).is_err() {
                        break;
                    }
                }
                return;
            }
            Answer::Flood { total, declared } => {
                let head = if declared {
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {total}\r\n\r\n")
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_string()
                };
                if out.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 << 10];
                let mut sent = 0;
                while sent < total && !stop.load(Ordering::SeqCst) {
                    let framed = if declared {
                        out.write_all(&chunk)
                    } else {
                        out.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                            .and_then(|_| out.write_all(&chunk))
                            .and_then(|_| out.write_all(b"\r\n"))
                    };
                    if framed.is_err() {
                        break;
                    }
                    sent += chunk.len() as u64;
                }
                return;
            }
        };
        if written.is_err() {
            return;
        }
    }
}

fn corral(args: &[&str], kubeconfig: &Path) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let output = Command::cargo_bin("corral")
        .unwrap()
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

const WORKLOAD_PATHS: [&str; 8] = [
    "/api/v1/pods",
    "/api/v1/replicationcontrollers",
    "/apis/apps/v1/deployments",
    "/apis/apps/v1/daemonsets",
    "/apis/apps/v1/statefulsets",
    "/apis/apps/v1/replicasets",
    "/apis/batch/v1/jobs",
    "/apis/batch/v1/cronjobs",
];

fn pod() -> Value {
    json!({"metadata": {"name": "web", "namespace": "shop"},
           "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                    "securityContext": {"privileged": true}}]}})
}

/// A server refusing every list (403), or failing every one (500): every
/// command that reads the cluster fails with exit status 2 and says
/// nothing could be read, whatever it would have found.
#[test]
fn a_server_that_refuses_everything_fails_every_command() {
    for (code, reason) in [(403, "Forbidden"), (500, "InternalError")] {
        let server = Server::http(move |path, _| status(code, reason, &format!("{path}: no")));
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = server.kubeconfig(dir.path(), None);
        for args in [
            &["scan", "--cluster"][..],
            &["scan", "--cluster", "--format", "json"][..],
            &["pss", "--cluster"][..],
            &["paths", "--cluster"][..],
            &["psp", "plan", "--cluster"][..],
            &["inventory", "--cluster"][..],
            &["snapshot"][..],
        ] {
            let (exit, stdout, stderr, _) = corral(args, &kubeconfig);
            assert_eq!(exit, 2, "{code} {args:?}: {stdout} {stderr}");
            assert!(
                stderr.contains("nothing could be read from the cluster: all 26 lists failed"),
                "{code} {args:?}: {stderr}"
            );
            let why = if code == 403 {
                "forbidden; Corral needs `list`"
            } else {
                "answered 500 InternalError"
            };
            assert!(stderr.contains(why), "{code} {args:?}: {stderr}");
            // No report on nothing: a clean one would lie.
            assert_eq!(stdout, "", "{code} {args:?}");
            assert!(
                !stderr.contains("0 new findings"),
                "{code} {args:?}: {stderr}"
            );
        }
    }
}

/// What each analysis needs, and only that: with pods and workloads
/// forbidden, the snapshot and the inventory still run (they read what
/// there is), scan and pss fail; with RBAC forbidden, paths fails and scan
/// runs.
#[test]
fn each_command_fails_without_the_kinds_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let forbidden = |paths: &'static [&'static str]| {
        Server::http(move |path, _| {
            if paths.contains(&path) || path.ends_with("/configmaps/aws-auth") {
                status(403, "Forbidden", "no")
            } else if path == "/api/v1/pods" {
                list("Pod", vec![pod()], None)
            } else {
                empty(path)
            }
        })
    };
    let server = forbidden(&WORKLOAD_PATHS);
    let kubeconfig = server.kubeconfig(dir.path(), None);
    for (args, exit) in [
        (&["snapshot", "--format", "json"][..], 0),
        (&["inventory", "--cluster"][..], 0),
        (&["scan", "--cluster"][..], 2),
        (&["pss", "--cluster"][..], 2),
        (&["paths", "--cluster"][..], 2),
        // The cluster's PodSecurityPolicies (none) were read: a map of them.
        (&["psp", "map", "--cluster"][..], 0),
        (&["psp", "plan", "--cluster"][..], 2),
    ] {
        let (code, stdout, stderr, _) = corral(args, &kubeconfig);
        assert_eq!(code, exit, "{args:?}: {stdout} {stderr}");
        assert!(
            stderr.contains("warning: Pod skipped: forbidden"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stdout.is_empty(), exit == 2, "{args:?}: {stdout}");
        if exit == 2 {
            assert!(
                stderr.contains(&format!(
                    "corral {} --cluster needs pods or workloads (Pod, Deployment",
                    args[..args.len() - 1].join(" ")
                )),
                "{args:?}: {stderr}"
            );
        }
    }
    drop(server);
    let server = forbidden(&[
        "/apis/rbac.authorization.k8s.io/v1/roles",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    ]);
    let kubeconfig = server.kubeconfig(dir.path(), None);
    let (code, _, stderr, _) = corral(&["paths", "--cluster"], &kubeconfig);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("corral paths --cluster needs RBAC roles (Role, ClusterRole)"),
        "{stderr}"
    );
    // The privileged pod is read, and found.
    let (code, stdout, stderr, _) = corral(&["scan", "--cluster", "--format", "json"], &kubeconfig);
    assert_eq!(code, 1, "{stdout} {stderr}");
    assert!(stdout.contains("privileged"), "{stdout}");
}

/// A server that sends its headers, then a byte every 2 s: the request
/// fails at `--request-timeout`, body included, and the rest is read.
#[test]
fn a_dribbling_answer_ends_at_the_request_timeout() {
    let server = Server::http(|path, _| {
        if path == "/api/v1/pods" {
            Answer::Dribble {
                every: Duration::from_secs(2),
                bytes: 30,
            }
        } else if path == "/apis/apps/v1/deployments" {
            list("Deployment", Vec::new(), None)
        } else {
            empty(path)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path(), None);
    let (code, stdout, stderr, took) = corral(
        &["snapshot", "--format", "json", "--request-timeout", "3s"],
        &kubeconfig,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(
        stderr.contains(&format!(
            "warning: Pod skipped: the server at http://127.0.0.1:{}/ did not answer in full within 3s (--request-timeout)",
            server.port
        )),
        "{stderr}"
    );
    let snapshot: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(snapshot["kind"], "List");
}

/// Throttling that never ends: a Retry-After of 63 years is not waited
/// for, endless 503s stop at the retry budget, endless 429s with a
/// Retry-After of 0 stop after 5 retries; each with an error that says so.
#[test]
fn endless_throttling_ends_with_an_error_within_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let throttled = |code: u16, retry_after: Option<&'static str>| {
        Server::http(move |path, _| match path {
            "/api/v1/namespaces" => empty(path),
            _ => {
                let Answer::Full(_, mut headers, body) = status(code, "Busy", "try later") else {
                    unreachable!()
                };
                if let Some(after) = retry_after {
                    headers.push(("Retry-After", after.to_string()));
                }
                Answer::Full(code, headers, body)
            }
        })
    };

    let server = throttled(429, Some("2000000000"));
    let kubeconfig = server.kubeconfig(dir.path(), None);
    let (code, _, stderr, took) = corral(&["scan", "--cluster"], &kubeconfig);
    assert_eq!(code, 2, "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        stderr.contains("warning: Pod skipped: the server at http://127.0.0.1:")
            && stderr.contains("answered 429 Too Many Requests and asked to retry after 2000000000 s, past the retry budget of 30s (--retry-budget)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("corral scan --cluster needs pods or workloads"),
        "{stderr}"
    );
    assert_eq!(server.seen("/api/v1/pods"), 1);
    drop(server);

    let server = throttled(503, None);
    let kubeconfig = server.kubeconfig(dir.path(), None);
    let (code, _, stderr, took) =
        corral(&["pss", "--cluster", "--retry-budget", "2s"], &kubeconfig);
    assert_eq!(code, 2, "{stderr}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    assert!(
        stderr.contains("answered 503 Service Unavailable and the next retry would wait 2s, past the retry budget of 2s (--retry-budget)"),
        "{stderr}"
    );
    // Waits of 0.5 s and 1 s, then a third would end past 2 s.
    assert_eq!(server.seen("/api/v1/pods"), 3);
    drop(server);

    // Throttled once, for longer than a request may take: the wait is
    // not the request's, and the pods are read after it.
    let server = Server::http(|path, _| match path {
        "/api/v1/pods" if COUNTED.fetch_add(1, Ordering::SeqCst) == 0 => {
            let Answer::Full(code, mut headers, body) = status(429, "TooManyRequests", "later")
            else {
                unreachable!()
            };
            headers.push(("Retry-After", "3".into()));
            Answer::Full(code, headers, body)
        }
        "/api/v1/pods" => list("Pod", vec![pod()], None),
        _ => empty(path),
    });
    static COUNTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let kubeconfig = server.kubeconfig(dir.path(), None);
    let (code, stdout, stderr, took) = corral(
        &["snapshot", "--format", "json", "--request-timeout", "2s"],
        &kubeconfig,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(stdout.contains("\"web\""), "{stdout}");
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert_eq!(server.seen("/api/v1/pods"), 2);
    drop(server);

    let server = throttled(429, Some("0"));
    let kubeconfig = server.kubeconfig(dir.path(), None);
    let (code, _, stderr, _) = corral(&["snapshot"], &kubeconfig);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "answered 429 Too Many Requests 6 times in a row; Corral retries at most 5 times"
        ),
        "{stderr}"
    );
    assert_eq!(server.seen("/api/v1/pods"), 6);
}

/// A list larger than `--max-response-size`: declared (2 GiB, refused
/// before reading, at the default bound) or streamed without a length
/// (2 GiB, cut at the bound): the snapshot fails, naming the kind and the
/// bound, in seconds and without holding the body.
#[test]
fn a_huge_list_is_an_error_naming_the_kind_and_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    for declared in [true, false] {
        let server = Server::http(move |path, _| match path {
            "/api/v1/pods" => Answer::Flood {
                total: 2 << 30,
                declared,
            },
            _ => empty(path),
        });
        let kubeconfig = server.kubeconfig(dir.path(), None);
        // Declared: at the default bound. Streamed: at a lower one, to
        // stay fast.
        let (bound, shown): (&[&str], _) = if declared {
            (&[], "512 MiB (536870912 bytes)")
        } else {
            (&["--max-response-size", "8388608"], "8 MiB (8388608 bytes)")
        };
        for command in [&["snapshot"][..], &["scan", "--cluster"][..]] {
            let args = [command, bound].concat();
            let (code, stdout, stderr, took) = corral(&args, &kubeconfig);
            assert_eq!(code, 2, "{args:?}: {stderr}");
            assert!(took < Duration::from_secs(30), "{took:?}");
            assert!(
                stderr.contains(&format!(
                    "Pod: its list is larger than {shown} (--max-response-size); no snapshot rather than an incomplete or wrong one"
                )),
                "{args:?}: {stderr}"
            );
            assert_eq!(stdout, "", "{args:?}");
        }
    }
}

/// A continue token that comes back, or pages that never end: an error
/// after a bound, not a loop.
#[test]
fn pages_that_never_end_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::http(|path, query| match path {
        "/api/v1/pods" => list("Pod", vec![pod()], Some("again")),
        "/apis/apps/v1/deployments" => {
            let page: usize = query
                .split('&')
                .find_map(|p| p.strip_prefix("continue=page-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            list(
                "Deployment",
                Vec::new(),
                Some(&format!("page-{}", page + 1)),
            )
        }
        _ => empty(path),
    });
    let kubeconfig = server.kubeconfig(dir.path(), None);
    let (code, _, stderr, took) = corral(&["snapshot"], &kubeconfig);
    assert_eq!(code, 2, "{stderr}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    // In KINDS order, the pods' error is the one given.
    assert!(
        stderr.contains("Pod: the server at http://127.0.0.1:")
            && stderr.contains("sent the continue token \"again\" twice: a list that never ends"),
        "{stderr}"
    );
    assert_eq!(server.seen("/api/v1/pods"), 2);
    assert_eq!(server.seen("/apis/apps/v1/deployments"), 1000);
}

/// Not the Kubernetes API: a login page, invalid JSON, a redirect. Each is
/// named as such, never as a server that could not be reached.
#[test]
fn answers_that_are_not_the_kubernetes_api_are_named() {
    let dir = tempfile::tempdir().unwrap();
    // What the server answers, what Corral says, and whether the answer
    // fails the snapshot at once (a success that is not a list would lie)
    // or skips the kind (a refusal or redirect).
    type Case = (fn() -> Answer, &'static str, bool);
    let cases: [Case; 4] = [
        (
            || {
                Answer::Full(
                    200,
                    vec![("Content-Type", "text/html; charset=utf-8".into())],
                    b"<!DOCTYPE html><html><body><form action=/login>Sign in</form></body></html>".to_vec(),
                )
            },
            "answered HTML, not the Kubernetes API (a proxy or login page?)",
            true,
        ),
        (
            || {
                Answer::Full(
                    401,
                    vec![("Content-Type", "text/html".into())],
                    b"<html><body>Unauthorized</body></html>".to_vec(),
                )
            },
            "answered 401 Unauthorized with HTML, not the Kubernetes API (a proxy or login page?)",
            false,
        ),
        (
            || {
                Answer::Full(
                    200,
                    vec![("Content-Type", "application/json".into())],
                    b"{\"kind\": \"PodList\", \"items\": [".to_vec(),
                )
            },
            "answered invalid JSON, not the Kubernetes API (EOF while parsing",
            true,
        ),
        (
            || {
                Answer::Full(
                    302,
                    vec![("Location", "https://sso.example.com/login".into())],
                    Vec::new(),
                )
            },
            "answered a redirect (302 Found) to https://sso.example.com/login, which the Kubernetes API never does (a proxy or login page?)",
            false,
        ),
    ];
    for (answer, said, fatal) in cases {
        let server = Server::http(move |_, _| answer());
        let kubeconfig = server.kubeconfig(dir.path(), None);
        let (code, stdout, stderr, _) = corral(&["scan", "--cluster"], &kubeconfig);
        assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
        let server = format!("the server at http://127.0.0.1:{}/", server.port);
        let error = if fatal {
            format!("error: Namespace: {server} {said}")
        } else {
            format!("error: nothing could be read from the cluster: all 26 lists failed (Namespace skipped: {server} {said}")
        };
        assert!(stderr.contains(&error), "{error}\n{stderr}");
        assert!(!stderr.contains("could not be reached"), "{stderr}");
    }
    // Valid JSON that is not a list, for one kind only: no snapshot
    // rather than one without that kind's objects.
    let server = Server::http(|path, _| match path {
        "/api/v1/pods" => json_answer(200, &json!({"hello": "world"})),
        _ => empty(path),
    });
    let kubeconfig = server.kubeconfig(dir.path(), None);
    let (code, stdout, stderr, _) = corral(&["snapshot"], &kubeconfig);
    assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.contains("error: Pod: the server at http://127.0.0.1:")
            && stderr
                .contains("answered JSON that is not a Kubernetes list (missing field `items`")
            && stderr.contains("; no snapshot rather than an incomplete or wrong one"),
        "{stderr}"
    );
}

/// A certificate authority and a certificate for 127.0.0.1 it signed.
struct Pki {
    ca: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    Pki {
        ca: ca.pem(),
        server: Arc::new(server),
    }
}

/// Over HTTPS: the server's certificate signed by the kubeconfig's CA is
/// read; one signed by another CA (a man in the middle) is refused, and
/// the error says so.
#[test]
fn a_certificate_from_another_ca_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, intruder) = (pki(), pki());
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cluster.ca).unwrap();
    let handler: Handler = Arc::new(|path, _| match path {
        "/api/v1/pods" => list("Pod", vec![pod()], None),
        _ => empty(path),
    });

    let server = Server::start(handler.clone(), Some(cluster.server.clone()));
    let kubeconfig = server.kubeconfig(dir.path(), Some(&ca));
    let (code, stdout, stderr, _) = corral(&["snapshot", "--format", "json"], &kubeconfig);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"web\""), "{stdout}");
    drop(server);

    let server = Server::start(handler, Some(intruder.server.clone()));
    let kubeconfig = server.kubeconfig(dir.path(), Some(&ca));
    let (code, _, stderr, _) = corral(&["snapshot"], &kubeconfig);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the server at https://127.0.0.1:{}/ presented a TLS certificate not signed by the cluster's CA from the kubeconfig",
            server.port
        )),
        "{stderr}"
    );
    assert_eq!(server.seen("/api/v1/pods"), 0);
}

/// A list of another kind (or a Status carrying items) is not taken for the
/// kind asked for: pods read as "none" would be a clean report on nothing.
#[test]
fn a_list_of_another_kind_is_not_taken_for_the_one_asked() {
    let dir = tempfile::tempdir().unwrap();
    for body in [
        json!({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}, "items": []}),
        json!({"kind": "Status", "status": "Success", "items": [{"kind": "ConfigMap"}]}),
    ] {
        let server = Server::http(move |_, _| json_answer(200, &body));
        let kubeconfig = server.kubeconfig(dir.path(), None);
        let (code, stdout, stderr, _) = corral(&["scan", "--cluster"], &kubeconfig);
        assert_eq!((code, stdout.as_str()), (2, ""), "{stderr}");
        assert!(
            stderr.contains(" where a ") && stderr.contains("List was asked for"),
            "{stderr}"
        );
    }
}
