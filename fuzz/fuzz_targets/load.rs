//! The loader on arbitrary bytes: it must never panic, overflow its stack or
//! run away with memory, and where the fast parser answers, its tree must be
//! saphyr-parser's.
#![no_main]

mod common;

use std::sync::Arc;

use corral_core::load_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let name: Arc<str> = Arc::from("fuzz.yaml");
    let _ = load_bytes(&name, data, &common::LIMITS, &|_| {});
    if let Ok(text) = std::str::from_utf8(data) {
        if !text.contains('\0') {
            corral_core::fuzzing::check_fast_path(text);
        }
    }
});
