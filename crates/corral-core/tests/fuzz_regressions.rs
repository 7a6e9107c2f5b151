//! Inputs the loader fuzz targets once failed on (`fuzz/`): each must load
//! without panicking, the fast parser must agree with saphyr on it, and
//! CRD schema blanking must change nothing but the schemas.

use std::fs;
use std::sync::Arc;

use corral_core::{load_bytes, Limits};

#[test]
fn past_fuzz_failures_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut count = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let bytes = fs::read(entry.unwrap().path()).unwrap();
        let _ = load_bytes(
            &Arc::from("regression.yaml"),
            &bytes,
            &Limits::default(),
            &|_| {},
        );
        if let Ok(text) = std::str::from_utf8(&bytes) {
            corral_core::fuzzing::check_fast_path(text);
            corral_core::fuzzing::check_crd_blanking(text);
        }
        count += 1;
    }
    assert!(count > 0);
}
