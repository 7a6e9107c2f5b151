//! `corral operator`: the in-cluster controller over Recording resources,
//! and the CRD it serves.

use std::path::PathBuf;

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
        OperatorAction::Run { kube, output_dir } => {
            let runtime = corral_cluster::runtime().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let client = corral_cluster::client(&kube.target(None))
                    .await
                    .map_err(|e| e.to_string())?;
                corral_operator::reconcile::run(corral_operator::reconcile::Context {
                    client,
                    output: output_dir.clone(),
                })
                .await;
                Ok(Status::Clean)
            })
        }
    }
}
