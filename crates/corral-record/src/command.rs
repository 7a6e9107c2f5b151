//! `corral record -- CMD`: run a command in a mount namespace of its own and
//! record it and its children from before it executes.

use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::bpf::{mount_namespace, RecordError, Recorder};
use crate::recording::{Capability, Recording, Run, Syscall, FORMAT_VERSION};

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new descriptors into `fds`, owned from here on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and belong to no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn uname() -> (String, String) {
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

/// Run `argv` in a new mount namespace, recording every syscall it and its
/// children make and every capability they check, from the moment before it
/// executes until it exits.
pub fn record_command(argv: &[String]) -> Result<Recording, RecordError> {
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

    let mut recorder = Recorder::load()?;
    // The child says when it is in its own namespace, and waits until the
    // namespace is tracked before it executes the command.
    let (ready_read, ready_write) = pipe().map_err(|e| io_error("pipe", e))?;
    let (go_read, go_write) = pipe().map_err(|e| io_error("pipe", e))?;
    let started = now();
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
    // Without tracking, closing the pipe makes the child exit unexecuted.
    let mut go = std::fs::File::from(go_write);
    if tracked.is_ok() {
        let _ = go.write_all(&[1]);
    }
    drop(go);
    let mut status = 0;
    // SAFETY: waits for our own child.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    let mntns = tracked?;
    if waited != pid {
        return Err(io_error(
            "waiting for the command",
            io::Error::last_os_error(),
        ));
    }
    let ended = now();
    let exit_status = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    };
    let (kernel, architecture) = uname();
    let syscalls = recorder
        .syscalls(mntns)?
        .into_iter()
        .map(|n| Syscall::new(n, &architecture))
        .collect();
    let (granted, denied) = recorder.capabilities(mntns)?;
    let execs = recorder.execs(mntns)?;
    let (connects, listeners) = recorder.flows(mntns)?;
    Ok(Recording {
        format_version: FORMAT_VERSION,
        architecture,
        runs: vec![Run {
            started,
            ended,
            kernel,
            command: argv.to_vec(),
            exit_status,
        }],
        syscalls,
        capabilities: Capability::from_sets(granted, denied),
        execs,
        connects,
        listeners,
    })
}
