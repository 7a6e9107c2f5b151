//! The container image (`scripts/image.sh`) of the `corral` these tests
//! built, run as the chart's recorder DaemonSet runs it: the image is
//! built twice to the same digest, named as the chart names it, holds the
//! binary and what it links and nothing else, and, unpacked into a runc
//! bundle with the DaemonSet's arguments, environment, securityContext
//! (capabilities, user, read-only root, RuntimeDefault seccomp), hostPID,
//! volumes and memory limit as `deploy/corral.yaml` declares them, records
//! a sibling runc container started after it, and neither its own mount
//! namespace nor the node's.
//!
//! Nothing of the DaemonSet is written here: a capability the chart drops
//! and the recorder needs fails this test, with the operation that was
//! refused and the capability it suggests. Two things differ from a
//! cluster, on purpose: `--publish` is left out (there is no API server;
//! the recordings land in the `-o` directory the chart already mounts as an
//! emptyDir, a directory of the test's here), and the recording window is
//! ended by SIGTERM (as the kubelet stops a pod) once the sibling ran its
//! commands, with `--duration` 5m as a bound only. The chart's runtime
//! state directory (`recorder.runtimeRoot` in values.yaml) is the `--root`
//! of the test's own runc, wherever the chart names it.
//!
//! Needs root, runc, busybox-static, bpftool, binutils' strip and umoci
//! (installed by `scripts/image.sh` if missing). About 30 s, most of it
//! compressing and unpacking the image.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use corral_core::{Limits, Node};
use serde_json::{json, Value};

mod support;
use support::{bundle, containerd_annotations, corral, geteuid, root_filesystem, Runtime};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `scripts/image.sh OUT` with `binary`: the reference and digest it prints.
fn build_image(binary: &Path, out: &Path) -> (String, String) {
    let output = Command::new("bash")
        .arg(repository().join("scripts/image.sh"))
        .arg(out)
        .env("CORRAL_BIN", binary)
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "scripts/image.sh: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    let (reference, digest) = last
        .split_once(' ')
        .unwrap_or_else(|| panic!("scripts/image.sh printed {stdout:?}"));
    assert!(digest.starts_with("sha256:"), "{last}");
    (reference.to_string(), digest.to_string())
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// Every object of `deploy/corral.yaml`.
fn deployed() -> Vec<corral_core::Object> {
    let path = repository().join("deploy/corral.yaml");
    let loaded = corral_core::load(
        &[corral_core::Input::from_arg(path.to_str().unwrap())],
        &Limits::default(),
    );
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    loaded.objects
}

fn text(node: &Node, path: &str) -> Option<String> {
    node.at(path).and_then(|n| n.as_str()).map(str::to_string)
}

fn texts(node: &Node, path: &str) -> Vec<String> {
    node.at(path)
        .and_then(|n| n.items())
        .unwrap_or_default()
        .iter()
        .map(|n| n.as_str().expect("a string").to_string())
        .collect()
}

fn number(node: &Node, path: &str) -> Option<u64> {
    node.at(path)
        .and_then(|n| n.scalar())
        .and_then(|s| s.as_i64())
        .map(|n| u64::try_from(n).expect("not negative"))
}

/// A Kubernetes memory quantity in bytes (`512Mi`, `1Gi`, `1000000`).
fn bytes(quantity: &str) -> u64 {
    let units = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("k", 1000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
    ];
    for (suffix, unit) in units {
        if let Some(n) = quantity.strip_suffix(suffix) {
            return n.parse::<u64>().expect("a whole quantity") * unit;
        }
    }
    quantity.parse().expect("a memory quantity")
}

/// The syscalls the runtimes' default seccomp profile allows only with a
/// capability (moby's profiles/seccomp/default.json, which containerd's
/// and CRI-O's follow; the names are facts carried over, not its code).
const CAPABILITY_SYSCALLS: [(&str, &[&str]); 13] = [
    ("BPF", &["bpf"]),
    ("PERFMON", &["perf_event_open"]),
    (
        "SYS_PTRACE",
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    (
        "SYS_ADMIN",
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "name_to_handle_at",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount",
            "umount2",
            "unshare",
        ],
    ),
    ("DAC_READ_SEARCH", &["open_by_handle_at"]),
    ("SYS_BOOT", &["reboot"]),
    ("SYS_CHROOT", &["chroot"]),
    (
        "SYS_MODULE",
        &["delete_module", "init_module", "finit_module"],
    ),
    ("SYS_PACCT", &["acct"]),
    ("SYS_RAWIO", &["iopl", "ioperm"]),
    (
        "SYS_TIME",
        &["settimeofday", "stime", "clock_settime", "clock_settime64"],
    ),
    (
        "SYS_NICE",
        &[
            "get_mempolicy",
            "mbind",
            "set_mempolicy",
            "set_mempolicy_home_node",
        ],
    ),
    ("SYSLOG", &["syslog"]),
];

/// The RuntimeDefault seccomp profile as runc takes it, for a container
/// with `capabilities`: what corral-advise's data file lists (moby's
/// default, no capability added), what each capability adds, and clone3
/// refused with ENOSYS (so that glibc falls back to clone) without
/// SYS_ADMIN, as moby's does.
fn runtime_default_seccomp(capabilities: &BTreeSet<String>) -> Value {
    let data = json_file(&repository().join("crates/corral-advise/data/runtime-default.json"));
    assert_eq!(data["architecture"], "x86_64", "the test runs on x86_64");
    let mut allowed: BTreeSet<String> = data["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    for (capability, syscalls) in CAPABILITY_SYSCALLS {
        if capabilities.contains(capability) {
            allowed.extend(syscalls.iter().map(|s| s.to_string()));
        }
    }
    let mut rules = vec![json!({"names": allowed, "action": "SCMP_ACT_ALLOW"})];
    if !allowed.contains("clone3") {
        rules.push(json!({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}));
    }
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": rules,
    })
}

/// What the DaemonSet's recorder is run with, from the chart, for the
/// diagnosis of a failure.
struct Declared {
    capabilities: BTreeSet<String>,
    dropped: Vec<String>,
    uid: u64,
}

/// The bundle's config.json (as umoci unpacked it from the image) made
/// into the DaemonSet's container: `pod` is its pod spec, `container` the
/// container. `replace` maps the chart's host paths and arguments to the
/// test's; emptyDirs are made under `empty_dirs`.
fn as_declared(
    config: &mut Value,
    pod: &Node,
    container: &Node,
    replace: &dyn Fn(&str) -> String,
    empty_dirs: &Path,
) -> Declared {
    let process = &mut config["process"];
    // Arguments: the image's entrypoint (unless `command` replaces it),
    // then `args`, with --publish left out and the window ended by SIGTERM.
    let command = texts(container, "command");
    let mut args: Vec<String> = if command.is_empty() {
        process["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    } else {
        command
    };
    let declared = texts(container, "args");
    assert!(
        declared.contains(&"--publish".to_string()),
        "the recorder publishes: {declared:?}"
    );
    let mut rest = declared.iter().filter(|a| *a != "--publish");
    while let Some(arg) = rest.next() {
        args.push(replace(arg));
        if arg == "--duration" {
            rest.next().expect("a duration");
            args.push("5m".into());
        }
    }
    process["args"] = json!(args);
    process["terminal"] = json!(false);

    // Environment: values, and the node's name from the downward API.
    let env = process["env"].as_array_mut().unwrap();
    for variable in container
        .at("env")
        .and_then(|e| e.items())
        .unwrap_or_default()
    {
        let name = text(variable, "name").expect("a name");
        let value = match (
            text(variable, "value"),
            text(variable, "valueFrom.fieldRef.fieldPath"),
        ) {
            (Some(value), _) => value,
            (None, Some(field)) if field == "spec.nodeName" => "image-test-node".into(),
            other => panic!("env {name}: {other:?} is not translated by this test"),
        };
        env.push(json!(format!("{name}={value}")));
    }

    // securityContext.
    let context = container.at("securityContext").expect("a securityContext");
    assert_ne!(
        context.at("privileged").and_then(|p| p.as_bool()),
        Some(true),
        "the recorder is not run privileged"
    );
    let dropped = texts(context, "capabilities.drop");
    let mut capabilities: BTreeSet<String> = if dropped.iter().any(|d| d == "ALL") {
        BTreeSet::new()
    } else {
        corral_core::model::runtime::DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !dropped.contains(c))
            .collect()
    };
    capabilities.extend(texts(context, "capabilities.add"));
    let named: Vec<String> = capabilities.iter().map(|c| format!("CAP_{c}")).collect();
    process["capabilities"] = json!({"bounding": named, "effective": named, "permitted": named});
    let uid =
        number(context, "runAsUser").unwrap_or_else(|| process["user"]["uid"].as_u64().unwrap());
    let gid = number(context, "runAsGroup").unwrap_or(0);
    process["user"] = json!({"uid": uid, "gid": gid});
    process["noNewPrivileges"] = json!(
        context
            .at("allowPrivilegeEscalation")
            .and_then(|a| a.as_bool())
            == Some(false)
    );
    config["root"]["readonly"] = json!(
        context
            .at("readOnlyRootFilesystem")
            .and_then(|r| r.as_bool())
            == Some(true)
    );
    match text(context, "seccompProfile.type").as_deref() {
        Some("RuntimeDefault") => {
            config["linux"]["seccomp"] = runtime_default_seccomp(&capabilities)
        }
        None | Some("Unconfined") => {}
        Some(other) => panic!("seccompProfile {other} is not translated by this test"),
    }

    // The host's namespaces the pod shares.
    let shared: BTreeSet<&str> = [
        ("hostPID", "pid"),
        ("hostNetwork", "network"),
        ("hostIPC", "ipc"),
    ]
    .into_iter()
    .filter(|(field, _)| pod.at(field).and_then(|h| h.as_bool()) == Some(true))
    .map(|(_, namespace)| namespace)
    .collect();
    config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| !shared.contains(n["type"].as_str().unwrap()));

    // Volumes, mounted as declared.
    let volumes = pod
        .at("volumes")
        .and_then(|v| v.items())
        .unwrap_or_default();
    for mount in container
        .at("volumeMounts")
        .and_then(|m| m.items())
        .unwrap_or_default()
    {
        let name = text(mount, "name").expect("a volume name");
        let volume = volumes
            .iter()
            .find(|v| text(v, "name").as_deref() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("volumeMount {name}: no such volume"));
        let source = if let Some(path) = text(volume, "hostPath.path") {
            let source = PathBuf::from(replace(&path));
            match text(volume, "hostPath.type").as_deref() {
                Some("DirectoryOrCreate") => fs::create_dir_all(&source).unwrap(),
                Some("Directory") => assert!(
                    source.is_dir(),
                    "hostPath {path}: not a directory on this machine"
                ),
                other => panic!("hostPath type {other:?} is not translated by this test"),
            }
            source
        } else if volume.get("emptyDir").is_some() {
            let source = empty_dirs.join(&name);
            fs::create_dir_all(&source).unwrap();
            fs::set_permissions(&source, std::os::unix::fs::PermissionsExt::from_mode(0o777))
                .unwrap();
            source
        } else {
            panic!("volume {name} is not translated by this test")
        };
        let read_only = mount.at("readOnly").and_then(|r| r.as_bool()) == Some(true);
        config["mounts"].as_array_mut().unwrap().push(json!({
            "destination": replace(&text(mount, "mountPath").expect("a mountPath")),
            "type": "bind",
            "source": source,
            "options": ["rbind", "rprivate", if read_only { "ro" } else { "rw" }],
        }));
    }

    if let Some(limit) = text(container, "resources.limits.memory") {
        config["linux"]["resources"]["memory"] = json!({"limit": bytes(&limit)});
    }
    Declared {
        capabilities,
        dropped,
        uid,
    }
}

/// `runc state ID`'s process id.
fn container_pid(runtime: &Runtime, id: &str) -> u32 {
    let output = Command::new("runc")
        .arg("--root")
        .arg(&runtime.root)
        .args(["state", id])
        .output()
        .expect("runc");
    assert!(
        output.status.success(),
        "runc state {id}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let state: Value = serde_json::from_slice(&output.stdout).unwrap();
    u32::try_from(state["pid"].as_u64().expect("a pid")).unwrap()
}

/// The mount namespaces the recorder process `pid` is recording: the keys
/// of its `namespaces` map, found among its descriptors, read with bpftool.
fn recorded_namespaces(pid: u32) -> BTreeSet<u64> {
    let mut ids = BTreeSet::new();
    for entry in fs::read_dir(format!("/proc/{pid}/fdinfo")).unwrap() {
        let info = fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        ids.extend(
            info.lines()
                .filter_map(|l| l.strip_prefix("map_id:"))
                .map(|id| id.trim().to_string()),
        );
    }
    let bpftool = |args: &[&str]| -> Value {
        let output = Command::new("bpftool")
            .arg("-j")
            .args(args)
            .output()
            .expect("bpftool");
        assert!(
            output.status.success(),
            "bpftool {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let map = ids
        .iter()
        .find(|id| bpftool(&["map", "show", "id", id])["name"] == "namespaces")
        .expect("the recorder's namespaces map");
    bpftool(&["map", "dump", "id", map])
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let bytes: Vec<u8> = entry["key"]
                .as_array()
                .expect("the key's bytes")
                .iter()
                .map(|b| {
                    u8::from_str_radix(b.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
                })
                .collect();
            u64::from_le_bytes(bytes.try_into().expect("a u64 key"))
        })
        .collect()
}

/// A failure of the recorder under the chart's securityContext, said with
/// the operation refused and what to grant.
fn diagnosis(declared: &Declared, what: &str, output: &str) -> String {
    let mut hints = Vec::new();
    if output.contains("lacks CAP_") && declared.uid != 0 {
        hints.push(format!(
            "as user {} (runAsUser) the added capabilities are not effective: the recorder runs as 0",
            declared.uid
        ));
    } else if output.contains("lacks CAP_") {
        hints.push(
            "the recorder checks its effective capabilities first: add the ones it names"
                .to_string(),
        );
    }
    if output.contains("needs CAP_SYS_PTRACE") {
        hints.push("opening another process's /proc/PID/ns/mnt and /proc/PID/root was refused: add SYS_PTRACE".into());
    }
    if ["loading", "attaching", "map"]
        .iter()
        .any(|w| output.contains(w))
        && ["Operation not permitted", "EPERM", "Permission denied"]
            .iter()
            .any(|w| output.contains(w))
    {
        hints.push(
            "a bpf() or perf_event_open() call was refused: add BPF and PERFMON (the RuntimeDefault seccomp profile allows those calls only with them)"
                .into(),
        );
    }
    if output.contains("Cannot allocate memory") || output.contains("ENOMEM") {
        hints.push("the recorder's maps did not fit: raise resources.limits.memory".into());
    }
    if hints.is_empty() {
        hints.push("no known cause: run the bundle with strace -f to see the refused call".into());
    }
    format!(
        "{what}, run as deploy/corral.yaml's corral-recorder DaemonSet (capabilities {:?}, drop {:?}): {}\n--- its output:\n{output}",
        declared.capabilities,
        declared.dropped,
        hints.join("; ")
    )
}

#[test]
fn the_image_records_a_container_as_the_daemonset_runs_it() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: running the image needs root");
        return;
    }
    let started = std::time::Instant::now();
    let dir = tempfile::tempdir().unwrap();

    // The binary without its debug information, as a release build has
    // none: the image is built and unpacked faster.
    let binary = dir.path().join("corral");
    let strip = Command::new("strip")
        .args(["--strip-debug", "-o"])
        .arg(&binary)
        .arg(corral())
        .output()
        .expect("strip (binutils)");
    assert!(
        strip.status.success(),
        "{}",
        String::from_utf8_lossy(&strip.stderr)
    );

    // Reproducible: built twice, the same digest and the same archive.
    let (first_out, second_out) = (dir.path().join("image-1"), dir.path().join("image-2"));
    let (reference, digest) = build_image(&binary, &first_out);
    let (again, digest_again) = build_image(&binary, &second_out);
    assert_eq!(
        (&again, &digest_again),
        (&reference, &digest),
        "a second build differs"
    );
    let (name, tag) = reference.rsplit_once(':').expect("name:tag");
    let archive = format!("{name}-{tag}.oci.tar");
    assert!(
        fs::read(first_out.join(&archive)).unwrap() == fs::read(second_out.join(&archive)).unwrap(),
        "the two oci-archives differ"
    );

    // The chart runs the image that was built: every image it names.
    let objects = deployed();
    let images: BTreeSet<String> = objects
        .iter()
        .flat_map(|o| {
            let containers = o
                .root
                .at("spec.template.spec.containers")
                .and_then(|c| c.items())
                .unwrap_or_default();
            containers
                .iter()
                .filter_map(|c| text(c, "image"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        images,
        BTreeSet::from([reference.clone()]),
        "deploy/corral.yaml's images"
    );
    let layout = first_out.join(name);
    let index = json_file(&layout.join("index.json"));
    assert_eq!(
        index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
        tag
    );
    assert_eq!(index["manifests"][0]["digest"], digest.as_str());

    // The SBOM beside it, named by the manifest.
    let manifest = json_file(&blob(&layout, &digest));
    let sbom = fs::read(first_out.join(format!("{name}.cdx.json"))).unwrap();
    assert_eq!(
        manifest["annotations"]["dev.corral.sbom.sha256"],
        corral_reach::sha256_hex(&sbom)
    );
    let sbom: Value = serde_json::from_slice(&sbom).unwrap();
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["metadata"]["component"]["name"], "corral");

    // Unpacked: the binary, its interpreter and libraries, nothing else;
    // user 65532 and entrypoint /corral by default.
    let recorder_bundle = dir.path().join("recorder");
    let unpack = Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:{tag}", layout.display()))
        .arg(&recorder_bundle)
        .output()
        .expect("umoci");
    assert!(
        unpack.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&unpack.stderr)
    );
    let mut files = BTreeSet::new();
    let mut pending = vec![recorder_bundle.join("rootfs")];
    while let Some(directory) = pending.pop() {
        for entry in fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(format!(
                    "/{}",
                    path.strip_prefix(recorder_bundle.join("rootfs"))
                        .unwrap()
                        .display()
                ));
            }
        }
    }
    let ldd = Command::new("ldd").arg(&binary).output().expect("ldd");
    let mut expected = BTreeSet::from(["/corral".to_string()]);
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [_, "=>", path, ..] if path.starts_with('/') => expected.insert(path.to_string()),
            [path, ..] if path.starts_with('/') => expected.insert(path.to_string()),
            _ => false,
        };
    }
    assert_eq!(files, expected, "the image's files");
    let config_path = recorder_bundle.join("config.json");
    let mut config = json_file(&config_path);
    assert_eq!(
        config["process"]["user"],
        json!({"uid": 65532, "gid": 65532})
    );
    assert_eq!(config["process"]["args"], json!(["/corral"]));

    // The DaemonSet, as declared, with the chart's runtime root replaced
    // by this test's runc's.
    let daemonset = objects
        .iter()
        .find(|o| o.kind == "DaemonSet" && o.name.as_deref() == Some("corral-recorder"))
        .expect("the corral-recorder DaemonSet");
    let pod = daemonset.root.at("spec.template.spec").unwrap();
    let container = pod.at("containers[0]").unwrap();
    let values_text =
        fs::read_to_string(repository().join("deploy/chart/corral/values.yaml")).unwrap();
    let values = corral_core::parse_config("values.yaml", &values_text, &Limits::default())
        .unwrap()
        .unwrap();
    let chart_root = text(&values, "recorder.runtimeRoot").expect("recorder.runtimeRoot");
    let mut runtime = Runtime {
        root: dir.path().join("run/runc"),
        started: Vec::new(),
    };
    let test_root = runtime.root.display().to_string();
    let replace = |s: &str| {
        if s == chart_root {
            test_root.clone()
        } else {
            s.to_string()
        }
    };
    let empty_dirs = dir.path().join("empty-dirs");
    let declared = as_declared(&mut config, pod, container, &replace, &empty_dirs);
    fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let recordings = empty_dirs.join("recordings");
    assert!(recordings.is_dir(), "the chart's recordings emptyDir");

    let mut recorders = Runtime {
        root: dir.path().join("recorder-state"),
        started: Vec::new(),
    };
    let mut recorder = recorders.start("corral-recorder", &recorder_bundle);
    let mut stderr = BufReader::new(recorder.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    if !first.starts_with("recording the containers") {
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        let _ = recorder.wait();
        panic!(
            "{}",
            diagnosis(&declared, "the recorder did not start", &(first + &rest))
        );
    }

    // A sibling container, after the recorder is up. It stays until the
    // recording ended, so that the recorder reads its state and root
    // however late a loaded machine lets it (a container gone before the
    // recorder read its state is recorded unnamed, as the recorder says).
    let rootfs = root_filesystem(dir.path());
    let sibling = bundle(
        &dir.path().join("sibling"),
        &rootfs,
        &[
            "sh",
            "-c",
            "echo hello > /tmp/greeting; cat /tmp/greeting; id; exec sleep 600",
        ],
        containerd_annotations("shop", "web-1", "app"),
        None,
        1000,
    );
    let log = dir.path().join("sibling.log");
    let mut sibling_run = runtime.start_logged("web-1-app", &sibling, &log);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let said = fs::read_to_string(&log).unwrap_or_default();
        if said.contains("uid=1000") {
            assert!(said.contains("hello"), "{said}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sibling container did not run: {said}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // The recorder records the sibling's mount namespace, and neither its
    // own (its container's) nor the node's (where this test, runc and the
    // node's daemons run): they would fill the maps the workloads share.
    let recording_pid = container_pid(&recorders, "corral-recorder");
    let namespace_of = |pid: u32| corral_recorder::mount_namespace(&pid.to_string()).unwrap();
    let recorded = recorded_namespaces(recording_pid);
    assert!(
        recorded.contains(&namespace_of(container_pid(&runtime, "web-1-app"))),
        "{recorded:?}"
    );
    assert!(
        !recorded.contains(&namespace_of(std::process::id())),
        "the node's namespace is recorded: {recorded:?}"
    );
    assert!(
        !recorded.contains(&namespace_of(recording_pid)),
        "the recorder's own namespace is recorded"
    );

    let stop = recorders.kill("corral-recorder", "TERM");
    assert!(
        stop.status.success(),
        "runc kill: {}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = recorder.wait().unwrap();
    runtime.kill("web-1-app", "KILL");
    let _ = sibling_run.wait();
    assert!(
        status.success(),
        "{}",
        diagnosis(
            &declared,
            &format!("the recorder exited with {status}"),
            &rest
        )
    );

    let written: Vec<Value> = fs::read_dir(&recordings)
        .unwrap()
        .map(|e| json_file(&e.unwrap().path()))
        .collect();
    let recording = written
        .iter()
        .find(|r| r["container"]["id"] == "web-1-app")
        .unwrap_or_else(|| {
            panic!(
                "{}",
                diagnosis(&declared, "no recording of the sibling container", &rest)
            )
        });
    assert_eq!(recording["container"]["runtimeRoot"], test_root.as_str());
    assert_eq!(
        (
            &recording["container"]["namespace"],
            &recording["container"]["pod"],
            &recording["container"]["name"]
        ),
        (&json!("shop"), &json!("web-1"), &json!("app"))
    );
    let syscalls: BTreeSet<&str> = recording["workload"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        syscalls.is_superset(&BTreeSet::from(["execve", "openat", "write"])),
        "{syscalls:?}"
    );
    let uids: BTreeSet<u64> = recording["workload"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["euid"].as_u64().unwrap())
        .collect();
    assert!(uids.contains(&1000), "{uids:?}");
    // Its program, read from its root through /proc (runc's own
    // re-execution, /proc/self/exe, is not in the container's root).
    let binaries = recording["binaries"].as_array().expect("binaries");
    let shell = binaries
        .iter()
        .find(|b| b["path"] == "/bin/sh")
        .unwrap_or_else(|| panic!("/bin/sh is not in {binaries:#?}"));
    if let Some(error) = shell.get("error") {
        panic!(
            "{}",
            diagnosis(
                &declared,
                "the sibling's program could not be read",
                &format!("{error}\n{rest}")
            )
        );
    }
    let busybox = corral_reach::sha256_hex(&fs::read(rootfs.join("bin/busybox")).unwrap());
    assert_eq!(shell["sha256"], busybox.as_str(), "{shell:#}");
    eprintln!("the image test took {:?}", started.elapsed());
}
