//! `corral advise`: least-privilege policies from recordings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use corral_advise::base::BaseSets;
use corral_advise::patch::{workload_patch, ContainerAdvice};
use corral_advise::seccomp::{self, Coverage, OciProfile};
use corral_advise::security_context::{self, Advice};
use corral_advise::workload::{group, WorkloadKey};
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
    workloads: BTreeMap<WorkloadKey, Recording>,
    model: Option<Model>,
    diagnostics: Vec<corral_core::Diagnostic>,
}

fn read(input: &Recordings) -> Result<Inputs, String> {
    let (model, diagnostics) = if input.manifests.is_empty() {
        (None, Vec::new())
    } else {
        let inputs: Vec<Input> = input.manifests.iter().map(|p| Input::from_arg(p)).collect();
        let loaded = corral_core::load(&inputs, &Limits::default());
        let mut diagnostics = loaded.diagnostics;
        let (model, errors) = Model::build(loaded.objects, &TemplatePaths::default());
        diagnostics.extend(errors);
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

pub fn run(args: &AdviseArgs, common: &CommonArgs) -> Result<Status, String> {
    match &args.action {
        AdviseAction::Seccomp { input, format } => {
            let inputs = read(input)?;
            let dir = common.output.as_deref().ok_or(
                "advise seccomp writes a profile per container: give the directory with -o DIR",
            )?;
            let mut files = Vec::new();
            for (key, recording) in &inputs.workloads {
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
                .map(|(k, r)| (k, security_context::advise(r)))
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
