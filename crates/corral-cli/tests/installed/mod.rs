//! External validators the tests run: `scripts/test.sh` installs each and
//! names it in an environment variable.

use std::ffi::OsString;

/// The tool named by `var`; None, with a note, outside CI when it is not
/// installed. CI runs scripts/test.sh, so there a missing tool fails.
pub fn tool(var: &str) -> Option<OsString> {
    let tool = std::env::var_os(var);
    if tool.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs scripts/test.sh, which sets {var}"
        );
        eprintln!("skipped: {var} is not set (scripts/test.sh sets it)");
    }
    tool
}
