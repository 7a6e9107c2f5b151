//! Cloud inputs, from the files the clouds' own CLIs write: what each file
//! is is told from its shape.

pub mod aws;

use serde_json::Value;

/// Everything the cloud files say.
#[derive(Clone, Debug, Default)]
pub struct Cloud {
    pub aws: aws::Aws,
}

impl Cloud {
    /// Read `(name, text)` files; each must be one the CLIs write.
    pub fn load(files: &[(String, String)]) -> Result<Cloud, String> {
        let mut cloud = Cloud::default();
        for (name, text) in files {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| format!("{name}:{}:{}: not JSON: {e}", e.line(), e.column()))?;
            if !cloud.aws.absorb(name, &value) {
                return Err(format!(
                    "{name}: not a file Corral reads (aws iam get-account-authorization-details, aws eks describe-cluster, describe-pod-identity-association, describe-access-entry, list-associated-access-policies, aws ec2 describe-instances)"
                ));
            }
        }
        Ok(cloud)
    }
}
