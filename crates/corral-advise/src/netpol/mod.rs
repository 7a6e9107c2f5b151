//! NetworkPolicies: an evaluator with Kubernetes semantics, and the
//! policies a recording's flows call for.

pub mod advise;
pub mod eval;
pub mod inventory;
pub mod prove;
