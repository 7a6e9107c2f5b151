//! `corral advise`: least-privilege policies from recordings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use corral_advise::base::BaseSets;
use corral_advise::patch::{workload_patch, ContainerAdvice};
use corral_advise::seccomp::{self, Coverage, OciProfile};
use corral_advise::security_context::{self, Advice};
use corral_advise::workload::{group, Recorded, WorkloadKey};
use corral_core::model::{Model, TemplatePaths};
use corral_core::{Input, Limits};
use corral_record::Recording;

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

#[derive(Subcommand)]
pub enum AdviseAction {
    /// A NetworkPolicy per workload from its recorded flows: ingress from
    /// the peers that connected, egress to the peers reached (Services by
    /// their selector and target port), DNS always; each proven with the
    /// evaluator against the recorded flows.
    Netpol {
        #[command(flatten)]
        input: Recordings,
        /// Pods (with their IPs and labels), Services, Namespaces and
        /// workloads: manifests or a snapshot (`kubectl get pods,svc,ns,deploy -A -o yaml`).
        #[arg(long, value_name = "PATHS", num_args = 1.., required = true)]
        inventory: Vec<String>,
        /// Widen IPv4 peers outside the cluster to this prefix (default /32).
        #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=32))]
        cidr_prefix: Option<u8>,
        /// Widen IPv6 peers outside the cluster to this prefix (default /128).
        #[arg(long, value_name = "BITS", value_parser = clap::value_parser!(u8).range(0..=128))]
        cidr_prefix_v6: Option<u8>,
        #[arg(long, value_enum, default_value_t = ContextFormat::Yaml)]
        format: ContextFormat,
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

struct Inputs {
    workloads: BTreeMap<WorkloadKey, Recorded>,
    model: Option<Model>,
    diagnostics: Vec<corral_core::Diagnostic>,
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

fn read(input: &Recordings) -> Result<Inputs, String> {
    let (model, diagnostics) = if input.manifests.is_empty() {
        (None, Vec::new())
    } else {
        let (model, diagnostics) = load_model(&input.manifests);
        (Some(model), diagnostics)
    };
    let names: Vec<(String, String)> = model
        .iter()
        .flat_map(|m| m.workloads())
        .map(|(o, _)| {
            (
                o.namespace.clone().unwrap_or_else(|| "default".into()),
                o.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    let files = recording_files(&input.recordings)?;
    Ok(Inputs {
        workloads: group(&files, &names)?,
        model,
        diagnostics,
    })
}

/// The profile of one workload container, with noNewPrivileges as its
/// securityContext advice sets it.
fn profile_of(
    recording: &Recording,
    advice: &Advice,
    runtime: &str,
) -> Result<(OciProfile, Coverage), String> {
    seccomp::profile(
        recording,
        &BaseSets::builtin(),
        runtime,
        !advice.allow_privilege_escalation,
    )
}

fn write_files(dir: &Path, files: &[(String, String)], common: &CommonArgs) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if !common.quiet {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// A workload's pod selector from the manifests, when they hold it.
fn workload_selector(
    model: &Model,
    namespace: &str,
    name: &str,
) -> Option<BTreeMap<String, String>> {
    model
        .workloads()
        .find(|(o, _)| {
            o.name.as_deref() == Some(name)
                && o.namespace.as_deref().unwrap_or("default") == namespace
                && o.kind != "Pod"
        })
        .and_then(|(o, template)| {
            let selector = o
                .root
                .at("spec.selector.matchLabels")
                .and_then(|m| m.entries())
                .map(|entries| {
                    entries
                        .iter()
                        .filter_map(|e| Some((e.key.to_string(), e.value.as_str()?.to_string())))
                        .collect::<BTreeMap<String, String>>()
                });
            selector.filter(|s| !s.is_empty()).or_else(|| {
                template
                    .metadata
                    .labels
                    .clone()
                    .map(|l| corral_advise::netpol::advise::stable_labels(&l))
            })
        })
}

fn netpol(
    input: &Recordings,
    inventory_paths: &[String],
    options: &corral_advise::netpol::advise::Options,
    format: ContextFormat,
    common: &CommonArgs,
) -> Result<Status, String> {
    use corral_advise::netpol::{advise, inventory::Inventory, prove::prove_all};
    // The inventory names the workloads when no manifests are given.
    let mut input = input.clone();
    if input.manifests.is_empty() {
        input.manifests = inventory_paths.to_vec();
    }
    let mut inputs = read(&input)?;
    let (model, diagnostics) = load_model(inventory_paths);
    inputs.diagnostics.extend(diagnostics);
    let inventory = Inventory::from_model(&model);
    // Containers' recordings and pods by workload.
    let mut by_workload = advise::ByWorkload::new();
    for (key, recorded) in &inputs.workloads {
        let entry = by_workload
            .entry((key.namespace.clone(), key.workload.clone()))
            .or_default();
        entry.0.push(&recorded.recording);
        entry.1.extend(recorded.pods.iter().cloned());
    }
    for (_, pods) in by_workload.values_mut() {
        pods.sort();
        pods.dedup();
    }
    let inbound = advise::inbound_udp(&by_workload, &inventory);
    let mut advised = Vec::new();
    for ((namespace, workload), (recordings, pods)) in &by_workload {
        let key = (namespace.clone(), workload.clone());
        let subject = advise::Subject {
            namespace,
            workload,
            recordings,
            pods,
            inbound: inbound.get(&key).map(Vec::as_slice).unwrap_or_default(),
            selector: workload_selector(&model, namespace, workload),
        };
        advised.push(advise::advise(subject, &inventory, options)?);
    }
    // Prove each with all of them in force, as they will be.
    let problems = prove_all(&advised, &inventory)?;
    let text = match format {
        ContextFormat::Yaml => {
            let mut out = String::new();
            for a in &advised {
                out.push_str("---\n");
                out.push_str(&format!(
                    "# {}/{}: {} recorded flow(s){}\n",
                    a.namespace,
                    a.workload,
                    a.flows.len(),
                    if a.skipped.is_empty() {
                        String::new()
                    } else {
                        format!("; left out: {}", a.skipped.join("; "))
                    }
                ));
                out.push_str(&corral_core::emit::document(&corral_core::emit::from_json(
                    &a.policy,
                )));
            }
            out
        }
        ContextFormat::Json => json_text(&advised)?,
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

pub fn run(args: &AdviseArgs, common: &CommonArgs) -> Result<Status, String> {
    match &args.action {
        AdviseAction::Netpol {
            input,
            inventory,
            cidr_prefix,
            cidr_prefix_v6,
            format,
        } => netpol(
            input,
            inventory,
            &corral_advise::netpol::advise::Options {
                cidr_prefix_v4: *cidr_prefix,
                cidr_prefix_v6: *cidr_prefix_v6,
            },
            *format,
            common,
        ),
        AdviseAction::Seccomp { input, format } => {
            let inputs = read(input)?;
            let dir = common.output.as_deref().ok_or(
                "advise seccomp writes a profile per container: give the directory with -o DIR",
            )?;
            let mut files = Vec::new();
            for (key, Recorded { recording, .. }) in &inputs.workloads {
                let advice = security_context::advise(recording);
                let (profile, coverage) = profile_of(recording, &advice, &input.runtime)
                    .map_err(|e| format!("{key}: {e}"))?;
                files.push(match format {
                    SeccompFormat::Oci => {
                        (format!("{}.json", key.file_stem()), json_text(&profile)?)
                    }
                    SeccompFormat::Spo => (
                        format!("{}.yaml", key.file_stem()),
                        corral_core::emit::document(&corral_core::emit::from_json(
                            &seccomp::spo_resource(
                                &key.file_stem(),
                                &key.namespace,
                                &profile,
                                &coverage,
                            ),
                        )),
                    ),
                });
                if let SeccompFormat::Oci = format {
                    files.push((
                        format!("{}.coverage.json", key.file_stem()),
                        json_text(&coverage)?,
                    ));
                }
            }
            write_files(dir, &files, common)?;
            output::print_diagnostics(&inputs.diagnostics, common);
            Ok(output::input_status(&inputs.diagnostics))
        }
        AdviseAction::Securitycontext {
            input,
            seccomp_dir,
            format,
        } => {
            let inputs = read(input)?;
            let advice: BTreeMap<&WorkloadKey, Advice> = inputs
                .workloads
                .iter()
                .map(|(k, r)| (k, security_context::advise(&r.recording)))
                .collect();
            // Containers by workload.
            let mut by_workload: BTreeMap<(&str, &str), Vec<ContainerAdvice>> = BTreeMap::new();
            for (key, a) in &advice {
                by_workload
                    .entry((&key.namespace, &key.workload))
                    .or_default()
                    .push(ContainerAdvice {
                        name: &key.container,
                        advice: a,
                        seccomp_profile: Some(format!("{seccomp_dir}/{}.json", key.file_stem())),
                    });
            }
            let text = match format {
                ContextFormat::Yaml => {
                    let mut out = String::new();
                    for ((namespace, workload), containers) in &by_workload {
                        let patch =
                            workload_patch(inputs.model.as_ref(), namespace, workload, containers);
                        out.push_str("---\n");
                        match (&patch.file, patch.line) {
                            (Some(file), Some(line)) => {
                                out.push_str(&format!("# {namespace}/{workload}: edit {file}:{line}\n"))
                            }
                            _ => out.push_str(&format!(
                                "# {namespace}/{workload}: not in the manifests given; check its kind\n"
                            )),
                        }
                        for c in containers {
                            for (field, why) in &c.advice.evidence {
                                out.push_str(&format!("# {}: {field}: {why}\n", c.name));
                            }
                        }
                        out.push_str(&patch.yaml);
                    }
                    out
                }
                ContextFormat::Json => {
                    let items: Vec<serde_json::Value> = advice
                        .iter()
                        .map(|(key, a)| {
                            let container = ContainerAdvice {
                                name: &key.container,
                                advice: a,
                                seccomp_profile: Some(format!("{seccomp_dir}/{}.json", key.file_stem())),
                            };
                            serde_json::json!({
                                "namespace": key.namespace,
                                "workload": key.workload,
                                "container": key.container,
                                "advice": a,
                                "securityContext": corral_advise::patch::security_context(&container),
                            })
                        })
                        .collect();
                    json_text(&items)?
                }
            };
            output::write_report(common, &text)?;
            output::print_diagnostics(&inputs.diagnostics, common);
            Ok(output::input_status(&inputs.diagnostics))
        }
    }
}

fn json_text(value: &impl serde::Serialize) -> Result<String, String> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    text.push('\n');
    Ok(text)
}
