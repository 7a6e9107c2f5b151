//! NetworkPolicies: an evaluator with Kubernetes semantics, and the
//! policies a recording's flows call for.

pub mod advise;
pub mod crd;
pub mod eval;
pub mod inventory;
pub mod names;
pub mod names_eval;
pub mod prove;
