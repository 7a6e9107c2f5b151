//! `corral record -- CMD`: run a command in a mount namespace of its own and
//! record it and its children from before it executes.

use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::binaries::{read_binaries, Cache, Root};
use crate::bpf::{mount_namespace, mounts_of, Capacity, RecordError, Recorder, Settings};
use corral_record::{Recording, Run};

use crate::observed::dropped;

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new descriptors into `fds`, owned from here on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and belong to no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) fn uname() -> (String, String) {
    // SAFETY: utsname is plain data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid utsname to write into.
    if unsafe { libc::uname(&mut u) } != 0 {
        return (String::new(), String::new());
    }
    let field = |chars: &[libc::c_char]| {
        let bytes: Vec<u8> = chars
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&u.release), field(&u.machine))
}

/// The pid of the command being recorded, for the signal handler.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// The last signal forwarded, for the descendants left once the command
/// itself has exited.
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(signal: libc::c_int) {
    SIGNALLED.store(signal, Ordering::Relaxed);
    let child = CHILD.load(Ordering::Relaxed);
    if child > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(child, signal) };
    }
}

/// Until the command ends, SIGINT, SIGTERM and SIGHUP go to it rather than
/// end the recorder: the command stops, and what it did is still written.
/// No SA_RESTART: a signal interrupts the wait for descendants, so that
/// they get it too.
fn forward_signals_to(child: libc::pid_t) {
    CHILD.store(child, Ordering::Relaxed);
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installs a handler that only stores to atomics and calls kill.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = forward_signal as *const () as usize;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Our children now: the descendants a subreaper has inherited.
fn children() -> Vec<libc::pid_t> {
    let me = std::process::id().to_string();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{me}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Wait for the command and for every descendant it left behind (strace
/// -f waits for them too: a daemonised child's syscalls are the
/// workload's), returning the command's own wait status. A signal that
/// arrives once the command has exited is passed on to the descendants.
fn wait_for_the_tree(child: libc::pid_t) -> io::Result<libc::c_int> {
    let mut status_of_child = None;
    loop {
        let mut status = 0;
        // SAFETY: waits for any of our own children.
        let waited = unsafe { libc::waitpid(-1, &mut status, 0) };
        if waited == child {
            status_of_child = Some(status);
            CHILD.store(0, Ordering::Relaxed);
        }
        if waited >= 0 {
            continue;
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) => {
                let signal = SIGNALLED.swap(0, Ordering::Relaxed);
                if signal != 0 && status_of_child.is_some() {
                    for pid in children() {
                        // SAFETY: signals a descendant we inherited.
                        unsafe { libc::kill(pid, signal) };
                    }
                }
            }
            Some(libc::ECHILD) => {
                return status_of_child.ok_or(error);
            }
            _ => return Err(error),
        }
    }
}

/// Run `argv` in a new mount namespace, recording everything it and its
/// children do from the moment before it executes until it exits.
pub fn record_command(argv: &[String], capacity: Capacity) -> Result<Recording, RecordError> {
    if argv.is_empty() {
        return Err(RecordError::Kernel("no command to record".into()));
    }
    let io_error = |what: &str, e: io::Error| RecordError::Kernel(format!("{what}: {e}"));
    let c_args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| RecordError::Kernel("the command contains a NUL byte".into()))?;
    let mut c_argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    c_argv.push(std::ptr::null());

    let mut recorder = Recorder::load(Settings {
        capacity,
        ..Settings::default()
    })?;
    // The child says when it is in its own namespace, and waits until the
    // namespace is tracked before it executes the command.
    let (ready_read, ready_write) = pipe().map_err(|e| io_error("pipe", e))?;
    let (go_read, go_write) = pipe().map_err(|e| io_error("pipe", e))?;
    let started = now();
    // Orphaned descendants are re-parented to us, so we can wait for them.
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag of ours.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    // SAFETY: the child runs only async-signal-safe calls (unshare, write,
    // read, execvp, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io_error("fork", io::Error::last_os_error()));
    }
    if pid == 0 {
        unsafe {
            let byte = [1u8];
            let mut go = [0u8];
            if libc::unshare(libc::CLONE_NEWNS) == 0
                && libc::write(ready_write.as_raw_fd(), byte.as_ptr().cast(), 1) == 1
                && libc::read(go_read.as_raw_fd(), go.as_mut_ptr().cast(), 1) == 1
            {
                libc::execvp(c_argv[0], c_argv.as_ptr());
            }
            libc::_exit(127);
        }
    }
    forward_signals_to(pid);
    drop(ready_write);
    drop(go_read);
    let mut ready = [0u8];
    let entered = std::fs::File::from(ready_read).read_exact(&mut ready);
    let tracked = entered
        .map_err(|e| io_error("waiting for the command to enter its mount namespace", e))
        .and_then(|_| {
            mount_namespace(&pid.to_string())
                .map_err(|e| io_error("reading the command's mount namespace", e))
        })
        .and_then(|mntns| recorder.track(mntns).map(|_| mntns));
    // Its mounts, to place the paths it passes to syscalls, and its root,
    // to read the programs it executes once it has exited.
    let mounts = mounts_of(&pid.to_string());
    let root = Root::of(&pid.to_string(), true);
    // Without tracking, closing the pipe makes the child exit unexecuted.
    let mut go = std::fs::File::from(go_write);
    if tracked.is_ok() {
        let _ = go.write_all(&[1]);
    }
    drop(go);
    let waited = wait_for_the_tree(pid);
    CHILD.store(0, Ordering::Relaxed);
    let mntns = tracked?;
    let status = waited.map_err(|e| io_error("waiting for the command", e))?;
    let ended = now();
    let exit_status = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    };
    let (kernel, architecture) = uname();
    let snapshot = recorder.snapshot()?;
    let mut observed = snapshot.namespaces.get(&mntns).cloned().unwrap_or_default();
    observed.mounts = mounts;
    let run = Run {
        started,
        ended,
        kernel,
        command: argv.to_vec(),
        exit_status,
        capability_audit: snapshot.capability_audit,
        dropped: dropped(&snapshot.drops),
        workload: None,
    };
    let mut recording = crate::observed::recording(&observed, &architecture, run, None);
    recording.binaries = binaries_of(root, &recording, &architecture);
    Ok(recording)
}

/// The binaries of `recording`'s execs, read from `root`; when the root
/// could not be opened, each exec's binary says why.
pub(crate) fn binaries_of(
    root: std::io::Result<Root>,
    recording: &Recording,
    architecture: &str,
) -> Vec<corral_record::Binary> {
    let mut programs: Vec<String> = recording.execs.iter().map(|e| e.path.clone()).collect();
    programs.sort();
    programs.dedup();
    match root {
        Ok(root) => read_binaries(&root, &programs, architecture, &mut Cache::default()),
        Err(e) => programs
            .into_iter()
            .map(|path| corral_record::Binary {
                error: Some(format!(
                    "{path}: the workload's root filesystem could not be opened: {e}"
                )),
                path,
                ..Default::default()
            })
            .collect(),
    }
}
