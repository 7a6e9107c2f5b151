//! What the manifest targets share: the loader's limits and the model.

use std::sync::Arc;

use corral_core::model::{Model, TemplatePaths};
use corral_core::{load_bytes, Limits};

/// Tight limits keep each input fast; the loader bounds work by them.
pub const LIMITS: Limits = Limits {
    max_file_size: 1 << 20,
    max_document_size: 1 << 18,
    max_depth: 64,
    max_alias_nodes: 10_000,
};

/// The model of `data` read as one manifest file, as every command builds it.
#[allow(dead_code)] // the loader target stops before the model
pub fn model(data: &[u8]) -> Model {
    let name: Arc<str> = Arc::from("fuzz.yaml");
    let (objects, _) = load_bytes(&name, data, &LIMITS, &|_| {});
    Model::build(objects, &TemplatePaths::default()).0
}
