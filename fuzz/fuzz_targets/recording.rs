//! The recording reader (`corral advise` input) on arbitrary bytes: a
//! recording that parses is of format version 1 with every syscall named
//! as its architecture's table names its number (and the file reader,
//! `Recording::from_json`, agrees with serde), survives a JSON round trip unchanged, merges with
//! itself, is bounded to what it says, and gets a securityContext and a seccomp profile that allows
//! every named syscall it made, or a clear error, never a panic.
#![no_main]

use corral_advise::base::BaseSets;
use corral_advise::seccomp::{allowed, answered, profile, Mode, Options};
use corral_advise::security_context::advise;
use corral_record::Recording;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = Recording::from_json("fuzz.json", data);
    let Ok(recording) = serde_json::from_slice::<Recording>(data) else {
        if let Err(e) = read {
            assert!(e.starts_with("fuzz.json"), "{e}");
        }
        return;
    };
    assert_eq!(read.as_ref(), Ok(&recording));
    // A recording that reads is of this format version, and each of its
    // syscalls has its number's name in its architecture's table.
    assert_eq!(recording.format_version, corral_record::FORMAT_VERSION);
    for activity in [&recording.workload, &recording.runtime] {
        for (list, compat) in [
            (&activity.syscalls, false),
            (&activity.compat_syscalls, true),
        ] {
            for syscall in list {
                let name =
                    corral_record::syscall_name(syscall.number, &recording.architecture, compat);
                assert!(name.is_some(), "{} unknown", syscall.number);
                assert_eq!(syscall.name.as_deref(), name);
            }
        }
    }
    let text = serde_json::to_string(&recording).unwrap();
    assert_eq!(serde_json::from_str::<Recording>(&text).unwrap(), recording);
    let _ = Recording::merge(vec![recording.clone(), recording.clone()]);
    // Bounded, with small bounds to reach every step: never a panic; what
    // it gives fits, reads back, holds as many runs and no more time.
    let mut bounded = recording.clone();
    let bounds = corral_record::Bounds {
        max_runs: 2,
        max_bytes: 4096,
    };
    if bounded.bound(&bounds).is_ok() {
        let text = serde_json::to_vec(&bounded).unwrap();
        assert!(text.len() <= bounds.max_bytes, "{} bytes", text.len());
        assert_eq!(Recording::from_json("bounded", &text).unwrap(), bounded);
        assert_eq!(bounded.run_count(), recording.run_count());
        assert!(bounded.recorded_seconds() <= recording.recorded_seconds());
    }
    let advice = advise(&recording);
    let bases = BaseSets::builtin();
    // Both modes allow everything recorded; the reachable one withholds
    // only attack surface nobody recorded.
    for mode in [Mode::Recorded, Mode::Reachable] {
        let Ok((oci, _, report)) = profile(
            &recording,
            &bases,
            "runc",
            !advice.allow_privilege_escalation,
            Options {
                mode,
                ..Options::default()
            },
        ) else {
            continue;
        };
        for name in report.withheld.keys() {
            assert!(
                !allowed(&oci).contains(&name.as_str()),
                "{name} withheld but allowed"
            );
        }
        let allows = allowed(&oci);
        let answers = answered(&oci);
        for syscall in &recording.workload.syscalls {
            if let Some(name) = &syscall.name {
                assert!(
                    allows.contains(&name.as_str()) || answers.contains(&name.as_str()),
                    "{name} recorded but not allowed"
                );
            }
        }
    }
});
