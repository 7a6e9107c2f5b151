//! `corral inventory`: what was loaded, one row per object, with per-kind
//! counts and every input problem.

use std::collections::BTreeMap;
use std::fmt::Write;

use clap::{Args, ValueEnum};
use corral_core::model::{template_path, TemplatePaths};
use corral_core::{Diagnostic, Object, Severity};
use serde::Serialize;

use crate::cli::{CommonArgs, LoadArgs};
use crate::output::{self, Status};

#[derive(Args)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Report format.
    #[arg(long, short, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Serialize)]
struct Report<'a> {
    objects: Vec<Row<'a>>,
    counts: BTreeMap<&'a str, usize>,
    errors: Vec<Problem<'a>>,
    warnings: Vec<Problem<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    kind: &'a str,
    api_version: &'a str,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    file: &'a str,
    line: u32,
    column: u32,
    document: u32,
    /// Where the object's pod template is (`""` for a Pod), if it bears pods.
    pod_template: Option<String>,
}

#[derive(Serialize)]
struct Problem<'a> {
    file: &'a str,
    line: Option<u32>,
    column: Option<u32>,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<&'a str>,
}

pub fn run(args: &InventoryArgs, common: &CommonArgs) -> Result<Status, String> {
    let loaded = output::load(&args.load, common, &crate::snapshot::INVENTORY)?;
    let mut diagnostics = loaded.diagnostics;
    diagnostics.sort_by(|a, b| (&a.file, a.pos, &a.message).cmp(&(&b.file, b.pos, &b.message)));

    let template_paths = args.load.template_paths();
    let report = build_report(&loaded.objects, &diagnostics, &template_paths);
    let text = match args.format {
        Format::Json => output::json(&report)?,
        Format::Text => render_text(&report),
    };
    match args.format {
        Format::Json => output::write_report(common, &text)?,
        Format::Text => output::write_text_report(common, &text)?,
    }
    output::print_diagnostics(&diagnostics, common);
    if !common.quiet {
        let errors = report.errors.len();
        eprintln!(
            "{} objects in {} files{}",
            report.objects.len(),
            loaded.files,
            if errors > 0 {
                format!(", {errors} errors")
            } else {
                String::new()
            }
        );
    }
    let status = output::input_status(&diagnostics);
    // Freeing a large tree object by object takes longer than exiting does.
    std::mem::forget(loaded.objects);
    Ok(status)
}

fn build_report<'a>(
    objects: &'a [Object],
    diagnostics: &'a [Diagnostic],
    template_paths: &TemplatePaths,
) -> Report<'a> {
    let mut counts = BTreeMap::new();
    for object in objects {
        *counts.entry(object.kind.as_str()).or_insert(0) += 1;
    }
    let problems = |severity| {
        diagnostics
            .iter()
            .filter(move |d| d.severity == severity)
            .map(|d| Problem {
                file: &d.file,
                line: d.pos.map(|p| p.line),
                column: d.pos.map(|p| p.col),
                message: &d.message,
                hint: d.hint.as_deref(),
            })
            .collect()
    };
    Report {
        objects: objects
            .iter()
            .map(|o| Row {
                kind: &o.kind,
                api_version: &o.api_version,
                namespace: o.namespace.as_deref(),
                name: o.name.as_deref(),
                file: &o.file,
                line: o.pos.line,
                column: o.pos.col,
                document: o.document,
                pod_template: template_path(o, template_paths),
            })
            .collect(),
        counts,
        errors: problems(Severity::Error),
        warnings: problems(Severity::Warning),
    }
}

fn render_text(report: &Report<'_>) -> String {
    let header = ["KIND", "APIVERSION", "NAMESPACE", "NAME", "LOCATION"];
    let rows: Vec<[String; 5]> = report
        .objects
        .iter()
        .map(|r| {
            [
                r.kind.to_string(),
                r.api_version.to_string(),
                r.namespace.unwrap_or("-").to_string(),
                r.name.unwrap_or("-").to_string(),
                format!("{}:{}", r.file, r.line),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 5]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    out.push('\n');
    for (kind, count) in &report.counts {
        let _ = writeln!(out, "{count:>6}  {kind}");
    }
    out
}
