//! `corral record --containers`: record every mount namespace on the host
//! from its first syscall, and name the containers among them from the
//! container runtime's state: runc's state directories (`/run/runc`, and
//! containerd's `/run/containerd/runc/k8s.io`), whose `state.json` carries
//! the init process and the OCI annotations the CRI plugins write.

use std::collections::{BTreeMap, HashMap};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::binaries::{read_binaries, Cache, Root};
use crate::bpf::{mount_namespace, mounts_of, Capacity, Mount, RecordError, Recorder, Settings};
use crate::command::binaries_of;
use crate::command::{now, uname};
use corral_record::{Container, Recording, Run};

use crate::observed::dropped;

/// Where runc keeps its state: runc's own default, and containerd's for
/// Kubernetes (CRI-O uses runc's default).
pub const DEFAULT_RUNTIME_ROOTS: [&str; 2] = ["/run/runc", "/run/containerd/runc/k8s.io"];

/// What to record and for how long.
#[derive(Clone, Debug, Default)]
pub struct ContainerOptions {
    /// runc state directories to watch; `DEFAULT_RUNTIME_ROOTS` that exist
    /// when empty.
    pub runtime_roots: Vec<PathBuf>,
    /// Keep only the containers of this Kubernetes namespace...
    pub namespace: Option<String>,
    /// ...and of this pod.
    pub pod: Option<String>,
    /// Stop after this long (otherwise at `stop`).
    pub duration: Option<Duration>,
    pub capacity: Capacity,
}

/// The outcome: one recording per container, and what could not be named.
#[derive(Debug)]
pub struct ContainerRecordings {
    pub recordings: Vec<Recording>,
    /// Mount namespaces recorded that belong to no container the runtime
    /// state named (host services with a namespace of their own, or a
    /// container whose state was gone before it could be read).
    pub unattributed: usize,
    /// Observations lost to full maps, by kind.
    pub dropped: BTreeMap<String, u64>,
}

/// The part of runc's `state.json` Corral reads.
#[derive(Deserialize)]
struct RuncState {
    id: String,
    init_process_pid: u32,
    /// In clock ticks since boot (`/proc/PID/stat` field 22).
    init_process_start: u64,
    config: RuncConfig,
}

#[derive(Deserialize)]
struct RuncConfig {
    /// `bundle=PATH` and every OCI annotation as `KEY=VALUE`.
    #[serde(default)]
    labels: Vec<String>,
}

/// A container the runtime state named.
struct Found {
    container: Container,
    pid: u32,
    start_ticks: u64,
    /// Read while its init process was alive.
    mntns: Option<u64>,
    mounts: Vec<Mount>,
    /// Its root filesystem, held open to read the programs it executes.
    root: Option<std::sync::Arc<std::io::Result<Root>>>,
}

/// The identity a container's annotations give: containerd's CRI plugin
/// (`io.kubernetes.cri.*`) or CRI-O (`io.kubernetes.pod.*`,
/// `io.kubernetes.container.name`).
fn identify(id: &str, root: &Path, labels: &[String]) -> Container {
    let annotations: HashMap<&str, &str> =
        labels.iter().filter_map(|l| l.split_once('=')).collect();
    let first = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| annotations.get(k))
            .map(|v| v.to_string())
    };
    Container {
        id: id.to_string(),
        runtime_root: root.display().to_string(),
        namespace: first(&[
            "io.kubernetes.cri.sandbox-namespace",
            "io.kubernetes.pod.namespace",
        ]),
        pod: first(&["io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"]),
        pod_uid: first(&["io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"]),
        name: first(&[
            "io.kubernetes.cri.container-name",
            "io.kubernetes.container.name",
        ]),
        image: first(&[
            "io.kubernetes.cri.image-name",
            "io.kubernetes.cri-o.ImageName",
        ]),
        sandbox: first(&[
            "io.kubernetes.cri.container-type",
            "io.kubernetes.cri-o.ContainerType",
        ])
        .is_some_and(|t| t == "sandbox"),
    }
}

/// Containers whose mount namespaces are held for reading their binaries
/// (one descriptor each; beyond this, the binaries are read from the root
/// mount alone, which holds the image).
const MAX_HELD_NAMESPACES: usize = 256;
static HELD_NAMESPACES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Read `<root>/<id>/state.json`, if it is (still) there.
fn read_state(root: &Path, id: &str) -> Option<Found> {
    let text = std::fs::read(root.join(id).join("state.json")).ok()?;
    let state: RuncState = serde_json::from_slice(&text).ok()?;
    let pid = state.init_process_pid.to_string();
    let namespace = mount_namespace(&pid);
    let container = identify(&state.id, root, &state.config.labels);
    // Hold the namespace (so its mounts: a volume or a bind mount holding
    // the programs) until the binaries are read when the recording ends,
    // for a bounded number of containers; a sandbox executes nothing.
    let hold = !container.sandbox
        && HELD_NAMESPACES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < MAX_HELD_NAMESPACES;
    // Refused (not gone): the recorder lacks CAP_SYS_PTRACE, which reading
    // another user's or a more privileged process's /proc/PID/ns and
    // /proc/PID/root takes; said in place of the binaries.
    let refused = |what: &str, e: &io::Error| {
        io::Error::new(
            e.kind(),
            format!(
                "/proc/{pid}/{what}: {e} (reading another process's namespace and root needs CAP_SYS_PTRACE)"
            ),
        )
    };
    let opened = match &namespace {
        Ok(_) => Some(Root::of(&pid, hold).map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => refused("root", &e),
            _ => e,
        })),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Some(Err(refused("ns/mnt", e))),
        Err(_) => None,
    };
    Some(Found {
        container,
        pid: state.init_process_pid,
        start_ticks: state.init_process_start,
        mounts: if namespace.is_ok() {
            mounts_of(&pid)
        } else {
            Vec::new()
        },
        root: opened.map(std::sync::Arc::new),
        mntns: namespace.ok(),
    })
}

/// inotify on the runtime roots and the container directories in them, to
/// read each state.json as soon as runc writes it: a short-lived
/// container's state lasts only as long as the container.
struct Watcher {
    fd: OwnedFd,
    roots: HashMap<i32, PathBuf>,
    containers: HashMap<i32, (PathBuf, String)>,
    /// Runtime roots that do not exist yet (runc creates its root with its
    /// first container), by the watch on their nearest existing ancestor.
    waiting: HashMap<i32, Vec<PathBuf>>,
}

const ROOT_EVENTS: u32 = libc::IN_CREATE | libc::IN_MOVED_TO | libc::IN_ONLYDIR;
const CONTAINER_EVENTS: u32 = libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO;

impl Watcher {
    fn new() -> io::Result<Watcher> {
        // SAFETY: creates a new descriptor, owned from here on.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Watcher {
            // SAFETY: `fd` is a new descriptor nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            roots: HashMap::new(),
            containers: HashMap::new(),
            waiting: HashMap::new(),
        })
    }

    fn watch(&self, path: &Path, mask: u32) -> io::Result<i32> {
        let c_path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
        // SAFETY: a valid descriptor and NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c_path.as_ptr(), mask) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(wd)
    }

    /// Watch a runtime root, or wait for it to appear: its nearest
    /// existing ancestor is watched, and each directory created on the way
    /// down in turn. True once the root itself is watched.
    fn watch_root(&mut self, root: &Path) -> io::Result<bool> {
        let gone = |e: &io::Error| e.raw_os_error() == Some(libc::ENOENT);
        loop {
            if self.watches(root) {
                return Ok(true);
            }
            match self.watch(root, ROOT_EVENTS) {
                Ok(wd) => {
                    self.roots.insert(wd, root.to_path_buf());
                    return Ok(true);
                }
                Err(e) if !gone(&e) => return Err(e),
                Err(_) => {}
            }
            let Some(ancestor) = root.ancestors().skip(1).find(|a| a.is_dir()) else {
                return Err(io::Error::from_raw_os_error(libc::ENOENT));
            };
            match self.watch(ancestor, ROOT_EVENTS) {
                Ok(wd) => {
                    let waiting = self.waiting.entry(wd).or_default();
                    if !waiting.iter().any(|r| r == root) {
                        waiting.push(root.to_path_buf());
                    }
                    // Created between the look and the watch: go down.
                    let next = root.ancestors().take_while(|a| *a != ancestor).last();
                    if next.is_none_or(|n| !n.exists()) {
                        return Ok(false);
                    }
                }
                Err(e) if !gone(&e) => return Err(e),
                Err(_) => {}
            }
        }
    }

    /// Is `root` watched yet?
    fn watches(&self, root: &Path) -> bool {
        self.roots.values().any(|r| r == root)
    }

    /// The containers in a root, each of whose directories is watched.
    fn containers_in(&mut self, root: &Path) -> Vec<(PathBuf, String)> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
            let id = entry.file_name().to_string_lossy().into_owned();
            if self.watch_container(root, &id) {
                found.push((root.to_path_buf(), id));
            }
        }
        found
    }

    /// Watch a container's directory; false when it is already gone.
    fn watch_container(&mut self, root: &Path, id: &str) -> bool {
        match self.watch(&root.join(id), CONTAINER_EVENTS) {
            Ok(wd) => {
                self.containers
                    .insert(wd, (root.to_path_buf(), id.to_string()));
                true
            }
            Err(_) => false,
        }
    }

    /// Wait up to `timeout` for events; the (root, id) of each container
    /// directory created or state file written.
    fn wait(&mut self, timeout: Duration) -> Vec<(PathBuf, String)> {
        let mut poll = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, timeout.as_millis() as i32) };
        let mut changed = Vec::new();
        if ready <= 0 {
            return changed;
        }
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            // SAFETY: reads into our buffer, at most its length.
            let read = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                )
            };
            if read <= 0 {
                break;
            }
            let mut at = 0;
            let header = std::mem::size_of::<libc::inotify_event>();
            while at + header <= read as usize {
                // SAFETY: the kernel wrote a whole event at `at`.
                let event: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buffer[at..].as_ptr().cast()) };
                let name_bytes = &buffer[at + header..at + header + event.len as usize];
                let end = name_bytes
                    .iter()
                    .position(|b| *b == 0)
                    .unwrap_or(name_bytes.len());
                let name = String::from_utf8_lossy(&name_bytes[..end]).into_owned();
                at += header + event.len as usize;
                if let Some(roots) = self.waiting.remove(&event.wd) {
                    // Something appeared on the way to a root: go down.
                    for root in roots {
                        if self.watch_root(&root).unwrap_or(false) {
                            changed.extend(self.containers_in(&root));
                        }
                    }
                } else if let Some(root) = self.roots.get(&event.wd).cloned() {
                    if !name.is_empty() && self.watch_container(&root, &name) {
                        changed.push((root, name));
                    }
                } else if let Some((root, id)) = self.containers.get(&event.wd) {
                    if name == "state.json" {
                        changed.push((root.clone(), id.clone()));
                    }
                }
            }
        }
        changed
    }
}

/// Read every container's state as soon as runc writes it, until
/// `watching` is cleared. runc removes a container's state when it ends:
/// for a container that lives milliseconds, the window to read it is a few
/// milliseconds, so this thread asks for real-time priority (it sleeps
/// nearly always) and keeps the default where it may not.
fn read_states(
    mut watcher: Watcher,
    mut pending: Vec<(PathBuf, String)>,
    watching: &AtomicBool,
) -> BTreeMap<(PathBuf, String), Found> {
    let priority = libc::sched_param { sched_priority: 1 };
    // SAFETY: sets this thread's own scheduling policy.
    unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &priority) };
    let mut found: BTreeMap<(PathBuf, String), Found> = BTreeMap::new();
    loop {
        for (root, id) in pending.drain(..) {
            let key = (root, id);
            // The first read wins: it is the one made while the init
            // process was alive.
            if found.get(&key).is_none_or(|f| f.mntns.is_none()) {
                if let Some(state) = read_state(&key.0, &key.1) {
                    found.insert(key, state);
                }
            }
        }
        if !watching.load(Ordering::Relaxed) {
            return found;
        }
        pending = watcher.wait(Duration::from_millis(50));
    }
}

/// Nanoseconds since boot to clock ticks, as /proc reports process starts
/// (and runc's `init_process_start`).
fn ns_to_ticks(ns: u64) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ns / (1_000_000_000 / hz)
}

/// The uids and gids of the processes now running in each of `namespaces`.
fn running_identities(namespaces: &[u64]) -> HashMap<u64, Vec<(u32, u32, u32, u32)>> {
    let mut found: HashMap<u64, Vec<(u32, u32, u32, u32)>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(mntns) = mount_namespace(&pid) else {
            continue;
        };
        if !namespaces.contains(&mntns) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let ids = |field: &str| -> Option<Vec<u32>> {
            let line = status.lines().find_map(|l| l.strip_prefix(field))?;
            line.split_whitespace().map(|n| n.parse().ok()).collect()
        };
        if let (Some(uids), Some(gids)) = (ids("Uid:"), ids("Gid:")) {
            if uids.len() >= 2 && gids.len() >= 2 {
                found
                    .entry(mntns)
                    .or_default()
                    .push((uids[0], gids[0], uids[1], gids[1]));
            }
        }
    }
    found
}

/// Set by SIGINT and SIGTERM once `stop_on_signals` ran.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// From now on SIGINT and SIGTERM end a recording cleanly (it is still
/// written) rather than the process: the flag to pass `record_containers`.
pub fn stop_on_signals() -> &'static AtomicBool {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: installs a handler that only stores to an atomic.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = request_stop as *const () as usize;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
    &STOP
}

/// Record every container that runs until `stop` is set or the duration
/// has passed. `ready` is called once the recorder is attached, with the
/// runtime roots and those of them that do not exist yet (watched until
/// they appear).
pub fn record_containers(
    options: &ContainerOptions,
    stop: &AtomicBool,
    ready: impl FnOnce(&[PathBuf], &[PathBuf]),
) -> Result<ContainerRecordings, RecordError> {
    let roots: Vec<PathBuf> = if options.runtime_roots.is_empty() {
        DEFAULT_RUNTIME_ROOTS
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .collect()
    } else {
        // Absolute, so that a root yet to appear has ancestors to watch.
        options
            .runtime_roots
            .iter()
            .map(|r| std::path::absolute(r).unwrap_or_else(|_| r.clone()))
            .collect()
    };
    if roots.is_empty() {
        return Err(RecordError::Kernel(format!(
            "no container runtime state directory found (looked for {}): pass --runtime-root",
            DEFAULT_RUNTIME_ROOTS.join(" and ")
        )));
    }
    let mut watcher = Watcher::new().map_err(|e| RecordError::Kernel(format!("inotify: {e}")))?;
    let mut waiting = Vec::new();
    for root in &roots {
        let watched = watcher.watch_root(root).map_err(|e| {
            RecordError::Kernel(format!(
                "watching the runtime state in {}: {e}",
                root.display()
            ))
        })?;
        if !watched {
            waiting.push(root.clone());
        }
    }
    let mut recorder = Recorder::load(Settings {
        record_all: true,
        capacity: options.capacity,
    })?;
    let started = now();
    let clock = Instant::now();
    // Containers already running, then every one that appears, read by a
    // thread of their own.
    let mut pending: Vec<(PathBuf, String)> = Vec::new();
    for root in &roots {
        if watcher.watches(root) {
            pending.extend(watcher.containers_in(root));
        }
    }
    let watching = AtomicBool::new(true);
    let found = std::thread::scope(|scope| {
        let reader = scope.spawn(|| read_states(watcher, pending, &watching));
        ready(&roots, &waiting);
        loop {
            let expired = options.duration.is_some_and(|d| clock.elapsed() >= d);
            if stop.load(Ordering::Relaxed) || expired {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        watching.store(false, Ordering::Relaxed);
        reader.join().unwrap_or_default()
    });
    let ended = now();
    let (kernel, architecture) = uname();
    let snapshot = recorder.snapshot()?;
    // Match each recorded namespace to its container: directly by the
    // namespace read from the live init process, or by the process that
    // first executed in it.
    let mut by_mntns: HashMap<u64, &Found> = HashMap::new();
    let mut by_process: HashMap<(u32, u64), &Found> = HashMap::new();
    for f in found.values() {
        match f.mntns {
            Some(mntns) => {
                by_mntns.insert(mntns, f);
            }
            None => {
                by_process.insert((f.pid, f.start_ticks), f);
            }
        }
    }
    let recorded: Vec<u64> = snapshot.namespaces.keys().copied().collect();
    let identities = running_identities(&recorded);
    let mut recordings = Vec::new();
    let mut unattributed = 0;
    // One analysis per file content for all the containers.
    let mut cache = Cache::default();
    for (mntns, observed) in &snapshot.namespaces {
        let owner = by_mntns.get(mntns).copied().or_else(|| {
            let (tgid, start) = observed.workload_process?;
            by_process.get(&(tgid, ns_to_ticks(start))).copied()
        });
        let Some(owner) = owner else {
            unattributed += 1;
            continue;
        };
        let container = &owner.container;
        if options
            .namespace
            .as_ref()
            .is_some_and(|n| container.namespace.as_ref() != Some(n))
            || options
                .pod
                .as_ref()
                .is_some_and(|p| container.pod.as_ref() != Some(p))
        {
            continue;
        }
        let mut observed = observed.clone();
        observed.mounts = owner.mounts.clone();
        for (uid, gid, euid, egid) in identities.get(mntns).into_iter().flatten() {
            *observed
                .credentials
                .entry((1, *uid, *gid, *euid, *egid))
                .or_default() += 1;
        }
        let run = Run {
            started,
            ended,
            kernel: kernel.clone(),
            command: Vec::new(),
            exit_status: None,
            capability_audit: snapshot.capability_audit,
            dropped: dropped(&snapshot.drops),
            workload: None,
        };
        let mut recording =
            crate::observed::recording(&observed, &architecture, run, Some(container.clone()));
        recording.binaries = match owner.root.as_deref() {
            Some(Ok(root)) => {
                let mut programs: Vec<String> =
                    recording.execs.iter().map(|e| e.path.clone()).collect();
                programs.sort();
                programs.dedup();
                read_binaries(root, &programs, &architecture, &mut cache)
            }
            Some(Err(e)) => binaries_of(
                Err(std::io::Error::new(e.kind(), e.to_string())),
                &recording,
                &architecture,
            ),
            None => binaries_of(
                Err(std::io::Error::other(
                    "the container's process was gone before the recorder could open its root",
                )),
                &recording,
                &architecture,
            ),
        };
        recordings.push(recording);
    }
    recordings.sort_by(|a, b| a.container.cmp(&b.container));
    Ok(ContainerRecordings {
        recordings,
        unattributed,
        dropped: dropped(&snapshot.drops),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_of_both_cri_runtimes_name_the_container() {
        let containerd = [
            "io.kubernetes.cri.sandbox-namespace=shop",
            "io.kubernetes.cri.sandbox-name=web-1",
            "io.kubernetes.cri.container-name=nginx",
            "io.kubernetes.cri.image-name=nginx:1.27",
            "io.kubernetes.cri.container-type=container",
            "bundle=/run/containerd/x",
        ]
        .map(String::from);
        let c = identify("abc", Path::new("/run/runc"), &containerd);
        assert_eq!(
            (
                c.namespace.as_deref(),
                c.pod.as_deref(),
                c.name.as_deref(),
                c.image.as_deref()
            ),
            (
                Some("shop"),
                Some("web-1"),
                Some("nginx"),
                Some("nginx:1.27")
            )
        );
        assert!(!c.sandbox);
        let crio = [
            "io.kubernetes.pod.namespace=shop",
            "io.kubernetes.pod.name=db-0",
            "io.kubernetes.cri-o.ContainerType=sandbox",
            "odd=a=b",
        ]
        .map(String::from);
        let c = identify("0123456789abcdef", Path::new("/run/runc"), &crio);
        assert_eq!(
            (c.namespace.as_deref(), c.pod.as_deref()),
            (Some("shop"), Some("db-0"))
        );
        assert!(c.sandbox);
    }
}
