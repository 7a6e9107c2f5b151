//! CustomResourceDefinition schema blanking is an optimisation and may never
//! change what is analysed: on any input, loading with it gives the objects
//! loading without it gives, schemas aside.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if !text.contains('\0') && text.len() <= 1 << 18 {
            corral_core::fuzzing::check_crd_blanking(text);
        }
    }
});
