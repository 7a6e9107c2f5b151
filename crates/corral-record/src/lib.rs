//! Corral's recorder: BPF programs (C, in `bpf/`, compiled by clang into the
//! objects committed beside them) loaded with aya, a pure-Rust loader, so
//! that building needs neither clang nor libbpf.
//!
//! Today it records the syscalls (`bpf/syscalls.bpf.c`), capability checks
//! (`bpf/capabilities.bpf.c`) and execs with their uids and gids
//! (`bpf/execs.bpf.c`) of a command and its children, aggregated in the
//! kernel per mount namespace.

mod bpf;
mod command;
mod recording;
mod syscall_names;

pub use bpf::{RecordError, Recorder};
pub use command::record_command;
pub use recording::{
    Capability, Endpoint, Exec, MergeError, Recording, Run, Syscall, FORMAT_VERSION,
};
