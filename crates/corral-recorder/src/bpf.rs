//! Loading the recorder's programs (`bpf/*.bpf.c`, linked into
//! `bpf/recorder.bpf.o`) and reading what they aggregated.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use aya::maps::{Array, HashMap, MapData};
use aya::programs::{BtfTracePoint, FExit};
use aya::{Btf, Ebpf, EbpfLoader};

const RECORDER_OBJECT: &[u8] = include_bytes!("../bpf/recorder.bpf.o");
const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Mirrors `struct syscall_set` in `bpf/syscalls.bpf.c`: a word holding
/// `workload_started`, then four bitmaps of 16 words ([phase * 2 + compat]).
type SyscallSet = [u64; 1 + 4 * SYSCALL_WORDS];
const SYSCALL_WORDS: usize = 16;
/// Mirrors `SLOTS` in `bpf/syscalls.bpf.c`.
const SLOTS: usize = 8;
/// Mirrors `struct cap_set` in `bpf/capabilities.bpf.c`: [phase][verdict].
type CapSet = [[u64; 4]; 2];
/// Mirrors `struct namespace_info` in `bpf/common.h`.
type NamespaceInfo = [u64; 3];

/// Mirrors `struct exec_key` in `bpf/processes.bpf.c`.
#[repr(C)]
#[derive(Clone, Copy)]
struct ExecKey {
    mntns: u64,
    uid: u32,
    gid: u32,
    euid: u32,
    egid: u32,
    permitted: u64,
    effective: u64,
    ambient: u64,
    mode_bits: u32,
    reserved: u32,
    path: [u8; 256],
    argv0: [u8; 64],
}

/// Mirrors `struct credential_key` in `bpf/processes.bpf.c`.
#[repr(C)]
#[derive(Clone, Copy)]
struct CredentialKey {
    mntns: u64,
    phase: u32,
    uid: u32,
    gid: u32,
    euid: u32,
    egid: u32,
    reserved: u32,
}

/// Mirrors `struct flow_key` in `bpf/network.bpf.c`.
#[repr(C)]
#[derive(Clone, Copy)]
struct FlowKey {
    mntns: u64,
    kind: u8,
    family: u8,
    port: u16,
    phase: u32,
    addr: [u8; 16],
}

/// Mirrors `struct dns_key` in `bpf/network.bpf.c`.
#[repr(C)]
#[derive(Clone, Copy)]
struct DnsKey {
    mntns: u64,
    question: [u8; 128],
}

/// Mirrors `struct answer_key` in `bpf/network.bpf.c`.
#[repr(C)]
#[derive(Clone, Copy)]
struct AnswerKey {
    mntns: u64,
    question: [u8; 128],
    family: u8,
    reserved: [u8; 7],
    addr: [u8; 16],
}

/// Mirrors `struct file_key` in `bpf/files.bpf.c`.
#[repr(C)]
#[derive(Clone, Copy)]
struct FileKey {
    mntns: u64,
    operation: u8,
    flags: u8,
    phase: u8,
    depth: u8,
    fs_magic: u32,
    error: u32,
    reserved: u32,
    names: [[u8; 32]; 10],
    tail: [u8; 128],
}

// SAFETY: plain old data, laid out as the C structs, with no implicit
// padding (every field is aligned by the ones before it).
unsafe impl aya::Pod for ExecKey {}
unsafe impl aya::Pod for CredentialKey {}
unsafe impl aya::Pod for FlowKey {}
unsafe impl aya::Pod for DnsKey {}
unsafe impl aya::Pod for AnswerKey {}
unsafe impl aya::Pod for FileKey {}

/// Mirrors `enum drop_kind` in `bpf/common.h`.
pub const DROP_KINDS: [&str; 9] = [
    "namespaces",
    "syscalls",
    "capabilities",
    "execs",
    "credentials",
    "flows",
    "dnsQueries",
    "fileWrites",
    "fileWriteFailures",
];

/// Why recording cannot start, in words that say what to fix.
#[derive(Debug)]
pub enum RecordError {
    /// The kernel has no BTF (`CONFIG_DEBUG_INFO_BTF`), which CO-RE needs.
    NoKernelBtf,
    /// Loading or attaching was refused for lack of privilege.
    Privilege(String),
    /// Anything else the kernel or the system refused.
    Kernel(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::NoKernelBtf => write!(
                f,
                "the kernel exposes no BTF at {KERNEL_BTF}: recording needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.8)"
            ),
            RecordError::Privilege(what) => write!(
                f,
                "{what}: recording needs root, or the capabilities CAP_BPF and CAP_PERFMON (and CAP_SYS_ADMIN on kernels before 5.8); for example `sudo setcap cap_bpf,cap_perfmon+ep $(which corral)`"
            ),
            RecordError::Kernel(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for RecordError {}

/// The capabilities recording needs that this process lacks, read from
/// `CapEff` in `/proc/self/status`. CAP_SYS_ADMIN stands in for both, as on
/// kernels before 5.8.
pub fn missing_capabilities() -> Vec<&'static str> {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let effective = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .unwrap_or(0);
    let has = |cap: u32| effective & (1 << cap) != 0;
    if has(CAP_SYS_ADMIN) {
        return Vec::new();
    }
    [(CAP_BPF, "CAP_BPF"), (CAP_PERFMON, "CAP_PERFMON")]
        .into_iter()
        .filter(|(cap, _)| !has(*cap))
        .map(|(_, name)| name)
        .collect()
}

fn classify(context: &str, error: impl std::error::Error) -> RecordError {
    // aya's messages name the step; the cause is further down the chain.
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.contains("Operation not permitted")
        || text.contains("Permission denied")
        || text.contains("EPERM")
    {
        RecordError::Privilege(format!("{context}: {text}"))
    } else {
        RecordError::Kernel(format!("{context}: {text}"))
    }
}

/// The node's mount namespace: the initial one, where the kernel's threads
/// are and the node's init and daemons run, read from kthreadd (PID 2 in
/// the host's PID namespace, as the DaemonSet's hostPID gives).
/// `None` when PID 2 is no kernel thread (a PID namespace of its own) or
/// its namespace cannot be read (no CAP_SYS_PTRACE).
fn node_mount_namespace() -> Option<u64> {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let stat = std::fs::read_to_string("/proc/2/stat").ok()?;
    // The flags: the seventh field after the command's closing parenthesis.
    let (_, fields) = stat.rsplit_once(')')?;
    let flags: u64 = fields.split_whitespace().nth(6)?.parse().ok()?;
    if flags & PF_KTHREAD == 0 {
        return None;
    }
    mount_namespace("2").ok()
}

/// The id of a process's mount namespace: 64 bits, never reused while the
/// system runs (`NS_GET_MNTNS_ID`, Linux 6.8 and later), unlike the inode
/// number, which the next namespace takes at once.
pub fn mount_namespace(pid: &str) -> io::Result<u64> {
    // _IOR(0xb7, 5, __u64)
    const NS_GET_MNTNS_ID: libc::c_ulong = 0x8008_b705;
    let file = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))?;
    let mut id: u64 = 0;
    // SAFETY: the ioctl writes one u64 into `id`.
    if unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_MNTNS_ID as _, &mut id) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(id)
}

/// How much the recorder can hold; beyond it, observations are counted as
/// dropped and reported, never lost silently.
#[derive(Clone, Copy, Debug)]
pub struct Capacity {
    /// Mount namespaces recorded at once.
    pub namespaces: u32,
    /// Distinct execs, identities, peers, DNS questions and file writes,
    /// each (allocated as used).
    pub entries: u32,
}

impl Default for Capacity {
    fn default() -> Capacity {
        Capacity {
            namespaces: 4096,
            entries: 65536,
        }
    }
}

/// What to record.
#[derive(Clone, Copy, Debug, Default)]
pub struct Settings {
    /// Every mount namespace but the recorder's own, from its first
    /// syscall (containers), instead of the namespaces passed to `track`.
    pub record_all: bool,
    pub capacity: Capacity,
}

/// One namespace's observations, as the kernel aggregated them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The first process that executed in it, and its start time in
    /// nanoseconds since boot: how it is matched to a container.
    pub workload_process: Option<(u32, u64)>,
    /// [phase][abi]: phase 0 before the first exec, 1 after; abi 0
    /// native, 1 compat (32-bit).
    pub syscalls: [[Vec<u32>; 2]; 2],
    /// [phase][granted audited, granted unaudited, denied audited, denied
    /// unaudited]: capability bit sets.
    pub capabilities: [[u64; 4]; 2],
    pub execs: Vec<ObservedExec>,
    /// (phase, uid, gid, euid, egid) -> count.
    pub credentials: BTreeMap<(u32, u32, u32, u32, u32), u64>,
    /// (phase, kind, address, port) -> count.
    pub flows: BTreeMap<(u32, FlowKind, std::net::IpAddr, u16), u64>,
    /// The question section of each DNS query -> count.
    pub dns_questions: BTreeMap<Vec<u8>, u64>,
    /// (question section, address answered) -> count, from the responses
    /// read.
    pub dns_answers: BTreeMap<(Vec<u8>, std::net::IpAddr), u64>,
    pub file_writes: BTreeMap<ObservedFile, u64>,
    /// The calls that would have written a file and failed (`error` set).
    pub file_write_failures: BTreeMap<ObservedFile, u64>,
    /// The namespace's mounts, read by userspace while a process was in it
    /// (to place paths passed to syscalls), if it could.
    pub mounts: Vec<Mount>,
}

/// One line of `/proc/PID/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// Where, as the process sees it.
    pub point: String,
    pub filesystem: String,
}

/// The mounts process `pid` sees, in mount order.
pub fn mounts_of(pid: &str) -> Vec<Mount> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let point = left.split(' ').nth(4)?;
            let filesystem = right.split(' ').next()?;
            Some(Mount {
                point: unescape_octal(point),
                filesystem: filesystem.to_string(),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            out.push(
                (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0'),
            );
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FlowKind {
    Connect,
    Listen,
    Accept,
    Udp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedExec {
    pub path: String,
    pub argv0: String,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub permitted: u64,
    pub effective: u64,
    pub ambient: u64,
    pub setuid: bool,
    pub setgid: bool,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedFile {
    pub phase: u32,
    /// Mirrors `enum file_operation` in `bpf/files.bpf.c`.
    pub operation: u8,
    /// Components, the file's own name first.
    pub names: Vec<String>,
    /// Deeper than the kernel side keeps: the top of the path is missing.
    pub truncated: bool,
    pub root_filesystem: bool,
    pub fs_magic: u32,
    /// For a path-based syscall: the path as passed (`names` is then the
    /// directory a relative one starts from), on a mount to be found.
    pub as_passed: Option<String>,
    /// The errno the call failed with; 0 for a write that happened.
    pub error: u32,
}

/// Everything recorded so far.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub namespaces: BTreeMap<u64, Observed>,
    /// Observations lost to full maps, by kind (`DROP_KINDS`).
    pub drops: [u64; 9],
    /// Whether capability checks carry the audit option (false on the
    /// tracepoint fallback, where every check counts as audited).
    pub capability_audit: bool,
}

/// The recorder's programs, loaded and attached.
pub struct Recorder {
    ebpf: Ebpf,
    capability_audit: bool,
}

enum Hook {
    /// A BTF-enabled raw tracepoint (`tp_btf`).
    Raw(&'static str),
    Exit(&'static str),
}

/// Every program but the capability one, which has a fallback. The exit
/// before the entry: a file syscall whose entry is seen has its exit seen.
const PROGRAMS: [(&str, Hook); 8] = [
    ("record_sys_exit", Hook::Raw("sys_exit")),
    ("record_sys_enter", Hook::Raw("sys_enter")),
    ("mark_workload_started", Hook::Raw("sched_process_exec")),
    ("record_exec", Hook::Raw("sched_process_exec")),
    ("record_exit", Hook::Raw("sched_process_exit")),
    ("record_sock_state", Hook::Raw("inet_sock_set_state")),
    ("record_datagram", Hook::Raw("net_dev_queue")),
    ("record_dns_answer", Hook::Raw("netif_receive_skb")),
];

fn attach(ebpf: &mut Ebpf, program: &str, hook: &Hook, btf: &Btf) -> Result<(), RecordError> {
    let missing = || RecordError::Kernel(format!("the BPF object has no {program} program"));
    let wrong = |e| RecordError::Kernel(format!("{program}: {e}"));
    let prog = ebpf.program_mut(program).ok_or_else(missing)?;
    match hook {
        Hook::Raw(name) => {
            let prog: &mut BtfTracePoint = prog.try_into().map_err(wrong)?;
            prog.load(name, btf)
                .map_err(|e| classify(&format!("loading {program} on tracepoint {name}"), e))?;
            prog.attach()
                .map_err(|e| classify(&format!("attaching {program} to tracepoint {name}"), e))?;
        }
        Hook::Exit(name) => {
            let prog: &mut FExit = prog.try_into().map_err(wrong)?;
            prog.load(name, btf)
                .map_err(|e| classify(&format!("loading {program} on exit from {name}"), e))?;
            prog.attach()
                .map_err(|e| classify(&format!("attaching {program} to {name}"), e))?;
        }
    }
    Ok(())
}

/// Kernel functions that check capabilities without auditing (directly or
/// through `security_capable` with CAP_OPT_NOAUDIT), or whose only
/// capability checks are unaudited: `cap_vm_enough_memory` calls
/// `cap_capable` as a tail call, so its caller is what the stack shows.
const NOAUDIT_FUNCTIONS: [&str; 5] = [
    "ns_capable_noaudit",
    "has_ns_capability_noaudit",
    "has_capability_noaudit",
    "cap_vm_enough_memory",
    "security_vm_enough_memory_mm",
];

/// The address ranges of `NOAUDIT_FUNCTIONS` in the running kernel, from
/// /proc/kallsyms (each to the next symbol); `None` when the addresses are
/// hidden (kptr_restrict) or none is found.
fn noaudit_ranges() -> Option<[[u64; 2]; 8]> {
    let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
    let mut symbols: Vec<(u64, &str)> = text
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let address = u64::from_str_radix(fields.next()?, 16).ok()?;
            let kind = fields.next()?;
            let name = fields.next()?;
            (fields.next().is_none() && matches!(kind, "t" | "T")).then_some((address, name))
        })
        .collect();
    symbols.sort_unstable();
    let mut ranges = [[0u64; 2]; 8];
    let mut found = 0;
    for (index, (address, name)) in symbols.iter().enumerate() {
        if *address != 0 && NOAUDIT_FUNCTIONS.contains(name) && found < ranges.len() {
            let end = symbols[index + 1..]
                .iter()
                .map(|(a, _)| *a)
                .find(|a| a > address)?;
            ranges[found] = [*address, end];
            found += 1;
        }
    }
    (found > 0).then_some(ranges)
}

/// The syscalls that write files, by name: their numbers on this machine
/// go to `bpf/files.bpf.c` (`nr_*`, and the `file_syscalls` bitmap).
const FILE_SYSCALLS: [&str; 14] = [
    "open",
    "creat",
    "openat",
    "openat2",
    "truncate",
    "ftruncate",
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
];

/// The globals of `bpf/files.bpf.c` that take `FILE_SYSCALLS`' numbers.
const FILE_SYSCALL_GLOBALS: [&str; 14] = [
    "nr_open",
    "nr_creat",
    "nr_openat",
    "nr_openat2",
    "nr_truncate",
    "nr_ftruncate",
    "nr_mkdir",
    "nr_mkdirat",
    "nr_rmdir",
    "nr_unlink",
    "nr_unlinkat",
    "nr_rename",
    "nr_renameat",
    "nr_renameat2",
];

/// Each of `FILE_SYSCALLS`' number on `architecture` (-1 where it has no
/// such syscall), and their bitmap.
fn file_syscall_numbers(architecture: &str) -> ([i64; 14], [u64; 16]) {
    let table: &[Option<&str>] = corral_record::syscall_table(architecture, false).unwrap_or(&[]);
    let mut numbers = [-1i64; 14];
    let mut bits = [0u64; 16];
    for (slot, name) in numbers.iter_mut().zip(FILE_SYSCALLS) {
        if let Some(n) = table.iter().position(|t| *t == Some(name)) {
            *slot = n as i64;
            bits[n / 64] |= 1 << (n % 64);
        }
    }
    (numbers, bits)
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|b| *b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn read_error(what: &str) -> impl Fn(aya::maps::MapError) -> RecordError + '_ {
    move |e| RecordError::Kernel(format!("reading {what}: {e}"))
}

impl Recorder {
    pub fn load(settings: Settings) -> Result<Recorder, RecordError> {
        let missing = missing_capabilities();
        if !missing.is_empty() {
            return Err(RecordError::Privilege(format!(
                "this process lacks {}",
                missing.join(" and ")
            )));
        }
        if !Path::new(KERNEL_BTF).exists() {
            return Err(RecordError::NoKernelBtf);
        }
        let btf = Btf::from_sys_fs()
            .map_err(|e| RecordError::Kernel(format!("reading {KERNEL_BTF}: {e}")))?;
        let host = mount_namespace("self").map_err(|e| {
            RecordError::Kernel(format!(
                "reading the id of /proc/self/ns/mnt (NS_GET_MNTNS_ID, Linux 6.8 and later): {e}"
            ))
        })?;
        // In the DaemonSet (hostPID) the recorder's own namespace is its
        // container's: the node's init and daemons (kubelet, the runtime)
        // would be recorded beside the workloads, filling the maps they
        // share. Without the node's (no kernel thread in sight, or not
        // readable), the recorder's own stands in, as on a host they are
        // one.
        let node = node_mount_namespace().unwrap_or(host);
        let record_all = u8::from(settings.record_all);
        let ranges = noaudit_ranges();
        let Capacity {
            namespaces,
            entries,
        } = settings.capacity;
        let (numbers, file_syscalls) = file_syscall_numbers(std::env::consts::ARCH);
        let mut loader = EbpfLoader::new();
        for (name, number) in FILE_SYSCALL_GLOBALS.iter().zip(&numbers) {
            loader.override_global(name, number, true);
        }
        let mut ebpf = loader
            .btf(Some(&btf))
            .override_global("file_syscalls", &file_syscalls, true)
            .override_global("host_mntns", &host, true)
            .override_global("node_mntns", &node, true)
            .override_global("record_all", &record_all, true)
            .override_global("noaudit_ranges", &ranges.unwrap_or_default(), true)
            .map_max_entries("namespaces", namespaces)
            .map_max_entries("syscalls_by_mntns", namespaces)
            .map_max_entries("caps_by_mntns", namespaces)
            .map_max_entries("execs", entries)
            .map_max_entries("credentials", entries)
            .map_max_entries("flows", entries)
            .map_max_entries("dns_queries", entries)
            .map_max_entries("dns_answers", entries)
            .map_max_entries("dns_ports", entries)
            .map_max_entries("file_writes", entries)
            .map_max_entries("file_write_failures", entries)
            .map_max_entries("listeners", entries)
            .load(RECORDER_OBJECT)
            .map_err(|e| classify("loading the recorder's BPF object", e))?;
        for (program, hook) in &PROGRAMS {
            attach(&mut ebpf, program, hook, &btf)?;
        }
        // The tracepoint where the kernel has it (6.13 and later), with the
        // audit option told from the stack; fexit before.
        let tracepoint = btf
            .id_by_type_name_kind("btf_trace_cap_capable", aya_obj::btf::BtfKind::Typedef)
            .is_ok();
        let capability_audit = if tracepoint {
            attach(
                &mut ebpf,
                "record_cap_event",
                &Hook::Raw("cap_capable"),
                &btf,
            )?;
            ranges.is_some()
        } else {
            attach(
                &mut ebpf,
                "record_cap_check",
                &Hook::Exit("cap_capable"),
                &btf,
            )?;
            true
        };
        Ok(Recorder {
            ebpf,
            capability_audit,
        })
    }

    /// Start recording mount namespace `mntns` (its id, `mount_namespace`).
    pub fn track(&mut self, mntns: u64) -> Result<(), RecordError> {
        let insert_error =
            |e| RecordError::Kernel(format!("tracking mount namespace {mntns}: {e}"));
        let mut slots = self.slots()?;
        match slots.iter().position(|s| *s == 0) {
            Some(free) => {
                array::<SyscallSet>(&mut self.ebpf, "slot_syscalls")?
                    .set(free as u32, [0u64; 1 + 4 * SYSCALL_WORDS], 0)
                    .map_err(insert_error)?;
                slots[free] = mntns;
                array::<[u64; SLOTS]>(&mut self.ebpf, "recorded_slots")?
                    .set(0, slots, 0)
                    .map_err(insert_error)?;
            }
            None => map::<u64, SyscallSet>(&mut self.ebpf, "syscalls_by_mntns")?
                .insert(mntns, [0u64; 1 + 4 * SYSCALL_WORDS], 0)
                .map_err(insert_error)?,
        }
        map::<u64, NamespaceInfo>(&mut self.ebpf, "namespaces")?
            .insert(mntns, [0u64; 3], 0)
            .map_err(insert_error)
    }

    /// The namespaces in the syscall program's slots (0 for a free slot).
    fn slots(&mut self) -> Result<[u64; SLOTS], RecordError> {
        array::<[u64; SLOTS]>(&mut self.ebpf, "recorded_slots")?
            .get(&0, 0)
            .map_err(read_error("recorded_slots"))
    }

    /// Everything the kernel has aggregated so far, by namespace.
    pub fn snapshot(&mut self) -> Result<Snapshot, RecordError> {
        let mut snapshot = Snapshot {
            capability_audit: self.capability_audit,
            ..Snapshot::default()
        };
        let namespaces = &mut snapshot.namespaces;
        for entry in map::<u64, NamespaceInfo>(&mut self.ebpf, "namespaces")?.iter() {
            let (mntns, [started, tgid, start]) = entry.map_err(read_error("namespaces"))?;
            namespaces.entry(mntns).or_default().workload_process =
                (started & 0xffff_ffff != 0).then_some((tgid as u32, start));
        }
        let mut sets: Vec<(u64, SyscallSet)> = Vec::new();
        let slots = self.slots()?;
        let slot_sets = array::<SyscallSet>(&mut self.ebpf, "slot_syscalls")?;
        for (index, mntns) in slots.iter().enumerate() {
            if *mntns != 0 {
                let set = slot_sets
                    .get(&(index as u32), 0)
                    .map_err(read_error("slot_syscalls"))?;
                sets.push((*mntns, set));
            }
        }
        for entry in map::<u64, SyscallSet>(&mut self.ebpf, "syscalls_by_mntns")?.iter() {
            sets.push(entry.map_err(read_error("syscalls_by_mntns"))?);
        }
        for (mntns, set) in sets {
            let observed = namespaces.entry(mntns).or_default();
            for phase in 0..2 {
                for abi in 0..2 {
                    let words = &set[1 + (phase * 2 + abi) * SYSCALL_WORDS..][..SYSCALL_WORDS];
                    observed.syscalls[phase][abi] = (0..(SYSCALL_WORDS * 64) as u32)
                        .filter(|n| words[(n / 64) as usize] & (1 << (n % 64)) != 0)
                        .collect();
                }
            }
        }
        for entry in map::<u64, CapSet>(&mut self.ebpf, "caps_by_mntns")?.iter() {
            let (mntns, set) = entry.map_err(read_error("caps_by_mntns"))?;
            namespaces.entry(mntns).or_default().capabilities = set;
        }
        for entry in map::<ExecKey, u64>(&mut self.ebpf, "execs")?.iter() {
            let (key, count) = entry.map_err(read_error("execs"))?;
            namespaces
                .entry(key.mntns)
                .or_default()
                .execs
                .push(ObservedExec {
                    path: c_string(&key.path),
                    argv0: c_string(&key.argv0),
                    uid: key.uid,
                    gid: key.gid,
                    euid: key.euid,
                    egid: key.egid,
                    permitted: key.permitted,
                    effective: key.effective,
                    ambient: key.ambient,
                    setuid: key.mode_bits & 0o4000 != 0,
                    setgid: key.mode_bits & 0o2000 != 0,
                    count,
                });
        }
        for entry in map::<CredentialKey, u64>(&mut self.ebpf, "credentials")?.iter() {
            let (key, count) = entry.map_err(read_error("credentials"))?;
            *namespaces
                .entry(key.mntns)
                .or_default()
                .credentials
                .entry((key.phase, key.uid, key.gid, key.euid, key.egid))
                .or_default() += count;
        }
        for entry in map::<FlowKey, u64>(&mut self.ebpf, "flows")?.iter() {
            let (key, count) = entry.map_err(read_error("flows"))?;
            let kind = match key.kind {
                1 => FlowKind::Connect,
                2 => FlowKind::Listen,
                3 => FlowKind::Accept,
                _ => FlowKind::Udp,
            };
            let address = match key.family {
                2 => std::net::IpAddr::from([key.addr[0], key.addr[1], key.addr[2], key.addr[3]]),
                // An IPv4 peer of a dual-stack socket is v4-mapped: say it as
                // IPv4.
                _ => std::net::IpAddr::from(key.addr).to_canonical(),
            };
            *namespaces
                .entry(key.mntns)
                .or_default()
                .flows
                .entry((key.phase, kind, address, key.port))
                .or_default() += count;
        }
        for entry in map::<DnsKey, u64>(&mut self.ebpf, "dns_queries")?.iter() {
            let (key, count) = entry.map_err(read_error("dns_queries"))?;
            *namespaces
                .entry(key.mntns)
                .or_default()
                .dns_questions
                .entry(key.question.to_vec())
                .or_default() += count;
        }
        for entry in map::<AnswerKey, u64>(&mut self.ebpf, "dns_answers")?.iter() {
            let (key, count) = entry.map_err(read_error("dns_answers"))?;
            let address = match key.family {
                2 => std::net::IpAddr::from([key.addr[0], key.addr[1], key.addr[2], key.addr[3]]),
                _ => std::net::IpAddr::from(key.addr),
            };
            *namespaces
                .entry(key.mntns)
                .or_default()
                .dns_answers
                .entry((key.question.to_vec(), address))
                .or_default() += count;
        }
        for (name, failures) in [("file_writes", false), ("file_write_failures", true)] {
            for entry in map::<FileKey, u64>(&mut self.ebpf, name)?.iter() {
                let (key, count) = entry.map_err(read_error(name))?;
                let file = ObservedFile {
                    phase: u32::from(key.phase),
                    operation: key.operation,
                    names: key.names[..usize::from(key.depth).min(key.names.len())]
                        .iter()
                        .map(|n| c_string(n))
                        .collect(),
                    truncated: key.flags & 0x2 != 0,
                    root_filesystem: key.flags & 0x1 != 0,
                    fs_magic: key.fs_magic,
                    as_passed: (key.flags & 0x4 != 0).then(|| c_string(&key.tail)),
                    error: key.error,
                };
                let observed = namespaces.entry(key.mntns).or_default();
                let list = if failures {
                    &mut observed.file_write_failures
                } else {
                    &mut observed.file_writes
                };
                *list.entry(file).or_default() += count;
            }
        }
        for observed in namespaces.values_mut() {
            observed.execs.sort_by(|a, b| {
                (&a.path, &a.argv0, a.uid, a.euid).cmp(&(&b.path, &b.argv0, b.uid, b.euid))
            });
        }
        let drops = array::<u64>(&mut self.ebpf, "drops")?;
        for (index, slot) in snapshot.drops.iter_mut().enumerate() {
            *slot = drops.get(&(index as u32), 0).map_err(read_error("drops"))?;
        }
        Ok(snapshot)
    }
}

fn map<'a, K: aya::Pod, V: aya::Pod>(
    ebpf: &'a mut Ebpf,
    name: &str,
) -> Result<HashMap<&'a mut MapData, K, V>, RecordError> {
    let map = ebpf
        .map_mut(name)
        .ok_or_else(|| RecordError::Kernel(format!("the BPF object has no {name} map")))?;
    HashMap::try_from(map).map_err(|e| RecordError::Kernel(format!("{name}: {e}")))
}

fn array<'a, V: aya::Pod>(
    ebpf: &'a mut Ebpf,
    name: &str,
) -> Result<Array<&'a mut MapData, V>, RecordError> {
    let map = ebpf
        .map_mut(name)
        .ok_or_else(|| RecordError::Kernel(format!("the BPF object has no {name} map")))?;
    Array::try_from(map).map_err(|e| RecordError::Kernel(format!("{name}: {e}")))
}
