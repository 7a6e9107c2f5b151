//! Every scan rule on whatever the loader makes of arbitrary bytes: no
//! panic, and every finding points into the input (a line that exists).
#![no_main]

mod common;

use corral_scan::{scan, Settings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let model = common::model(data);
    // Lines as Corral counts them everywhere (CR, LF and CR LF end one).
    let lines = corral_core::lines::count(data);
    for finding in scan(&model, &Settings::default()) {
        assert!(
            finding.line as usize <= lines,
            "finding at line {} of {lines}",
            finding.line
        );
    }
});
