//! Loading a manifest the way `corral pss` does, for the integration tests.

use std::sync::Arc;

use corral_core::model::{Model, TemplatePaths};
use corral_core::{load_bytes, Limits};
use corral_pss::{evaluate, Evaluation, LevelVersion};

/// Load `text`, which must hold exactly one pod-bearing object, and
/// evaluate its pod template at `policy`.
pub fn evaluate_manifest(text: &str, policy: &LevelVersion) -> Evaluation {
    let (objects, diagnostics) = load_bytes(
        &Arc::from("t.yaml"),
        text.as_bytes(),
        &Limits::default(),
        &|_| {},
    );
    assert!(diagnostics.is_empty(), "{diagnostics:?}\n{text}");
    let (model, errors) = Model::build(objects, &TemplatePaths::default());
    assert!(errors.is_empty(), "{errors:?}\n{text}");
    let (_, template) = model.workloads().next().expect("a pod-bearing object");
    evaluate(&template.metadata, &template.spec, policy)
}
