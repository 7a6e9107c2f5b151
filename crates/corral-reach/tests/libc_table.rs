//! The committed libc tables are what the generator gives for the
//! machine's C libraries, when they are the ones the tables were made from.

use corral_reach::LibcTable;

fn check(path: &str, libc: &str) {
    let committed = LibcTable::find(libc, "x86_64").expect("a committed table");
    let Ok(bytes) = std::fs::read(path) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{path} is missing under CI (scripts/test.sh installs it)"
        );
        eprintln!("skipped: {path} is not installed");
        return;
    };
    let hash = corral_reach::sha256_hex(&bytes);
    if hash != committed.source_sha256 {
        eprintln!(
            "skipped: {path} has SHA-256 {hash}, the committed {libc} table is of {} ({})",
            committed.source_sha256, committed.version
        );
        return;
    }
    let name = |n: u32| corral_record::syscall_name(n, "x86_64", false).map(str::to_string);
    let generated = LibcTable::generate(&bytes, &committed.version, name).unwrap();
    assert!(
        generated == *committed,
        "regenerate crates/corral-reach/data/{libc}-x86_64.json (see the crate documentation)"
    );
}

#[test]
fn glibc_table_is_regenerated_identically() {
    check("/usr/lib/x86_64-linux-gnu/libc.so.6", "glibc");
}

#[test]
fn musl_table_is_regenerated_identically() {
    check("/usr/lib/x86_64-linux-musl/libc.so", "musl");
}

#[test]
fn tables_reach_what_the_functions_are_for() {
    for libc in ["glibc", "musl"] {
        let table = LibcTable::find(libc, "x86_64").unwrap();
        for (function, syscall) in [
            ("getpid", "getpid"),
            ("pwritev", "pwritev"),
            ("sendto", "sendto"),
            ("send", "sendto"),
            ("poll", "poll"),
            ("getrandom", "getrandom"),
            ("socket", "socket"),
            ("waitpid", "wait4"),
        ] {
            let reached = table
                .syscalls(function)
                .unwrap_or_else(|| panic!("{libc} {function}"));
            assert!(
                reached.iter().any(|s| s == syscall),
                "{libc}: {function} reaches {reached:?}, not {syscall}"
            );
        }
        assert!(table.syscalls("no_such_function").is_none());
    }
}

#[test]
fn the_analysis_sees_the_c_library_and_its_loader() {
    for (path, libc) in [
        ("/usr/lib/x86_64-linux-gnu/libc.so.6", "glibc"),
        ("/lib64/ld-linux-x86-64.so.2", "glibc"),
        ("/usr/lib/x86_64-linux-musl/libc.so", "musl"),
    ] {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let facts = corral_reach::analyze(&bytes).unwrap();
        assert_eq!(facts.libc.as_deref(), Some(libc), "{path}");
        assert!(!facts.syscalls.is_empty(), "{path}");
    }
    let bytes = std::fs::read("/bin/sh").unwrap();
    let facts = corral_reach::analyze(&bytes).unwrap();
    assert_eq!(facts.libc, None);
    assert!(facts.needed.iter().any(|n| n == "libc.so.6"), "{facts:?}");
    assert_eq!(
        facts.interpreter.as_deref(),
        Some("/lib64/ld-linux-x86-64.so.2")
    );
    assert!(
        facts.imports.iter().any(|i| i == "fork" || i == "execve"),
        "{:?}",
        facts.imports
    );
}
