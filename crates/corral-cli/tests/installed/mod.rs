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

/// Validate `sarif` with the SARIF Multitool (and `rules`, e.g. GitHub's):
/// no error and no warning.
#[allow(dead_code)] // not every test file that names a tool checks SARIF
pub fn assert_sarif_valid(multitool: &std::ffi::OsStr, sarif: &std::path::Path, rules: &[&str]) {
    // The target first: --rule-kind takes a list and would swallow it.
    let validation = std::process::Command::new(multitool)
        .arg("validate")
        .arg(sarif)
        .args(rules)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&validation.stdout);
    assert!(
        report.contains("Analysis completed successfully."),
        "{report}"
    );
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| l.contains(": error ") || l.contains(": warning "))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
