//! Static reachability on the real recorder: `corral record` lists the
//! programs a command executed and their shared libraries, analysed; and
//! corral-reach's libc tables hold every syscall the recorder sees a small
//! program make through the libc function it calls (glibc with `cc`, musl
//! with `musl-gcc`), as `runtime-base.json` is checked against runc. Needs
//! root, kernel BTF, a C compiler and musl-tools (`scripts/test.sh`
//! installs them); CI has them all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use corral_reach::LibcTable;
use serde_json::Value;

fn corral() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_corral"))
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc_geteuid() == 0 }
}

fn can_record() -> bool {
    if !is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return false;
    }
    true
}

/// Compile C `source` with `compiler` into `dir/name`.
fn compile(compiler: &str, dir: &Path, name: &str, source: &str) -> PathBuf {
    let file = dir.join(format!("{name}.c"));
    std::fs::write(&file, source).unwrap();
    let binary = dir.join(name);
    let status = Command::new(compiler)
        .args(["-O1", "-o"])
        .arg(&binary)
        .arg(&file)
        .status()
        .unwrap_or_else(|e| panic!("{compiler}: {e} (scripts/test.sh installs it)"));
    assert!(status.success(), "{compiler} {name}.c");
    binary
}

fn record(dir: &Path, command: &[&str]) -> Value {
    let recording = dir.join("recording.json");
    let output = Command::new(corral())
        .args(["record", "--quiet", "-o"])
        .arg(&recording)
        .arg("--")
        .args(command)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&std::fs::read(&recording).unwrap()).unwrap()
}

fn binary<'a>(recording: &'a Value, path: &str) -> &'a Value {
    recording["binaries"]
        .as_array()
        .expect("binaries")
        .iter()
        .find(|b| b["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not in {:#}", recording["binaries"]))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

const USES_GETPID: &str = r#"
#include <unistd.h>
#include <stdio.h>
int main(void) { printf("%d\n", (int)getpid()); return 0; }
"#;

#[test]
fn a_dynamic_programs_binaries_are_recorded_with_its_imports_and_libc() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let program = compile("cc", dir.path(), "getpid", USES_GETPID);
    let program = program.to_str().unwrap();
    let recording = record(dir.path(), &[program]);
    let own = binary(&recording, program);
    let imports = strings(&own["imports"]);
    assert!(imports.iter().any(|i| i == "getpid"), "{imports:?}");
    assert!(imports.iter().any(|i| i == "printf"), "{imports:?}");
    assert_eq!(own["sha256"].as_str().unwrap().len(), 64);
    assert!(own.get("error").is_none(), "{own:#}");
    let libraries = strings(&own["libraries"]);
    let libc = libraries
        .iter()
        .find(|l| l.ends_with("/libc.so.6"))
        .unwrap_or_else(|| panic!("no libc.so.6 in {libraries:?}"));
    let libc = binary(&recording, libc);
    assert_eq!(libc["libc"], "glibc");
    assert!(!libc["syscalls"].as_array().unwrap().is_empty());
    // Every library named is itself in binaries, analysed.
    for library in &libraries {
        let entry = binary(&recording, library);
        assert!(entry.get("error").is_none(), "{entry:#}");
    }
    // The recording reads back (checked) and merges with itself into one
    // entry per file.
    let file = dir.path().join("recording.json");
    let merged = dir.path().join("merged.json");
    let status = Command::new(corral())
        .args(["record", "merge", "-q", "-o"])
        .arg(&merged)
        .arg(&file)
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let merged: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_eq!(merged["binaries"], recording["binaries"]);
}

#[test]
fn a_musl_programs_loader_is_its_libc() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let program = compile("musl-gcc", dir.path(), "getpid", USES_GETPID);
    let program = program.to_str().unwrap();
    let recording = record(dir.path(), &[program]);
    let own = binary(&recording, program);
    assert!(strings(&own["imports"]).iter().any(|i| i == "getpid"));
    let libraries = strings(&own["libraries"]);
    assert_eq!(libraries, ["/lib/ld-musl-x86_64.so.1"], "{own:#}");
    assert_eq!(binary(&recording, &libraries[0])["libc"], "musl");
}

#[test]
fn a_scripts_interpreter_is_read_with_it() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The kernel executes a script's interpreter in the same exec the
    // recorder sees.
    let script = dir.path().join("script");
    std::fs::write(&script, "#!/bin/sh\ntrue\n").unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .unwrap();
    let recording = record(dir.path(), &[script.to_str().unwrap()]);
    let entry = binary(&recording, script.to_str().unwrap());
    assert_eq!(strings(&entry["libraries"]), ["/bin/sh"], "{entry:#}");
    assert!(entry.get("error").is_none(), "{entry:#}");
    let shell = binary(&recording, "/bin/sh");
    assert!(shell.get("error").is_none(), "{shell:#}");
    assert!(strings(&shell["imports"]).iter().any(|i| i == "execve"));
}

#[test]
fn a_program_gone_before_it_could_be_read_says_why() {
    if !can_record() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("gone");
    let script = format!("cp /bin/true {0} && {0} && rm {0}", copy.display());
    let recording = record(dir.path(), &["/bin/sh", "-c", &script]);
    let entry = binary(&recording, copy.to_str().unwrap());
    let error = entry["error"].as_str().expect("an error");
    assert!(error.contains("No such file"), "{error}");
    assert_eq!(entry["sha256"], "");
    assert!(entry.get("imports").is_none(), "{entry:#}");
}

/// The workload syscalls of a recording.
fn workload_syscalls(recording: &Value) -> BTreeSet<String> {
    recording["workload"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// (name, libc functions it calls, body of main).
const PROGRAMS: &[(&str, &[&str], &str)] = &[
    (
        "fork",
        &["fork", "_exit", "waitpid"],
        "pid_t p = fork(); if (p == 0) _exit(0); waitpid(p, 0, 0);",
    ),
    (
        "pwritev",
        &["open", "pwritev"],
        r#"struct iovec v = { "x", 1 }; int fd = open("/dev/null", O_WRONLY); pwritev(fd, &v, 1, 0);"#,
    ),
    (
        "send",
        &["socketpair", "send", "sendto"],
        r#"int s[2]; socketpair(AF_UNIX, SOCK_STREAM, 0, s); send(s[0], "x", 1, 0); sendto(s[0], "x", 1, 0, 0, 0);"#,
    ),
    (
        "nanosleep",
        &["nanosleep"],
        "struct timespec t = { 0, 1000 }; nanosleep(&t, 0);",
    ),
    ("poll", &["poll"], "poll(0, 0, 1);"),
    (
        "getrandom",
        &["getrandom"],
        "char b[16]; getrandom(b, sizeof b, 0);",
    ),
    (
        "clock_gettime",
        &["clock_gettime"],
        "struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);",
    ),
    (
        "pthread",
        &["pthread_create", "pthread_join"],
        "pthread_t t; pthread_create(&t, 0, run, 0); pthread_join(t, 0);",
    ),
];

const HEADER: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static void *run(void *arg) { return arg; }
"#;

fn check_table(compiler: &str, libc: &str) {
    let table = LibcTable::find(libc, "x86_64").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let nothing = compile(
        compiler,
        dir.path(),
        "nothing",
        &format!("{HEADER}\nint main(void) {{ (void)run; return 0; }}\n"),
    );
    let baseline = workload_syscalls(&record(dir.path(), &[nothing.to_str().unwrap()]));
    let mut failures = Vec::new();
    for (name, functions, body) in PROGRAMS {
        let program = compile(
            compiler,
            dir.path(),
            name,
            &format!("{HEADER}\nint main(void) {{ (void)run; {body} return 0; }}\n"),
        );
        let seen = workload_syscalls(&record(dir.path(), &[program.to_str().unwrap()]));
        let mut reachable: BTreeSet<String> = BTreeSet::new();
        for function in *functions {
            let reached = table
                .syscalls(function)
                .unwrap_or_else(|| panic!("{libc} does not export {function}"));
            reachable.extend(reached.iter().cloned());
        }
        let missing: Vec<&String> = seen
            .difference(&baseline)
            .filter(|s| !reachable.contains(*s))
            .collect();
        if !missing.is_empty() {
            failures.push(format!(
                "{libc} {name} ({functions:?}) made {missing:?}, not in the table"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_glibc_table_holds_what_programs_make_through_it() {
    if !can_record() {
        return;
    }
    let bytes = std::fs::read("/usr/lib/x86_64-linux-gnu/libc.so.6").unwrap();
    let table = LibcTable::find("glibc", "x86_64").unwrap();
    if corral_reach::sha256_hex(&bytes) != table.source_sha256 {
        eprintln!(
            "skipped: this machine's glibc is not the one the table was made from ({})",
            table.version
        );
        return;
    }
    check_table("cc", "glibc");
}

#[test]
fn the_musl_table_holds_what_programs_make_through_it() {
    if !can_record() {
        return;
    }
    let table = LibcTable::find("musl", "x86_64").unwrap();
    match std::fs::read("/usr/lib/x86_64-linux-musl/libc.so") {
        Ok(bytes) if corral_reach::sha256_hex(&bytes) == table.source_sha256 => {}
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI installs Debian's musl (scripts/test.sh)"
            );
            eprintln!("skipped: this machine's musl is not the one the table was made from");
            return;
        }
    }
    check_table("musl-gcc", "musl");
}
