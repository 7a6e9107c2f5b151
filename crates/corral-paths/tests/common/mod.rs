//! Loading a hand-written cloud scenario from `tests/data/DIR/`: its
//! manifests and the JSON the cloud's CLIs wrote.

use std::collections::BTreeSet;
use std::path::Path;

use corral_cloud::Cloud;
use corral_core::model::{Model, TemplatePaths};
use corral_core::{load, Input, Limits};
use corral_paths::query::To;
use corral_paths::{build_with, EdgeKind, Graph};

/// The scenario's manifests (`cluster.yaml`) and cloud files.
pub fn scenario(dir: &str, files: &[&str]) -> (Model, Cloud) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(dir);
    let loaded = load(
        &[Input::from_arg(data.join("cluster.yaml").to_str().unwrap())],
        &Limits::default(),
    );
    let (model, errors) = Model::build(loaded.objects, &TemplatePaths::default());
    assert!(errors.is_empty() && loaded.diagnostics.is_empty());
    let files: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read_to_string(data.join(f)).unwrap(),
            )
        })
        .collect();
    (model, Cloud::load(&files).unwrap())
}

pub fn graph(dir: &str, files: &[&str]) -> Graph {
    let (model, cloud) = scenario(dir, files);
    build_with(&model, &cloud)
}

/// Every edge of `kind`, by its ends' labels.
pub fn edges(g: &Graph, kind: EdgeKind) -> BTreeSet<(String, String)> {
    g.edges_of(kind)
        .into_iter()
        .map(|(a, b)| (a.label(), b.label()))
        .collect()
}

/// The edge IDs of each shortest path from `from` to `to`.
pub fn hops(g: &Graph, from: &str, to: To) -> Vec<Vec<&'static str>> {
    corral_paths::query::paths(g, &from.parse().unwrap(), to, 8)
        .iter()
        .map(|p| p.hops.iter().map(|h| h.edge).collect())
        .collect()
}
