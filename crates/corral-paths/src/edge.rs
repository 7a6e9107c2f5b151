//! The edges of the attack graph: what an attacker holding the source does
//! to get the destination, its MITRE ATT&CK technique, and the fix. The
//! KubeHound catalogue (with its preconditions), plus what it lacks.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EdgeKind {
    CeModuleLoad,
    CeNsenter,
    CePrivMount,
    CeSysPtrace,
    CeUmhCorePattern,
    CeVarLogSymlink,
    CeHostProcess,
    ContainerAttach,
    PodAttach,
    VolumeDiscover,
    VolumeAccess,
    EndpointExploit,
    ExploitHostRead,
    ExploitHostWrite,
    ExploitHostTraverse,
    ExploitContainerdSock,
    TokenSteal,
    IdentityAssume,
    PermissionDiscover,
    PodCreate,
    PodExec,
    PodPatch,
    TokenList,
    TokenBruteforce,
    RoleBind,
    SharePsNamespace,
    // Beyond KubeHound.
    GroupMember,
    IdentityImpersonate,
    TokenRequest,
    NodesProxy,
    EphemeralContainer,
    RoleEscalate,
    CsrApprove,
    WebhookControl,
    // Cluster to cloud.
    ProjectedToken,
    IrsaAssume,
    GkeWorkloadIdentity,
    AksWorkloadIdentity,
    ImdsCredentials,
    PodIdentity,
    RoleChain,
    ServiceAccountImpersonate,
    // Cloud to cluster.
    CloudSignIn,
}

impl EdgeKind {
    pub fn id(self) -> &'static str {
        match self {
            EdgeKind::CeModuleLoad => "CE_MODULE_LOAD",
            EdgeKind::CeNsenter => "CE_NSENTER",
            EdgeKind::CeHostProcess => "CE_HOST_PROCESS",
            EdgeKind::CePrivMount => "CE_PRIV_MOUNT",
            EdgeKind::CeSysPtrace => "CE_SYS_PTRACE",
            EdgeKind::CeUmhCorePattern => "CE_UMH_CORE_PATTERN",
            EdgeKind::CeVarLogSymlink => "CE_VAR_LOG_SYMLINK",
            EdgeKind::ContainerAttach => "CONTAINER_ATTACH",
            EdgeKind::PodAttach => "POD_ATTACH",
            EdgeKind::VolumeDiscover => "VOLUME_DISCOVER",
            EdgeKind::VolumeAccess => "VOLUME_ACCESS",
            EdgeKind::EndpointExploit => "ENDPOINT_EXPLOIT",
            EdgeKind::ExploitHostRead => "EXPLOIT_HOST_READ",
            EdgeKind::ExploitHostWrite => "EXPLOIT_HOST_WRITE",
            EdgeKind::ExploitHostTraverse => "EXPLOIT_HOST_TRAVERSE",
            EdgeKind::ExploitContainerdSock => "EXPLOIT_CONTAINERD_SOCK",
            EdgeKind::TokenSteal => "TOKEN_STEAL",
            EdgeKind::IdentityAssume => "IDENTITY_ASSUME",
            EdgeKind::PermissionDiscover => "PERMISSION_DISCOVER",
            EdgeKind::PodCreate => "POD_CREATE",
            EdgeKind::PodExec => "POD_EXEC",
            EdgeKind::PodPatch => "POD_PATCH",
            EdgeKind::TokenList => "TOKEN_LIST",
            EdgeKind::TokenBruteforce => "TOKEN_BRUTEFORCE",
            EdgeKind::RoleBind => "ROLE_BIND",
            EdgeKind::SharePsNamespace => "SHARE_PS_NAMESPACE",
            EdgeKind::GroupMember => "GROUP_MEMBER",
            EdgeKind::IdentityImpersonate => "IDENTITY_IMPERSONATE",
            EdgeKind::TokenRequest => "TOKEN_REQUEST",
            EdgeKind::NodesProxy => "NODES_PROXY",
            EdgeKind::EphemeralContainer => "EPHEMERAL_CONTAINER",
            EdgeKind::RoleEscalate => "ROLE_ESCALATE",
            EdgeKind::CsrApprove => "CSR_APPROVE",
            EdgeKind::WebhookControl => "WEBHOOK_CONTROL",
            EdgeKind::ProjectedToken => "PROJECTED_TOKEN",
            EdgeKind::IrsaAssume => "IRSA_ASSUME",
            EdgeKind::GkeWorkloadIdentity => "GKE_WORKLOAD_IDENTITY",
            EdgeKind::AksWorkloadIdentity => "AKS_WORKLOAD_IDENTITY",
            EdgeKind::ImdsCredentials => "IMDS_CREDENTIALS",
            EdgeKind::PodIdentity => "POD_IDENTITY",
            EdgeKind::RoleChain => "ROLE_CHAIN",
            EdgeKind::ServiceAccountImpersonate => "SA_IMPERSONATE",
            EdgeKind::CloudSignIn => "CLOUD_SIGN_IN",
        }
    }

    /// What the attacker does, the MITRE ATT&CK technique, and the fix.
    pub fn describe(self) -> (&'static str, &'static str, &'static str) {
        match self {
            EdgeKind::CeModuleLoad => (
                "load a kernel module from the container",
                "T1611",
                "run it unprivileged, without SYS_MODULE",
            ),
            EdgeKind::CeHostProcess => (
                "run on the Windows node itself as a HostProcess container",
                "T1611",
                "drop windowsOptions.hostProcess",
            ),
            EdgeKind::CeNsenter => (
                "nsenter into the host's PID 1",
                "T1611",
                "drop privileged or hostPID",
            ),
            EdgeKind::CePrivMount => (
                "mount the host's disk from a privileged container",
                "T1611",
                "drop privileged",
            ),
            EdgeKind::CeSysPtrace => (
                "ptrace a host process",
                "T1611",
                "drop hostPID or SYS_PTRACE/SYS_ADMIN, keep AppArmor",
            ),
            EdgeKind::CeUmhCorePattern => (
                "set the kernel core_pattern helper through /proc",
                "T1611",
                "do not mount /proc from the host, or run as non-root",
            ),
            EdgeKind::CeVarLogSymlink => (
                "symlink a host file into /var/log and read it through the kubelet",
                "T1611",
                "do not mount /var/log, or drop get pods/log",
            ),
            EdgeKind::ContainerAttach => ("attach to the pod's container", "T1609", ""),
            EdgeKind::PodAttach => ("reach the pods the node runs", "T1609", ""),
            EdgeKind::VolumeDiscover => ("read the container's mounted volume", "T1613", ""),
            EdgeKind::VolumeAccess => ("read the node's volume", "T1613", ""),
            EdgeKind::EndpointExploit => (
                "exploit the exposed service",
                "T1190",
                "do not expose it, or restrict it with a NetworkPolicy",
            ),
            EdgeKind::ExploitHostRead => (
                "read host secrets through a host path",
                "T1552",
                "do not mount that host path",
            ),
            EdgeKind::ExploitHostWrite => (
                "write to the host through a host path",
                "T1611",
                "do not mount that host path writable",
            ),
            EdgeKind::ExploitContainerdSock => (
                "start a privileged container through the node's container runtime socket",
                "T1610",
                "do not mount the runtime socket or a directory that holds it",
            ),
            EdgeKind::ExploitHostTraverse => (
                "read other pods' tokens under the kubelet's directory",
                "T1552",
                "do not mount the kubelet's directory",
            ),
            EdgeKind::TokenSteal => (
                "steal the service account token",
                "T1528",
                "automountServiceAccountToken: false where the API is not needed",
            ),
            EdgeKind::IdentityAssume => ("act as the identity", "T1078", ""),
            EdgeKind::PermissionDiscover => {
                ("use the permissions bound to the identity", "T1069", "")
            }
            EdgeKind::PodCreate => (
                "create a pod: privileged on a node, or running as any service account of its namespace",
                "T1610",
                "drop create on pods and workload controllers",
            ),
            EdgeKind::PodExec => ("exec into the pod", "T1609", "drop create on pods/exec"),
            EdgeKind::PodPatch => (
                "patch the pod or its controller to run its own code",
                "T1609",
                "drop patch/update on pods and controllers",
            ),
            EdgeKind::TokenList => (
                "list secrets and take service account tokens",
                "T1552",
                "drop list on secrets",
            ),
            EdgeKind::TokenBruteforce => (
                "get secrets by name and take service account tokens",
                "T1552",
                "drop get on secrets",
            ),
            EdgeKind::RoleBind => (
                "bind itself a role",
                "T1098",
                "drop create on bindings with bind on roles",
            ),
            EdgeKind::SharePsNamespace => (
                "reach the other container through the shared process namespace",
                "T1055",
                "drop shareProcessNamespace",
            ),
            EdgeKind::GroupMember => (
                "hold what the identity's groups are bound to",
                "T1078",
                "bind roles to narrower groups",
            ),
            EdgeKind::IdentityImpersonate => {
                ("impersonate the identity", "T1134", "drop impersonate")
            }
            EdgeKind::TokenRequest => (
                "mint a token for the service account",
                "T1528",
                "drop create on serviceaccounts/token",
            ),
            EdgeKind::NodesProxy => (
                "run commands in any pod on the node through the kubelet API",
                "T1609",
                "drop nodes/proxy",
            ),
            EdgeKind::EphemeralContainer => (
                "add an ephemeral container to the pod",
                "T1609",
                "drop update on pods/ephemeralcontainers",
            ),
            EdgeKind::RoleEscalate => (
                "grant itself any permission by editing a role",
                "T1098",
                "drop escalate on roles",
            ),
            EdgeKind::CsrApprove => (
                "approve a certificate for system:masters",
                "T1649",
                "drop approve on signers and update on CSR approval",
            ),
            EdgeKind::WebhookControl => (
                "intercept or rewrite every API request with a webhook",
                "T1546",
                "drop write access to admission webhook configurations",
            ),
            EdgeKind::ProjectedToken => (
                "read the service account token the pod is given for the cloud",
                "T1528",
                "run the pod as a service account the cloud grants nothing, or drop its workload identity annotation (EKS) or label (AKS)",
            ),
            EdgeKind::GkeWorkloadIdentity => (
                "exchange the service account's token for the Google identity (STS, then generateAccessToken)",
                "T1550.001",
                "narrow the roles/iam.workloadIdentityUser binding or direct grant to the exact namespace and service account",
            ),
            EdgeKind::AksWorkloadIdentity => (
                "exchange the service account's token for the managed identity's (federated credential)",
                "T1550.001",
                "remove the federated credential, or narrow the identity's role assignments",
            ),
            EdgeKind::IrsaAssume => (
                "exchange the service account's token for the role's credentials (sts:AssumeRoleWithWebIdentity)",
                "T1550.001",
                "narrow the role's trust policy to the exact sub and aud",
            ),
            EdgeKind::ImdsCredentials => (
                "take the node's cloud credentials from the metadata service",
                "T1552.005",
                "keep pods from the node's metadata: IMDSv2 with hop limit 1 (EKS), GKE_METADATA (GKE), podLinkLocalAccess None (AKS), or a NetworkPolicy egress that leaves 169.254.169.254 out",
            ),
            EdgeKind::PodIdentity => (
                "take the role's credentials from the EKS Pod Identity agent",
                "T1552.005",
                "remove the pod identity association, or narrow the role",
            ),
            EdgeKind::ServiceAccountImpersonate => (
                "act as the other Google service account: mint its tokens, sign as it, or attach it to a resource",
                "T1548.005",
                "remove the binding that lets one service account impersonate the other, or grant it on the one account needed",
            ),
            EdgeKind::RoleChain => (
                "take the target role's credentials, which EKS assumes with the association's role",
                "T1550.001",
                "remove targetRoleArn, or narrow the target role's trust",
            ),
            EdgeKind::CloudSignIn => (
                "sign in to the cluster as the user and groups the cloud maps the identity to (aws-auth, EKS access entries, GKE IAM, Azure RBAC)",
                "T1078.004",
                "map the cloud identity to a narrower user and groups, or take its cluster role away",
            ),
        }
    }
}
