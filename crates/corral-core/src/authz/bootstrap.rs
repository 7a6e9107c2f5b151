//! The API server's bootstrap RBAC policy: the roles and bindings every
//! cluster has whether or not the input lists them (`cluster-admin` bound
//! to `system:masters`, `admin`, `edit`, `view` and their aggregation, the
//! `system:*` roles, the controllers' roles). Kubernetes' own golden files,
//! Apache-2.0, copied byte for byte with their source and licence beside
//! them in `data/k8s-bootstrap-rbac/`; the two default bindings they lack
//! are added from the RBAC documentation.

use std::sync::{Arc, OnceLock};

use crate::model::{Model, TemplatePaths};
use crate::{load_bytes, Limits};

/// Where built-in objects say they come from.
pub const PREFIX: &str = "(built-in) k8s-bootstrap-rbac/";

/// The policy files, by name.
pub const FILES: &[(&str, &str)] = &[
    (
        "cluster-roles.yaml",
        include_str!("../../data/k8s-bootstrap-rbac/cluster-roles.yaml"),
    ),
    (
        "cluster-role-bindings.yaml",
        include_str!("../../data/k8s-bootstrap-rbac/cluster-role-bindings.yaml"),
    ),
    (
        "controller-roles.yaml",
        include_str!("../../data/k8s-bootstrap-rbac/controller-roles.yaml"),
    ),
    (
        "controller-role-bindings.yaml",
        include_str!("../../data/k8s-bootstrap-rbac/controller-role-bindings.yaml"),
    ),
    (
        "namespace-roles.yaml",
        include_str!("../../data/k8s-bootstrap-rbac/namespace-roles.yaml"),
    ),
    (
        "namespace-role-bindings.yaml",
        include_str!("../../data/k8s-bootstrap-rbac/namespace-role-bindings.yaml"),
    ),
    (
        "documented-bindings.yaml",
        include_str!("../../data/k8s-bootstrap-rbac/documented-bindings.yaml"),
    ),
];

/// The bootstrap policy as a model, loaded once.
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut objects = Vec::new();
        for (file, text) in FILES {
            let name: Arc<str> = Arc::from(format!("{PREFIX}{file}"));
            let (loaded, _) = load_bytes(&name, text.as_bytes(), &Limits::default(), &|_| {});
            objects.extend(loaded);
        }
        Model::build(objects, &TemplatePaths::default()).0
    })
}

/// Is this object one of the built-in ones?
pub fn is_builtin(file: &str) -> bool {
    file.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Resource;

    #[test]
    fn the_whole_policy_loads() {
        let (objects, diagnostics): (usize, usize) =
            FILES.iter().fold((0, 0), |acc, (file, text)| {
                let name: Arc<str> = Arc::from(*file);
                let (loaded, diagnostics) =
                    load_bytes(&name, text.as_bytes(), &Limits::default(), &|_| {});
                (acc.0 + loaded.len(), acc.1 + diagnostics.len())
            });
        assert_eq!(diagnostics, 0);
        // SOURCE.md's counts, and the two documented bindings.
        assert_eq!(objects, 31 + 10 + 38 + 38 + 7 + 7 + 2);
        let model = model();
        assert_eq!(model.resources.len(), objects);
        assert!(model
            .resources
            .iter()
            .all(|r| !matches!(r, Resource::Other)));
    }

    /// The copies are the upstream files, byte for byte (`../shared` is
    /// where they were fetched; CI has it).
    #[test]
    fn the_copies_are_the_upstream_files() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/k8s-bootstrap-rbac");
        if !shared.exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{} is missing",
                shared.display()
            );
            return;
        }
        for (file, text) in FILES {
            if *file == "documented-bindings.yaml" {
                continue;
            }
            let upstream = std::fs::read_to_string(shared.join(file)).unwrap();
            assert_eq!(&upstream, text, "{file} differs from upstream");
        }
    }
}
