//! What recording costs a syscall, side by side with an empty program on the
//! same hook (the floor every syscall-entry hook pays): a tight `getppid`
//! loop, median of several runs, bare; with the empty program; with the
//! recorder attached while the loop runs in the host's namespace (skipped
//! without a map lookup); and with the loop in a recorded namespace.
//! Needs root. Run: `cargo bench -p corral-record --bench overhead`.

use std::time::Instant;

use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf};
use corral_record::{mount_namespace, Recorder, Settings};

const CALLS: u32 = 2_000_000;
const RUNS: usize = 7;

fn ns_per_call() -> f64 {
    let mut samples: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..CALLS {
                // SAFETY: getppid has no preconditions.
                unsafe { libc::syscall(libc::SYS_getppid) };
            }
            start.elapsed().as_nanos() as f64 / CALLS as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[RUNS / 2]
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the overhead bench needs root");
        return;
    }
    let bare = ns_per_call();
    let empty = {
        let btf = Btf::from_sys_fs().expect("kernel BTF");
        let mut ebpf = Ebpf::load(include_bytes!("../bpf/empty.bpf.o")).expect("load empty.bpf.o");
        let program: &mut BtfTracePoint = ebpf
            .program_mut("empty_sys_enter")
            .unwrap()
            .try_into()
            .unwrap();
        program.load("sys_enter", &btf).unwrap();
        program.attach().unwrap();
        ns_per_call()
    };
    let (host, recorded) = {
        let mut recorder = Recorder::load(Settings::default()).expect("load the recorder");
        let host = ns_per_call();
        // SAFETY: moves this process into a new mount namespace.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNS) }, 0);
        let mntns = mount_namespace("self").unwrap();
        recorder.track(mntns).unwrap();
        let recorded = ns_per_call();
        let snapshot = recorder.snapshot().unwrap();
        // Never executed: the runtime phase.
        assert!(snapshot.namespaces[&mntns].syscalls[0][0].contains(&(libc::SYS_getppid as u32)));
        (host, recorded)
    };
    println!("getppid, median of {RUNS} runs of {CALLS} calls:");
    println!("  bare                             {bare:7.1} ns");
    println!(
        "  empty tp_btf/sys_enter program   {empty:7.1} ns  (+{:.1})",
        empty - bare
    );
    println!(
        "  recorder, host namespace         {host:7.1} ns  (+{:.1} over empty)",
        host - empty
    );
    println!(
        "  recorder, recorded namespace     {recorded:7.1} ns  (+{:.1} over empty)",
        recorded - empty
    );
}
