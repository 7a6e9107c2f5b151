//! What a NetworkPolicy decision needs to know of a cluster: its pods (with
//! their IPs, labels and named ports), namespaces (with their labels) and
//! Services (to map a ClusterIP and port to the pods and target port
//! behind it), from manifests or a snapshot.

use std::collections::BTreeMap;
use std::net::IpAddr;

use corral_core::model::{Model, Resource};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodInfo {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub ips: Vec<IpAddr>,
    /// Container ports: (name, number, protocol).
    pub ports: Vec<(Option<String>, i32, String)>,
    /// NetworkPolicy does not apply to host-network pods.
    pub host_network: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceInfo {
    pub namespace: String,
    pub name: String,
    pub selector: BTreeMap<String, String>,
    pub cluster_ips: Vec<IpAddr>,
    /// (port, protocol, targetPort).
    pub ports: Vec<(i32, String, IntOrString)>,
}

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub pods: Vec<PodInfo>,
    pub services: Vec<ServiceInfo>,
    /// Namespace labels; a namespace not given has only the label
    /// `kubernetes.io/metadata.name` the API server sets.
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Endpoint addresses of Services (EndpointSlices): (address,
    /// namespace, Service name).
    pub endpoints: Vec<(IpAddr, String, String)>,
}

impl Inventory {
    pub fn from_model(model: &Model) -> Inventory {
        let mut inventory = Inventory::default();
        for (object, resource) in model.iter() {
            let namespace = object.namespace.clone().unwrap_or_else(|| "default".into());
            match resource {
                Resource::Workload(_) if object.kind == "Pod" && object.api_version == "v1" => {
                    let Ok(pod) = object.decode::<Pod>() else {
                        continue;
                    };
                    let spec = pod.spec.unwrap_or_default();
                    let status = pod.status.unwrap_or_default();
                    let mut ips: Vec<IpAddr> = status
                        .pod_ips
                        .iter()
                        .flatten()
                        .filter_map(|ip| ip.ip.parse().ok())
                        .collect();
                    if let Some(ip) = status.pod_ip.as_deref().and_then(|ip| ip.parse().ok()) {
                        if !ips.contains(&ip) {
                            ips.insert(0, ip);
                        }
                    }
                    inventory.pods.push(PodInfo {
                        namespace,
                        name: object.name.clone().unwrap_or_default(),
                        labels: pod.metadata.labels.unwrap_or_default(),
                        ips,
                        ports: spec
                            .containers
                            .iter()
                            .flat_map(|c| c.ports.iter().flatten())
                            .map(|p| {
                                (
                                    p.name.clone(),
                                    p.container_port,
                                    p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                                )
                            })
                            .collect(),
                        host_network: spec.host_network == Some(true),
                    });
                }
                Resource::Service(service) => {
                    let spec = service.spec.clone().unwrap_or_default();
                    let mut cluster_ips: Vec<IpAddr> = spec
                        .cluster_ips
                        .iter()
                        .flatten()
                        .filter_map(|ip| ip.parse().ok())
                        .collect();
                    if let Some(ip) = spec.cluster_ip.as_deref().and_then(|ip| ip.parse().ok()) {
                        if !cluster_ips.contains(&ip) {
                            cluster_ips.insert(0, ip);
                        }
                    }
                    inventory.services.push(ServiceInfo {
                        namespace,
                        name: object.name.clone().unwrap_or_default(),
                        selector: spec.selector.unwrap_or_default(),
                        cluster_ips,
                        ports: spec
                            .ports
                            .iter()
                            .flatten()
                            .map(|p| {
                                (
                                    p.port,
                                    p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                                    p.target_port.clone().unwrap_or(IntOrString::Int(p.port)),
                                )
                            })
                            .collect(),
                    });
                }
                Resource::EndpointSlice(slice) => {
                    let labels = slice.metadata.labels.clone().unwrap_or_default();
                    let Some(service) = labels.get("kubernetes.io/service-name") else {
                        continue;
                    };
                    for endpoint in slice.endpoints.iter().flatten() {
                        for address in &endpoint.addresses {
                            if let Ok(ip) = address.parse() {
                                inventory
                                    .endpoints
                                    .push((ip, namespace.clone(), service.clone()));
                            }
                        }
                    }
                }
                Resource::Namespace(ns) => {
                    let name = object.name.clone().unwrap_or_default();
                    let mut labels = ns.metadata.labels.clone().unwrap_or_default();
                    labels.insert("kubernetes.io/metadata.name".into(), name.clone());
                    inventory.namespaces.insert(name, labels);
                }
                _ => {}
            }
        }
        inventory
    }

    /// A namespace's labels, as the API server has them.
    pub fn namespace_labels(&self, namespace: &str) -> BTreeMap<String, String> {
        self.namespaces.get(namespace).cloned().unwrap_or_else(|| {
            BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                namespace.to_string(),
            )])
        })
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodInfo> {
        self.pods
            .iter()
            .find(|p| p.namespace == namespace && p.name == name)
    }

    /// The (non-host-network) pod with this IP.
    pub fn pod_by_ip(&self, ip: IpAddr) -> Option<&PodInfo> {
        self.pods
            .iter()
            .find(|p| !p.host_network && p.ips.contains(&ip))
    }

    pub fn service_by_ip(&self, ip: IpAddr) -> Option<&ServiceInfo> {
        self.services.iter().find(|s| s.cluster_ips.contains(&ip))
    }

    /// The Service with a selector whose EndpointSlices list this address
    /// (an endpoint the inventory has no pod for).
    pub fn service_by_endpoint(&self, ip: IpAddr) -> Option<&ServiceInfo> {
        self.endpoints
            .iter()
            .filter(|(address, _, _)| *address == ip)
            .find_map(|(_, namespace, name)| {
                self.services.iter().find(|s| {
                    &s.namespace == namespace && &s.name == name && !s.selector.is_empty()
                })
            })
    }
}
