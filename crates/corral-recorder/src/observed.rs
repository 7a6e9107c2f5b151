//! What the kernel observed in one mount namespace, as the recording
//! format (`corral-record`) writes it: syscalls and capabilities named,
//! DNS questions parsed, file paths placed on their mounts, errnos named.

use std::collections::BTreeMap;

use corral_record::{
    capability_name, Activity, Capability, Container, DnsQuery, Endpoint, Exec, FileWrite,
    FileWriteFailure, Identity, Recording, Run, Syscall,
};

use crate::bpf::{FlowKind, Mount, Observed, ObservedFile, DROP_KINDS};

/// The recording of one namespace's observations in one run.
pub fn recording(
    observed: &Observed,
    architecture: &str,
    run: Run,
    container: Option<Container>,
) -> Recording {
    let execs: Vec<Exec> = observed
        .execs
        .iter()
        .map(|e| {
            let capabilities: Vec<String> = (0..64)
                .filter(|n| e.permitted & (1 << n) != 0)
                .map(capability_name)
                .collect();
            Exec {
                path: e.path.clone(),
                argv0: e.argv0.clone(),
                uid: e.uid,
                gid: e.gid,
                euid: e.euid,
                egid: e.egid,
                setuid: e.setuid,
                setgid: e.setgid,
                file_capabilities: e.euid != 0 && e.permitted & !e.ambient != 0,
                capabilities,
                count: e.count,
                runs: 1,
            }
        })
        .collect();
    Recording::of_one_run(
        architecture,
        run,
        container,
        execs,
        activity(observed, 1, architecture),
        activity(observed, 0, architecture),
    )
}

/// Phase `phase` (0 runtime, 1 workload) of what the kernel observed.
fn activity(observed: &Observed, phase: usize, architecture: &str) -> Activity {
    let syscalls = |abi: usize| {
        observed.syscalls[phase][abi]
            .iter()
            .map(|n| Syscall::new(*n, architecture, abi == 1))
            .collect()
    };
    let mut activity = Activity {
        syscalls: syscalls(0),
        compat_syscalls: syscalls(1),
        capabilities: Capability::from_sets(observed.capabilities[phase]),
        ..Activity::default()
    };
    for ((p, uid, gid, euid, egid), count) in &observed.credentials {
        if *p as usize == phase {
            activity.identities.push(Identity {
                uid: *uid,
                gid: *gid,
                euid: *euid,
                egid: *egid,
                count: *count,
                runs: 1,
            });
        }
    }
    for ((p, kind, address, port), count) in &observed.flows {
        if *p as usize != phase {
            continue;
        }
        let endpoint = Endpoint {
            address: *address,
            port: *port,
            count: *count,
            runs: 1,
        };
        match kind {
            FlowKind::Connect => activity.connects.push(endpoint),
            FlowKind::Listen => activity.listeners.push(endpoint),
            FlowKind::Accept => activity.accepts.push(endpoint),
            FlowKind::Udp => activity.udp.push(endpoint),
        }
    }
    // DNS queries carry no phase: the runtime resolves no names.
    if phase == 1 {
        for (question, count) in &observed.dns_questions {
            if let Some((name, query_type)) = parse_question(question) {
                activity.dns_queries.push(DnsQuery {
                    name,
                    query_type,
                    answers: Vec::new(),
                    count: *count,
                    runs: 1,
                });
            }
        }
        for (question, address) in observed.dns_answers.keys() {
            if let Some((name, query_type)) = parse_question(question) {
                activity.dns_queries.push(DnsQuery {
                    name,
                    query_type,
                    answers: vec![*address],
                    count: 0,
                    runs: 1,
                });
            }
        }
    }
    for (file, count) in &observed.file_writes {
        if file.phase as usize == phase {
            let (path, operation, filesystem, root_filesystem) = placed(file, observed);
            activity.file_writes.push(FileWrite {
                path,
                operation,
                filesystem,
                root_filesystem,
                truncated: file.truncated,
                count: *count,
                runs: 1,
            });
        }
    }
    for (file, count) in &observed.file_write_failures {
        if file.phase as usize == phase {
            let (path, operation, filesystem, root_filesystem) = placed(file, observed);
            activity.file_write_failures.push(FileWriteFailure {
                path,
                operation,
                error: errno_name(file.error),
                filesystem,
                root_filesystem,
                truncated: file.truncated,
                count: *count,
                runs: 1,
            });
        }
    }
    activity
}

/// DNS query types by number (RFC 1035 and later), the common ones.
fn query_type(number: u16) -> String {
    match number {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        64 => "SVCB".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        other => other.to_string(),
    }
}

/// The name and type of a DNS question section (labels, type, class).
fn parse_question(question: &[u8]) -> Option<(String, String)> {
    let mut labels = Vec::new();
    let mut at = 0;
    loop {
        let length = usize::from(*question.get(at)?);
        if length == 0 {
            break;
        }
        if length > 63 {
            return None;
        }
        let label = question.get(at + 1..at + 1 + length)?;
        labels.push(String::from_utf8_lossy(label).into_owned());
        at += 1 + length;
    }
    let kind = u16::from_be_bytes([*question.get(at + 1)?, *question.get(at + 2)?]);
    Some((labels.join("."), query_type(kind)))
}

/// `path` with `.` and `..` components and repeated slashes removed
/// (`..` at the root stays at the root, as the kernel does).
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let mut out = String::new();
    for part in parts {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The mount `path` is on: the last mounted of those with the longest
/// mount point that contains it.
fn mount_of<'a>(path: &str, mounts: &'a [Mount]) -> Option<&'a Mount> {
    mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            m.point == "/"
                || path == m.point
                || path
                    .strip_prefix(m.point.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|(order, m)| (m.point.len(), *order))
        .map(|(_, m)| m)
}

/// Filesystem names by superblock magic (`include/uapi/linux/magic.h`).
fn filesystem_name(magic: u32) -> String {
    match magic {
        0x794c_7630 => "overlay".into(),
        0x0102_1994 => "tmpfs".into(),
        0xef53 => "ext4".into(),
        0x5846_5342 => "xfs".into(),
        0x9123_683e => "btrfs".into(),
        0x9fa0 => "proc".into(),
        0x6265_6572 => "sysfs".into(),
        0x1cd1 => "devpts".into(),
        0x2746_5342 => "nsfs".into(),
        0x6367_7270 => "cgroup2".into(),
        0x0027_e0eb => "cgroup".into(),
        0x6969 => "nfs".into(),
        0x4244 => "hfs".into(),
        0x6462_6720 => "debugfs".into(),
        0x7472_6163 => "tracefs".into(),
        0x6165_676c => "pstorefs".into(),
        0x5345_4d50 => "securityfs".into(),
        0x4249_4e4d => "binfmt_misc".into(),
        0x6e73_6673 => "nsfs".into(),
        0x5069_7065 => "pipefs".into(),
        0x5346_4f43 => "sockfs".into(),
        0x6a65_6a65 => "fuse".into(),
        0x6573_5546 => "fuse".into(),
        0x01021997 => "v9fs".into(),
        0x1373 => "devtmpfs".into(),
        other => format!("{other:#x}"),
    }
}

/// Errno names by number (`include/uapi/asm-generic/errno-base.h` and
/// `errno.h`, which x86_64 and aarch64 share); "" where no errno has the
/// number.
const ERRNO_NAMES: [&str; 134] = [
    "",
    "EPERM",
    "ENOENT",
    "ESRCH",
    "EINTR",
    "EIO",
    "ENXIO",
    "E2BIG",
    "ENOEXEC",
    "EBADF",
    "ECHILD",
    "EAGAIN",
    "ENOMEM",
    "EACCES",
    "EFAULT",
    "ENOTBLK",
    "EBUSY",
    "EEXIST",
    "EXDEV",
    "ENODEV",
    "ENOTDIR",
    "EISDIR",
    "EINVAL",
    "ENFILE",
    "EMFILE",
    "ENOTTY",
    "ETXTBSY",
    "EFBIG",
    "ENOSPC",
    "ESPIPE",
    "EROFS",
    "EMLINK",
    "EPIPE",
    "EDOM",
    "ERANGE",
    "EDEADLK",
    "ENAMETOOLONG",
    "ENOLCK",
    "ENOSYS",
    "ENOTEMPTY",
    "ELOOP",
    "",
    "ENOMSG",
    "EIDRM",
    "ECHRNG",
    "EL2NSYNC",
    "EL3HLT",
    "EL3RST",
    "ELNRNG",
    "EUNATCH",
    "ENOCSI",
    "EL2HLT",
    "EBADE",
    "EBADR",
    "EXFULL",
    "ENOANO",
    "EBADRQC",
    "EBADSLT",
    "",
    "EBFONT",
    "ENOSTR",
    "ENODATA",
    "ETIME",
    "ENOSR",
    "ENONET",
    "ENOPKG",
    "EREMOTE",
    "ENOLINK",
    "EADV",
    "ESRMNT",
    "ECOMM",
    "EPROTO",
    "EMULTIHOP",
    "EDOTDOT",
    "EBADMSG",
    "EOVERFLOW",
    "ENOTUNIQ",
    "EBADFD",
    "EREMCHG",
    "ELIBACC",
    "ELIBBAD",
    "ELIBSCN",
    "ELIBMAX",
    "ELIBEXEC",
    "EILSEQ",
    "ERESTART",
    "ESTRPIPE",
    "EUSERS",
    "ENOTSOCK",
    "EDESTADDRREQ",
    "EMSGSIZE",
    "EPROTOTYPE",
    "ENOPROTOOPT",
    "EPROTONOSUPPORT",
    "ESOCKTNOSUPPORT",
    "EOPNOTSUPP",
    "EPFNOSUPPORT",
    "EAFNOSUPPORT",
    "EADDRINUSE",
    "EADDRNOTAVAIL",
    "ENETDOWN",
    "ENETUNREACH",
    "ENETRESET",
    "ECONNABORTED",
    "ECONNRESET",
    "ENOBUFS",
    "EISCONN",
    "ENOTCONN",
    "ESHUTDOWN",
    "ETOOMANYREFS",
    "ETIMEDOUT",
    "ECONNREFUSED",
    "EHOSTDOWN",
    "EHOSTUNREACH",
    "EALREADY",
    "EINPROGRESS",
    "ESTALE",
    "EUCLEAN",
    "ENOTNAM",
    "ENAVAIL",
    "EISNAM",
    "EREMOTEIO",
    "EDQUOT",
    "ENOMEDIUM",
    "EMEDIUMTYPE",
    "ECANCELED",
    "ENOKEY",
    "EKEYEXPIRED",
    "EKEYREVOKED",
    "EKEYREJECTED",
    "EOWNERDEAD",
    "ENOTRECOVERABLE",
    "ERFKILL",
    "EHWPOISON",
];

/// The name of errno `number`: `EEXIST`, or `errno N` for one unnamed.
pub(crate) fn errno_name(number: u32) -> String {
    match ERRNO_NAMES.get(number as usize) {
        Some(name) if !name.is_empty() => (*name).to_string(),
        _ => format!("errno {number}"),
    }
}

const FILE_OPERATIONS: [&str; 8] = [
    "open-write",
    "create",
    "mkdir",
    "unlink",
    "rmdir",
    "rename-from",
    "rename-to",
    "truncate",
];

/// A file the kernel observed: its path, operation, and the filesystem and
/// whether it is the root's, where known.
fn placed(
    file: &ObservedFile,
    observed: &Observed,
) -> (String, String, Option<String>, Option<bool>) {
    let resolved = file.names.iter().rev().fold(String::new(), |mut p, n| {
        p.push('/');
        p.push_str(n);
        p
    });
    let prefix = if file.truncated { "/..." } else { "" };
    let (path, filesystem, root_filesystem) = match &file.as_passed {
        None => (
            format!("{prefix}{resolved}"),
            Some(filesystem_name(file.fs_magic)),
            Some(file.root_filesystem),
        ),
        Some(passed) => {
            let path = if passed.starts_with('/') {
                normalize(passed)
            } else {
                format!("{prefix}{}", normalize(&format!("{resolved}/{passed}")))
            };
            let mount = (!file.truncated)
                .then(|| mount_of(&path, &observed.mounts))
                .flatten();
            (
                path,
                mount.map(|m| m.filesystem.clone()),
                mount.map(|m| m.point == "/"),
            )
        }
    };
    let operation = FILE_OPERATIONS
        .get(usize::from(file.operation).wrapping_sub(1))
        .map_or_else(|| file.operation.to_string(), |s| s.to_string());
    (
        if path.is_empty() { "/".into() } else { path },
        operation,
        filesystem,
        root_filesystem,
    )
}

/// The names of the drop kinds with a non-zero count.
pub fn dropped(drops: &[u64; 9]) -> BTreeMap<String, u64> {
    DROP_KINDS
        .iter()
        .zip(drops)
        .filter(|(_, n)| **n > 0)
        .map(|(kind, n)| (kind.to_string(), *n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn observed(syscalls: &[u32], granted: u64) -> Observed {
        let mut observed = Observed::default();
        observed.syscalls[1][0] = syscalls.to_vec();
        observed.capabilities[1] = [granted, 1 << 21, 0, 0];
        observed
            .flows
            .insert((1, FlowKind::Connect, IpAddr::from([10, 0, 0, 1]), 5432), 1);
        observed.file_writes.insert(
            ObservedFile {
                phase: 1,
                operation: 1,
                names: vec!["app.log".into(), "log".into(), "var".into()],
                truncated: false,
                root_filesystem: true,
                fs_magic: 0x794c_7630,
                as_passed: None,
                error: 0,
            },
            2,
        );
        // `mkdir -p /usr/bin` over the image's /usr/bin.
        observed.file_write_failures.insert(
            ObservedFile {
                phase: 1,
                operation: 3,
                names: Vec::new(),
                truncated: false,
                root_filesystem: false,
                fs_magic: 0,
                as_passed: Some("/usr/bin".into()),
                error: 17,
            },
            3,
        );
        observed.mounts = vec![Mount {
            point: "/".into(),
            filesystem: "overlay".into(),
        }];
        observed
    }

    fn recording(started: u64, syscalls: &[u32], granted: u64) -> Recording {
        let run = Run {
            started,
            ended: started + 1,
            kernel: "6.18".into(),
            command: vec!["app".into()],
            exit_status: Some(0),
            capability_audit: true,
            dropped: BTreeMap::new(),
            workload: None,
        };
        super::recording(&observed(syscalls, granted), "x86_64", run, None)
    }

    #[test]
    fn observations_become_named_sorted_entries() {
        let r = recording(1, &[60, 0, 1], 1);
        let names: Vec<&str> = r
            .workload
            .syscalls
            .iter()
            .map(|s| s.name.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["read", "write", "exit"]);
        assert_eq!(r.workload.file_writes[0].path, "/var/log/app.log");
        assert_eq!(
            r.workload.file_writes[0].filesystem.as_deref(),
            Some("overlay")
        );
        // A failed call is kept apart, with its errno, and never a write.
        assert_eq!(r.workload.file_writes.len(), 1);
        assert_eq!(
            r.workload.file_write_failures,
            [FileWriteFailure {
                path: "/usr/bin".into(),
                operation: "mkdir".into(),
                error: "EEXIST".into(),
                filesystem: Some("overlay".into()),
                root_filesystem: Some(true),
                truncated: false,
                count: 3,
                runs: 1,
            }]
        );
        let sys_admin = &r.workload.capabilities[1];
        assert_eq!(sys_admin.name.as_deref(), Some("CAP_SYS_ADMIN"));
        assert!(sys_admin.granted_unaudited && !sys_admin.granted);
        assert!(r.runtime.syscalls.is_empty());
        assert_eq!(
            Syscall::new(11, "x86_64", true).name.as_deref(),
            Some("execve")
        );
        assert_eq!(
            Syscall::new(221, "aarch64", false).name.as_deref(),
            Some("execve")
        );
    }

    #[test]
    fn errnos_are_named_as_the_kernel_numbers_them() {
        for (number, name) in [
            (libc::EPERM, "EPERM"),
            (libc::ENOENT, "ENOENT"),
            (libc::EACCES, "EACCES"),
            (libc::EEXIST, "EEXIST"),
            (libc::ENOTDIR, "ENOTDIR"),
            (libc::EISDIR, "EISDIR"),
            (libc::ENOSPC, "ENOSPC"),
            (libc::EROFS, "EROFS"),
            (libc::ENOTEMPTY, "ENOTEMPTY"),
            (libc::ELOOP, "ELOOP"),
            (libc::ENOMSG, "ENOMSG"),
            (libc::EBFONT, "EBFONT"),
            (libc::EDQUOT, "EDQUOT"),
            (libc::EHWPOISON, "EHWPOISON"),
        ] {
            assert_eq!(errno_name(number as u32), name);
        }
        assert_eq!(errno_name(0), "errno 0");
        assert_eq!(errno_name(41), "errno 41");
        assert_eq!(errno_name(512), "errno 512");
        assert_eq!(errno_name(u32::MAX), "errno 4294967295");
    }

    #[test]
    fn dns_questions_are_parsed() {
        let mut question = b"\x03www\x07example\x03com\x00\x00\x1c\x00\x01".to_vec();
        question.resize(128, 0);
        assert_eq!(
            parse_question(&question),
            Some(("www.example.com".into(), "AAAA".into()))
        );
        assert_eq!(parse_question(b"\x05ab"), None);
    }
}
