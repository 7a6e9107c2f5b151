//! The syscalls runc makes after it installs a container's seccomp filter,
//! recorded rather than guessed: runc runs a busybox container under a
//! profile whose default action is SCMP_ACT_LOG, the kernel logs every
//! syscall the filter sees with the thread's command name, and those of
//! `runc:[2:INIT]` (before it execs the workload) are runc's. runc installs
//! the filter at a different point with and without noNewPrivileges, so
//! both are derived, over several runs (its Go runtime threads vary).
//! The result must be within `data/runtime-base.json`;
//! `CORRAL_UPDATE_BASE=1` adds what this machine's runc makes to that file.
//! Needs root, runc and busybox-static (scripts/test.sh installs them).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Command;

use corral_advise::base::{BaseSets, RuntimeBase};
use serde_json::{json, Value};

/// Runs per setting; an update (CORRAL_UPDATE_BASE=1) makes five times as
/// many, to catch what runc's Go runtime does only now and then.
const RUNS: usize = 12;

/// Reads the kernel log from its current end on.
struct KernelLog(fs::File);

impl KernelLog {
    fn open() -> KernelLog {
        let file = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/kmsg")
            .expect("/dev/kmsg");
        // SAFETY: lseek on a file descriptor we own.
        unsafe {
            use std::os::fd::AsRawFd;
            libc::lseek(file.as_raw_fd(), 0, libc::SEEK_END);
        }
        KernelLog(file)
    }

    /// The records written since, one per read.
    fn records(&mut self) -> Vec<String> {
        let mut records = Vec::new();
        let mut buffer = vec![0u8; 8192];
        loop {
            match self.0.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => records.push(String::from_utf8_lossy(&buffer[..n]).into_owned()),
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue, // overwritten
                Err(_) => break,                                             // EAGAIN: no more
            }
        }
        records
    }
}

/// `key=value` of an audit record.
fn field<'a>(record: &'a str, key: &str) -> Option<&'a str> {
    let start = record.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &record[start..];
    Some(rest.split(' ').next().unwrap_or("").trim_matches('"'))
}

/// Restores a sysctl when dropped.
struct Sysctl {
    path: &'static str,
    old: String,
}

impl Sysctl {
    fn set(path: &'static str, value: &str) -> Sysctl {
        let old = fs::read_to_string(path).unwrap();
        fs::write(path, value).unwrap();
        Sysctl { path, old }
    }
}

impl Drop for Sysctl {
    fn drop(&mut self) {
        let _ = fs::write(self.path, &self.old);
    }
}

fn bundle(dir: &Path, no_new_privileges: bool) {
    let rootfs = dir.join("rootfs");
    fs::create_dir_all(rootfs.join("bin")).unwrap();
    for sub in ["proc", "dev", "sys"] {
        fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("busybox-static");
    std::os::unix::fs::symlink("busybox", rootfs.join("bin/true")).unwrap();
    let status = Command::new("runc")
        .args(["spec", "--bundle"])
        .arg(dir)
        .status()
        .expect("runc");
    assert!(status.success());
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["/bin/true"]);
    config["process"]["noNewPrivileges"] = json!(no_new_privileges);
    config["root"] = json!({"path": rootfs, "readonly": true});
    config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_LOG",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [],
    });
    fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
}

/// The syscall names runc's init made under the filter, over `runs` runs.
fn derive(no_new_privileges: bool, runs: usize) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    bundle(dir.path(), no_new_privileges);
    let mut names = BTreeSet::new();
    for run in 0..runs {
        let mut log = KernelLog::open();
        let id = format!(
            "corral-base-{}-{no_new_privileges}-{run}",
            std::process::id()
        );
        let pid_file = dir.path().join("pid");
        let output = Command::new("runc")
            .arg("--root")
            .arg(dir.path().join("state"))
            .args(["run", "--pid-file"])
            .arg(&pid_file)
            .arg("--bundle")
            .arg(dir.path())
            .arg(&id)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let pid = fs::read_to_string(&pid_file).unwrap().trim().to_string();
        // The log is written synchronously by the syscalls themselves.
        for record in log.records() {
            if !record.contains("type=1326") || field(&record, "pid") != Some(pid.as_str()) {
                continue;
            }
            if field(&record, "comm") != Some("runc:[2:INIT]") {
                continue;
            }
            assert_eq!(field(&record, "arch"), Some("c000003e"), "{record}");
            let number: u32 = field(&record, "syscall").unwrap().parse().unwrap();
            let name = corral_record::Syscall::new(number, "x86_64", false)
                .name
                .unwrap_or_else(|| panic!("syscall {number} has no name"));
            names.insert(name);
        }
    }
    names
}

#[test]
fn runc_base_syscalls_are_recorded_and_within_the_data() {
    assert_eq!(unsafe { libc::geteuid() }, 0, "needs root (runc)");
    assert_eq!(
        std::env::consts::ARCH,
        "x86_64",
        "the derivation reads x86_64 audit records"
    );
    // The kernel rate-limits the audit records it prints without auditd.
    let _limit = Sysctl::set("/proc/sys/kernel/printk_ratelimit", "0");
    let version = String::from_utf8(
        Command::new("runc")
            .arg("--version")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let version = version
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("runc version "))
        .unwrap()
        .to_string();
    let update = std::env::var_os("CORRAL_UPDATE_BASE").is_some();
    let runs = if update { RUNS * 5 } else { RUNS };
    let mut derived = BTreeMap::new();
    for no_new_privileges in [true, false] {
        let names = derive(no_new_privileges, runs);
        assert!(names.contains("execve"), "{names:?}");
        derived.insert(no_new_privileges, names);
    }
    // Without noNewPrivileges runc installs the filter before it drops
    // privileges: more of its own syscalls pass through it.
    assert!(derived[&false].len() > derived[&true].len(), "{derived:?}");

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/runtime-base.json");
    if update {
        // Rare syscalls accumulate over updates: what was once seen stays.
        let previous = BaseSets::builtin();
        let sets = BaseSets {
            runtimes: derived
                .iter()
                .map(|(nnp, names)| {
                    let mut all = names.clone();
                    if let Some(old) = previous.find("runc", "x86_64", *nnp) {
                        all.extend(old.syscalls.iter().cloned());
                    }
                    RuntimeBase {
                        runtime: "runc".into(),
                        version: version.clone(),
                        architecture: "x86_64".into(),
                        no_new_privileges: *nnp,
                        syscalls: all.into_iter().collect(),
                    }
                })
                .collect(),
        };
        fs::write(&path, sets.to_json()).unwrap();
    }
    let data = BaseSets::builtin();
    for (nnp, names) in &derived {
        let base = data.find("runc", "x86_64", *nnp).unwrap();
        let missing: Vec<&String> = names
            .iter()
            .filter(|n| !base.syscalls.contains(n))
            .collect();
        assert!(
            missing.is_empty(),
            "runc {version} (noNewPrivileges {nnp}) made {missing:?}, which data/runtime-base.json lacks; rerun with CORRAL_UPDATE_BASE=1"
        );
    }
}
