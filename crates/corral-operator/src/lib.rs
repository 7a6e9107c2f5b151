//! Corral in the cluster. The recorder DaemonSet publishes each
//! container's recording as a `Recording` resource (`corral.dev/v1alpha1`,
//! one per workload container and node, in the workload's namespace), for
//! the namespaces labelled `corral.dev/record: "true"`; `corral operator`,
//! a kube-rs controller, merges a workload container's recordings across
//! replicas and nodes into one `Recording` (labelled merged, with the
//! securityContext patch and the advice in it) and writes what Corral
//! advises from it: a Security Profiles Operator `SeccompProfile` and the
//! namespace's NetworkPolicies.

pub mod crd;
pub mod lease;
pub mod lite;
pub mod metrics;
pub mod publish;
pub mod reconcile;
pub mod serve;
pub mod stores;

pub use crd::{RecordingResource, RecordingSpec};

/// The namespace label that turns recording on (`"true"`) or off.
pub const RECORD_LABEL: &str = "corral.dev/record";
pub const WORKLOAD_LABEL: &str = "corral.dev/workload";
pub const CONTAINER_LABEL: &str = "corral.dev/container";
pub const NODE_LABEL: &str = "corral.dev/node";
/// On the merged Recording of a workload container.
pub const MERGED_LABEL: &str = "corral.dev/merged";
/// The field manager of Corral's server-side applies.
pub const MANAGER: &str = "corral";

/// A name Kubernetes accepts (DNS-1123 subdomain): lower-case letters,
/// digits and `-`, at most 253 characters.
pub fn object_name(parts: &[&str]) -> String {
    let joined = parts.join("-").to_ascii_lowercase();
    let mut name: String = joined
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name.truncate(253);
    name.trim_matches('-').to_string()
}

/// A label value Kubernetes accepts: at most 63 characters of letters,
/// digits, `-`, `_` and `.`, starting and ending with one of the first two.
pub fn label_value(text: &str) -> String {
    let mut value: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    value.truncate(63);
    value
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_labels_are_valid() {
        assert_eq!(
            object_name(&["web", "app", "ip-10-0-1-1.ec2.internal"]),
            "web-app-ip-10-0-1-1-ec2-internal"
        );
        assert_eq!(label_value("-Node_1.a-"), "Node_1.a");
        assert_eq!(label_value(&"n".repeat(80)).len(), 63);
    }
}
