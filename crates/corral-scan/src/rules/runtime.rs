//! Runtime drift: what a new recording of a workload did that the
//! policies advised from its earlier recordings (`corral advise all`)
//! would block. `corral drift --recording R --policies DIR` reports them,
//! one rule per kind of drift, through the same reporters as `corral
//! scan`; the manifests hold no recordings, so a scan reports none. Each
//! finding is at the workload's container in the manifests when they are
//! given (`--manifests`, `--inventory`), else at the recording file.

use crate::declare_rule;
use crate::rule::Rule;

pub static RULES: &[&dyn Rule] = &[
    &SyscallOutsideProfile,
    &CapabilityNotAdded,
    &RootUnderRunAsNonRoot,
    &WriteOnReadOnlyRoot,
    &ExecRaisesPrivileges,
    &EgressDenied,
    &IngressDenied,
    &NoAdvisedPolicy,
];

declare_rule! {
    /// ## What it does
    /// Flags a syscall a new recording of the container made that its
    /// advised seccomp profile (`allowedSyscalls` in `advice.json`) does
    /// not allow.
    ///
    /// ## Why it matters
    /// Under the profile the call fails with `EPERM`: the code path that
    /// makes it breaks (a forked background save, a buffered upload...).
    /// Or the workload now does something it never did before.
    ///
    /// ## How to fix
    /// If the new behaviour is legitimate, advise again from all the
    /// recordings (`corral advise all`) and apply the new profile before
    /// the workload needs it; otherwise find out why it made the call.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/tutorials/security/seccomp/
    SyscallOutsideProfile, "CRL-B001", "runtime-syscall-outside-profile", RuntimeDrift, High,
    "A recorded syscall is outside the advised seccomp profile"
}
impl Rule for SyscallOutsideProfile {}

declare_rule! {
    /// ## What it does
    /// Flags a capability the container used (a granted, audited check)
    /// that the advised securityContext does not add after dropping all.
    ///
    /// ## Why it matters
    /// Without the capability the operation fails with `EPERM`; or the
    /// workload now does something privileged it never did.
    ///
    /// ## How to fix
    /// Add the capability to `securityContext.capabilities.add` if it is
    /// needed (advise again), or find out why it was used.
    ///
    /// ## References
    /// - https://man7.org/linux/man-pages/man7/capabilities.7.html
    CapabilityNotAdded, "CRL-B002", "runtime-capability-not-added", RuntimeDrift, High,
    "A recorded capability is not in the advised capabilities"
}
impl Rule for CapabilityNotAdded {}

declare_rule! {
    /// ## What it does
    /// Flags a container that ran a process as uid 0 (real or effective)
    /// where the advice says `runAsNonRoot: true`.
    ///
    /// ## Why it matters
    /// The kubelet refuses to start a container whose user is root under
    /// `runAsNonRoot`, and a set-user-ID program that gains root breaks the
    /// advice's premise.
    ///
    /// ## How to fix
    /// Run the image as a non-root user, or advise again and review why
    /// root is needed.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/tasks/configure-pod-container/security-context/
    RootUnderRunAsNonRoot, "CRL-B003", "runtime-root-under-run-as-non-root", RuntimeDrift, High,
    "uid 0 was recorded where runAsNonRoot is advised"
}
impl Rule for RootUnderRunAsNonRoot {}

declare_rule! {
    /// ## What it does
    /// Flags a file write (one that succeeded) on the root filesystem
    /// outside the advised writable directories, where the advice makes the
    /// root filesystem read-only.
    ///
    /// ## Why it matters
    /// Under `readOnlyRootFilesystem: true` the write fails with `EROFS`.
    ///
    /// ## How to fix
    /// Mount an `emptyDir` at the directory (advise again from all the
    /// recordings), or stop the workload writing there.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/storage/volumes/#emptydir
    WriteOnReadOnlyRoot, "CRL-B004", "runtime-write-on-read-only-root", RuntimeDrift, Medium,
    "A recorded write is outside the advised writable directories"
}
impl Rule for WriteOnReadOnlyRoot {}

declare_rule! {
    /// ## What it does
    /// Flags an exec of a set-user-ID, set-group-ID or file-capability
    /// program where the advice says `allowPrivilegeEscalation: false`.
    ///
    /// ## Why it matters
    /// With `no_new_privs` the program runs without the privileges it
    /// expects and may fail; or the workload now raises its privileges.
    ///
    /// ## How to fix
    /// Allow privilege escalation for this container if it is needed
    /// (advise again), or stop running the program.
    ///
    /// ## References
    /// - https://www.kernel.org/doc/html/latest/userspace-api/no_new_privs.html
    ExecRaisesPrivileges, "CRL-B005", "runtime-exec-raises-privileges", RuntimeDrift, Medium,
    "A recorded exec raises privileges the advice blocks"
}
impl Rule for ExecRaisesPrivileges {}

declare_rule! {
    /// ## What it does
    /// Flags an outgoing connection (TCP, or UDP datagrams) of the
    /// workload's pods that the advised NetworkPolicies (`netpol/`) deny,
    /// checked with the evaluator against the inventory, the pods found as
    /// `corral advise` finds them.
    ///
    /// ## Why it matters
    /// Under the policies the connection is dropped: a new peer the
    /// application needs, or one it should never reach.
    ///
    /// ## How to fix
    /// Advise again with the new recording if the peer is legitimate;
    /// otherwise find out why the workload reaches it.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/services-networking/network-policies/
    EgressDenied, "CRL-B006", "runtime-egress-denied", RuntimeDrift, Medium,
    "A recorded connection out is denied by the advised NetworkPolicies"
}
impl Rule for EgressDenied {}

declare_rule! {
    /// ## What it does
    /// Flags an incoming connection (accepted TCP, or UDP datagrams another
    /// recording sent to the pods) that the advised NetworkPolicies deny.
    ///
    /// ## Why it matters
    /// Under the policies the client can no longer reach the workload.
    ///
    /// ## How to fix
    /// Advise again with the new recording if the client is legitimate;
    /// otherwise find out who connects.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/services-networking/network-policies/
    IngressDenied, "CRL-B007", "runtime-ingress-denied", RuntimeDrift, Medium,
    "A recorded connection in is denied by the advised NetworkPolicies"
}
impl Rule for IngressDenied {}

declare_rule! {
    /// ## What it does
    /// Flags a recorded container (or workload, for its flows) that the
    /// advised policies do not cover: no entry in `advice.json`, or no
    /// NetworkPolicy can be advised for it from the inventory (its pods and
    /// workload absent).
    ///
    /// ## Why it matters
    /// Nothing was checked for it: a workload that is new, renamed, or
    /// recorded under another name.
    ///
    /// ## How to fix
    /// Advise from its recordings too, and give its pods with
    /// `--inventory`; name a command recording with `corral record
    /// --workload`.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/
    NoAdvisedPolicy, "CRL-B008", "runtime-no-advised-policy", RuntimeDrift, Low,
    "A recorded container has no advised policy to check"
}
impl Rule for NoAdvisedPolicy {}
