//! Pod Security Standards on whatever the loader makes of arbitrary bytes:
//! at each level and at none (placing every workload at its strictest), for
//! the latest version and the oldest, no panic; and a workload placed at a
//! level must pass an evaluation at that level.
#![no_main]

mod common;

use corral_pss::namespace::Config;
use corral_pss::report::{analyze, Options};
use corral_pss::{evaluate, strictest_level, Level, LevelVersion, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let model = common::model(data);
    for version in [Version::Latest, Version::Minor(0)] {
        for level in [
            None,
            Some(Level::Privileged),
            Some(Level::Baseline),
            Some(Level::Restricted),
        ] {
            let options = Options {
                level,
                version: version.clone(),
                config: Config::default(),
            };
            let _ = analyze(&model, &options);
        }
        for (_, template) in model.workloads() {
            let placed = strictest_level(&template.metadata, &template.spec, &version);
            let at_placed = evaluate(
                &template.metadata,
                &template.spec,
                &LevelVersion {
                    level: placed,
                    version: version.clone(),
                },
            );
            assert!(
                at_placed.violations.is_empty(),
                "placed at {placed:?} but fails it"
            );
        }
    }
});
