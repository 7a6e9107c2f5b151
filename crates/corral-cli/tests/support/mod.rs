//! Real runc containers for end-to-end tests: a busybox-static root
//! filesystem, OCI bundles with CRI annotations, and a runtime state
//! directory whose containers are deleted on drop. Needs root, runc and
//! busybox-static (`scripts/test.sh` installs them).

// Each test file uses some of these helpers.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Output, Stdio};

use serde_json::{json, Value};

pub fn corral() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_corral"))
}

extern "C" {
    pub fn geteuid() -> u32;
    pub fn kill(pid: i32, signal: i32) -> i32;
}

pub const SIGINT: i32 = 2;

pub fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A busybox-static root filesystem with the applets the containers use.
pub fn root_filesystem(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for sub in ["bin", "proc", "dev", "sys", "tmp", "etc", "var/cache"] {
        fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("busybox-static");
    for applet in [
        "sh", "nc", "sleep", "true", "echo", "nslookup", "id", "cat", "mkdir", "env",
    ] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    rootfs
}

/// An OCI bundle at `dir` running `args` with `annotations`, in the network
/// namespace `netns` if given, as `uid`.
pub fn bundle(
    dir: &Path,
    rootfs: &Path,
    args: &[&str],
    annotations: Value,
    netns: Option<&str>,
    uid: u32,
) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    run("runc", &["spec", "--bundle", dir.to_str().unwrap()]);
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(args);
    config["process"]["user"] = json!({"uid": uid, "gid": uid});
    config["root"] = json!({"path": rootfs, "readonly": false});
    config["annotations"] = annotations;
    config["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", format!("uid={uid}"), format!("gid={uid}")]}),
    );
    if let Some(netns) = netns {
        for namespace in config["linux"]["namespaces"].as_array_mut().unwrap() {
            if namespace["type"] == "network" {
                namespace["path"] = json!(netns);
            }
        }
    }
    fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    dir.to_path_buf()
}

pub fn containerd_annotations(namespace: &str, pod: &str, container: &str) -> Value {
    json!({
        "io.kubernetes.cri.sandbox-namespace": namespace,
        "io.kubernetes.cri.sandbox-name": pod,
        "io.kubernetes.cri.sandbox-uid": format!("uid-{pod}"),
        "io.kubernetes.cri.container-name": container,
        "io.kubernetes.cri.container-type": "container",
        "io.kubernetes.cri.image-name": "docker.io/library/busybox:1.35",
    })
}

pub struct Runtime {
    pub root: PathBuf,
    pub started: Vec<String>,
}

impl Runtime {
    pub fn start(&mut self, id: &str, bundle: &Path) -> Child {
        self.started.push(id.to_string());
        Command::new("runc")
            .arg("--root")
            .arg(&self.root)
            .args(["run", "--bundle"])
            .arg(bundle)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runc")
    }
}

impl Runtime {
    /// Starts a server: its standard output and error go to `log`, which
    /// can be read while it runs.
    pub fn start_logged(&mut self, id: &str, bundle: &Path, log: &Path) -> Child {
        self.started.push(id.to_string());
        let log = fs::File::create(log).unwrap();
        Command::new("runc")
            .arg("--root")
            .arg(&self.root)
            .args(["run", "--bundle"])
            .arg(bundle)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("runc")
    }

    /// `runc kill`: sends `signal` (`TERM`, `HUP`...) to the container's
    /// first process.
    pub fn kill(&self, id: &str, signal: &str) -> Output {
        Command::new("runc")
            .arg("--root")
            .arg(&self.root)
            .args(["kill", id, signal])
            .output()
            .expect("runc")
    }

    /// `runc exec`: runs `args` in the running container, as its process
    /// (user, capabilities, seccomp profile), `seconds` at most.
    pub fn exec(&self, id: &str, args: &[&str], seconds: u32) -> Output {
        Command::new("timeout")
            .arg(seconds.to_string())
            .arg("runc")
            .arg("--root")
            .arg(&self.root)
            .args(["exec", id])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("timeout and runc")
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for id in &self.started {
            let _ = Command::new("runc")
                .arg("--root")
                .arg(&self.root)
                .args(["delete", "--force", id])
                .output();
        }
    }
}

/// Its standard output and error, once it exited successfully.
pub fn wait_for(child: Child, what: &str) -> String {
    let (output, status) = finish(child);
    assert_eq!(status, 0, "{what}: {output}");
    output
}

/// Its standard output and error, and its exit status.
pub fn finish(child: Child) -> (String, i32) {
    let output = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
        output.status.code().unwrap_or(-1),
    )
}

/// Pods' network namespaces on a bridge: 10.`subnet`.0.1 on the host's
/// side, 10.`subnet`.0.2, .3... in the namespaces. Removed on drop.
pub struct PodNetwork {
    bridge: String,
    namespaces: Vec<String>,
}

impl PodNetwork {
    pub fn new(subnet: u8, pods: usize) -> PodNetwork {
        let id = std::process::id() % 10_000;
        let network = PodNetwork {
            bridge: format!("crl{id}b{subnet}"),
            namespaces: (0..pods)
                .map(|i| format!("corral-test-{id}-{subnet}-{i}"))
                .collect(),
        };
        remove_leftovers(subnet);
        run("ip", &["link", "add", &network.bridge, "type", "bridge"]);
        let host = format!("10.{subnet}.0.1/24");
        run("ip", &["addr", "add", &host, "dev", &network.bridge]);
        run("ip", &["link", "set", &network.bridge, "up"]);
        for (i, namespace) in network.namespaces.iter().enumerate() {
            let host_link = format!("crl{id}h{subnet}x{i}");
            let pod_link = format!("crl{id}p{subnet}x{i}");
            run("ip", &["netns", "add", namespace]);
            run(
                "ip",
                &[
                    "link", "add", &host_link, "type", "veth", "peer", "name", &pod_link, "netns",
                    namespace,
                ],
            );
            run(
                "ip",
                &["link", "set", &host_link, "master", &network.bridge],
            );
            run("ip", &["link", "set", &host_link, "up"]);
            let inside = |args: &[&str]| {
                let mut all = vec!["netns", "exec", namespace.as_str(), "ip"];
                all.extend_from_slice(args);
                run("ip", &all);
            };
            let address = format!("10.{subnet}.0.{}/24", i + 2);
            inside(&["addr", "add", &address, "dev", &pod_link]);
            inside(&["link", "set", &pod_link, "up"]);
            inside(&["link", "set", "lo", "up"]);
        }
        network
    }

    /// The network namespace of pod `i`.
    pub fn path(&self, i: usize) -> String {
        format!("/var/run/netns/{}", self.namespaces[i])
    }
}

/// A run killed before its drop (a timeout, a cancelled CI job) leaves its
/// bridge holding 10.`subnet`.0.1, and the host would route the subnet
/// there. Each subnet belongs to one test, so whatever holds it is stale.
fn remove_leftovers(subnet: u8) {
    let listed = |args: &[&str]| {
        let out = Command::new("ip").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let owned = |name: &str, prefix: &str, suffix: &str| {
        name.strip_prefix(prefix)
            .and_then(|rest| rest.split_once(suffix))
            .is_some_and(|(pid, _)| pid.bytes().all(|b| b.is_ascii_digit()))
    };
    for namespace in listed(&["netns", "list"]).lines() {
        let name = namespace.split_whitespace().next().unwrap_or_default();
        if owned(name, "corral-test-", &format!("-{subnet}-")) {
            run("ip", &["netns", "del", name]);
        }
    }
    for link in listed(&["-o", "link", "show", "type", "bridge"]).lines() {
        let name = link.split(": ").nth(1).unwrap_or_default();
        if owned(&format!("{name}$"), "crl", &format!("b{subnet}$")) {
            run("ip", &["link", "del", name]);
        }
    }
}

impl Drop for PodNetwork {
    fn drop(&mut self) {
        for namespace in &self.namespaces {
            let _ = Command::new("ip")
                .args(["netns", "del", namespace])
                .output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
    }
}

/// `corral record --containers` on a runtime's state directory, recording
/// into `out` until stopped.
pub struct Recorder {
    child: Child,
    stderr: BufReader<ChildStderr>,
}

impl Recorder {
    pub fn start(runtime: &Runtime, out: &Path) -> Recorder {
        Recorder::start_with(runtime, out, &[])
    }

    /// With more arguments (`--publish`...).
    pub fn start_with(runtime: &Runtime, out: &Path, more: &[&str]) -> Recorder {
        let mut child = Command::new(corral())
            .args([
                "record",
                "--containers",
                "--duration",
                "10m",
                "--runtime-root",
            ])
            .arg(&runtime.root)
            .arg("-o")
            .arg(out)
            .args(more)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        assert!(line.starts_with("recording the containers"), "{line}");
        Recorder { child, stderr }
    }

    /// End the recording as Ctrl-C does: the rest of its standard error.
    pub fn stop(mut self) -> String {
        // SAFETY: signals our own child.
        unsafe { kill(self.child.id() as i32, SIGINT) };
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut rest).unwrap();
        assert!(self.child.wait().unwrap().success(), "{rest}");
        rest
    }
}

/// Runs `command` (a `corral` invocation), which must succeed: its output.
pub fn succeed(command: &mut Command) -> String {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The securityContext and seccomp profile in an OCI config, as containerd
/// writes them: added capabilities in the bounding, effective and
/// permitted sets, noNewPrivileges for no privilege escalation, the user,
/// a read-only root with an emptyDir for each advised writable directory.
/// An emptyDir is what the kubelet makes it: a new directory, mode 0777,
/// under `empty_dirs`, bind-mounted (a tmpfs would take the mode of the
/// image's directory under it, as runc does).
pub fn apply(
    config: &mut Value,
    context: &Value,
    advice: &Value,
    profile: &Value,
    empty_dirs: &Path,
) {
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
        let directory = directory.as_str().unwrap();
        let source = empty_dirs.join(directory.trim_matches('/').replace('/', "-"));
        fs::create_dir_all(&source).unwrap();
        fs::set_permissions(&source, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": directory, "type": "bind", "source": source,
            "options": ["rbind", "rw", "nosuid", "nodev"],
        }));
    }
    config["linux"]["seccomp"] = profile.clone();
}
