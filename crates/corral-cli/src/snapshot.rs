//! `corral snapshot`: the live cluster, through kube-rs, into one file
//! every other command reads; and `--cluster`, the same read in place of
//! manifests.

use clap::{Args, ValueEnum};
use corral_cluster::{snapshot_blocking, Snapshot, Target, KINDS};

use crate::cli::{CommonArgs, KubeArgs};
use crate::output::{self, Status};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// One YAML document per object.
    Yaml,
    /// One `v1 List`, as `kubectl get -o json` writes.
    Json,
}

#[derive(Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    /// Only this namespace's namespaced objects (cluster-scoped ones are
    /// always read).
    #[arg(
        long,
        short = 'n',
        value_name = "NS",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,
    /// Every namespace: the default.
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
}

/// Read the cluster, with a progress bar on a terminal and each skipped
/// kind as a warning.
pub fn take(target: &Target, common: &CommonArgs) -> Result<Snapshot, String> {
    let bar = output::progress_bar(
        common,
        true,
        KINDS.len() as u64 + 1,
        "{spinner} reading the cluster {pos}/{len} {wide_bar} {msg}",
    );
    let snapshot = snapshot_blocking(target, &|kind| {
        bar.set_message(kind.to_string());
        bar.inc(1);
    })
    .map_err(|e| e.to_string());
    bar.finish_and_clear();
    let snapshot = snapshot?;
    if !common.quiet {
        for warning in &snapshot.warnings {
            eprintln!("warning: {}", corral_core::safe::terminal(warning));
        }
    }
    Ok(snapshot)
}

/// The snapshot as text, in `format`.
pub fn text(snapshot: &Snapshot, format: Format) -> Result<String, String> {
    Ok(match format {
        Format::Json => output::json(&snapshot.list())?,
        Format::Yaml => snapshot
            .objects
            .iter()
            .map(|o| {
                format!(
                    "---\n{}",
                    corral_core::emit::document(&corral_core::emit::from_json(o))
                )
            })
            .collect(),
    })
}

pub fn run(args: &SnapshotArgs, common: &CommonArgs) -> Result<Status, String> {
    let snapshot = take(&args.kube.target(args.namespace.clone()), common)?;
    output::write_report(common, &text(&snapshot, args.format)?)?;
    if !common.quiet {
        eprintln!(
            "{} objects{}",
            snapshot.objects.len(),
            match &common.output {
                Some(path) => format!(" written to {}", path.display()),
                None => String::new(),
            }
        );
    }
    Ok(Status::Clean)
}
