//! Corral's recorder: BPF programs (C, in `bpf/`, one source per concern,
//! compiled by clang and linked into the object committed beside them)
//! loaded with aya, a pure-Rust loader, so that building needs neither
//! clang nor libbpf.
//!
//! The kernel aggregates, per mount namespace: syscalls, capability checks,
//! execs and credentials, network peers and DNS questions, and file writes
//! (`bpf/*.bpf.c`). `corral record -- CMD` records a command in a mount
//! namespace of its own; `containers` records every container a runtime
//! starts. What it writes is the recording format of `corral-record`.

mod binaries;
mod bpf;
mod command;
mod containers;
mod observed;

pub use bpf::{mount_namespace, Capacity, RecordError, Recorder, Settings, Snapshot};
pub use command::record_command;
pub use containers::{
    record_containers, stop_on_signals, ContainerOptions, ContainerRecordings,
    DEFAULT_RUNTIME_ROOTS,
};
