//! `--apply`: write a workload's advised securityContext (and the emptyDir
//! volumes it needs) into its manifest in place, keeping the rest of the
//! file as it is: its comments, order, quoting and indentation. Block-style
//! YAML only. The edits are lines replaced or inserted at the positions the
//! loader recorded, then checked: the file is parsed again and must give
//! exactly the advised securityContext.

use corral_core::emit;
use corral_core::model::{Model, PodTemplate};
use corral_core::{Node, Object, Pos};
use serde_json::{json, Value};

use crate::patch::{security_context, ContainerAdvice};
use crate::security_context::volume_name;

/// Lines `start..end` (0-based) replaced by `lines`.
struct Edit {
    start: usize,
    end: usize,
    lines: Vec<String>,
}

/// Apply edits bottom up, so that earlier positions stay right; of edits
/// at one position, the first made ends up first.
fn splice(text: &str, edits: Vec<Edit>) -> String {
    let mut numbered: Vec<(usize, Edit)> = edits.into_iter().enumerate().collect();
    numbered.sort_by_key(|(n, e)| std::cmp::Reverse((e.start, e.end, *n)));
    let mut out: Vec<String> = corral_core::lines::split(text)
        .map(str::to_string)
        .collect();
    for (_, edit) in numbered {
        out.splice(edit.start..edit.end, edit.lines);
    }
    let mut result = out.join("\n");
    if text.ends_with(['\n', '\r']) {
        result.push('\n');
    }
    result
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// The line after the block of the entry whose key is at `key` (1-based):
/// the first later line indented less than the key, or as much and not a
/// `- ` item of a sequence value; blank and comment lines at the end are
/// not the block's.
fn block_end(lines: &[&str], key: Pos, sequence: bool) -> usize {
    let column = key.col as usize - 1;
    let mut end = key.line as usize; // 0-based index after the key's line
    for (i, line) in lines.iter().enumerate().skip(key.line as usize) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            continue;
        }
        if line.starts_with("---") || line.starts_with("...") {
            break;
        }
        let indent = indentation(line);
        if trimmed.starts_with('#') && indent <= column {
            break;
        }
        if indent < column || (indent == column && !(sequence && trimmed.starts_with('-'))) {
            break;
        }
        end = i + 1;
    }
    end
}

/// `value` as YAML block lines under `key`, indented by `column`.
fn block(key: &str, value: &Value, column: usize) -> Vec<String> {
    let text = emit::document(&emit::from_json(&json!({ key: value })));
    text.lines()
        .map(|l| format!("{}{l}", " ".repeat(column)))
        .collect()
}

/// Sequence items as lines, each `- ` at `column`.
fn items(values: &[Value], column: usize) -> Vec<String> {
    let text = emit::document(&emit::from_json(&Value::Array(values.to_vec())));
    text.lines()
        .map(|l| format!("{}{l}", " ".repeat(column)))
        .collect()
}

fn entry<'a>(node: &'a Node, key: &str) -> Option<&'a corral_core::node::Entry> {
    node.entries()?.iter().find(|e| e.key == key)
}

/// Add `values` to the sequence under `key` of `mapping` (or create it),
/// skipping those whose `field` is already there.
fn extend_sequence(
    lines: &[&str],
    mapping: &Node,
    key: &str,
    values: &[Value],
    field: &str,
    anchor: &corral_core::node::Entry,
) -> Result<Option<Edit>, String> {
    match entry(mapping, key) {
        Some(existing) => {
            let present: Vec<String> = existing
                .value
                .items()
                .ok_or_else(|| format!("`{key}` is not a sequence"))?
                .iter()
                .filter_map(|i| i.get(field).and_then(|v| v.as_str()).map(str::to_string))
                .collect();
            let new: Vec<Value> = values
                .iter()
                .filter(|v| {
                    !present
                        .iter()
                        .any(|p| Some(p.as_str()) == v[field].as_str())
                })
                .cloned()
                .collect();
            if new.is_empty() {
                return Ok(None);
            }
            let first = existing
                .value
                .items()
                .and_then(|i| i.first())
                .ok_or_else(|| format!("`{key}` is empty or in flow style: edit it by hand"))?;
            let line = lines[first.pos.line as usize - 1];
            let dash = line[..first.pos.col as usize - 1]
                .rfind('-')
                .ok_or_else(|| format!("`{key}` is in flow style: edit it by hand"))?;
            let end = block_end(lines, existing.key_pos, true);
            Ok(Some(Edit {
                start: end,
                end,
                lines: items(&new, dash),
            }))
        }
        None => {
            let end = block_end(lines, anchor.key_pos, false);
            Ok(Some(Edit {
                start: end,
                end,
                lines: block(
                    key,
                    &Value::Array(values.to_vec()),
                    anchor.key_pos.col as usize - 1,
                ),
            }))
        }
    }
}

/// `text` (the file `object` is in) with the containers' advice written in.
pub fn apply_to_object(
    text: &str,
    object: &Object,
    template: &PodTemplate,
    containers: &[ContainerAdvice],
) -> Result<String, String> {
    // Lines as the loader's positions count them.
    let lines: Vec<&str> = corral_core::lines::split(text).collect();
    let spec_path = template.spec_path("");
    let spec = object
        .root
        .at(&spec_path)
        .ok_or_else(|| format!("no {spec_path}"))?;
    let list = entry(spec, "containers").ok_or("no containers")?;
    let mut edits = Vec::new();
    let mut volumes = Vec::new();
    for advice in containers {
        let node = list
            .value
            .items()
            .unwrap_or_default()
            .iter()
            .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(advice.name))
            .ok_or_else(|| format!("no container {}", advice.name))?;
        let name = entry(node, "name").ok_or("a container without a name")?;
        let line = lines[name.key_pos.line as usize - 1];
        if line[..name.key_pos.col as usize - 1].contains('{') {
            return Err(format!(
                "container {} is in flow style: apply the patch by hand",
                advice.name
            ));
        }
        let context = security_context(advice);
        match entry(node, "securityContext") {
            Some(existing) => edits.push(Edit {
                start: existing.key_pos.line as usize - 1,
                end: block_end(&lines, existing.key_pos, false),
                lines: block(
                    "securityContext",
                    &context,
                    existing.key_pos.col as usize - 1,
                ),
            }),
            None => {
                let end = block_end(&lines, name.key_pos, false);
                edits.push(Edit {
                    start: end,
                    end,
                    lines: block("securityContext", &context, name.key_pos.col as usize - 1),
                });
            }
        }
        let mounts: Vec<Value> = advice
            .advice
            .writable_directories
            .iter()
            .map(|d| json!({"name": volume_name(d), "mountPath": d}))
            .collect();
        if !mounts.is_empty() {
            edits.extend(extend_sequence(
                &lines,
                node,
                "volumeMounts",
                &mounts,
                "mountPath",
                name,
            )?);
        }
        for d in &advice.advice.writable_directories {
            let volume = json!({"name": volume_name(d), "emptyDir": {}});
            if !volumes.contains(&volume) {
                volumes.push(volume);
            }
        }
    }
    if !volumes.is_empty() {
        edits.extend(extend_sequence(
            &lines, spec, "volumes", &volumes, "name", list,
        )?);
    }
    Ok(splice(text, edits))
}

/// Rewrite the manifest of workload `namespace/workload` in `model`; the
/// file's new text and its path.
pub fn apply(
    model: &Model,
    namespace: &str,
    workload: &str,
    containers: &[ContainerAdvice],
) -> Result<(String, String), String> {
    let (object, template) = model
        .workloads()
        .find(|(o, _)| {
            o.name.as_deref() == Some(workload)
                && o.namespace.as_deref().unwrap_or("default") == namespace
        })
        .ok_or_else(|| format!("{namespace}/{workload} is not in the manifests"))?;
    let path = object.file.to_string();
    if path.ends_with(".json") {
        return Err(format!(
            "{path} is JSON: --apply edits YAML; apply the patch instead"
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let new = apply_to_object(&text, object, template, containers)?;
    verify(&path, &new, object, template, containers)?;
    Ok((path, new))
}

/// The rewritten file parses, and the workload's containers carry exactly
/// the advised securityContext.
fn verify(
    path: &str,
    text: &str,
    object: &Object,
    template: &PodTemplate,
    containers: &[ContainerAdvice],
) -> Result<(), String> {
    let name: std::sync::Arc<str> = std::sync::Arc::from(path);
    let (objects, diagnostics) = corral_core::load_bytes(
        &name,
        text.as_bytes(),
        &corral_core::Limits::default(),
        &|_| {},
    );
    if let Some(d) = diagnostics
        .iter()
        .find(|d| d.severity == corral_core::Severity::Error)
    {
        return Err(format!(
            "the rewritten {path} does not parse ({}): left unchanged",
            d.message
        ));
    }
    let again = objects
        .iter()
        .find(|o| o.document == object.document)
        .ok_or_else(|| format!("the rewritten {path} lost a document: left unchanged"))?;
    for advice in containers {
        let list = again
            .root
            .at(&template.spec_path("containers"))
            .and_then(|l| l.items())
            .unwrap_or_default();
        let container = list
            .iter()
            .find(|c| c.get("name").and_then(|n| n.as_str()) == Some(advice.name));
        let written: Option<Value> = container
            .and_then(|c| c.get("securityContext"))
            .and_then(|s| corral_core::de::decode(s).ok());
        if written.as_ref() != Some(&security_context(advice)) {
            return Err(format!(
                "the rewritten {path} does not hold the advised securityContext of {}: left unchanged",
                advice.name
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security_context::Advice;
    use corral_core::model::TemplatePaths;
    use std::collections::BTreeMap;

    const MANIFEST: &str = "# the shop's web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      # the server
      - name: web   # keep this comment
        image: nginx:1.25
        securityContext:
          privileged: true   # to be replaced
          runAsUser: 0
        volumeMounts:
        - name: data
          mountPath: /data
      - name: sidecar
        image: busybox
      volumes:
      - name: data
        emptyDir: {}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
";

    fn advice(writable: &[&str]) -> Advice {
        Advice {
            capabilities: vec!["NET_BIND_SERVICE".into()],
            run_as_non_root: true,
            run_as_user: Some(101),
            run_as_group: Some(101),
            read_only_root_filesystem: true,
            writable_directories: writable.iter().map(|d| d.to_string()).collect(),
            allow_privilege_escalation: false,
            evidence: BTreeMap::new(),
        }
    }

    fn apply_text(containers: &[ContainerAdvice]) -> String {
        let name: std::sync::Arc<str> = std::sync::Arc::from("web.yaml");
        let (objects, _) = corral_core::load_bytes(
            &name,
            MANIFEST.as_bytes(),
            &corral_core::Limits::default(),
            &|_| {},
        );
        let model = Model::build(objects, &TemplatePaths::default()).0;
        let (object, template) = model.workloads().next().unwrap();
        let text = apply_to_object(MANIFEST, object, template, containers).unwrap();
        verify("web.yaml", &text, object, template, containers).unwrap();
        text
    }

    #[test]
    fn the_advice_is_written_in_place_and_the_rest_kept() {
        let web = advice(&["/var/cache/nginx", "/tmp"]);
        let sidecar = advice(&["/tmp"]);
        let text = apply_text(&[
            ContainerAdvice {
                name: "web",
                advice: &web,
                seccomp_profile: Some("corral/shop-web-web.json".into()),
                warnings: &[],
            },
            ContainerAdvice {
                name: "sidecar",
                advice: &sidecar,
                seccomp_profile: None,
                warnings: &[],
            },
        ]);
        assert_eq!(
            text,
            "# the shop's web tier
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      # the server
      - name: web   # keep this comment
        image: nginx:1.25
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            add:
              - NET_BIND_SERVICE
            drop:
              - ALL
          readOnlyRootFilesystem: true
          runAsGroup: 101
          runAsNonRoot: true
          runAsUser: 101
          seccompProfile:
            localhostProfile: corral/shop-web-web.json
            type: Localhost
        volumeMounts:
        - name: data
          mountPath: /data
        - mountPath: /var/cache/nginx
          name: corral-var-cache-nginx
        - mountPath: /tmp
          name: corral-tmp
      - name: sidecar
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            add:
              - NET_BIND_SERVICE
            drop:
              - ALL
          readOnlyRootFilesystem: true
          runAsGroup: 101
          runAsNonRoot: true
          runAsUser: 101
        volumeMounts:
          - mountPath: /tmp
            name: corral-tmp
        image: busybox
      volumes:
      - name: data
        emptyDir: {}
      - emptyDir: {}
        name: corral-var-cache-nginx
      - emptyDir: {}
        name: corral-tmp
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
"
        );
    }
}
