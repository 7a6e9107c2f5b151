//! Every scan rule on whatever the loader makes of arbitrary bytes: no
//! panic, and every finding points into the input (a line that exists).
#![no_main]

mod common;

use corral_scan::{scan, Settings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let model = common::model(data);
    let lines = data.split(|&b| b == b'\n').count();
    for finding in scan(&model, &Settings::default()) {
        assert!(
            finding.line as usize <= lines,
            "finding at line {} of {lines}",
            finding.line
        );
    }
});
