//! The recording reader (`corral advise` input) on arbitrary bytes: a
//! recording that parses survives a JSON round trip unchanged, merges with
//! itself, and gets a securityContext and a seccomp profile that allows
//! every named syscall it made, or a clear error, never a panic.
#![no_main]

use corral_advise::base::BaseSets;
use corral_advise::seccomp::{allowed, profile};
use corral_advise::security_context::advise;
use corral_record::Recording;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(recording) = serde_json::from_slice::<Recording>(data) else {
        return;
    };
    let text = serde_json::to_string(&recording).unwrap();
    assert_eq!(serde_json::from_str::<Recording>(&text).unwrap(), recording);
    let _ = Recording::merge(vec![recording.clone(), recording.clone()]);
    let advice = advise(&recording);
    let bases = BaseSets::builtin();
    if let Ok((oci, _)) = profile(
        &recording,
        &bases,
        "runc",
        !advice.allow_privilege_escalation,
    ) {
        let allows = allowed(&oci);
        for syscall in &recording.workload.syscalls {
            if let Some(name) = &syscall.name {
                assert!(
                    allows.contains(&name.as_str()),
                    "{name} recorded but not allowed"
                );
            }
        }
    }
});
