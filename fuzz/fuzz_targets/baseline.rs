//! The baseline reader (`corral scan --baseline`) and the configuration
//! reader (`.corral.yaml`, `--config`) on arbitrary bytes, the inputs a
//! pull request controls: no panic and no hang; a baseline that reads is
//! of the version this Corral reads and survives a JSON round trip; a
//! configuration that reads has `version: 1` or none, and its exclude globs
//! match in bounded time (a glob with no `*` matches itself); every error
//! names the file.
#![no_main]

mod common;

use corral_scan::baseline::{Baseline, BASELINE_VERSION};
use corral_scan::config::{glob_matches, Config, CONFIG_VERSION};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Baseline::from_json("fuzz.json", data) {
        Ok(baseline) => {
            assert_eq!(baseline.version, BASELINE_VERSION);
            let text = serde_json::to_vec(&baseline).unwrap();
            assert_eq!(Baseline::from_json("fuzz.json", &text).unwrap(), baseline);
            // Against no findings, every entry is stale.
            let (baselined, stale) = baseline.apply(&[]);
            assert!(baselined.is_empty());
            assert_eq!(stale.len(), baseline.findings.len());
        }
        Err(e) => assert!(e.starts_with("fuzz.json"), "{e}"),
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let root = match corral_core::parse_config("fuzz.yaml", text, &common::LIMITS) {
        Ok(Some(root)) => root,
        Ok(None) => return,
        Err(e) => {
            assert!(e.starts_with("fuzz.yaml:"), "{e}");
            return;
        }
    };
    match Config::from_node(&root) {
        Ok(config) => {
            // Absent (written before the field existed) or this one.
            if let Some(version) = root.get("version") {
                let version = version.scalar().and_then(|s| s.as_i64());
                assert_eq!(version, Some(CONFIG_VERSION));
            }
            for glob in &config.excluded_paths {
                config.excludes(glob);
                config.excludes("deploy/a/b/c/d/e/f/g/h/web.yaml");
                if !glob.contains('*') {
                    assert!(glob_matches(glob, glob), "{glob:?}");
                }
            }
        }
        // `line:column: message`, the caller adding the file.
        Err(e) => assert!(
            e.split(':').take(2).all(|n| n.parse::<u32>().is_ok()),
            "{e}"
        ),
    }
});
