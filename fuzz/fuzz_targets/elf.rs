//! corral-reach's ELF analysis on arbitrary bytes, what a container image
//! controls: no panic and no hang; what it reports is sorted and bounded;
//! libc tables are generated only from a C library, without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match corral_reach::analyze(data) {
        Ok(facts) => {
            assert!(facts.imports.windows(2).all(|w| w[0] < w[1]));
            assert!(facts
                .syscalls
                .windows(2)
                .all(|w| w[0].address <= w[1].address));
            assert!(facts
                .syscalls
                .iter()
                .all(|s| u64::from(s.number) <= corral_reach::MAX_SYSCALL_NUMBER));
            if facts.libc.is_none() {
                assert!(corral_reach::LibcTable::generate(data, "fuzz", |_| None).is_err());
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
