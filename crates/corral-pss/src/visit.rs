//! What every check sees: the pod's metadata and spec, and its containers in
//! upstream's visiting order: init containers, containers, then ephemeral
//! containers (which upstream reads as plain containers).

use k8s_openapi::api::core::v1::{ContainerPort, Lifecycle, PodSpec, Probe, SecurityContext};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub(crate) struct Pod<'a> {
    pub metadata: &'a ObjectMeta,
    pub spec: &'a PodSpec,
    /// Built once per evaluation: every check walks them.
    containers: Vec<Container<'a>>,
}

/// The fields of a container (of any of the three lists) that checks read.
#[derive(Clone, Copy)]
pub(crate) struct Container<'a> {
    pub name: &'a str,
    pub security_context: Option<&'a SecurityContext>,
    pub ports: &'a [ContainerPort],
    pub liveness_probe: Option<&'a Probe>,
    pub readiness_probe: Option<&'a Probe>,
    pub startup_probe: Option<&'a Probe>,
    pub lifecycle: Option<&'a Lifecycle>,
    list: &'static str,
    index: usize,
}

impl Container<'_> {
    /// The path of `field` of this container, e.g.
    /// `spec.initContainers[0].securityContext.privileged`.
    pub fn path(&self, field: &str) -> String {
        if field.is_empty() {
            format!("spec.{}[{}]", self.list, self.index)
        } else {
            format!("spec.{}[{}].{field}", self.list, self.index)
        }
    }
}

/// A view of any of the three container types.
macro_rules! view {
    ($c:expr, $list:expr, $index:expr) => {
        Container {
            name: &$c.name,
            security_context: $c.security_context.as_ref(),
            ports: $c.ports.as_deref().unwrap_or_default(),
            liveness_probe: $c.liveness_probe.as_ref(),
            readiness_probe: $c.readiness_probe.as_ref(),
            startup_probe: $c.startup_probe.as_ref(),
            lifecycle: $c.lifecycle.as_ref(),
            list: $list,
            index: $index,
        }
    };
}

impl<'a> Pod<'a> {
    pub fn new(metadata: &'a ObjectMeta, spec: &'a PodSpec) -> Pod<'a> {
        let init = spec
            .init_containers
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, c)| view!(c, "initContainers", i));
        let regular = spec
            .containers
            .iter()
            .enumerate()
            .map(|(i, c)| view!(c, "containers", i));
        let ephemeral = spec
            .ephemeral_containers
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, c)| view!(c, "ephemeralContainers", i));
        Pod {
            metadata,
            spec,
            containers: init.chain(regular).chain(ephemeral).collect(),
        }
    }

    /// Every container, in visiting order.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> + '_ {
        self.containers.iter().copied()
    }

    /// `spec.hostUsers: false`: the pod runs in a user namespace.
    pub fn in_user_namespace(&self) -> bool {
        self.spec.host_users == Some(false)
    }

    /// `spec.os.name: windows`.
    pub fn is_windows(&self) -> bool {
        self.spec.os.as_ref().is_some_and(|os| os.name == "windows")
    }

    pub fn pod_security_context(
        &self,
    ) -> Option<&'a k8s_openapi::api::core::v1::PodSecurityContext> {
        self.spec.security_context.as_ref()
    }
}
