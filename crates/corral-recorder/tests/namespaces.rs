//! More recorded namespaces than the syscall program's array slots: the
//! first ones are recorded through the slots, the rest through the hash
//! map, and every one gets its own syscalls. Needs root (CI has it).

use std::io::Write;
use std::process::{Command, Stdio};

use corral_recorder::{mount_namespace, Recorder, Settings};

#[test]
fn every_namespace_is_recorded_beyond_the_slots() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return;
    }
    let mut recorder = Recorder::load(Settings::default()).expect("load the recorder");
    // Each shell waits in a mount namespace of its own until it is tracked,
    // then executes a program only it runs: `sleep 0` or `true`.
    let mut children = Vec::new();
    for i in 0..12 {
        let program = if i % 2 == 0 { "sleep 0" } else { "true" };
        let child = Command::new("unshare")
            .args(["--mount", "sh", "-c", &format!("read go; exec {program}")])
            .stdin(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux)");
        children.push((child, i % 2 == 0));
    }
    let mut namespaces = Vec::new();
    for (child, _) in &children {
        // unshare execs sh in the new namespace; wait until sh blocks in
        // `read` (its exec is then wholly behind it, and the program's
        // exec ahead: the boundary between the two phases).
        let own = mount_namespace("self").unwrap();
        let pid = child.id().to_string();
        let mntns = (0..500)
            .find_map(|_| {
                let ns = mount_namespace(&pid).ok()?;
                let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
                let blocked_in_read = syscall
                    .split_whitespace()
                    .next()
                    .is_some_and(|n| n == libc::SYS_read.to_string());
                if ns != own && blocked_in_read {
                    Some(ns)
                } else {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    None
                }
            })
            .expect("the child's sh waits in a new mount namespace");
        recorder.track(mntns).unwrap();
        namespaces.push(mntns);
    }
    for ((child, _), _) in children.iter_mut().zip(&namespaces) {
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    }
    for ((child, _), _) in children.iter_mut().zip(&namespaces) {
        assert!(child.wait().unwrap().success());
    }
    let nanosleep = [libc::SYS_nanosleep as u32, libc::SYS_clock_nanosleep as u32];
    let snapshot = recorder.snapshot().unwrap();
    for ((_, sleeps), mntns) in children.iter().zip(&namespaces) {
        // sh's syscalls before it executes are the runtime phase; the
        // program's after.
        let [runtime, workload] = &snapshot.namespaces[mntns].syscalls;
        assert!(
            runtime[0].contains(&(libc::SYS_execve as u32)),
            "namespace {mntns}: {runtime:?}"
        );
        let syscalls = &workload[0];
        assert!(
            syscalls.contains(&(libc::SYS_exit_group as u32)),
            "namespace {mntns}: {syscalls:?}"
        );
        assert_eq!(
            syscalls.iter().any(|s| nanosleep.contains(s)),
            *sleeps,
            "only the namespaces that ran sleep slept: {mntns}"
        );
    }
}
