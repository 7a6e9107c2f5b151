//! The recording format: what Corral's recorder (`corral-recorder`) writes
//! and its advisors read, as files and as `Recording` resources alike.
//! Versioned JSON, sorted; its types, their checks (a recording is refused
//! unless it is what it says it is), merging, bounding (a long-lived
//! node's recording stays under a size etcd accepts) and the JSON schema
//! (schemars, for the custom resource). No eBPF here: the advisors and the
//! operator read recordings without linking the loader.

mod bound;
mod recording;
mod syscall_names;

pub use recording::{
    capability_name, native_syscall_names, syscall_name, syscall_names_of, syscall_table, Activity,
    Binary, Bounds, Capability, Container, DirectSyscall, DnsQuery, Endpoint, Evidence, Exec,
    FileWrite, FileWriteFailure, Identity, MergeError, Recording, Run, RunSummary, Span, Syscall,
    ARCHITECTURES, CUTTABLE, DEFAULT_MAX_RUNS, FORMAT_VERSION, MAX_BINARIES, MAX_BINARY_ENTRIES,
    MAX_RECORDING_BYTES, MAX_SUMMARY_SPANS,
};
