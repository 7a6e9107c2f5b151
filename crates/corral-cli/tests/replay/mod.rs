//! A stand-in Kubernetes API server for the live-cluster tests: plain
//! HTTP/1.1 on loopback (connections kept alive, as kube-rs keeps them),
//! each request answered by the test's handler, and a kubeconfig that
//! points the real kube-rs client at it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};

// Not every test that serves the API serves Leases.
#[allow(dead_code)]
pub mod lease;

/// A status code, a JSON body, and a Retry-After in seconds.
pub type Answer = (u16, Value, Option<u64>);

/// What the client asked.
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    /// The body, as JSON (`Null` when there is none).
    pub body: Value,
}

pub type Handler = Arc<dyn Fn(&Request) -> Answer + Send + Sync>;

/// An API list response: the items without their type, as the API server
/// sends them. (Not every test that serves the API lists.)
#[allow(dead_code)]
pub fn list(kind: &str, mut objects: Vec<Value>, next: Option<&str>) -> Answer {
    for object in &mut objects {
        if let Some(map) = object.as_object_mut() {
            map.remove("apiVersion");
            map.remove("kind");
        }
    }
    let mut metadata = json!({"resourceVersion": "4242"});
    if let Some(next) = next {
        metadata["continue"] = json!(next);
    }
    (
        200,
        json!({"kind": format!("{kind}List"), "apiVersion": "v1", "metadata": metadata, "items": objects}),
        None,
    )
}

/// An API error: a `Status` object.
pub fn status(code: u16, reason: &str, message: &str) -> Answer {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
        None,
    )
}

fn serve(handler: &Handler, stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
            if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let mut words = line.split_whitespace();
        let method = words.next().unwrap_or("GET").to_string();
        let target = words.next().unwrap_or("/");
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let request = Request {
            method,
            path: path.to_string(),
            query: query.to_string(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        };
        let (code, body, retry_after) = handler(&request);
        let body = body.to_string();
        let retry = retry_after
            .map(|s| format!("Retry-After: {s}\r\n"))
            .unwrap_or_default();
        let response = format!(
            "HTTP/1.1 {code} Replayed\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{retry}\r\n{body}",
            body.len()
        );
        if writer.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

/// Serve `handler` on a loopback port, a thread per connection; a
/// kubeconfig in `dir` pointing at it.
pub fn start(dir: &Path, handler: Handler) -> PathBuf {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handler = handler.clone();
            std::thread::spawn(move || serve(&handler, stream));
        }
    });
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: replay\n  cluster: {{server: \"http://127.0.0.1:{port}\"}}\nusers:\n- name: corral\n  user: {{token: replayed}}\ncontexts:\n- name: replay\n  context: {{cluster: replay, user: corral}}\ncurrent-context: replay\n"
        ),
    )
    .unwrap();
    kubeconfig
}
