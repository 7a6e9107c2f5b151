//! Proof by replay: a workload recorded in real runc containers gets a
//! seccomp profile and a securityContext from `corral advise`; run again
//! under runc with both (translated to the OCI config as containerd would:
//! capabilities, noNewPrivileges, read-only root with tmpfs for the
//! directories it writes, user), it prints the same; a variant that makes
//! one syscall it never made fails with EPERM. Once with privilege
//! escalation blocked, once with a set-user-ID program that needs it.
//! Needs root, runc and busybox-static (`scripts/test.sh` installs them).

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

mod support;
use support::{
    bundle, containerd_annotations, corral, finish, geteuid, kill, root_filesystem, wait_for,
    Runtime, SIGINT,
};

/// The recorded workload: writes to its root filesystem and reads back,
/// listens and connects on loopback, forks and execs. `{extra}` is where
/// the variant adds a syscall.
fn script(escalate: bool, extra: &str) -> String {
    let who = if escalate { "/opt/suid/id -u" } else { "id -u" };
    format!(
        "echo \"state $({who})\" > /var/cache/state; cat /var/cache/state; \
         nc -l -p 9000 > /tmp/received & sleep 0.5; echo ping | nc 127.0.0.1 9000; wait; \
         cat /tmp/received; {extra} env echo done"
    )
}

const REPLICAS: usize = 3;

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
    let mut recorder = Command::new(corral())
        .args([
            "record",
            "--containers",
            "--duration",
            "10m",
            "--runtime-root",
        ])
        .arg(&runtime.root)
        .arg("-o")
        .arg(&recordings)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(recorder.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("recording the containers"), "{line}");

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
    // SAFETY: signals our own child.
    unsafe { kill(recorder.id() as i32, SIGINT) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(recorder.wait().unwrap().success(), "{rest}");
    let recorded_output = recorded_output.unwrap();
    // busybox's `id` drops what the set-user-ID bit gave it.
    assert!(recorded_output.contains("state 1000"), "{recorded_output}");
    assert!(
        recorded_output.contains("ping") && recorded_output.ends_with("done\n"),
        "{recorded_output}"
    );

    // The policies.
    let profiles = dir.join("profiles");
    let status = Command::new(corral())
        .args(["advise", "seccomp", "--recording"])
        .arg(&recordings)
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
    assert!(!allowed.contains(&"mkdir"), "{allowed:?}");

    let output = Command::new(corral())
        .args([
            "advise",
            "securitycontext",
            "--format",
            "json",
            "--recording",
        ])
        .arg(&recordings)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let advice: Value = serde_json::from_slice(&output.stdout).unwrap();
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

    // Replay under the policies, translated to the OCI config.
    let mut replay = |name: &str, extra: &str| {
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
        apply(&mut config, context, &advice["advice"], &profile);
        fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        finish(runtime.start(&format!("replay-{name}"), &path))
    };
    let (output, status) = replay("same", "");
    assert_eq!((status, output.as_str()), (0, recorded_output.as_str()));
    let (output, status) = replay("mkdir", "mkdir /tmp/extra || exit 3;");
    assert_eq!(status, 3, "{output}");
    assert!(output.contains("Operation not permitted"), "{output}");
}

/// The securityContext and seccomp profile in an OCI config, as containerd
/// writes them: added capabilities in the bounding, effective and
/// permitted sets, noNewPrivileges for no privilege escalation, the user,
/// a read-only root with a tmpfs for each emptyDir.
fn apply(config: &mut Value, context: &Value, advice: &Value, profile: &Value) {
    let caps: Vec<String> = context["capabilities"]["add"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| format!("CAP_{}", c.as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    config["process"]["capabilities"] = json!({
        "bounding": caps, "effective": caps, "permitted": caps,
    });
    config["process"]["noNewPrivileges"] = json!(context["allowPrivilegeEscalation"] == false);
    if let Some(uid) = context["runAsUser"].as_u64() {
        let gid = context["runAsGroup"].as_u64().unwrap_or(uid);
        config["process"]["user"] = json!({"uid": uid, "gid": gid});
    }
    config["root"]["readonly"] = context["readOnlyRootFilesystem"].clone();
    for directory in advice["writable_directories"].as_array().unwrap() {
        config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": directory, "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "mode=1777"],
        }));
    }
    config["linux"]["seccomp"] = profile.clone();
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
