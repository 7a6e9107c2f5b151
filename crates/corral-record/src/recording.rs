//! The recording format: versioned JSON, sorted, one document per recorded
//! workload (a command, or one container).

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::syscall_names;

pub const FORMAT_VERSION: u32 = 1;

/// A recording. Reading one (with serde, from a file or from a `Recording`
/// resource alike) checks it, failing closed: its `formatVersion` must be
/// [`FORMAT_VERSION`], its architecture one whose syscall table Corral has,
/// and every syscall's name the one that table gives its number (a
/// recording cannot allow `ptrace` by naming number 0 so). See
/// [`Recording::check`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    pub format_version: u32,
    /// `uname -m`: the syscall numbers below are this architecture's.
    pub architecture: String,
    /// The container recorded, for `corral record --containers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
    /// Each recorded run, sorted; a merged recording keeps every one, and
    /// a bounded one the newest (64 by default), the others summarised in
    /// `earlierRuns`.
    pub runs: Vec<Run>,
    /// The runs older than those in `runs`, summarised: how many, when,
    /// the time they covered and what they lost (a bounded recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earlier_runs: Option<RunSummary>,
    /// Every program executed (the first one ends the runtime phase).
    pub execs: Vec<Exec>,
    /// What the workload did: everything after the first exec in its mount
    /// namespace.
    pub workload: Activity,
    /// What the container runtime (or `corral record` itself) did in the
    /// namespace before that exec: a seccomp profile must allow what it
    /// does after installing the profile, and nothing else of it.
    pub runtime: Activity,
    /// Every program and shared library the workload executed, as read
    /// from its root filesystem, sorted by path then SHA-256.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binaries: Vec<Binary>,
    /// Evidence cut to keep the recording under its size limit (512 KiB):
    /// entries dropped, by list (`workload.connects`...). The advisors
    /// refuse the advice a list that lost entries is evidence for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub truncated: BTreeMap<String, u64>,
}

/// Runs summarised: what the advisors read of runs (how many, the time
/// they covered, what they lost) without each run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// How many runs.
    pub runs: u64,
    /// The earliest start and the latest end, seconds since the epoch.
    pub started: u64,
    pub ended: u64,
    /// The periods the runs covered, overlaps united, ascending and
    /// disjoint; at most 1,024: past that the shortest are forgotten, so
    /// that the time recorded can only be undercounted (a coverage warning
    /// may appear, never disappear).
    pub spans: Vec<Span>,
    /// Seconds of the spans forgotten past 1,024, counted nowhere (said,
    /// so that the undercount is known).
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub forgotten_seconds: u64,
    /// Every run had its capability checks told apart as audited or not.
    pub capability_audit: bool,
    /// Observations lost because the recorder's maps were full, by kind,
    /// over these runs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, u64>,
    /// The workload they were recorded as (`corral record --workload`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
}

/// A period recorded: seconds since the epoch, `started <= ended`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Span {
    pub started: u64,
    pub ended: u64,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// At most this many spans in a [`RunSummary`] (about 40 bytes each).
pub const MAX_SUMMARY_SPANS: usize = 1024;

/// The largest serialized recording (compact JSON) a bounded recording
/// may be: 512 KiB. etcd refuses objects over 1.5 MiB (its default
/// `--max-request-bytes`), and a Recording resource is the recording plus
/// its metadata, the managed fields server-side apply adds and, on the
/// merged one, the advice: a third of the limit leaves room for all of
/// them and for YAML's longer rendering.
pub const MAX_RECORDING_BYTES: usize = 512 * 1024;

/// The runs a bounded recording keeps one by one, the newest (64: the
/// last ten hours and more of ten-minute windows on one node, or 64
/// container lifetimes); each is a few hundred bytes.
pub const DEFAULT_MAX_RUNS: usize = 64;

/// How a recording is bounded ([`Recording::bound`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Runs kept one by one (at least one is); older ones are summarised.
    pub max_runs: usize,
    /// The largest serialized recording, bytes.
    pub max_bytes: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_runs: DEFAULT_MAX_RUNS,
            max_bytes: MAX_RECORDING_BYTES,
        }
    }
}

/// The kinds of policy Corral advises from a recording, by the evidence
/// each reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Evidence {
    /// Seccomp profiles: the syscalls and the binaries read.
    Seccomp,
    /// securityContexts: capabilities, identities, execs, file writes.
    SecurityContext,
    /// NetworkPolicies: connections, listeners, UDP peers, DNS questions.
    NetworkPolicy,
}

impl Evidence {
    /// Its name in a refusal.
    pub fn name(self) -> &'static str {
        match self {
            Evidence::Seccomp => "a seccomp profile",
            Evidence::SecurityContext => "a securityContext",
            Evidence::NetworkPolicy => "a NetworkPolicy",
        }
    }

    /// What advising it from a cut recording would do.
    pub fn harm(self) -> &'static str {
        match self {
            Evidence::Seccomp => "it would block syscalls the workload makes",
            Evidence::SecurityContext => {
                "it would drop capabilities or forbid writes the workload needs"
            }
            Evidence::NetworkPolicy => "it would block traffic the workload really has",
        }
    }
}

/// The lists a bounded recording may cut, and the advice each is evidence
/// for; `truncated` names them so.
pub const CUTTABLE: [(&str, Evidence); 24] = [
    ("workload.syscalls", Evidence::Seccomp),
    ("workload.compatSyscalls", Evidence::Seccomp),
    ("runtime.syscalls", Evidence::Seccomp),
    ("runtime.compatSyscalls", Evidence::Seccomp),
    ("binaries", Evidence::Seccomp),
    ("execs", Evidence::SecurityContext),
    ("workload.capabilities", Evidence::SecurityContext),
    ("runtime.capabilities", Evidence::SecurityContext),
    ("workload.identities", Evidence::SecurityContext),
    ("runtime.identities", Evidence::SecurityContext),
    ("workload.fileWrites", Evidence::SecurityContext),
    ("runtime.fileWrites", Evidence::SecurityContext),
    ("workload.fileWriteFailures", Evidence::SecurityContext),
    ("runtime.fileWriteFailures", Evidence::SecurityContext),
    ("workload.connects", Evidence::NetworkPolicy),
    ("runtime.connects", Evidence::NetworkPolicy),
    ("workload.accepts", Evidence::NetworkPolicy),
    ("runtime.accepts", Evidence::NetworkPolicy),
    ("workload.listeners", Evidence::NetworkPolicy),
    ("runtime.listeners", Evidence::NetworkPolicy),
    ("workload.udp", Evidence::NetworkPolicy),
    ("runtime.udp", Evidence::NetworkPolicy),
    ("workload.dnsQueries", Evidence::NetworkPolicy),
    ("runtime.dnsQueries", Evidence::NetworkPolicy),
];

/// One program or shared library, read from the workload's root filesystem
/// while the recorder could reach it, and analysed (`corral-reach`).
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Binary {
    /// Its path in the workload's root filesystem.
    pub path: String,
    /// The file that path leads to, links resolved, when it differs
    /// (`/bin/sh` → `/bin/busybox`): what the kernel's audit records name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// SHA-256 of its content, lowercase hexadecimal (empty if unread).
    pub sha256: String,
    /// The shared libraries it loads (its interpreter and `DT_NEEDED`,
    /// resolved as the loader would), each also in `binaries`; for a `#!`
    /// script, the interpreter the kernel runs it with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub libraries: Vec<String>,
    /// The functions it imports from shared libraries, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// Its own syscall instructions with a constant number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub syscalls: Vec<DirectSyscall>,
    /// Its own syscall instructions whose number is not a constant.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unresolved_syscalls: u32,
    /// `glibc` or `musl` when this file is that C library or its loader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub libc: Option<String>,
    /// Why it could not be read or analysed; the other fields are then
    /// empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A syscall instruction of a binary, with a constant number.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct DirectSyscall {
    pub number: u32,
    /// Its name in the recording's architecture's table.
    pub name: Option<String>,
    /// The function containing it, when the binary names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// Bounds on a recording's `binaries`: more is refused, not read.
pub const MAX_BINARIES: usize = 4096;
/// Bounds on each binary's lists.
pub const MAX_BINARY_ENTRIES: usize = 65536;
/// The longest path a binary's entry may hold (the kernel's PATH_MAX).
pub const MAX_PATH: usize = 4096;
/// The longest symbol (import or function name) it may hold.
pub const MAX_SYMBOL: usize = 1024;

/// Who a recording is of, from the container runtime's state.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    /// The runtime's id of the container.
    pub id: String,
    /// The runtime state directory it was found in.
    pub runtime_root: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
    /// The container's name in its pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The pod's sandbox (pause) container rather than one of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sandbox: bool,
}

#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Seconds since the Unix epoch.
    pub started: u64,
    pub ended: u64,
    /// `uname -r` of the recording machine.
    pub kernel: String,
    /// What was recorded: the command line for `corral record -- CMD`,
    /// empty for a container.
    pub command: Vec<String>,
    pub exit_status: Option<i32>,
    /// Whether capability checks were told apart as audited or not (false
    /// where the kernel's fexit is unavailable: all count as audited).
    pub capability_audit: bool,
    /// Observations lost because the recorder's maps were full, by kind
    /// (`--max-namespaces`, `--max-entries`); absent when none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, u64>,
    /// The workload a command recording is of (`corral record --workload`);
    /// absent for a container, whose pod names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
}

/// What one phase did in a mount namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// Every syscall made, ascending by number.
    pub syscalls: Vec<Syscall>,
    /// Every 32-bit compat syscall made (x86: the i386 numbers).
    pub compat_syscalls: Vec<Syscall>,
    /// Every capability checked on the processes' own credentials.
    pub capabilities: Vec<Capability>,
    /// The uids and gids processes took (every credential change).
    pub identities: Vec<Identity>,
    /// Outgoing TCP connections: the peer's address and port.
    pub connects: Vec<Endpoint>,
    /// Accepted TCP connections: the peer's address and the local port.
    pub accepts: Vec<Endpoint>,
    /// Listening TCP sockets: the local address and port.
    pub listeners: Vec<Endpoint>,
    /// UDP datagrams sent and UDP sockets connected: the peer's address and
    /// port.
    pub udp: Vec<Endpoint>,
    /// The DNS questions asked (queries to port 53).
    pub dns_queries: Vec<DnsQuery>,
    /// Files written, created, renamed, removed or truncated: the calls
    /// that succeeded, and only those.
    pub file_writes: Vec<FileWrite>,
    /// The calls that would have written a file and failed (a `mkdir` of a
    /// directory that exists, EEXIST; a write under a read-only root,
    /// EROFS): evidence that the program tried, never of a write.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_write_failures: Vec<FileWriteFailure>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Syscall {
    pub number: u32,
    /// `None` for a number newer than the names Corral knows.
    pub name: Option<String>,
    /// In how many runs it was made.
    pub runs: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Capability {
    pub number: u32,
    /// `CAP_CHOWN`...; `None` for a number newer than the names Corral knows.
    pub name: Option<String>,
    /// An audited check of it was granted: the workload used it.
    pub granted: bool,
    /// An audited check of it was denied: the workload wanted it and
    /// failed.
    pub denied: bool,
    /// Unaudited checks (the kernel probing, e.g. CAP_SYS_ADMIN on every
    /// private writable mmap): evidence of nothing the workload needs.
    pub granted_unaudited: bool,
    pub denied_unaudited: bool,
    /// In how many runs it was checked.
    pub runs: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    /// How many times, over all runs.
    pub count: u64,
    /// In how many runs.
    pub runs: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Endpoint {
    pub address: IpAddr,
    pub port: u16,
    /// How many times, over all runs.
    pub count: u64,
    /// In how many runs.
    pub runs: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DnsQuery {
    /// The name asked for, dotted, without the final dot.
    pub name: String,
    /// `A`, `AAAA`, `SRV`...; the number for a type Corral does not name.
    #[serde(rename = "type")]
    pub query_type: String,
    /// The addresses the responses read gave (A and AAAA answers).
    #[serde(default)]
    pub answers: Vec<IpAddr>,
    /// Queries sent (0 when only a response was seen).
    pub count: u64,
    pub runs: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileWrite {
    /// As the process saw it (inside a container, from its root).
    pub path: String,
    /// `open-write`, `create`, `mkdir`, `unlink`, `rmdir`, `rename-from`,
    /// `rename-to` or `truncate`. An open with O_CREAT is a `create` when
    /// it made the file, an `open-write` when the file was there.
    pub operation: String,
    /// The filesystem type written (`overlay`, `tmpfs`, `ext4`...); absent
    /// when the namespace's mounts could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    /// On the mount of the process's root: the container's root filesystem,
    /// not a volume, tmpfs, /dev or /proc; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_filesystem: Option<bool>,
    /// Deeper than the recorder keeps: `path` starts with `.../`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    pub count: u64,
    pub runs: u32,
}

/// A call that would have written a file and failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileWriteFailure {
    /// As the process named it (inside a container, from its root).
    pub path: String,
    /// What was asked: `open-write`, `create`, `mkdir`... as for a write.
    pub operation: String,
    /// The errno's name (`EEXIST`, `EROFS`, `EACCES`...), or `errno N` for
    /// a number Corral does not name.
    pub error: String,
    /// The filesystem type of the mount the path is on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    /// The path is on the mount of the process's root, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_filesystem: Option<bool>,
    /// Deeper than the recorder keeps: `path` starts with `.../`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    pub count: u64,
    pub runs: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Exec {
    /// The path as the exec named it, in the process's mount namespace.
    pub path: String,
    /// The program's argv[0].
    pub argv0: String,
    pub uid: u32,
    pub gid: u32,
    /// After the exec: a set-user-ID program shows its owner.
    pub euid: u32,
    pub egid: u32,
    /// The file was set-user-ID / set-group-ID.
    pub setuid: bool,
    pub setgid: bool,
    /// The capabilities the program held (permitted) after the exec.
    pub capabilities: Vec<String>,
    /// A process not running as root gained capabilities that were not
    /// ambient: the file had file capabilities.
    pub file_capabilities: bool,
    /// How many times, over all runs.
    pub count: u64,
    /// In how many runs.
    pub runs: u32,
}

/// Capability names by number (`include/uapi/linux/capability.h`).
const CAPABILITY_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The name of capability `number`: `CAP_CHOWN`, or `CAP_N` for a number
/// past the kernel's table.
pub fn capability_name(number: u32) -> String {
    CAPABILITY_NAMES
        .get(number as usize)
        .map_or_else(|| format!("CAP_{number}"), |s| s.to_string())
}

impl Capability {
    /// The capabilities in the kernel's bit sets: granted and denied by
    /// audited checks, then by unaudited ones.
    pub fn from_sets(sets: [u64; 4]) -> Vec<Capability> {
        let [granted, granted_unaudited, denied, denied_unaudited] = sets;
        (0..64u32)
            .filter(|n| (granted | granted_unaudited | denied | denied_unaudited) & (1 << n) != 0)
            .map(|n| Capability {
                number: n,
                name: CAPABILITY_NAMES.get(n as usize).map(|s| s.to_string()),
                granted: granted & (1 << n) != 0,
                denied: denied & (1 << n) != 0,
                granted_unaudited: granted_unaudited & (1 << n) != 0,
                denied_unaudited: denied_unaudited & (1 << n) != 0,
                runs: 1,
            })
            .collect()
    }
}

/// The architectures (`uname -m`) whose syscall tables Corral has.
pub const ARCHITECTURES: [&str; 2] = ["x86_64", "aarch64"];

/// The syscall names by number of `architecture`'s native ABI, or of its
/// 32-bit compat ABI; `None` where Corral has no such table.
pub fn syscall_table(architecture: &str, compat: bool) -> Option<&'static [Option<&'static str>]> {
    match (architecture, compat) {
        ("x86_64", false) => Some(&syscall_names::X86_64),
        ("x86_64", true) => Some(&syscall_names::I386),
        ("aarch64", false) => Some(&syscall_names::AARCH64),
        _ => None,
    }
}

/// The name of syscall `number` of `architecture` (compat ABI or not), as
/// the kernel's tables give it; `None` for a number not in them.
pub fn syscall_name(number: u32, architecture: &str, compat: bool) -> Option<&'static str> {
    syscall_table(architecture, compat)?
        .get(usize::try_from(number).ok()?)
        .copied()
        .flatten()
}

/// The syscall names of `architecture`'s native ABI.
pub fn native_syscall_names(architecture: &str) -> std::collections::BTreeSet<&'static str> {
    syscall_table(architecture, false)
        .into_iter()
        .flat_map(|table| table.iter().flatten().copied())
        .collect()
}

/// Every syscall name of `architecture`, its native ABI and its compat one.
pub fn syscall_names_of(architecture: &str) -> std::collections::BTreeSet<&'static str> {
    [false, true]
        .into_iter()
        .filter_map(|compat| syscall_table(architecture, compat))
        .flat_map(|table| table.iter().flatten().copied())
        .collect()
}

impl Syscall {
    /// Syscall `number` of `architecture`'s native ABI, or of its 32-bit
    /// compat ABI.
    pub fn new(number: u32, architecture: &str, compat: bool) -> Syscall {
        Syscall {
            number,
            name: syscall_name(number, architecture, compat).map(str::to_string),
            runs: 1,
        }
    }
}

impl Activity {
    /// Sort every list and unite entries with the same identity, with
    /// `unite` or `unite_in_one_run`.
    fn unite_with(&mut self, how: Uniting) {
        macro_rules! each {
            ($($list:ident),*) => {
                $(match how {
                    Uniting::Runs => unite(&mut self.$list),
                    Uniting::OneRun => unite_in_one_run(&mut self.$list),
                })*
            };
        }
        each!(
            syscalls,
            compat_syscalls,
            capabilities,
            identities,
            connects,
            accepts,
            listeners,
            udp,
            dns_queries,
            file_writes,
            file_write_failures
        );
    }

    fn absorb(&mut self, other: Activity) {
        self.syscalls.extend(other.syscalls);
        self.compat_syscalls.extend(other.compat_syscalls);
        self.capabilities.extend(other.capabilities);
        self.identities.extend(other.identities);
        self.connects.extend(other.connects);
        self.accepts.extend(other.accepts);
        self.listeners.extend(other.listeners);
        self.udp.extend(other.udp);
        self.dns_queries.extend(other.dns_queries);
        self.file_writes.extend(other.file_writes);
        self.file_write_failures.extend(other.file_write_failures);
        self.unite_with(Uniting::Runs);
    }
}

#[derive(Clone, Copy)]
enum Uniting {
    /// Entries from different runs: their run counts add up.
    Runs,
    /// Entries from one run.
    OneRun,
}

/// An entry of a recording's lists: what identifies it, and how two
/// observations of it combine.
trait Entry {
    type Identity: Ord;
    fn identity(&self) -> Self::Identity;
    fn combine(&mut self, other: Self);
    fn runs_mut(&mut self) -> &mut u32;
}

/// `unite` within one run: entries the kernel kept apart were still seen
/// in that one run.
fn unite_in_one_run<E: Entry>(entries: &mut Vec<E>) {
    unite(entries);
    for entry in entries {
        *entry.runs_mut() = 1;
    }
}

/// Sort `entries` by identity, combining the ones with the same identity.
fn unite<E: Entry>(entries: &mut Vec<E>) {
    let mut all = std::mem::take(entries);
    all.sort_by_key(Entry::identity);
    for entry in all {
        match entries.last_mut() {
            Some(last) if last.identity() == entry.identity() => last.combine(entry),
            _ => entries.push(entry),
        }
    }
}

impl Entry for Syscall {
    type Identity = u32;
    fn identity(&self) -> u32 {
        self.number
    }
    fn combine(&mut self, other: Self) {
        self.runs = self.runs.saturating_add(other.runs);
    }
    fn runs_mut(&mut self) -> &mut u32 {
        &mut self.runs
    }
}

impl Entry for Capability {
    type Identity = u32;
    fn identity(&self) -> u32 {
        self.number
    }
    fn combine(&mut self, other: Self) {
        self.granted |= other.granted;
        self.denied |= other.denied;
        self.granted_unaudited |= other.granted_unaudited;
        self.denied_unaudited |= other.denied_unaudited;
        self.runs = self.runs.saturating_add(other.runs);
    }
    fn runs_mut(&mut self) -> &mut u32 {
        &mut self.runs
    }
}

impl Entry for Identity {
    type Identity = (u32, u32, u32, u32);
    fn identity(&self) -> Self::Identity {
        (self.uid, self.gid, self.euid, self.egid)
    }
    fn combine(&mut self, other: Self) {
        self.count = self.count.saturating_add(other.count);
        self.runs = self.runs.saturating_add(other.runs);
    }
    fn runs_mut(&mut self) -> &mut u32 {
        &mut self.runs
    }
}

impl Entry for Endpoint {
    type Identity = (IpAddr, u16);
    fn identity(&self) -> Self::Identity {
        (self.address, self.port)
    }
    fn combine(&mut self, other: Self) {
        self.count = self.count.saturating_add(other.count);
        self.runs = self.runs.saturating_add(other.runs);
    }
    fn runs_mut(&mut self) -> &mut u32 {
        &mut self.runs
    }
}

impl Entry for DnsQuery {
    type Identity = (String, String);
    fn identity(&self) -> Self::Identity {
        (self.name.clone(), self.query_type.clone())
    }
    fn combine(&mut self, other: Self) {
        self.answers.extend(other.answers);
        self.answers.sort();
        self.answers.dedup();
        self.count = self.count.saturating_add(other.count);
        self.runs = self.runs.saturating_add(other.runs);
    }
    fn runs_mut(&mut self) -> &mut u32 {
        &mut self.runs
    }
}

impl Entry for FileWrite {
    type Identity = (String, String, Option<String>, Option<bool>);
    fn identity(&self) -> Self::Identity {
        (
            self.path.clone(),
            self.operation.clone(),
            self.filesystem.clone(),
            self.root_filesystem,
        )
    }
    fn combine(&mut self, other: Self) {
        self.count = self.count.saturating_add(other.count);
        self.runs = self.runs.saturating_add(other.runs);
    }
    fn runs_mut(&mut self) -> &mut u32 {
        &mut self.runs
    }
}

impl Entry for FileWriteFailure {
    type Identity = (String, String, String, Option<String>, Option<bool>);
    fn identity(&self) -> Self::Identity {
        (
            self.path.clone(),
            self.operation.clone(),
            self.error.clone(),
            self.filesystem.clone(),
            self.root_filesystem,
        )
    }
    fn combine(&mut self, other: Self) {
        self.count = self.count.saturating_add(other.count);
        self.runs = self.runs.saturating_add(other.runs);
    }
    fn runs_mut(&mut self) -> &mut u32 {
        &mut self.runs
    }
}

impl Entry for Exec {
    type Identity = (String, String, u32, u32, u32, u32, Vec<String>);
    fn identity(&self) -> Self::Identity {
        (
            self.path.clone(),
            self.argv0.clone(),
            self.uid,
            self.gid,
            self.euid,
            self.egid,
            self.capabilities.clone(),
        )
    }
    fn combine(&mut self, other: Self) {
        self.setuid |= other.setuid;
        self.setgid |= other.setgid;
        self.file_capabilities |= other.file_capabilities;
        self.count = self.count.saturating_add(other.count);
        self.runs = self.runs.saturating_add(other.runs);
    }
    fn runs_mut(&mut self) -> &mut u32 {
        &mut self.runs
    }
}

/// Why recordings cannot be merged.
#[derive(Debug, PartialEq, Eq)]
pub struct MergeError(pub String);

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A recording as written, before [`Recording::check`]: what serde reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Unchecked {
    format_version: u32,
    architecture: String,
    #[serde(default)]
    container: Option<Container>,
    runs: Vec<Run>,
    execs: Vec<Exec>,
    workload: Activity,
    runtime: Activity,
    #[serde(default)]
    binaries: Vec<Binary>,
    #[serde(default)]
    earlier_runs: Option<RunSummary>,
    #[serde(default)]
    truncated: BTreeMap<String, u64>,
}

impl<'de> Deserialize<'de> for Recording {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let recording = Recording::from(Unchecked::deserialize(deserializer)?);
        recording.check().map_err(serde::de::Error::custom)?;
        Ok(recording)
    }
}

impl From<Unchecked> for Recording {
    fn from(unchecked: Unchecked) -> Recording {
        let Unchecked {
            format_version,
            architecture,
            container,
            runs,
            execs,
            workload,
            runtime,
            binaries,
            earlier_runs,
            truncated,
        } = unchecked;
        Recording {
            format_version,
            architecture,
            container,
            runs,
            earlier_runs,
            execs,
            workload,
            runtime,
            binaries,
            truncated,
        }
    }
}

/// Only a recording's `formatVersion`, read before the rest: another
/// version may be shaped otherwise, and is refused for its version.
#[derive(Deserialize)]
struct Version {
    #[serde(rename = "formatVersion")]
    format_version: Option<serde_json::Value>,
}

fn unsupported_version(found: &str) -> String {
    format!("formatVersion {found} is not supported: this Corral reads recordings of format version {FORMAT_VERSION}")
}

impl Recording {
    /// Whether the recording can be trusted as what it says it is: its
    /// format version is [`FORMAT_VERSION`], its architecture one in
    /// [`ARCHITECTURES`], and each syscall (workload and runtime, native
    /// and compat) has a number in its architecture's table and that
    /// number's name, and each capability its number's name (none past
    /// the kernel's). The error names the entry (`workload.syscalls[3]`).
    pub fn check(&self) -> Result<(), String> {
        if self.format_version != FORMAT_VERSION {
            return Err(unsupported_version(&self.format_version.to_string()));
        }
        if !ARCHITECTURES.contains(&self.architecture.as_str()) {
            return Err(format!(
                "architecture {:?} is not one whose syscalls Corral knows ({})",
                self.architecture,
                ARCHITECTURES.join(", ")
            ));
        }
        let lists = [
            ("workload.syscalls", &self.workload.syscalls, false),
            (
                "workload.compatSyscalls",
                &self.workload.compat_syscalls,
                true,
            ),
            ("runtime.syscalls", &self.runtime.syscalls, false),
            (
                "runtime.compatSyscalls",
                &self.runtime.compat_syscalls,
                true,
            ),
        ];
        // Capability names become `capabilities.add`: each must be its
        // number's (a number past the table, unnamed).
        for (path, capabilities) in [
            ("workload.capabilities", &self.workload.capabilities),
            ("runtime.capabilities", &self.runtime.capabilities),
        ] {
            for (at, capability) in capabilities.iter().enumerate() {
                let expected = usize::try_from(capability.number)
                    .ok()
                    .and_then(|n| CAPABILITY_NAMES.get(n).copied());
                if capability.name.as_deref() != expected {
                    let named = |n: Option<&str>| {
                        n.map_or_else(|| "unnamed".to_string(), |n| format!("{n:?}"))
                    };
                    return Err(format!(
                        "{path}[{at}]: capability number {} is {}, not {}",
                        capability.number,
                        named(expected),
                        named(capability.name.as_deref())
                    ));
                }
            }
        }
        let architecture = self.architecture.as_str();
        for (path, syscalls, compat) in lists {
            let abi = if compat { "32-bit compat " } else { "" };
            if syscall_table(architecture, compat).is_none() && !syscalls.is_empty() {
                return Err(format!(
                    "{path}: Corral has no table of {architecture}'s {abi}syscalls to check their names against"
                ));
            }
            for (at, syscall) in syscalls.iter().enumerate() {
                let number = syscall.number;
                let named = syscall.name.as_deref();
                match syscall_name(number, architecture, compat) {
                    None => {
                        return Err(format!(
                            "{path}[{at}]: syscall number {number} ({}) is not in {architecture}'s {abi}syscall table",
                            named.map_or_else(|| "unnamed".to_string(), |n| format!("named {n:?}"))
                        ))
                    }
                    Some(name) if named != Some(name) => {
                        return Err(format!(
                            "{path}[{at}]: syscall number {number} is {name:?} on {architecture}{}, not {}",
                            if compat { " (32-bit compat)" } else { "" },
                            named.map_or_else(|| "unnamed".to_string(), |n| format!("{n:?}"))
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        self.check_binaries()?;
        self.check_bounds()
    }

    /// `binaries`: bounded in number and size, each direct syscall named
    /// as the architecture's table names its number.
    fn check_binaries(&self) -> Result<(), String> {
        if self.binaries.len() > MAX_BINARIES {
            return Err(format!(
                "binaries: {} entries, over the {MAX_BINARIES} a recording may hold",
                self.binaries.len()
            ));
        }
        let architecture = self.architecture.as_str();
        for (at, binary) in self.binaries.iter().enumerate() {
            for (what, len) in [
                ("libraries", binary.libraries.len()),
                ("imports", binary.imports.len()),
                ("syscalls", binary.syscalls.len()),
            ] {
                if len > MAX_BINARY_ENTRIES {
                    return Err(format!(
                        "binaries[{at}] ({}): {len} {what}, over the {MAX_BINARY_ENTRIES} a binary may hold",
                        binary.path
                    ));
                }
            }
            // Paths as the kernel bounds them (PATH_MAX), symbols as no
            // real library names them: a recording cannot grow the report
            // by repeating a long name in every site.
            let too_long = |text: &str, limit: usize| text.len() > limit;
            let path_too_long = too_long(&binary.path, MAX_PATH)
                || binary
                    .target
                    .as_deref()
                    .is_some_and(|t| too_long(t, MAX_PATH))
                || binary.libraries.iter().any(|l| too_long(l, MAX_PATH));
            let symbol_too_long = binary.imports.iter().any(|i| too_long(i, MAX_SYMBOL))
                || binary
                    .syscalls
                    .iter()
                    .filter_map(|s| s.function.as_deref())
                    .any(|f| too_long(f, MAX_SYMBOL));
            if path_too_long || symbol_too_long {
                return Err(format!(
                    "binaries[{at}]: a path over {MAX_PATH} bytes or a symbol over {MAX_SYMBOL}",
                ));
            }
            let hex = binary.sha256.len() == 64
                && binary
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            let unread = binary.sha256.is_empty() && binary.error.is_some();
            if !(hex || unread) {
                return Err(format!(
                    "binaries[{at}] ({}): sha256 {:?} is not 64 lowercase hexadecimal digits",
                    binary.path, binary.sha256
                ));
            }
            if let Some(libc) = &binary.libc {
                if libc != "glibc" && libc != "musl" {
                    return Err(format!(
                        "binaries[{at}] ({}): libc {libc:?} is neither \"glibc\" nor \"musl\"",
                        binary.path
                    ));
                }
            }
            for (index, syscall) in binary.syscalls.iter().enumerate() {
                let expected = syscall_name(syscall.number, architecture, false);
                if syscall.name.as_deref() != expected {
                    let named = |n: Option<&str>| {
                        n.map_or_else(|| "unnamed".to_string(), |n| format!("{n:?}"))
                    };
                    return Err(format!(
                        "binaries[{at}].syscalls[{index}] ({}): syscall number {} is {} on {architecture}, not {}",
                        binary.path,
                        syscall.number,
                        named(expected),
                        named(syscall.name.as_deref())
                    ));
                }
            }
        }
        Ok(())
    }

    /// Read the recording in `bytes`, the JSON of file `name`, checked
    /// ([`Recording::check`]). The error starts with `name`: a version
    /// other than [`FORMAT_VERSION`] is refused for its version before the
    /// rest is read; JSON that is not a recording's shape is an error at
    /// its line and column; a recording that fails its check names the
    /// entry.
    pub fn from_json(name: &str, bytes: &[u8]) -> Result<Recording, String> {
        if let Ok(Version { format_version }) = serde_json::from_slice::<Version>(bytes) {
            match format_version {
                None => {
                    return Err(format!(
                        "{name}: no formatVersion: not a Corral recording (this Corral reads format version {FORMAT_VERSION})"
                    ))
                }
                Some(serde_json::Value::Number(n)) if n.as_u64() == Some(FORMAT_VERSION.into()) => {}
                Some(other) => return Err(format!("{name}: {}", unsupported_version(&other.to_string()))),
            }
        }
        let unchecked: Unchecked = serde_json::from_slice(bytes).map_err(|e| {
            // serde_json ends its message with " at line L column C": say
            // the position first, as every Corral error does.
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            format!(
                "{name}:{}:{}: not a Corral recording: {message}",
                e.line(),
                e.column()
            )
        })?;
        let recording = Recording::from(unchecked);
        recording.check().map_err(|e| format!("{name}: {e}"))?;
        Ok(recording)
    }

    /// The observations lost, by kind, over every run: the non-zero
    /// `dropped` counters (a counter of zero lost nothing). A recording
    /// with any is incomplete.
    pub fn dropped(&self) -> BTreeMap<String, u64> {
        let mut lost: BTreeMap<String, u64> = BTreeMap::new();
        let earlier = self.earlier_runs.iter().map(|s| &s.dropped);
        for dropped in self.runs.iter().map(|r| &r.dropped).chain(earlier) {
            for (kind, count) in dropped {
                if *count > 0 {
                    let total = lost.entry(kind.clone()).or_default();
                    *total = total.saturating_add(*count);
                }
            }
        }
        lost
    }
}

impl Recording {
    /// The workload named with `corral record --workload`, by its first
    /// run that names one.
    pub fn workload_name(&self) -> Option<&str> {
        self.runs
            .iter()
            .find_map(|r| r.workload.as_deref())
            .or_else(|| self.earlier_runs.as_ref()?.workload.as_deref())
    }

    /// The recording of one run: `execs` and both activities as observed in
    /// it, sorted, the entries with the same identity united (the kernel
    /// may count one entry under several keys: UDP sends and connects to
    /// one peer, names cut to the same length), each seen in that one run.
    pub fn of_one_run(
        architecture: &str,
        run: Run,
        container: Option<Container>,
        mut execs: Vec<Exec>,
        mut workload: Activity,
        mut runtime: Activity,
    ) -> Recording {
        unite_in_one_run(&mut execs);
        workload.unite_with(Uniting::OneRun);
        runtime.unite_with(Uniting::OneRun);
        Recording {
            format_version: FORMAT_VERSION,
            architecture: architecture.to_string(),
            container,
            runs: vec![run],
            earlier_runs: None,
            execs,
            workload,
            runtime,
            binaries: Vec::new(),
            truncated: BTreeMap::new(),
        }
    }

    /// Merge recordings of the same workload without losing anything: every
    /// run is kept (and every summary of runs united), every list is
    /// united, and each entry counts the runs it was seen in. The order of
    /// the inputs does not matter. [`Recording::merge_bounded`] bounds the
    /// result.
    pub fn merge(recordings: Vec<Recording>) -> Result<Recording, MergeError> {
        let mut all = recordings.into_iter();
        let mut merged = all
            .next()
            .ok_or_else(|| MergeError("nothing to merge".into()))?;
        for other in all {
            if other.format_version != merged.format_version {
                return Err(MergeError(format!(
                    "format versions differ: {} and {}",
                    merged.format_version, other.format_version
                )));
            }
            if other.architecture != merged.architecture {
                return Err(MergeError(format!(
                    "recorded on different architectures ({} and {}): their syscall numbers differ",
                    merged.architecture, other.architecture
                )));
            }
            if let (Some(a), Some(b)) = (merged.workload_name(), other.workload_name()) {
                if a != b {
                    return Err(MergeError(format!(
                        "recordings of different workloads ({a} and {b}, corral record --workload)"
                    )));
                }
            }
            // Replicas of one workload differ in their ids and pod names:
            // keep what they share.
            merged.container = match (merged.container.take(), other.container) {
                (Some(a), Some(b)) => Some(common_container(a, b)),
                _ => None,
            };
            merged.runs.extend(other.runs);
            merged.earlier_runs = match (merged.earlier_runs.take(), other.earlier_runs) {
                (Some(a), Some(b)) => Some(a.absorb(b)),
                (a, b) => a.or(b),
            };
            for (list, count) in other.truncated {
                let total = merged.truncated.entry(list).or_default();
                *total = total.saturating_add(count);
            }
            merged.execs.extend(other.execs);
            merged.workload.absorb(other.workload);
            merged.runtime.absorb(other.runtime);
            merged.binaries.extend(other.binaries);
        }
        merged.runs.sort();
        // One entry per (path, content): the same file read in two runs is
        // the same analysis.
        merged.binaries.sort();
        merged
            .binaries
            .dedup_by(|b, a| a.path == b.path && a.sha256 == b.sha256);
        unite(&mut merged.execs);
        Ok(merged)
    }
}

fn common_container(a: Container, b: Container) -> Container {
    let same = |x: Option<String>, y: Option<String>| if x == y { x } else { None };
    Container {
        id: if a.id == b.id { a.id } else { String::new() },
        runtime_root: if a.runtime_root == b.runtime_root {
            a.runtime_root
        } else {
            String::new()
        },
        namespace: same(a.namespace, b.namespace),
        pod: same(a.pod, b.pod),
        pod_uid: same(a.pod_uid, b.pod_uid),
        name: same(a.name, b.name),
        image: same(a.image, b.image),
        sandbox: a.sandbox && b.sandbox,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let workload = Activity {
            syscalls: syscalls
                .iter()
                .map(|n| Syscall::new(*n, "x86_64", false))
                .collect(),
            capabilities: Capability::from_sets([granted, 1 << 21, 0, 0]),
            connects: vec![Endpoint {
                address: IpAddr::from([10, 0, 0, 1]),
                port: 5432,
                count: 1,
                runs: 1,
            }],
            file_writes: vec![FileWrite {
                path: "/var/log/app.log".into(),
                operation: "open-write".into(),
                filesystem: Some("overlay".into()),
                root_filesystem: Some(true),
                truncated: false,
                count: 2,
                runs: 1,
            }],
            // `mkdir -p /usr/bin` over the image's /usr/bin.
            file_write_failures: vec![FileWriteFailure {
                path: "/usr/bin".into(),
                operation: "mkdir".into(),
                error: "EEXIST".into(),
                filesystem: Some("overlay".into()),
                root_filesystem: Some(true),
                truncated: false,
                count: 3,
                runs: 1,
            }],
            ..Activity::default()
        };
        Recording::of_one_run(
            "x86_64",
            run,
            None,
            Vec::new(),
            workload,
            Activity::default(),
        )
    }

    fn binary(path: &str, sha: char, syscall: (u32, &str)) -> Binary {
        Binary {
            path: path.into(),
            sha256: sha.to_string().repeat(64),
            imports: vec!["fork".into()],
            syscalls: vec![DirectSyscall {
                number: syscall.0,
                name: Some(syscall.1.into()),
                function: Some("main".into()),
            }],
            ..Binary::default()
        }
    }

    #[test]
    fn binaries_are_checked_and_read_back() {
        let mut r = recording(1, &[0], 0);
        r.binaries = vec![binary("/app", 'a', (39, "getpid"))];
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"binaries\""), "{text}");
        assert_eq!(Recording::from_json("r.json", text.as_bytes()).unwrap(), r);
        // Without binaries, the field is absent: older readers see nothing new.
        let plain = recording(1, &[0], 0);
        assert!(!serde_json::to_string(&plain).unwrap().contains("binaries"));

        // A direct syscall named other than its number's name is refused.
        let mut lying = r.clone();
        lying.binaries[0].syscalls[0].name = Some("read".into());
        let error = lying.check().unwrap_err();
        assert!(
            error.starts_with("binaries[0].syscalls[0] (/app)"),
            "{error}"
        );
        assert!(error.contains("\"getpid\""), "{error}");
        // A hash that is not one, unless the file was unread.
        let mut unhashed = r.clone();
        unhashed.binaries[0].sha256 = "x".into();
        assert!(unhashed.check().unwrap_err().contains("sha256"));
        let mut unread = r.clone();
        unread.binaries[0] = Binary {
            path: "/gone".into(),
            error: Some("/gone cannot be opened".into()),
            ..Binary::default()
        };
        unread.check().unwrap();
        let mut strange = r.clone();
        strange.binaries[0].libc = Some("bionic".into());
        assert!(strange.check().unwrap_err().contains("libc"));
        // Absurd sizes are refused.
        let mut many = r.clone();
        many.binaries = vec![binary("/app", 'a', (39, "getpid")); MAX_BINARIES + 1];
        assert!(many.check().unwrap_err().contains("binaries"));
        let mut long = r.clone();
        long.binaries[0].imports = vec![String::new(); MAX_BINARY_ENTRIES + 1];
        assert!(long.check().unwrap_err().contains("imports"));
        // Names longer than the kernel's paths or any real symbol.
        let mut named = r.clone();
        named.binaries[0].path = format!("/{}", "a".repeat(MAX_PATH));
        assert!(named.check().unwrap_err().contains("a path over"));
        let mut named = r.clone();
        named.binaries[0].imports = vec!["f".repeat(MAX_SYMBOL + 1)];
        assert!(named.check().unwrap_err().contains("a symbol over"));
    }

    #[test]
    fn merging_unites_binaries_by_path_and_content() {
        let mut a = recording(1, &[0], 0);
        a.binaries = vec![
            binary("/app", 'a', (39, "getpid")),
            binary("/lib/libc.so.6", 'c', (57, "fork")),
        ];
        let mut b = recording(2, &[0], 0);
        // The same libc, and another build of /app.
        b.binaries = vec![
            binary("/lib/libc.so.6", 'c', (57, "fork")),
            binary("/app", 'b', (60, "exit")),
        ];
        let merged = Recording::merge(vec![a.clone(), b.clone()]).unwrap();
        let keys: Vec<(&str, char)> = merged
            .binaries
            .iter()
            .map(|b| (b.path.as_str(), b.sha256.chars().next().unwrap()))
            .collect();
        assert_eq!(
            keys,
            [("/app", 'a'), ("/app", 'b'), ("/lib/libc.so.6", 'c')]
        );
        assert_eq!(merged, Recording::merge(vec![b, a]).unwrap());
    }

    #[test]
    fn recordings_of_different_named_workloads_do_not_merge() {
        let named = |started: u64, workload: Option<&str>| {
            let mut r = recording(started, &[0], 0);
            r.runs[0].workload = workload.map(str::to_string);
            r
        };
        let merged = Recording::merge(vec![named(1, Some("web")), named(2, None)]).unwrap();
        assert_eq!(merged.workload_name(), Some("web"));
        let MergeError(e) =
            Recording::merge(vec![named(1, Some("web")), named(2, Some("db"))]).unwrap_err();
        assert!(e.contains("web and db"), "{e}");
    }

    #[test]
    fn failures_merge_by_path_operation_and_errno() {
        let failure = |error: &str, count| FileWriteFailure {
            path: "/usr/bin".into(),
            operation: "mkdir".into(),
            error: error.into(),
            filesystem: Some("overlay".into()),
            root_filesystem: Some(true),
            truncated: false,
            count,
            runs: 1,
        };
        let mut a = Activity {
            file_write_failures: vec![failure("EEXIST", 2)],
            ..Activity::default()
        };
        a.absorb(Activity {
            file_write_failures: vec![failure("EROFS", 1), failure("EEXIST", u64::MAX)],
            ..Activity::default()
        });
        assert_eq!(
            a.file_write_failures,
            [
                FileWriteFailure {
                    runs: 2,
                    ..failure("EEXIST", u64::MAX)
                },
                failure("EROFS", 1)
            ]
        );
        assert!(a.file_writes.is_empty());
    }

    #[test]
    fn merging_unites_counts_and_keeps_every_run() {
        let a = recording(10, &[0, 1, 60], 1);
        let b = recording(5, &[1, 2], 1 << 10);
        let c = recording(7, &[60], 0);
        let merged = Recording::merge(vec![a.clone(), b.clone(), c.clone()]).unwrap();
        let counts: Vec<(u32, u32)> = merged
            .workload
            .syscalls
            .iter()
            .map(|s| (s.number, s.runs))
            .collect();
        assert_eq!(counts, [(0, 1), (1, 2), (2, 1), (60, 2)]);
        assert_eq!(
            merged.runs.iter().map(|r| r.started).collect::<Vec<_>>(),
            [5, 7, 10]
        );
        let caps: Vec<(&str, u32)> = merged
            .workload
            .capabilities
            .iter()
            .map(|c| (c.name.as_deref().unwrap(), c.runs))
            .collect();
        assert_eq!(
            caps,
            [
                ("CAP_CHOWN", 1),
                ("CAP_NET_BIND_SERVICE", 1),
                ("CAP_SYS_ADMIN", 3)
            ]
        );
        let write = &merged.workload.file_writes[0];
        assert_eq!((write.count, write.runs), (6, 3));
        // Order does not matter, and merging is associative.
        assert_eq!(
            Recording::merge(vec![c.clone(), b.clone(), a.clone()]).unwrap(),
            merged
        );
        let ab = Recording::merge(vec![a, b]).unwrap();
        assert_eq!(Recording::merge(vec![ab, c]).unwrap(), merged);
    }

    /// `recording(1, &[0, 1, 60], 1)` as JSON, changed by `change`, read
    /// back as file `r.json`.
    fn read_changed(change: impl FnOnce(&mut serde_json::Value)) -> Result<Recording, String> {
        let mut value = serde_json::to_value(recording(1, &[0, 1, 60], 1)).unwrap();
        change(&mut value);
        let bytes = serde_json::to_vec_pretty(&value).unwrap();
        let read = Recording::from_json("r.json", &bytes);
        // serde alone (as kube reads a Recording resource) agrees.
        let via_serde = serde_json::from_slice::<Recording>(&bytes);
        assert_eq!(read.is_ok(), via_serde.is_ok(), "{read:?} {via_serde:?}");
        read
    }

    #[test]
    fn a_written_recording_reads_back() {
        let written = recording(1, &[0, 1, 60], 1);
        assert_eq!(read_changed(|_| {}).unwrap(), written);
    }

    #[test]
    fn other_format_versions_are_refused_for_their_version() {
        let error = read_changed(|v| v["formatVersion"] = 2.into()).unwrap_err();
        assert_eq!(
            error,
            "r.json: formatVersion 2 is not supported: this Corral reads recordings of format version 1"
        );
        // Even when the rest is shaped otherwise.
        let error =
            Recording::from_json("r.json", br#"{"formatVersion": 3, "runs": 7}"#).unwrap_err();
        assert!(
            error.contains("formatVersion 3 is not supported"),
            "{error}"
        );
        let error = read_changed(|v| v["formatVersion"] = "1".into()).unwrap_err();
        assert!(
            error.contains(r#"formatVersion "1" is not supported"#),
            "{error}"
        );
        let error = read_changed(|v| {
            v.as_object_mut().unwrap().remove("formatVersion");
        })
        .unwrap_err();
        assert!(error.starts_with("r.json: no formatVersion"), "{error}");
        // serde alone refuses version 2 with the same words.
        let mut value = serde_json::to_value(recording(1, &[0], 0)).unwrap();
        value["formatVersion"] = 2.into();
        let error = serde_json::from_value::<Recording>(value).unwrap_err();
        assert!(error
            .to_string()
            .contains("formatVersion 2 is not supported"));
    }

    #[test]
    fn a_syscall_name_must_be_its_numbers() {
        // Number 0 is `read` on x86_64: naming it `ptrace` would make a
        // profile allow ptrace.
        let error =
            read_changed(|v| v["workload"]["syscalls"][0]["name"] = "ptrace".into()).unwrap_err();
        assert_eq!(
            error,
            r#"r.json: workload.syscalls[0]: syscall number 0 is "read" on x86_64, not "ptrace""#
        );
        let error =
            read_changed(|v| v["workload"]["syscalls"][2]["name"] = serde_json::Value::Null)
                .unwrap_err();
        assert_eq!(
            error,
            r#"r.json: workload.syscalls[2]: syscall number 60 is "exit" on x86_64, not unnamed"#
        );
        // The runtime's and the compat lists are checked too (11 is execve
        // in i386's table, munmap in x86_64's).
        let error = read_changed(|v| {
            v["runtime"]["compatSyscalls"] =
                serde_json::json!([{"number": 11, "name": "munmap", "runs": 1}])
        })
        .unwrap_err();
        assert_eq!(
            error,
            r#"r.json: runtime.compatSyscalls[0]: syscall number 11 is "execve" on x86_64 (32-bit compat), not "munmap""#
        );
        assert!(read_changed(|v| {
            v["runtime"]["compatSyscalls"] =
                serde_json::json!([{"number": 11, "name": "execve", "runs": 1}])
        })
        .is_ok());
    }

    #[test]
    fn a_capability_name_must_be_its_numbers() {
        // recording(1, .., 1): CAP_CHOWN (0) granted, CAP_SYS_ADMIN (21).
        let error =
            read_changed(|v| v["workload"]["capabilities"][0]["name"] = "CAP_SYS_ADMIN".into())
                .unwrap_err();
        assert_eq!(
            error,
            r#"r.json: workload.capabilities[0]: capability number 0 is "CAP_CHOWN", not "CAP_SYS_ADMIN""#
        );
        let error = read_changed(|v| {
            v["runtime"]["capabilities"] = serde_json::json!([{
                "number": 63, "name": "CAP_SYS_ADMIN", "granted": true, "denied": false,
                "grantedUnaudited": false, "deniedUnaudited": false, "runs": 1
            }])
        })
        .unwrap_err();
        assert_eq!(
            error,
            r#"r.json: runtime.capabilities[0]: capability number 63 is unnamed, not "CAP_SYS_ADMIN""#
        );
        // What the recorder writes past the table (unnamed) reads.
        assert!(read_changed(|v| {
            v["runtime"]["capabilities"] = serde_json::json!([{
                "number": 63, "name": null, "granted": true, "denied": false,
                "grantedUnaudited": false, "deniedUnaudited": false, "runs": 1
            }])
        })
        .is_ok());
    }

    #[test]
    fn a_number_not_in_the_table_is_refused() {
        // x86_64 has no syscall 400; nor any past its table.
        for number in [400u32, 463, u32::MAX] {
            let error = read_changed(|v| {
                v["runtime"]["syscalls"] =
                    serde_json::json!([{"number": number, "name": null, "runs": 1}])
            })
            .unwrap_err();
            assert_eq!(
                error,
                format!("r.json: runtime.syscalls[0]: syscall number {number} (unnamed) is not in x86_64's syscall table")
            );
        }
        let error = read_changed(|v| {
            v["workload"]["syscalls"] =
                serde_json::json!([{"number": 400, "name": "ptrace", "runs": 1}])
        })
        .unwrap_err();
        assert!(
            error.contains(r#"number 400 (named "ptrace") is not in"#),
            "{error}"
        );
    }

    #[test]
    fn architectures_without_a_table_are_refused() {
        let error = read_changed(|v| v["architecture"] = "riscv64".into()).unwrap_err();
        assert_eq!(
            error,
            r#"r.json: architecture "riscv64" is not one whose syscalls Corral knows (x86_64, aarch64)"#
        );
        // aarch64's native numbers are its own (221 is execve there).
        let error = read_changed(|v| v["architecture"] = "aarch64".into()).unwrap_err();
        assert!(
            error.contains(r#"syscall number 0 is "io_setup" on aarch64, not "read""#),
            "{error}"
        );
        let arm = |v: &mut serde_json::Value| {
            v["architecture"] = "aarch64".into();
            v["workload"]["syscalls"] =
                serde_json::json!([{"number": 221, "name": "execve", "runs": 1}]);
        };
        assert!(read_changed(arm).is_ok());
        // Corral has no table of arm64's 32-bit compat syscalls.
        let error = read_changed(|v| {
            arm(v);
            v["workload"]["compatSyscalls"] =
                serde_json::json!([{"number": 11, "name": "execve", "runs": 1}]);
        })
        .unwrap_err();
        assert_eq!(
            error,
            "r.json: workload.compatSyscalls: Corral has no table of aarch64's 32-bit compat syscalls to check their names against"
        );
    }

    #[test]
    fn shape_errors_say_where() {
        let error =
            Recording::from_json("r.json", b"{\"formatVersion\": 1,\n \"runs\": 7}").unwrap_err();
        assert!(
            error.starts_with("r.json:2:")
                && error.contains("not a Corral recording: invalid type"),
            "{error}"
        );
        assert!(Recording::from_json("r.json", b"")
            .unwrap_err()
            .starts_with("r.json:1:0: "));
    }

    #[test]
    fn the_committed_recordings_are_valid() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut read = 0;
        for dir in ["examples/advise-demo/recordings", "fuzz/seeds/recording"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                Recording::from_json(&path.display().to_string(), &bytes).unwrap();
                read += 1;
            }
        }
        assert!(read >= 6, "{read} recordings");
    }

    #[test]
    fn zero_drop_counters_lose_nothing() {
        let mut r = recording(1, &[0], 0);
        r.runs[0].dropped = BTreeMap::from([("fileWrites".to_string(), 0)]);
        assert!(r.dropped().is_empty());
        let mut other = recording(2, &[0], 0);
        other.runs[0].dropped = BTreeMap::from([
            ("fileWrites".to_string(), u64::MAX),
            ("flows".to_string(), 3),
        ]);
        let mut third = recording(3, &[0], 0);
        third.runs[0].dropped = BTreeMap::from([("fileWrites".to_string(), 1)]);
        let merged = Recording::merge(vec![r, other, third]).unwrap();
        // Counts add up without wrapping round to "nothing lost".
        assert_eq!(
            merged.dropped(),
            BTreeMap::from([
                ("fileWrites".to_string(), u64::MAX),
                ("flows".to_string(), 3)
            ])
        );
    }

    #[test]
    fn huge_counts_merge_without_overflow() {
        let mut a = recording(1, &[0], 0);
        a.workload.file_writes[0].count = u64::MAX;
        a.workload.syscalls[0].runs = u32::MAX;
        let merged = Recording::merge(vec![a.clone(), a]).unwrap();
        assert_eq!(merged.workload.file_writes[0].count, u64::MAX);
        assert_eq!(merged.workload.syscalls[0].runs, u32::MAX);
    }

    #[test]
    fn different_architectures_do_not_merge() {
        let mut arm = recording(1, &[0], 0);
        arm.architecture = "aarch64".into();
        let error = Recording::merge(vec![recording(1, &[0], 0), arm]).unwrap_err();
        assert!(error.0.contains("different architectures"));
    }
}
