//! The recording format: versioned JSON, sorted, one document per recorded
//! identity.

use serde::{Deserialize, Serialize};

use crate::syscall_names;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    pub format_version: u32,
    /// `uname -r` of the recording machine.
    pub kernel: String,
    /// `uname -m`: the syscall numbers below are this architecture's.
    pub architecture: String,
    /// Seconds since the Unix epoch.
    pub started: u64,
    pub ended: u64,
    /// What was recorded: the command line for `corral record -- CMD`.
    pub command: Vec<String>,
    pub exit_status: Option<i32>,
    /// Every syscall made, by the command and its children, ascending by number.
    pub syscalls: Vec<Syscall>,
    /// Every capability checked (on the process's own credentials), ascending.
    pub capabilities: Vec<Capability>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capability {
    pub number: u32,
    /// `CAP_CHOWN`...; `None` for a number newer than the names Corral knows.
    pub name: Option<String>,
    /// At least one check of it was granted.
    pub granted: bool,
    /// At least one check of it was denied.
    pub denied: bool,
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

impl Capability {
    /// The capabilities in the kernel's granted and denied bit sets.
    pub fn from_sets(granted: u64, denied: u64) -> Vec<Capability> {
        (0..64u32)
            .filter(|n| (granted | denied) & (1 << n) != 0)
            .map(|n| Capability {
                number: n,
                name: CAPABILITY_NAMES.get(n as usize).map(|s| s.to_string()),
                granted: granted & (1 << n) != 0,
                denied: denied & (1 << n) != 0,
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Syscall {
    pub number: u32,
    /// `None` for a number newer than the names Corral knows.
    pub name: Option<String>,
}

impl Syscall {
    pub fn new(number: u32, architecture: &str) -> Syscall {
        let name = match architecture {
            "x86_64" => syscall_names::X86_64
                .get(number as usize)
                .copied()
                .flatten(),
            _ => None,
        };
        Syscall {
            number,
            name: name.map(str::to_string),
        }
    }
}
