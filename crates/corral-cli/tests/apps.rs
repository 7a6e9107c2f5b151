//! Proof on real applications (#28): servers from Debian packages, each
//! recorded by `corral record --containers` in a real runc container under
//! one traffic mix, advised (`corral advise seccomp`, `advise
//! securitycontext`), then run in runc exactly as advised (the profile,
//! capabilities, no privilege escalation, the user, a read-only root with
//! tmpfs for the advised writable directories) under a different
//! legitimate mix and an idle period in which the program does its own
//! scheduled work. It must keep answering correctly and its log must show
//! nothing refused or failed. Under the same profile, a program run in the
//! container is refused `unshare(CLONE_NEWUSER)`, which it is allowed
//! without it. When something went wrong, the failure says which server,
//! which phase and what, and the syscalls it made outside the profile: the
//! same run again, recorded, with the profile logging instead of refusing
//! (runc 1.1 cannot ask the kernel to log what an enforcing profile
//! refuses).
//!
//! redis (forks its scheduled background save), nginx as a reverse proxy
//! (multi-process: master, workers, cache manager), memcached (threaded),
//! PostgreSQL (multi-process: a backend per connection, background and
//! parallel workers, autovacuum) and lighttpd (one event loop).
//!
//! The containers' root is the host's Debian: `/usr` bind-mounted
//! read-only beside the usrmerge links, an `/etc` of the test's own, the
//! server's data on a volume. Each pod has its network namespace on a
//! bridge (`support::PodNetwork`); the clients run on the host. Needs root,
//! runc, a C compiler, curl and the servers (`scripts/test.sh` installs
//! them).

use std::collections::BTreeSet;
use std::fmt::Display;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod support;
use support::{
    apply, bundle, containerd_annotations, corral, finish, geteuid, succeed, PodNetwork, Recorder,
    Runtime,
};

/// The servers' user.
const UID: u32 = 1000;

/// How long a client waits for an answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// False, after saying so, when not root (and not in CI, which is root).
fn can_record() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root");
        eprintln!("skipped: recording needs root");
        return false;
    }
    true
}

/// What went wrong, phase by phase: the failure message.
struct Check {
    phase: &'static str,
    failures: Vec<String>,
}

impl Check {
    fn new(phase: &'static str) -> Check {
        Check {
            phase,
            failures: Vec::new(),
        }
    }

    fn fail(&mut self, what: impl Display) {
        self.failures.push(format!("[{}] {what}", self.phase));
    }

    /// `got` must be `want`.
    fn equal(&mut self, what: &str, got: &str, want: &str) -> bool {
        let ok = got == want;
        if !ok {
            self.fail(format_args!(
                "{what}: got {}, expected {}",
                short(got),
                short(want)
            ));
        }
        ok
    }

    /// `got` must contain `want`.
    fn contains(&mut self, what: &str, got: &str, want: &str) -> bool {
        let ok = got.contains(want);
        if !ok {
            self.fail(format_args!(
                "{what}: expected {} in {}",
                short(want),
                short(got)
            ));
        }
        ok
    }

    /// `ok` must hold; `detail` says what there was instead.
    fn that(&mut self, what: &str, ok: bool, detail: impl FnOnce() -> String) -> bool {
        if !ok {
            self.fail(format_args!("{what}: {}", detail()));
        }
        ok
    }

    /// The value of a client's result, or its error as a failure.
    fn ok<T>(&mut self, what: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.fail(format_args!("{what}: {error}"));
                None
            }
        }
    }

    /// The lines of a server's log that say something was refused or
    /// failed: `patterns` (case-insensitive) and the ones every server
    /// shares.
    fn log(&mut self, log: &str, patterns: &[&str], expected: &[&str]) {
        let common = [
            "operation not permitted",
            "eperm",
            "read-only file system",
            "permission denied",
            "bad system call",
        ];
        // Each line once (the first), with how many times it came: lines
        // are the same but for their numbers (times, process IDs).
        let mut found: Vec<(String, String, usize)> = Vec::new();
        for line in log.lines() {
            let lower = line.to_lowercase();
            // runc's own (it shares the standard error): removing the
            // cgroup of a container that exited is retried (and another
            // test's container may hold it).
            let runc = lower.starts_with("time=") && lower.contains("failed to remove");
            if !common.iter().chain(patterns).any(|p| lower.contains(p))
                || expected.iter().any(|e| lower.contains(e))
                || runc
            {
                continue;
            }
            let key: String = line.chars().filter(|c| !c.is_ascii_digit()).collect();
            match found.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, count)) => *count += 1,
                None => found.push((key, line.to_string(), 1)),
            }
        }
        for (_, message, count) in found.iter().take(12) {
            self.fail(format_args!("its log, {count} time(s): {}", short(message)));
        }
        if found.len() > 12 {
            self.fail(format_args!(
                "its log: {} more kinds of lines",
                found.len() - 12
            ));
        }
    }
}

/// `text` quoted, at most 600 characters of it.
fn short(text: &str) -> String {
    if text.chars().count() > 600 {
        let start: String = text.chars().take(600).collect();
        format!("{start:?}... ({} bytes)", text.len())
    } else {
        format!("{text:?}")
    }
}

/// What a client had read: quoted if short text, else its size.
fn excerpt(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.len() <= 300 => format!("{text:?}"),
        _ => format!("{} bytes", bytes.len()),
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A root filesystem of the host's Debian: the usrmerge links to `/usr`
/// (bind-mounted read-only by `Lab::bundle`), an `/etc` with the server's
/// user, the loader's cache, and the probe (`programs/unshare.c`).
fn debian_root(dir: &Path, user: &str) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for sub in [
        "usr",
        "etc",
        "proc",
        "dev",
        "sys",
        "tmp",
        "run",
        "var/log",
        "opt/probe",
    ] {
        fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    for (link, target) in [
        ("bin", "usr/bin"),
        ("lib", "usr/lib"),
        ("lib64", "usr/lib64"),
        ("sbin", "usr/sbin"),
    ] {
        std::os::unix::fs::symlink(target, rootfs.join(link)).unwrap();
    }
    let etc = rootfs.join("etc");
    fs::write(
        etc.join("passwd"),
        format!("root:x:0:0:root:/root:/usr/sbin/nologin\n{user}:x:{UID}:{UID}:{user}:/nonexistent:/usr/sbin/nologin\n"),
    )
    .unwrap();
    fs::write(etc.join("group"), format!("root:x:0:\n{user}:x:{UID}:\n")).unwrap();
    fs::write(etc.join("hosts"), "127.0.0.1 localhost\n").unwrap();
    fs::write(
        etc.join("nsswitch.conf"),
        "passwd: files\ngroup: files\nhosts: files\n",
    )
    .unwrap();
    fs::copy("/etc/ld.so.cache", etc.join("ld.so.cache")).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/programs/unshare.c");
    let status = Command::new("cc")
        .args([
            "-O1",
            "-static",
            "-nostdlib",
            "-no-pie",
            "-fno-stack-protector",
            "-o",
        ])
        .arg(rootfs.join("opt/probe/unshare"))
        .arg(&source)
        .status()
        .expect("a C compiler (cc)");
    assert!(status.success(), "cc {}", source.display());
    rootfs
}

/// The newest PostgreSQL's program `name`.
fn postgresql(name: &str) -> String {
    let mut versions: Vec<u32> = fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL (scripts/test.sh installs it)")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort();
    let version = versions.last().expect("a PostgreSQL version");
    format!("/usr/lib/postgresql/{version}/bin/{name}")
}

/// The seccomp profile and securityContext `corral advise` gave.
struct Advised {
    profile: Value,
    context: Value,
    advice: Value,
}

impl Advised {
    fn allowed(&self) -> usize {
        self.profile["syscalls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|rule| rule["action"] == "SCMP_ACT_ALLOW")
            .map(|rule| rule["names"].as_array().map_or(0, Vec::len))
            .sum()
    }
}

/// One server: its image, volumes, pod network and runtime.
struct Lab {
    name: &'static str,
    /// What kind of program it is, for the failure message.
    kind: &'static str,
    dir: tempfile::TempDir,
    rootfs: PathBuf,
    network: PodNetwork,
    subnet: u8,
    runtime: Runtime,
    port: u16,
    args: Vec<String>,
    volumes: Vec<(PathBuf, String)>,
    /// The signal that stops it cleanly.
    stop_signal: &'static str,
    /// Its log's lines that say something failed (lower case)...
    patterns: Vec<&'static str>,
    /// ...but for these, which the mixes cause.
    expected: Vec<&'static str>,
    /// Whether it answers (after it accepts connections).
    ready: fn(&Lab) -> bool,
    /// The container it runs in.
    running: String,
    started: Instant,
}

impl Lab {
    fn new(name: &'static str, kind: &'static str, subnet: u8, port: u16, binary: &str) -> Lab {
        let dir = tempfile::Builder::new()
            .disable_cleanup(std::env::var_os("CORRAL_KEEP").is_some())
            .tempdir()
            .unwrap();
        let rootfs = debian_root(dir.path(), name);
        let runtime = Runtime {
            root: dir.path().join("runc-state"),
            started: Vec::new(),
        };
        fs::create_dir_all(&runtime.root).unwrap();
        assert!(
            Path::new(binary).exists(),
            "{binary} ({name}): scripts/test.sh installs it"
        );
        Lab {
            name,
            kind,
            dir,
            rootfs,
            network: PodNetwork::new(subnet, 1),
            subnet,
            runtime,
            port,
            args: Vec::new(),
            volumes: Vec::new(),
            stop_signal: "TERM",
            patterns: Vec::new(),
            expected: Vec::new(),
            ready: |_| true,
            running: String::new(),
            started: Instant::now(),
        }
    }

    /// The server's address, from the host.
    fn ip(&self) -> String {
        format!("10.{}.0.2", self.subnet)
    }

    fn address(&self) -> String {
        format!("{}:{}", self.ip(), self.port)
    }

    /// The host's address on the pod network.
    fn host(&self) -> String {
        format!("10.{}.0.1", self.subnet)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address())
    }

    /// A file of the image (`path` relative to its root).
    fn file(&self, path: &str, contents: impl AsRef<[u8]>) {
        let path = self.rootfs.join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    /// A directory of the image owned by the server's user.
    fn owned(&self, path: &str) {
        let path = self.rootfs.join(path);
        fs::create_dir_all(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(UID), Some(UID)).unwrap();
    }

    /// A volume at `path`, the server's user's: its directory on the host.
    fn volume(&mut self, path: &str) -> PathBuf {
        let host = self
            .dir
            .path()
            .join(format!("volume{}", path.replace('/', "-")));
        fs::create_dir_all(&host).unwrap();
        std::os::unix::fs::chown(&host, Some(UID), Some(UID)).unwrap();
        self.volumes.push((host.clone(), path.to_string()));
        host
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The OCI bundle `name` running `args` (the server's if empty): `/usr`
    /// read-only, the volumes, the pod's network namespace.
    fn bundle(&self, name: &str, annotations: Value, args: &[&str]) -> PathBuf {
        let server: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let args = if args.is_empty() { &server[..] } else { args };
        let path = bundle(
            &self.path(name),
            &self.rootfs,
            args,
            annotations,
            Some(&self.network.path(0)),
            UID,
        );
        self.edit(&path, |config| {
            let mounts = config["mounts"].as_array_mut().unwrap();
            mounts.push(
                json!({"destination": "/usr", "type": "bind", "source": "/usr",
                "options": ["rbind", "ro", "nosuid", "nodev"]}),
            );
            for (host, destination) in &self.volumes {
                mounts.push(
                    json!({"destination": destination, "type": "bind", "source": host,
                    "options": ["rbind", "rw", "nosuid", "nodev"]}),
                );
            }
        });
        path
    }

    fn edit(&self, bundle: &Path, change: impl FnOnce(&mut Value)) {
        let path = bundle.join("config.json");
        let mut config: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        change(&mut config);
        fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    }

    /// Runs `args` in a container of their own to completion (before the
    /// recording: a database's initialisation).
    fn prepare(&mut self, args: &[&str]) {
        let path = self.bundle("prepare", json!({}), args);
        support::wait_for(
            self.runtime.start(&self.id("prepare"), &path),
            &args.join(" "),
        );
    }

    /// Starts the server as container `id` and waits until it answers (30
    /// s at most).
    fn serve(&mut self, id: &str, bundle: &Path, log: &Path) -> Result<Child, String> {
        self.running = id.to_string();
        let mut child = self.runtime.start_logged(id, bundle, log);
        let address: SocketAddr = self.address().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut accepting = false;
        loop {
            accepting =
                accepting || TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok();
            if accepting && (self.ready)(self) {
                return Ok(child);
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("it exited ({status}) before answering"));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "it did not answer in 30 s (accepting connections: {accepting})"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The container of `phase`: its name is its cgroup's, which must
    /// not be another test's.
    fn id(&self, phase: &str) -> String {
        format!("apps-{}-{}-{phase}", std::process::id(), self.name)
    }

    /// Sends `signal` to the server's container.
    fn signal(&self, signal: &str) -> Result<(), String> {
        let sent = self.runtime.kill(&self.running, signal);
        if sent.status.success() {
            Ok(())
        } else {
            Err(lossy(&sent.stderr))
        }
    }

    /// Stops container `id` with the server's signal: an error unless it
    /// exits with status 0 in 20 s.
    fn stop(&self, id: &str, mut child: Child) -> Result<(), String> {
        let sent = self.runtime.kill(id, self.stop_signal);
        if !sent.status.success() {
            let _ = child.kill();
            return Err(format!(
                "runc kill {id} {}: {}",
                self.stop_signal,
                lossy(&sent.stderr)
            ));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "SIG{} made it exit with {status}",
                        self.stop_signal
                    ))
                };
            }
            if Instant::now() > deadline {
                self.runtime.kill(id, "KILL");
                let _ = child.wait();
                return Err(format!("SIG{} did not stop it in 20 s", self.stop_signal));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Records the server under `mix` (the recording must go well: it has
    /// no policy yet), then asks `corral advise` for its policies.
    fn record(&mut self, mix: fn(&Lab, &mut Check)) -> Advised {
        let recordings = self.path("recordings");
        let recorder = Recorder::start(&self.runtime, &recordings);
        let pod = format!("{}-7d4b9c8f6d-x2x9q", self.name);
        let mut annotations = containerd_annotations("apps", &pod, self.name);
        annotations["io.kubernetes.cri.image-name"] = json!(format!("debian-{}", self.name));
        let bundle = self.bundle("record", annotations, &[]);
        let log = self.path("record.log");
        let mut check = Check::new("record");
        match self.serve(&self.id("record"), &bundle, &log) {
            Ok(child) => {
                mix(self, &mut check);
                if let Err(e) = self.stop(&self.id("record"), child) {
                    check.fail(e);
                }
            }
            Err(e) => check.fail(e),
        }
        recorder.stop();
        let log = fs::read_to_string(&log).unwrap_or_default();
        check.log(&log, &self.patterns, &self.expected);
        assert!(
            check.failures.is_empty(),
            "{}: the recording, with no policy yet, failed (the test's setup is wrong):\n  {}\nits log:\n{log}",
            self.name,
            check.failures.join("\n  ")
        );

        let profiles = self.path("profiles");
        succeed(
            Command::new(corral())
                .args(["advise", "seccomp", "--recording"])
                .arg(&recordings)
                .arg("-o")
                .arg(&profiles),
        );
        let written: Vec<PathBuf> = fs::read_dir(&profiles)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.to_string_lossy();
                !name.ends_with(".coverage.json") && !name.ends_with(".report.json")
            })
            .collect();
        assert_eq!(written.len(), 1, "one container, one profile: {written:?}");
        let profile: Value = serde_json::from_slice(&fs::read(&written[0]).unwrap()).unwrap();
        assert!(
            !["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"]
                .contains(&profile["defaultAction"].as_str().unwrap_or("")),
            "{}: a profile that refuses nothing proves nothing: {profile}",
            self.name
        );
        let stdout = succeed(
            Command::new(corral())
                .args([
                    "advise",
                    "securitycontext",
                    "--format",
                    "json",
                    "--recording",
                ])
                .arg(&recordings),
        );
        let advice: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(advice.as_array().map(Vec::len), Some(1), "{advice}");
        Advised {
            profile,
            context: advice[0]["securityContext"].clone(),
            advice: advice[0]["advice"].clone(),
        }
    }

    /// Runs the server exactly as advised under `mix`, then `idle`, then
    /// runs the probe in it; panics with everything that went wrong.
    fn replay(&mut self, advised: &Advised, mix: fn(&Lab, &mut Check), idle: fn(&Lab, &mut Check)) {
        // The volumes as the recording left them, for the diagnosis.
        for (host, _) in &self.volumes {
            support::run(
                "cp",
                &[
                    "-a",
                    &host.to_string_lossy(),
                    &format!("{}.before-replay", host.display()),
                ],
            );
        }
        let bundle = self.bundle("replay", json!({}), &[]);
        self.edit(&bundle, |config| {
            apply(
                config,
                &advised.context,
                &advised.advice,
                &advised.profile,
                &self.path("replay-empty-dirs"),
            );
        });
        let log = self.path("replay.log");
        let mut check = Check::new("start");
        match self.serve(&self.id("replay"), &bundle, &log) {
            Ok(child) => {
                check.phase = "mix";
                mix(self, &mut check);
                check.phase = "idle";
                idle(self, &mut check);
                check.phase = "attack surface";
                let probe = self
                    .runtime
                    .exec(&self.id("replay"), &["/opt/probe/unshare"], 20);
                check.equal(
                    "unshare(CLONE_NEWUSER) by a program run in the container under the profile",
                    &lossy(&probe.stdout),
                    "unshare: -1\n",
                );
                check.phase = "stop";
                if let Err(e) = self.stop(&self.id("replay"), child) {
                    check.fail(e);
                }
            }
            Err(e) => check.fail(e),
        }
        check.phase = "log";
        check.log(
            &fs::read_to_string(&log).unwrap_or_default(),
            &self.patterns,
            &self.expected,
        );
        if !check.failures.is_empty() {
            check.phase = "diagnosis";
            let mut unrefused = Vec::new();
            let outside = self.diagnose(advised, mix, idle, &mut unrefused);
            check.failures.extend(unrefused);
            match outside {
                Ok(outside) if outside.is_empty() => check.fail(
                    "with the profile logging instead of refusing, the same mix and idle period made no syscall outside it",
                ),
                Ok(outside) => check.fail(format_args!(
                    "with the profile logging instead of refusing, the same mix and idle period (recorded) made these syscalls outside it: {}",
                    outside.join(", ")
                )),
                Err(e) => check.fail(e),
            }
        }

        // The control: without the profile, the probe may unshare, so its
        // EPERM above is the profile's.
        check.phase = "control";
        let control = self.bundle("control", json!({}), &["/opt/probe/unshare"]);
        self.edit(&control, |config| {
            apply(
                config,
                &advised.context,
                &advised.advice,
                &advised.profile,
                &self.path("control-empty-dirs"),
            );
            config["linux"].as_object_mut().unwrap().remove("seccomp");
        });
        let (output, _) = finish(self.runtime.start(&self.id("control"), &control));
        check.equal(
            "unshare(CLONE_NEWUSER) by the probe without the profile",
            &output,
            "unshare: 0\n",
        );

        assert!(
            check.failures.is_empty(),
            "{} ({}) under its advised policies ({} syscalls allowed; {}; {}; {:.1} s):\n  {}",
            self.name,
            self.kind,
            advised.allowed(),
            advised.context,
            advised.advice["writable_directories"],
            self.started.elapsed().as_secs_f64(),
            check.failures.join("\n  ")
        );
    }

    /// The syscalls the server makes outside the profile: the replay
    /// again, from the volumes as the recording left them, recorded, with
    /// the profile logging what it would refuse.
    /// What went wrong even so goes to `failures`.
    fn diagnose(
        &mut self,
        advised: &Advised,
        mix: fn(&Lab, &mut Check),
        idle: fn(&Lab, &mut Check),
        failures: &mut Vec<String>,
    ) -> Result<Vec<String>, String> {
        for (host, _) in &self.volumes {
            let saved = format!("{}.before-replay", host.display());
            support::run("rm", &["-rf", &host.to_string_lossy()]);
            support::run("mv", &[&saved, &host.to_string_lossy()]);
        }
        let mut profile = advised.profile.clone();
        profile["defaultAction"] = json!("SCMP_ACT_LOG");
        profile.as_object_mut().unwrap().remove("defaultErrnoRet");
        let pod = format!("{}-7d4b9c8f6d-d1agn", self.name);
        let bundle = self.bundle(
            "diagnose",
            containerd_annotations("apps", &pod, self.name),
            &[],
        );
        self.edit(&bundle, |config| {
            apply(
                config,
                &advised.context,
                &advised.advice,
                &profile,
                &self.path("diagnose-empty-dirs"),
            );
        });
        let recordings = self.path("diagnosis");
        let recorder = Recorder::start(&self.runtime, &recordings);
        let mut unrefused = Check::new("diagnosis, nothing refused: start");
        match self.serve(&self.id("diagnose"), &bundle, &self.path("diagnose.log")) {
            Ok(child) => {
                unrefused.phase = "diagnosis, nothing refused: mix";
                mix(self, &mut unrefused);
                unrefused.phase = "diagnosis, nothing refused: idle";
                idle(self, &mut unrefused);
                unrefused.phase = "diagnosis, nothing refused: stop";
                if let Err(e) = self.stop(&self.id("diagnose"), child) {
                    unrefused.fail(e);
                }
            }
            Err(e) => unrefused.fail(e),
        }
        recorder.stop();
        failures.extend(unrefused.failures);
        let allowed: BTreeSet<&str> = advised.profile["syscalls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|rule| rule["action"] == "SCMP_ACT_ALLOW")
            .flat_map(|rule| rule["names"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        let mut outside = BTreeSet::new();
        for entry in
            fs::read_dir(&recordings).map_err(|e| format!("{}: {e}", recordings.display()))?
        {
            let recording: Value =
                serde_json::from_slice(&fs::read(entry.unwrap().path()).unwrap()).unwrap();
            for syscall in recording["workload"]["syscalls"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let name = syscall["name"]
                    .as_str()
                    .map_or_else(|| format!("syscall {}", syscall["number"]), str::to_string);
                if !allowed.contains(name.as_str()) {
                    outside.insert(name);
                }
            }
        }
        Ok(outside.into_iter().collect())
    }
}

fn connect(address: &str) -> Result<TcpStream, String> {
    let parsed: SocketAddr = address.parse().unwrap();
    let stream = TcpStream::connect_timeout(&parsed, CLIENT_TIMEOUT)
        .map_err(|e| format!("connect {address}: {e}"))?;
    stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(CLIENT_TIMEOUT)).unwrap();
    Ok(stream)
}

/// Reads from `stream` into `answer` until `done` says it is complete or
/// the server closes the connection.
fn read_until(
    stream: &mut TcpStream,
    answer: &mut Vec<u8>,
    done: impl Fn(&[u8]) -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let mut buffer = vec![0u8; 65536];
    while !done(answer) {
        if Instant::now() > deadline || answer.len() > 64 << 20 {
            return Err(format!("no complete answer in 5 s: {}", excerpt(answer)));
        }
        match stream.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
            Err(e) => return Err(format!("{e}, after {}", excerpt(answer))),
        }
    }
    Ok(())
}

/// Sends `request` on a new connection and reads until `done` or the
/// server closes it.
fn converse(
    address: &str,
    request: &[u8],
    done: impl Fn(&[u8]) -> bool,
) -> Result<Vec<u8>, String> {
    let mut stream = connect(address)?;
    stream
        .write_all(request)
        .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    read_until(&mut stream, &mut answer, done)?;
    Ok(answer)
}

/// Sends `request` (which ends with the protocol's quit) and reads until
/// the server closes the connection.
fn exchange(address: &str, request: &[u8]) -> Result<String, String> {
    converse(address, request, |_| false).map(|a| lossy(&a))
}

/// Closes `stream` with a reset, as a client that crashed does.
fn reset(stream: TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket and a linger of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    drop(stream);
}

/// Deterministic bytes, `length` of them.
fn pattern(length: usize) -> Vec<u8> {
    (0..length)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 11)) as u8)
        .collect()
}

fn sum(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&b| u64::from(b)).sum()
}

/// `curl -sS --max-time 10 ARGS`: its standard output.
fn curl(args: &[&str]) -> Result<String, String> {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl (scripts/test.sh installs it)");
    if output.status.success() {
        Ok(lossy(&output.stdout))
    } else {
        Err(format!(
            "curl {}: {} {}",
            args.join(" "),
            output.status,
            lossy(&output.stderr).trim()
        ))
    }
}

/// One HTTP response: status, head (status line and headers), body.
struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then_some(value.trim())
    })
}

fn fill(stream: &mut TcpStream, pending: &mut Vec<u8>) -> Result<(), String> {
    let mut buffer = vec![0u8; 65536];
    match stream.read(&mut buffer) {
        Ok(0) => Err(format!(
            "the server closed the connection after {}",
            excerpt(pending)
        )),
        Ok(n) if pending.len() < 64 << 20 => {
            pending.extend_from_slice(&buffer[..n]);
            Ok(())
        }
        Ok(_) => Err("more than 64 MiB".into()),
        Err(e) => Err(format!("{e}, after {}", excerpt(pending))),
    }
}

/// The next response on `stream`; `pending` holds what was read past the
/// previous one.
fn read_response(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    head_only: bool,
) -> Result<Response, String> {
    let find = |bytes: &[u8], what: &[u8]| bytes.windows(what.len()).position(|w| w == what);
    let end = loop {
        if let Some(at) = find(pending, b"\r\n\r\n") {
            break at + 4;
        }
        fill(stream, pending)?;
    };
    let head = lossy(&pending[..end]);
    pending.drain(..end);
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP response: {}", short(&head)))?;
    let mut body = Vec::new();
    if head_only || status == 100 || status == 204 || status == 304 {
    } else if let Some(length) = header(&head, "content-length").and_then(|l| l.parse().ok()) {
        while pending.len() < length {
            fill(stream, pending)?;
        }
        body = pending.drain(..length).collect();
    } else if header(&head, "transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let line_end = loop {
                if let Some(at) = find(pending, b"\r\n") {
                    break at;
                }
                fill(stream, pending)?;
            };
            let size_text = lossy(&pending[..line_end]);
            let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                .map_err(|_| format!("a chunk's size: {}", short(&size_text)))?;
            while pending.len() < line_end + 2 + size + 2 {
                fill(stream, pending)?;
            }
            body.extend_from_slice(&pending[line_end + 2..line_end + 2 + size]);
            pending.drain(..line_end + 2 + size + 2);
            if size == 0 {
                break;
            }
        }
    } else {
        // Until the server closes the connection.
        while fill(stream, pending).is_ok() {}
        body = std::mem::take(pending);
    }
    Ok(Response { status, head, body })
}

/// A new connection's answer to `request` (HTTP/1.1).
fn http(address: &str, request: &str) -> Result<Response, String> {
    let mut stream = connect(address)?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    read_response(&mut stream, &mut Vec::new(), request.starts_with("HEAD "))
}

/// Whether an idle keep-alive connection was closed by the server: it
/// reads the end of the stream.
fn closed_by_server(stream: &mut TcpStream) -> Result<(), String> {
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => Ok(()),
        Ok(_) => Err("it sent more on the idle connection".into()),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(()),
        Err(e) => Err(format!("the idle connection is still open: {e}")),
    }
}

// ---------------------------------------------------------------- redis

/// Commands in the inline protocol and the replies expected.
#[derive(Default)]
struct Pipeline {
    request: String,
    reply: String,
}

impl Pipeline {
    fn command(&mut self, command: &str, reply: &str) -> &mut Pipeline {
        self.request.push_str(command);
        self.request.push_str("\r\n");
        self.reply.push_str(reply);
        self
    }

    /// Sent at once, then QUIT: the replies must be the expected ones.
    fn check(&mut self, lab: &Lab, check: &mut Check, what: &str) {
        self.command("QUIT", "+OK\r\n");
        if let Some(reply) = check.ok(what, exchange(&lab.address(), self.request.as_bytes())) {
            check.equal(what, &reply, &self.reply);
        }
    }
}

/// A command in Redis's protocol (RESP): for values of any bytes.
fn resp(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len()).into_bytes();
    for part in parts {
        out.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn redis_info(lab: &Lab, field: &str) -> Result<String, String> {
    let reply = exchange(&lab.address(), b"INFO persistence\r\nQUIT\r\n")?;
    reply
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(str::to_string)
        .ok_or_else(|| format!("no {field} in INFO: {}", short(&reply)))
}

/// SET and GET, a connection each few.
fn redis_record(lab: &Lab, check: &mut Check) {
    for connection in 0..5 {
        let mut pipeline = Pipeline::default();
        for key in 0..10 {
            let value = format!("value-{connection}-{key}");
            pipeline
                .command(&format!("SET key:{connection}:{key} {value}"), "+OK\r\n")
                .command(
                    &format!("GET key:{connection}:{key}"),
                    &format!("${}\r\n{value}\r\n", value.len()),
                );
        }
        pipeline.check(lab, check, "SET and GET");
    }
}

/// Counters, appends, hashes, lists, a transaction, keys that expire, a
/// large value, a blocked client woken by another, a client that resets
/// mid-command: other code paths than SET and GET.
fn redis_mix(lab: &Lab, check: &mut Check) {
    let mut pipeline = Pipeline::default();
    for i in 1..=50 {
        pipeline
            .command("INCR counter", &format!(":{i}\r\n"))
            .command("APPEND log x", &format!(":{i}\r\n"));
    }
    pipeline
        .command("GET key:0:0", "$9\r\nvalue-0-0\r\n")
        .command("MSET a 1 b 2", "+OK\r\n")
        .command("MGET a b nothing", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n")
        .command("HSET h f1 v1 f2 v2", ":2\r\n")
        .command("HGET h f2", "$2\r\nv2\r\n")
        .command("RPUSH l one two three", ":3\r\n")
        .command(
            "LRANGE l 0 -1",
            "*3\r\n$3\r\none\r\n$3\r\ntwo\r\n$5\r\nthree\r\n",
        )
        .command("SADD s x y x", ":2\r\n")
        .command("MULTI", "+OK\r\n")
        .command("INCRBY counter 10", "+QUEUED\r\n")
        .command("DECR counter", "+QUEUED\r\n")
        .command("EXEC", "*2\r\n:60\r\n:59\r\n")
        .command("EXPIRE a 1000", ":1\r\n")
        .command("PERSIST a", ":1\r\n");
    // Keys the server's own expiry cycle removes during the idle period.
    for i in 0..20 {
        pipeline.command(&format!("SET ephemeral:{i} x PX 300"), "+OK\r\n");
    }
    pipeline.check(
        lab,
        check,
        "a pipeline of INCR, APPEND, MSET, HSET, RPUSH, MULTI...",
    );

    let large = pattern(1 << 20);
    let mut request = resp(&[b"SET", b"large", &large]);
    request.extend(resp(&[b"STRLEN", b"large"]));
    request.extend(resp(&[b"GETRANGE", b"large", b"1000", b"1003"]));
    request.extend(resp(&[b"QUIT"]));
    if let Some(reply) = check.ok("a 1 MiB value", exchange(&lab.address(), &request)) {
        let want = format!(
            "+OK\r\n:{}\r\n$4\r\n{}\r\n+OK\r\n",
            large.len(),
            lossy(&large[1000..1004])
        );
        check.equal("a 1 MiB value", &reply, &want);
    }

    // A client blocked in BLPOP, woken by another's RPUSH.
    let address = lab.address();
    let blocked = std::thread::spawn(move || exchange(&address, b"BLPOP queue 5\r\nQUIT\r\n"));
    std::thread::sleep(Duration::from_millis(300));
    Pipeline::default()
        .command("RPUSH queue job", ":1\r\n")
        .check(lab, check, "RPUSH to a blocked client");
    if let Some(reply) = check.ok("BLPOP", blocked.join().unwrap()) {
        check.equal(
            "BLPOP woken by RPUSH",
            &reply,
            "*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n+OK\r\n",
        );
    }

    // A client that resets the connection mid-command.
    if let Some(mut stream) = check.ok("connect", connect(&lab.address())) {
        let _ = stream.write_all(b"*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$100\r\nabc");
        std::thread::sleep(Duration::from_millis(100));
        reset(stream);
    }
    Pipeline::default()
        .command("PING", "+PONG\r\n")
        .command("EXISTS torn", ":0\r\n")
        .check(lab, check, "after a client reset mid-command");
}

/// The scheduled background save (`save 5 1`: a fork) and the expiry
/// cycle, then a BGSAVE asked for; writes go on being accepted.
fn redis_idle(lab: &Lab, check: &mut Check) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let saves = redis_info(lab, "rdb_saves");
        let status = redis_info(lab, "rdb_last_bgsave_status");
        let in_progress = redis_info(lab, "rdb_bgsave_in_progress");
        match (saves, status, in_progress) {
            (_, Ok(status), _) if status != "ok" => {
                check.fail(format_args!(
                    "the scheduled background save failed: rdb_last_bgsave_status:{status}"
                ));
                break;
            }
            (Ok(saves), _, Ok(in_progress)) if saves != "0" && in_progress == "0" => break,
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                check.fail(format_args!("INFO persistence: {e}"));
                break;
            }
            _ if Instant::now() > deadline => {
                check.fail("the scheduled background save (save 5 1) did not happen in 20 s");
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(250)),
        }
    }
    Pipeline::default()
        .command("DBSIZE", ":58\r\n")
        .command("SET after-idle 1", "+OK\r\n")
        .command("GET counter", "$2\r\n59\r\n")
        .command("STRLEN log", ":50\r\n")
        .command("BGSAVE", "+Background saving started\r\n")
        .check(
            lab,
            check,
            "after the idle period: the expired keys gone, writes accepted, BGSAVE",
        );
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis_info(lab, "rdb_bgsave_in_progress").as_deref() == Ok("1")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Some(status) = check.ok("INFO", redis_info(lab, "rdb_last_bgsave_status")) {
        check.equal("the BGSAVE's status", &status, "ok");
    }
    if let Some(saves) = check.ok("INFO", redis_info(lab, "rdb_saves")) {
        check.equal("the saves (scheduled, BGSAVE)", &saves, "2");
    }
}

#[test]
fn redis_forking_its_background_save_keeps_working_under_its_advised_policies() {
    if !can_record() {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new("redis", "forking", 141, 6379, "/usr/bin/redis-server");
    lab.file(
        "etc/redis/redis.conf",
        "bind 0.0.0.0\nport 6379\nprotected-mode no\ndaemonize no\nlogfile \"\"\ndir /data\n\
         dbfilename dump.rdb\nmaxclients 900\nsave 5 1\nappendonly no\nhz 20\n",
    );
    lab.volume("/data");
    lab.args = vec![
        "/usr/bin/redis-server".into(),
        "/etc/redis/redis.conf".into(),
    ];
    lab.patterns = vec!["can't save", "misconf", "failed", "fork:"];
    let advised = lab.record(redis_record);
    lab.replay(&advised, redis_mix, redis_idle);
    eprintln!("redis: {:.1} s", started.elapsed().as_secs_f64());
}

// ------------------------------------------------------------ memcached

/// `set`s and `get`s in the text protocol, a connection each few.
fn memcached_record(lab: &Lab, check: &mut Check) {
    for connection in 0..5 {
        let mut request = String::new();
        let mut want = String::new();
        for key in 0..10 {
            let value = format!("value-{connection}-{key}");
            request.push_str(&format!(
                "set key:{connection}:{key} 0 0 {}\r\n{value}\r\nget key:{connection}:{key}\r\n",
                value.len()
            ));
            want.push_str(&format!(
                "STORED\r\nVALUE key:{connection}:{key} 0 {}\r\n{value}\r\nEND\r\n",
                value.len()
            ));
        }
        request.push_str("quit\r\n");
        if let Some(reply) = check.ok("set and get", exchange(&lab.address(), request.as_bytes())) {
            check.equal("set and get", &reply, &want);
        }
    }
}

/// A binary-protocol packet: `opcode`, `extras`, `key`, `value`.
fn binary(opcode: u8, extras: &[u8], key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = extras.len() + key.len() + value.len();
    let mut packet = vec![0x80, opcode];
    packet.extend_from_slice(&(key.len() as u16).to_be_bytes());
    packet.push(extras.len() as u8);
    packet.extend_from_slice(&[0, 0, 0]);
    packet.extend_from_slice(&(body as u32).to_be_bytes());
    packet.extend_from_slice(&[0; 12]);
    packet.extend_from_slice(extras);
    packet.extend_from_slice(key);
    packet.extend_from_slice(value);
    packet
}

/// The binary-protocol responses in `bytes`: opcode, status, key, value.
fn binary_responses(mut bytes: &[u8]) -> Result<Vec<(u8, u16, String, String)>, String> {
    let mut responses = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 24 || bytes[0] != 0x81 {
            return Err(format!("not a binary response: {bytes:?}"));
        }
        let key = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        let extras = usize::from(bytes[4]);
        let status = u16::from_be_bytes([bytes[6], bytes[7]]);
        let body = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
        if bytes.len() < 24 + body || body < extras + key {
            return Err(format!("a truncated binary response: {bytes:?}"));
        }
        let payload = &bytes[24..24 + body];
        responses.push((
            bytes[1],
            status,
            lossy(&payload[extras..extras + key]),
            lossy(&payload[extras + key..]),
        ));
        bytes = &bytes[24 + body..];
    }
    Ok(responses)
}

/// Multi-gets, CAS, counters, append, touch, delete, the meta protocol,
/// a large value, the binary protocol, many clients at once, statistics,
/// the LRU crawler's dump, a watcher fed by the logger thread.
fn memcached_mix(lab: &Lab, check: &mut Check) {
    let address = lab.address();
    let text = "set a 1 0 1\r\nA\r\nset b 2 0 1\r\nB\r\nset n 0 0 2\r\n10\r\nget a b c\r\n\
                incr n 5\r\ndecr n 2\r\nappend a 0 0 2\r\nzz\r\nprepend a 0 0 1\r\n<\r\nget a\r\n\
                touch b 1000\r\ndelete b\r\nget b\r\nset ttl 0 1 1\r\nx\r\n\
                ms meta 2 T0\r\nhi\r\nmg meta v\r\nmn\r\nquit\r\n";
    if let Some(reply) = check.ok("text commands", exchange(&address, text.as_bytes())) {
        check.equal(
            "get a b c, incr, decr, append, prepend, touch, delete, ms, mg, mn",
            &reply,
            "STORED\r\nSTORED\r\nSTORED\r\nVALUE a 1 1\r\nA\r\nVALUE b 2 1\r\nB\r\nEND\r\n\
             15\r\n13\r\nSTORED\r\nSTORED\r\nVALUE a 1 4\r\n<Azz\r\nEND\r\n\
             TOUCHED\r\nDELETED\r\nEND\r\nSTORED\r\nHD\r\nVA 2\r\nhi\r\nMN\r\n",
        );
    }

    // gets, then cas with its unique on the same connection.
    if let Some(mut stream) = check.ok("connect", connect(&address)) {
        let mut answer = Vec::new();
        let _ = stream.write_all(b"gets n\r\n");
        if let Some(()) = check.ok(
            "gets",
            read_until(&mut stream, &mut answer, |a| a.ends_with(b"END\r\n")),
        ) {
            let text = lossy(&answer);
            let unique = text
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(4))
                .unwrap_or("0")
                .to_string();
            let mut answer = Vec::new();
            let _ = stream
                .write_all(format!("cas n 0 0 2 {unique}\r\n42\r\nget n\r\nquit\r\n").as_bytes());
            if let Some(()) = check.ok("cas", read_until(&mut stream, &mut answer, |_| false)) {
                check.equal(
                    "cas with gets' unique",
                    &lossy(&answer),
                    "STORED\r\nVALUE n 0 2\r\n42\r\nEND\r\n",
                );
            }
        }
    }

    // A 900 KiB value: chunked items.
    let large = pattern(900 << 10);
    let mut request = format!("set large 0 0 {}\r\n", large.len()).into_bytes();
    request.extend_from_slice(&large);
    request.extend_from_slice(b"\r\nget large\r\nquit\r\n");
    if let Some(reply) = check.ok("a 900 KiB value", converse(&address, &request, |_| false)) {
        let mut want = format!("STORED\r\nVALUE large 0 {}\r\n", large.len()).into_bytes();
        want.extend_from_slice(&large);
        want.extend_from_slice(b"\r\nEND\r\n");
        check.that("a 900 KiB value set and read back", reply == want, || {
            format!("{} bytes back", reply.len())
        });
    }

    // The binary protocol: set, get, noop, quit.
    let mut request = binary(0x01, &[0, 0, 0, 7, 0, 0, 0, 0], b"bin", b"binary value");
    request.extend(binary(0x00, &[], b"bin", b""));
    request.extend(binary(0x0a, &[], b"", b""));
    request.extend(binary(0x07, &[], b"", b""));
    if let Some(reply) = check.ok(
        "the binary protocol",
        converse(&address, &request, |_| false),
    ) {
        match binary_responses(&reply) {
            Ok(responses) => {
                let summary: Vec<String> = responses
                    .iter()
                    .map(|(op, status, _, value)| format!("{op:#04x} {status} {value}"))
                    .collect();
                check.equal(
                    "binary set, get, noop, quit",
                    &summary.join("; "),
                    "0x01 0 ; 0x00 0 binary value; 0x0a 0 ; 0x07 0 ",
                );
            }
            Err(e) => check.fail(format_args!("the binary protocol: {e}")),
        }
    }

    // Many clients at once, on the worker threads.
    let clients: Vec<_> = (0..16)
        .map(|i| {
            let address = address.clone();
            std::thread::spawn(move || {
                let request = format!("set c{i} 0 0 2\r\n{i:02}\r\nget c{i}\r\nquit\r\n");
                (i, exchange(&address, request.as_bytes()))
            })
        })
        .collect();
    for client in clients {
        let (i, reply) = client.join().unwrap();
        if let Some(reply) = check.ok("concurrent clients", reply) {
            check.equal(
                "a concurrent client",
                &reply,
                &format!("STORED\r\nVALUE c{i} 0 2\r\n{i:02}\r\nEND\r\n"),
            );
        }
    }

    // Statistics, and the crawler's dump of every key.
    for (command, want) in [
        ("stats", "STAT rusage_user "),
        ("stats slabs", "STAT active_slabs "),
        ("stats items", ":number "),
        ("stats settings", "STAT lru_crawler yes"),
        ("stats conns", ":state "),
    ] {
        let reply = converse(&address, format!("{command}\r\n").as_bytes(), |a| {
            a.ends_with(b"END\r\n")
        });
        if let Some(reply) = check.ok(command, reply) {
            check.contains(command, &lossy(&reply), want);
        }
    }
    let dump = converse(&address, b"lru_crawler metadump all\r\n", |a| {
        a.ends_with(b"END\r\n")
    });
    if let Some(dump) = check.ok("lru_crawler metadump all", dump) {
        check.contains("lru_crawler metadump all", &lossy(&dump), "key=large ");
    }

    // A watcher, fed by the logger thread with another client's fetches.
    if let Some(mut watcher) = check.ok("connect", connect(&address)) {
        let mut seen = Vec::new();
        let _ = watcher.write_all(b"watch fetchers\r\n");
        if check
            .ok(
                "watch fetchers",
                read_until(&mut watcher, &mut seen, |a| a.ends_with(b"OK\r\n")),
            )
            .is_some()
        {
            let _ = exchange(&address, b"get a\r\nquit\r\n");
            let found = read_until(&mut watcher, &mut seen, |a| lossy(a).contains("key=a "));
            if check.ok("the watcher", found).is_some() {
                check.contains("the watcher's log of a fetch", &lossy(&seen), "key=a ");
            }
        }
    }
}

/// The server's clock and expiry: a key set to live 1 s is gone; the
/// crawler runs when asked; the rest is still there.
fn memcached_idle(lab: &Lab, check: &mut Check) {
    std::thread::sleep(Duration::from_secs(3));
    let request = "get ttl\r\nlru_crawler crawl all\r\nget a c3\r\nquit\r\n";
    if let Some(reply) = check.ok(
        "after the idle period",
        exchange(&lab.address(), request.as_bytes()),
    ) {
        check.equal(
            "after the idle period: the expired key gone, the crawler started, the rest there",
            &reply,
            "END\r\nOK\r\nVALUE a 1 4\r\n<Azz\r\nVALUE c3 0 2\r\n03\r\nEND\r\n",
        );
    }
}

#[test]
fn memcached_threaded_keeps_working_under_its_advised_policies() {
    if !can_record() {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new("memcached", "threaded", 142, 11211, "/usr/bin/memcached");
    lab.args = [
        "/usr/bin/memcached",
        "-l",
        "0.0.0.0",
        "-p",
        "11211",
        "-U",
        "0",
        "-t",
        "4",
        "-m",
        "64",
        "-c",
        "512",
    ]
    .map(String::from)
    .to_vec();
    lab.patterns = vec!["failed", "error"];
    let advised = lab.record(memcached_record);
    lab.replay(&advised, memcached_mix, memcached_idle);
    eprintln!("memcached: {:.1} s", started.elapsed().as_secs_f64());
}

// ----------------------------------------------------------- PostgreSQL

/// `psql` with `sql` on its standard input (stopping at the first error):
/// its output, unaligned, tuples only.
fn psql(lab: &Lab, sql: &str) -> Result<String, String> {
    psql_at(&lab.ip(), sql)
}

fn psql_at(ip: &str, sql: &str) -> Result<String, String> {
    let mut child = Command::new("timeout")
        .arg("30")
        .arg(postgresql("psql"))
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", ip])
        .args(["-U", "postgres", "-d", "postgres", "-f", "-"])
        .env("PGCONNECT_TIMEOUT", "5")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql (scripts/test.sh installs PostgreSQL)");
    // (If it exits early, its output says why.)
    let _ = child.stdin.take().unwrap().write_all(sql.as_bytes());
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(lossy(&output.stdout))
    } else {
        Err(format!(
            "psql ({}): {}{}",
            output.status,
            lossy(&output.stdout),
            lossy(&output.stderr).trim()
        ))
    }
}

/// Simple SELECTs, a connection (a backend) each.
fn postgresql_record(lab: &Lab, check: &mut Check) {
    for _ in 0..4 {
        let sql = "SELECT 1;\nSELECT count(*) > 0 FROM pg_class;\nSELECT current_user;\n";
        if let Some(out) = check.ok("SELECT", psql(lab, sql)) {
            check.equal("simple SELECTs", &out, "1\nt\npostgres\n");
        }
    }
}

/// DDL, INSERT and COPY, an index, a sort spilling to temporary files, a
/// parallel query (background workers), CHECKPOINT, VACUUM, two
/// connections at once with LISTEN/NOTIFY, a client that resets in its
/// startup packet; a table whose churn autovacuum must clean while idle.
fn postgresql_mix(lab: &Lab, check: &mut Check) {
    let sql = "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20000) g;
COPY items FROM STDIN;
20001\tcopied one
20002\tcopied two
\\.
CREATE INDEX items_name ON items (name);
SELECT count(*), sum(id) FROM items;
SET work_mem = '64kB';
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT name FROM items ORDER BY reverse(name);
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM items;
CHECKPOINT;
VACUUM ANALYZE items;
CREATE TABLE churn (id int, v text) WITH (autovacuum_vacuum_threshold = 10,
  autovacuum_vacuum_scale_factor = 0, autovacuum_analyze_threshold = 10,
  autovacuum_analyze_scale_factor = 0);
INSERT INTO churn SELECT g, 'v' FROM generate_series(1, 1000) g;
DELETE FROM churn WHERE id % 2 = 0;
";
    if let Some(out) = check.ok("DDL, INSERT, COPY, sort, parallel query", psql(lab, sql)) {
        check.contains(
            "count and sum after INSERT and COPY",
            &out,
            "20002|200050003\n",
        );
        check.contains(
            "a sort larger than work_mem",
            &out,
            "Sort Method: external merge",
        );
        check.contains("a parallel query's workers", &out, "Workers Launched: 2");
    }

    // Two connections at once: one listens, the other notifies.
    let ip = lab.ip();
    let listener = std::thread::spawn(move || {
        psql_at(
            &ip,
            "LISTEN jobs;\nSELECT pg_sleep(1.5);\nSELECT 'after';\n",
        )
    });
    std::thread::sleep(Duration::from_millis(500));
    if let Some(out) = check.ok(
        "the second connection",
        psql(
            lab,
            "INSERT INTO items VALUES (30000, 'concurrent');\nNOTIFY jobs, 'ready';\n",
        ),
    ) {
        check.equal("the second connection", &out, "");
    }
    if let Some(out) = check.ok("the listening connection", listener.join().unwrap()) {
        check.contains(
            "the listening connection's notification",
            &out,
            "Asynchronous notification \"jobs\" with payload \"ready\" received",
        );
    }

    // A client that resets in the middle of its startup packet.
    if let Some(mut stream) = check.ok("connect", connect(&lab.address())) {
        let _ = stream.write_all(&[0, 0, 0, 80, 0, 3, 0, 0, b'u']);
        std::thread::sleep(Duration::from_millis(100));
        reset(stream);
    }
}

/// Autovacuum (a worker forked every `autovacuum_naptime`) cleans the
/// churned table; everything written is still there.
fn postgresql_idle(lab: &Lab, check: &mut Check) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let sql = "SELECT coalesce(autovacuum_count, 0) + coalesce(autoanalyze_count, 0) > 0 \
               FROM pg_stat_user_tables WHERE relname = 'churn';\n";
    loop {
        match psql(lab, sql) {
            Ok(out) if out == "t\n" => break,
            Ok(out) if out.is_empty() => {
                check.fail("the churned table is not there (the mix did not finish)");
                break;
            }
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(500)),
            Ok(out) => {
                check.fail(format_args!(
                    "autovacuum did not process the churned table in 20 s: {}",
                    short(&out)
                ));
                break;
            }
            Err(e) => {
                check.fail(format_args!("pg_stat_user_tables: {e}"));
                break;
            }
        }
    }
    let sql = "SELECT count(*) FROM items;\nSELECT count(*) FROM churn;\nSELECT name FROM items WHERE id = 20002;\n";
    if let Some(out) = check.ok("after the idle period", psql(lab, sql)) {
        check.equal("after the idle period", &out, "20003\n500\ncopied two\n");
    }
}

#[test]
fn postgresql_multi_process_keeps_working_under_its_advised_policies() {
    if !can_record() {
        return;
    }
    let started = Instant::now();
    let postgres = postgresql("postgres");
    let mut lab = Lab::new("postgresql", "multi-process", 143, 5432, &postgres);
    let data = lab.volume("/data");
    let initdb = postgresql("initdb");
    lab.prepare(&[
        &initdb,
        "-D",
        "/data/main",
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    let mut hba = fs::OpenOptions::new()
        .append(true)
        .open(data.join("main/pg_hba.conf"))
        .unwrap();
    writeln!(hba, "host all all 10.143.0.1/32 trust").unwrap();
    lab.args = [
        &postgres,
        "-D",
        "/data/main",
        "-c",
        "listen_addresses=0.0.0.0",
        "-c",
        "unix_socket_directories=",
        "-c",
        "autovacuum_naptime=1",
        "-c",
        "log_autovacuum_min_duration=0",
        "-c",
        "log_checkpoints=on",
        "-c",
        "max_parallel_workers_per_gather=2",
    ]
    .map(String::from)
    .to_vec();
    lab.stop_signal = "INT";
    lab.expected = vec!["could not receive data from client: connection reset by peer"];
    lab.ready = |lab| psql(lab, "SELECT 1;\n").is_ok();
    lab.patterns = vec![
        "could not",
        "panic",
        "error:",
        // (The logical replication launcher exits with 1 at every
        // shutdown: not a failure.)
        "terminated by signal",
    ];
    let advised = lab.record(postgresql_record);
    lab.replay(&advised, postgresql_mix, postgresql_idle);
    eprintln!("postgresql: {:.1} s", started.elapsed().as_secs_f64());
}

// ------------------------------------------------------------ HTTP mixes

/// The size, sum and first line of a response body, as the backend and
/// the checks say them.
fn body_summary(body: &[u8]) -> String {
    format!("{} bytes, sum {}", body.len(), sum(body))
}

/// A POST with `Expect: 100-continue`: the interim response must come
/// before the body is sent. The final response.
fn post_expecting_continue(address: &str, path: &str, body: &[u8]) -> Result<Response, String> {
    let mut stream = connect(address)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut pending = Vec::new();
    let interim = read_response(&mut stream, &mut pending, false)?;
    if interim.status != 100 {
        return Err(format!(
            "no 100 Continue before the body: {}",
            short(&interim.head)
        ));
    }
    stream
        .write_all(body)
        .map_err(|e| format!("send the body: {e}"))?;
    read_response(&mut stream, &mut pending, false)
}

/// Two requests pipelined on one connection: both responses' statuses
/// and bodies.
fn pipelined(address: &str, first: &str, second: &str) -> Result<String, String> {
    let mut stream = connect(address)?;
    let request = format!(
        "GET {first} HTTP/1.1\r\nHost: test\r\n\r\nGET {second} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut pending = Vec::new();
    let a = read_response(&mut stream, &mut pending, false)?;
    let b = read_response(&mut stream, &mut pending, false)?;
    Ok(format!(
        "{} {}{} {}",
        a.status,
        lossy(&a.body),
        b.status,
        lossy(&b.body)
    ))
}

/// A client that reads the start of a large response and resets.
fn abort_download(address: &str, path: &str) -> Result<(), String> {
    let mut stream = connect(address)?;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let mut start = vec![0u8; 16384];
    stream
        .read_exact(&mut start)
        .map_err(|e| format!("read: {e}"))?;
    reset(stream);
    Ok(())
}

/// A keep-alive connection that has had one answer, left open.
fn keep_alive(address: &str, path: &str) -> Result<TcpStream, String> {
    let mut stream = connect(address)?;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let response = read_response(&mut stream, &mut Vec::new(), false)?;
    if response.status != 200 {
        return Err(format!("status {}", response.status));
    }
    Ok(stream)
}

// ---------------------------------------------------------------- nginx

/// The backend behind the proxy, on the host: `/big` is 2 MiB,
/// `/missing` is 404, a POST is answered with its body's size and sum,
/// anything else with its method and path. One request a connection.
fn backend(listener: TcpListener) {
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = answer(stream);
            });
        }
    });
}

fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    let mut request = Vec::new();
    let mut buffer = [0u8; 65536];
    let end = loop {
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buffer)?;
        if n == 0 || request.len() > 1 << 20 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..n]);
    };
    let head = lossy(&request[..end]);
    let length: usize = header(&head, "content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = request[end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buffer)?;
        if n == 0 {
            return Ok(());
        }
        body.extend_from_slice(&buffer[..n]);
    }
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default();
    let path = words.next().unwrap_or_default();
    let (status, content) = match (method, path) {
        (_, "/big") => ("200 OK", pattern(2 << 20)),
        (_, p) if p.starts_with("/missing") => ("404 Not Found", b"no such page\n".to_vec()),
        ("POST", _) => (
            "200 OK",
            format!("received {}\n", body_summary(&body)).into_bytes(),
        ),
        _ => ("200 OK", format!("backend: {method} {path}\n").into_bytes()),
    };
    stream.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            content.len()
        )
        .as_bytes(),
    )?;
    if method != "HEAD" {
        stream.write_all(&content)?;
    }
    Ok(())
}

/// GETs through the proxy, a connection each.
fn nginx_record(lab: &Lab, check: &mut Check) {
    for i in 0..10 {
        let path = format!("/hello/{i}");
        if let Some(out) = check.ok("GET", curl(&[&lab.url(&path)])) {
            check.equal(
                "a GET through the proxy",
                &out,
                &format!("backend: GET {path}\n"),
            );
        }
    }
}

/// Keep-alive, HEAD, POST with `Expect: 100-continue`, a large body
/// buffered to disk, a large response buffered to disk, the cache,
/// pipelining, a client that resets mid-response, a 404, and a reload
/// (new workers).
fn nginx_mix(lab: &Lab, check: &mut Check) {
    let urls = [lab.url("/a"), lab.url("/b"), lab.url("/c")];
    if let Some(out) = check.ok(
        "keep-alive",
        curl(&["-w", "%{num_connects}\n", &urls[0], &urls[1], &urls[2]]),
    ) {
        check.equal(
            "three GETs on one keep-alive connection",
            &out,
            "backend: GET /a\n1\nbackend: GET /b\n0\nbackend: GET /c\n0\n",
        );
    }
    if let Some(response) = check.ok(
        "HEAD",
        http(
            &lab.address(),
            "HEAD /head HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        ),
    ) {
        check.equal("HEAD's status", &response.status.to_string(), "200");
    }
    let small = pattern(2048);
    if let Some(response) = check.ok(
        "POST with Expect: 100-continue",
        post_expecting_continue(&lab.address(), "/upload", &small),
    ) {
        check.equal(
            "POST with Expect: 100-continue",
            &lossy(&response.body),
            &format!("received {}\n", body_summary(&small)),
        );
    }
    let large = pattern(3 << 20);
    let upload = lab.path("upload.bin");
    fs::write(&upload, &large).unwrap();
    let data = format!("@{}", upload.display());
    if let Some(out) = check.ok(
        "a 3 MiB POST",
        curl(&[
            "-H",
            "Expect: 100-continue",
            "--expect100-timeout",
            "5",
            "--data-binary",
            &data,
            &lab.url("/upload"),
        ]),
    ) {
        check.equal(
            "a 3 MiB POST (buffered to a temporary file)",
            &out,
            &format!("received {}\n", body_summary(&large)),
        );
    }
    if let Some(response) = check.ok(
        "GET /big",
        http(
            &lab.address(),
            "GET /big HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        ),
    ) {
        check.equal(
            "a 2 MiB response (buffered to a temporary file)",
            &body_summary(&response.body),
            &body_summary(&pattern(2 << 20)),
        );
    }
    // The first GET fills the cache; nginx moves the entry into place when
    // the response is finished, which a loaded machine may do after the
    // next GET arrives: ask again, for up to 2 s, until it is served from
    // the cache (a refused rename never is).
    let cached = || {
        http(
            &lab.address(),
            "GET /cached/page HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        )
    };
    if let Some(response) = check.ok("the cache", cached()) {
        check.equal(
            "the cache",
            header(&response.head, "x-cache").unwrap_or(""),
            "MISS",
        );
    }
    let mut served = String::new();
    for _ in 0..20 {
        match cached() {
            Ok(response) => {
                served = header(&response.head, "x-cache").unwrap_or("").to_string();
                if served == "HIT" {
                    break;
                }
            }
            Err(e) => served = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    check.equal("the cache", &served, "HIT");
    if let Some(out) = check.ok("pipelining", pipelined(&lab.address(), "/p1", "/p2")) {
        check.equal(
            "two pipelined GETs",
            &out,
            "200 backend: GET /p1\n200 backend: GET /p2\n",
        );
    }
    check.ok(
        "a client that resets mid-response",
        abort_download(&lab.address(), "/big"),
    );
    if let Some(out) = check.ok(
        "404",
        curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &lab.url("/missing"),
        ]),
    ) {
        check.equal("a 404 from the backend", &out, "404");
    }

    // A reload: the master rereads its configuration and starts new
    // workers, the old ones finish.
    if check.ok("runc kill HUP", lab.signal("HUP")).is_some() {
        std::thread::sleep(Duration::from_millis(1500));
        if let Some(out) = check.ok("after a reload", curl(&[&lab.url("/reloaded")])) {
            check.equal("a GET after a reload", &out, "backend: GET /reloaded\n");
        }
    }
}

/// The keep-alive timer closes an idle connection; the cache manager
/// removes the inactive entry.
fn nginx_idle(lab: &Lab, check: &mut Check) {
    let idle = check.ok(
        "a keep-alive connection",
        keep_alive(&lab.address(), "/idle"),
    );
    std::thread::sleep(Duration::from_secs(4));
    if let Some(mut stream) = idle {
        check.ok("keepalive_timeout 2s", closed_by_server(&mut stream));
    }
    if let Some(response) = check.ok(
        "the cache",
        http(
            &lab.address(),
            "GET /cached/page HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        ),
    ) {
        check.equal(
            "the cache after 2 s inactive (its manager removed the entry)",
            header(&response.head, "x-cache").unwrap_or(""),
            "MISS",
        );
    }
}

#[test]
fn nginx_multi_process_reverse_proxy_keeps_working_under_its_advised_policies() {
    if !can_record() {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new(
        "nginx",
        "multi-process reverse proxy",
        144,
        8080,
        "/usr/sbin/nginx",
    );
    backend(TcpListener::bind(format!("{}:8081", lab.host())).unwrap());
    lab.owned("run/nginx");
    lab.owned("var/log/nginx");
    lab.file(
        "etc/nginx/nginx.conf",
        format!(
            "daemon off;\nworker_processes 2;\npid /run/nginx/nginx.pid;\nerror_log stderr notice;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log /var/log/nginx/access.log;\n\
               client_body_temp_path /tmp/client_body;\n  proxy_temp_path /tmp/proxy;\n\
               fastcgi_temp_path /tmp/fastcgi;\n  uwsgi_temp_path /tmp/uwsgi;\n  scgi_temp_path /tmp/scgi;\n\
               client_body_buffer_size 16k;\n  client_max_body_size 16m;\n  proxy_buffers 4 8k;\n\
               keepalive_timeout 2s;\n\
               proxy_cache_path /tmp/cache levels=1:2 keys_zone=pages:1m inactive=2s;\n\
               upstream backend {{ server {}:8081; }}\n\
               server {{\n    listen 8080;\n    location / {{ proxy_pass http://backend; }}\n\
                 location /cached/ {{ proxy_pass http://backend; proxy_cache pages; \
                   proxy_cache_valid 200 10m; add_header X-Cache $upstream_cache_status; }}\n  }}\n}}\n",
            lab.host()
        ),
    );
    lab.args = [
        "/usr/sbin/nginx",
        "-e",
        "stderr",
        "-c",
        "/etc/nginx/nginx.conf",
    ]
    .map(String::from)
    .to_vec();
    lab.stop_signal = "QUIT";
    lab.patterns = vec!["[emerg]", "[alert]", "[crit]", "[error]"];
    let advised = lab.record(nginx_record);
    lab.replay(&advised, nginx_mix, nginx_idle);
    eprintln!("nginx: {:.1} s", started.elapsed().as_secs_f64());
}

// ------------------------------------------------------------- lighttpd

/// The site's text file, compressible.
fn readme() -> String {
    (0..2000)
        .map(|i| format!("line {i}: the quick brown fox jumps over the lazy dog\n"))
        .collect()
}

/// GETs of the home page, a connection each.
fn lighttpd_record(lab: &Lab, check: &mut Check) {
    for _ in 0..10 {
        if let Some(out) = check.ok("GET /", curl(&[&lab.url("/index.html")])) {
            check.equal("GET /index.html", &out, "<h1>home</h1>\n");
        }
    }
}

/// HEAD, a large file, a range, compression (cached on disk), a
/// conditional GET, a directory listing, the status page, a 404,
/// pipelining, a client that resets mid-download, logs reopened (HUP).
fn lighttpd_mix(lab: &Lab, check: &mut Check) {
    let address = lab.address();
    let big = pattern(4 << 20);
    if let Some(r) = check.ok(
        "HEAD",
        http(
            &address,
            "HEAD /big.bin HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        ),
    ) {
        check.equal(
            "HEAD's Content-Length",
            header(&r.head, "content-length").unwrap_or(""),
            "4194304",
        );
    }
    if let Some(r) = check.ok(
        "GET /big.bin",
        http(
            &address,
            "GET /big.bin HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        ),
    ) {
        check.equal("a 4 MiB file", &body_summary(&r.body), &body_summary(&big));
    }
    if let Some(r) = check.ok("a range", http(&address, "GET /big.bin HTTP/1.1\r\nHost: test\r\nRange: bytes=1000-1999\r\nConnection: close\r\n\r\n")) {
        check.equal(
            "a range",
            &format!("{} {}", r.status, body_summary(&r.body)),
            &format!("206 {}", body_summary(&big[1000..2000])),
        );
    }
    for _ in 0..2 {
        let compressed = http(
            &address,
            "GET /docs/readme.txt HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
        );
        if let Some(r) = check.ok("compression", compressed) {
            check.equal(
                "Content-Encoding",
                header(&r.head, "content-encoding").unwrap_or(""),
                "gzip",
            );
            let unzipped = gunzip(&r.body);
            if let Some(text) = check.ok("gunzip", unzipped) {
                check.that(
                    "the compressed file, uncompressed",
                    text == readme(),
                    || format!("{} bytes", text.len()),
                );
            }
        }
    }
    if let Some(r) = check.ok(
        "ETag",
        http(
            &address,
            "GET /index.html HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n",
        ),
    ) {
        let etag = header(&r.head, "etag").unwrap_or("none").to_string();
        let conditional = format!("GET /index.html HTTP/1.1\r\nHost: test\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n");
        if let Some(r) = check.ok("If-None-Match", http(&address, &conditional)) {
            check.equal("a conditional GET", &r.status.to_string(), "304");
        }
    }
    if let Some(out) = check.ok("a directory listing", curl(&[&lab.url("/files/")])) {
        check.contains("a directory listing", &out, "a.txt");
        check.contains("a directory listing", &out, "b.txt");
    }
    if let Some(out) = check.ok("the status page", curl(&[&lab.url("/server-status?auto")])) {
        check.contains("the status page", &out, "Total Accesses:");
    }
    if let Some(out) = check.ok(
        "404",
        curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &lab.url("/missing"),
        ]),
    ) {
        check.equal("a 404", &out, "404");
    }
    if let Some(out) = check.ok(
        "pipelining",
        pipelined(&address, "/index.html", "/files/a.txt"),
    ) {
        check.equal("two pipelined GETs", &out, "200 <h1>home</h1>\n200 a\n");
    }
    check.ok(
        "a client that resets mid-download",
        abort_download(&address, "/big.bin"),
    );
    if check.ok("runc kill HUP", lab.signal("HUP")).is_some() {
        std::thread::sleep(Duration::from_millis(500));
        if let Some(out) = check.ok("after HUP", curl(&[&lab.url("/index.html")])) {
            check.equal("a GET after HUP (logs reopened)", &out, "<h1>home</h1>\n");
        }
    }
}

fn gunzip(bytes: &[u8]) -> Result<String, String> {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("gzip: {e}"))?;
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    let _ = writer.join();
    if output.status.success() {
        Ok(lossy(&output.stdout))
    } else {
        Err(format!("gzip -dc: {}", lossy(&output.stderr)))
    }
}

/// The once-a-second timer closes an idle keep-alive connection.
fn lighttpd_idle(lab: &Lab, check: &mut Check) {
    let idle = check.ok(
        "a keep-alive connection",
        keep_alive(&lab.address(), "/index.html"),
    );
    std::thread::sleep(Duration::from_secs(3));
    if let Some(mut stream) = idle {
        check.ok(
            "server.max-keep-alive-idle = 1",
            closed_by_server(&mut stream),
        );
    }
    if let Some(out) = check.ok("after the idle period", curl(&[&lab.url("/files/b.txt")])) {
        check.equal("a GET after the idle period", &out, "b\n");
    }
}

#[test]
fn lighttpd_event_loop_keeps_working_under_its_advised_policies() {
    if !can_record() {
        return;
    }
    let started = Instant::now();
    let mut lab = Lab::new(
        "lighttpd",
        "single-process event loop",
        145,
        8080,
        "/usr/sbin/lighttpd",
    );
    lab.owned("run/lighttpd");
    lab.owned("var/log/lighttpd");
    lab.file("srv/www/index.html", "<h1>home</h1>\n");
    lab.file("srv/www/docs/readme.txt", readme());
    lab.file("srv/www/files/a.txt", "a\n");
    lab.file("srv/www/files/b.txt", "b\n");
    lab.file("srv/www/big.bin", pattern(4 << 20));
    lab.file(
        "etc/lighttpd/lighttpd.conf",
        "server.document-root = \"/srv/www\"\nserver.bind = \"0.0.0.0\"\nserver.port = 8080\n\
         server.pid-file = \"/run/lighttpd/lighttpd.pid\"\n\
         server.modules = (\"mod_deflate\", \"mod_dirlisting\", \"mod_status\", \"mod_accesslog\")\n\
         accesslog.filename = \"/var/log/lighttpd/access.log\"\n\
         deflate.cache-dir = \"/tmp/compress\"\ndeflate.mimetypes = (\"text/\")\n\
         deflate.allowed-encodings = (\"gzip\")\ndir-listing.activate = \"enable\"\n\
         status.status-url = \"/server-status\"\nserver.max-keep-alive-idle = 1\n\
         mimetype.assign = (\".html\" => \"text/html\", \".txt\" => \"text/plain\", \
         \".bin\" => \"application/octet-stream\")\n",
    );
    lab.args = [
        "/usr/sbin/lighttpd",
        "-D",
        "-f",
        "/etc/lighttpd/lighttpd.conf",
    ]
    .map(String::from)
    .to_vec();
    lab.stop_signal = "INT";
    lab.patterns = vec!["error", "failed"];
    let advised = lab.record(lighttpd_record);
    lab.replay(&advised, lighttpd_mix, lighttpd_idle);
    eprintln!("lighttpd: {:.1} s", started.elapsed().as_secs_f64());
}
