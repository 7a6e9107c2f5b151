//! `corral drift`: what a new recording did that the applied policies
//! (from `corral advise all`) would block.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use std::collections::BTreeMap;

use corral_advise::drift::{drift, Applied, Drift, Kind};
use corral_advise::netpol::inventory::Inventory;
use corral_advise::workload::{Recorded, WorkloadKey};
use corral_core::model::Model;
use corral_core::model::Resource;
use corral_scan::Finding;

use crate::advise::{load_model, read_with_inventory, Recordings};
use crate::cli::CommonArgs;
use crate::output::{self, Status};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
    Junit,
    Markdown,
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
    /// The live cluster (as `corral snapshot` reads it) as the inventory.
    #[arg(long, conflicts_with_all = ["inventory", "cloud"])]
    pub cluster: bool,
    #[command(flatten)]
    pub kube: crate::cli::KubeArgs,
    /// The report, in `corral scan`'s formats: runtime drift findings are
    /// of the `CRL-B` rules, cloud drift of the `CRL-D` rules.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 1 when a finding is at least this severe (default low: any
    /// finding; each runtime drift is something the policies would break).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<corral_scan::Severity>,
}

fn parse_severity(text: &str) -> Result<corral_scan::Severity, String> {
    corral_scan::Severity::parse(text)
        .ok_or_else(|| format!("{text}: one of low, medium, high, critical"))
}

/// A report of `outcome` in `format`, as `corral scan` writes it.
fn report_text(outcome: &corral_scan::report::Outcome, format: Format) -> String {
    use corral_scan::report;
    match format {
        Format::Text => report::text(outcome, &mut |file| {
            std::fs::read_to_string(file).ok().map(std::sync::Arc::from)
        }),
        Format::Json => report::json(outcome),
        Format::Sarif => {
            let (root, prefix) = output::sarif_root();
            report::sarif(outcome, &root, &prefix)
        }
        Format::Github => report::github(outcome),
        Format::Junit => report::junit(outcome),
        Format::Markdown => report::markdown(outcome),
    }
}

fn write(common: &CommonArgs, format: Format, text: &str) -> Result<(), String> {
    match format {
        Format::Text | Format::Markdown => output::write_text_report(common, text),
        _ => output::write_report(common, text),
    }
}

/// `corral drift --cloud`: the cloud drift rules of `corral scan`, alone.
fn cloud_drift(args: &DriftArgs, common: &CommonArgs) -> Result<Status, String> {
    use corral_scan::report::Outcome;
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
        args.fail_on.unwrap_or(Severity::Low),
    );
    write(common, args.format, &report_text(&outcome, args.format))?;
    output::print_diagnostics(&diagnostics, common);
    let input = output::input_status(&diagnostics);
    Ok(if input != Status::Clean {
        input
    } else if outcome.fails() {
        Status::Findings
    } else {
        Status::Clean
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

fn has_manifest(d: &Drift, manifests: Option<&Model>) -> bool {
    manifests.is_some_and(|m| {
        m.workloads().any(|(o, _)| {
            o.name.as_deref() == Some(d.workload.as_str())
                && o.namespace.as_deref().unwrap_or("default") == d.namespace
        })
    })
}

/// A finding of the kernel log, at the line of its first record.
fn logged_finding(d: &Drift, file: &str, line: usize) -> Finding {
    Finding::in_cloud_file(
        rule(d.kind),
        file,
        (u32::try_from(line).unwrap_or(u32::MAX), 1),
        "KernelLog",
        &d.subject(),
        &d.detail,
        format!("{}: {}", d.subject(), d.detail),
        fix(d.kind).into(),
    )
}

pub fn run(args: &DriftArgs, common: &CommonArgs) -> Result<Status, String> {
    if !args.cloud.is_empty() {
        return cloud_drift(args, common);
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
        cluster: args.cluster,
        kube: args.kube.clone(),
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
    let (mut inputs, inventory) = if args.recordings.is_empty() {
        // A kernel log alone: the manifests still place its findings.
        let (model, diagnostics) = if args.manifests.is_empty() {
            (None, Vec::new())
        } else {
            let (model, diagnostics) = load_model(&args.manifests);
            (Some(model), diagnostics)
        };
        let inputs = crate::advise::Inputs {
            workloads: BTreeMap::new(),
            model,
            diagnostics,
        };
        (inputs, None)
    } else {
        read_with_inventory(&input, &args.inventory, common)?
    };
    let network = match &inventory {
        Some(model) => {
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
            Some((policies, model, Inventory::from_model(model)))
        }
        None => None,
    };
    let mut found = drift(
        &inputs.workloads,
        &applied,
        network.as_ref().map(|(p, m, i)| (p.as_slice(), *m, i)),
    );
    let mut logged = Vec::new();
    if let Some(path) = &args.kernel_log {
        let text = read_kernel_log(path)?;
        let (records, unreadable) = corral_advise::audit::parse(&text);
        let (drifts, lines) = corral_advise::audit::drift(&records, &applied);
        logged = lines;
        found.extend(drifts);
        if unreadable > 0 && !common.quiet {
            eprintln!(
                "warning: {}: {unreadable} seccomp record(s) could not be read",
                corral_core::safe::terminal(&path.display().to_string())
            );
        }
    }
    // The manifests, or the inventory when it stands for them.
    let manifests = inputs.model.as_ref().or(inventory.as_ref());
    let kernel_log = args
        .kernel_log
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let findings: Vec<Finding> = found
        .iter()
        .map(|d| {
            // A kernel log's finding without a manifest points at its
            // first record.
            let line = logged.iter().find(|(drift, _)| drift == d).map(|(_, l)| *l);
            match line {
                Some(line) if !has_manifest(d, manifests) => logged_finding(d, &kernel_log, line),
                _ => finding(d, &inputs.workloads, manifests),
            }
        })
        .collect();
    let outcome = corral_scan::report::Outcome::new(
        &findings,
        &vec![false; findings.len()],
        Vec::new(),
        args.fail_on.unwrap_or(corral_scan::Severity::Low),
    );
    write(common, args.format, &report_text(&outcome, args.format))?;
    output::print_diagnostics(&inputs.diagnostics, common);
    if output::input_status(&inputs.diagnostics) != Status::Clean {
        return Ok(Status::InputError);
    }
    Ok(if outcome.fails() {
        Status::Findings
    } else {
        Status::Clean
    })
}

/// The rule of a kind of drift.
fn rule(kind: Kind) -> &'static corral_scan::RuleMeta {
    use corral_scan::rules::runtime::*;
    match kind {
        Kind::Syscall => &SyscallOutsideProfile::META,
        Kind::Capability => &CapabilityNotAdded::META,
        Kind::User => &RootUnderRunAsNonRoot::META,
        Kind::Write => &WriteOnReadOnlyRoot::META,
        Kind::Exec => &ExecRaisesPrivileges::META,
        Kind::Egress => &EgressDenied::META,
        Kind::Ingress => &IngressDenied::META,
        Kind::Policy => &NoAdvisedPolicy::META,
    }
}

/// What to change, by kind.
fn fix(kind: Kind) -> &'static str {
    match kind {
        Kind::Syscall | Kind::Capability | Kind::User | Kind::Write | Kind::Exec => {
            "advise again from all the recordings (corral advise all) if the new behaviour is legitimate, before applying the policies"
        }
        Kind::Egress | Kind::Ingress => {
            "advise the NetworkPolicies again with this recording if the peer is legitimate"
        }
        Kind::Policy => "advise from this workload's recordings too, with its pods in --inventory",
    }
}

/// A drift as a finding: at the workload's container in the manifests
/// when they hold it (its pod template for flows), else at the recording.
fn finding(
    d: &Drift,
    workloads: &BTreeMap<WorkloadKey, Recorded>,
    manifests: Option<&Model>,
) -> Finding {
    let rule = rule(d.kind);
    let message = format!("{}: {}", d.subject(), d.detail);
    let recorded = workloads
        .iter()
        .find(|(k, _)| {
            k.namespace == d.namespace
                && k.workload == d.workload
                && d.container.as_ref().is_none_or(|c| &k.container == c)
        })
        .map(|(_, r)| r);
    let kind = recorded.and_then(|r| r.named.kind.as_deref());
    let object = manifests.and_then(|m| {
        m.workloads()
            .filter(|(o, _)| {
                o.name.as_deref() == Some(d.workload.as_str())
                    && o.namespace.as_deref().unwrap_or("default") == d.namespace
            })
            // The kind the owner references name, when they do.
            .min_by_key(|(o, _)| Some(o.kind.as_str()) != kind)
    });
    match object {
        Some((object, template)) => {
            let field = match d
                .container
                .as_ref()
                .and_then(|c| template.spec.containers.iter().position(|x| &x.name == c))
            {
                Some(i) => template.spec_path(&format!("containers[{i}]")),
                None => template.spec_path("containers"),
            };
            Finding::new(rule, object, &field, message, fix(d.kind).into()).distinguished_by(
                &format!("{}\0{}", d.container.as_deref().unwrap_or(""), d.detail),
            )
        }
        None => {
            let file = recorded
                .and_then(|r| r.files.first().cloned())
                .unwrap_or_default();
            Finding::in_cloud_file(
                rule,
                &file,
                (1, 1),
                "Recording",
                &d.subject(),
                &d.detail,
                message,
                fix(d.kind).into(),
            )
        }
    }
}
