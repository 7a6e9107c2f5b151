//! `advise all`: every policy for every recorded workload, as files to
//! review and apply, with a summary of what each takes away compared with
//! the workload's manifest (or the runtime's defaults when it has none).

use std::collections::{BTreeMap, BTreeSet};

use corral_core::model::{runtime, Model};
use corral_core::safe::{file_name, one_line};
use k8s_openapi::api::core::v1::SecurityContext;
use serde_json::Value;

use crate::netpol::advise::{policy_yaml, Advised};
use crate::policies::{advice_json, patches, ContainerPolicies};
use crate::seccomp::Report;
use crate::workload::{Recorded, WorkloadKey};

/// The container's securityContext in the manifests, when they hold it.
fn current_context(model: Option<&Model>, p: &ContainerPolicies) -> Option<SecurityContext> {
    let (_, template) = model?.workloads().find(|(o, _)| {
        o.name.as_deref() == Some(p.key.workload.as_str())
            && o.namespace.as_deref().unwrap_or("default") == p.key.namespace
    })?;
    template
        .spec
        .containers
        .iter()
        .find(|c| c.name == p.key.container)
        .map(|c| c.security_context.clone().unwrap_or_default())
}

/// The capabilities a container has with this securityContext, as the
/// runtime applies it (`corral_core::model::runtime::holds`); `ALL` when it
/// adds every one and keeps them.
fn capabilities(context: Option<&SecurityContext>) -> BTreeSet<String> {
    let added = context
        .and_then(|c| c.capabilities.as_ref())
        .and_then(|c| c.add.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|c| runtime::capability(c));
    runtime::DEFAULT_CAPABILITIES
        .iter()
        .map(|c| c.to_string())
        .chain(added)
        .filter(|c| match c.as_str() {
            "ALL" => runtime::keeps_all(context),
            c => runtime::holds(context, c),
        })
        .collect()
}

/// One line per change, for a container.
fn container_summary(p: &ContainerPolicies, model: Option<&Model>) -> Vec<String> {
    let current = current_context(model, p);
    let had = capabilities(current.as_ref());
    let keep: BTreeSet<String> = p.advice.capabilities.iter().cloned().collect();
    let dropped: Vec<&String> = had.difference(&keep).collect();
    let mut lines = Vec::new();
    lines.push(if dropped.is_empty() {
        "drops no capability".to_string()
    } else {
        format!(
            "drops {} capabilit{} ({})",
            dropped.len(),
            if dropped.len() == 1 { "y" } else { "ies" },
            dropped
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    lines.push(seccomp_summary(&p.report, &p.architecture));
    let said = |f: fn(&SecurityContext) -> Option<bool>| current.as_ref().and_then(f);
    if p.advice.run_as_non_root && said(|c| c.run_as_non_root) != Some(true) {
        lines.push(format!(
            "runs as non-root{}",
            p.advice
                .run_as_user
                .map(|u| format!(" uid {u}"))
                .unwrap_or_default()
        ));
    }
    if p.advice.read_only_root_filesystem && said(|c| c.read_only_root_filesystem) != Some(true) {
        lines.push(if p.advice.writable_directories.is_empty() {
            "makes the root filesystem read-only".to_string()
        } else {
            format!(
                "makes the root filesystem read-only, with emptyDir volumes at {}",
                p.advice.writable_directories.join(", ")
            )
        });
    }
    if !p.advice.allow_privilege_escalation && said(|c| c.allow_privilege_escalation) != Some(false)
    {
        lines.push("blocks privilege escalation".to_string());
    }
    lines
}

/// What the seccomp profile allows, by where each syscall comes from, and
/// what it blocks.
fn seccomp_summary(report: &Report, architecture: &str) -> String {
    // Counted on the native table, as `known` and `blocked` are.
    let native = corral_record::native_syscall_names(architecture);
    let count = |f: fn(&crate::seccomp::Why) -> bool| {
        report
            .allowed
            .iter()
            .filter(|(name, why)| native.contains(name.as_str()) && f(why))
            .count()
    };
    let recorded = count(|w| w.recorded_runs.is_some() || w.runtime);
    let reachable = count(|w| w.recorded_runs.is_none() && !w.runtime && !w.reachable.is_empty());
    let family = count(|w| w.family.is_some());
    let own = count(|w| {
        w.self_information
            && w.recorded_runs.is_none()
            && !w.runtime
            && w.reachable.is_empty()
            && w.family.is_none()
    });
    let mut line = format!(
        "blocks {} of the {} syscalls of {architecture} ({} of them allowed by the runtime's default profile), allows {}",
        report.blocked,
        report.known,
        report.blocked_beyond_runtime_default,
        report.known - report.blocked
    );
    if report.mode == crate::seccomp::Mode::Reachable {
        line.push_str(&format!(
            ": {recorded} recorded, {reachable} more its binaries can reach, {family} of their families, {own} self-information"
        ));
        if !report.withheld.is_empty() {
            line.push_str(&format!(
                "; keeps blocked the attack surface its binaries can reach but never used ({})",
                report
                    .withheld
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    } else {
        line.push_str(", only what was recorded");
    }
    if report.default_action == crate::seccomp::DefaultAction::Log {
        line.push_str("; logs instead of blocking (burn-in)");
    }
    line
}

fn network_summary(a: &Advised) -> String {
    let rules = |key: &str| {
        a.policy["spec"][key]
            .as_array()
            .map(|r| r.len())
            .unwrap_or(0)
    };
    let egress = rules("egress").saturating_sub(1); // the DNS rule
    format!(
        "closes ingress to all but {} peer rule{} and egress to all but {} (and DNS)",
        rules("ingress"),
        if rules("ingress") == 1 { "" } else { "s" },
        egress
    )
}

pub struct Bundle {
    /// Relative paths and contents.
    pub files: Vec<(String, String)>,
    pub summary: String,
}

fn pretty(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Every file `advise all` writes, and its summary (also `SUMMARY.md`),
/// which says how each workload was named (`recorded`: what the policies
/// were advised from).
pub fn bundle(
    policies: &[ContainerPolicies],
    network: Option<&[Advised]>,
    manifests: Option<&Model>,
    recorded: &BTreeMap<WorkloadKey, Recorded>,
) -> Bundle {
    let mut files = Vec::new();
    for p in policies {
        let stem = p.key.file_stem();
        files.push((format!("seccomp/{stem}.json"), pretty(&p.profile)));
        files.push((format!("seccomp/{stem}.coverage.json"), pretty(&p.coverage)));
        files.push((format!("seccomp/{stem}.report.json"), pretty(&p.report)));
    }
    let workload_patches = patches(policies, manifests);
    for w in &workload_patches {
        files.push((
            format!(
                "securitycontext/{}-{}.yaml",
                file_name(&w.namespace),
                file_name(&w.workload)
            ),
            w.text.clone(),
        ));
    }
    for a in network.unwrap_or_default() {
        files.push((
            format!(
                "netpol/{}-{}.yaml",
                file_name(&a.namespace),
                file_name(&a.workload)
            ),
            policy_yaml(a),
        ));
    }
    files.push(("advice.json".into(), pretty(&advice_json(policies))));
    if let Some(network) = network {
        let flows: Vec<Value> = network
            .iter()
            .map(|a| serde_json::json!({"namespace": a.namespace, "workload": a.workload, "flows": a.flows}))
            .collect();
        files.push(("flows.json".into(), pretty(&flows)));
    }

    let mut summary = String::from("# What the advised policies take away\n");
    for w in &workload_patches {
        summary.push_str(&format!(
            "\n## {}\n\n",
            one_line(&format!("{}/{}", w.namespace, w.workload))
        ));
        if let Some((_, r)) = recorded
            .iter()
            .find(|(k, _)| k.namespace == w.namespace && k.workload == w.workload)
        {
            summary.push_str(&format!("Workload: {}.\n\n", one_line(&r.named.note())));
        }
        if let Some(file) = &w.patch.file {
            summary.push_str(&format!(
                "Manifest: `{}:{}`.\n\n",
                one_line(file),
                w.patch.line.unwrap_or(0)
            ));
        }
        for p in policies
            .iter()
            .filter(|p| p.key.namespace == w.namespace && p.key.workload == w.workload)
        {
            summary.push_str(&format!(
                "- container `{}`: {}\n",
                one_line(&p.key.container),
                one_line(&container_summary(p, manifests).join("; "))
            ));
            for warning in &p.warnings {
                summary.push_str(&format!(
                    "- container `{}`: **warning**: {}\n",
                    one_line(&p.key.container),
                    one_line(warning)
                ));
            }
        }
        match network.and_then(|n| {
            n.iter()
                .find(|a| a.namespace == w.namespace && a.workload == w.workload)
        }) {
            Some(a) => summary.push_str(&format!("- network: {}\n", network_summary(a))),
            None if network.is_none() => {
                summary.push_str("- network: no NetworkPolicy (give --inventory)\n")
            }
            None => {}
        }
    }
    // Names from recordings, on their lines and unable to add markup.
    let summary = corral_core::safe::terminal(&summary).replace('<', "&lt;");
    files.push(("SUMMARY.md".into(), summary.clone()));
    files.sort();
    Bundle { files, summary }
}
