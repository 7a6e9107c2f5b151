//! `corral drift`: what a new recording did that the applied policies
//! (from `corral advise all`) would block.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use corral_advise::drift::{drift, Applied};
use corral_advise::netpol::inventory::Inventory;
use corral_core::model::Resource;

use crate::advise::{load_model, read_with_inventory, Recordings};
use crate::cli::CommonArgs;
use crate::output::{self, Status};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// With --cloud only.
    Sarif,
}

#[derive(Args)]
pub struct DriftArgs {
    /// Manifests or a snapshot of the cluster, with --cloud.
    #[arg(value_name = "PATHS", requires = "cloud")]
    pub paths: Vec<String>,
    /// Cloud files (as for `corral paths --cloud`): report where the
    /// cluster and its cloud account disagree, instead of checking
    /// recordings against policies.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["recordings", "policies"])]
    pub cloud: Vec<PathBuf>,
    /// Recordings (`corral record`), or directories of them (repeatable).
    #[arg(
        long = "recording",
        value_name = "PATH",
        required_unless_present_any = ["cloud", "kernel_log"]
    )]
    pub recordings: Vec<PathBuf>,
    /// A kernel log (`dmesg` output, `/dev/kmsg`, auditd's `audit.log`, or
    /// `-` for stdin): its seccomp records (`type=1326`) of the policies'
    /// containers' programs are syscalls made outside their profiles, as a
    /// burn-in profile (`advise --default-action log`) logs them.
    #[arg(long, value_name = "FILE", conflicts_with = "cloud")]
    pub kernel_log: Option<PathBuf>,
    /// Manifests holding the recorded workloads.
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    pub manifests: Vec<String>,
    /// The container runtime, as for `corral advise`.
    #[arg(long, default_value = "runc")]
    pub runtime: String,
    /// Check recordings that lost observations too.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// The directory `corral advise all` wrote (its advice.json and netpol/).
    #[arg(long, value_name = "DIR", required_unless_present = "cloud")]
    pub policies: Option<PathBuf>,
    /// Pods, Services and Namespaces, to check flows against netpol/.
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    pub inventory: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `corral drift --cloud`: the cloud drift rules of `corral scan`, alone.
fn cloud_drift(args: &DriftArgs, common: &CommonArgs) -> Result<Status, String> {
    use corral_scan::report::{self, Outcome};
    use corral_scan::{rules, scan, Family, Settings, Severity};
    let paths = if args.paths.is_empty() {
        vec![".".to_string()]
    } else {
        args.paths.clone()
    };
    let (model, diagnostics) = load_model(&paths);
    let mut settings = Settings {
        cloud: output::read_cloud(
            &args.cloud,
            corral_core::Limits::default().max_document_size,
        )?,
        ..Settings::default()
    };
    settings.disabled = rules::all()
        .iter()
        .map(|r| r.meta())
        .filter(|m| m.family != Family::CloudDrift)
        .map(|m| m.id.to_string())
        .collect();
    let findings = scan(&model, &settings);
    let outcome = Outcome::new(
        &findings,
        &vec![false; findings.len()],
        Vec::new(),
        Severity::Low,
    );
    let text = match args.format {
        Format::Text => report::text(&outcome, &mut |file| {
            std::fs::read_to_string(file).ok().map(std::sync::Arc::from)
        }),
        Format::Json => report::json(&outcome),
        Format::Sarif => {
            let (root, prefix) = output::sarif_root();
            report::sarif(&outcome, &root, &prefix)
        }
    };
    match args.format {
        Format::Text => output::write_text_report(common, &text)?,
        _ => output::write_report(common, &text)?,
    }
    output::print_diagnostics(&diagnostics, common);
    let input = output::input_status(&diagnostics);
    Ok(if input != Status::Clean {
        input
    } else if findings.is_empty() {
        Status::Clean
    } else {
        Status::Findings
    })
}

/// The kernel log at `path`: a file, `-` for stdin, or `/dev/kmsg`, read
/// without waiting for new messages; bounded like every input.
fn read_kernel_log(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let limit = corral_core::Limits::default().max_document_size;
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(limit as u64)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("stdin: {e}"))?;
    } else if path == std::path::Path::new("/dev/kmsg") {
        use std::os::unix::fs::OpenOptionsExt;
        let mut kmsg = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| format!("/dev/kmsg: {e}"))?;
        // One record per read; EAGAIN once the buffer is drained.
        let mut record = vec![0u8; 8192];
        while bytes.len() < limit {
            match kmsg.read(&mut record) {
                Ok(0) => break,
                Ok(n) => {
                    bytes.extend_from_slice(&record[..n]);
                    if !record[..n].ends_with(b"\n") {
                        bytes.push(b'\n');
                    }
                }
                Err(e) if e.raw_os_error() == Some(libc::EPIPE) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(format!("/dev/kmsg: {e}")),
            }
        }
    } else {
        bytes = corral_core::read_bounded(path, limit)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub fn run(args: &DriftArgs, common: &CommonArgs) -> Result<Status, String> {
    if !args.cloud.is_empty() {
        return cloud_drift(args, common);
    }
    if matches!(args.format, Format::Sarif) {
        return Err("--format sarif goes with --cloud".into());
    }
    let policies = args
        .policies
        .as_ref()
        .ok_or("--policies: the directory corral advise all wrote")?;
    let input = Recordings {
        recordings: args.recordings.clone(),
        manifests: args.manifests.clone(),
        runtime: args.runtime.clone(),
        allow_incomplete: args.allow_incomplete,
        mode: crate::advise::ProfileMode::Reachable,
        default_action: crate::advise::DefaultAction::Errno,
        min_recorded: corral_advise::policies::DEFAULT_MIN_RECORDED_SECONDS,
    };
    let advice_path = policies.join("advice.json");
    let text = corral_core::read_bounded(
        &advice_path,
        corral_core::Limits::default().max_document_size,
    )
    .map_err(|e| format!("{e} (written by corral advise all)"))?;
    let applied: Vec<Applied> = serde_json::from_slice(&text).map_err(|e| {
        let pos = corral_core::lines::from_serde_json(&text, e.line(), e.column());
        format!("{}:{pos}: {e}", advice_path.display())
    })?;
    let mut found = Vec::new();
    let mut diagnostics = Vec::new();
    if !args.recordings.is_empty() {
        let (mut inputs, inventory) = read_with_inventory(&input, &args.inventory)?;
        let network = if let Some(model) = inventory {
            let (policy_model, diagnostics) =
                load_model(&[policies.join("netpol").display().to_string()]);
            inputs.diagnostics.extend(diagnostics);
            let policies: Vec<_> = policy_model
                .iter()
                .filter_map(|(_, r)| match r {
                    Resource::NetworkPolicy(p) => Some(p.as_ref().clone()),
                    _ => None,
                })
                .collect();
            Some((policies, Inventory::from_model(&model)))
        } else {
            None
        };
        let recorded = drift(
            &inputs.workloads,
            &applied,
            network.as_ref().map(|(p, i)| (p.as_slice(), i)),
        );
        found = recorded;
        diagnostics = inputs.diagnostics;
    }
    if let Some(path) = &args.kernel_log {
        let text = read_kernel_log(path)?;
        let (records, unreadable) = corral_advise::audit::parse(&text);
        found.extend(corral_advise::audit::drift(&records, &applied).0);
        if unreadable > 0 && !common.quiet {
            eprintln!(
                "warning: {}: {unreadable} seccomp record(s) could not be read",
                corral_core::safe::terminal(&path.display().to_string())
            );
        }
        found.sort();
    }
    let text = match args.format {
        Format::Json => output::json(&found)?,
        Format::Text | Format::Sarif => {
            let mut text: String = found
                .iter()
                .map(|d| format!("{}: {}: {}\n", d.container, d.kind, d.detail))
                .collect();
            text.push_str(&if found.is_empty() {
                "no drift: the policies allow everything recorded\n".to_string()
            } else {
                format!(
                    "{} drift finding(s): update the policies before applying them\n",
                    found.len()
                )
            });
            text
        }
    };
    match args.format {
        Format::Json => output::write_report(common, &text)?,
        _ => output::write_text_report(common, &text)?,
    }
    output::print_diagnostics(&diagnostics, common);
    if output::input_status(&diagnostics) != Status::Clean {
        return Ok(Status::InputError);
    }
    Ok(if found.is_empty() {
        Status::Clean
    } else {
        Status::Findings
    })
}
