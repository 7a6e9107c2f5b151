//! Arguments shared by every command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use corral_core::model::TemplatePaths;
use corral_core::{Input, Limits};

#[derive(Parser)]
#[command(name = "corral", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// The name kubectl's plugin discovery finds Corral by: an executable
/// `kubectl-corral` on PATH, which `kubectl corral ARGS` runs.
pub const KUBECTL_PLUGIN: &str = "kubectl-corral";

impl Cli {
    /// The command line, parsed as `corral` or, when this binary was
    /// invoked as `kubectl-corral` (a kubectl plugin), as `kubectl
    /// corral`: the same commands, with usage and help saying so.
    pub fn parse_invoked() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let invoked = std::env::args_os().next();
        let mut command = Cli::command();
        if invoked.as_deref().is_some_and(is_kubectl_plugin) {
            command = command.bin_name("kubectl corral");
        }
        Cli::from_arg_matches(&command.get_matches()).unwrap_or_else(|e| e.exit())
    }
}

/// Whether `argv0` names the kubectl plugin executable (any directory;
/// `.exe` on Windows).
fn is_kubectl_plugin(argv0: &std::ffi::OsStr) -> bool {
    let name = std::path::Path::new(argv0).file_name().unwrap_or_default();
    let name = name.to_string_lossy();
    name == KUBECTL_PLUGIN || name.strip_suffix(".exe") == Some(KUBECTL_PLUGIN)
}

#[derive(Subcommand)]
pub enum Command {
    /// Snapshot a live cluster (kube-rs, your kubeconfig) into one file every other command reads.
    Snapshot(crate::snapshot::SnapshotArgs),
    /// In the cluster: merge Recording resources and write the policies advised from them (`corral operator run`), or print the CRD.
    Operator(crate::operator::OperatorArgs),
    /// List the Kubernetes objects found in manifests, with where each is written.
    Inventory(crate::inventory::InventoryArgs),
    /// Evaluate the Pod Security Standards exactly as the API server does, and the namespace labels to apply.
    Pss(crate::pss::PssArgs),
    /// Plan the PodSecurityPolicy → Pod Security Admission migration: `corral psp map`, `corral psp plan`.
    Psp(crate::psp::PspArgs),
    /// Record what a command really does, with eBPF: `corral record -o FILE -- CMD ARGS...`.
    Record(crate::record::RecordArgs),
    /// Least-privilege policies from recordings: `corral advise all|seccomp|securitycontext|netpol`.
    Advise(crate::advise::AdviseArgs),
    /// What a new recording did that the applied policies would block (`corral drift --recording R --policies DIR`), or where the cluster and its cloud account disagree (`corral drift PATHS --cloud FILE...`).
    Drift(crate::drift::DriftArgs),
    /// Attack paths from pods, exposed endpoints or identities to cluster-admin, nodes, tokens or cloud administrators (`--cloud`).
    Paths(crate::paths::PathsArgs),
    /// Ask the authorization model: may a subject do this (`--as sa/NS/NAME`), or who may, with the binding and rule at their lines.
    Access(crate::access::AccessArgs),
    /// Evaluate NetworkPolicies with Kubernetes semantics: `corral netpol check`.
    Netpol(crate::netpol::NetpolArgs),
    /// Scan manifests for CI: every rule, at the field's line, as text, JSON, SARIF, GitHub annotations, JUnit or Markdown.
    Scan(crate::scan::ScanArgs),
    /// List the scanner's rules, or write their documentation.
    Rules(crate::scan::RulesArgs),
}

#[derive(Args)]
pub struct CommonArgs {
    /// Write the report to FILE instead of standard output.
    #[arg(long, short, global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print only errors on standard error: no warnings, summary or progress.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also print notes, such as documents skipped for having no kind.
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// When to colour output; `auto` colours a terminal unless NO_COLOR is set.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl CommonArgs {
    pub fn apply_color(&self) {
        let choice = match self.color {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
    }
}

/// Where to read manifests from, and the bounds on what is read.
#[derive(Args)]
pub struct LoadArgs {
    /// Files or directories (searched recursively for .yaml, .yml and .json), or `-` for standard input.
    #[arg(value_name = "PATHS", default_value = ".")]
    pub paths: Vec<String>,
    /// Largest file to read, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_file_size)]
    pub max_file_size: u64,
    /// Largest YAML document to parse, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_document_size)]
    pub max_document_size: usize,
    /// Deepest nesting of mappings and sequences.
    #[arg(long, value_name = "LEVELS", default_value_t = Limits::default().max_depth)]
    pub max_depth: usize,
    /// Most nodes YAML aliases may expand to in one document.
    #[arg(long, value_name = "NODES", default_value_t = Limits::default().max_alias_nodes)]
    pub max_alias_nodes: usize,
    /// Path of an embedded pod template in custom resources (repeatable; replaces the defaults
    /// `spec.template` and `spec.jobTemplate.spec.template`).
    #[arg(long = "template-path", value_name = "PATH")]
    pub template_paths: Vec<String>,
    /// Read the live cluster (as `corral snapshot` does) instead of PATHS.
    #[arg(long, conflicts_with = "paths")]
    pub cluster: bool,
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// Which cluster, as kubectl takes it.
#[derive(Args, Clone)]
pub struct KubeArgs {
    /// The kubeconfig file (default: KUBECONFIG, then ~/.kube/config; in a pod, its service account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// How long one API request may take, from sending it to the last byte of its answer (`30s`, `2m`).
    #[arg(long, value_name = "DURATION", value_parser = crate::record::parse_duration, default_value = "60s")]
    pub request_timeout: std::time::Duration,
    /// How long one API request may keep retrying when the API server throttles it (429) or is
    /// unavailable (503, 504), from its first try: a Retry-After past it is not waited for. At most
    /// 5 retries.
    #[arg(long, value_name = "DURATION", value_parser = crate::record::parse_duration, default_value = "30s")]
    pub retry_budget: std::time::Duration,
    /// Largest list of one kind to read from the cluster, all its pages together, in bytes
    /// (default 512 MiB); a larger one fails the snapshot.
    #[arg(long, value_name = "BYTES", default_value_t = corral_cluster::DEFAULT_MAX_RESPONSE_SIZE)]
    pub max_response_size: u64,
}

impl KubeArgs {
    pub fn target(&self, namespace: Option<String>) -> corral_cluster::Target {
        corral_cluster::Target {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace,
            timeout: Some(self.request_timeout),
            retry_budget: Some(self.retry_budget),
            max_response_size: Some(self.max_response_size),
        }
    }
}

impl LoadArgs {
    pub fn inputs(&self) -> Vec<Input> {
        self.paths.iter().map(|p| Input::from_arg(p)).collect()
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_file_size: self.max_file_size,
            max_document_size: self.max_document_size,
            max_depth: self.max_depth,
            max_alias_nodes: self.max_alias_nodes,
        }
    }

    pub fn template_paths(&self) -> TemplatePaths {
        if self.template_paths.is_empty() {
            TemplatePaths::default()
        } else {
            TemplatePaths(self.template_paths.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_kubectl_plugin;
    use std::ffi::OsStr;

    #[test]
    fn kubectl_plugin_is_told_by_the_executables_file_name() {
        for name in [
            "kubectl-corral",
            "/usr/local/bin/kubectl-corral",
            "./kubectl-corral.exe",
        ] {
            assert!(is_kubectl_plugin(OsStr::new(name)), "{name}");
        }
        for name in [
            "corral",
            "/usr/bin/corral",
            "kubectl-corral-x",
            "kubectl",
            "/",
            "",
        ] {
            assert!(!is_kubectl_plugin(OsStr::new(name)), "{name}");
        }
    }
}
