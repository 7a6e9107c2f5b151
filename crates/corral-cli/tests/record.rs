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

/// Compile `tests/programs/syscalls.c` into `dir`.
fn build_program(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/syscalls.c");
    let binary = dir.join("syscalls");
    let status = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("a C compiler (cc)");
    assert!(status.success());
    binary
}

fn recorded_names(recording: &Path) -> BTreeSet<String> {
    let value: Value = serde_json::from_slice(&fs::read(recording).unwrap()).unwrap();
    assert_eq!(value["formatVersion"], 1);
    value["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().expect("a known syscall").to_string())
        .collect()
}

fn strace_names(program: &Path, dir: &Path) -> BTreeSet<String> {
    let log = dir.join("strace.txt");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&log)
        .arg(program)
        .stdout(Stdio::null())
        .status()
        .expect("strace (scripts/test.sh installs it)");
    assert!(status.success());
    fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|line| {
            // "1234 name(args...) = ..." or "1234 <... name resumed>"
            let rest = line.split_once(' ').map_or(line, |(_, r)| r).trim_start();
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (rest[name.len()..].starts_with('(') && !name.is_empty()).then_some(name)
        })
        .collect()
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
    let program = build_program(dir.path());
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
    let traced = strace_names(&program, dir.path());
    let unseen: Vec<&String> = traced.difference(&recorded).collect();
    assert!(
        unseen.is_empty(),
        "strace saw {unseen:?} that the recording lacks"
    );
}

/// (name, granted, denied) of every capability in a recording.
fn recorded_capabilities(recording: &Path) -> Vec<(String, bool, bool)> {
    let value: Value = serde_json::from_slice(&fs::read(recording).unwrap()).unwrap();
    value["capabilities"]
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
    let recording = dir.join("capabilities.json");
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
    let value: Value = serde_json::from_slice(&fs::read(recording).unwrap()).unwrap();
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
fn tcp_connects_and_listeners_are_recorded_for_ipv4_and_ipv6() {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
        $l4 = IO::Socket::IP->new(LocalHost => "127.0.0.1", LocalPort => 18180, Listen => 5) or die "listen4: $@";
        $c4 = IO::Socket::IP->new(PeerHost => "127.0.0.1", PeerPort => 18180) or die "connect4: $@";
        $l6 = IO::Socket::IP->new(LocalHost => "::1", LocalPort => 18181, Listen => 5) or die "listen6: $@";
        $c6 = IO::Socket::IP->new(PeerHost => "::1", PeerPort => 18181) or die "connect6: $@";
    "#;
    let recording = record(
        dir.path(),
        &["/usr/bin/perl", "-MIO::Socket::IP", "-e", script],
    );
    let value: Value = serde_json::from_slice(&fs::read(recording).unwrap()).unwrap();
    let endpoints = |field: &str| -> Vec<(String, u64)> {
        value[field]
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
    assert_eq!(
        endpoints("connects"),
        [("127.0.0.1".into(), 18180), ("::1".into(), 18181)]
    );
    assert_eq!(
        endpoints("listeners"),
        [("127.0.0.1".into(), 18180), ("::1".into(), 18181)]
    );
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
    let runs_of = |name: &str| {
        value["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["runs"]
            .as_u64()
    };
    assert_eq!(runs_of("execve"), Some(2));
    assert_eq!(runs_of("sync"), Some(1));
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
