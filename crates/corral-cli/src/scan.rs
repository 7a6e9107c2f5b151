//! `corral scan`: every rule over manifests, for CI; `corral rules`: the
//! rules and their documentation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use corral_core::model::{Model, TemplatePaths};
use corral_pss::{Level, Version};
use corral_scan::baseline::Baseline;
use corral_scan::config::Config;
use corral_scan::report::{self, Outcome};
use corral_scan::{rules, scan, suppress, Severity};

use crate::cli::{CommonArgs, LoadArgs};
use crate::output::{self, Status};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Github,
    Junit,
    Markdown,
}

#[derive(Args)]
pub struct ScanArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Settings file; `.corral.yaml` in the working directory when present.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The Pod Security Standards level the PSS rules check (default restricted).
    #[arg(long, value_parser = parse_level)]
    pub level: Option<Level>,
    /// The Pod Security Standards version (`latest` or `v1.N`).
    #[arg(long, value_parser = parse_version)]
    pub version: Option<Version>,
    /// Exit 1 when a new finding is at least this severe (default high).
    #[arg(long, value_parser = parse_severity, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Only findings not in this baseline count; its stale entries are listed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the findings' fingerprints to FILE, accepting them.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Also show suppressed and baselined findings.
    #[arg(long)]
    pub show_suppressed: bool,
    /// Fail only on findings that are new since this git revision: the same
    /// paths are scanned as they are at REV (read with git) and their
    /// findings do not count.
    #[arg(long, value_name = "GIT_REF")]
    pub diff_base: Option<String>,
    /// Turn a rule off, by ID or name (repeatable).
    #[arg(long, value_name = "RULE")]
    pub disable: Vec<String>,
    /// Cloud files for the attack path rules, as for `corral paths --cloud`.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub cloud: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
    /// Write each rule's documentation to DIR/<name>.md, and an index.
    #[arg(long, value_name = "DIR")]
    pub write_docs: Option<PathBuf>,
}

fn parse_level(text: &str) -> Result<Level, String> {
    text.parse()
        .map_err(|e: corral_pss::VersionError| e.to_string())
}

fn parse_version(text: &str) -> Result<Version, String> {
    text.parse()
        .map_err(|e: corral_pss::VersionError| e.to_string())
}

fn parse_severity(text: &str) -> Result<Severity, String> {
    Severity::parse(text).ok_or_else(|| format!("`{text}` is not low, medium, high or critical"))
}

/// `.corral.yaml` or `--config`, read within the loader's bounds: one
/// document, at most `--max-document-size` bytes.
fn read_config(path: &Path, limits: &corral_core::Limits) -> Result<Config, String> {
    let name = path.display().to_string();
    let text = corral_core::read_bounded_text(path, limits.max_document_size)?;
    match corral_core::parse_config(&name, &text, limits)? {
        Some(root) => Config::from_node(&root).map_err(|e| format!("{name}:{e}")),
        // An empty file sets nothing.
        None => Ok(Config::default()),
    }
}

fn read_source(file: &str) -> Option<Arc<str>> {
    std::fs::read_to_string(file).ok().map(Arc::from)
}

pub fn run(args: &ScanArgs, common: &CommonArgs) -> Result<Status, String> {
    let limits = args.load.limits();
    let mut config = match &args.config {
        Some(path) => read_config(path, &limits)?,
        // Whatever is there is read, if it is a file: a directory, FIFO or
        // device (or a symbolic link to one, `/dev/stdin` in a pull
        // request) named so is an error, never left unread nor waited on.
        None if Path::new(".corral.yaml").symlink_metadata().is_ok() => {
            if !Path::new(".corral.yaml").is_file() {
                return Err(
                    ".corral.yaml: not a regular file (a directory, FIFO, device or a link to one); remove it or give --config".into(),
                );
            }
            read_config(Path::new(".corral.yaml"), &limits)?
        }
        None => Config::default(),
    };
    if let Some(level) = args.level {
        config.settings.pss.level = level;
    }
    if let Some(version) = &args.version {
        config.settings.pss.version = version.clone();
    }
    config
        .settings
        .disabled
        .extend(args.disable.iter().cloned());
    config.settings.cloud = output::read_cloud(&args.cloud, args.load.max_document_size)?;
    let fail_on = args.fail_on.or(config.fail_on).unwrap_or(Severity::High);

    let loaded = output::load(&args.load, common, &crate::snapshot::SCAN)?;
    let mut diagnostics = loaded.diagnostics;
    let objects: Vec<_> = loaded
        .objects
        .into_iter()
        .filter(|o| !config.excludes(&o.file))
        .collect();
    let mut template_paths = args.load.template_paths();
    if !config.template_paths.is_empty() {
        if args.load.template_paths.is_empty() {
            template_paths = TemplatePaths::default();
        }
        template_paths
            .0
            .extend(config.template_paths.iter().cloned());
    }
    let (model, decode_errors): (Model, _) = Model::build(objects, &template_paths);
    diagnostics.extend(decode_errors);

    let mut findings = scan(&model, &config.settings);
    suppress::apply_comments(&mut findings, &mut |file| read_source(file));
    if let Some(path) = &args.write_baseline {
        let baseline = Baseline::of(&findings);
        let text = output::json(&baseline)?;
        std::fs::write(path, text).map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    }
    let baseline = match &args.baseline {
        Some(path) => {
            let bytes = corral_core::read_bounded(path, limits.max_document_size)?;
            Some(Baseline::from_json(&path.display().to_string(), &bytes)?)
        }
        None => None,
    };
    let (mut baselined, stale) = match &baseline {
        Some(b) => b.apply(&findings),
        None => (vec![false; findings.len()], Vec::new()),
    };
    if let Some(rev) = &args.diff_base {
        let before = fingerprints_at(rev, args, &config, &template_paths)?;
        for (known, finding) in baselined.iter_mut().zip(&findings) {
            *known |= before.contains(&finding.fingerprint);
        }
    }
    let mut outcome = Outcome::new(&findings, &baselined, stale, fail_on);
    outcome.show_suppressed = args.show_suppressed;
    outcome.input_errors = diagnostics
        .iter()
        .filter(|d| d.severity == corral_core::diagnostic::Severity::Error)
        .collect();

    // JSON, the largest report, is streamed (None here), never held whole.
    let text = match args.format {
        Format::Text => Some(report::text(&outcome, &mut |file| read_source(file))),
        Format::Json => None,
        Format::Sarif => {
            let (root, prefix) = output::sarif_root();
            Some(report::sarif(&outcome, &root, &prefix))
        }
        Format::Github => {
            if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
                use std::io::Write;
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&summary)
                    .map_err(|e| format!("GITHUB_STEP_SUMMARY: cannot write: {e}"))?;
                file.write_all(report::markdown(&outcome).as_bytes())
                    .map_err(|e| format!("GITHUB_STEP_SUMMARY: cannot write: {e}"))?;
            }
            Some(report::github(&outcome))
        }
        Format::Junit => Some(report::junit(&outcome)),
        Format::Markdown => Some(report::markdown(&outcome)),
    };
    match text {
        Some(text) if matches!(args.format, Format::Text | Format::Markdown) => {
            output::write_text_report(common, &text)?
        }
        Some(text) => output::write_report(common, &text)?,
        None => output::stream_report(common, &mut |out| report::write_json(&outcome, out))?,
    }
    output::print_diagnostics(&diagnostics, common);
    if !common.quiet && !matches!(args.format, Format::Text) {
        eprintln!("{}", outcome.summary());
    }
    let input = output::input_status(&diagnostics);
    let status = if input != Status::Clean {
        input
    } else if outcome.fails() {
        Status::Findings
    } else {
        Status::Clean
    };
    // The process ends here: freeing every object's tree and every finding
    // would cost about a tenth of a scan, for nothing.
    std::mem::forget(findings);
    std::mem::forget(model);
    Ok(status)
}

/// The fingerprints of the findings in the scanned paths as they are at
/// git revision `rev`.
fn fingerprints_at(
    rev: &str,
    args: &ScanArgs,
    config: &Config,
    template_paths: &TemplatePaths,
) -> Result<std::collections::HashSet<String>, String> {
    let mut paths: Vec<&str> = args.load.paths.iter().map(String::as_str).collect();
    if paths.contains(&"-") {
        return Err("--diff-base cannot compare standard input".into());
    }
    if rev.starts_with('-') {
        return Err(format!(
            "--diff-base {rev}: a git revision does not start with `-`"
        ));
    }
    paths.insert(0, "--");
    // -z: names exactly as stored, NUL-separated; without it git quotes
    // and escapes names with spaces, quotes, newlines or non-ASCII bytes.
    let mut list_args = vec!["ls-tree", "-r", "-z", "--name-only", rev];
    list_args.extend(paths);
    let listing = output::git_paths(&output::git(&list_args, "--diff-base")?);
    let limits = args.load.limits();
    let mut objects = Vec::new();
    let mut sources: BTreeMap<String, Arc<str>> = BTreeMap::new();
    for path in &listing {
        // The name findings carry, as the loader names files read from disk.
        let shown = path.to_string_lossy();
        let file = shown.as_ref();
        let manifest = [".yaml", ".yml", ".json"].iter().any(|e| file.ends_with(e));
        if !manifest || config.excludes(file) {
            continue;
        }
        let mut object = std::ffi::OsString::from(format!("{rev}:./"));
        object.push(path);
        let bytes = output::git(
            &[std::ffi::OsStr::new("cat-file"), "blob".as_ref(), &object],
            "--diff-base",
        )?;
        let name: Arc<str> = Arc::from(file);
        let (loaded, _) = corral_core::load_bytes(&name, &bytes, &limits, &|_| {});
        objects.extend(loaded);
        sources.insert(
            file.to_string(),
            Arc::from(String::from_utf8_lossy(&bytes).as_ref()),
        );
    }
    let (model, _) = Model::build(objects, template_paths);
    let mut findings = scan(&model, &config.settings);
    suppress::apply_comments(&mut findings, &mut |file| {
        sources.get(file.trim_start_matches("./")).cloned()
    });
    Ok(findings.into_iter().map(|f| f.fingerprint).collect())
}

fn json_text(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

pub fn run_rules(args: &RulesArgs, common: &CommonArgs) -> Result<Status, String> {
    let all = rules::all();
    if let Some(dir) = &args.write_docs {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, text) in rule_docs() {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
        }
        return Ok(Status::Clean);
    }
    let text = match args.format {
        RulesFormat::Text => {
            let mut out = String::new();
            for rule in all {
                let m = rule.meta();
                out.push_str(&format!(
                    "{}  {:<42} {:<9} {}\n",
                    m.id,
                    m.name,
                    m.severity.as_str(),
                    m.summary
                ));
            }
            out
        }
        RulesFormat::Json => json_text(
            &serde_json::to_value(all.iter().map(|r| r.meta()).collect::<Vec<_>>())
                .unwrap_or_default(),
        ),
        RulesFormat::Markdown => all
            .iter()
            .map(|r| report::rule_doc(r.meta()))
            .collect::<Vec<_>>()
            .join("\n---\n\n"),
    };
    output::write_report(common, &text)?;
    Ok(Status::Clean)
}

/// `docs/rules/`: one page per rule and an index, by family.
pub fn rule_docs() -> BTreeMap<String, String> {
    let mut docs = BTreeMap::new();
    let mut index = String::from(
        "# Corral's rules\n\nGenerated from the rules' doc comments by `corral rules --write-docs docs/rules`; do not edit.\n",
    );
    let mut family = "";
    for rule in rules::all() {
        let m = rule.meta();
        if m.family.as_str() != family {
            family = m.family.as_str();
            index.push_str(&format!(
                "\n## {family}\n\n| ID | name | severity | summary |\n| --- | --- | --- | --- |\n"
            ));
        }
        index.push_str(&format!(
            "| {} | [{}]({}.md) | {} | {} |\n",
            m.id,
            m.name,
            m.name,
            m.severity.as_str(),
            m.summary
        ));
        docs.insert(format!("{}.md", m.name), report::rule_doc(m));
    }
    // Rules merged into another: their old IDs and names still mean it.
    index.push_str(
        "\n## Redirected rules\n\nMerged into the rule that reports the same defect; the old ID and name stay accepted wherever a rule is named, with a warning.\n\n| old ID | old name | now |\n| --- | --- | --- |\n",
    );
    for redirect in corral_scan::rule_redirects::REDIRECTS {
        let owners: Vec<String> = redirect
            .to
            .iter()
            .map(|id| {
                let name = rules::all()
                    .iter()
                    .map(|r| r.meta())
                    .find(|m| m.id == *id)
                    .map_or("", |m| m.name);
                format!("{id} [{name}]({name}.md)")
            })
            .collect();
        index.push_str(&format!(
            "| {} | {} | {} |\n",
            redirect.id,
            redirect.name,
            owners.join(", ")
        ));
    }
    docs.insert("README.md".into(), index);
    docs
}
