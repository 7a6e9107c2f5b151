//! `corral record --containers` on real containers: runc containers from a
//! busybox-static root filesystem, with the annotations containerd's CRI
//! plugin and CRI-O write, two of them sharing a pod's network namespace
//! (with its own veth and addresses, made here), all started after the
//! recorder, then 2,000 short-lived ones. Needs root, runc, busybox-static
//! and iproute2 (`scripts/test.sh` installs them); CI has them all.

use std::collections::BTreeSet;
use std::fs;
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod replay;
mod support;
use support::{
    bundle, containerd_annotations, geteuid, root_filesystem, wait_for, PodNetwork, Recorder,
    Runtime,
};

const SHORT_LIVED: usize = 2000;

fn recordings(dir: &Path) -> Vec<Value> {
    let mut all: Vec<Value> = fs::read_dir(dir)
        .unwrap()
        .map(|e| serde_json::from_slice(&fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    all.sort_by_key(|r: &Value| r["container"]["id"].as_str().unwrap().to_string());
    all
}

fn endpoints(recording: &Value, field: &str) -> BTreeSet<(String, u64)> {
    recording["workload"][field]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["address"].as_str().unwrap().to_string(),
                e["port"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn containers_are_recorded_and_named_from_their_first_syscall() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rootfs = root_filesystem(dir.path());
    let network = PodNetwork::new(123, 1);
    let netns = network.path(0);
    let mut runtime = Runtime {
        root: dir.path().join("runc-state"),
        started: Vec::new(),
    };
    fs::create_dir_all(&runtime.root).unwrap();
    let out = dir.path().join("recordings");

    let recorder = Recorder::start(&runtime, &out);

    // Pod shop/web-1 (containerd's annotations): a server and a client in
    // one network namespace.
    let server = bundle(
        &dir.path().join("server"),
        &rootfs,
        &[
            "sh",
            "-c",
            "echo cached > /var/cache/entry; nc -l -p 8080 >/dev/null; nc -l -p 8081 >/dev/null",
        ],
        containerd_annotations("shop", "web-1", "server"),
        Some(&netns),
        0,
    );
    // The client retries until the server listens: on a loaded machine the
    // server's container can start later than any fixed sleep.
    let client = bundle(
        &dir.path().join("client"),
        &rootfs,
        &[
            "sh",
            "-c",
            "i=0; until echo hello | nc 10.123.0.2 8080; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done; nslookup -type=a db.shop.svc.cluster.local 10.123.0.2 >/dev/null 2>&1; true",
        ],
        containerd_annotations("shop", "web-1", "client"),
        Some(&netns),
        0,
    );
    // Pod shop/db-0 (CRI-O's annotations), as uid 1000, writing to tmpfs.
    let db = bundle(
        &dir.path().join("db"),
        &rootfs,
        &["sh", "-c", "echo row > /tmp/table; id >/dev/null"],
        json!({
            "io.kubernetes.pod.namespace": "shop",
            "io.kubernetes.pod.name": "db-0",
            "io.kubernetes.pod.uid": "uid-db-0",
            "io.kubernetes.container.name": "db",
            "io.kubernetes.cri-o.ContainerType": "container",
            "io.kubernetes.cri-o.ImageName": "docker.io/library/busybox:1.35",
        }),
        None,
        1000,
    );
    let server_run = runtime.start("web-1-server", &server);
    let client_run = runtime.start("web-1-client", &client);
    wait_for(client_run, "client");
    // From the host, over the veth, to the server's second listener.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match TcpStream::connect_timeout(
            &"10.123.0.2:8081".parse().unwrap(),
            Duration::from_secs(1),
        ) {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => panic!("connecting to the server: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    wait_for(server_run, "server");
    wait_for(runtime.start("db-0-db", &db), "db");

    // Short-lived containers, one after another.
    let batch = bundle(
        &dir.path().join("batch"),
        &rootfs,
        &["true"],
        containerd_annotations("jobs", "batch", "job"),
        None,
        0,
    );
    let started = Instant::now();
    for i in 0..SHORT_LIVED {
        let id = format!("batch-{i:04}");
        wait_for(runtime.start(&id, &batch), &id);
        runtime.started.pop();
    }
    eprintln!(
        "{SHORT_LIVED} short-lived containers in {:?}",
        started.elapsed()
    );

    let rest = recorder.stop();
    assert!(!rest.contains("dropped"), "{rest}");

    let all = recordings(&out);
    let named = |id: &str| {
        all.iter()
            .find(|r| r["container"]["id"] == id)
            .unwrap_or_else(|| panic!("no recording of {id}: {rest}"))
    };
    let server = named("web-1-server");
    assert_eq!(server["container"]["namespace"], "shop");
    assert_eq!(server["container"]["pod"], "web-1");
    assert_eq!(server["container"]["name"], "server");
    assert_eq!(
        server["container"]["image"],
        "docker.io/library/busybox:1.35"
    );
    assert_eq!(
        endpoints(server, "listeners"),
        // busybox listens on both families; IPv4 peers are reported as such.
        BTreeSet::from([("::".into(), 8080), ("::".into(), 8081)])
    );
    assert_eq!(
        endpoints(server, "accepts"),
        BTreeSet::from([("10.123.0.2".into(), 8080), ("10.123.0.1".into(), 8081)])
    );
    let cache = server["workload"]["fileWrites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["path"] == "/var/cache/entry")
        .expect("the write to /var/cache/entry");
    assert_eq!(cache["rootFilesystem"], true, "{cache}");

    let client = named("web-1-client");
    assert_eq!(
        endpoints(client, "connects"),
        BTreeSet::from([("10.123.0.2".into(), 8080)])
    );
    assert!(endpoints(client, "udp").contains(&("10.123.0.2".into(), 53)));
    let questions: Vec<(&str, &str)> = client["workload"]["dnsQueries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["name"].as_str().unwrap(), q["type"].as_str().unwrap()))
        .collect();
    assert!(
        questions.contains(&("db.shop.svc.cluster.local", "A")),
        "{questions:?}"
    );

    let db = named("db-0-db");
    assert_eq!(db["container"]["pod"], "db-0");
    assert_eq!(db["container"]["name"], "db");
    let uids: Vec<u64> = db["workload"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["euid"].as_u64().unwrap())
        .collect();
    assert!(uids.contains(&1000), "{uids:?}");
    let table = db["workload"]["fileWrites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["path"] == "/tmp/table")
        .unwrap_or_else(|| panic!("no write to /tmp/table: {}", db["workload"]["fileWrites"]));
    assert_eq!(
        (table["rootFilesystem"].clone(), table["filesystem"].clone()),
        (json!(false), json!("tmpfs"))
    );

    // Every container from its first syscall: the runtime's set-up before
    // the entrypoint, and the workload after.
    let busybox = corral_reach::sha256_hex(&std::fs::read(rootfs.join("bin/busybox")).unwrap());
    for recording in [server, client, db] {
        assert!(!recording["runtime"]["syscalls"]
            .as_array()
            .unwrap()
            .is_empty());
        assert!(!recording["workload"]["syscalls"]
            .as_array()
            .unwrap()
            .is_empty());
        let first = recording["execs"][0]["path"].as_str().unwrap();
        assert!(first.starts_with("/bin/"), "{first}");
        // The program, read from the container's own root filesystem (a
        // link to busybox there), analysed: static, its own syscalls.
        let program = recording["binaries"]
            .as_array()
            .unwrap_or_else(|| panic!("no binaries in {recording:#}"))
            .iter()
            .find(|b| b["path"] == first)
            .unwrap_or_else(|| panic!("{first} is not in {:#}", recording["binaries"]));
        assert!(program.get("error").is_none(), "{program:#}");
        assert_eq!(program["sha256"], busybox, "{program:#}");
        assert!(program.get("libraries").is_none(), "{program:#}");
        assert!(!program["syscalls"].as_array().unwrap().is_empty());
    }
    let batch: Vec<&Value> = all
        .iter()
        .filter(|r| r["container"]["pod"] == "batch")
        .collect();
    assert_eq!(batch.len(), SHORT_LIVED, "{rest}");
    for recording in batch {
        let execs: Vec<&str> = recording["execs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert_eq!(execs, ["/bin/true"], "{}", recording["container"]["id"]);
    }
}

/// On a fresh node the runtime's state directory does not exist until its
/// first container: the recorder waits for it (saying so once) and
/// records that first container.
#[test]
fn a_runtime_root_created_after_the_recorder_started_is_recorded() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let rootfs = root_filesystem(dir.path());
    // Two levels missing: runc creates its root with every parent.
    let mut runtime = Runtime {
        root: dir.path().join("run/runc"),
        started: Vec::new(),
    };
    let out = dir.path().join("recordings");
    let recorder = Recorder::start(&runtime, &out);
    assert!(!runtime.root.exists());
    let first = bundle(
        &dir.path().join("first"),
        &rootfs,
        &["sh", "-c", "echo first > /tmp/first"],
        containerd_annotations("shop", "first-0", "app"),
        None,
        0,
    );
    wait_for(runtime.start("first-0-app", &first), "first");
    let rest = recorder.stop();
    // Said once, naming the directory.
    let notes: Vec<&str> = rest
        .lines()
        .filter(|l| l.contains("does not exist yet"))
        .collect();
    assert_eq!(notes.len(), 1, "{rest}");
    assert!(notes[0].contains("run/runc"), "{rest}");
    let all = recordings(&out);
    let recording = all
        .iter()
        .find(|r| r["container"]["id"] == "first-0-app")
        .unwrap_or_else(|| panic!("no recording of the first container: {rest}"));
    assert_eq!(recording["container"]["pod"], "first-0");
    // From its first syscall: the runtime's set-up too.
    assert!(!recording["runtime"]["syscalls"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(recording["execs"][0]["path"], "/bin/sh");
}

/// `--publish`, end to end: a real container of a namespace labelled
/// `corral.dev/record: "true"` becomes a Recording of its workload
/// container on this node, applied to the API server (a stand-in, with
/// the real kube-rs client); one of an unlabelled namespace does not.
#[test]
fn recordings_are_published_as_recording_resources() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let applied: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>> = Default::default();
    let server = applied.clone();
    let kubeconfig = replay::start(
        dir.path(),
        std::sync::Arc::new(move |request: &replay::Request| {
            match (request.method.as_str(), request.path.as_str()) {
                ("GET", "/api/v1/namespaces/shop") => (
                    200,
                    json!({"apiVersion": "v1", "kind": "Namespace",
                       "metadata": {"name": "shop", "labels": {"corral.dev/record": "true"}}}),
                    None,
                ),
                ("GET", "/api/v1/namespaces/data") => (
                    200,
                    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "data"}}),
                    None,
                ),
                ("PATCH", path) => {
                    let applied = format!("{path}?{}", request.query);
                    server.lock().unwrap().push((applied, request.body.clone()));
                    (200, request.body.clone(), None)
                }
                _ => replay::status(404, "NotFound", "not found"),
            }
        }),
    );
    let rootfs = root_filesystem(dir.path());
    let mut runtime = Runtime {
        root: dir.path().join("runc-state"),
        started: Vec::new(),
    };
    fs::create_dir_all(&runtime.root).unwrap();
    let out = dir.path().join("recordings");
    let recorder = Recorder::start_with(
        &runtime,
        &out,
        &[
            "--publish",
            "--node",
            "node-7",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
    );
    for (namespace, pod) in [("shop", "web-0"), ("data", "db-0")] {
        let id = format!("{pod}-app");
        let app = bundle(
            &dir.path().join(&id),
            &rootfs,
            &["sh", "-c", "id >/dev/null"],
            containerd_annotations(namespace, pod, "app"),
            None,
            0,
        );
        wait_for(runtime.start(&id, &app), &id);
    }
    let rest = recorder.stop();
    assert!(
        rest.contains("1 Recording(s) published from node node-7; 1 recording(s) of namespaces not labelled corral.dev/record=true"),
        "{rest}"
    );
    let applied = applied.lock().unwrap();
    assert_eq!(applied.len(), 1, "{applied:?}");
    let (path, body) = &applied[0];
    assert_eq!(
        path,
        // A server-side apply, by Corral.
        "/apis/corral.dev/v1alpha1/namespaces/shop/recordings/web-app-node-7?&force=true&fieldManager=corral"
    );
    assert_eq!(body["kind"], "Recording");
    assert_eq!(body["spec"]["workload"], "web");
    assert_eq!(body["spec"]["container"], "app");
    assert_eq!(body["spec"]["node"], "node-7");
    assert_eq!(body["spec"]["runs"], 1);
    assert_eq!(body["spec"]["recording"]["container"]["pod"], "web-0");
    assert!(!body["spec"]["recording"]["workload"]["syscalls"]
        .as_array()
        .unwrap()
        .is_empty());
}
