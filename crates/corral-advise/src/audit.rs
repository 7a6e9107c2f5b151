//! The kernel's seccomp audit records (`type=1326`, `type=SECCOMP`): what a
//! process did that its profile logged, as a burn-in profile
//! (`advise --default-action log`) logs every syscall outside its allowed
//! list. Read from `dmesg` output, `/dev/kmsg` or auditd's `audit.log`.
//!
//! A record names the process (`pid`, `comm`, `exe`), the audit
//! architecture and the syscall number; `code` is the seccomp action
//! (`0x7ffc0000` log, `0x00050000` errno...).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// One seccomp audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SeccompRecord {
    /// The line it was read from, from 1.
    pub line: usize,
    pub pid: u32,
    pub comm: String,
    pub exe: String,
    /// `x86_64`, `aarch64`, and whether the syscall was of the compat ABI.
    pub architecture: String,
    pub compat: bool,
    pub number: u32,
    /// `None` for a number Corral does not name.
    pub name: Option<String>,
    /// The seccomp action taken: `log`, `errno`, `kill`, `trap`, `allow`...
    pub action: String,
}

/// The audit architecture constants (`AUDIT_ARCH_*`): the machine and
/// whether it is the compat ABI of a 64-bit one.
fn architecture(arch: &str) -> Option<(&'static str, bool)> {
    match arch.to_ascii_lowercase().as_str() {
        "c000003e" => Some(("x86_64", false)),
        "40000003" => Some(("x86_64", true)),
        "c00000b7" => Some(("aarch64", false)),
        _ => None,
    }
}

/// The seccomp action in `code` (`SECCOMP_RET_ACTION_FULL`).
fn action(code: u32) -> &'static str {
    match code & 0xffff_0000 {
        0x8000_0000 => "kill-process",
        0x0000_0000 => "kill-thread",
        0x0003_0000 => "trap",
        0x0005_0000 => "errno",
        0x7fc0_0000 => "user-notif",
        0x7ff0_0000 => "trace",
        0x7ffc_0000 => "log",
        0x7fff_0000 => "allow",
        _ => "unknown",
    }
}

/// The value of `key=` in a record: unquoted up to a space, or quoted
/// (auditd also writes names in hex when they hold odd bytes).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    quoted_field(text, key).map(|(value, _)| value)
}

/// The value of `key=`, and whether it was quoted.
fn quoted_field<'a>(text: &'a str, key: &str) -> Option<(&'a str, bool)> {
    let mut rest = text;
    loop {
        let at = rest.find(key)?;
        let before_ok = at == 0 || rest.as_bytes()[at - 1] == b' ';
        let value = &rest[at + key.len()..];
        if before_ok && value.starts_with('=') {
            let value = &value[1..];
            return Some(match value.strip_prefix('"') {
                Some(quoted) => (quoted.split('"').next().unwrap_or_default(), true),
                None => (value.split(' ').next().unwrap_or_default(), false),
            });
        }
        rest = &rest[at + key.len()..];
    }
}

/// A name field: quoted text as it is; unquoted, the kernel's hex encoding
/// of a name with spaces, quotes or odd bytes.
fn name_field(line: &str, key: &str) -> String {
    match quoted_field(line, key) {
        None => String::new(),
        Some((value, true)) => value.to_string(),
        Some((value, false)) => hex_or_text(value),
    }
}

fn hex_or_text(value: &str) -> String {
    let bytes = value.as_bytes();
    if !value.is_empty() && bytes.len().is_multiple_of(2) && bytes.iter().all(u8::is_ascii_hexdigit)
    {
        let decoded: Option<Vec<u8>> = (0..bytes.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&value[i..i + 2], 16).ok())
            .collect();
        if let Some(decoded) = decoded {
            if let Ok(text) = String::from_utf8(decoded) {
                if text.chars().all(|c| !c.is_control()) {
                    return text;
                }
            }
        }
    }
    value.to_string()
}

/// Every seccomp record in `text`; other lines are skipped, and so are
/// records whose fields do not parse (counted in the second value).
pub fn parse(text: &str) -> (Vec<SeccompRecord>, usize) {
    let mut records = Vec::new();
    let mut unreadable = 0;
    for (i, line) in text.lines().enumerate() {
        if !(line.contains("type=1326") || line.contains("type=SECCOMP")) {
            continue;
        }
        let record = (|| {
            let (machine, compat_arch) = architecture(field(line, "arch")?)?;
            let number: u32 = field(line, "syscall")?.parse().ok()?;
            let compat = compat_arch || field(line, "compat") == Some("1");
            let code = field(line, "code")?;
            let code = u32::from_str_radix(code.trim_start_matches("0x"), 16).ok()?;
            Some(SeccompRecord {
                line: i + 1,
                pid: field(line, "pid")?.parse().ok()?,
                comm: name_field(line, "comm"),
                exe: name_field(line, "exe"),
                architecture: machine.to_string(),
                compat,
                number,
                name: corral_record::syscall_name(number, machine, compat).map(str::to_string),
                action: action(code).to_string(),
            })
        })();
        match record {
            Some(record) => records.push(record),
            None => unreadable += 1,
        }
    }
    (records, unreadable)
}

/// The syscalls of `records` and how many times each was logged, by name
/// (the number for one Corral does not name).
pub fn syscalls(records: &[&SeccompRecord]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for r in records {
        let name = r.name.clone().unwrap_or_else(|| r.number.to_string());
        *counts.entry(name).or_default() += 1;
    }
    counts
}

/// One syscall's records: how many, their programs and actions, and the
/// line of the first.
struct Logged {
    count: u64,
    programs: BTreeSet<String>,
    actions: BTreeSet<String>,
    line: usize,
}

/// Whether `record` is of the program recorded as executed at `path` (an
/// exec's path, or a binary's path or link target): the kernel's `exe` is
/// the path with its links resolved (`/bin/sh` runs as
/// `exe="/bin/busybox" comm="sh"`). Only a record without `exe` is matched
/// by `comm`, the name it ran as (its first 15 bytes).
fn ran(path: &str, record: &SeccompRecord) -> bool {
    if !record.exe.is_empty() {
        return path == record.exe;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    !record.comm.is_empty() && record.comm == name[..end]
}

/// What the kernel log says each applied container did outside its
/// profile, and the line of each finding's first record. A record belongs
/// to the containers that executed its program (`advice.json`'s
/// `executables`, by path or by the name it ran as); a syscall the profile
/// allows or answers is not drift (a log of an older profile).
pub fn drift(
    records: &[SeccompRecord],
    applied: &[crate::drift::Applied],
) -> (Vec<crate::drift::Drift>, Vec<(crate::drift::Drift, usize)>) {
    let mut by_container: BTreeMap<usize, Vec<&SeccompRecord>> = BTreeMap::new();
    for record in records {
        for (i, a) in applied.iter().enumerate() {
            if a.executables.iter().any(|e| ran(e, record)) {
                by_container.entry(i).or_default().push(record);
            }
        }
    }
    let mut found = Vec::new();
    let mut lines = Vec::new();
    for (i, records) in by_container {
        let a = &applied[i];
        let mut by_syscall: BTreeMap<String, Logged> = BTreeMap::new();
        for r in &records {
            let name = r.name.clone().unwrap_or_else(|| format!("#{}", r.number));
            // Logged although allowed: it broke its argument rule (clone
            // with namespace flags).
            let filtered = a.filtered_syscalls.contains(&name);
            if !filtered
                && (a.allowed_syscalls.contains(&name) || a.answered_syscalls.contains(&name))
            {
                continue;
            }
            let name = if filtered {
                format!("{name} (with arguments its rule refuses)")
            } else {
                name
            };
            let entry = by_syscall.entry(name).or_insert_with(|| Logged {
                count: 0,
                programs: BTreeSet::new(),
                actions: BTreeSet::new(),
                line: r.line,
            });
            entry.count += 1;
            entry.programs.insert(r.exe.clone());
            entry.actions.insert(r.action.clone());
        }
        for (name, logged) in by_syscall {
            let Logged {
                count,
                programs,
                actions,
                line,
            } = logged;
            let drift = crate::drift::Drift {
                namespace: a.namespace.clone(),
                workload: a.workload.clone(),
                container: Some(a.container.clone()),
                kind: crate::drift::Kind::Syscall,
                detail: format!(
                    "{name} made {count} time(s) outside the seccomp profile, by {} (kernel log, action {})",
                    programs.into_iter().collect::<Vec<_>>().join(", "),
                    actions.into_iter().collect::<Vec<_>>().join(", ")
                ),
            };
            lines.push((drift.clone(), line));
            found.push(drift);
        }
    }
    found.sort();
    (found, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_from_dmesg_kmsg_and_auditd() {
        let text = concat!(
            "[23412.811443] audit: type=1326 audit(1796533435.954:34339): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=28933 comm=\"true\" exe=\"/bin/busybox\" sig=0 arch=c000003e syscall=157 compat=0 ip=0x48110d code=0x7ffc0000\n",
            "6,3456,23412811449,-;audit: type=1326 audit(1796533435.954:34340): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=28934 comm=\"redis-server\" exe=\"/usr/bin/redis-check-rdb\" sig=0 arch=c000003e syscall=57 compat=0 ip=0x462147 code=0x50000\n",
            "type=SECCOMP msg=audit(1796533435.954:34341): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=7 comm=6E67696E78 exe=\"/usr/sbin/nginx\" sig=0 arch=40000003 syscall=1 compat=1 ip=0x1 code=0x7ffc0000\n",
            "[1.0] eth0: link up\n",
            "[2.0] audit: type=1326 audit(1:2): pid=x arch=c000003e syscall=1 code=0x7ffc0000\n",
        );
        let (records, unreadable) = parse(text);
        assert_eq!(unreadable, 1);
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].name.as_deref(), Some("prctl"));
        assert_eq!(records[0].action, "log");
        assert_eq!((records[0].pid, records[0].line), (28933, 1));
        assert_eq!(records[1].name.as_deref(), Some("fork"));
        assert_eq!(records[1].action, "errno");
        assert_eq!(records[1].exe, "/usr/bin/redis-check-rdb");
        // i386's 1 is exit; the hex comm is decoded.
        assert_eq!(records[2].name.as_deref(), Some("exit"));
        assert!(records[2].compat);
        assert_eq!(records[2].comm, "nginx");
        let all: Vec<&SeccompRecord> = records.iter().collect();
        assert_eq!(syscalls(&all).len(), 3);
    }

    #[test]
    fn records_go_to_the_containers_that_ran_the_program() {
        let text = concat!(
            "audit: type=1326 audit(1:1): pid=10 comm=\"nginx\" exe=\"/usr/sbin/nginx\" arch=c000003e syscall=296 compat=0 code=0x7ffc0000\n",
            "audit: type=1326 audit(1:2): pid=10 comm=\"nginx\" exe=\"/usr/sbin/nginx\" arch=c000003e syscall=296 compat=0 code=0x7ffc0000\n",
            "audit: type=1326 audit(1:3): pid=10 comm=\"nginx\" exe=\"/usr/sbin/nginx\" arch=c000003e syscall=0 compat=0 code=0x7ffc0000\n",
            "audit: type=1326 audit(1:4): pid=11 comm=\"sh\" exe=\"/bin/dash\" arch=c000003e syscall=57 compat=0 code=0x7ffc0000\n",
            // Another program that calls itself nginx: not the container's.
            "audit: type=1326 audit(1:5): pid=12 comm=\"nginx\" exe=\"/tmp/nginx\" arch=c000003e syscall=101 compat=0 code=0x7ffc0000\n",
            // A quoted name that looks like hex is a name.
            "audit: type=1326 audit(1:6): pid=13 comm=\"657865\" exe=\"/usr/sbin/nginx\" arch=c000003e syscall=0 compat=0 code=0x7ffc0000\n",
        );
        let (records, _) = parse(text);
        assert_eq!(records[5].comm, "657865");
        let applied: Vec<crate::drift::Applied> = serde_json::from_value(serde_json::json!([{
            "namespace": "shop", "workload": "proxy", "container": "nginx",
            "advice": {"capabilities": [], "run_as_non_root": true, "read_only_root_filesystem": true,
                       "writable_directories": [], "allow_privilege_escalation": false},
            "allowedSyscalls": ["read"], "executables": ["/usr/sbin/nginx"]
        }]))
        .unwrap();
        let (found, lines) = drift(&records, &applied);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].subject(), "shop/proxy container nginx");
        assert!(
            found[0].detail.starts_with(
                "pwritev made 2 time(s) outside the seccomp profile, by /usr/sbin/nginx"
            ),
            "{}",
            found[0].detail
        );
        assert_eq!(lines[0].1, 1);
    }

    #[test]
    fn hostile_lines_neither_panic_nor_invent() {
        for line in [
            "type=1326 arch=",
            "type=1326 pid=1 arch=c000003e syscall=99999999999 code=0x7ffc0000",
            "type=1326 xpid=1 arch=c000003e syscall=1 code=0x7ffc0000",
            "type=SECCOMP comm=\"",
            "type=1326 pid=1 comm=\u{1b}[31m arch=c00000b7 syscall=1 code=zz",
        ] {
            let (records, unreadable) = parse(line);
            assert!(records.is_empty(), "{line}: {records:?}");
            assert_eq!(unreadable, 1, "{line}");
        }
    }
}
