//! `corral advise`: least-privilege policies from recordings.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use corral_advise::policies::{
    advice_json, by_workload, container_policies, patches, ContainerPolicies, Settings,
};
use corral_advise::seccomp;
use corral_advise::workload::{group, Owners, Recorded, WorkloadKey};
use corral_core::model::{Model, TemplatePaths};
use corral_core::{Input, Limits};

use crate::cli::CommonArgs;
use crate::output::{self, Status};

#[derive(Args)]
pub struct AdviseArgs {
    #[command(subcommand)]
    pub action: AdviseAction,
}

/// Where recordings come from, and the manifests that name their workloads.
#[derive(Args, Clone)]
pub struct Recordings {
    /// Recordings (`corral record`), or directories of them (repeatable).
    /// Replicas and repeated recordings of a container are merged.
    #[arg(long = "recording", value_name = "PATH", required = true)]
    pub recordings: Vec<PathBuf>,
    /// Manifests holding the recorded workloads: patches then name their
    /// kind and point at the file and line to change.
    #[arg(long, value_name = "PATHS", num_args = 1..)]
    pub manifests: Vec<String>,
    /// The container runtime, whose syscalls between installing the filter
    /// and the workload's exec the profile must allow.
    #[arg(long, default_value = "runc")]
    pub runtime: String,
    /// Advise from recordings that lost observations (the recorder's maps
    /// were full). Without it such a recording is refused: a profile from
    /// it may lack what the workload needs.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Read the live cluster (as `corral snapshot` does): its pods and
    /// their owners name the recorded workloads, and it is the inventory
    /// (`--inventory`) where one is taken.
    #[arg(long)]
    pub cluster: bool,
    #[command(flatten)]
    pub kube: crate::cli::KubeArgs,
    /// What a seccomp profile allows: `reachable` adds to the recording
    /// what its executed binaries can reach, their syscall families and
    /// self-information calls (attack surface only when recorded);
    /// `recorded` allows only what was recorded.
    #[arg(long, value_enum, default_value_t = ProfileMode::Reachable)]
    pub mode: ProfileMode,
    /// What a profile does with a syscall it does not allow: `errno` fails
    /// it, `log` lets it through and logs it to the kernel's audit log, for
    /// a burn-in read back with `corral drift --kernel-log`.
    #[arg(long, value_enum, default_value_t = DefaultAction::Errno)]
    pub default_action: DefaultAction,
    /// Warn when a workload's recordings span less than this (`90s`,
    /// `10m`, `1h`): periodic work may be missing from them.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub min_recorded: u64,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProfileMode {
    Reachable,
    Recorded,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DefaultAction {
    Errno,
    Log,
}

/// `90s`, `10m`, `1h` or plain seconds.
fn parse_duration(text: &str) -> Result<u64, String> {
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: a duration is a number and s, m or h"))?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("{text:?}: a duration's unit is s, m or h")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?}: too long"))
}

impl Recordings {
    pub fn settings<'a>(&'a self, seccomp_dir: &'a str) -> Settings<'a> {
        Settings {
            runtime: &self.runtime,
            seccomp_dir,
            seccomp: seccomp::Options {
                mode: match self.mode {
                    ProfileMode::Reachable => seccomp::Mode::Reachable,
                    ProfileMode::Recorded => seccomp::Mode::Recorded,
                },
                default_action: match self.default_action {
                    DefaultAction::Errno => seccomp::DefaultAction::Errno,
                    DefaultAction::Log => seccomp::DefaultAction::Log,
                },
            },
            min_recorded_seconds: self.min_recorded,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SeccompFormat {
    /// An OCI runtime-spec profile, for `seccompProfile.localhostProfile`.
    Oci,
    /// A Security Profiles Operator `SeccompProfile` resource.
    Spo,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ContextFormat {
    Yaml,
    Json,
}

/// Where NetworkPolicies come from.
#[derive(Args, Clone)]
pub struct NetworkArgs {
    /// Widen IPv4 peers outside the cluster to this prefix (default /32).
    #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=32))]
    pub cidr_prefix: Option<u8>,
    /// Widen IPv6 peers outside the cluster to this prefix (default /128).
    #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=128))]
    pub cidr_prefix_v6: Option<u8>,
}

impl NetworkArgs {
    fn options(&self) -> corral_advise::netpol::advise::Options {
        corral_advise::netpol::advise::Options {
            cidr_prefix_v4: self.cidr_prefix,
            cidr_prefix_v6: self.cidr_prefix_v6,
        }
    }
}

#[derive(Subcommand)]
pub enum AdviseAction {
    /// All of it for every recorded workload, into `-o DIR`: seccomp/,
    /// securitycontext/ (patches), netpol/ (with `--inventory`),
    /// advice.json (what `corral drift` compares with) and SUMMARY.md, which
    /// is also printed: what each policy takes away.
    All {
        #[command(flatten)]
        input: Recordings,
        /// Pods, Services, Namespaces and workloads, for NetworkPolicies.
        #[arg(long, value_name = "PATHS", num_args = 1..)]
        inventory: Vec<String>,
        #[arg(long, default_value = "corral")]
        seccomp_dir: String,
        #[command(flatten)]
        network: NetworkArgs,
    },
    /// A NetworkPolicy per workload from its recorded flows: ingress from
    /// the peers that connected, egress to the peers reached (Services by
    /// their selector and target port), DNS always; each proven with the
    /// evaluator against the recorded flows. `--format cilium|calico`
    /// writes peers outside the cluster by the DNS names the recording
    /// looked them up by (Calico's `domains` needs Calico Enterprise or
    /// Calico Cloud).
    Netpol {
        #[command(flatten)]
        input: Recordings,
        /// Pods (with their IPs and labels), Services, Namespaces and
        /// workloads: manifests or a snapshot (`kubectl get pods,svc,ns,deploy -A -o yaml`).
        #[arg(long, value_name = "PATHS", num_args = 1.., required_unless_present = "cluster")]
        inventory: Vec<String>,
        #[command(flatten)]
        network: NetworkArgs,
        #[arg(long, value_enum, default_value_t = crate::netpol::AdviseFormat::Yaml)]
        format: crate::netpol::AdviseFormat,
    },
    /// A seccomp profile per workload container: deny by default, allow
    /// what it called plus what the runtime needs after installing the
    /// filter. Writes `NS-WORKLOAD-CONTAINER.json` (or `.yaml`) into `-o DIR`.
    Seccomp {
        #[command(flatten)]
        input: Recordings,
        #[arg(long, value_enum, default_value_t = SeccompFormat::Oci)]
        format: SeccompFormat,
    },
    /// Each workload's securityContext from what its containers did, as a
    /// strategic-merge patch (with the seccomp profile from `advise
    /// seccomp`, under `--seccomp-dir` in the kubelet's seccomp directory).
    Securitycontext {
        #[command(flatten)]
        input: Recordings,
        /// Where the profiles are installed, relative to the kubelet's
        /// seccomp directory.
        #[arg(long, default_value = "corral")]
        seccomp_dir: String,
        #[arg(long, value_enum, default_value_t = ContextFormat::Yaml)]
        format: ContextFormat,
        /// Write the advice into the manifests (`--manifests`) in place,
        /// keeping their comments and formatting, instead of printing
        /// patches.
        #[arg(long, requires = "manifests")]
        apply: bool,
    },
}

/// Every `.json` file under the given paths (files as given).
fn recording_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err("no recordings found".into());
    }
    Ok(files)
}

pub struct Inputs {
    pub workloads: BTreeMap<WorkloadKey, Recorded>,
    pub model: Option<Model>,
    pub diagnostics: Vec<corral_core::Diagnostic>,
}

/// Manifests, loaded into a model.
pub fn load_model(paths: &[String]) -> (Model, Vec<corral_core::Diagnostic>) {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::from_arg(p)).collect();
    let loaded = corral_core::load(&inputs, &Limits::default());
    let mut diagnostics = loaded.diagnostics;
    let (model, errors) = Model::build(loaded.objects, &TemplatePaths::default());
    diagnostics.extend(errors);
    (model, diagnostics)
}

/// The live cluster's objects, read as a snapshot file named `cluster` (or
/// `cluster:CONTEXT`) would be.
fn cluster_model(
    kube: &crate::cli::KubeArgs,
    common: &CommonArgs,
) -> Result<(Model, Vec<corral_core::Diagnostic>), String> {
    let needs = crate::snapshot::Needs {
        command: "corral advise",
        kinds: &[corral_cluster::PODS_OR_WORKLOADS],
    };
    let snapshot = crate::snapshot::take_for_analysis(&kube.target(None), common, &needs)?;
    let name: std::sync::Arc<str> = match &kube.context {
        Some(context) => format!("cluster:{context}").into(),
        None => "cluster".into(),
    };
    Ok(Model::from_values(
        &name,
        &snapshot.objects,
        &TemplatePaths::default(),
    ))
}

/// The recordings, their manifests and the inventory (the live cluster's
/// objects with `--cluster`). Without manifests the inventory stands for
/// them, and is read once for both. Workloads are named from the owners
/// both hold (`corral_advise::workload::Owners`).
pub fn read_with_inventory(
    input: &Recordings,
    inventory: &[String],
    common: &CommonArgs,
) -> Result<(Inputs, Option<Model>), String> {
    if input.cluster {
        if !inventory.is_empty() {
            return Err(
                "--cluster reads the inventory from the cluster: give it or --inventory, not both"
                    .into(),
            );
        }
        let (model, diagnostics) = cluster_model(&input.kube, common)?;
        let mut inputs = read_named(input, Some(&model))?;
        inputs.diagnostics.extend(diagnostics);
        return Ok((inputs, Some(model)));
    }
    if inventory.is_empty() {
        return Ok((read_named(input, None)?, None));
    }
    if input.manifests.is_empty() {
        let mut input = input.clone();
        input.manifests = inventory.to_vec();
        let mut inputs = read_named(&input, None)?;
        let model = inputs.model.take();
        return Ok((inputs, model));
    }
    let (model, diagnostics) = load_model(inventory);
    let mut inputs = read_named(input, Some(&model))?;
    inputs.diagnostics.extend(diagnostics);
    Ok((inputs, Some(model)))
}

/// The recordings and their manifests (and the live cluster's owners with
/// `--cluster`).
pub fn read(input: &Recordings, common: &CommonArgs) -> Result<Inputs, String> {
    Ok(read_with_inventory(input, &[], common)?.0)
}

/// The recordings and their manifests, their workloads named from the
/// owners the manifests and `inventory` hold.
fn read_named(input: &Recordings, inventory: Option<&Model>) -> Result<Inputs, String> {
    let (model, diagnostics) = if input.manifests.is_empty() {
        (None, Vec::new())
    } else {
        let (model, diagnostics) = load_model(&input.manifests);
        (Some(model), diagnostics)
    };
    let mut owners = Owners::default();
    for m in model.iter().chain(inventory) {
        owners.extend(Owners::of(m));
    }
    let files = recording_files(&input.recordings)?;
    let workloads = group(&files, &owners)?;
    if !input.allow_incomplete {
        refuse_incomplete(&workloads)?;
    }
    Ok(Inputs {
        workloads,
        model,
        diagnostics,
    })
}

/// A recording that lost observations says how many: advising from it
/// needs `--allow-incomplete`.
fn refuse_incomplete(workloads: &BTreeMap<WorkloadKey, Recorded>) -> Result<(), String> {
    let mut lost = Vec::new();
    for (key, recorded) in workloads {
        // Only non-zero counters lost anything.
        let by_kind = recorded.recording.dropped();
        if !by_kind.is_empty() {
            let counts: Vec<String> = by_kind
                .iter()
                .map(|(kind, count)| format!("{count} {kind}"))
                .collect();
            lost.push(format!("{key}: {}", counts.join(", ")));
        }
    }
    if lost.is_empty() {
        return Ok(());
    }
    Err(format!(
        "incomplete recording(s), observations were dropped: {}; record again with larger --max-namespaces or --max-entries, or pass --allow-incomplete to advise from them anyway",
        lost.join("; ")
    ))
}

fn netpol(
    input: &Recordings,
    inventory_paths: &[String],
    options: &corral_advise::netpol::advise::Options,
    format: crate::netpol::AdviseFormat,
    common: &CommonArgs,
) -> Result<Status, String> {
    use crate::netpol::AdviseFormat;
    use corral_advise::netpol::{advise, inventory::Inventory, prove::prove_all};
    let (inputs, model) = read_with_inventory(input, inventory_paths, common)?;
    let model = model.ok_or("advise netpol needs --inventory")?;
    let inventory = Inventory::from_model(&model);
    let advised = advise::advise_workloads(&inputs.workloads, &model, &inventory, options)?;
    // Prove each with all of them in force, as they will be.
    let mut problems = prove_all(&advised, &inventory)?;
    let text = match format {
        AdviseFormat::Yaml => advised
            .iter()
            .map(|a| format!("---\n{}", advise::policy_yaml(a)))
            .collect(),
        AdviseFormat::Json => output::json(&advised)?,
        AdviseFormat::Cilium | AdviseFormat::Calico => {
            let (text, more, warnings) =
                crate::netpol::advised_by_name(&advised, &inventory, format)?;
            problems.extend(more);
            if !common.quiet {
                for warning in &warnings {
                    eprintln!(
                        "{}",
                        corral_core::safe::terminal(&format!("warning: {warning}"))
                    );
                }
            }
            text
        }
    };
    output::write_report(common, &text)?;
    for problem in &problems {
        output::print_failure(problem);
    }
    output::print_diagnostics(&inputs.diagnostics, common);
    if !problems.is_empty() {
        return Err(format!("{} flow check(s) failed", problems.len()));
    }
    Ok(output::input_status(&inputs.diagnostics))
}

/// Each container's coverage warnings, on stderr.
fn print_warnings(policies: &[ContainerPolicies], common: &CommonArgs) {
    if common.quiet {
        return;
    }
    for p in policies {
        for warning in &p.warnings {
            eprintln!(
                "{}",
                corral_core::safe::terminal(&format!("warning: {}: {warning}", p.key))
            );
        }
    }
}

pub fn run(args: &AdviseArgs, common: &CommonArgs) -> Result<Status, String> {
    match &args.action {
        AdviseAction::Netpol {
            input,
            inventory,
            network,
            format,
        } => netpol(input, inventory, &network.options(), *format, common),
        AdviseAction::All {
            input,
            inventory,
            seccomp_dir,
            network,
        } => {
            let dir = common
                .output
                .as_deref()
                .ok_or("advise all writes a directory of policies: give it with -o DIR")?;
            let (inputs, inventory_model) = read_with_inventory(input, inventory, common)?;
            let policies = container_policies(&inputs.workloads, &input.settings(seccomp_dir))?;
            let advised = match &inventory_model {
                None => None,
                Some(model) => {
                    let cluster = corral_advise::netpol::inventory::Inventory::from_model(model);
                    let advised = corral_advise::netpol::advise::advise_workloads(
                        &inputs.workloads,
                        model,
                        &cluster,
                        &network.options(),
                    )?;
                    let problems = corral_advise::netpol::prove::prove_all(&advised, &cluster)?;
                    if !problems.is_empty() {
                        for problem in &problems {
                            output::print_failure(problem);
                        }
                        return Err(format!("{} flow check(s) failed", problems.len()));
                    }
                    Some(advised)
                }
            };
            // The manifests, or the inventory when it stands for them.
            let manifests = inputs.model.as_ref().or(inventory_model.as_ref());
            let bundle = corral_advise::all::bundle(
                &policies,
                advised.as_deref(),
                manifests,
                &inputs.workloads,
            );
            output::write_files(dir, &bundle.files, common)?;
            print!("{}", corral_core::safe::terminal(&bundle.summary));
            output::print_diagnostics(&inputs.diagnostics, common);
            Ok(output::input_status(&inputs.diagnostics))
        }
        AdviseAction::Seccomp { input, format } => {
            let inputs = read(input, common)?;
            let dir = common.output.as_deref().ok_or(
                "advise seccomp writes a profile per container: give the directory with -o DIR",
            )?;
            let mut files = Vec::new();
            let policies = container_policies(&inputs.workloads, &input.settings("corral"))?;
            print_warnings(&policies, common);
            for p in policies {
                let stem = p.key.file_stem();
                match format {
                    SeccompFormat::Oci => {
                        files.push((format!("{stem}.json"), output::json(&p.profile)?));
                        files.push((format!("{stem}.coverage.json"), output::json(&p.coverage)?));
                        files.push((format!("{stem}.report.json"), output::json(&p.report)?));
                    }
                    SeccompFormat::Spo => files.push((
                        format!("{stem}.yaml"),
                        corral_core::emit::document(&corral_core::emit::from_json(
                            &seccomp::spo_resource(
                                &stem,
                                &p.key.namespace,
                                &p.profile,
                                &p.coverage,
                            ),
                        )),
                    )),
                }
            }
            output::write_files(dir, &files, common)?;
            output::print_diagnostics(&inputs.diagnostics, common);
            Ok(output::input_status(&inputs.diagnostics))
        }
        AdviseAction::Securitycontext {
            input,
            seccomp_dir,
            format,
            apply,
        } => {
            let inputs = read(input, common)?;
            let policies = container_policies(&inputs.workloads, &input.settings(seccomp_dir))?;
            print_warnings(&policies, common);
            if *apply {
                let mut failed = 0;
                for ((namespace, workload), containers) in by_workload(&policies) {
                    // Each rewrite moves lines: read the manifests again.
                    let (model, _) = load_model(&input.manifests);
                    match corral_advise::apply::apply(&model, namespace, workload, &containers) {
                        Ok((path, text)) => {
                            std::fs::write(&path, text)
                                .map_err(|e| format!("cannot write {path}: {e}"))?;
                            if !common.quiet {
                                eprintln!(
                                    "{}",
                                    corral_core::safe::terminal(&format!(
                                        "updated {path}: {namespace}/{workload}"
                                    ))
                                );
                            }
                        }
                        Err(e) => {
                            failed += 1;
                            output::print_failure(&format!("{namespace}/{workload}: {e}"));
                        }
                    }
                }
                output::print_diagnostics(&inputs.diagnostics, common);
                return if failed > 0 {
                    Err(format!("{failed} workload(s) not updated"))
                } else {
                    Ok(output::input_status(&inputs.diagnostics))
                };
            }
            let text = match format {
                ContextFormat::Yaml => patches(&policies, inputs.model.as_ref())
                    .iter()
                    .map(|p| format!("---\n{}", p.text))
                    .collect(),
                ContextFormat::Json => output::json(&advice_json(&policies))?,
            };
            output::write_report(common, &text)?;
            output::print_diagnostics(&inputs.diagnostics, common);
            Ok(output::input_status(&inputs.diagnostics))
        }
    }
}
