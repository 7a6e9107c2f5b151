//! Writing reports and diagnostics, loading with a progress bar, exit codes.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use corral_core::{safe, Diagnostic, Loaded, Severity};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{CommonArgs, LoadArgs};
use crate::snapshot::Needs;

/// Exit codes shared by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Nothing at or above the failure threshold.
    Clean,
    /// Findings at or above the failure threshold.
    Findings,
    /// Usage or input error.
    InputError,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(match status {
            Status::Clean => 0,
            Status::Findings => 1,
            Status::InputError => 2,
        })
    }
}

/// Runs above this many bytes get a progress bar (on a terminal only).
const PROGRESS_THRESHOLD: u64 = 16 << 20;

/// Discover and load the inputs, with a progress bar on an interactive stderr.
/// With `--cluster`, the live cluster's objects; a cluster that cannot be
/// read, or lacks the kinds the analysis `needs`, is an error (exit status
/// 2, before any report: a report on no objects would read as a clean
/// cluster, "0 new findings" or "no path").
pub fn load(args: &LoadArgs, common: &CommonArgs, needs: &Needs) -> Result<Loaded, String> {
    if args.cluster {
        return load_cluster(args, common, needs);
    }
    let (sources, mut diagnostics) = corral_core::discover(&args.inputs());
    let total: u64 = sources.iter().map(|s| s.size).sum();
    let bar = progress_bar(
        common,
        total > PROGRESS_THRESHOLD,
        total,
        "{spinner} loading {bytes}/{total_bytes} {wide_bar} {eta}",
    );
    let mut loaded = corral_core::load_sources(&sources, &args.limits(), &|bytes| bar.inc(bytes));
    bar.finish_and_clear();
    diagnostics.append(&mut loaded.diagnostics);
    loaded.diagnostics = diagnostics;
    Ok(loaded)
}

/// A progress bar of `total` steps on a terminal (hidden with `--quiet`,
/// off a terminal, or when not `worth` it).
pub fn progress_bar(common: &CommonArgs, worth: bool, total: u64, template: &str) -> ProgressBar {
    if common.quiet || !worth || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The live cluster's objects, read as a snapshot file named `cluster` (or
/// `cluster:CONTEXT`) would be.
fn load_cluster(args: &LoadArgs, common: &CommonArgs, needs: &Needs) -> Result<Loaded, String> {
    let name: std::sync::Arc<str> = match &args.kube.context {
        Some(context) => format!("cluster:{context}").into(),
        None => "cluster".into(),
    };
    let snapshot = crate::snapshot::take_for_analysis(&args.kube.target(None), common, needs)?;
    // The API's answers as they are, never written out and parsed again.
    let (objects, diagnostics) = corral_core::values::objects_from_values(&name, &snapshot.objects);
    Ok(Loaded {
        objects,
        diagnostics,
        files: 1,
    })
}

/// Print diagnostics on stderr, `file:line:col: severity: message`, sorted.
/// Notes only with `--verbose`; only errors with `--quiet`.
pub fn print_diagnostics(diagnostics: &[Diagnostic], common: &CommonArgs) {
    let mut sorted: Vec<&Diagnostic> = diagnostics
        .iter()
        .filter(|d| match d.severity {
            Severity::Error => true,
            Severity::Warning => !common.quiet,
            Severity::Note => common.verbose,
        })
        .collect();
    sorted.sort_by(|a, b| (&a.file, a.pos, &a.message).cmp(&(&b.file, b.pos, &b.message)));
    let mut err = anstream::stderr().lock();
    for d in sorted {
        let color = match d.severity {
            Severity::Error => AnsiColor::Red,
            Severity::Warning => AnsiColor::Yellow,
            Severity::Note => AnsiColor::Cyan,
        };
        let style = Style::new().fg_color(Some(color.into())).bold();
        let bold = Style::new().bold();
        let _ = writeln!(
            err,
            "{bold}{}{bold:#}: {style}{}{style:#}: {}",
            safe::one_line(&d.location()),
            d.severity,
            safe::terminal(&d.message)
        );
        if let Some(hint) = &d.hint {
            let _ = writeln!(err, "  {bold}hint{bold:#}: {}", safe::terminal(hint));
        }
    }
}

pub fn print_failure(message: &str) {
    let style = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let _ = writeln!(
        anstream::stderr(),
        "{style}error{style:#}: {}",
        safe::terminal(message)
    );
}

/// A value as pretty JSON, ending in a newline.
pub fn json(value: &impl serde::Serialize) -> Result<String, String> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}

/// Write `files` (paths relative to `dir`, with their directories) and say
/// so on stderr unless `--quiet`.
pub fn write_files(
    dir: &Path,
    files: &[(String, String)],
    common: &CommonArgs,
) -> Result<(), String> {
    for (name, text) in files {
        // Names are made of file-safe components (`corral_core::safe`);
        // this refuses anything else, whatever built it.
        let relative = Path::new(name);
        let inside = relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside || name.chars().any(char::is_control) {
            return Err(format!(
                "refusing to write {:?}: not a plain relative path inside {}",
                safe::one_line(name),
                dir.display()
            ));
        }
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if !common.quiet {
            eprintln!("wrote {}", safe::terminal(&path.display().to_string()));
        }
    }
    Ok(())
}

/// Write a machine-readable report (JSON, SARIF, YAML, workflow commands
/// whose values are escaped by their writer) to `--output` or stdout.
pub fn write_report(common: &CommonArgs, report: &str) -> Result<(), String> {
    stream_report(common, &mut |out| out.write_all(report.as_bytes()))
}

/// Write a report for people (text, Markdown) to `--output` or stdout,
/// with what came from input unable to drive a terminal or a CI runner
/// ([`safe::terminal`]).
pub fn write_text_report(common: &CommonArgs, report: &str) -> Result<(), String> {
    write_report(common, &safe::terminal(report))
}

/// Write the report `write` produces to `--output` or stdout as it is
/// produced, so a large report is never held in memory whole.
pub fn stream_report(
    common: &CommonArgs,
    write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> Result<(), String> {
    match &common.output {
        Some(path) => File::create(path)
            .and_then(|file| {
                let mut out = io::BufWriter::new(file);
                write(&mut out)?;
                out.flush()
            })
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            match write(&mut out).and_then(|_| out.flush()) {
                // A closed pipe (`corral ... | head`) is not an error.
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                    Err(format!("cannot write to standard output: {e}"))
                }
                _ => Ok(()),
            }
        }
    }
}

/// Input errors make the run fail with exit status 2, after the report.
pub fn input_status(diagnostics: &[Diagnostic]) -> Status {
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        Status::InputError
    } else {
        Status::Clean
    }
}

/// Run git: its standard output, or what went wrong (`purpose` says which
/// option needed it).
pub fn git<S: AsRef<std::ffi::OsStr>>(args: &[S], purpose: &str) -> Result<Vec<u8>, String> {
    let output = std::process::Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("{purpose} needs git: {e}"))?;
    if !output.status.success() {
        let shown: Vec<String> = args
            .iter()
            .map(|a| format!("{:?}", a.as_ref()).trim_matches('"').to_string())
            .collect();
        return Err(format!(
            "git {}: {}",
            shown.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(output.stdout)
}

/// The paths git lists with `-z` (`ls-tree -z`, `diff -z --name-only`):
/// NUL-separated, exactly as stored, never quoted or escaped, whatever
/// they hold (spaces, quotes, newlines, UTF-8 or other bytes).
pub fn git_paths(output: &[u8]) -> Vec<std::ffi::OsString> {
    use std::os::unix::ffi::OsStrExt;
    output
        .split(|b| *b == 0)
        .filter(|path| !path.is_empty())
        .map(|path| std::ffi::OsStr::from_bytes(path).to_os_string())
        .collect()
}

/// The repository's root and the working directory within it, for SARIF
/// URIs as GitHub wants them; outside a repository, the working directory.
pub fn sarif_root() -> (String, String) {
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "/".into());
    let git = |args: &[&str]| {
        git(args, "--format sarif")
            .ok()
            // Only git's final newline goes: a directory's name may
            // begin or end with spaces.
            .map(|out| {
                let text = String::from_utf8_lossy(&out).into_owned();
                text.strip_suffix('\n').map(str::to_string).unwrap_or(text)
            })
    };
    let root = git(&["rev-parse", "--show-toplevel"]).unwrap_or(cwd);
    let prefix = git(&["rev-parse", "--show-prefix"]).unwrap_or_default();
    (root, prefix)
}

/// Read the `--cloud` files: what the clouds' CLIs wrote. Each is read up
/// to `limit` bytes (`--max-document-size`: a larger one is an error, never
/// read whole), a UTF-8 byte order mark skipped.
pub fn read_cloud(
    files: &[std::path::PathBuf],
    limit: usize,
) -> Result<corral_cloud::Cloud, String> {
    corral_cloud::Cloud::read(files, limit)
}

/// This machine's host name (uname's node name).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|n| n.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}
