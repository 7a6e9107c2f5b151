//! `corral paths`: attack paths from pods, exposed endpoints or identities
//! to cluster-admin, nodes, service account tokens or anything critical.

use clap::{Args, ValueEnum};
use corral_core::model::{Model, Templates};
use corral_paths::query::{self, From, To};

use crate::cli::{CommonArgs, LoadArgs};
use crate::output::{self, Status};

#[derive(Clone, Copy, ValueEnum)]
pub enum Target {
    ClusterAdmin,
    Nodes,
    Secrets,
    CloudAdmin,
    AnyCritical,
}

/// How many changes the HTML page's summary proposes.
const HTML_CUTS: usize = 10;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Dot,
    Mermaid,
    /// SARIF 2.1.0: paths to cluster-admin, nodes and cloud
    /// administrators, each with its hops as a code flow.
    Sarif,
    /// One self-contained HTML page: the paths as a graph to pan, zoom,
    /// search and filter, each hop's evidence and fix a click away, and
    /// the changes that cut most paths. Opens with no network.
    Html,
}

#[derive(Args)]
pub struct PathsArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Where the attacker starts: all-pods, exposed, pod/NS/NAME (a Pod),
    /// pod/NS/KIND/NAME (a workload's pods; pod/NS/NAME finds them too),
    /// sa/NS/NAME, user/NAME or group/NAME. An identity nothing names
    /// starts from the groups it is in.
    #[arg(long, default_value = "all-pods", value_parser = |s: &str| s.parse::<From>())]
    pub from: From,
    #[arg(long, value_enum, default_value_t = Target::AnyCritical)]
    pub to: Target,
    /// Cloud files, the JSON the clouds' CLIs write; each file's kind is
    /// told from it. AWS: `aws iam get-account-authorization-details`, `aws
    /// eks describe-cluster`, `aws ec2 describe-instances`, `aws eks
    /// describe-pod-identity-association`, `describe-access-entry`,
    /// `list-associated-access-policies`. GCP: `gcloud container clusters
    /// describe`, `gcloud projects get-iam-policy`, `gcloud iam
    /// service-accounts get-iam-policy` (saved as EMAIL.json). Azure: `az
    /// aks show`, `az identity federated-credential list`, `az identity
    /// show`/`list`, `az role assignment list --all`.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub cloud: Vec<std::path::PathBuf>,
    /// Longest path to follow, in hops. A hop into a hub (any pod of a
    /// namespace, a group) or from an identity to a binding's permissions
    /// is not counted where the path goes on: the action after it is.
    #[arg(long, default_value_t = 8)]
    pub max_hops: usize,
    /// The Kubernetes version whose API server decides where it changed
    /// what a grant allows (`1.34`, `v1.34` or `latest`). Before 1.35 `get`
    /// on pods/exec runs commands (websocket upgrades).
    #[arg(long, default_value = "latest", value_name = "VERSION", value_parser = kubernetes_minor)]
    pub kubernetes_version: u32,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Instead of the paths, the fewest changes that cut them all, the
    /// change on most paths first.
    #[arg(long)]
    pub cut: bool,
    /// Print the graph's size and the time each phase took on standard error.
    #[arg(long)]
    pub stats: bool,
}

/// `latest`, `1.NN` or `v1.NN` as the minor version.
fn kubernetes_minor(s: &str) -> Result<u32, String> {
    if s == "latest" {
        return Ok(corral_paths::build::LATEST_KUBERNETES_MINOR);
    }
    s.strip_prefix('v')
        .unwrap_or(s)
        .strip_prefix("1.")
        .and_then(|minor| minor.parse::<u32>().ok())
        .ok_or_else(|| format!("expected `latest` or a version such as `1.34`, got `{s}`"))
}

pub fn run(args: &PathsArgs, common: &CommonArgs) -> Result<Status, String> {
    let started = std::time::Instant::now();
    let loaded = output::load(&args.load, common, &crate::snapshot::PATHS)?;
    let mut diagnostics = loaded.diagnostics;
    // The graph reads few fields of a pod: keeping those only keeps a
    // large cluster's pods in a tenth of the memory.
    let (model, errors) =
        Model::build_as(loaded.objects, &args.load.template_paths(), Templates::Lean);
    diagnostics.extend(errors);
    let loaded_at = started.elapsed();
    let loaded_rss = resident_mb();
    let cloud = output::read_cloud(&args.cloud, args.load.max_document_size)?;
    let options = corral_paths::Options {
        kubernetes_minor: args.kubernetes_version,
    };
    let graph = corral_paths::build_with_options(&model, &cloud, &options);
    let built_at = started.elapsed();
    let built_rss = resident_mb();
    // The graph holds all the query needs. The model is freed on another
    // core meanwhile, and the query and report reuse its memory; the
    // process may end before it is all freed.
    std::thread::spawn(move || drop(model));
    let to = match args.to {
        Target::ClusterAdmin => To::ClusterAdmin,
        Target::Nodes => To::Nodes,
        Target::Secrets => To::Secrets,
        Target::CloudAdmin => To::CloudAdmin,
        Target::AnyCritical => To::AnyCritical,
    };
    if args.cut {
        let plan = query::cut(&graph, &args.from, to, args.max_hops, 100);
        let text = match args.format {
            Format::Json => output::json(&plan)?,
            _ => query::cut_text(&plan),
        };
        match args.format {
            Format::Json => output::write_report(common, &text)?,
            _ => output::write_text_report(common, &text)?,
        }
        output::print_diagnostics(&diagnostics, common);
        return Ok(output::input_status(&diagnostics));
    }
    // The picture shows each source's way to each class of target, so
    // that its counts and filters mean "reaches".
    let found = match args.format {
        Format::Html => query::search_each_class(&graph, &args.from, to, args.max_hops),
        _ => query::search(&graph, &args.from, to, args.max_hops),
    };
    let paths = &found.paths;
    if args.stats {
        eprintln!(
            "graph: {} vertices, {} edges; load {:.2} s ({loaded_rss} MB resident), build {:.2} s ({built_rss} MB), query {:.2} s; {} paths; {}",
            graph.graph.node_count(),
            graph.graph.edge_count(),
            loaded_at.as_secs_f64(),
            (built_at - loaded_at).as_secs_f64(),
            (started.elapsed() - built_at).as_secs_f64(),
            paths.len(),
            crate::allocator::name()
        );
    }
    match args.format {
        Format::Text => output::write_text_report(common, &query::text(&found))?,
        // Streamed: a large cluster's paths are tens of megabytes of JSON.
        Format::Json => output::stream_report(common, &mut |out| {
            serde_json::to_writer_pretty(&mut *out, &found)?;
            out.write_all(b"\n")
        })?,
        Format::Dot => output::write_report(common, &query::dot(paths))?,
        Format::Mermaid => output::write_report(common, &query::mermaid(paths))?,
        Format::Html => {
            // The summary's advice: the first changes `--cut` would make.
            let cuts = query::cut(&graph, &args.from, to, args.max_hops, HTML_CUTS);
            let query = corral_paths::picture::Query {
                inputs: if args.load.cluster {
                    vec!["--cluster".to_string()]
                } else {
                    args.load.paths.clone()
                }
                .into_iter()
                .chain(args.cloud.iter().map(|c| c.display().to_string()))
                .collect(),
                from: args.from.to_string(),
                to: args
                    .to
                    .to_possible_value()
                    .map_or_else(String::new, |v| v.get_name().to_string()),
                max_hops: args.max_hops,
            };
            let picture = corral_paths::picture::picture(&graph, &found, &cuts, query);
            output::write_report(common, &corral_paths::html::page(&picture))?
        }
        Format::Sarif => {
            let (root, prefix) = output::sarif_root();
            let sarif = corral_scan::report::sarif_paths(&graph, paths, &root, &prefix);
            output::write_report(common, &sarif)?
        }
    }
    // Text and JSON say it in the report; the other formats have no room
    // for it that every reader accepts.
    if matches!(
        args.format,
        Format::Dot | Format::Mermaid | Format::Sarif | Format::Html
    ) && !common.quiet
    {
        if let Some(note) = query::beyond_note(&found) {
            eprintln!("{note}");
        }
    }
    output::print_diagnostics(&diagnostics, common);
    // The process ends here: freeing a large graph one
    // allocation at a time would take seconds for nothing.
    std::mem::forget(graph);
    if output::input_status(&diagnostics) != Status::Clean {
        return Ok(Status::InputError);
    }
    Ok(if paths.is_empty() {
        Status::Clean
    } else {
        Status::Findings
    })
}

/// This process's resident memory in MB (Linux), for `--stats`.
fn resident_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
