//! The recording format: versioned JSON, sorted, one document per recorded
//! identity.

use serde::{Deserialize, Serialize};

use crate::syscall_names;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recording {
    pub format_version: u32,
    /// `uname -m`: the syscall numbers below are this architecture's.
    pub architecture: String,
    /// Each recorded run; a merged recording keeps every one, sorted.
    pub runs: Vec<Run>,
    /// Every syscall made, by the commands and their children, ascending by number.
    pub syscalls: Vec<Syscall>,
    /// Every capability checked (on the process's own credentials), ascending.
    pub capabilities: Vec<Capability>,
    /// Every program executed, with the effective uid and gid it ran as
    /// (after the exec: a set-user-ID program shows its owner), sorted.
    pub execs: Vec<Exec>,
    /// Outgoing TCP connections (peer address and port), sorted.
    pub connects: Vec<Endpoint>,
    /// Listening TCP sockets (local address and port), sorted.
    pub listeners: Vec<Endpoint>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    pub address: std::net::IpAddr,
    pub port: u16,
    /// How many times, over all runs.
    pub count: u64,
    /// In how many runs.
    pub runs: u32,
}

impl Endpoint {
    fn identity(&self) -> (std::net::IpAddr, u16) {
        (self.address, self.port)
    }
}

/// Unite `other` into `into`, adding the counts of endpoints seen in both.
fn merge_endpoints(into: &mut Vec<Endpoint>, other: Vec<Endpoint>) {
    for endpoint in other {
        match into
            .iter_mut()
            .find(|e| e.identity() == endpoint.identity())
        {
            Some(existing) => {
                existing.count += endpoint.count;
                existing.runs += endpoint.runs;
            }
            None => into.push(endpoint),
        }
    }
    into.sort_by_key(Endpoint::identity);
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exec {
    /// The path as the exec named it, in the process's mount namespace.
    pub path: String,
    pub euid: u32,
    pub egid: u32,
    /// The file was set-user-ID / set-group-ID.
    pub setuid: bool,
    pub setgid: bool,
    /// How many times, over all runs.
    pub count: u64,
    /// In how many runs.
    pub runs: u32,
}

impl Exec {
    fn identity(&self) -> (&str, u32, u32, bool, bool) {
        (&self.path, self.euid, self.egid, self.setuid, self.setgid)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// Seconds since the Unix epoch.
    pub started: u64,
    pub ended: u64,
    /// `uname -r` of the recording machine.
    pub kernel: String,
    /// What was recorded: the command line for `corral record -- CMD`.
    pub command: Vec<String>,
    pub exit_status: Option<i32>,
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
    /// In how many runs it was checked.
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
                runs: 1,
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Syscall {
    pub number: u32,
    /// `None` for a number newer than the names Corral knows.
    pub name: Option<String>,
    /// In how many runs it was made.
    pub runs: u32,
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
            runs: 1,
        }
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

impl Recording {
    /// Merge recordings of the same workload without losing anything: every
    /// run is kept, syscalls and capabilities are united, and each counts
    /// the runs it was seen in. The order of the inputs does not matter.
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
            merged.runs.extend(other.runs);
            for syscall in other.syscalls {
                match merged
                    .syscalls
                    .iter_mut()
                    .find(|s| s.number == syscall.number)
                {
                    Some(existing) => existing.runs += syscall.runs,
                    None => merged.syscalls.push(syscall),
                }
            }
            for exec in other.execs {
                match merged
                    .execs
                    .iter_mut()
                    .find(|e| e.identity() == exec.identity())
                {
                    Some(existing) => {
                        existing.count += exec.count;
                        existing.runs += exec.runs;
                    }
                    None => merged.execs.push(exec),
                }
            }
            merge_endpoints(&mut merged.connects, other.connects);
            merge_endpoints(&mut merged.listeners, other.listeners);
            for cap in other.capabilities {
                match merged
                    .capabilities
                    .iter_mut()
                    .find(|c| c.number == cap.number)
                {
                    Some(existing) => {
                        existing.granted |= cap.granted;
                        existing.denied |= cap.denied;
                        existing.runs += cap.runs;
                    }
                    None => merged.capabilities.push(cap),
                }
            }
        }
        merged.runs.sort();
        merged.syscalls.sort_by_key(|s| s.number);
        merged.capabilities.sort_by_key(|c| c.number);
        merged.execs.sort_by(|a, b| a.identity().cmp(&b.identity()));
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(started: u64, syscalls: &[u32], granted: u64) -> Recording {
        Recording {
            format_version: FORMAT_VERSION,
            architecture: "x86_64".into(),
            runs: vec![Run {
                started,
                ended: started + 1,
                kernel: "6.18".into(),
                command: vec!["app".into()],
                exit_status: Some(0),
            }],
            syscalls: syscalls
                .iter()
                .map(|n| Syscall::new(*n, "x86_64"))
                .collect(),
            capabilities: Capability::from_sets(granted, 0),
            execs: vec![Exec {
                path: "/app".into(),
                euid: 0,
                egid: 0,
                setuid: false,
                setgid: false,
                count: 2,
                runs: 1,
            }],
            connects: vec![Endpoint {
                address: std::net::IpAddr::from([10, 0, 0, 1]),
                port: 5432,
                count: 1,
                runs: 1,
            }],
            listeners: Vec::new(),
        }
    }

    #[test]
    fn merging_unites_counts_and_keeps_every_run() {
        let a = recording(10, &[0, 1, 60], 1);
        let b = recording(5, &[1, 2], 1 << 10);
        let c = recording(7, &[60], 0);
        let merged = Recording::merge(vec![a.clone(), b.clone(), c.clone()]).unwrap();
        let counts: Vec<(u32, u32)> = merged.syscalls.iter().map(|s| (s.number, s.runs)).collect();
        assert_eq!(counts, [(0, 1), (1, 2), (2, 1), (60, 2)]);
        assert_eq!(
            merged.runs.iter().map(|r| r.started).collect::<Vec<_>>(),
            [5, 7, 10]
        );
        let caps: Vec<(&str, u32)> = merged
            .capabilities
            .iter()
            .map(|c| (c.name.as_deref().unwrap(), c.runs))
            .collect();
        assert_eq!(caps, [("CAP_CHOWN", 1), ("CAP_NET_BIND_SERVICE", 1)]);
        assert_eq!(
            (
                merged.execs.len(),
                merged.execs[0].count,
                merged.execs[0].runs
            ),
            (1, 6, 3)
        );
        // Order does not matter, and merging is associative.
        assert_eq!(
            Recording::merge(vec![c.clone(), b.clone(), a.clone()]).unwrap(),
            merged
        );
        let ab = Recording::merge(vec![a, b]).unwrap();
        assert_eq!(Recording::merge(vec![ab, c]).unwrap(), merged);
    }

    #[test]
    fn different_architectures_do_not_merge() {
        let mut arm = recording(1, &[0], 0);
        arm.architecture = "aarch64".into();
        let error = Recording::merge(vec![recording(1, &[0], 0), arm]).unwrap_err();
        assert!(error.0.contains("different architectures"));
    }
}
