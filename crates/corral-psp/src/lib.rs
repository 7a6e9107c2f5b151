//! PodSecurityPolicy → Pod Security Admission. `map` places each PSP at a
//! Pod Security Standards level, field by field, after the kubernetes.io
//! mapping table ("Mapping PodSecurityPolicies to Pod Security
//! Standards"), with the fields that mutate pods and the controls PSS has
//! no equivalent for.

pub mod access;
pub mod map;
pub mod mutate;
pub mod plan;
pub mod report;
pub mod validate;

pub use access::{chosen, grants, namespace_editors, usable, Grant, NamespaceEditor, PspGrants};
pub use map::{map_psp, FieldMapping, PspMapping, Verdict};
pub use mutate::{mutate, Mutation};
pub use plan::{plan, Plan};
pub use validate::denials;
