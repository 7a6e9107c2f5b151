//! Corral's core: loading Kubernetes manifests with exact source positions,
//! and the typed model the analyses work on.

pub mod authz;
pub mod de;
pub mod diagnostic;
pub mod emit;
mod fast;
pub mod lines;
pub mod load;
pub mod model;
pub mod node;
pub mod object;
mod parse;
pub mod read;
pub mod safe;
pub mod values;

pub use diagnostic::{Diagnostic, Severity};
pub use load::{discover, load, load_bytes, load_sources, parse_config, Input, Loaded, Source};
pub use node::{Node, Pos, Scalar, ScalarKind, Value};
pub use object::Object;
pub use read::{read_bounded, read_bounded_text};

/// Checks run by the fuzz targets; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// Panics where the fast parser's tree for a document of `text` differs
    /// from saphyr-parser's.
    pub fn check_fast_path(text: &str) {
        crate::load::check_fast_path(text);
    }

    /// Panics where loading a chunk of `text` with CustomResourceDefinition
    /// schema blanking gives other objects than loading it whole; returns
    /// how many chunks were blanked.
    pub fn check_crd_blanking(text: &str) -> usize {
        crate::load::check_crd_blanking(text)
    }
}

/// Bounds on hostile or accidental huge input. Every limit is reported by
/// name when hit, so a user with a genuine need can raise it.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest file read, in bytes.
    pub max_file_size: u64,
    /// Largest single YAML document, in bytes (a larger one is refused as it
    /// is read, not held). Also the most bytes (of keys and scalars) that
    /// alias expansion may add to one document.
    pub max_document_size: usize,
    /// Deepest nesting of mappings and sequences, aliases expanded.
    /// (saphyr-parser bounds flow collections at 255 levels whatever this is.)
    pub max_depth: usize,
    /// Most nodes that alias expansion may create in one document.
    pub max_alias_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 1 << 30,
            // Large CRDs run to a few MiB; etcd itself caps objects at 1.5 MiB.
            max_document_size: 64 << 20,
            max_depth: 256,
            max_alias_nodes: 100_000,
        }
    }
}
