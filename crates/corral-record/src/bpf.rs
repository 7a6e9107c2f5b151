//! Loading and reading the syscall program (`bpf/syscalls.bpf.c`).

use std::fmt;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use aya::maps::HashMap;
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf, EbpfLoader};

use crate::recording::{Endpoint, Exec};

const SYSCALLS_OBJECT: &[u8] = include_bytes!("../bpf/syscalls.bpf.o");
const CAPABILITIES_OBJECT: &[u8] = include_bytes!("../bpf/capabilities.bpf.o");
const EXECS_OBJECT: &[u8] = include_bytes!("../bpf/execs.bpf.o");
const NETWORK_OBJECT: &[u8] = include_bytes!("../bpf/network.bpf.o");
const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";
/// Mirrors `struct syscall_set` in `bpf/syscalls.bpf.c`.
const SYSCALL_WORDS: usize = 16;
type SyscallSet = [u64; SYSCALL_WORDS];
/// Mirrors `SLOTS` in `bpf/syscalls.bpf.c`: namespaces recorded without a
/// hash lookup per syscall.
const SLOTS: usize = 8;
/// Mirrors `struct cap_set` in `bpf/capabilities.bpf.c`: granted, denied.
type CapSet = [u64; 2];

/// Mirrors `struct exec_key` in `bpf/execs.bpf.c`.
#[repr(C)]
#[derive(Clone, Copy)]
struct ExecKey {
    mntns: u32,
    euid: u32,
    egid: u32,
    mode_bits: u32,
    path: [u8; 256],
}

// SAFETY: plain old data with no padding (four u32 then bytes).
unsafe impl aya::Pod for ExecKey {}

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;

/// Mirrors `struct flow_key` in `bpf/network.bpf.c`.
#[repr(C)]
#[derive(Clone, Copy)]
struct FlowKey {
    mntns: u32,
    kind: u8,
    family: u8,
    port: u16,
    addr: [u8; 16],
}

// SAFETY: plain old data with no padding (4 + 1 + 1 + 2 + 16 bytes).
unsafe impl aya::Pod for FlowKey {}

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

/// The inode that identifies a process's mount namespace.
pub fn mount_namespace(pid: &str) -> io::Result<u32> {
    Ok(std::fs::metadata(format!("/proc/{pid}/ns/mnt"))?.ino() as u32)
}

/// Load `object` and attach its `program` to the BTF tracepoint `tracepoint`.
fn load_program(
    object: &[u8],
    program: &str,
    tracepoint: &str,
    btf: &Btf,
    host: u32,
) -> Result<Ebpf, RecordError> {
    let mut ebpf = EbpfLoader::new()
        .btf(Some(btf))
        .override_global("host_mntns", &host, true)
        .load(object)
        .map_err(|e| classify(&format!("loading the {tracepoint} program"), e))?;
    let prog: &mut BtfTracePoint = ebpf
        .program_mut(program)
        .ok_or_else(|| RecordError::Kernel(format!("the BPF object has no {program} program")))?
        .try_into()
        .map_err(|e| RecordError::Kernel(format!("{program}: {e}")))?;
    prog.load(tracepoint, btf)
        .map_err(|e| classify(&format!("loading the {tracepoint} program"), e))?;
    prog.attach()
        .map_err(|e| classify(&format!("attaching to the {tracepoint} tracepoint"), e))?;
    Ok(ebpf)
}

/// The recording programs, loaded and attached: syscalls (`sys_enter`),
/// capability checks (`cap_capable`), execs (`sched_process_exec`) and TCP
/// connects and listeners (`inet_sock_set_state`).
pub struct Recorder {
    syscalls: Ebpf,
    capabilities: Ebpf,
    execs: Ebpf,
    network: Ebpf,
}

impl Recorder {
    pub fn load() -> Result<Recorder, RecordError> {
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
        let host = mount_namespace("self")
            .map_err(|e| RecordError::Kernel(format!("reading /proc/self/ns/mnt: {e}")))?;
        Ok(Recorder {
            syscalls: load_program(SYSCALLS_OBJECT, "record_sys_enter", "sys_enter", &btf, host)?,
            capabilities: load_program(
                CAPABILITIES_OBJECT,
                "record_cap_capable",
                "cap_capable",
                &btf,
                host,
            )?,
            execs: load_program(
                EXECS_OBJECT,
                "record_exec",
                "sched_process_exec",
                &btf,
                host,
            )?,
            network: load_program(
                NETWORK_OBJECT,
                "record_sock_state",
                "inet_sock_set_state",
                &btf,
                host,
            )?,
        })
    }

    /// Start recording mount namespace `mntns`.
    pub fn track(&mut self, mntns: u32) -> Result<(), RecordError> {
        let insert_error =
            |e| RecordError::Kernel(format!("tracking mount namespace {mntns}: {e}"));
        let mut slots = self.slots()?;
        match slots.iter().position(|s| *s == 0) {
            Some(free) => {
                array::<SyscallSet>(&mut self.syscalls, "slot_syscalls")?
                    .set(free as u32, [0u64; SYSCALL_WORDS], 0)
                    .map_err(insert_error)?;
                slots[free] = mntns;
                array::<[u32; SLOTS]>(&mut self.syscalls, "recorded_slots")?
                    .set(0, slots, 0)
                    .map_err(insert_error)?;
            }
            None => map::<u32, SyscallSet>(&mut self.syscalls, "syscalls_by_mntns")?
                .insert(mntns, [0u64; SYSCALL_WORDS], 0)
                .map_err(insert_error)?,
        }
        map::<u32, CapSet>(&mut self.capabilities, "caps_by_mntns")?
            .insert(mntns, [0u64; 2], 0)
            .map_err(insert_error)?;
        map::<u32, u8>(&mut self.execs, "tracked_mntns")?
            .insert(mntns, 1, 0)
            .map_err(insert_error)?;
        map::<u32, u8>(&mut self.network, "tracked_mntns")?
            .insert(mntns, 1, 0)
            .map_err(insert_error)
    }

    /// The outgoing TCP connects and the listeners seen so far in `mntns`,
    /// each sorted.
    pub fn flows(&mut self, mntns: u32) -> Result<(Vec<Endpoint>, Vec<Endpoint>), RecordError> {
        let (mut connects, mut listeners) = (Vec::new(), Vec::new());
        for entry in map::<FlowKey, u64>(&mut self.network, "flows")?.iter() {
            let (key, count) =
                entry.map_err(|e| RecordError::Kernel(format!("reading flows: {e}")))?;
            if key.mntns != mntns {
                continue;
            }
            let address = match key.family {
                2 => std::net::IpAddr::from([key.addr[0], key.addr[1], key.addr[2], key.addr[3]]),
                _ => std::net::IpAddr::from(key.addr),
            };
            let endpoint = Endpoint {
                address,
                port: key.port,
                count,
                runs: 1,
            };
            if key.kind == 2 {
                listeners.push(endpoint);
            } else {
                connects.push(endpoint);
            }
        }
        connects.sort();
        listeners.sort();
        Ok((connects, listeners))
    }

    /// The distinct execs seen so far in `mntns`, sorted.
    pub fn execs(&mut self, mntns: u32) -> Result<Vec<Exec>, RecordError> {
        let mut seen = Vec::new();
        for entry in map::<ExecKey, u64>(&mut self.execs, "execs")?.iter() {
            let (key, count) =
                entry.map_err(|e| RecordError::Kernel(format!("reading execs: {e}")))?;
            if key.mntns != mntns {
                continue;
            }
            let end = key
                .path
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(key.path.len());
            seen.push(Exec {
                path: String::from_utf8_lossy(&key.path[..end]).into_owned(),
                euid: key.euid,
                egid: key.egid,
                setuid: key.mode_bits & S_ISUID != 0,
                setgid: key.mode_bits & S_ISGID != 0,
                count,
                runs: 1,
            });
        }
        seen.sort_by(|a, b| (&a.path, a.euid, a.egid).cmp(&(&b.path, b.euid, b.egid)));
        Ok(seen)
    }

    /// The namespaces in the syscall program's slots (0 for a free slot).
    fn slots(&mut self) -> Result<[u32; SLOTS], RecordError> {
        array::<[u32; SLOTS]>(&mut self.syscalls, "recorded_slots")?
            .get(&0, 0)
            .map_err(|e| RecordError::Kernel(format!("reading recorded_slots: {e}")))
    }

    /// The capabilities checked so far in `mntns`: (granted, denied) bit sets.
    pub fn capabilities(&mut self, mntns: u32) -> Result<(u64, u64), RecordError> {
        let [granted, denied] = map::<u32, CapSet>(&mut self.capabilities, "caps_by_mntns")?
            .get(&mntns, 0)
            .map_err(|e| RecordError::Kernel(format!("reading mount namespace {mntns}: {e}")))?;
        Ok((granted, denied))
    }

    /// The syscall numbers made so far in `mntns`, ascending.
    pub fn syscalls(&mut self, mntns: u32) -> Result<Vec<u32>, RecordError> {
        let read_error = |e| RecordError::Kernel(format!("reading mount namespace {mntns}: {e}"));
        let set = match self.slots()?.iter().position(|s| *s == mntns) {
            Some(slot) => array::<SyscallSet>(&mut self.syscalls, "slot_syscalls")?
                .get(&(slot as u32), 0)
                .map_err(read_error)?,
            None => map::<u32, SyscallSet>(&mut self.syscalls, "syscalls_by_mntns")?
                .get(&mntns, 0)
                .map_err(read_error)?,
        };
        Ok((0..(SYSCALL_WORDS * 64) as u32)
            .filter(|n| set[(n / 64) as usize] & (1 << (n % 64)) != 0)
            .collect())
    }
}

fn map<'a, K: aya::Pod, V: aya::Pod>(
    ebpf: &'a mut Ebpf,
    name: &str,
) -> Result<HashMap<&'a mut aya::maps::MapData, K, V>, RecordError> {
    let map = ebpf
        .map_mut(name)
        .ok_or_else(|| RecordError::Kernel(format!("the BPF object has no {name} map")))?;
    HashMap::try_from(map).map_err(|e| RecordError::Kernel(format!("{name}: {e}")))
}

fn array<'a, V: aya::Pod>(
    ebpf: &'a mut Ebpf,
    name: &str,
) -> Result<aya::maps::Array<&'a mut aya::maps::MapData, V>, RecordError> {
    let map = ebpf
        .map_mut(name)
        .ok_or_else(|| RecordError::Kernel(format!("the BPF object has no {name} map")))?;
    aya::maps::Array::try_from(map).map_err(|e| RecordError::Kernel(format!("{name}: {e}")))
}
