//! Print the libc table (JSON) of a C library file: `libc-table PATH
//! [VERSION]`. VERSION defaults to the version of the Debian package that
//! owns PATH (`dpkg -S`, `dpkg-query`). See the crate documentation.

use std::process::{Command, ExitCode};

use corral_reach::LibcTable;

fn debian_version(path: &str) -> Option<String> {
    // dpkg knows /usr/lib files of merged-/usr systems by their /lib name.
    let unmerged = path.strip_prefix("/usr").unwrap_or(path);
    let owner = [path, unmerged].into_iter().find_map(|p| {
        let output = Command::new("dpkg").args(["-S", p]).output().ok()?;
        output.status.success().then_some(output)
    })?;
    let owner = String::from_utf8(owner.stdout).ok()?;
    let package = owner.lines().next()?.split(':').next()?.trim().to_string();
    let version = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", &package])
        .output()
        .ok()?;
    let version = String::from_utf8(version.stdout).ok()?;
    (!version.is_empty()).then(|| format!("{package} {version}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: libc-table PATH [VERSION]");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let version = args
        .get(1)
        .cloned()
        .or_else(|| debian_version(path))
        .unwrap_or_else(|| "unknown".into());
    let name = |n: u32| corral_record::syscall_name(n, "x86_64", false).map(str::to_string);
    match LibcTable::generate(&bytes, &version, name) {
        Ok(table) => {
            let mut text = serde_json::to_string_pretty(&table).expect("a table serializes");
            text.push('\n');
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}
