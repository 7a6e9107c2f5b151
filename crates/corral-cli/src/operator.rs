//! `corral operator`: the in-cluster controller over Recording resources,
//! and the CRD it serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use corral_operator::lease::LeaderElection;
use corral_operator::metrics::{counted_client, Metrics};
use corral_operator::serve::{self, Health};

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
        #[command(flatten)]
        election: Box<ElectionArgs>,
    },
    /// Print the Recording CustomResourceDefinition (deploy/crds/recording.yaml).
    Crd,
}

/// Where the operator answers Prometheus and the kubelet's probes, and
/// how replicas elect the one that works.
#[derive(Args)]
pub struct ElectionArgs {
    /// Serve /metrics (Prometheus), /healthz and /readyz on this address.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_bind: SocketAddr,
    /// Work only while holding a coordination.k8s.io Lease: of several
    /// replicas one works, the others stand by (ready, serving /metrics)
    /// and take over when it stops renewing. A leader that cannot renew
    /// exits (status 2), to restart clean.
    #[arg(long)]
    pub leader_elect: bool,
    /// The Lease's namespace (default: POD_NAMESPACE, then the
    /// kubeconfig's namespace).
    #[arg(long, value_name = "NAMESPACE", env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// The Lease's name.
    #[arg(long, value_name = "NAME", default_value = "corral-operator")]
    pub lease_name: String,
    /// This replica's name in the Lease (default: POD_NAME, then the host
    /// name and process id).
    #[arg(long, value_name = "NAME")]
    pub identity: Option<String>,
    /// How long a leader's Lease holds without renewal (whole seconds).
    #[arg(long, value_name = "DURATION", value_parser = crate::record::parse_duration, default_value = "15s")]
    pub lease_duration: Duration,
    /// How often the leader renews the Lease, and standbys try to take it
    /// (at most a third of the lease duration).
    #[arg(long, value_name = "DURATION", value_parser = crate::record::parse_duration, default_value = "2s")]
    pub renew_period: Duration,
}

async fn operate(
    kube: &crate::cli::KubeArgs,
    output: Option<PathBuf>,
    settings: corral_operator::reconcile::Settings,
    election: &ElectionArgs,
) -> Result<(), String> {
    // Caught from the start: a standby stopped early exits cleanly.
    let shutdown = serve::shutdown_signal()?;
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::new(metrics.clone()));
    let listener = serve::bind(election.metrics_bind).await?;
    let server = tokio::spawn(serve::serve(listener, health.clone()));
    let mut config = corral_cluster::config(&kube.target(None))
        .await
        .map_err(|e| e.to_string())?;
    // A watch is quiet for as long as nothing changes (the API server ends
    // it after timeoutSeconds, 290 s as kube-rs asks): reading it must not
    // time out before, or every quiet watch would fail and be resumed.
    config.read_timeout = config.read_timeout.map(|t| t.max(Duration::from_secs(330)));
    let namespace = election
        .lease_namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = counted_client(config, metrics).map_err(|e| format!("cluster client: {e}"))?;
    // The work ends when the controllers do (SIGINT, SIGTERM); the stores
    // say when they are synced.
    // On a task of its own, so that its work (decoding watches, advising)
    // never delays the Lease's renewals; aborted when the work is dropped
    // (the Lease lost).
    let work = {
        let (client, health) = (client.clone(), health.clone());
        async move {
            let task = tokio::spawn(async move {
                corral_operator::reconcile::run(client, output, settings, health).await;
            });
            let _abort = AbortOnDrop(task.abort_handle());
            let _ = task.await;
        }
    };
    let result = if election.leader_elect {
        let identity = election
            .identity
            .clone()
            .unwrap_or_else(corral_operator::lease::default_identity);
        let elector = LeaderElection::new(client, &namespace, &election.lease_name, &identity)
            .with_timing(election.lease_duration, election.renew_period)
            .map_err(|e| e.to_string())?;
        eprintln!(
            "corral operator: {identity} stands for Lease {namespace}/{}",
            election.lease_name
        );
        // A standby stops on SIGINT or SIGTERM; the leader's controller
        // stops on them itself, and the Lease is released before the
        // replica stops saying it leads.
        let standby_stopped = async {
            shutdown.await;
            if health.is_leader() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            result = elector.run(work, &health) => result.map_err(|e| e.to_string()),
            () = standby_stopped => Ok(()),
        }
    } else {
        health.set_leader(true);
        work.await;
        Ok(())
    };
    server.abort();
    result
}

/// Aborts its task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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
            election,
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
            runtime.block_on(operate(kube, output_dir.clone(), settings, election))?;
            Ok(Status::Clean)
        }
    }
}
