//! Pods, Services and EndpointSlices as the operator's stores hold them:
//! only the fields the NetworkPolicy advice reads, deserialized straight
//! from the API's answers (the rest, managedFields above all, is skipped
//! as it is read, never held). k8s-openapi's full types cost several
//! kilobytes each even when empty; a 150,000-pod cluster in them does not
//! fit the operator's memory budget. Serialized, each is the same JSON as
//! the full object's fields it keeps, so the advice's model reads it as
//! the real object.

use std::borrow::Cow;

use k8s_openapi::api::core::v1::{ContainerPort, PodIP, ServicePort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::NamespaceResourceScope;
use serde::{Deserialize, Serialize};

/// A kind served at `/api/v1` or `/apis/GROUP/VERSION`, namespaced.
macro_rules! namespaced {
    ($type:ty, $group:literal, $version:literal, $kind:literal, $plural:literal) => {
        impl kube::Resource for $type {
            type DynamicType = ();
            type Scope = NamespaceResourceScope;

            fn kind(_: &()) -> Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }

        impl $type {
            /// As the API serves it: with its apiVersion and kind.
            pub fn to_value(&self) -> serde_json::Value {
                let mut value = serde_json::to_value(self).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    let api_version = if $group.is_empty() {
                        $version.to_string()
                    } else {
                        format!("{}/{}", $group, $version)
                    };
                    map.insert("apiVersion".into(), api_version.into());
                    map.insert("kind".into(), $kind.into());
                }
                value
            }
        }
    };
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<PodSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_network: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<ContainerPort>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default, rename = "podIP", skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<String>,
    #[serde(default, rename = "podIPs", skip_serializing_if = "Option::is_none")]
    pub pod_ips: Option<Vec<PodIP>>,
}

namespaced!(Pod, "", "v1", "Pod", "pods");

impl Pod {
    /// Its addresses, parsed.
    pub fn addresses(&self) -> Vec<std::net::IpAddr> {
        let status = self.status.as_ref();
        let mut addresses: Vec<std::net::IpAddr> = status
            .and_then(|s| s.pod_ips.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|ip| ip.ip.parse().ok())
            .collect();
        if let Some(ip) = status
            .and_then(|s| s.pod_ip.as_deref())
            .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
        {
            if !addresses.contains(&ip) {
                addresses.push(ip);
            }
        }
        addresses
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ServiceSpec>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, rename = "clusterIP", skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    #[serde(
        default,
        rename = "clusterIPs",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_ips: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<ServicePort>>,
}

namespaced!(Service, "", "v1", "Service", "services");

impl Service {
    /// Its cluster addresses, parsed.
    pub fn addresses(&self) -> Vec<std::net::IpAddr> {
        let Some(spec) = &self.spec else {
            return Vec::new();
        };
        let mut addresses: Vec<std::net::IpAddr> = spec
            .cluster_ips
            .iter()
            .flatten()
            .filter_map(|ip| ip.parse().ok())
            .collect();
        addresses.extend(
            spec.cluster_ip
                .as_deref()
                .and_then(|ip| ip.parse::<std::net::IpAddr>().ok()),
        );
        addresses
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSlice {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub address_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<Endpoint>>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    #[serde(default)]
    pub addresses: Vec<String>,
}

namespaced!(
    EndpointSlice,
    "discovery.k8s.io",
    "v1",
    "EndpointSlice",
    "endpointslices"
);

#[cfg(test)]
mod tests {
    use super::*;

    /// What the lite types keep of a real object reads back, through the
    /// full type, as the same fields.
    #[test]
    fn kept_fields_are_the_real_objects() {
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "a", "namespace": "x", "labels": {"app": "a"},
                         "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}]},
            "spec": {"hostNetwork": true, "nodeName": "n1",
                     "containers": [{"name": "c", "image": "i", "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}]}]},
            "status": {"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}], "phase": "Running"}});
        let lite: Pod = serde_json::from_value(pod).unwrap();
        assert_eq!(
            lite.addresses(),
            [
                "10.0.0.1".parse::<std::net::IpAddr>().unwrap(),
                "fd00::1".parse().unwrap()
            ]
        );
        let full: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value(lite.to_value()).unwrap();
        let spec = full.spec.unwrap();
        assert_eq!(spec.host_network, Some(true));
        assert_eq!(
            spec.containers[0].ports.as_ref().unwrap()[0].container_port,
            80
        );
        assert_eq!(full.status.unwrap().pod_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(full.metadata.labels.unwrap()["app"], "a");

        let service = serde_json::json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "namespace": "x"},
            "spec": {"selector": {"app": "a"}, "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
                     "ports": [{"port": 80, "targetPort": "http", "protocol": "TCP"}], "type": "ClusterIP"}});
        let lite: Service = serde_json::from_value(service).unwrap();
        let full: k8s_openapi::api::core::v1::Service =
            serde_json::from_value(lite.to_value()).unwrap();
        let spec = full.spec.unwrap();
        assert_eq!(spec.cluster_ip.as_deref(), Some("10.96.0.1"));
        assert_eq!(spec.selector.unwrap()["app"], "a");

        let slice = serde_json::json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "s-1", "namespace": "x", "labels": {"kubernetes.io/service-name": "s"}},
            "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": true}}],
            "ports": [{"port": 80}]});
        let lite: EndpointSlice = serde_json::from_value(slice).unwrap();
        let full: k8s_openapi::api::discovery::v1::EndpointSlice =
            serde_json::from_value(lite.to_value()).unwrap();
        assert_eq!(full.endpoints.unwrap()[0].addresses, ["10.0.0.1"]);
        assert_eq!(full.address_type, "IPv4");
    }
}
