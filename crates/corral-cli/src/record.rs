//! `corral record`: what a workload really does, recorded with eBPF.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use corral_record::Recording;
use corral_recorder::{
    record_command, record_containers, stop_on_signals, Capacity, ContainerOptions,
};

use crate::cli::CommonArgs;
use crate::output::{self, Status};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RecordArgs {
    #[command(subcommand)]
    pub action: Option<RecordAction>,
    /// Record every container a runtime starts or runs (one recording per
    /// container, into the directory given by -o), instead of a command.
    #[arg(long, conflicts_with = "command", requires = "output")]
    pub containers: bool,
    /// A runc state directory to read containers from (repeatable); by
    /// default /run/runc and /run/containerd/runc/k8s.io, where present.
    #[arg(long, value_name = "PATH", requires = "containers")]
    pub runtime_root: Vec<PathBuf>,
    /// Keep only the containers of this Kubernetes namespace.
    #[arg(long, value_name = "NS", requires = "containers")]
    pub namespace: Option<String>,
    /// Keep only the containers of this pod.
    #[arg(long, value_name = "NAME", requires = "containers")]
    pub pod: Option<String>,
    /// Stop after this long (`90s`, `10m`, `1h`); otherwise at Ctrl-C or
    /// SIGTERM.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "containers")]
    pub duration: Option<Duration>,
    /// Mount namespaces the recorder holds at once; past it, observations
    /// are counted as dropped and reported.
    #[arg(long, value_name = "N", default_value_t = Capacity::default().namespaces)]
    pub max_namespaces: u32,
    /// Distinct execs, peers, DNS questions and file writes held, each.
    #[arg(long, value_name = "N", default_value_t = Capacity::default().entries)]
    pub max_entries: u32,
    /// Also publish each recording as a `Recording` resource
    /// (corral.dev/v1alpha1) of its workload container on this node, in the
    /// namespaces labelled `corral.dev/record: "true"`.
    #[arg(long, requires = "containers")]
    pub publish: bool,
    /// Runs each published Recording keeps one by one, the newest; older
    /// ones are summarised (how many, when, the time covered), so that a
    /// long-lived node's Recording stays bounded.
    #[arg(
        long,
        value_name = "N",
        default_value_t = corral_record::DEFAULT_MAX_RUNS as u32,
        value_parser = clap::value_parser!(u32).range(1..=100_000),
        requires = "publish"
    )]
    pub max_runs: u32,
    /// This node's name, for the published Recordings (default: NODE_NAME,
    /// as the DaemonSet sets it, then the host name). NODE_NAME is read
    /// only when publishing: set in the environment, it is no `--node`
    /// (which needs `--publish`).
    #[arg(long, value_name = "NAME", requires = "publish")]
    pub node: Option<String>,
    #[command(flatten)]
    pub kube: crate::cli::KubeArgs,
    /// The workload a command recording is of, for `corral advise` and
    /// `corral drift` (in namespace `default`); without it, the recording
    /// file's name without `.json`.
    #[arg(long, value_name = "NAME", conflicts_with = "containers", value_parser = workload_name)]
    pub workload: Option<String>,
    /// The command to run and record, with its arguments, after `--`.
    #[arg(
        last = true,
        required_unless_present = "containers",
        value_name = "CMD"
    )]
    pub command: Vec<String>,
}

#[derive(Subcommand)]
pub enum RecordAction {
    /// Merge recordings of the same workload into one, losing nothing.
    Merge {
        /// Recordings written by `corral record`.
        #[arg(required = true, value_name = "RECORDING")]
        recordings: Vec<PathBuf>,
    },
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 90s, 10m or 1h"))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "s" | "" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("`{text}`: the unit is ms, s, m or h")),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long a duration"))
}

/// A workload name as Kubernetes takes an object's (RFC 1123 subdomain).
fn workload_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?}: a workload name is lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
        ))
    }
}

pub fn run(args: &RecordArgs, common: &CommonArgs) -> Result<Status, String> {
    let capacity = Capacity {
        namespaces: args.max_namespaces,
        entries: args.max_entries,
    };
    let recording = match &args.action {
        Some(RecordAction::Merge { recordings }) => {
            let loaded = recordings
                .iter()
                .map(|path| corral_advise::workload::read_recording(path))
                .collect::<Result<Vec<_>, _>>()?;
            Recording::merge(loaded).map_err(|e| e.to_string())?
        }
        None if args.containers => return run_containers(args, common, capacity),
        None => {
            let mut recording =
                record_command(&args.command, capacity).map_err(|e| e.to_string())?;
            for run in &mut recording.runs {
                run.workload.clone_from(&args.workload);
            }
            recording
        }
    };
    write_json(common, &recording)?;
    if !common.quiet {
        let runs: Vec<String> = recording
            .runs
            .iter()
            .map(|r| {
                let status = r
                    .exit_status
                    .map_or("unknown".to_string(), |s| s.to_string());
                format!("`{}` (exit status {status})", r.command.join(" "))
            })
            .collect();
        eprintln!(
            "{} syscalls and {} capabilities from {}",
            recording.workload.syscalls.len(),
            recording.workload.capabilities.len(),
            runs.join(", ")
        );
        warn_dropped(&recording);
        warn_unreadable(&recording);
    }
    Ok(Status::Clean)
}

/// A recording that its readers would refuse (a syscall newer than
/// Corral's tables, on this kernel) is still written, and said so now
/// rather than at `corral advise`.
fn warn_unreadable(recording: &Recording) {
    if let Err(e) = recording.check() {
        eprintln!("warning: {e}: corral advise and corral record merge will refuse this recording");
    }
}

fn warn_dropped(recording: &Recording) {
    for (kind, count) in recording.dropped() {
        eprintln!(
            "warning: {count} {kind} observations were dropped because the recorder's maps were full: raise --max-namespaces or --max-entries"
        );
    }
}

fn write_json(common: &CommonArgs, recording: &Recording) -> Result<(), String> {
    let json = output::json(recording)?;
    output::write_report(common, &json)
}

fn run_containers(
    args: &RecordArgs,
    common: &CommonArgs,
    capacity: Capacity,
) -> Result<Status, String> {
    let dir = common.output.as_deref().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create the directory: {e}", dir.display()))?;
    let options = ContainerOptions {
        runtime_roots: args.runtime_root.clone(),
        namespace: args.namespace.clone(),
        pod: args.pod.clone(),
        duration: args.duration,
        capacity,
    };
    let quiet = common.quiet;
    let outcome = record_containers(&options, stop_on_signals(), |roots, waiting| {
        if !quiet {
            let roots: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
            eprintln!(
                "recording the containers in {}; Ctrl-C or SIGTERM to stop",
                roots.join(", ")
            );
            for root in waiting {
                eprintln!(
                    "note: {} does not exist yet; waiting for the runtime to create it, and recording from its first container",
                    root.display()
                );
            }
        }
    })
    .map_err(|e| e.to_string())?;
    for recording in &outcome.recordings {
        let container = recording
            .container
            .as_ref()
            .expect("a container's recording");
        let path = dir.join(recording_file_name(container));
        if !quiet {
            warn_unreadable(recording);
        }
        let json = output::json(recording)?;
        std::fs::write(&path, json)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    }
    if args.publish {
        let node = args
            .node
            .clone()
            .or_else(|| std::env::var("NODE_NAME").ok().filter(|n| !n.is_empty()))
            .unwrap_or_else(crate::output::host_name);
        let bounds = corral_record::Bounds {
            max_runs: args.max_runs as usize,
            ..corral_record::Bounds::default()
        };
        let published = publish(
            &args.kube.target(None),
            outcome.recordings.clone(),
            &node,
            bounds,
        )?;
        for collided in &published.collided {
            eprintln!("warning: Recording {collided}: not published (their names meet)");
        }
        for replaced in &published.replaced {
            eprintln!("warning: Recording {replaced}: unreadable, so replaced by this node's recording rather than merged with");
        }
        if !quiet {
            eprintln!(
                "{} Recording(s) published from node {node}; {} recording(s) of namespaces not labelled {}=true, {} of no Kubernetes container",
                published.written.len(),
                published.skipped,
                corral_operator::RECORD_LABEL,
                published.unnamed
            );
        }
    }
    if !quiet {
        eprintln!(
            "{} containers recorded into {}; {} other mount namespaces were not containers the runtime state named",
            outcome.recordings.len(),
            dir.display(),
            outcome.unattributed
        );
        for (kind, count) in &outcome.dropped {
            eprintln!(
                "warning: {count} {kind} observations were dropped because the recorder's maps were full: raise --max-namespaces or --max-entries"
            );
        }
    }
    Ok(Status::Clean)
}

/// Publish recordings as Recording resources, with the cluster's client.
fn publish(
    target: &corral_cluster::Target,
    recordings: Vec<Recording>,
    node: &str,
    bounds: corral_record::Bounds,
) -> Result<corral_operator::publish::Published, String> {
    let runtime = corral_cluster::runtime().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = corral_cluster::client(target)
            .await
            .map_err(|e| e.to_string())?;
        corral_operator::publish::publish_bounded(&client, recordings, node, bounds).await
    })
}

/// The file name of a container's recording: namespace, pod, container and
/// the id's first 12 characters (a restarted container is another one),
/// each made file-safe and joined by `_` (which file-safe names never hold).
fn recording_file_name(container: &corral_record::Container) -> String {
    use corral_core::safe::file_name;
    let short: String = container.id.chars().take(12).collect();
    match (&container.namespace, &container.pod) {
        (Some(namespace), Some(pod)) => {
            let name = container.name.as_deref().unwrap_or(if container.sandbox {
                "sandbox"
            } else {
                "container"
            });
            format!(
                "{}_{}_{}_{}.json",
                file_name(namespace),
                file_name(pod),
                file_name(name),
                file_name(&short)
            )
        }
        _ => format!("{}.json", file_name(&container.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("99999999999999999h").is_err());
    }

    fn container(
        namespace: &str,
        pod: &str,
        name: Option<&str>,
        id: &str,
    ) -> corral_record::Container {
        serde_json::from_value(serde_json::json!({
            "id": id, "runtimeRoot": "/run/runc", "namespace": namespace, "pod": pod, "name": name,
        }))
        .expect("a container")
    }

    #[test]
    fn recording_files_stay_in_the_output_directory() {
        let c = container("shop", "db-0", None, "0123456789abcdef");
        assert_eq!(
            recording_file_name(&c),
            "shop_db-0_container_0123456789ab.json"
        );
        let hostile = container("..", "../../etc", Some("a/b\n\u{1b}"), "../x");
        let name = recording_file_name(&hostile);
        assert_eq!(name, "%2E%2E_..%2F..%2Fetc_a%2Fb%0A%1B_..%2Fx.json");
        let bare: corral_record::Container = serde_json::from_value(
            serde_json::json!({"id": "plain/id", "runtimeRoot": "/run/runc"}),
        )
        .unwrap();
        assert_eq!(recording_file_name(&bare), "plain%2Fid.json");
    }
}
