//! The plan as text, as a Markdown runbook following the kubernetes.io
//! migration procedure, and as files to apply: a `kubectl label` script,
//! Namespace manifests and workload patches.

use std::fmt::Write;

use corral_core::emit::{self, string, YamlMapping as Mapping, YamlNode as Yaml};
use corral_core::safe::{
    file_name, is_dns1123_label, is_dns1123_subdomain, markdown_cell, one_line, shell_word,
};

use crate::map::PspMapping;
use crate::plan::{NamespacePlan, Plan, Workload, LABEL_PREFIX};

fn join(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// `enforce=restricted audit=restricted warn=restricted (v1.37)`.
fn labels_summary(ns: &NamespacePlan) -> String {
    let get = |mode: &str| {
        ns.labels
            .get(&format!("{LABEL_PREFIX}{mode}"))
            .cloned()
            .unwrap_or_default()
    };
    format!(
        "enforce={} audit={} warn={}",
        get("enforce"),
        get("audit"),
        get("warn")
    )
}

/// `kubectl label` arguments for the given modes, as shell words.
fn label_args(ns: &NamespacePlan, modes: &[&str]) -> String {
    ns.labels
        .iter()
        .filter(|(k, _)| {
            let mode = k.trim_start_matches(LABEL_PREFIX);
            modes
                .iter()
                .any(|m| mode == *m || mode == format!("{m}-version"))
        })
        .map(|(k, v)| format!(" {}", shell_word(&format!("{k}={v}"))))
        .collect()
}

/// A command for namespace `ns`, or, when its name is not a valid namespace
/// name (so no API server holds it, and a name such as `--server=...` would
/// be read as an option), a comment saying so.
fn for_namespace(ns: &str, command: impl FnOnce(&str) -> String) -> String {
    if is_dns1123_label(ns) {
        command(ns)
    } else {
        format!(
            "# skipped: \"{}\" is not a valid namespace name",
            one_line(ns)
        )
    }
}

/// `kubectl patch` for workload `w` with the patch in `file`, each value a
/// quoted shell word; `None` when its kind, name or namespace is not one a
/// cluster can hold (a name such as `--kubeconfig=...` would be an option).
fn kubectl_patch(w: &Workload, file: &str) -> Option<String> {
    let valid = !w.kind.is_empty()
        && w.kind.bytes().all(|b| b.is_ascii_alphanumeric())
        && is_dns1123_subdomain(&w.name)
        && is_dns1123_label(&w.namespace);
    valid.then(|| {
        format!(
            "kubectl patch {} {} -n {} --type strategic --patch-file {}",
            w.kind.to_lowercase(),
            w.name,
            w.namespace,
            shell_word(file)
        )
    })
}

fn workload_line(w: &Workload) -> String {
    let admitted = match &w.psp {
        Some(psp) => format!("admitted by {psp}"),
        None if w.usable_psps.is_empty() => "may use no PodSecurityPolicy".into(),
        None => format!(
            "no PodSecurityPolicy admits it (may use {})",
            w.usable_psps.join(", ")
        ),
    };
    format!(
        "{} {}/{} ({}:{}) as {}: {admitted}",
        w.kind, w.namespace, w.name, w.file, w.line, w.service_account
    )
}

/// What the PSP injects that the workload must now write, one line each.
fn edits(w: &Workload, indent: &str) -> String {
    let mut out = String::new();
    for e in &w.mutations {
        let _ = writeln!(
            out,
            "{indent}{}:{}  {}: {}",
            w.file, e.line, e.field, e.value
        );
    }
    out
}

fn psp_text(out: &mut String, m: &PspMapping) {
    let _ = writeln!(
        out,
        "PodSecurityPolicy {}: {}{}",
        m.name,
        m.level.as_str(),
        if m.mutating { " (mutating)" } else { "" }
    );
    if !m.limiting.is_empty() {
        let _ = writeln!(out, "  limited by {}", m.limiting.join(", "));
    }
    for f in &m.fields {
        if f.value == "unset" && f.mutates.is_none() && f.lost_control.is_none() {
            continue;
        }
        let _ = writeln!(
            out,
            "  {:<58} {:<12} {}",
            f.field,
            f.verdict.as_str(),
            f.value
        );
        if let Some(mutation) = &f.mutates {
            let _ = writeln!(out, "  {:<58} {:<12} mutates: {mutation}", "", "");
        }
        if let Some(lost) = &f.lost_control {
            let _ = writeln!(out, "  {:<58} {:<12} lost with PSP: {lost}", "", "");
        }
    }
    out.push('\n');
}

/// `corral psp map`: each PSP field by field, and who gets which.
pub fn map_text(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.psps.is_empty() {
        out.push_str("no PodSecurityPolicy found\n");
        return out;
    }
    for m in &plan.psps {
        psp_text(&mut out, m);
    }
    for w in &plan.workloads {
        let _ = writeln!(out, "{}", workload_line(w));
        for d in &w.denied {
            let _ = writeln!(out, "  {} denies it: {}", d.psp, d.reasons.join("; "));
        }
        if w.relies_on_mutation {
            let _ = writeln!(
                out,
                "  relies on the PSP's mutations: {} as written, {} with them",
                w.level_as_written.as_str(),
                w.level_after_patches.as_str()
            );
        }
    }
    out
}

/// `corral psp plan --format text`.
pub fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "PodSecurityPolicy → Pod Security Admission plan, levels evaluated at and pinned to {}\n",
        plan.target_version
    );
    for m in &plan.psps {
        psp_text(&mut out, m);
    }
    for ns in &plan.namespaces {
        let at = match (&ns.file, ns.line) {
            (Some(file), Some(line)) => format!(" ({file}:{line})"),
            _ => String::new(),
        };
        let _ = writeln!(out, "namespace {}{at}: {}", ns.name, labels_summary(ns));
        let _ = writeln!(
            out,
            "  PSPs in use: {}; usable: {}",
            join(&ns.current_psps),
            join(&ns.usable_psps)
        );
        let _ = writeln!(
            out,
            "  level as written: {}, after patches: {}",
            ns.level_as_written.as_str(),
            ns.level_after_patches.as_str()
        );
        if ns.workloads.is_empty() {
            out.push_str("  no workloads: restricted breaks nothing\n");
        }
        if !ns.not_admitted.is_empty() {
            let _ = writeln!(
                out,
                "  left out of the levels, as no PSP admits them today: {}",
                ns.not_admitted.join(", ")
            );
        }
        for w in plan.workloads.iter().filter(|w| w.namespace == ns.name) {
            let _ = writeln!(out, "  {}", workload_line(w));
            for d in &w.denied {
                let _ = writeln!(out, "    {} denies it: {}", d.psp, d.reasons.join("; "));
            }
            if let Some(patch) = &w.patch {
                let _ = writeln!(
                    out,
                    "    {}: patch {}:{} with what the PSP injected ({} → {}):",
                    if w.relies_on_mutation {
                        "relies on the PSP's mutations"
                    } else {
                        "the PSP mutates it"
                    },
                    patch.file,
                    patch.line,
                    w.level_as_written.as_str(),
                    w.level_after_patches.as_str()
                );
                out.push_str(&edits(w, "      "));
            }
        }
        if ns.weaker_than_psp {
            let _ = writeln!(
                out,
                "  WEAKER: PSA enforces {}, where its PSPs held pods to {}",
                ns.level_after_patches.as_str(),
                ns.psp_level.map_or("", |l| l.as_str())
            );
        }
        for lost in &ns.lost_controls {
            let _ = writeln!(out, "  lost with PSP {}: {}", lost.psp, lost.control);
        }
        out.push('\n');
    }
    out
}

/// The PSP fields each step of "Simplify and standardise PodSecurityPolicies"
/// removes or reviews.
fn simplification(m: &PspMapping) -> Vec<(&'static str, String)> {
    let mut steps = Vec::new();
    for f in m.fields.iter().filter(|f| f.value != "unset") {
        let name = f.field.as_str();
        let step = if name == "spec.defaultAllowPrivilegeEscalation"
            || name.starts_with("spec.runtimeClass.default")
            || name.ends_with("/defaultProfileName")
        {
            "remove (purely mutating)"
        } else if name == "spec.defaultAddCapabilities" {
            "merge into allowedCapabilities, then remove (mutating)"
        } else if [
            "spec.allowedHostPaths",
            "spec.allowedFlexVolumes",
            "spec.allowedCSIDrivers",
            "spec.forbiddenSysctls",
        ]
        .contains(&name)
            || name.starts_with("spec.runtimeClass")
        {
            "remove (PSS does not cover it)"
        } else if ["spec.runAsGroup", "spec.supplementalGroups", "spec.fsGroup"].contains(&name)
            && f.mutates.is_some()
        {
            "remove once workloads set it (group control, mutating)"
        } else if f.mutates.is_some() {
            "keep validating only, once workloads set it (mutating, needed for PSS)"
        } else {
            continue;
        };
        steps.push((step, format!("`{}: {}`", f.field, f.value)));
    }
    steps
}

/// `corral psp plan --format markdown`: the kubernetes.io procedure
/// ("Migrate from PodSecurityPolicy to the Built-In PodSecurity Admission
/// Controller"), step by step, filled with this cluster's facts.
pub fn runbook(plan: &Plan) -> String {
    let mut out = String::new();
    let v = &plan.target_version;
    let _ = writeln!(
        out,
        "# PodSecurityPolicy → Pod Security Admission migration runbook\n"
    );
    let _ = writeln!(
        out,
        "Generated by `corral psp plan`. Levels are evaluated at Pod Security Standards {v}, the version the labels pin. The steps follow the kubernetes.io task \"Migrate from PodSecurityPolicy to the Built-In PodSecurity Admission Controller\".\n"
    );
    out.push_str("| namespace | PSPs in use | as written | after patches | enforce | audit / warn | weaker than PSP |\n|---|---|---|---|---|---|---|\n");
    for ns in &plan.namespaces {
        let label = |mode: &str| {
            ns.labels
                .get(&format!("{LABEL_PREFIX}{mode}"))
                .cloned()
                .unwrap_or_default()
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            markdown_cell(&ns.name),
            markdown_cell(&join(&ns.current_psps)),
            ns.level_as_written.as_str(),
            ns.level_after_patches.as_str(),
            label("enforce"),
            label("audit"),
            if ns.weaker_than_psp || !ns.lost_controls.is_empty() {
                format!("yes: {} control(s) lost", ns.lost_controls.len())
            } else {
                "no".into()
            }
        );
    }

    out.push_str("\n## 0. Does Pod Security Admission fit?\n\n");
    out.push_str("PSA does not mutate pods, has three fixed levels, and applies per namespace.\n");
    let mut mixed = false;
    for ns in plan
        .namespaces
        .iter()
        .filter(|ns| ns.current_psps.len() > 1)
    {
        mixed = true;
        let _ = writeln!(
            out,
            "- `{}` runs workloads under different PSPs ({}): one label will govern them all.",
            ns.name,
            ns.current_psps.join(", ")
        );
    }
    if !mixed {
        out.push_str("- No namespace mixes workloads admitted by different PSPs.\n");
    }

    out.push_str("\n## 1. Review namespace permissions\n\nWhoever may create, update or patch a Namespace may change its `pod-security.kubernetes.io` labels and so switch its policy off. Restrict these grants to trusted users:\n\n");
    if plan.namespace_editors.is_empty() {
        out.push_str("- None of the given RBAC grants it (the built-in `cluster-admin`, `admin` and `edit` roles are not in the input unless given).\n");
    }
    for e in &plan.namespace_editors {
        let _ = writeln!(
            out,
            "- {} may {} {} (through {}, {})",
            e.subject,
            e.verbs.join("/"),
            e.namespace
                .as_ref()
                .map_or("every Namespace".to_string(), |n| format!("Namespace {n}")),
            e.binding,
            e.role
        );
    }

    out.push_str("\n## 2. Simplify and standardise PodSecurityPolicies\n\nWork on copies whose names sort before the originals (prefix `0`), so that the admission controller prefers them.\n\n");
    for m in &plan.psps {
        let _ = writeln!(
            out,
            "### PSP `{}`: {}{}\n",
            m.name,
            m.level.as_str(),
            if m.limiting.is_empty() {
                String::new()
            } else {
                format!(" (limited by {})", m.limiting.join(", "))
            }
        );
        let steps = simplification(m);
        if steps.is_empty() {
            out.push_str(
                "- Nothing to simplify: it neither mutates nor uses fields PSS does not cover.\n",
            );
        }
        for (step, field) in steps {
            let _ = writeln!(out, "- {field}: {step}");
        }
        out.push('\n');
    }
    out.push_str("### Fix the manifests of workloads the PSPs mutate\n\n");
    let patched: Vec<&Workload> = plan
        .workloads
        .iter()
        .filter(|w| w.patch.is_some())
        .collect();
    if patched.is_empty() {
        out.push_str("No workload is mutated by the PSP that admits it.\n");
    }
    for w in patched {
        let Some(patch) = &w.patch else { continue };
        let _ = writeln!(
            out,
            "- **{} `{}`**, admitted by `{}`{}: edit `{}:{}`{}.\n",
            one_line(&w.kind),
            one_line(&format!("{}/{}", w.namespace, w.name)),
            one_line(w.psp.as_deref().unwrap_or("")),
            if w.relies_on_mutation {
                format!(
                    ", **relies on its mutations** ({} as written, {} with them)",
                    w.level_as_written.as_str(),
                    w.level_after_patches.as_str()
                )
            } else {
                String::new()
            },
            one_line(&patch.file),
            patch.line,
            kubectl_patch(w, "PATCH").map_or(String::new(), |command| format!(
                ", or apply with `{command}`"
            )),
        );
        let _ = writeln!(out, "  ```yaml\n{}  ```\n", indent(&patch.yaml, "  "));
    }
    let unadmitted: Vec<&Workload> = plan
        .workloads
        .iter()
        .filter(|w| w.psp.is_none() && !plan.psps.is_empty())
        .collect();
    if !unadmitted.is_empty() {
        out.push_str("### Workloads no PSP admits today\n\nThey cannot run under PSP now, and the planned levels leave them out rather than loosen their namespace to admit them. Fix them, or expect Pod Security Admission to reject them too where they fall below the enforce level.\n\n");
        for w in unadmitted {
            let _ = writeln!(out, "- {}", workload_line(w));
        }
        out.push('\n');
    }

    out.push_str("## 3. Update namespaces\n\nIn each namespace: dry-run the enforce label, then audit and warn, then enforce, then bypass PSP. `corral psp plan --emit labels` writes these commands as a script.\n");
    let cluster_role = plan
        .bypass_cluster_role
        .as_deref()
        .unwrap_or("privileged-psp");
    for ns in &plan.namespaces {
        let enforce = label_args(ns, &["enforce"]);
        let _ = writeln!(
            out,
            "\n### Namespace `{}`: {}\n",
            one_line(&ns.name),
            labels_summary(ns)
        );
        let _ = writeln!(
            out,
            "Workloads: {}. PSPs in use: {}. Level as written: {}; after the patches: {}.\n",
            if ns.workloads.is_empty() {
                "none".to_string()
            } else {
                ns.workloads.join(", ")
            },
            join(&ns.current_psps),
            ns.level_as_written.as_str(),
            ns.level_after_patches.as_str()
        );
        if ns.level_as_written < ns.level_after_patches {
            out.push_str("Apply the patches of step 2 first: as written, its workloads do not meet the enforce level.\n\n");
        }
        if ns.weaker_than_psp {
            let _ = writeln!(
                out,
                "**Weaker than PSP**: PSA will enforce {} where the PSPs held pods to {}.\n",
                ns.level_after_patches.as_str(),
                ns.psp_level.map_or("", |l| l.as_str())
            );
        }
        if !ns.lost_controls.is_empty() {
            out.push_str("**Lost with PSP** (PSA cannot express these; keep them with a validating admission policy if they matter):\n\n");
            for lost in &ns.lost_controls {
                let _ = writeln!(
                    out,
                    "- {} (PSP `{}`, `{}`)",
                    lost.control, lost.psp, lost.field
                );
            }
            out.push('\n');
        }
        let watch = label_args(ns, &["audit", "warn"]);
        let commands = for_namespace(&ns.name, |n| {
            format!(
            "# 3.b dry run: warns about running pods that violate the level\nkubectl label --dry-run=server --overwrite ns {n}{enforce}\n# 3.b audit and warn at the next stricter level\nkubectl label --overwrite ns {n}{watch}\n# 3.c enforce\nkubectl label --overwrite ns {n}{enforce}\n# 3.d bypass PSP here (roll back: kubectl delete -n {n} rolebinding disable-psp)\nkubectl create -n {n} rolebinding disable-psp --clusterrole {} --group system:serviceaccounts:{n}",
            shell_word(cluster_role)
        )
        });
        let _ = writeln!(out, "```sh\n{commands}\n```");
    }
    match (&plan.bypass_psp, &plan.bypass_cluster_role) {
        (Some(psp), Some(role)) => {
            let _ = writeln!(out, "\nStep 3.d binds ClusterRole `{role}`, which grants `use` of `{psp}`: a privileged PSP that mutates nothing, which the admission controller therefore prefers.");
        }
        (Some(psp), None) => {
            let _ = writeln!(out, "\nStep 3.d needs a ClusterRole `privileged-psp` granting `use` of `{}`, the privileged PSP that mutates nothing: `kubectl create clusterrole privileged-psp --verb use --resource podsecuritypolicies.policy --resource-name {}`.", one_line(psp), shell_word(psp));
        }
        _ => out.push_str("\nStep 3.d needs a privileged PSP that mutates nothing (the kubernetes.io example `privileged`), and a ClusterRole `privileged-psp` granting `use` of it.\n"),
    }

    let _ = writeln!(
        out,
        "\n## 4. Review namespace creation\n\nNew namespaces get no labels. Give them labels where they are created, or set cluster defaults in the API server's admission configuration:\n\n```yaml\napiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins:\n- name: PodSecurity\n  configuration:\n    apiVersion: pod-security.admission.config.k8s.io/v1\n    kind: PodSecurityConfiguration\n    defaults:\n      enforce: baseline\n      enforce-version: {v}\n      audit: restricted\n      audit-version: {v}\n      warn: restricted\n      warn-version: {v}\n    exemptions: {{usernames: [], runtimeClasses: [], namespaces: []}}\n```\n"
    );

    out.push_str("## 5. Disable PodSecurityPolicy\n\nRemove `PodSecurityPolicy` from the API server's `--enable-admission-plugins`; its log should then list `PodSecurity` and not `PodSecurityPolicy` among the loaded admission controllers. After a soak period, delete the PSPs and the RBAC that only served them:\n\n```sh\n");
    for m in &plan.psps {
        let _ = writeln!(
            out,
            "kubectl delete podsecuritypolicy {}",
            shell_word(&m.name)
        );
    }
    for rbac in &plan.psp_only_rbac {
        let _ = writeln!(out, "kubectl delete {rbac}");
    }
    out.push_str("```\n");
    out
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}\n")).collect()
}

/// `--emit labels`: `labels.sh dry-run|audit|enforce`, the label commands
/// of step 3 in stages.
pub fn labels_script(plan: &Plan) -> String {
    let mut out = format!(
        "#!/bin/sh\n# Pod Security Admission labels planned by `corral psp plan`, pinned to {}.\n# Run in stages: dry-run (warns about violating pods), audit (audit and warn\n# at the next stricter level), then enforce.\n# Every name is quoted; a namespace whose name is not valid is skipped.\nset -eu\ncase \"${{1:-}}\" in\n",
        one_line(&plan.target_version)
    );
    for (stage, modes, dry) in [
        ("dry-run", &["enforce"][..], true),
        ("audit", &["audit", "warn"][..], false),
        ("enforce", &["enforce"][..], false),
    ] {
        let _ = writeln!(out, "{stage})");
        for ns in &plan.namespaces {
            let line = for_namespace(&ns.name, |n| {
                format!(
                    "kubectl label{} --overwrite ns {n}{}",
                    if dry { " --dry-run=server" } else { "" },
                    label_args(ns, modes)
                )
            });
            let _ = writeln!(out, "  {line}");
        }
        out.push_str("  ;;\n");
    }
    out.push_str("*)\n  echo \"usage: $0 dry-run|audit|enforce\" >&2\n  exit 2\n  ;;\nesac\n");
    out
}

/// `--emit namespaces`: a Namespace manifest per namespace, with its other
/// labels kept and the planned ones set.
pub fn namespace_manifests(plan: &Plan) -> Vec<(String, String)> {
    plan.namespaces
        .iter()
        .map(|ns| {
            let mut labels = Mapping::new();
            let mut all = ns.other_labels.clone();
            all.extend(ns.labels.clone());
            for (k, v) in &all {
                labels.insert(string(k), string(v));
            }
            let mut metadata = Mapping::new();
            metadata.insert(string("name"), string(&ns.name));
            metadata.insert(string("labels"), Yaml::Mapping(labels));
            let mut root = Mapping::new();
            root.insert(string("apiVersion"), string("v1"));
            root.insert(string("kind"), string("Namespace"));
            root.insert(string("metadata"), Yaml::Mapping(metadata));
            (
                format!("namespaces/{}.yaml", file_name(&ns.name)),
                format!(
                    "# Planned by `corral psp plan` ({}).\n{}",
                    one_line(&labels_summary(ns)),
                    emit::document(&Yaml::Mapping(root))
                ),
            )
        })
        .collect()
}

/// `--emit patches`: each mutated workload's strategic-merge patch, named
/// after it, with where to edit and how to apply it.
pub fn patch_files(plan: &Plan) -> Vec<(String, String)> {
    plan.workloads
        .iter()
        .filter_map(|w| {
            let patch = w.patch.as_ref()?;
            let path = format!(
                "patches/{}/{}-{}.yaml",
                file_name(&w.namespace),
                file_name(&w.kind.to_lowercase()),
                file_name(&w.name)
            );
            let text = format!(
                "# {}: what PSP {} injected into its pods, to write at {}:{}\n# or: {}\n{}",
                one_line(&format!("{} {}/{}", w.kind, w.namespace, w.name)),
                one_line(w.psp.as_deref().unwrap_or("")),
                one_line(&patch.file),
                patch.line,
                kubectl_patch(w, &path).unwrap_or_else(|| {
                    "(no command: its kind, name or namespace is not valid)".into()
                }),
                patch.yaml
            );
            Some((path, text))
        })
        .collect()
}
