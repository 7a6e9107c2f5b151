//! Malformed and hostile requests: an API error each (with what was
//! wrong), never a panic, and the server goes on serving.

use std::io::{Read, Write};
use std::net::TcpStream;

use corral_standin::{Config, StandIn};
use serde_json::Value;

/// (status code, body) of one raw HTTP/1.1 request.
fn request(
    server: &StandIn,
    method: &str,
    target: &str,
    headers: &str,
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(server.address()).unwrap();
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n{headers}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before it has read everything.
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// (method, target, headers, body, expected code, what the message says).
type Case<'a> = (&'a str, String, &'a str, Vec<u8>, u16, &'a str);

fn message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.to_string())
}

#[test]
fn every_malformed_request_is_an_api_error() {
    let server = StandIn::with_config(Config {
        max_body: 64 * 1024,
        ..Config::default()
    });
    let json = "Content-Type: application/json\r\n";
    let apply = "Content-Type: application/apply-patch+yaml\r\n";
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/v1/namespaces/a/configmaps".into(),
            json,
            b"{\"metadata\": ".to_vec(),
            400,
            "line 1, column 13",
        ),
        (
            "POST",
            "/api/v1/namespaces/a/configmaps".into(),
            json,
            b"[1, 2]".to_vec(),
            400,
            "not a JSON object",
        ),
        (
            "POST",
            "/api/v1/namespaces/a/configmaps".into(),
            json,
            b"{\"metadata\": {}}".to_vec(),
            422,
            "metadata.name",
        ),
        (
            "POST",
            "/api/v1/namespaces/a/configmaps".into(),
            json,
            br#"{"metadata": {"name": "Bad_Name"}}"#.to_vec(),
            422,
            "RFC 1123",
        ),
        (
            "POST",
            "/api/v1/namespaces/a/configmaps".into(),
            json,
            br#"{"metadata": {"name": "x", "namespace": "b"}}"#.to_vec(),
            400,
            "does not match",
        ),
        (
            "POST",
            "/api/v1/namespaces/a/configmaps".into(),
            json,
            "[".repeat(100_000).into_bytes(),
            413,
            "over 65536 bytes",
        ),
        (
            "POST",
            "/api/v1/namespaces/a/configmaps".into(),
            json,
            "[".repeat(10_000).into_bytes(),
            400,
            "not JSON",
        ),
        (
            "GET",
            "/api/v1/pods?labelSelector=%zz".into(),
            "",
            Vec::new(),
            400,
            "bad escape",
        ),
        (
            "GET",
            "/api/v1/pods?labelSelector=a+in+(b".into(),
            "",
            Vec::new(),
            400,
            "unclosed '('",
        ),
        (
            "GET",
            "/api/v1/pods?fieldSelector=spec".into(),
            "",
            Vec::new(),
            400,
            "field=value",
        ),
        (
            "GET",
            "/api/v1/pods?limit=-1".into(),
            "",
            Vec::new(),
            400,
            "not a number",
        ),
        (
            "GET",
            "/api/v1/pods?limit=1&continue=garbage".into(),
            "",
            Vec::new(),
            410,
            "not valid",
        ),
        (
            "GET",
            "/api/v1/pods?watch=1&resourceVersion=abc".into(),
            "",
            Vec::new(),
            400,
            "not a number",
        ),
        (
            "GET",
            "/api/v1/pods?watch=1&timeoutSeconds=x".into(),
            "",
            Vec::new(),
            400,
            "not a number",
        ),
        (
            "GET",
            "/api/v1/pods/x".into(),
            "",
            Vec::new(),
            404,
            "could not find",
        ),
        (
            "GET",
            "/api/v1/namespaces/a/pods/x/exec".into(),
            "",
            Vec::new(),
            404,
            "could not find",
        ),
        (
            "GET",
            "/api/v1/namespaces/a/configmaps/x/status".into(),
            "",
            Vec::new(),
            404,
            "could not find",
        ),
        (
            "GET",
            "/apis/no.such/v1/things".into(),
            "",
            Vec::new(),
            404,
            "could not find",
        ),
        (
            "GET",
            format!("/api/v1/{}", "a/".repeat(5000)),
            "",
            Vec::new(),
            404,
            "could not find",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/a/configmaps/x".into(),
            "Content-Type: text/plain\r\n",
            b"{}".to_vec(),
            415,
            "unknown format",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/a/configmaps/x".into(),
            apply,
            b"kind: ConfigMap".to_vec(),
            400,
            "not JSON",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/a/configmaps/x".into(),
            apply,
            br#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}"#.to_vec(),
            400,
            "must be of apiVersion v1 kind ConfigMap",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/a/configmaps/x".into(),
            apply,
            br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "y"}}"#.to_vec(),
            400,
            "must name itself",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/a/configmaps/missing".into(),
            "Content-Type: application/merge-patch+json\r\n",
            b"{}".to_vec(),
            404,
            "not found",
        ),
        (
            "PUT",
            "/api/v1/namespaces/a/configmaps/missing".into(),
            json,
            br#"{"metadata": {"name": "missing"}}"#.to_vec(),
            404,
            "not found",
        ),
        (
            "DELETE",
            "/api/v1/namespaces/a/configmaps".into(),
            "",
            Vec::new(),
            405,
            "not served",
        ),
        (
            "POST",
            "/standin/nothing".into(),
            "",
            Vec::new(),
            404,
            "no hook",
        ),
    ];
    for (method, target, headers, body, code, says) in cases {
        let (got, answer) = request(&server, method, &target, headers, &body);
        let shown: String = target.chars().take(80).collect();
        assert_eq!(got, code, "{method} {shown}: {answer}");
        let message = message(&answer);
        assert!(
            message.contains(says),
            "{method} {shown}: {message:?} lacks {says:?}"
        );
    }
    // A JSON patch that fails its test changes nothing.
    server
        .apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "a"}, "data": {"k": "v"}}))
        .unwrap();
    let rv = server.resource_version();
    let (code, answer) = request(
        &server,
        "PATCH",
        "/api/v1/namespaces/a/configmaps/x",
        "Content-Type: application/json-patch+json\r\n",
        br#"[{"op": "replace", "path": "/data/k", "value": "w"}, {"op": "test", "path": "/data/k", "value": "v"}]"#,
    );
    assert_eq!(code, 422, "{answer}");
    assert_eq!(server.resource_version(), rv);
    assert_eq!(
        server.get("configmaps", "a", "x").unwrap()["data"]["k"],
        "v"
    );
    // Still serving.
    assert_eq!(request(&server, "GET", "/healthz", "", b"").0, 200);
    assert_eq!(
        request(&server, "GET", "/api/v1/namespaces/a/configmaps", "", b"").0,
        200
    );
}
