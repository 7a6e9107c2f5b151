//! Small clusters for the edge families' unit tests.

use std::sync::Arc;

use corral_core::model::{Model, TemplatePaths};
use corral_core::{load_bytes, Limits};

use crate::{EdgeKind, Graph};

/// The graph of a cluster written as YAML.
pub(crate) fn graph(yaml: &str) -> Graph {
    let name: Arc<str> = Arc::from("cluster.yaml");
    let (objects, diagnostics) = load_bytes(&name, yaml.as_bytes(), &Limits::default(), &|_| {});
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let (model, errors) = Model::build(objects, &TemplatePaths::default());
    assert!(errors.is_empty(), "{errors:?}");
    super::build(&model)
}

/// (source, target) labels of the `kind` edges, sorted.
pub(crate) fn edges(g: &Graph, kind: EdgeKind) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = g
        .edges_of(kind)
        .into_iter()
        .map(|(a, b)| (a.label(), b.label()))
        .collect();
    found.sort();
    found
}
