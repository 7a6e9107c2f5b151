//! Proof by replay: a workload recorded in real runc containers gets a
//! seccomp profile and a securityContext from `corral advise`; run again
//! under runc with both (translated to the OCI config as containerd would:
//! capabilities, noNewPrivileges, read-only root with tmpfs for the
//! directories it writes, user), it prints the same; a variant that makes
//! one syscall it never made fails with EPERM. Once with privilege
//! escalation blocked, once with a set-user-ID program that needs it.
//! Needs root, runc and busybox-static (`scripts/test.sh` installs them).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

mod support;
use support::{
    apply, bundle, containerd_annotations, corral, finish, geteuid, root_filesystem, succeed,
    wait_for, PodNetwork, Recorder, Runtime,
};

/// The recorded workload: writes to its root filesystem and reads back,
/// listens and connects on loopback, forks and execs. (The listener sends:
/// busybox nc quits when its standard input ends, which must not be
/// before the data arrives.) `{extra}` is where
/// the variant adds a syscall.
fn script(escalate: bool, extra: &str) -> String {
    let who = if escalate { "/opt/suid/id -u" } else { "id -u" };
    format!(
        "{RETRY} echo ping | nc -l -p 9000 & \
         echo \"state $({who})\" > /var/cache/state; cat /var/cache/state; \
         retry sh -c 'sleep 0.3 | nc 127.0.0.1 9000 > /tmp/received 2>/dev/null'; wait; \
         cat /tmp/received; {extra} env echo done"
    )
}

const REPLICAS: usize = 3;

/// `retry CMD...`: until it succeeds, 15 times at most, 0.2 s apart (a
/// loaded machine starts a listener late).
const RETRY: &str = "retry() { for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do \"$@\" && return 0; sleep 0.2; done; return 1; };";

struct Scenario {
    escalate: bool,
}

fn advise(dir: &Path, scenario: &Scenario) {
    let rootfs = root_filesystem(dir);
    fs::set_permissions(rootfs.join("var/cache"), fs::Permissions::from_mode(0o1777)).unwrap();
    if scenario.escalate {
        // A set-user-ID root copy of busybox's `id`: the exec runs with
        // euid 0.
        let suid = rootfs.join("opt/suid/id");
        fs::create_dir_all(suid.parent().unwrap()).unwrap();
        fs::copy(rootfs.join("bin/busybox"), &suid).unwrap();
        fs::set_permissions(&suid, fs::Permissions::from_mode(0o4755)).unwrap();
    }
    let mut runtime = Runtime {
        root: dir.join("runc-state"),
        started: Vec::new(),
    };
    fs::create_dir_all(&runtime.root).unwrap();
    let recordings = dir.join("recordings");
    let recorder = Recorder::start(&runtime, &recordings);

    // Three replicas of Deployment demo/app, container `app`, as uid 1000.
    let script = script(scenario.escalate, "");
    let mut recorded_output = None;
    for (i, suffix) in ["aaaaa", "bbbbb", "ccccc"]
        .iter()
        .enumerate()
        .take(REPLICAS)
    {
        let pod = format!("app-7d4b9c8f6d-{suffix}");
        let path = bundle(
            &dir.join(format!("record-{i}")),
            &rootfs,
            &["sh", "-c", &script],
            containerd_annotations("demo", &pod, "app"),
            None,
            1000,
        );
        let output = wait_for(runtime.start(&format!("{pod}-app"), &path), &pod);
        recorded_output.get_or_insert(output);
    }
    recorder.stop();
    let recorded_output = recorded_output.unwrap();
    // busybox's `id` drops what the set-user-ID bit gave it.
    assert!(recorded_output.contains("state 1000"), "{recorded_output}");
    assert!(
        recorded_output.contains("ping") && recorded_output.ends_with("done\n"),
        "{recorded_output}"
    );

    // The pods, as `kubectl get pods -o yaml` shows them: their owner
    // references name their workload (the Deployment, through their
    // ReplicaSet and pod-template-hash), so the replicas merge.
    let pods = dir.join("pods.yaml");
    let pods_yaml: String = ["aaaaa", "bbbbb", "ccccc"]
        .iter()
        .take(REPLICAS)
        .map(|suffix| format!("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app-7d4b9c8f6d-{suffix}\n  namespace: demo\n  labels: {{app: demo, pod-template-hash: 7d4b9c8f6d}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: app-7d4b9c8f6d, uid: rs, controller: true}}]\nspec: {{containers: [{{name: app, image: busybox}}]}}\n"))
        .collect();
    fs::write(&pods, pods_yaml).unwrap();

    // The policies.
    let profiles = dir.join("profiles");
    let status = Command::new(corral())
        .args(["advise", "seccomp", "--recording"])
        .arg(&recordings)
        .arg("--manifests")
        .arg(&pods)
        .arg("-o")
        .arg(&profiles)
        .status()
        .unwrap();
    assert!(status.success());
    let profile: Value =
        serde_json::from_slice(&fs::read(profiles.join("demo-app-app.json")).unwrap()).unwrap();
    assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(profile["defaultErrnoRet"], 1);
    assert_eq!(
        profile["architectures"],
        json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
    );
    let coverage: Value =
        serde_json::from_slice(&fs::read(profiles.join("demo-app-app.coverage.json")).unwrap())
            .unwrap();
    assert_eq!(coverage["total"], REPLICAS);
    let allowed: Vec<&str> = profile["syscalls"][0]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    for needed in ["execve", "connect", "listen", "openat"] {
        assert!(allowed.contains(&needed), "{needed}: {allowed:?}");
    }
    // Never made, but busybox (static, run as /bin/sh) holds the
    // instruction: reachable.
    assert!(allowed.contains(&"mkdir"), "{allowed:?}");
    let report: Value =
        serde_json::from_slice(&fs::read(profiles.join("demo-app-app.report.json")).unwrap())
            .unwrap();
    assert_eq!(report["mode"], "reachable");
    assert!(
        report["allowed"]["mkdir"]["reachable"]
            .as_array()
            .is_some_and(|sites| sites.iter().any(|s| s["binary"] == "/bin/sh")),
        "{}",
        report["allowed"]["mkdir"]
    );
    assert!(report["allowed"]["mkdir"].get("recordedRuns").is_none());
    // busybox can mount and unshare too; no recording shows it: withheld.
    for withheld in ["mount", "unshare"] {
        assert!(
            report["withheld"].get(withheld).is_some() && !allowed.contains(&withheld),
            "{withheld}: {}",
            report["withheld"]
        );
    }
    // --mode recorded: what was recorded, and the runtime's base.
    let recorded_profiles = dir.join("profiles-recorded");
    succeed(
        Command::new(corral())
            .args(["advise", "seccomp", "--mode", "recorded", "--recording"])
            .arg(&recordings)
            .arg("--manifests")
            .arg(&pods)
            .arg("-o")
            .arg(&recorded_profiles),
    );
    let recorded_profile: Value =
        serde_json::from_slice(&fs::read(recorded_profiles.join("demo-app-app.json")).unwrap())
            .unwrap();
    let strict: Vec<&str> = recorded_profile["syscalls"][0]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(!strict.contains(&"mkdir"), "{strict:?}");
    assert!(strict.len() < allowed.len(), "{strict:?}");

    let stdout = succeed(
        Command::new(corral())
            .args([
                "advise",
                "securitycontext",
                "--format",
                "json",
                "--recording",
            ])
            .arg(&recordings)
            .arg("--manifests")
            .arg(&pods),
    );
    let advice: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        advice.as_array().unwrap().len(),
        1,
        "replicas merge: {advice}"
    );
    let advice = &advice[0];
    assert_eq!(advice["workload"], "app");
    let context = &advice["securityContext"];
    assert_eq!(
        context["allowPrivilegeEscalation"], scenario.escalate,
        "{advice}"
    );
    assert_eq!(context["readOnlyRootFilesystem"], true, "{advice}");
    assert_eq!(
        advice["advice"]["writable_directories"],
        json!(["/var/cache"]),
        "{advice}"
    );
    assert_eq!(context["runAsNonRoot"], true, "{advice}");
    assert_eq!(context["runAsUser"], 1000, "{advice}");
    assert_eq!(context["capabilities"]["drop"], json!(["ALL"]));

    // The same advice as a patch pointing into the manifest, and written
    // into it in place.
    let manifest = dir.join("app.yaml");
    fs::write(
        &manifest,
        "# the demo app\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app  # owned by the demo team\n  namespace: demo\nspec:\n  selector: {matchLabels: {app: demo}}\n  template:\n    metadata: {labels: {app: demo}}\n    spec:\n      containers:\n        - name: app\n          image: busybox:1.36\n",
    )
    .unwrap();
    let patch = Command::new(corral())
        .args(["advise", "securitycontext", "--recording"])
        .arg(&recordings)
        .arg("--manifests")
        .arg(&manifest)
        .arg(&pods)
        .output()
        .unwrap();
    let patch = String::from_utf8(patch.stdout).unwrap();
    assert!(
        patch.contains(&format!("# demo/app: edit {}:13", manifest.display())),
        "{patch}"
    );
    let applied = Command::new(corral())
        .args(["advise", "securitycontext", "--apply", "--recording"])
        .arg(&recordings)
        .arg("--manifests")
        .arg(&manifest)
        .arg(&pods)
        .output()
        .unwrap();
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let rewritten = fs::read_to_string(&manifest).unwrap();
    assert!(rewritten.starts_with("# the demo app\n"), "{rewritten}");
    assert!(
        rewritten.contains("  name: app  # owned by the demo team\n"),
        "{rewritten}"
    );
    assert!(
        rewritten.contains("          securityContext:\n            allowPrivilegeEscalation: "),
        "{rewritten}"
    );
    assert!(
        rewritten.contains("          volumeMounts:\n            - mountPath: /var/cache\n"),
        "{rewritten}"
    );
    assert!(
        rewritten
            .contains("      volumes:\n        - emptyDir: {}\n          name: corral-var-cache\n"),
        "{rewritten}"
    );

    // Replay under the policies, translated to the OCI config.
    let mut replay = |name: &str, extra: &str, profile: &Value| {
        let path = bundle(
            &dir.join(name),
            &rootfs,
            &["sh", "-c", &self::script(scenario.escalate, extra)],
            json!({}),
            None,
            1000,
        );
        let config_path = path.join("config.json");
        let mut config: Value = serde_json::from_slice(&fs::read(&config_path).unwrap()).unwrap();
        apply(
            &mut config,
            context,
            &advice["advice"],
            profile,
            &dir.join(format!("{name}-empty-dirs")),
        );
        fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        finish(runtime.start(&format!("replay-{name}"), &path))
    };
    let (output, status) = replay("same", "", &profile);
    assert_eq!((status, output.as_str()), (0, recorded_output.as_str()));
    let (output, status) = replay("same-recorded", "", &recorded_profile);
    assert_eq!((status, output.as_str()), (0, recorded_output.as_str()));
    // A reachable syscall the recording never showed runs under the
    // reachable profile, and is refused under the recorded one.
    let (output, status) = replay("mkdir", "mkdir /tmp/extra || exit 3;", &profile);
    assert_eq!(status, 0, "{output}");
    let (output, status) = replay(
        "mkdir-recorded",
        "mkdir /tmp/extra || exit 3;",
        &recorded_profile,
    );
    assert_eq!(status, 3, "{output}");
    assert!(output.contains("Operation not permitted"), "{output}");
    // Attack surface stays refused under the reachable profile.
    let (output, status) = replay("unshare", "unshare -U true || exit 4;", &profile);
    assert_eq!(status, 4, "{output}");
    assert!(output.contains("Operation not permitted"), "{output}");
}

#[test]
fn advised_policies_replay_the_workload_and_block_the_rest() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    for escalate in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        advise(dir.path(), &Scenario { escalate });
    }
}

/// The example shop's inventory: Namespaces, Deployments and their pods at
/// the addresses of the test's pod network, the cluster DNS.
fn inventory(subnet: u8) -> String {
    let mut out = String::from(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: shop}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: data}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n",
    );
    for (i, (namespace, app, port)) in [
        ("shop", "frontend", 0),
        ("shop", "backend", 8080),
        ("data", "db", 5432),
    ]
    .iter()
    .enumerate()
    {
        let ip = format!("10.{subnet}.0.{}", i + 2);
        out.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {app}, namespace: {namespace}}}\nspec:\n  selector: {{matchLabels: {{app: {app}}}}}\n  template:\n    metadata: {{labels: {{app: {app}}}}}\n    spec: {{containers: [{{name: {app}, image: busybox}}]}}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {app}-6d4b9c8f6d-x2x9q\n  namespace: {namespace}\n  labels: {{app: {app}, pod-template-hash: 6d4b9c8f6d}}\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: {app}-6d4b9c8f6d, uid: {app}-rs, controller: true}}]\nspec:\n  containers:\n    - name: {app}\n      image: busybox\n      ports: [{{name: main, containerPort: {port}}}]\nstatus: {{podIP: {ip}, podIPs: [{{ip: {ip}}}]}}\n"
        ));
    }
    out.push_str(&format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: coredns-5d78c9869d-abcde, namespace: kube-system, labels: {{k8s-app: kube-dns}}}}\nspec: {{containers: [{{name: coredns, image: coredns}}]}}\nstatus: {{podIP: 10.{subnet}.0.10}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: kube-dns, namespace: kube-system}}\nspec:\n  selector: {{k8s-app: kube-dns}}\n  clusterIP: 10.96.0.10\n  ports: [{{name: dns, port: 53, protocol: UDP, targetPort: 53}}, {{name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}}]\n"
    ));
    out
}

fn netpol_check(dir: &Path, from: &str, to: &str, port: &str) -> i32 {
    Command::new(corral())
        .args(["netpol", "check", "--policies"])
        .arg(dir.join("policies.yaml"))
        .arg("--inventory")
        .arg(dir.join("inventory.yaml"))
        .args(["--from", from, "--to", to, "--port", port])
        .output()
        .unwrap()
        .status
        .code()
        .unwrap()
}

#[test]
fn network_policies_from_recorded_flows_allow_them_and_nothing_else() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    const SUBNET: u8 = 126;
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let rootfs = root_filesystem(dir);
    // frontend 10.126.0.2, backend .3, db .4; the host is .1.
    let network = PodNetwork::new(SUBNET, 3);
    let mut runtime = Runtime {
        root: dir.join("runc-state"),
        started: Vec::new(),
    };
    fs::create_dir_all(&runtime.root).unwrap();
    let external = std::net::TcpListener::bind(format!("10.{SUBNET}.0.1:9443")).unwrap();
    let recordings = dir.join("recordings");
    let recorder = Recorder::start(&runtime, &recordings);

    let pods = [
        ("data", "db", "nc -l -p 5432 >/dev/null"),
        (
            "shop",
            "backend",
            "nc -l -p 8080 >/dev/null; retry sh -c 'echo q | nc 10.126.0.4 5432 2>/dev/null'",
        ),
        (
            "shop",
            "frontend",
            "retry sh -c 'echo hi | nc 10.126.0.3 8080 2>/dev/null'; echo out | nc 10.126.0.1 9443; \
             timeout 2 nslookup -type=a api.example.com 10.126.0.10 >/dev/null 2>&1; true",
        ),
    ];
    let mut running = Vec::new();
    for (namespace, app, script) in pods {
        let index = ["frontend", "backend", "db"]
            .iter()
            .position(|a| *a == app)
            .unwrap();
        let pod = format!("{app}-6d4b9c8f6d-x2x9q");
        let path = bundle(
            &dir.join(app),
            &rootfs,
            &["sh", "-c", &format!("{RETRY} {script}")],
            containerd_annotations(namespace, &pod, app),
            Some(&network.path(index)),
            1000,
        );
        running.push((app, runtime.start(&format!("{app}-1"), &path)));
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let (mut connection, _) = external.accept().unwrap();
    let mut line = [0u8; 4];
    std::io::Read::read_exact(&mut connection, &mut line).unwrap();
    drop(connection); // busybox nc exits when the server closes

    for (app, child) in running.into_iter().rev() {
        wait_for(child, app);
    }
    recorder.stop();

    fs::write(dir.join("inventory.yaml"), inventory(SUBNET)).unwrap();
    // The command proves its policies against every recorded flow.
    let stdout = succeed(
        Command::new(corral())
            .args(["advise", "netpol", "--format", "json", "--recording"])
            .arg(&recordings)
            .arg("--inventory")
            .arg(dir.join("inventory.yaml")),
    );
    let advised: Value = serde_json::from_str(&stdout).unwrap();
    let policy = |app: &str| {
        advised
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["workload"] == app)
            .unwrap_or_else(|| panic!("no policy for {app}: {advised}"))["policy"]
            .clone()
    };
    let mut documents = String::new();
    for app in ["frontend", "backend", "db"] {
        let policy = policy(app);
        // Strict: what k8s-openapi decodes is everything there was.
        let decoded: k8s_openapi::api::networking::v1::NetworkPolicy =
            serde_json::from_value(policy.clone()).unwrap();
        assert_eq!(serde_json::to_value(&decoded).unwrap(), policy, "{app}");
        assert_eq!(
            policy["spec"]["podSelector"],
            json!({"matchLabels": {"app": app}})
        );
        assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        // DNS always works.
        assert_eq!(
            policy["spec"]["egress"][0],
            json!({"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                   "ports": [{"port": 53, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}),
            "{app}"
        );
        documents.push_str(&format!(
            "---\n{}\n",
            serde_json::to_string(&policy).unwrap()
        ));
    }
    let backend = policy("backend");
    assert_eq!(
        backend["spec"]["ingress"],
        json!([{"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}],
                "ports": [{"port": 8080, "protocol": "TCP"}]}])
    );
    assert_eq!(
        backend["spec"]["egress"][1],
        json!({"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}},
                       "podSelector": {"matchLabels": {"app": "db"}}}],
               "ports": [{"port": 5432, "protocol": "TCP"}]})
    );
    let frontend = policy("frontend");
    assert_eq!(frontend["spec"]["ingress"], json!([]));
    assert!(
        frontend["spec"]["egress"]
            .as_array()
            .unwrap()
            .contains(&json!({"to": [{"ipBlock": {"cidr": "10.126.0.1/32"}}], "ports": [{"port": 9443, "protocol": "TCP"}]})),
        "{frontend}"
    );
    let db = policy("db");
    assert_eq!(
        db["spec"]["ingress"][0]["from"],
        json!([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}},
                "podSelector": {"matchLabels": {"app": "backend"}}}])
    );

    // The evaluator from the command line: what was recorded, and not more.
    fs::write(dir.join("policies.yaml"), documents).unwrap();
    let frontend_pod = "shop/frontend-6d4b9c8f6d-x2x9q";
    let backend_pod = "shop/backend-6d4b9c8f6d-x2x9q";
    let db_pod = "data/db-6d4b9c8f6d-x2x9q";
    assert_eq!(netpol_check(dir, frontend_pod, backend_pod, "8080"), 0);
    assert_eq!(netpol_check(dir, backend_pod, db_pod, "5432/TCP"), 0);
    assert_eq!(netpol_check(dir, frontend_pod, "10.126.0.10", "53/UDP"), 0);
    assert_eq!(netpol_check(dir, backend_pod, frontend_pod, "8080"), 1);
    assert_eq!(netpol_check(dir, frontend_pod, db_pod, "5432"), 1);
    assert_eq!(netpol_check(dir, frontend_pod, backend_pod, "8081"), 1);
    assert_eq!(netpol_check(dir, "203.0.113.9", backend_pod, "8080"), 1);

    // Everything at once, and no drift when the same behaviour is recorded.
    let all = dir.join("all");
    let summary = succeed(
        Command::new(corral())
            .args(["advise", "all", "--recording"])
            .arg(&recordings)
            .arg("--inventory")
            .arg(dir.join("inventory.yaml"))
            .arg("-o")
            .arg(&all),
    );

    assert!(summary.contains("## shop/backend"), "{summary}");
    assert!(summary.contains("Manifest: `"), "{summary}");
    assert!(
        summary.contains(
            "- network: closes ingress to all but 1 peer rule and egress to all but 1 (and DNS)"
        ),
        "{summary}"
    );
    for file in [
        "SUMMARY.md",
        "advice.json",
        "flows.json",
        "netpol/shop-backend.yaml",
        "seccomp/shop-backend-backend.json",
        "seccomp/shop-backend-backend.coverage.json",
        "securitycontext/shop-backend.yaml",
    ] {
        assert!(all.join(file).is_file(), "{file}");
    }
    if std::env::var_os("CORRAL_UPDATE_EXAMPLE").is_some() {
        update_example(&recordings, &dir.join("inventory.yaml"));
    }
    let drift = Command::new(corral())
        .args(["drift", "--recording"])
        .arg(&recordings)
        .arg("--policies")
        .arg(&all)
        .arg("--inventory")
        .arg(dir.join("inventory.yaml"))
        .output()
        .unwrap();
    assert_eq!(
        drift.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&drift.stdout),
        String::from_utf8_lossy(&drift.stderr)
    );
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

const EXAMPLE: &str = "examples/advise-demo";

/// `corral advise all` on the example's recordings and inventory, into
/// `out`: its summary.
fn advise_example(out: &Path) -> String {
    succeed(
        Command::new(corral())
            .current_dir(workspace())
            .args(["advise", "all", "--recording"])
            .arg(format!("{EXAMPLE}/recordings"))
            .arg("--inventory")
            .arg(format!("{EXAMPLE}/inventory.yaml"))
            .arg("-o")
            .arg(out),
    )
}

/// The example's recordings and inventory from this run, and the policies
/// advised from them (`CORRAL_UPDATE_EXAMPLE=1`).
fn update_example(recordings: &Path, inventory: &Path) {
    let example = workspace().join(EXAMPLE);
    let _ = fs::remove_dir_all(example.join("recordings"));
    let _ = fs::remove_dir_all(example.join("policies"));
    fs::create_dir_all(example.join("recordings")).unwrap();
    for entry in fs::read_dir(recordings).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(
            &path,
            example.join("recordings").join(path.file_name().unwrap()),
        )
        .unwrap();
    }
    fs::copy(inventory, example.join("inventory.yaml")).unwrap();
    advise_example(&example.join("policies"));
}

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, &mut found);
    let mut relative: Vec<PathBuf> = found
        .iter()
        .map(|p| p.strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    relative.sort();
    relative
}

#[test]
fn the_example_policies_are_what_its_recordings_give() {
    let out = tempfile::tempdir().unwrap();
    let summary = advise_example(out.path());
    let committed = workspace().join(EXAMPLE).join("policies");
    assert_eq!(files(out.path()), files(&committed));
    for file in files(&committed) {
        assert_eq!(
            fs::read_to_string(out.path().join(&file)).unwrap(),
            fs::read_to_string(committed.join(&file)).unwrap(),
            "{}: rerun the network test with CORRAL_UPDATE_EXAMPLE=1",
            file.display()
        );
    }
    assert_eq!(
        summary,
        fs::read_to_string(committed.join("SUMMARY.md")).unwrap()
    );
}

/// A recording that lost observations (the recorder's maps were full)
/// says how many; advising from it is refused, naming the container and
/// the counts, until `--allow-incomplete` says to go ahead. Counters of
/// zero lost nothing.
#[test]
fn incomplete_recordings_are_refused_without_allow_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = dir.path().join("recordings");
    fs::create_dir_all(&recordings).unwrap();
    let source = workspace().join(EXAMPLE).join("recordings");
    for entry in fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let mut recording: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        if path.to_string_lossy().contains("backend") {
            recording["runs"][0]["dropped"] = json!({"syscalls": 3, "files": 1});
        }
        // A counter of zero lost nothing: not incomplete.
        if path.to_string_lossy().contains("frontend") {
            recording["runs"][0]["dropped"] = json!({"fileWrites": 0});
        }
        fs::write(
            recordings.join(path.file_name().unwrap()),
            serde_json::to_vec(&recording).unwrap(),
        )
        .unwrap();
    }
    let advise = |extra: &[&str]| {
        Command::new(corral())
            .args(["advise", "seccomp", "--recording"])
            .arg(&recordings)
            .arg("-o")
            .arg(dir.path().join("profiles"))
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = advise(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("shop/backend")
            && stderr.contains("3 syscalls")
            && stderr.contains("1 files")
            && stderr.contains("--allow-incomplete"),
        "{stderr}"
    );
    assert!(!stderr.contains("frontend"), "{stderr}");
    assert!(!dir.path().join("profiles").exists());
    let allowed = advise(&["--allow-incomplete"]);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    assert_eq!(
        fs::read_dir(dir.path().join("profiles")).unwrap().count(),
        9
    );
}

/// The kernel's log, as `dmesg` prints it.
fn kernel_log() -> Vec<String> {
    let output = Command::new("dmesg").output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Burn-in: a profile advised with `--default-action log` lets the
/// workload make a syscall the recording never showed (`mkdir`), and the
/// kernel logs it; `corral drift --kernel-log` reads those records and
/// names the container and the syscall, and nothing else.
#[test]
fn a_burn_in_profile_logs_and_drift_reads_the_kernel_log() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::Builder::new()
        .disable_cleanup(std::env::var_os("CORRAL_KEEP").is_some())
        .tempdir()
        .unwrap();
    let dir = dir.path();
    let rootfs = root_filesystem(dir);
    fs::set_permissions(rootfs.join("var/cache"), fs::Permissions::from_mode(0o1777)).unwrap();
    let mut runtime = Runtime {
        root: dir.join("runc-state"),
        started: Vec::new(),
    };
    fs::create_dir_all(&runtime.root).unwrap();
    let recordings = dir.join("recordings");
    let recorder = Recorder::start(&runtime, &recordings);
    let pod = "burn-7d4b9c8f6d-aaaaa";
    let path = bundle(
        &dir.join("record"),
        &rootfs,
        &["sh", "-c", &script(false, "")],
        containerd_annotations("demo", pod, "burn"),
        None,
        1000,
    );
    wait_for(runtime.start(&format!("{pod}-burn"), &path), pod);
    recorder.stop();

    let policies = dir.join("policies");
    succeed(
        Command::new(corral())
            .args([
                "advise",
                "all",
                "--mode",
                "recorded",
                "--default-action",
                "log",
                "--recording",
            ])
            .arg(&recordings)
            .arg("-o")
            .arg(&policies),
    );
    // No inventory: the pod is its own workload.
    let profile: Value = serde_json::from_slice(
        &fs::read(policies.join(format!("seccomp/demo-{pod}-burn.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(profile["defaultAction"], "SCMP_ACT_LOG");
    let advice: Value =
        serde_json::from_slice(&fs::read(policies.join("advice.json")).unwrap()).unwrap();
    let advice = &advice[0];
    let allowed = advice["allowedSyscalls"].as_array().unwrap();
    assert!(!allowed.contains(&json!("mkdir")), "{allowed:?}");

    let before: std::collections::HashSet<String> = kernel_log().into_iter().collect();
    let path = bundle(
        &dir.join("replay"),
        &rootfs,
        &["sh", "-c", &script(false, "mkdir /tmp/extra || exit 3;")],
        json!({}),
        None,
        1000,
    );
    let config_path = path.join("config.json");
    let mut config: Value = serde_json::from_slice(&fs::read(&config_path).unwrap()).unwrap();
    apply(
        &mut config,
        &advice["securityContext"],
        &advice["advice"],
        &profile,
        &dir.join("burn-empty-dirs"),
    );
    fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let (output, status) = finish(runtime.start("replay-burn", &path));
    // Logged, not denied: the workload goes on.
    assert_eq!(status, 0, "{output}");
    assert!(output.ends_with("done\n"), "{output}");
    // Only this run's records.
    let mut new = String::new();
    for _ in 0..50 {
        new = kernel_log()
            .into_iter()
            .filter(|l| !before.contains(l))
            .map(|l| l + "\n")
            .collect();
        if new.contains("type=1326") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = dir.join("kern.log");
    fs::write(&log, &new).unwrap();
    let drift = Command::new(corral())
        .args(["drift", "--policies"])
        .arg(&policies)
        .arg("--kernel-log")
        .arg(&log)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&drift.stdout);
    assert_eq!(drift.status.code(), Some(1), "{stdout}\n{new}");
    assert!(
        stdout.contains(&format!("demo/{pod} container burn"))
            && stdout.contains("mkdir made")
            && stdout.contains("outside the seccomp profile"),
        "{stdout}\n{new}"
    );
    // Every finding is a syscall outside the profile, and mkdir's is one
    // of them: the script's other calls were recorded.
    let findings: Vec<&str> = stdout.lines().filter(|l| l.contains(" made ")).collect();
    assert!(findings.len() <= 2, "{stdout}");
}

/// A bounded Recording whose evidence was cut to fit its size limit says
/// so (`truncated`); the advice that evidence was for is refused, named and
/// explained, with or without `--allow-incomplete`: made from the rest, it
/// would forbid what the workload does.
#[test]
fn recordings_with_evidence_cut_are_refused_the_advice_it_was_for() {
    let dir = tempfile::tempdir().unwrap();
    let recordings = dir.path().join("recordings");
    fs::create_dir_all(&recordings).unwrap();
    let source = workspace().join(EXAMPLE).join("recordings");
    for entry in fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let mut recording: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        if path.to_string_lossy().contains("backend") {
            recording["truncated"] = json!({"workload.fileWrites": 5});
        }
        fs::write(
            recordings.join(path.file_name().unwrap()),
            serde_json::to_vec(&recording).unwrap(),
        )
        .unwrap();
    }
    for extra in [&[][..], &["--allow-incomplete"][..]] {
        let refused = Command::new(corral())
            .args(["advise", "seccomp", "--recording"])
            .arg(&recordings)
            .arg("-o")
            .arg(dir.path().join("profiles"))
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("shop/backend")
                && stderr.contains("a securityContext is not advised")
                && stderr.contains("workload.fileWrites: 5 entries")
                && stderr.contains("512 KiB"),
            "{stderr}"
        );
        assert!(!dir.path().join("profiles").exists());
    }
}
