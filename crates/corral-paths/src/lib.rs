//! Attack paths: an in-memory graph of what an attacker can reach from a
//! pod, an exposed endpoint or an identity, inside the cluster (KubeHound's
//! edge catalogue and what it lacks).

pub mod build;
pub mod cloud_edges;
pub mod edge;
pub mod graph;
pub mod html;
pub mod picture;
pub mod query;

pub use build::{aws_auth, build, build_with, build_with_options, pod_name, AwsAuthEntry, Options};
pub use edge::EdgeKind;
pub use graph::{Edge, Evidence, EvidenceRef, Graph, Vertex, Volume};
