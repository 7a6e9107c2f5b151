//! The loader on arbitrary bytes: it must never panic, overflow its stack or
//! run away with memory, and where the fast parser answers, its tree must be
//! saphyr-parser's.
#![no_main]

use std::sync::Arc;

use corral_core::{load_bytes, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_file_size: 1 << 20,
        max_document_size: 1 << 18,
        max_depth: 64,
        max_alias_nodes: 10_000,
    };
    let name: Arc<str> = Arc::from("fuzz.yaml");
    let _ = load_bytes(&name, data, &limits, &|_| {});
    if let Ok(text) = std::str::from_utf8(data) {
        if !text.contains('\0') {
            corral_core::fuzzing::check_fast_path(text);
        }
    }
});
