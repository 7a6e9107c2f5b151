//! What recording costs, side by side with an empty program on the same
//! hook (the floor every syscall-entry hook pays), in interleaved rounds so
//! that drift in the machine's speed hits every configuration alike:
//!
//! * a tight `getppid` loop: bare; with the empty `tp_btf/sys_enter`
//!   program, and with it and an empty `tp_btf/sys_exit` one (the floor of
//!   the recorder's two syscall hooks); with the recorder attached while the loop runs in the host's
//!   namespace (skipped without a map lookup) and in a recorded one; and
//!   under `strace -f`, the ptrace anchor;
//! * `nginx` serving a small file to `wrk` on loopback: bare, with the empty
//!   program, and with nginx recorded.
//!
//! Needs root, and nginx, wrk and strace (Debian packages; `bench/record.sh`
//! installs them). Run: `cargo bench -p corral-recorder --bench overhead`.
//! Prints medians; the targets (issue #8) are at most 30 ns per syscall
//! and 3 points of throughput above the empty program.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf};
use corral_recorder::{mount_namespace, Recorder, Settings};

const CALLS: u32 = 2_000_000;
const ROUNDS: usize = 7;
const WRK_ROUNDS: usize = 3;
const WRK_SECONDS: u32 = 5;
const PORT: u16 = 18_480;

fn getppid_loop(calls: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn empty_program() -> Ebpf {
    empty_programs(&[("empty_sys_enter", "sys_enter")])
}

fn empty_programs(hooks: &[(&str, &str)]) -> Ebpf {
    let btf = Btf::from_sys_fs().expect("kernel BTF");
    let mut ebpf = Ebpf::load(include_bytes!("../bpf/empty.bpf.o")).expect("load empty.bpf.o");
    for (name, hook) in hooks {
        let program: &mut BtfTracePoint = ebpf.program_mut(name).unwrap().try_into().unwrap();
        program.load(hook, &btf).unwrap();
        program.attach().unwrap();
    }
    ebpf
}

/// The same loop under `strace -f`: this binary re-executed with `--loop`.
fn under_strace(calls: u32) -> f64 {
    let me = std::env::current_exe().unwrap();
    let start = Instant::now();
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .arg(&me)
        .args(["--loop", &calls.to_string()])
        .status()
        .expect("strace");
    assert!(status.success());
    start.elapsed().as_nanos() as f64 / calls as f64
}

/// nginx serving one small file on loopback, in a mount namespace of its
/// own (so the recorder can record it and only it).
fn start_nginx(dir: &Path) -> Child {
    std::fs::create_dir_all(dir.join("www")).unwrap();
    std::fs::write(dir.join("www/index.html"), "x".repeat(512)).unwrap();
    let config = format!(
        "worker_processes 1; pid {dir}/nginx.pid; error_log {dir}/error.log;
         events {{ worker_connections 1024; }}
         http {{ access_log off; client_body_temp_path {dir}/tmp; proxy_temp_path {dir}/tmp;
           fastcgi_temp_path {dir}/tmp; uwsgi_temp_path {dir}/tmp; scgi_temp_path {dir}/tmp;
           server {{ listen 127.0.0.1:{PORT}; root {dir}/www; }} }}",
        dir = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), config).unwrap();
    let child = Command::new("unshare")
        .args(["--mount", "nginx", "-g", "daemon off;", "-c"])
        .arg(dir.join("nginx.conf"))
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx (Debian's nginx-light)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", PORT)).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Requests per second wrk reaches against nginx.
fn wrk() -> f64 {
    let output = Command::new("wrk")
        .args(["-t1", "-c16", &format!("-d{WRK_SECONDS}s")])
        .arg(format!("http://127.0.0.1:{PORT}/index.html"))
        .output()
        .expect("wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("wrk printed no rate: {text}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--loop") {
        getppid_loop(args[at + 1].parse().unwrap());
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the overhead bench needs root");
        return;
    }

    // The syscall loop, each configuration once per round.
    let (mut bare, mut empty, mut both, mut host, mut recorded) =
        (vec![], vec![], vec![], vec![], vec![]);
    // The loop runs in a thread with a mount namespace of its own, recorded
    // (unshare affects only the calling thread).
    let (to_recorded, work) = std::sync::mpsc::channel::<()>();
    let (done, results) = std::sync::mpsc::channel::<f64>();
    let (ready, namespace) = std::sync::mpsc::channel::<u64>();
    std::thread::spawn(move || {
        // SAFETY: moves this thread into a new mount namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNS) }, 0);
        let tid = format!("self/task/{}", unsafe { libc::gettid() });
        ready.send(mount_namespace(&tid).unwrap()).unwrap();
        while work.recv().is_ok() {
            done.send(getppid_loop(CALLS)).unwrap();
        }
    });
    let mntns = namespace.recv().unwrap();
    for _ in 0..ROUNDS {
        bare.push(getppid_loop(CALLS));
        {
            let _empty = empty_program();
            empty.push(getppid_loop(CALLS));
        }
        {
            let _both = empty_programs(&[
                ("empty_sys_enter", "sys_enter"),
                ("empty_sys_exit", "sys_exit"),
            ]);
            both.push(getppid_loop(CALLS));
        }
        let mut recorder = Recorder::load(Settings::default()).expect("load the recorder");
        recorder.track(mntns).unwrap();
        host.push(getppid_loop(CALLS));
        to_recorded.send(()).unwrap();
        recorded.push(results.recv().unwrap());
        let snapshot = recorder.snapshot().unwrap();
        assert!(snapshot.namespaces[&mntns].syscalls[0][0].contains(&(libc::SYS_getppid as u32)));
    }
    let strace = under_strace(CALLS / 10);
    let (bare, empty, both, host, recorded) = (
        median(bare),
        median(empty),
        median(both),
        median(host),
        median(recorded),
    );
    println!("getppid, median of {ROUNDS} interleaved rounds of {CALLS} calls:");
    println!("  bare                              {bare:8.1} ns");
    println!(
        "  empty tp_btf/sys_enter program    {empty:8.1} ns  (+{:.1})",
        empty - bare
    );
    println!(
        "  empty sys_enter + sys_exit        {both:8.1} ns  (+{:.1})",
        both - bare
    );
    println!(
        "  recorder, host namespace          {host:8.1} ns  (+{:.1} over empty, +{:.1} over both)",
        host - empty,
        host - both
    );
    println!(
        "  recorder, recorded namespace      {recorded:8.1} ns  (+{:.1} over empty; target 30; +{:.1} over both)",
        recorded - empty,
        recorded - both
    );
    println!("  strace -f (ptrace anchor)         {strace:8.1} ns");

    // nginx + wrk, if they are installed.
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("nginx") || !have("wrk") {
        println!("nginx + wrk: skipped (install nginx-light and wrk)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut nginx = start_nginx(dir.path());
    let pid = std::fs::read_to_string(dir.path().join("nginx.pid"))
        .map(|p| p.trim().to_string())
        .unwrap_or_else(|_| nginx.id().to_string());
    let nginx_ns = mount_namespace(&pid).unwrap();
    let (mut bare, mut empty, mut recorded) = (vec![], vec![], vec![]);
    for _ in 0..WRK_ROUNDS {
        bare.push(wrk());
        {
            let _empty = empty_program();
            empty.push(wrk());
        }
        let mut recorder = Recorder::load(Settings::default()).expect("load the recorder");
        recorder.track(nginx_ns).unwrap();
        recorded.push(wrk());
    }
    // SIGTERM lets the master stop its worker (SIGKILL would orphan it).
    // SAFETY: signals our own child.
    unsafe { libc::kill(nginx.id() as i32, libc::SIGTERM) };
    let _ = nginx.wait();
    let (bare, empty, recorded) = (median(bare), median(empty), median(recorded));
    let loss = |rate: f64| 100.0 * (1.0 - rate / bare);
    println!("nginx + wrk (-t1 -c16, {WRK_SECONDS} s), median of {WRK_ROUNDS} interleaved rounds:");
    println!("  bare                              {bare:8.0} req/s");
    println!(
        "  empty tp_btf/sys_enter program    {empty:8.0} req/s  (-{:.1} %)",
        loss(empty)
    );
    println!(
        "  recorder, nginx recorded          {recorded:8.0} req/s  (-{:.1} %, {:+.1} points over empty; target 3)",
        loss(recorded),
        loss(recorded) - loss(empty)
    );
}
