//! Which resources are cluster-scoped: a request for them carries no
//! namespace, so no RoleBinding can ever grant it, even one that
//! references a ClusterRole granting it.
//!
//! Two resources are checked in a namespace although their objects are
//! cluster-scoped, and are left out on purpose: `namespaces` (a request on
//! namespace N is authorized in N) and `podsecuritypolicies` (admission
//! checks `use` in the pod's namespace).

/// Is `resource` (`nodes`, `nodes/proxy`) of `group` cluster-scoped? Its
/// subresources are too. The built-in cluster-scoped resources that matter
/// to access, with the virtual resources checked without a namespace
/// (`signers`, `users`, `groups`, `uids`, `userextras`). Custom resources
/// are not known here and count as namespaced. (A `match`: asked for every
/// grant of every binding.)
pub fn cluster_scoped(group: &str, resource: &str) -> bool {
    let base = resource.split_once('/').map_or(resource, |(base, _)| base);
    match group {
        // `users`, `groups` and `serviceaccounts` are impersonated in the
        // core group, `uids` and `userextras` in authentication.k8s.io.
        "" => matches!(
            base,
            "nodes" | "persistentvolumes" | "componentstatuses" | "users" | "groups"
        ),
        "admissionregistration.k8s.io" => matches!(
            base,
            "mutatingadmissionpolicies"
                | "mutatingadmissionpolicybindings"
                | "mutatingwebhookconfigurations"
                | "validatingadmissionpolicies"
                | "validatingadmissionpolicybindings"
                | "validatingwebhookconfigurations"
        ),
        "apiextensions.k8s.io" => base == "customresourcedefinitions",
        "apiregistration.k8s.io" => base == "apiservices",
        "authentication.k8s.io" => matches!(
            base,
            "selfsubjectreviews" | "tokenreviews" | "uids" | "userextras"
        ),
        "authorization.k8s.io" => matches!(
            base,
            "selfsubjectaccessreviews" | "selfsubjectrulesreviews" | "subjectaccessreviews"
        ),
        "certificates.k8s.io" => matches!(
            base,
            "certificatesigningrequests" | "clustertrustbundles" | "signers"
        ),
        "flowcontrol.apiserver.k8s.io" => {
            matches!(base, "flowschemas" | "prioritylevelconfigurations")
        }
        "networking.k8s.io" => matches!(base, "ingressclasses" | "ipaddresses" | "servicecidrs"),
        "node.k8s.io" => base == "runtimeclasses",
        "rbac.authorization.k8s.io" => matches!(base, "clusterrolebindings" | "clusterroles"),
        "resource.k8s.io" => base == "deviceclasses",
        "scheduling.k8s.io" => base == "priorityclasses",
        "storage.k8s.io" => matches!(
            base,
            "csidrivers"
                | "csinodes"
                | "storageclasses"
                | "volumeattachments"
                | "volumeattributesclasses"
        ),
        _ => false,
    }
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
