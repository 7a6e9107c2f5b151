//! Cloud inputs, from the files the clouds' own CLIs write: what each file
//! is is told from its shape.

pub mod aws;
pub mod azure;
pub mod gcp;
pub mod reach;

use serde_json::Value;

use crate::graph::Vertex;

/// Everything the cloud files say.
#[derive(Clone, Debug, Default)]
pub struct Cloud {
    pub aws: aws::Aws,
    pub gcp: gcp::Gcp,
    pub azure: azure::Azure,
}

/// An AWS IAM role, GCP service account or principal, or Azure managed
/// identity; `admin` when its policies amount to administrator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudIdentity {
    pub provider: &'static str,
    pub name: String,
    pub admin: bool,
}

impl CloudIdentity {
    pub fn new(provider: &'static str, name: &str, admin: bool) -> CloudIdentity {
        CloudIdentity {
            provider,
            name: name.to_string(),
            admin,
        }
    }

    pub fn vertex(&self) -> Vertex {
        Vertex::CloudIdentity {
            provider: self.provider.into(),
            name: self.name.as_str().into(),
            admin: self.admin,
        }
    }
}

/// A field that is a string or a list of strings, as a list.
pub fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

impl Cloud {
    /// Read `(name, text)` files; each must be one the CLIs write.
    pub fn load(files: &[(String, String)]) -> Result<Cloud, String> {
        let mut cloud = Cloud::default();
        for (name, text) in files {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| format!("{name}:{}:{}: not JSON: {e}", e.line(), e.column()))?;
            if !(cloud.aws.absorb(name, &value)
                || cloud.gcp.absorb(name, &value)
                || cloud.azure.absorb(name, &value))
            {
                return Err(format!(
                    "{name}: not a file Corral reads. It reads the JSON of: aws iam get-account-authorization-details, aws eks describe-cluster, aws eks describe-pod-identity-association, aws eks describe-access-entry, aws eks list-associated-access-policies, aws ec2 describe-instances; gcloud container clusters describe, gcloud projects get-iam-policy, gcloud iam service-accounts get-iam-policy; az aks show, az identity federated-credential list, az identity show/list, az role assignment list"
                ));
            }
        }
        cloud.aws.settle();
        cloud.gcp.settle();
        Ok(cloud)
    }
}
