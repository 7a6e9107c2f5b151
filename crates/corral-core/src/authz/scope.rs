//! Which resources are cluster-scoped: a request for them carries no
//! namespace, so no RoleBinding can ever grant it, even one that
//! references a ClusterRole granting it.
//!
//! Two resources are checked in a namespace although their objects are
//! cluster-scoped, and are left out on purpose: `namespaces` (a request on
//! namespace N is authorized in N) and `podsecuritypolicies` (admission
//! checks `use` in the pod's namespace).

/// `(API group, resource)` of the built-in cluster-scoped resources that
/// matter to access, with the virtual resources checked without a
/// namespace (`signers`, `users`, `groups`, `uids`, `userextras`).
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "nodes"),
    ("", "persistentvolumes"),
    ("", "componentstatuses"),
    ("", "users"),
    ("", "groups"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
    (
        "admissionregistration.k8s.io",
        "mutatingadmissionpolicybindings",
    ),
    (
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicies",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingadmissionpolicybindings",
    ),
    (
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
    ),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("apiregistration.k8s.io", "apiservices"),
    ("authentication.k8s.io", "selfsubjectreviews"),
    ("authentication.k8s.io", "tokenreviews"),
    ("authentication.k8s.io", "uids"),
    ("authentication.k8s.io", "userextras"),
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"),
    ("certificates.k8s.io", "certificatesigningrequests"),
    ("certificates.k8s.io", "clustertrustbundles"),
    ("certificates.k8s.io", "signers"),
    ("flowcontrol.apiserver.k8s.io", "flowschemas"),
    (
        "flowcontrol.apiserver.k8s.io",
        "prioritylevelconfigurations",
    ),
    ("networking.k8s.io", "ingressclasses"),
    ("networking.k8s.io", "ipaddresses"),
    ("networking.k8s.io", "servicecidrs"),
    ("node.k8s.io", "runtimeclasses"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("resource.k8s.io", "deviceclasses"),
    ("scheduling.k8s.io", "priorityclasses"),
    ("storage.k8s.io", "csidrivers"),
    ("storage.k8s.io", "csinodes"),
    ("storage.k8s.io", "storageclasses"),
    ("storage.k8s.io", "volumeattachments"),
    ("storage.k8s.io", "volumeattributesclasses"),
];

/// Is `resource` (`nodes`, `nodes/proxy`) of `group` cluster-scoped? Its
/// subresources are too. Custom resources are not known here and count as
/// namespaced.
pub fn cluster_scoped(group: &str, resource: &str) -> bool {
    let base = resource.split_once('/').map_or(resource, |(base, _)| base);
    // `users`, `groups` and `serviceaccounts` are impersonated in the core
    // group, `uids` and `userextras` in authentication.k8s.io.
    CLUSTER_SCOPED.contains(&(group, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subresources_share_their_resource_scope() {
        assert!(cluster_scoped("", "nodes/proxy"));
        assert!(cluster_scoped(
            "certificates.k8s.io",
            "certificatesigningrequests/approval"
        ));
        assert!(!cluster_scoped("", "pods/exec"));
        assert!(!cluster_scoped("", "serviceaccounts/token"));
        assert!(!cluster_scoped("", "namespaces"));
        assert!(!cluster_scoped("example.com", "nodes"));
    }
}
