//! `corral record` on the real kernel: a program making a known list of
//! syscalls is recorded with every one, and with every syscall `strace -f`
//! sees. Needs root, kernel BTF, a C compiler and strace (`scripts/test.sh`
//! installs strace); CI has them all.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

fn corral() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_corral"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Compile `tests/programs/NAME.c` into `dir`.
fn build_program(dir: &Path, name: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/programs/{name}.c"));
    let binary = dir.join(name);
    let status = Command::new("cc")
        .args(["-O1", "-pthread", "-o"])
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("a C compiler (cc)");
    assert!(status.success());
    binary
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// The syscalls of both phases: the command's own, and ours before its exec.
fn recorded_names(recording: &Path) -> BTreeSet<String> {
    let value = read_json(recording);
    assert_eq!(value["formatVersion"], 1);
    ["workload", "runtime"]
        .iter()
        .flat_map(|phase| value[phase]["syscalls"].as_array().unwrap().clone())
        .map(|s| s["name"].as_str().expect("a known syscall").to_string())
        .collect()
}

/// The syscalls `strace -f -qq -c` counts for a program: native, and
/// 32-bit compat (its "32 bit mode" table).
fn strace_counts(program: &Path, dir: &Path) -> (BTreeSet<String>, BTreeSet<String>) {
    let log = dir.join("strace.txt");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-c", "-o"])
        .arg(&log)
        .arg(program)
        .stdout(Stdio::null())
        .status()
        .expect("strace (scripts/test.sh installs it)");
    assert!(status.success());
    let (mut native, mut compat) = (BTreeSet::new(), BTreeSet::new());
    let mut table = &mut native;
    for line in fs::read_to_string(&log).unwrap().lines() {
        if line.contains("32 bit mode") {
            table = &mut compat;
            continue;
        }
        // "  0.00    0.000000           0         2         1 ioctl"
        let fields: Vec<&str> = line.split_whitespace().collect();
        let counted = fields.len() >= 5 && fields[..4].iter().all(|f| f.parse::<f64>().is_ok());
        if counted && fields[fields.len() - 1] != "total" {
            table.insert(fields[fields.len() - 1].to_string());
        }
    }
    (native, compat)
}

/// The compat syscalls of both phases.
fn recorded_compat_names(recording: &Path) -> BTreeSet<String> {
    let value = read_json(recording);
    ["workload", "runtime"]
        .iter()
        .flat_map(|phase| {
            value[phase]["compatSyscalls"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|s| s["name"].as_str().expect("a known syscall").to_string())
        .collect()
}

/// What strace counts, the recording holds: one program per family of
/// syscalls that a recorder may miss (a terminal's and a socket's ioctl,
/// fcntl's commands, io_uring, threads started with clone3, an orphaned
/// child still running when its parent exits, 32-bit compat syscalls).
#[test]
fn every_syscall_strace_counts_is_recorded() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let mut programs = vec![
        "ioctl", "fcntl", "io_uring", "threads", "orphan", "syscalls",
    ];
    if std::env::consts::ARCH == "x86_64" {
        programs.push("compat");
    }
    let dir = tempfile::tempdir().unwrap();
    for name in programs {
        let program = build_program(dir.path(), name);
        let recording = record(dir.path(), &[program.to_str().unwrap()]);
        let (native, compat) = strace_counts(&program, dir.path());
        assert!(!native.is_empty(), "{name}: strace counted nothing");
        let recorded = recorded_names(&recording);
        let unseen: Vec<&String> = native.difference(&recorded).collect();
        assert!(
            unseen.is_empty(),
            "{name}: strace counted {unseen:?} that the recording lacks ({recorded:?})"
        );
        let recorded = recorded_compat_names(&recording);
        let unseen: Vec<&String> = compat.difference(&recorded).collect();
        assert!(
            unseen.is_empty(),
            "{name}: strace counted 32-bit {unseen:?} that the recording lacks"
        );
    }
}

#[test]
fn every_syscall_of_a_program_and_its_child_is_recorded() {
    assert!(
        is_root() || std::env::var_os("CI").is_none(),
        "CI runs as root"
    );
    if !is_root() {
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let program = build_program(dir.path(), "syscalls");
    let recording = dir.path().join("recording.json");
    let output = Command::new(corral())
        .args(["record", "--quiet", "-o"])
        .arg(&recording)
        .arg("--")
        .arg(&program)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let recorded = recorded_names(&recording);
    let known = [
        "getcpu",
        "personality",
        "membarrier",
        "sched_getaffinity",
        "memfd_create",
        "timerfd_create",
        "eventfd2",
        "inotify_init1",
        "getrandom",
        "prctl",
        "uname",
        "sysinfo",
        "times",
        "pidfd_open",
        "clock_nanosleep",
        "wait4",
        "getppid",
        "sched_yield",
        "execve",
        "exit_group",
    ];
    let missing: Vec<&str> = known
        .iter()
        .copied()
        .filter(|k| !recorded.contains(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}; recorded {recorded:?}"
    );
    assert!(
        recorded
            .iter()
            .any(|s| s == "clone" || s == "clone3" || s == "fork"),
        "{recorded:?}"
    );
}

/// (name, granted, denied) of every capability the workload checked, by
/// audited checks.
fn recorded_capabilities(recording: &Path) -> Vec<(String, bool, bool)> {
    let value = read_json(recording);
    value["workload"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["granted"] == true,
                c["denied"] == true,
            )
        })
        .collect()
}

fn record(dir: &Path, command: &[&str]) -> PathBuf {
    let recording = dir.join("recording.json");
    let output = Command::new(corral())
        .args(["record", "--quiet", "-o"])
        .arg(&recording)
        .arg("--")
        .args(command)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success());
    recording
}

#[test]
fn capability_checks_are_recorded_with_their_verdict() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mine, theirs) = (dir.path().join("mine"), dir.path().join("theirs"));
    fs::write(&mine, "").unwrap();
    fs::write(&theirs, "").unwrap();
    // chown as root is granted CAP_CHOWN; as nobody, denied it.
    let script = format!(
        "chown 65534 {}; setpriv --reuid=65534 --regid=65534 --clear-groups chown 0 {}",
        mine.display(),
        theirs.display()
    );
    let caps = recorded_capabilities(&record(dir.path(), &["sh", "-c", &script]));
    assert!(caps.contains(&("CAP_CHOWN".into(), true, true)), "{caps:?}");
    assert!(
        caps.iter()
            .any(|(name, granted, _)| name == "CAP_SETUID" && *granted),
        "{caps:?}"
    );

    // Binding port 80 as nobody with the capability in its ambient set.
    let bind = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=+net_bind_service",
        "--ambient-caps=+net_bind_service",
        "/usr/bin/perl",
        "-MIO::Socket::INET",
        "-e",
        "IO::Socket::INET->new(LocalAddr => '127.0.0.1:80', Listen => 1) or die",
    ];
    let caps = recorded_capabilities(&record(dir.path(), &bind));
    assert!(
        caps.contains(&("CAP_NET_BIND_SERVICE".into(), true, false)),
        "{caps:?}"
    );
}

#[test]
fn execs_are_recorded_with_their_uids_and_setuid_bits() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = "/bin/true; /usr/bin/passwd --help >/dev/null; setpriv --reuid=65534 --regid=65534 --clear-groups /bin/true";
    let recording = record(dir.path(), &["sh", "-c", script]);
    let value = read_json(&recording);
    let execs: Vec<(String, u64, bool)> = value["execs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["euid"].as_u64().unwrap(),
                e["setuid"] == true,
            )
        })
        .collect();
    assert!(execs.contains(&("/bin/true".into(), 0, false)), "{execs:?}");
    assert!(
        execs.contains(&("/bin/true".into(), 65534, false)),
        "{execs:?}"
    );
    // passwd is set-user-ID root in Debian.
    assert!(
        execs.contains(&("/usr/bin/passwd".into(), 0, true)),
        "{execs:?}"
    );
}

#[test]
fn network_peers_are_recorded_for_ipv4_and_ipv6() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // TCP: listen, connect and accept on both families; UDP: a datagram to
    // a port, one on a connected IPv6 socket, and a DNS query for an AAAA
    // record to a server on 127.0.0.1:53 that answers it.
    let script = r#"
        use IO::Socket::IP;
        $l4 = IO::Socket::IP->new(LocalHost => "127.0.0.1", LocalPort => 18180, Listen => 5, ReuseAddr => 1) or die "listen4: $@";
        $c4 = IO::Socket::IP->new(PeerHost => "127.0.0.1", PeerPort => 18180) or die "connect4: $@";
        $a4 = $l4->accept or die "accept4";
        $l6 = IO::Socket::IP->new(LocalHost => "::1", LocalPort => 18181, Listen => 5, ReuseAddr => 1) or die "listen6: $@";
        $c6 = IO::Socket::IP->new(PeerHost => "::1", PeerPort => 18181) or die "connect6: $@";
        $a6 = $l6->accept or die "accept6";
        $u = IO::Socket::IP->new(Proto => "udp", PeerHost => "127.0.0.1", PeerPort => 18182) or die "udp: $@";
        $u->send("x");
        $u6 = IO::Socket::IP->new(Proto => "udp", PeerHost => "::1", PeerPort => 18183) or die "udp6: $@";
        $u6->send("y");
        $name = join("", map { chr(length $_) . $_ } split /\./, "db.shop.svc.cluster.local") . "\0";
        $query = pack("nnnnnn", 0x1234, 0x0100, 1, 0, 0, 0) . $name . pack("nn", 28, 1);
        $server = IO::Socket::IP->new(Proto => "udp", LocalHost => "127.0.0.1", LocalPort => 53, ReuseAddr => 1) or die "dns server: $@";
        $dns = IO::Socket::IP->new(Proto => "udp", PeerHost => "127.0.0.1", PeerPort => 53) or die "dns: $@";
        $dns->send($query);
        # The answer, its owner name compressed as resolvers send it.
        $server->recv($asked, 512);
        $answer = substr($asked, 0, 2) . pack("nnnnn", 0x8180, 1, 1, 0, 0) . substr($asked, 12)
            . pack("nnnNn", 0xC00C, 28, 1, 60, 16) . Socket::inet_pton(Socket::AF_INET6, "fd00::42");
        $server->send($answer, 0, $server->peername // $dns->sockname);
        $dns->recv($response, 512);
        length($response) > 0 or die "no response";
    "#;
    let recording = record(dir.path(), &["/usr/bin/perl", "-e", script]);
    let value = read_json(&recording);
    let endpoints = |field: &str| -> Vec<(String, u64)> {
        value["workload"][field]
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
    };
    let tcp = [("127.0.0.1".into(), 18180), ("::1".into(), 18181)];
    assert_eq!(endpoints("connects"), tcp);
    assert_eq!(endpoints("listeners"), tcp);
    // Accepts: the peer's address and the local port.
    assert_eq!(endpoints("accepts"), tcp);
    // The three sent by the client, and the server's reply to the client's
    // ephemeral port.
    let udp = endpoints("udp");
    for expected in [("127.0.0.1", 53), ("127.0.0.1", 18182), ("::1", 18183)] {
        assert!(udp.contains(&(expected.0.into(), expected.1)), "{udp:?}");
    }
    assert_eq!(udp.len(), 4, "{udp:?}");
    let dns = &value["workload"]["dnsQueries"];
    assert_eq!(dns.as_array().unwrap().len(), 1, "{dns}");
    assert_eq!(dns[0]["name"], "db.shop.svc.cluster.local");
    assert_eq!(dns[0]["type"], "AAAA");
    assert_eq!(dns[0]["count"], 1);
    assert_eq!(dns[0]["answers"], serde_json::json!(["fd00::42"]));
}

#[test]
fn unaudited_capability_checks_are_told_apart() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    // Every private writable mapping makes the kernel check CAP_SYS_ADMIN
    // without auditing: `true` needs no capability at all.
    let dir = tempfile::tempdir().unwrap();
    let value = read_json(&record(dir.path(), &["/bin/true"]));
    assert_eq!(value["runs"][0]["capabilityAudit"], true);
    for capability in value["workload"]["capabilities"].as_array().unwrap() {
        assert_eq!(capability["granted"], false, "{capability}");
        assert_eq!(capability["denied"], false, "{capability}");
    }
    let sys_admin = value["workload"]["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "CAP_SYS_ADMIN")
        .expect("the unaudited CAP_SYS_ADMIN check");
    assert_eq!(sys_admin["grantedUnaudited"], true);
}

#[test]
fn file_writes_are_recorded_with_their_paths_and_filesystems() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let base = base.display();
    // Absolute paths, paths relative to the working directory, and a write
    // to /dev/null, which is not the root filesystem. Opens are recorded as
    // they happened: `>` creates a new file and only writes to one that
    // exists (/dev/null), `+<` (O_RDWR) only writes. A call that fails (a
    // rmdir of a directory that is not empty) is no write.
    // creat(2) twice (x86_64 has it; glibc's creat() calls openat):
    // it creates h, then opens it for writing.
    let creat = if cfg!(target_arch = "x86_64") {
        "perl -e 'for (1, 2) { my $p = \"h\"; syscall(85, $p, 0644) >= 0 or die $! }' && rm h &&"
    } else {
        ""
    };
    let script = format!(
        "mkdir {base}/d && echo x > {base}/d/f && {{ rmdir {base}/d 2>/dev/null || true; }} && mv {base}/d/f {base}/d/g && truncate -s 0 {base}/d/g \
         && cd {base}/d && perl -e 'open(F, \"+<\", \"g\") or die' && mkdir sub && rmdir sub \
         && {creat} rm g && cd / && rmdir {base}/d && echo z > /dev/null"
    );
    let value = read_json(&record(dir.path(), &["sh", "-c", &script]));
    let writes: BTreeSet<(String, String)> = value["workload"]["fileWrites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["operation"].as_str().unwrap().to_string(),
                w["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (operation, path) in [
        ("mkdir", format!("{base}/d")),
        ("create", format!("{base}/d/f")),
        ("rename-from", format!("{base}/d/f")),
        ("rename-to", format!("{base}/d/g")),
        ("truncate", format!("{base}/d/g")),
        ("open-write", format!("{base}/d/g")),
        ("mkdir", format!("{base}/d/sub")),
        ("rmdir", format!("{base}/d/sub")),
        ("unlink", format!("{base}/d/g")),
        ("rmdir", format!("{base}/d")),
    ] {
        assert!(
            writes.contains(&(operation.to_string(), path.clone())),
            "{operation} {path} missing from {writes:?}"
        );
    }
    if cfg!(target_arch = "x86_64") {
        let h = format!("{base}/d/h");
        let counts: Vec<(&str, u64)> = value["workload"]["fileWrites"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["path"] == h.as_str())
            .map(|w| {
                (
                    w["operation"].as_str().unwrap(),
                    w["count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            counts,
            [("create", 1), ("open-write", 1), ("unlink", 1)],
            "{counts:?}"
        );
    }
    let dev_null = value["workload"]["fileWrites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["path"] == "/dev/null")
        .unwrap();
    assert_eq!(dev_null["rootFilesystem"], false, "{dev_null}");
    assert_eq!(dev_null["operation"], "open-write", "{dev_null}");
    assert!(!writes.contains(&("create".to_string(), "/dev/null".to_string())));
    // The rmdir that failed is a failure, with its errno, and only that:
    // the directory was removed once, at the end.
    let failures: Vec<(&str, &str, &str, u64)> = value["workload"]["fileWriteFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["operation"].as_str().unwrap(),
                f["path"].as_str().unwrap(),
                f["error"].as_str().unwrap(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let d = format!("{base}/d");
    assert!(
        failures.contains(&("rmdir", d.as_str(), "ENOTEMPTY", 1)),
        "{failures:?}"
    );
    let rmdir_d = value["workload"]["fileWrites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["operation"] == "rmdir" && w["path"] == d.as_str())
        .unwrap();
    assert_eq!(rmdir_d["count"], 1, "{rmdir_d}");
}

#[test]
fn identities_and_file_capabilities_are_recorded() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A copy of `true` with a file capability, run as nobody; and a process
    // that drops to uid 4242 without executing anything.
    let program = dir.path().join("capable-true");
    fs::copy("/bin/true", &program).unwrap();
    let status = Command::new("setcap")
        .arg("cap_net_raw+ep")
        .arg(&program)
        .status()
        .expect("setcap (scripts/test.sh installs libcap2-bin)");
    assert!(status.success());
    let script = format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups {}; perl -e '$( = $) = 4343; $< = $> = 4242; exit 0'",
        program.display()
    );
    let value = read_json(&record(dir.path(), &["sh", "-c", &script]));
    let exec = value["execs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["argv0"].as_str().unwrap().ends_with("capable-true"))
        .expect("the exec of capable-true");
    assert_eq!(exec["uid"], 65534);
    assert_eq!(exec["fileCapabilities"], true, "{exec}");
    assert_eq!(exec["capabilities"], serde_json::json!(["CAP_NET_RAW"]));
    let identities: Vec<(u64, u64)> = value["workload"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["euid"].as_u64().unwrap(), i["egid"].as_u64().unwrap()))
        .collect();
    assert!(identities.contains(&(4242, 4343)), "{identities:?}");
    assert!(identities.contains(&(0, 0)), "{identities:?}");
}

#[test]
fn recordings_of_two_runs_merge_without_loss() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.json");
    let second = dir.path().join("second.json");
    for (out, command) in [(&first, "/bin/true"), (&second, "/bin/sync")] {
        let status = Command::new(corral())
            .args(["record", "-q", "-o"])
            .arg(out)
            .args(["--", command])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let merged = dir.path().join("merged.json");
    let status = Command::new(corral())
        .args(["record", "merge", "-q", "-o"])
        .arg(&merged)
        .arg(&first)
        .arg(&second)
        .status()
        .unwrap();
    assert!(status.success());
    let value: Value = serde_json::from_slice(&fs::read(&merged).unwrap()).unwrap();
    assert_eq!(value["runs"].as_array().unwrap().len(), 2);
    let (a, b, all) = (
        recorded_names(&first),
        recorded_names(&second),
        recorded_names(&merged),
    );
    assert_eq!(all, a.union(&b).cloned().collect::<BTreeSet<_>>());
    let runs_of = |phase: &str, name: &str| {
        value[phase]["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["runs"]
            .as_u64()
    };
    assert_eq!(runs_of("runtime", "execve"), Some(2));
    assert_eq!(runs_of("workload", "sync"), Some(1));
    // Not a recording: a clear error, exit 2.
    let output = Command::new(corral())
        .args(["record", "merge"])
        .arg(&first)
        .arg(dir.path().join("missing.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.json: cannot read"));
}

#[test]
fn without_privileges_the_error_names_what_is_missing() {
    if !is_root() {
        eprintln!("skipped: needs root to drop to an unprivileged user");
        return;
    }
    let output = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(corral())
        .args(["record", "--", "true"])
        .output()
        .expect("setpriv (util-linux)");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("CAP_BPF") && stderr.contains("CAP_PERFMON"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn compat_syscalls_are_recorded_apart() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    if std::env::consts::ARCH != "x86_64" {
        eprintln!("skipped: int 0x80 is x86's");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let program = build_program(dir.path(), "compat");
    let value = read_json(&record(dir.path(), &[program.to_str().unwrap()]));
    let compat: Vec<(u64, &str)> = value["workload"]["compatSyscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["number"].as_u64().unwrap(), s["name"].as_str().unwrap()))
        .collect();
    assert_eq!(compat, [(20, "getpid"), (64, "getppid")]);
    // Native getpid (39) and getppid (110) were not made.
    let native: Vec<u64> = value["workload"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["number"].as_u64().unwrap())
        .collect();
    assert!(
        !native.contains(&39) && !native.contains(&110),
        "{native:?}"
    );
}

#[test]
fn an_interrupted_recording_still_writes_what_it_saw() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("recording.json");
    for signal in [SIGINT, SIGTERM] {
        let mut child = Command::new(corral())
            .args(["record", "-q", "-o"])
            .arg(&recording)
            .args(["--", "sh", "-c", "echo started; exec sleep 30"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = [0u8; 8];
        std::io::Read::read_exact(child.stdout.as_mut().unwrap(), &mut line).unwrap();
        // Give sleep the time to start sleeping.
        std::thread::sleep(std::time::Duration::from_millis(500));
        // SAFETY: signals our own child.
        unsafe { kill(child.id() as i32, signal) };
        let started = std::time::Instant::now();
        let status = child.wait().unwrap();
        assert!(started.elapsed().as_secs() < 10, "the command was stopped");
        assert!(status.success(), "signal {signal}: {status}");
        let value = read_json(&recording);
        assert_eq!(value["runs"][0]["exitStatus"], 128 + signal, "{signal}");
        let names = recorded_names(&recording);
        assert!(names.contains("clock_nanosleep") || names.contains("nanosleep"));
    }
}

extern "C" {
    fn kill(pid: i32, signal: i32) -> i32;
}

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;
