//! Least-privilege policies from recordings (`corral record`): seccomp
//! profiles, securityContexts and NetworkPolicies, and a NetworkPolicy
//! evaluator to prove them.

pub mod all;
pub mod apply;
pub mod audit;
pub mod base;
pub mod drift;
pub mod netpol;
pub mod patch;
pub mod policies;
pub mod reach;
pub mod seccomp;
pub mod security_context;
pub mod syscall_sets;
pub mod workload;
