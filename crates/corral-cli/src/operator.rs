//! `corral operator`: the in-cluster controller over Recording resources,
//! and the CRD it serves.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::cli::{CommonArgs, KubeArgs};
use crate::output::{self, Status};

#[derive(Args)]
pub struct OperatorArgs {
    #[command(subcommand)]
    pub action: OperatorAction,
}

#[derive(Subcommand)]
pub enum OperatorAction {
    /// Watch Recording resources; for each workload container, merge its
    /// recordings over replicas and nodes and write the merged Recording
    /// (with the securityContext patch and the advice in it), a
    /// SeccompProfile (Security Profiles Operator) and the namespace's
    /// NetworkPolicies. Runs until SIGINT or SIGTERM.
    Run {
        #[command(flatten)]
        kube: KubeArgs,
        /// Write the advised resources as files under DIR instead of
        /// applying them.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
        /// Reconciles running at once, per controller.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=256))]
        concurrency: u16,
        /// How long a workload container's changes are gathered before it
        /// is advised (nodes publish a window at about the same time).
        #[arg(long, default_value = "5s", value_parser = crate::record::parse_duration)]
        debounce: Duration,
        /// The same for a namespace's NetworkPolicies.
        #[arg(long, default_value = "15s", value_parser = crate::record::parse_duration)]
        namespace_debounce: Duration,
        /// How often a namespace's NetworkPolicies are advised again
        /// without a change to its Recordings (its peers move).
        #[arg(long, default_value = "10m", value_parser = crate::record::parse_duration)]
        refresh: Duration,
    },
    /// Print the Recording CustomResourceDefinition (deploy/crds/recording.yaml).
    Crd,
}

pub fn run(args: &OperatorArgs, common: &CommonArgs) -> Result<Status, String> {
    match &args.action {
        OperatorAction::Crd => {
            output::write_report(common, &corral_operator::crd::crd_yaml())?;
            Ok(Status::Clean)
        }
        OperatorAction::Run {
            kube,
            output_dir,
            concurrency,
            debounce,
            namespace_debounce,
            refresh,
        } => {
            // Logs as lines on stderr.
            let _ = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .with_max_level(if common.quiet {
                    tracing::Level::WARN
                } else {
                    tracing::Level::INFO
                })
                .try_init();
            let settings = corral_operator::reconcile::Settings {
                concurrency: *concurrency,
                debounce: *debounce,
                namespace_debounce: *namespace_debounce,
                refresh: *refresh,
            };
            let runtime = corral_cluster::runtime().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let client = corral_cluster::client(&kube.target(None))
                    .await
                    .map_err(|e| e.to_string())?;
                corral_operator::reconcile::run(client, output_dir.clone(), settings).await;
                Ok(Status::Clean)
            })
        }
    }
}
